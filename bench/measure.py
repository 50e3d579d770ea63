"""Measuring (bench/README.md): each reader in a fresh process of the right
interpreter, the interleaved rounds, the live captures on lo, the runs of
examples/dask_flows.py, and instructions per packet under callgrind.  The
results are dicts of raw figures; report.py makes the tables."""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import gen
from environment import HERE, REPO, log

READERS = os.path.join(HERE, "readers.py")
LIVE_MAX = 300_000          # the most datagrams the C sender sends
LIVE_PAYLOAD = 18           # 18 bytes of UDP payload: 60-byte frames
LIVE_DRAIN = 3.0            # seconds a capture may take after the sender is done


def run_child(cmd, timeout, stdin=None, on_start=None):
    """Run ``cmd``; return (exit code, stdout, stderr, rusage, timed_out).
    ``on_start(proc)`` runs once the process is started (for live capture)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out if on_start is None else subprocess.PIPE,
                                stderr=err, stdin=stdin if stdin is not None else subprocess.DEVNULL)
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
        extra = b""
        try:
            if on_start is not None:
                try:
                    extra = on_start(proc)
                except BaseException:
                    kill()
                    os.wait4(proc.pid, 0)
                    raise
                finally:
                    if proc.stdin is not None:
                        try:
                            proc.stdin.close()
                        except OSError:
                            pass
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if on_start is not None:
            extra += proc.stdout.read()
            proc.stdout.close()
        out.seek(0)
        err.seek(0)
        stdout = extra.decode(errors="replace") if on_start is not None else out.read().decode(errors="replace")
        return proc.returncode, stdout, err.read().decode(errors="replace"), ru, bool(timed_out)


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


DASK_FILES = 16


class DaskRuns:
    """Wall times of examples/dask_flows.py --json: DASK_FILES files (hard
    links to the small file) with 1 and 2 workers (threads, as the example
    runs by default) and 2 worker processes; the small file read whole
    and split into 2 ranges, with 2 workers.  Each variant's result is kept
    to check that they agree.  round() runs every variant once: the bench
    calls it after each round of the readers, so that the Dask rounds are
    spread over the run as the readers' are, not taken in one stretch of
    it (this machine has slow stretches of minutes).  ``out``: by variant,
    its walls, results, computation seconds and errors."""

    def __init__(self, python, small, work, timeout):
        folder = os.path.join(work, f"dask{DASK_FILES}")
        os.makedirs(folder, exist_ok=True)
        for i in range(DASK_FILES):
            link = os.path.join(folder, f"part{i:02}.pcap")
            if os.path.exists(link) and not os.path.samefile(link, small):
                os.remove(link)
            if not os.path.exists(link):
                os.link(small, link)
        self.python, self.timeout = python, timeout
        self.example = os.path.join(REPO, "examples", "dask_flows.py")
        self.variants = [(f"{DASK_FILES} files, 1 worker", [folder, "--workers", "1"], DASK_FILES),
                         (f"{DASK_FILES} files, 2 workers", [folder, "--workers", "2"], DASK_FILES),
                         (f"{DASK_FILES} files, 2 worker processes (`--processes`)",
                          [folder, "--workers", "2", "--processes"], DASK_FILES),
                         ("1 file read whole, 2 workers", [small, "--workers", "2"], 1),
                         ("1 file split into 2 ranges, 2 workers", [small, "--workers", "2", "--split", "2"], 1)]
        # (The workers are threads of the example unless --processes; the rows of issue 22's target are
        # those of the example as it runs by default.)
        self.out = {label: {"walls": [], "results": [], "seconds": [], "files": nfiles, "errors": [],
                            "workers": int(args[args.index("--workers") + 1]), "target": "--processes" not in args}
                    for label, args, nfiles in self.variants}

    def round(self):
        for label, args, _ in self.variants:
            t0 = time.perf_counter()
            res = child_result(run_child([self.python, self.example, *args, "--json", "--time"], self.timeout),
                               self.timeout)
            wall = time.perf_counter() - t0
            rec = self.out[label]
            if "error" in res:
                rec["errors"].append(res["error"])
                log(f"  dask {label}: {rec['errors'][-1]}")
                continue
            rec["walls"].append(wall)
            rec["seconds"].append(res.pop("seconds", None))     # (the computation's time, --time)
            rec["results"].append(res)
            log(f"  dask {label}: {wall:.2f} s")


def child_result(child, timeout):
    """The JSON line a reader printed, or {"error": why}, from run_child's
    result."""
    code, out, err, ru, timed_out = child
    if timed_out:
        return {"error": f"timed out after {timeout} s"}
    if code != 0:
        return {"error": f"exit {code}: {err.strip()[-600:]}"}
    try:
        return last_json(out)
    except ValueError as e:
        return {"error": f"{e}: {out[-300:]!r} {err[-300:]!r}"}


def reader_command(reader, pythons, baseline, path):
    """The command that runs ``reader`` on ``path``; a writer writes to a
    file beside it, named after the row (it deletes it once read back)."""
    if reader.impl == "c":
        cmd = [baseline, reader.c_mode, path]
    else:
        cmd = [pythons[reader.impl], READERS, reader.key, path]
    if reader.out:
        # (The work folder's page cache: each file is deleted seconds after it was written, before
        # the disk's write-back; a tmpfs was slower to write, 53 ms against 43 for ours' batches.)
        cmd.append(os.path.join(os.path.dirname(path), f"out-{reader.impl}-{reader.key}{reader.out}"))
    return cmd + ([gen.FILTER] if reader.filtered else [])


def measure_file(reader, pythons, baseline, files, timeout):
    """One run of ``reader``: its JSON line (packets, bytes, elapsed,
    hwm_kib) with the process's ru_maxrss and CPU seconds, or an error."""
    child = run_child(reader_command(reader, pythons, baseline, files[reader.file][0]), timeout)
    ru = child[3]
    return {"maxrss_kib": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime, **child_result(child, timeout)}


def rounds(readers, live_configs, pythons, baseline, files, args, veths=None, after_round=None):
    """Every reader once per round, then every live capture, each round in
    an order of its own (seeded: the same every run), then after_round(rnd)
    if given: the runs of each reader by Reader.id, and of each live
    capture by its key."""
    runs = {rd.id: [] for rd in readers}
    live_runs = {c[0]: [] for c in live_configs}
    for rnd in range(args.rounds):
        order = list(readers)
        random.Random(f"round {rnd}").shuffle(order)
        log(f"round {rnd + 1}/{args.rounds}: {len(order)} readers"
            + (f", {len(live_configs)} live captures" if live_configs else ""))
        for rd in order:
            res = measure_file(rd, pythons, baseline, files, args.timeout)
            runs[rd.id].append(res)
            if "error" in res:
                log(f"  {rd.id}: {res['error'].splitlines()[-1] if res['error'] else '?'}")
        lorder = list(live_configs)
        random.Random(f"live {rnd}").shuffle(lorder)
        for key, label, impl, immediate, opts in lorder:
            if opts.get("multi"):
                res = (measure_live_multi(pythons[impl], baseline, min(opts["count"], args.live_packets), args.timeout,
                                          veths) if veths
                       else {"skip": "no veth pairs (they need root)"})
            else:
                res = measure_live(impl, immediate, pythons[impl], baseline, args.live_packets, args.timeout, opts)
            live_runs[key].append(res)
            log(f"  live {key}: " + (res["error"] if "error" in res else "skipped: " + res["skip"] if "skip" in res
                                     else f"sent {res['sent']}, received {res['received']}, drops {res['ps_drop']}"))
        if after_round is not None:
            after_round(rnd)
    return runs, live_runs


def exited(pid):
    """Whether child ``pid`` has ended, without reaping it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_live(impl, immediate, python, baseline, count, timeout, opts=None):
    """One live round: start the capture process(es), send when all are
    ready, let them drain, stop them; the sums over the processes."""
    opts = opts or {}
    workers = opts.get("workers", 1)
    count = opts.get("count", count)
    port = free_udp_port()
    cmd = [python, READERS, "live", str(port), str(count), "1" if immediate else "0"]
    if "snaplen" in opts:
        cmd.append(f"snaplen={opts['snaplen']}")
    if workers > 1:
        cmd.append(f"fanout={port}")
    send = [baseline, "send", str(port), str(count), str(LIVE_PAYLOAD), str(opts.get("flows", 1))]
    children, sender = capture_while_sending(cmd, workers, send, timeout)
    return combine_captures([child_result(c, timeout) for c in children], sender)


def measure_live_multi(python, baseline, count, timeout, veths):
    """One round of the capture of two interfaces by one handle (issue 21):
    the capture process over the first ends of ``veths`` (pairs (capture
    end, sending end)), the C sender sending ``count`` frames out of each
    sending end, in turn.  {"skip": why} when the module cannot open a
    list of interfaces."""
    port = free_udp_port()
    cmd = [python, READERS, "live_multi", str(port), str(count)] + [a for a, _ in veths]
    send = [baseline, "send_frames", veths[0][1], veths[1][1], str(count), str(port)]
    children, sender = capture_while_sending(cmd, 1, send, timeout)
    res = child_result(children[0], timeout)
    if "skip" in res:
        return res
    if "error" in sender:
        return {"error": "sender: " + sender["error"]}
    if "error" in res and "received" not in res:
        return res
    res.update(sent=sender["sent"], sent_each=sender["each"], send_elapsed=sender["elapsed"])
    if not res.get("error"):
        res.pop("error", None)
    return res


def capture_while_sending(cmd, workers, send, timeout):
    """Start ``workers`` capture processes ``cmd``, run the sender ``send``
    once all say "ready", let them drain, stop them: (run_child's result of
    each, the sender's JSON line or {"error": why})."""
    ready = threading.Barrier(workers + 1, timeout=timeout)
    sent = threading.Event()
    sender = {}

    def drive(proc):
        line = proc.stdout.readline()     # "ready" once the handle is active
        if line.strip() != b"ready":
            ready.abort()
            return line
        ready.wait()
        sent.wait(timeout)
        # let the capture drain: it ends by itself once every datagram came
        deadline = time.monotonic() + LIVE_DRAIN
        while time.monotonic() < deadline and not exited(proc.pid):
            time.sleep(0.05)
        try:
            proc.stdin.write(b"stop\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        return b""

    children = [None] * workers

    def child(i):
        children[i] = run_child(cmd, timeout, stdin=subprocess.PIPE, on_start=drive)
    threads = [threading.Thread(target=child, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    try:
        ready.wait()
        r = subprocess.run(send, capture_output=True, text=True, timeout=timeout)
        sender = last_json(r.stdout) if r.returncode == 0 else {"error": r.stderr.strip()}
    except threading.BrokenBarrierError:
        sender = {"error": "a capture process did not start"}
    finally:
        sent.set()
        for t in threads:
            t.join()
    return children, sender


def combine_captures(parts, sender):
    """One live round's result from its capture processes' reports: the
    sums over them, and each one's count in "each"."""
    res = {"sent": sender.get("sent"), "send_elapsed": sender.get("elapsed")}
    if "error" in sender:
        res["error"] = "sender: " + sender["error"]
    failed = [p["error"] for p in parts if "error" in p and "received" not in p]
    if failed:
        res.setdefault("error", failed[0])
    if "error" in res:
        return res
    res.update(parts[0])
    for key in ("received", "bytes", "ps_recv", "ps_drop", "ps_ifdrop", "cpu"):
        res[key] = sum(part[key] for part in parts)
    res["each"] = [part["received"] for part in parts]
    errors = [part["error"] for part in parts if part.get("error")]
    res.pop("error", None)
    if errors:
        res["error"] = errors[0]
    return res


def count_instructions(cmd, timeout):
    """Instructions executed by ``cmd`` and every process it starts (the
    sum of callgrind's "Collected" of each: `cat file |`, `gunzip`, `zcat |
    tcpdump` count too), or an error text."""
    vg = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--callgrind-out-file=/dev/null"]
    code, out, err, ru, timed_out = run_child(vg + cmd, timeout)
    if timed_out:
        return None, f"timed out after {timeout:.0f} s"
    counts = [int(line.split("Collected :")[1]) for line in err.splitlines() if "Collected :" in line]
    if code != 0 or not counts:
        return None, f"exit {code}: {err.strip()[-300:]}"
    return sum(counts), None


def instructions_per_packet(readers, pythons, baseline, files, timeout):
    """Instructions per packet of each reader, by Reader.id (or an error
    text): (the reader on its file - the same reader on the same format
    with one packet) / (packets - 1), so that interpreter start-up, imports
    and opening cancel out."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    per = {}
    for rd in (r for r in readers if r.rate):
        one = "one" + rd.file[len(rd.file.split(".")[0]):]     # small.pcapng -> one.pcapng
        if one not in files:
            one = "one"
        (full, e1), (ref, e2) = (count_instructions(reader_command(rd, pythons, baseline, files[f][0]), timeout)
                                 for f in (rd.file, one))
        if e1 or e2:
            per[rd.id] = e1 or e2
            log(f"  {rd.id}: {per[rd.id]}")
        else:
            per[rd.id] = (full - ref) / max(files[rd.file][1]["packets"] - 1, 1)
            log(f"  {rd.id}: {per[rd.id]:.0f} instructions per packet")
    return per
