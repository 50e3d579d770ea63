#!/usr/bin/env python3
"""The side-by-side benchmark of issues 5 and 9 (bench/README.md).

    make bench                       # the full run: every reader, 5 rounds
    python bench/run.py --packets 2000 --rounds 1 --only ours     # a smoke run

Makes the input savefiles (bench/gen.py) and the C baseline (bench/baseline.c)
in the work folder (bench/.work/, never committed), installs each peer into a
virtual environment of its own there on first use, then runs every reader and
idiom in a fresh process of the right interpreter, interleaved over the
rounds, and prints Markdown tables: packets/s (median, min, max), the ratio to
the C loop and to pypcap's iteration, peak RSS (ru_maxrss of the process),
a correctness column, the live capture on lo, and the targets of the issue.
A full run (default sizes, every reader, five rounds or more, live capture)
also writes bench/RESULTS.md.  Only the standard library is used.
"""
import argparse
import datetime
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import gen

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
READERS = os.path.join(HERE, "readers.py")
BASELINE_SRC = os.path.join(HERE, "baseline.c")
RESULTS = os.path.join(HERE, "RESULTS.md")

FULL_SMALL = 1_000_000
FULL_LARGE = 200_000
FULL_ROUNDS = 5
LIVE_MAX = 300_000          # the issue's bound on the sender
LIVE_PAYLOAD = 18           # 18 bytes of UDP payload: 60-byte frames
INSTR_PACKETS = 100_000     # file size of --instructions
LIVE_DRAIN = 3.0            # seconds a capture may take after the sender is done

# The peers: what pip installs into each one's own virtual environment (the
# versions of the issue's table, the newest of the others when this was
# written), and what to try when that fails.
PEERS = {
    "pypcap": {"pip": ["pypcap==1.3.0"], "check": "import pcap",
               "dist": "pypcap", "retry": [["Cython<3", "setuptools", "wheel"]]},
    "pcapy-ng": {"pip": ["pcapy-ng==2.1.0", "numpy"], "check": "import pcapy, numpy", "dist": "pcapy-ng",
                 "retry": [["setuptools", "wheel"]]},
    "python-libpcap": {"pip": ["python-libpcap==0.5.4"], "check": "import pylibpcap.pcap",
                       "dist": "python-libpcap", "retry": [["Cython<3", "setuptools", "wheel"]]},
    "pcap-ct": {"pip": ["pcap-ct==1.3.0b3"], "check": "import pcap; pcap.pcap",
                "dist": "pcap-ct", "retry": []},
    "dpkt": {"pip": ["dpkt==1.9.8", "pyarrow"], "check": "import dpkt.pcap, pyarrow", "dist": "dpkt", "retry": []},
    "scapy": {"pip": ["scapy==2.8.0", "pyarrow"], "check": "from scapy.utils import RawPcapReader; import pyarrow",
              "dist": "scapy", "retry": []},
}
IMPLS = ["ours"] + list(PEERS)
# For the readers that use numpy, pyarrow or Dask (our module needs none of them).
OURS_PIP = ["numpy", "pyarrow", "pandas", "dask[dataframe]", "distributed"]


class Reader:
    """One reader or idiom: ``key`` names its function in readers.py (or the
    mode of the C baseline), ``impl`` the interpreter it runs with."""

    def __init__(self, key, label, impl, kind="small", filtered=False, rate=True):
        self.key, self.label, self.impl = key, label, impl
        self.kind = kind            # which file: small or large
        self.filtered = filtered    # reads with gen.FILTER
        self.rate = rate            # False: import only, no packets

    @property
    def id(self):
        return f"{self.kind}:{self.key}"


SMALL_READERS = [
    Reader("next_ex", "C: `pcap_next_ex` loop", "c"),
    Reader("empty", "C: `pcap_dispatch` + empty callback", "c"),
    Reader("ours_iter", "ours: `for ts, buf in p`", "ours"),
    Reader("ours_iter_ns", "ours: `for ts, buf in p`, `timestamp_in_ns=True`", "ours"),
    Reader("ours_pipe_iter", "ours: `for ts, buf in p`, the file through a pipe (`cat file |`)", "ours"),
    Reader("ours_dispatch", "ours: `dispatch(-1, cb)`", "ours"),
    Reader("ours_loop", "ours: `loop(0, cb)`", "ours"),
    Reader("ours_readpkts", "ours: `readpkts()`", "ours"),
    Reader("ours_batch", "ours: `readpkts(1024)` until `[]`", "ours"),
    Reader("ours_readbatch", "ours: `readbatch(1024)` until empty, `sum(map(len, bufs))`", "ours"),
    Reader("ours_next_batch", "ours: `next_batch(1024)` until empty, `len(data)`", "ours"),
    Reader("ours_next_batch_np", "ours: `next_batch(4096)` + numpy view, caplen summed", "ours"),
    Reader("ours_readinto_np", "ours: `readinto(records, data)` into the same buffers + numpy view", "ours"),
    Reader("ours_per_second_np", "ours: bytes per second, `next_batch` + `numpy.bincount`", "ours"),
    Reader("ours_per_second_iter", "ours: bytes per second, `for ts, buf in p` + `p.wirelen`", "ours"),
    Reader("ours_gzip", "ours: `for ts, buf in p` of the gzip-compressed file (`file.pcap.gz`)", "ours"),
    Reader("ours_gunzip_then_read", "ours: `gunzip -c` to a file, then `for ts, buf in p` of it", "ours"),
    Reader("zcat_tcpdump", "`zcat file.pcap.gz | tcpdump -r - -w /dev/null` (tcpdump's count, no byte sum)", "ours"),
    Reader("ours_count", "ours: `dispatch(-1)`, no callback (counts in C)", "ours"),
    Reader("next_ex_filter", f"C: `pcap_next_ex` loop, BPF `{gen.FILTER}`", "c", filtered=True),
    Reader("ours_filter_count", f"ours: `setfilter('{gen.FILTER}')` + `dispatch(-1)`", "ours",
           filtered=True),
    Reader("pypcap_iter", "pypcap: `for ts, buf in p`", "pypcap"),
    Reader("pypcap_dispatch", "pypcap: `dispatch(-1, cb)`", "pypcap"),
    Reader("pypcap_loop", "pypcap: `loop(0, cb)`", "pypcap"),
    Reader("pypcap_readpkts", "pypcap: `readpkts()`", "pypcap"),
    Reader("pcapy_dispatch", "pcapy-ng: `dispatch(-1, cb)`", "pcapy-ng"),
    Reader("pcapy_loop", "pcapy-ng: `loop(0, cb)`", "pcapy-ng"),
    Reader("pcapy_next_batch", "pcapy-ng: `next_batch(1024)` + unpacking", "pcapy-ng"),
    Reader("pcapy_next_batch_np", "pcapy-ng: `next_batch(4096)` + numpy view, caplen summed", "pcapy-ng"),
    Reader("pcapy_loop_to_buffer", "pcapy-ng: `loop_to_buffer(4096, buf)` into the same buffer", "pcapy-ng"),
    Reader("pcapy_next", "pcapy-ng: `next()`", "pcapy-ng"),
    Reader("libpcap_iter", "python-libpcap: `for n, t, buf in rpcap(path)`", "python-libpcap"),
    Reader("pcapct_iter", "pcap-ct: `for ts, buf in p`", "pcap-ct"),
    Reader("scapy_raw", "scapy: `RawPcapReader`", "scapy"),
    Reader("dpkt_reader", "dpkt: `pcap.Reader`", "dpkt"),
    Reader("ours_to_arrow", "ours: `p.to_arrow()`: the file as an Arrow table", "ours"),
    Reader("scapy_to_arrow", "scapy: `RawPcapReader`, the same columns into an Arrow table", "scapy"),
    Reader("dpkt_to_arrow", "dpkt: `pcap.Reader`, the same columns into an Arrow table", "dpkt"),
    Reader("ours_import", "ours: `import pcap` only", "ours", rate=False),
    Reader("pypcap_import", "pypcap: `import pcap` only", "pypcap", rate=False),
]
LARGE_READERS = [
    Reader("next_ex", "C: `pcap_next_ex` loop", "c", kind="large"),
    Reader("ours_iter", "ours: `for ts, buf in p`", "ours", kind="large"),
    Reader("pypcap_iter", "pypcap: `for ts, buf in p`", "pypcap", kind="large"),
]
# Live capture on lo: (key, label, impl, immediate, options).  Options:
# count (datagrams, instead of --live-packets), snaplen, workers (processes
# joined to one PACKET_FANOUT group, FANOUT_HASH), flows (sender sockets).
LIVE_CONFIGS = [
    ("ours_default", "ours, default options", "ours", False, {}),
    ("pypcap_default", "pypcap, default options", "pypcap", False, {}),
    ("ours_immediate", "ours, `immediate=True`", "ours", True, {}),
    ("pypcap_immediate", "pypcap, `immediate=True`", "pypcap", True, {}),
    ("ours_fanout", "ours, default options, 2 processes in a `FANOUT_HASH` group, 16 flows", "ours", False,
     {"workers": 2, "flows": 16}),
    ("ours_burst", "ours, `immediate=True`, a burst of 2,000", "ours", True, {"count": 2000}),
    ("ours_burst_snaplen", "ours, `immediate=True, snaplen=256`, a burst of 2,000", "ours", True,
     {"count": 2000, "snaplen": 256}),
    ("pypcap_burst", "pypcap, `immediate=True`, a burst of 2,000", "pypcap", True, {"count": 2000}),
]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Processes: each reader runs in a child whose rusage we take with wait4.

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


# --------------------------------------------------------------------------
# Set-up: files, the C baseline, the interpreters.

def build_baseline(work):
    exe = os.path.join(work, "baseline")
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(BASELINE_SRC):
        return exe
    cc = os.environ.get("CC", "cc")
    tmp = f"{exe}.{os.getpid()}.tmp"
    cmd = [cc, "-O2", "-o", tmp, BASELINE_SRC, "-lpcap"]
    log("building the C baseline:", " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"cannot build the C baseline ({' '.join(cmd)}):\n{r.stderr}")
    os.replace(tmp, exe)
    return exe


def dev_python():
    """The project's development interpreter: .venv, else this one."""
    venv = os.path.join(REPO, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def ours_env(base, venvs):
    """An environment for our module made like the peers' (same base
    interpreter, pip and setuptools as venv puts them), whose only addition is
    a .pth line naming the repository: ``import pcap`` loads the module built
    there (the one .venv's editable install loads), without the editable
    install's finder, which imports pathlib, re, urllib, ipaddress... at every
    start of .venv's interpreter (2 MiB more RSS than the peers' start with).
    Returns its interpreter, or None when it cannot be made."""
    venv = os.path.join(venvs, "ours")
    py = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".bench-installed")
    want = json.dumps({"repo": REPO, "base": base, "pip": OURS_PIP})
    if os.path.exists(stamp) and open(stamp).read() == want and os.path.exists(py):
        return py
    shutil.rmtree(venv, ignore_errors=True)
    log(f"making {venv} (our module from {REPO})")
    r = subprocess.run([base, "-m", "venv", venv], capture_output=True, text=True)
    if r.returncode != 0:
        log(f"cannot make {venv}: {r.stderr.strip()}")
        return None
    r = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       capture_output=True, text=True)
    with open(os.path.join(r.stdout.strip(), "bench-ours.pth"), "w") as f:
        f.write(REPO + "\n")
    r = subprocess.run([py, "-m", "pip", "install", "--disable-pip-version-check", "-q"] + OURS_PIP,
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"cannot install {' '.join(OURS_PIP)} for our numpy readers:\n{pip_error(r.stderr)}")
        return py
    with open(stamp, "w") as f:
        f.write(want)
    return py


def check_ours(python, fatal=True):
    """Version facts from our module; exits (or returns None when not
    ``fatal``) when it cannot be imported."""
    code = ("import json, sys, pcap; print(json.dumps({'file': pcap.__file__, "
            "'version': getattr(pcap, '__version__', '?'), 'lib': pcap.lib_version(), "
            "'python': sys.version.split()[0]}))")
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=HERE)
    if r.returncode != 0:
        if not fatal:
            log(f"our module does not import with {python}:\n{r.stderr}")
            return None
        sys.exit(f"our module does not import with {python}:\n{r.stderr}")
    info = json.loads(r.stdout)
    if not os.path.realpath(info["file"]).startswith(os.path.realpath(REPO) + os.sep):
        log(f"warning: {python} imports pcap from {info['file']}, not from {REPO}")
    return info


def base_python(dev):
    """The interpreter the environments are made from: the base of the
    project's .venv, so that every reader runs on the same Python."""
    r = subprocess.run([dev, "-c", "import sys; print(getattr(sys, '_base_executable', sys.executable))"],
                       capture_output=True, text=True)
    exe = r.stdout.strip()
    return exe if r.returncode == 0 and exe else sys.executable


def pip_error(text):
    """The telling lines of a failed pip run."""
    lines = [l.rstrip() for l in text.splitlines()
             if l.strip() and not l.startswith("WARNING: Location")]
    keep = [l for l in lines if "error" in l.lower() or "Error" in l]
    return "\n".join((keep or lines)[-12:])


def install_peer(name, base, venvs):
    """The interpreter of ``name``'s environment, or (None, why) when it
    could not be installed."""
    spec = PEERS[name]
    venv = os.path.join(venvs, name)
    py = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".bench-installed")
    want = json.dumps({"pip": spec["pip"], "base": base})
    if os.path.exists(stamp) and open(stamp).read() == want and os.path.exists(py):
        return py, None
    shutil.rmtree(venv, ignore_errors=True)
    log(f"installing {name} ({' '.join(spec['pip'])}) into {venv}")
    r = subprocess.run([base, "-m", "venv", venv], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"python -m venv failed:\n{r.stderr.strip()}"
    logpath = os.path.join(venvs, f"{name}.log")
    attempts = [([], spec["pip"])] + [(pre, ["--no-build-isolation"] + spec["pip"]) for pre in spec["retry"]]
    errors = []
    with open(logpath, "w") as logf:
        for pre, args in attempts:
            ok = True
            for cmd in ([pre] if pre else []) + [args]:
                full = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q"] + cmd
                logf.write("$ " + " ".join(full) + "\n")
                logf.flush()
                r = subprocess.run(full, capture_output=True, text=True)
                logf.write(r.stdout + r.stderr)
                if r.returncode != 0:
                    errors.append(f"`pip install {' '.join(cmd)}`:\n{pip_error(r.stdout + r.stderr)}")
                    ok = False
                    break
            if ok:
                r = subprocess.run([py, "-c", spec["check"]], capture_output=True, text=True, cwd=HERE)
                if r.returncode == 0:
                    with open(stamp, "w") as f:
                        f.write(want)
                    return py, None
                errors.append(f"installed, but `{spec['check']}` fails:\n{r.stderr.strip()[-800:]}")
    return None, "\n\n".join(errors) + f"\n(full log: {logpath})"


def peer_version(py, name):
    r = subprocess.run([py, "-c", f"import importlib.metadata as m; print(m.version({PEERS[name]['dist']!r}))"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "?"


def can_capture():
    if not hasattr(os, "geteuid"):
        return False
    if os.geteuid() == 0:
        return True
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 13))
    except OSError:
        pass
    return False


# --------------------------------------------------------------------------
# One measurement.

def gzip_copy(path):
    """path + '.gz' (gzip level 6), made when missing or older than path:
    the input of the compressed-savefile readers."""
    gz = path + ".gz"
    if os.path.exists(gz) and os.path.getmtime(gz) >= os.path.getmtime(path):
        return gz
    import gzip
    log(f"compressing {path} to {gz}")
    with open(path, "rb") as f, gzip.open(gz + ".tmp", "wb", compresslevel=6) as z:
        shutil.copyfileobj(f, z, 1 << 20)
    os.replace(gz + ".tmp", gz)
    return gz


DASK_FILES = 16


def dask_runs(python, small, work, rounds, timeout):
    """Wall times of examples/dask_flows.py --json: DASK_FILES files (hard
    links to the small file) with 1 and 2 workers; the small file read whole
    and split into 2 ranges, with 2 workers.  Each variant's result is kept
    to check that they agree."""
    folder = os.path.join(work, f"dask{DASK_FILES}")
    os.makedirs(folder, exist_ok=True)
    for i in range(DASK_FILES):
        link = os.path.join(folder, f"part{i:02}.pcap")
        if os.path.exists(link) and not os.path.samefile(link, small):
            os.remove(link)
        if not os.path.exists(link):
            os.link(small, link)
    example = os.path.join(REPO, "examples", "dask_flows.py")
    variants = [(f"{DASK_FILES} files, 1 worker", [folder, "--workers", "1"], DASK_FILES),
                (f"{DASK_FILES} files, 2 workers", [folder, "--workers", "2"], DASK_FILES),
                ("1 file read whole, 2 workers", [small, "--workers", "2"], 1),
                ("1 file split into 2 ranges, 2 workers", [small, "--workers", "2", "--split", "2"], 1)]
    out = {label: {"walls": [], "results": [], "files": nfiles, "errors": []} for label, _, nfiles in variants}
    for rnd in range(rounds):
        for label, args, _ in variants:
            t0 = time.perf_counter()
            code, stdout, err, ru, timed_out = run_child([python, example, *args, "--json"], timeout)
            wall = time.perf_counter() - t0
            rec = out[label]
            if timed_out or code != 0:
                rec["errors"].append(f"timed out after {timeout} s" if timed_out else f"exit {code}: {err.strip()[-300:]}")
                log(f"  dask {label}: {rec['errors'][-1]}")
                continue
            rec["walls"].append(wall)
            rec["results"].append(last_json(stdout))
            log(f"  dask {label}: {wall:.2f} s")
    return out


def dask_table(dask, packets):
    lines = ["| run | files × packets | wall s (median; each round) | packets/s | same result |", "|---|---:|---|---:|---|"]
    by_files = {}
    for label, rec in dask.items():
        for r in rec["results"]:
            by_files.setdefault(rec["files"], []).append(json.dumps(r, sort_keys=True))
    one = [json.loads(x) for x in by_files.get(1, [])]
    for label, rec in dask.items():
        if not rec["walls"]:
            lines.append(f"| {label} | – | FAILED: {rec['errors'][0][:100] if rec['errors'] else '?'} | – | – |")
            continue
        same = len(set(by_files[rec["files"]])) == 1
        if rec["files"] > 1 and one:
            same = same and all(r["packets"] == rec["files"] * one[0]["packets"] and
                                r["bytes"] == rec["files"] * one[0]["bytes"] for r in rec["results"])
        w = median(rec["walls"])
        lines.append(f"| {label} | {rec['files']} × {packets:,} | {w:.2f} ({', '.join(f'{x:.2f}' for x in rec['walls'])}) | "
                     f"{fmt_rate(rec['files'] * packets / w)} | {'yes' if same else 'NO'} |")
    lines.append("")
    lines.append("Wall time of the whole command, from its start (the LocalCluster's start-up included) to its "
                 "report; \"same result\": every run of a variant printed the same totals and top flows, and "
                 f"the {DASK_FILES}-file runs {DASK_FILES} times the packets and bytes of the one file.")
    return "\n".join(lines)


def measure_file(reader, pythons, baseline, files, timeout):
    path, meta = files[reader.kind]
    if reader.impl == "c":
        cmd = [baseline, reader.key if reader.key != "next_ex_filter" else "next_ex", path]
    else:
        cmd = [pythons[reader.impl], READERS, reader.key, path]
    if reader.filtered:
        cmd.append(gen.FILTER)
    code, out, err, ru, timed_out = run_child(cmd, timeout)
    res = {"maxrss_kib": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime}
    if timed_out:
        res["error"] = f"timed out after {timeout} s"
    elif code != 0:
        res["error"] = f"exit {code}: {err.strip()[-600:]}"
    else:
        try:
            res.update(last_json(out))
        except ValueError as e:
            res["error"] = f"{e}: {out[-300:]!r} {err[-300:]!r}"
    return res


def peak_rss(res):
    """Peak RSS in KiB: the child's VmHWM.  ru_maxrss from wait4 is the
    fallback only: Linux carries the high-water mark of the forked image of
    this (bench) process over exec, so it never reads below our own RSS."""
    hwm = res.get("hwm_kib")
    return hwm if isinstance(hwm, int) and hwm > 0 else res["maxrss_kib"]


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
        r = subprocess.run([baseline, "send", str(port), str(count), str(LIVE_PAYLOAD), str(opts.get("flows", 1))],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            sender["error"] = r.stderr.strip()
        else:
            sender.update(last_json(r.stdout))
    except threading.BrokenBarrierError:
        sender["error"] = "a capture process did not start"
    finally:
        sent.set()
        for t in threads:
            t.join()
    res = {"sent": sender.get("sent"), "send_elapsed": sender.get("elapsed")}
    if "error" in sender:
        res["error"] = "sender: " + sender["error"]
    parts = []
    for code, out, err, ru, timed_out in children:
        if timed_out:
            res.setdefault("error", f"timed out after {timeout} s")
        elif code != 0:
            res.setdefault("error", f"exit {code}: {err.strip()[-600:]}")
        else:
            try:
                parts.append(last_json(out))
            except ValueError as e:
                res.setdefault("error", f"{e}: {out[-300:]!r} {err[-300:]!r}")
    if "error" not in res:
        res.update(parts[0])
        for key in ("received", "bytes", "ps_recv", "ps_drop", "ps_ifdrop", "cpu"):
            res[key] = sum(part[key] for part in parts)
        res["each"] = [part["received"] for part in parts]
        errors = [part["error"] for part in parts if part.get("error")]
        res.pop("error", None)
        if errors:
            res["error"] = errors[0]
    return res


# --------------------------------------------------------------------------
# Instructions per packet, under callgrind.

def count_instructions(cmd, timeout):
    """Instructions executed by ``cmd`` (callgrind's "Collected"), or an
    error text."""
    vg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    code, out, err, ru, timed_out = run_child(vg + cmd, timeout)
    if timed_out:
        return None, f"timed out after {timeout:.0f} s"
    for line in err.splitlines():
        if "Collected :" in line:
            if code != 0:
                break
            return int(line.split("Collected :")[1].strip()), None
    return None, f"exit {code}: {err.strip()[-300:]}"


def instructions(readers, pythons, baseline, files, timeout, missing):
    """Table of instructions per packet: (reader on the file - the same
    reader on a file with no packet) / packets, so that interpreter start-up
    and imports cancel out."""
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    per = {}
    for rd in readers:
        if not rd.rate:
            continue
        counts = []
        for kind in (rd.kind, "empty"):
            path = files[kind][0]
            if rd.impl == "c":
                cmd = [baseline, rd.key if rd.key != "next_ex_filter" else "next_ex", path]
            else:
                cmd = [pythons[rd.impl], READERS, rd.key, path]
            if rd.filtered:
                cmd.append(gen.FILTER)
            counts.append(count_instructions(cmd, timeout))
        (full, e1), (empty, e2) = counts
        if e1 or e2:
            per[rd.id] = e1 or e2
            log(f"  {rd.id}: {per[rd.id]}")
        else:
            per[rd.id] = (full - empty) / files[rd.kind][1]["packets"]
            log(f"  {rd.id}: {per[rd.id]:.0f} instructions per packet")
    out = []
    for kind, title, rows in (("small", "small-packet file", SMALL_READERS),
                              ("large", "large-packet file", LARGE_READERS)):
        if kind not in files:
            continue
        n = files[kind][1]["packets"]
        out.append(f"## Instructions per packet (callgrind), {title}, {n:,} packets\n")
        out.append("Fewer is faster; × C loop and × pypcap iteration are ratios of speed "
                   "(their instructions over the reader's).\n")
        out.append("| reader | instructions per packet | × C loop | × pypcap iteration |")
        out.append("|---|---:|---:|---:|")
        c, py = per.get(f"{kind}:next_ex"), per.get(f"{kind}:pypcap_iter")
        for rd in rows:
            if not rd.rate:
                continue
            if rd.impl in missing:
                out.append(f"| {rd.label} | not installed | – | – |")
                continue
            v = per.get(rd.id)
            if v is None:
                continue
            if isinstance(v, str):
                out.append(f"| {rd.label} | FAILED: {v.splitlines()[-1][:80]} | – | – |")
                continue
            to_c = c / v if isinstance(c, float) and v > 0 else None
            to_py = py / v if isinstance(py, float) and v > 0 else None
            out.append(f"| {rd.label} | {v:,.0f} | {fmt_ratio(to_c)} | {fmt_ratio(to_py)} |")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------
# Tables.

def fmt_rate(r):
    if r is None:
        return "–"
    if r >= 1e6:
        return f"{r / 1e6:.2f} M"
    return f"{r / 1e3:.0f} k"


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}"


def fmt_mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f}"


def median(xs):
    return statistics.median(xs) if xs else None


class Summary:
    """Medians and checks of one reader over the rounds."""

    def __init__(self, reader, runs, meta):
        self.reader = reader
        self.runs = runs
        self.errors = [r["error"] for r in runs if "error" in r]
        ok_runs = [r for r in runs if "error" not in r]
        file_packets = meta["packets"]
        self.rates = [file_packets / r["elapsed"] for r in ok_runs if reader.rate and r["elapsed"] > 0]
        self.rate = median(self.rates)
        self.rss = median([peak_rss(r) for r in runs])
        want = ((meta["filter_packets"], meta["filter_bytes"]) if reader.filtered
                else (meta["packets"], meta["bytes"]))
        bad = []
        for r in ok_runs:
            got_bytes = r.get("bytes")
            if reader.rate and (r["packets"] != want[0] or (got_bytes is not None and got_bytes != want[1])):
                bad.append(f"{r['packets']:,} packets / "
                           f"{'–' if got_bytes is None else format(got_bytes, ',')} bytes")
        self.bad = bad
        self.count_only = any(r.get("bytes") is None for r in ok_runs)

    @property
    def ok(self):
        return not self.errors and not self.bad and bool(self.runs)

    def correctness(self):
        if not self.runs:
            return "not run"
        if self.errors:
            return "FAILED: " + self.errors[0].splitlines()[-1][:120]
        if not self.reader.rate:
            return "–"
        if self.bad:
            return "MISMATCH: " + "; ".join(sorted(set(self.bad)))
        what = "matches" if self.reader.filtered else "ok"
        return what + (" (count; no byte sum)" if self.count_only else "")


def file_table(readers, summaries, c_key, py_key, missing):
    lines = ["| reader | median packets/s | min | max | × C loop | × pypcap iteration | peak RSS MiB | correct |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    c = summaries.get(c_key)
    py = summaries.get(py_key)
    for rd in readers:
        s = summaries.get(rd.id)
        if rd.impl in missing:
            lines.append(f"| {rd.label} | – | – | – | – | – | – | not installed (see below) |")
            continue
        if s is None:
            continue
        if not rd.rate:
            continue
        to_c = s.rate / c.rate if s.rate and c and c.rate else None
        to_py = s.rate / py.rate if s.rate and py and py.rate else None
        lines.append(f"| {rd.label} | {fmt_rate(s.rate)} | {fmt_rate(min(s.rates) if s.rates else None)} | "
                     f"{fmt_rate(max(s.rates) if s.rates else None)} | {fmt_ratio(to_c)} | {fmt_ratio(to_py)} | "
                     f"{fmt_mib(s.rss)} | {s.correctness()} |")
    return "\n".join(lines)


def memory_table(summaries, missing):
    rows = [("ours", "small:ours_import", "small:ours_iter", "small:ours_readpkts"),
            ("pypcap", "small:pypcap_import", "small:pypcap_iter", "small:pypcap_readpkts")]
    lines = ["| module | import only (interpreter's own) MiB | iteration MiB | iteration over import | `readpkts()` MiB |",
             "|---|---:|---:|---:|---:|"]
    for name, imp, it, rp in rows:
        if name in missing:
            lines.append(f"| {name} | – | – | – | – |")
            continue
        a, b, c = summaries.get(imp), summaries.get(it), summaries.get(rp)
        if a is None or b is None:
            continue
        lines.append(f"| {name} | {fmt_mib(a.rss)} | {fmt_mib(b.rss)} | {(b.rss - a.rss) / 1024:+.1f} | "
                     f"{fmt_mib(c.rss) if c else '–'} |")
    return "\n".join(lines)


class LiveSummary:
    def __init__(self, runs):
        self.runs = runs
        self.errors = [r["error"] for r in runs if "error" in r]
        ok = [r for r in runs if "error" not in r]
        self.ok_runs = ok
        self.received = [r["received"] for r in ok]
        self.sent = [r["sent"] for r in ok]
        self.drops = [r["ps_drop"] for r in ok]
        self.cpu_per_pkt = [r["cpu"] / r["received"] for r in ok if r["received"]]
        self.send_rate = [r["sent"] / r["send_elapsed"] for r in ok if r.get("send_elapsed")]


def fmt_list(xs, f=lambda x: f"{x:,}"):
    return ", ".join(f(x) for x in xs) if xs else "–"


def live_table(live, missing):
    lines = ["| capture on lo | sent | received (median; each round) | kernel drops (median; each round) | "
             "CPU µs per packet (median; min–max) | sender datagrams/s (median) |",
             "|---|---:|---|---|---|---:|"]
    for key, label, impl, *_ in LIVE_CONFIGS:
        if impl in missing:
            lines.append(f"| {label} | – | not installed | – | – | – |")
            continue
        s = live.get(key)
        if s is None:
            continue
        if not s.ok_runs:
            lines.append(f"| {label} | – | FAILED: {s.errors[0].splitlines()[-1][:100] if s.errors else '?'} | – | – | – |")
            continue
        cpu = [x * 1e6 for x in s.cpu_per_pkt]
        lines.append(
            f"| {label} | {median(s.sent):,.0f} | {median(s.received):,.0f} ({fmt_list(s.received)}) | "
            f"{median(s.drops):,.0f} ({fmt_list(s.drops)}) | "
            f"{median(cpu):.3f} ({min(cpu):.3f}–{max(cpu):.3f}) | {fmt_rate(median(s.send_rate))} |"
            + (f" {len(s.errors)} round(s) failed: {s.errors[0][:80]}" if s.errors else ""))
    return "\n".join(lines)


def target_rows(sm, live, missing, live_ran, packets):
    """(target, measured, required, verdict) for each target of the issue."""
    rows = []

    def rate(key):
        s = sm.get(key)
        return s.rate if s and s.ok and s.rate else None

    def ratio_row(name, a, b, need, what):
        ra, rb = rate(a), rate(b)
        if ra is None or rb is None:
            rows.append((name, "n/a", f"≥ {need}× {what}", "not measured"))
            return
        x = ra / rb
        rows.append((name, f"{x:.2f}×", f"≥ {need}× {what}", "met" if x >= need else "MISSED"))

    ratio_row("iteration `for ts, buf in p`", "small:ours_iter", "small:pypcap_iter", 1.76, "pypcap iteration")
    ratio_row("iteration, `timestamp_in_ns=True`", "small:ours_iter_ns", "small:pypcap_iter", 1.6,
              "pypcap iteration")
    for idiom, pyk, pck in (("dispatch", "small:pypcap_dispatch", "small:pcapy_dispatch"),
                            ("loop", "small:pypcap_loop", "small:pcapy_dispatch")):
        ours = f"small:ours_{idiom}"
        label = "`dispatch(-1, cb)`" if idiom == "dispatch" else "`loop(0, cb)`"
        ratio_row(f"{label} vs pypcap's", ours, pyk, 1.3, f"pypcap {label}")
        ra, rb = rate(ours), rate(pck)
        if ra is None or rb is None:
            rows.append((f"{label} vs pcapy-ng `dispatch`", "n/a", "> 1× pcapy-ng dispatch", "not measured"))
        else:
            rows.append((f"{label} vs pcapy-ng `dispatch`", f"{ra / rb:.2f}×", "> 1× pcapy-ng `dispatch`",
                         "met" if ra > rb else "MISSED"))
    ratio_row("`readpkts()` rate", "small:ours_readpkts", "small:pypcap_readpkts", 2, "pypcap `readpkts()`")
    a, b = sm.get("small:ours_readpkts"), sm.get("small:pypcap_readpkts")
    if a and b and a.ok and b.ok:
        rows.append(("`readpkts()` peak RSS", f"{fmt_mib(a.rss)} MiB vs {fmt_mib(b.rss)} MiB",
                     "≤ pypcap's", "met" if a.rss <= b.rss else "MISSED"))
    else:
        rows.append(("`readpkts()` peak RSS", "n/a", "≤ pypcap's", "not measured"))
    ratio_row("batch read `readbatch(1024)`", "small:ours_readbatch", "small:pypcap_iter", 2, "pypcap iteration")
    ratio_row("iteration from a pipe", "small:ours_pipe_iter", "small:ours_iter", 0.5,
              "ours: iteration of the file (at most 2× slower)")
    for name, a, b in (("count in C: `dispatch(-1)` no callback", "small:ours_count", "small:next_ex"),
                       ("BPF-filtered count", "small:ours_filter_count", "small:next_ex_filter")):
        ra, rb = rate(a), rate(b)
        cmp = "C loop" if b.endswith("next_ex") else "C loop with the same filter"
        if ra is None or rb is None:
            rows.append((name, "n/a", f"time ≤ 1.5× {cmp}", "not measured"))
        else:
            limit = 0.4 if b.endswith("next_ex") else 1.5   # counting: ≥ 2.5× the C loop's rate
            rows.append((name, f"{rb / ra:.2f}× the time", f"≤ {limit}× the time of the {cmp}",
                         "met" if rb / ra <= limit else "MISSED"))
    ratio_row("large packets: iteration", "large:ours_iter", "large:next_ex", 1.0, "C loop")
    a, b = sm.get("small:ours_iter"), sm.get("small:ours_import")
    if a and b and a.ok and b.ok:
        d = (a.rss - b.rss) / 1024
        rows.append((f"memory: iterating {packets:,} packets", f"{d:+.1f} MiB over import only",
                     "≤ 5 MiB over the interpreter's own", "met" if d <= 5 else "MISSED"))
    if not live_ran:
        rows.append(("live capture on lo", "not run", "", "not measured"))
        return rows
    od, pd = live.get("ours_default"), live.get("pypcap_default")
    oi, pi = live.get("ours_immediate"), live.get("pypcap_immediate")
    if od and od.ok_runs:
        lost = [s - r for s, r in zip(od.sent, od.received)]
        rows.append(("live, default options: no packet dropped",
                     f"kernel drops {fmt_list(od.drops)}; not received {fmt_list(lost)}",
                     "0 in every round", "met" if max(od.drops) == 0 and max(lost) == 0 else "MISSED"))
    if od and pd and od.cpu_per_pkt and pd.cpu_per_pkt:
        a, b = median(od.cpu_per_pkt) * 1e6, median(pd.cpu_per_pkt) * 1e6
        rows.append(("live, default options: CPU per packet", f"{a:.3f} µs vs pypcap {b:.3f} µs",
                     "≤ pypcap's", "met" if a <= b else "MISSED"))
    elif "pypcap" in missing:
        rows.append(("live, default options: CPU per packet", "n/a", "≤ pypcap's", "pypcap not installed"))
    if oi and pi and oi.ok_runs and pi.ok_runs:
        a, b = median(oi.drops), median(pi.drops)
        verdict = "met" if a < b else ("met (both 0)" if a == b == 0 else "MISSED")
        rows.append(("live, `immediate=True`: kernel drops", f"median {a:,.0f} vs pypcap {b:,.0f}",
                     "fewer than pypcap", verdict))
    rows += issue11_live_rows(live)
    return rows


def batch_and_savefile_rows(sm):
    """The targets of issues 11 (batches) and 12 (compressed files, Arrow)."""
    rows = []

    def rate(key):
        s = sm.get(key)
        return s.rate if s and s.ok and s.rate else None

    for name, a, b, need, what in (
            ("batch: `next_batch` + numpy view", "small:ours_next_batch_np", "small:next_ex", 1.5, "C loop"),
            ("batch: `next_batch` + numpy view vs pcapy-ng's", "small:ours_next_batch_np",
             "small:pcapy_next_batch_np", 2, "pcapy-ng `next_batch` + numpy view"),
            ("caller's buffers: `readinto` + numpy view vs pcapy-ng's `loop_to_buffer`", "small:ours_readinto_np",
             "small:pcapy_loop_to_buffer", 1, "pcapy-ng `loop_to_buffer`"),
            ("bytes per second: numpy vs `for ts, buf in p`", "small:ours_per_second_np",
             "small:ours_per_second_iter", 1, "the same with iteration"),
            ("gzip-compressed file vs `zcat | tcpdump -r - -w /dev/null`", "small:ours_gzip",
             "small:zcat_tcpdump", 1, "`zcat | tcpdump`"),
            ("gzip-compressed file vs gunzip to a file, then read", "small:ours_gzip",
             "small:ours_gunzip_then_read", 1, "gunzip, then read")):
        ra, rb = rate(a), rate(b)
        if ra is None or rb is None:
            rows.append((name, "n/a", f"≥ {need}× {what}", "not measured"))
        else:
            rows.append((name, f"{ra / rb:.2f}×", f"≥ {need}× {what}", "met" if ra / rb >= need else "MISSED"))
    ra = rate("small:ours_to_arrow")
    peers = [r for r in (rate("small:scapy_to_arrow"), rate("small:dpkt_to_arrow")) if r]
    if ra and peers:
        rows.append(("savefile to an Arrow table", f"{ra / max(peers):.1f}× the faster peer",
                     "≥ 10× the faster of scapy and dpkt building the same columns",
                     "met" if ra / max(peers) >= 10 else "MISSED"))
    else:
        rows.append(("savefile to an Arrow table", "n/a", "≥ 10× scapy and dpkt", "not measured"))
    return rows


def issue11_live_rows(live):
    rows = []
    od, oi, pi = live.get("ours_default"), live.get("ours_immediate"), live.get("pypcap_immediate")
    if od and od.cpu_per_pkt:
        a = median(od.cpu_per_pkt) * 1e6
        rows.append(("live, default options: CPU per packet", f"{a:.3f} µs", "< 0.177 µs (before issue 11)",
                     "met" if a < 0.177 else "MISSED"))
    if oi and pi and oi.cpu_per_pkt and pi.cpu_per_pkt:
        a, b = median(oi.cpu_per_pkt) * 1e6, median(pi.cpu_per_pkt) * 1e6
        rows.append(("live, `immediate=True`: CPU per packet", f"{a:.3f} µs vs pypcap {b:.3f} µs",
                     "< pypcap's", "met" if a < b else "MISSED"))
    fo = live.get("ours_fanout")
    if fo and fo.ok_runs:
        each = [r.get("each", []) for r in fo.ok_runs]
        once = all(r["received"] == r["sent"] and r["ps_drop"] == 0 and min(r.get("each") or [0]) > 0
                   for r in fo.ok_runs)
        rows.append(("fanout over 2 processes: every packet counted once",
                     "; ".join(f"{sum(e):,} of {r['sent']:,} ({' + '.join(f'{x:,}' for x in e)})"
                               for e, r in zip(each, fo.ok_runs)),
                     "all sent, none twice, both processes share", "met" if once else "MISSED"))
    for key, need in (("ours_burst", "fewer than 50% lost"), ("ours_burst_snaplen", "0 lost in every round")):
        b = live.get(key)
        if not (b and b.ok_runs):
            continue
        lost = [r["sent"] - r["received"] for r in b.ok_runs]
        frac = median(lost) / 2000
        ok = frac < 0.5 if key == "ours_burst" else max(lost) == 0
        rows.append((f"burst of 2,000 on lo, {'defaults' if key == 'ours_burst' else '`snaplen=256`'}: lost",
                     f"{fmt_list(lost)} ({100 * frac:.0f}% median)", need, "met" if ok else "MISSED"))
    return rows


def targets_table(rows):
    lines = ["| target | measured | required | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------

def machine(ours_info):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "python": ours_info["python"], "libpcap": ours_info["lib"],
            "ours": f"pcap {ours_info['version']} ({ours_info['file']}, run by {ours_info['interpreter']})"}


def source_state(so_path):
    """The commit of the repository, whether the module's sources differ
    from it, and when the module was built."""
    def git(*a):
        r = subprocess.run(["git", "-C", REPO] + list(a), capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "pcap.pyx", ":(glob)*.[ch]", ":(glob)*.pxd", ":(glob)*.pxi",
                "setup.py", "pyproject.toml")
    try:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(so_path)).strftime("%Y-%m-%d %H:%M:%S")
    except OSError:
        built = "?"
    return f"commit {commit}{' with uncommitted changes to the module' if dirty else ''}, built {built}"


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"] * 3


def escape_cell_pipes(markdown):
    """A '|' inside `code` in a table row ends the cell (on GitHub and in
    Sphinx alike): write it as '\\|' there."""
    def row(line):
        if not line.startswith("|"):
            return line
        parts = line.split("`")
        return "`".join(p.replace("|", "\\|") if i % 2 else p for i, p in enumerate(parts))
    return "\n".join(row(line) for line in markdown.split("\n"))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the benchmark of bench/README.md.")
    ap.add_argument("--packets", type=int, default=FULL_SMALL, help="packets in the small-packet file")
    ap.add_argument("--large-packets", type=int, default=None,
                    help="packets in the large-packet file (default: a fifth of --packets; 0: skip)")
    ap.add_argument("--rounds", type=int, default=FULL_ROUNDS, help="interleaved rounds")
    ap.add_argument("--only", default=",".join(IMPLS),
                    help=f"comma-separated modules to run besides the C baseline: {', '.join(IMPLS)}")
    ap.add_argument("--live-packets", type=int, default=LIVE_MAX,
                    help=f"datagrams sent per live capture (at most {LIVE_MAX}; 0: no live capture)")
    ap.add_argument("--no-live", action="store_true", help="skip the live capture on lo")
    ap.add_argument("--no-dask", action="store_true", help="skip the runs of examples/dask_flows.py")
    ap.add_argument("--work-dir", default=os.path.join(HERE, ".work"),
                    help="where the files, the C baseline and the peers' environments go")
    ap.add_argument("--ours-python", default=None, help="interpreter that imports our module "
                    "(default: a bare environment in the work folder, made like the peers', "
                    "that finds the module built in the repository)")
    ap.add_argument("--results", default=None,
                    help="write the report there (default: bench/RESULTS.md after a full run only)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed to one reader")
    ap.add_argument("--instructions", action="store_true",
                    help="instead of timing, count the instructions each reader executes per packet "
                         "under valgrind's callgrind (deterministic, for a noisy machine); "
                         "--packets defaults to 100,000 then")
    args = ap.parse_args(argv)
    if args.instructions and "--packets" not in " ".join(argv if argv is not None else sys.argv[1:]):
        args.packets = INSTR_PACKETS

    only = [x.strip() for x in args.only.split(",") if x.strip()]
    for x in only:
        if x not in IMPLS:
            ap.error(f"--only: unknown module {x!r} (known: {', '.join(IMPLS)})")
    if args.large_packets is None:
        args.large_packets = args.packets // 5
    if args.live_packets > LIVE_MAX:
        ap.error(f"--live-packets: at most {LIVE_MAX}")
    if args.packets <= 0 or args.rounds <= 0:
        ap.error("--packets and --rounds must be positive")
    live_wanted = not args.no_live and args.live_packets > 0
    full = (args.packets == FULL_SMALL and args.large_packets == FULL_LARGE and args.rounds >= FULL_ROUNDS
            and set(only) == set(IMPLS) and live_wanted and args.live_packets == LIVE_MAX)
    results_path = args.results or (RESULTS if full else None)

    work = os.path.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    started = time.time()
    load_start = loadavg()
    baseline = build_baseline(work)
    dev = dev_python()
    base = base_python(dev)
    venvs = os.path.join(work, "venvs")
    ours_info = None
    if args.ours_python:
        ours = args.ours_python
    else:
        os.makedirs(venvs, exist_ok=True)
        ours = ours_env(base, venvs)
        ours_info = check_ours(ours, fatal=False) if ours else None
        if ours_info is None:
            log(f"falling back to {dev} for our module")
            ours = dev
    ours_info = ours_info or check_ours(ours)
    ours_info["interpreter"] = ours
    so_mtime = os.path.getmtime(ours_info["file"]) if os.path.exists(ours_info["file"]) else None
    pythons = {"ours": ours}
    missing = {}
    versions = {}
    peers = [p for p in only if p != "ours"]
    if peers:
        os.makedirs(venvs, exist_ok=True)
        for name in peers:
            py, why = install_peer(name, base, venvs)
            if py is None:
                log(f"{name} could not be installed:\n{why}")
                missing[name] = why
            else:
                pythons[name] = py
                versions[name] = peer_version(py, name)
    not_selected = [p for p in PEERS if p not in only]

    files = {"small": gen.ensure("small", args.packets, work)}
    gzip_copy(files["small"][0])
    if args.large_packets > 0:
        files["large"] = gen.ensure("large", args.large_packets, work)
    for path, _ in files.values():            # into the page cache
        with open(path, "rb") as f:
            while f.read(1 << 22):
                pass

    def selected(rd):
        return rd.impl == "c" or rd.impl in pythons

    readers = [rd for rd in SMALL_READERS if selected(rd)]
    if "large" in files:
        readers += [rd for rd in LARGE_READERS if selected(rd)]
    if args.instructions:
        files["empty"] = gen.ensure("small", 0, work, quiet=True)
        print(instructions(readers, pythons, baseline, files, args.timeout * 50, missing))
        log(f"done in {time.time() - started:.0f} s")
        return 0
    live_configs = []
    live_note = None
    if live_wanted:
        if not can_capture():
            live_note = "skipped: capture on lo needs root or CAP_NET_RAW"
        else:
            live_configs = [c for c in LIVE_CONFIGS if c[2] in pythons]
    elif args.no_live or args.live_packets == 0:
        live_note = "skipped (--no-live)"

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
            res = measure_live(impl, immediate, pythons[impl], baseline, args.live_packets, args.timeout, opts)
            live_runs[key].append(res)
            log(f"  live {key}: " + (res["error"] if "error" in res else
                                     f"sent {res['sent']}, received {res['received']}, drops {res['ps_drop']}"))

    dask = None
    if not args.no_dask and "ours" in pythons:
        log("examples/dask_flows.py runs")
        dask = dask_runs(pythons["ours"], files["small"][0], work, 1, args.timeout * 10)

    sm = {}
    for rd in readers:
        sm[rd.id] = Summary(rd, runs[rd.id], files[rd.kind][1])
    live = {k: LiveSummary(v) for k, v in live_runs.items()}
    elapsed = time.time() - started
    load_end = loadavg()

    mach = machine(ours_info)
    small_meta = files["small"][1]
    out = []
    out.append(f"## Small packets: {small_meta['packets']:,} packets of {gen.SMALL[0]}-{gen.SMALL[1]} bytes "
               f"({small_meta['bytes']:,} bytes; {small_meta['filter_packets']:,} match `{gen.FILTER}`)\n")
    out.append(f"Packets/s are packets of the file over the time taken from opening it to the last packet; "
               f"{args.rounds} interleaved round(s).\n")
    out.append(file_table([rd for rd in SMALL_READERS if rd.rate], sm, "small:next_ex", "small:pypcap_iter",
                          missing))
    if "large" in files:
        lm = files["large"][1]
        out.append(f"\n## Large packets: {lm['packets']:,} packets of {gen.LARGE[0]}-{gen.LARGE[1]} bytes "
                   f"({lm['bytes']:,} bytes)\n")
        out.append(file_table(LARGE_READERS, sm, "large:next_ex", "large:pypcap_iter", missing))
    if dask is not None:
        out.append(f"\n## Dask: `examples/dask_flows.py` (bytes and packets per 5-tuple, top talkers)\n")
        out.append(dask_table(dask, small_meta["packets"]))
    out.append("\n## Memory: peak RSS of the process (VmHWM), small-packet file\n")
    out.append(memory_table(sm, missing))
    out.append(f"\n## Live capture on lo: {args.live_packets:,} UDP datagrams of {LIVE_PAYLOAD} bytes "
               f"(60-byte frames) from the C sender, as fast as it goes\n")
    if live_configs:
        out.append("Received: datagrams the capture loop got; kernel drops: `stats()[1]`; CPU: user + system "
                   "seconds of the capturing process from its first read to its report, over the datagrams "
                   "received.\n")
        out.append(live_table(live, missing))
    else:
        out.append(live_note or "skipped")
    out.append("\n## Targets (issue 5, raised by issue 9 to the figures before its change; issues 11 and 12)\n")
    out.append(targets_table(target_rows(sm, live, missing, bool(live_configs), small_meta["packets"])
                             + batch_and_savefile_rows(sm)))
    if missing or not_selected:
        out.append("\n## Peers not measured\n")
        for name, why in missing.items():
            out.append(f"- **{name}** could not be installed ({' '.join(PEERS[name]['pip'])}):\n\n"
                       + "\n".join("      " + l for l in why.splitlines()) + "\n")
        if not_selected:
            out.append(f"- not selected in this run (--only): {', '.join(not_selected)}")
    if so_mtime is not None and os.path.exists(ours_info["file"]) and os.path.getmtime(ours_info["file"]) != so_mtime:
        out.insert(0, f"**Warning: {ours_info['file']} was rebuilt during this run: its rows mix two builds.**\n")
        log("warning: our module was rebuilt during the run")
    table = "\n".join(out)
    print(table)

    ok = all(s.ok for s in sm.values() if s.reader.impl in ("c", "ours"))
    ok = ok and all(not s.errors for k, s in live.items() if k.startswith("ours"))
    raw = {"args": vars(args), "machine": mach, "versions": versions, "missing": missing,
           "runs": runs, "live": live_runs, "elapsed": elapsed, "load": [load_start, load_end]}
    with open(os.path.join(work, "last-run.json"), "w") as f:
        json.dump(raw, f, indent=1, default=str)
    if results_path:
        head = ["# Benchmark results", "",
                f"`bench/run.py{''.join(' ' + a for a in (argv if argv is not None else sys.argv[1:]))}` "
                f"(`make bench`), {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
                f"{elapsed / 60:.1f} minutes. Timings are only as quiet as the machine was: the load "
                f"average below tells how busy it was.", "",
                "| machine | |", "|---|---|",
                f"| CPU | {mach['cpu']} ({mach['cores']} cores) |",
                f"| kernel | Linux {mach['kernel']} |",
                f"| Python | {mach['python']} |",
                f"| libpcap | {mach['libpcap']} |",
                f"| ours | {mach['ours']}; {source_state(ours_info['file'])} |",
                f"| peers | {', '.join(f'{k} {v}' for k, v in versions.items()) or '–'} |",
                f"| load average (1, 5, 15 min) | {' '.join(load_start)} at the start, {' '.join(load_end)} at the end |",
                ""]
        with open(results_path, "w") as f:
            f.write(escape_cell_pipes("\n".join(head) + "\n" + table) + "\n")
        log(f"wrote {results_path}")
    elif not full:
        log("not a full run: bench/RESULTS.md left as it is")
    log(f"done in {elapsed:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
