#!/usr/bin/env python3
"""Replay onto a veth pair: pcap.replay() beside tcpreplay (issue 24).

    python bench/replay.py [--packets N] [--rounds R] [--work-dir DIR]

(root: it makes a veth pair whose far end is in a network namespace of its
own, and deletes both at exit.)  Input: the first packets of the bench's
small file (gen.py: 60-100 byte Ethernet/IPv4/UDP frames, 1 to 50 us
apart, 25.5 us on average).  Every run sends out of the root end, in a
fresh process, and tcpdump captures on the far end, inside the namespace,
with nanosecond time stamps (the kernel's, as each frame arrives); so both
replayers are measured by the same third party.

  top speed   --packets frames (default 100,000) as fast as each goes
              (pcap.replay(..., topspeed=True); tcpreplay --topspeed):
              frames sent per second by the replayer's own count and clock,
              and the frames the far end received.
  pacing      the first 20,000 frames at the file's pace (speed 1: the
              gaps of 1-50 us), and the first 2,000 at a 40th of it
              (tcpreplay --multiplier 0.025: gaps of 40 us to 2 ms): the
              error of each gap between two frames received, against the
              file's gap divided by the speed, |received - file|: median,
              99th percentile and largest; and the length of the whole
              replay on the far end against the file's.

Rounds are interleaved (each round runs every row once, in order); the
table gives the median over rounds of each figure.  ``ours, no spin`` is
pcap.replay() with the spin at the end of each wait turned off
(pcap._replay_spin_ns = 0): it says what the spin buys.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402

NS, ROOT_IF, FAR_IF = "pcbenchR", "pcbenchR0", "pcbenchR1"

OURS = r"""
import json, sys, pcap
path, dev, mode, value, spin = sys.argv[1:6]
if spin == "0":
    pcap._replay_spin_ns = 0
kw = {"topspeed": True} if mode == "top" else {"speed": float(value)}
r = pcap.replay(path, dev, **kw)
print(json.dumps({"packets": r.packets, "seconds": r.seconds, "failures": r.failures, "retries": r.retries}))
"""


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def make_veth():
    teardown()
    sh("ip", "netns", "add", NS)
    sh("ip", "link", "add", ROOT_IF, "type", "veth", "peer", "name", FAR_IF)
    sh("ip", "link", "set", FAR_IF, "netns", NS)
    for d in (f"/proc/sys/net/ipv6/conf/{ROOT_IF}/disable_ipv6",):
        if os.path.exists(d):
            with open(d, "w") as f:
                f.write("1")
    sh("ip", "link", "set", ROOT_IF, "up")
    sh("ip", "-n", NS, "link", "set", FAR_IF, "up")
    sh("ip", "netns", "exec", NS, "sysctl", "-qw", f"net.ipv6.conf.{FAR_IF}.disable_ipv6=1")
    deadline = time.monotonic() + 5
    while open(f"/sys/class/net/{ROOT_IF}/operstate").read().strip() != "up":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{ROOT_IF} did not come up")
        time.sleep(0.02)


def teardown():
    subprocess.run(["ip", "link", "del", ROOT_IF], capture_output=True)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def slice_of(src, n, out):
    """The first n packets of the classic pcap file src, into out."""
    import pcap
    p = pcap.pcap(src)
    with p.dump_open(out) as d:
        p.loop(n, d)
    return out


def file_packets(path):
    """(ns time stamps, frames) of a savefile."""
    import pcap
    stamps, frames = [], []
    for ts, buf in pcap.pcap(path, timestamp_in_ns=True):
        stamps.append(ts)
        frames.append(bytes(buf))
    return stamps, frames


def rx_packets():
    """Frames the far end's interface received so far (its kernel counter)."""
    r = sh("ip", "netns", "exec", NS, "cat", f"/sys/class/net/{FAR_IF}/statistics/rx_packets")
    return int(r.stdout)


class FarEnd:
    """tcpdump on the far end, inside the namespace, nanosecond stamps."""

    def __init__(self, out):
        self.out = out
        self.proc = subprocess.Popen(["ip", "netns", "exec", NS, "tcpdump", "-i", FAR_IF, "-n", "-U", "--immediate-mode", "-B", "16384",
                                      "--time-stamp-precision=nano", "-w", out, "udp"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if "listening" not in line:
            raise RuntimeError(f"tcpdump: {line}{self.proc.stderr.read()}")

    def stop(self):
        time.sleep(0.5)         # the last frames reach it
        self.proc.send_signal(signal.SIGINT)
        err = self.proc.communicate(timeout=20)[1]
        m = re.search(r"(\d+) packets? dropped by kernel", err)
        return file_packets(self.out), int(m.group(1)) if m else None


def run_ours(python, path, mode, value, spin=True):
    r = subprocess.run([python, "-c", OURS, path, ROOT_IF, mode, str(value), "1" if spin else "0"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"pcap.replay: {r.stderr}")
    out = json.loads(r.stdout)
    return out["packets"], out["seconds"], out["failures"]


def run_tcpreplay(path, mode, value):
    args = ["tcpreplay", "-i", ROOT_IF, "-q"]
    args += ["--topspeed"] if mode == "top" else ([] if value == 1 else [f"--multiplier={value}"])
    r = subprocess.run(args + [path], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"tcpreplay: {r.stdout}{r.stderr}")
    m = re.search(r"Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds", r.stdout)
    failed = re.search(r"Failed packets:\s+(\d+)", r.stdout)
    return int(m.group(1)), float(m.group(3)), int(failed.group(1)) if failed else 0


ROWS = [("ours", "pcap.replay()"), ("ours-nospin", "ours, no spin"), ("tcpreplay", "tcpreplay")]


def tcpreplay_label():
    """"tcpreplay 4.4.3": the name and version of the one installed."""
    r = subprocess.run(["tcpreplay", "--version"], capture_output=True, text=True)
    m = re.search(r"tcpreplay version: (\S+)", r.stdout + r.stderr)
    return f"tcpreplay {m.group(1)}" if m else "tcpreplay"


def one(kind, python, path, mode, value, work):
    # (At top speed only the far end's counter: a capture there would take
    # the CPU the replayers need, and drops most of the frames.)
    far = FarEnd(os.path.join(work, "far.pcap")) if mode != "top" else None
    rx = rx_packets()
    try:
        if kind == "tcpreplay":
            sent, seconds, failed = run_tcpreplay(path, mode, value)
        else:
            sent, seconds, failed = run_ours(python, path, mode, value, spin=kind == "ours")
    finally:
        time.sleep(0.2)
        rx = rx_packets() - rx
        got, dropped = far.stop() if far is not None else (None, None)
    return {"sent": sent, "seconds": seconds, "failed": failed, "received": rx, "captured": got,
            "dropped": dropped}


def pacing_errors(got, want, speed):
    """|received gap - file gap / speed| in microseconds, of each two frames
    that follow each other in the file and were both captured on the far
    end (frames are told by their bytes), and the error of the whole
    replay's length on the far end in %."""
    index = {f: i for i, f in enumerate(want[1])}
    at = {}
    for ts, f in zip(*got):
        if f in index:
            at[index[f]] = ts
    stamps = want[0]
    errs = sorted(abs((at[i + 1] - at[i]) - (stamps[i + 1] - stamps[i]) / speed) / 1e3
                  for i in at if i + 1 in at)
    first, last = min(at), max(at)
    whole = (at[last] - at[first]) / ((stamps[last] - stamps[first]) / speed) - 1
    return errs, whole * 100


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=100_000, help="frames of the top-speed runs (default 100,000)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work-dir", default=os.path.join(HERE, ".work"))
    ap.add_argument("--python", default=sys.executable, help="the interpreter that imports our module")
    ap.add_argument("--only", default="ours,ours-nospin,tcpreplay")
    args = ap.parse_args(argv)
    why = missing_tools()
    if why:
        print(f"bench/replay.py: {why}", file=sys.stderr)
        return 2
    print(measure_rows(args.python, args.packets, args.rounds, args.work_dir, args.only.split(",")))
    return 0


def missing_tools():
    """Why the replay rows cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (a veth pair in a network namespace)"
    for tool in ("tcpreplay", "tcpdump", "ip"):
        if not shutil.which(tool):
            return f"{tool} is missing (apt-get install tcpreplay tcpdump iproute2)"
    return None


def measure_rows(python, packets, rounds, work_dir, only=("ours", "ours-nospin", "tcpreplay")):
    """The replay section of the report (Markdown), measured now."""
    os.makedirs(work_dir, exist_ok=True)
    small = gen.ensure("small", max(packets, 20_000), work_dir, quiet=True)[0]
    work = tempfile.mkdtemp(prefix="replay-", dir=work_dir)
    top = slice_of(small, packets, os.path.join(work, "top.pcap"))
    fast = slice_of(small, 20_000, os.path.join(work, "pace20k.pcap"))
    slow = slice_of(small, 2_000, os.path.join(work, "pace2k.pcap"))
    cases = [("top", top, "top", 0), ("pace-1", fast, "speed", 1), ("pace-0.025", slow, "speed", 0.025)]
    kinds = [k for k, _ in ROWS if k in only]
    results = {(c[0], k): [] for c in cases for k in kinds}
    make_veth()
    try:
        for rnd in range(rounds):
            for name, path, mode, value in cases:
                for kind in kinds:
                    res = one(kind, python, path, mode, value, work)
                    if mode != "top":
                        res["errors"], res["whole"] = pacing_errors(res["captured"], file_packets(path), value)
                        res["pairs"] = len(res["errors"])
                    del res["captured"]
                    results[(name, kind)].append(res)
                    print(f"replay: round {rnd + 1} {name} {kind}: sent {res['sent']} in {res['seconds']:.3f} s, "
                          f"received {res['received']}", file=sys.stderr, flush=True)
    finally:
        teardown()
        shutil.rmtree(work, ignore_errors=True)
    return table(results, kinds, packets)


def med(rows, f):
    return statistics.median(f(r) for r in rows)


def table(results, kinds, n):
    label = dict(ROWS, tcpreplay=tcpreplay_label())
    out = [f"## Replay onto a veth pair (issue 24)\n",
           f"Top speed: the first {n:,} frames of the small file, as fast as each replayer goes.\n",
           "| replayer | frames/s sent | seconds | received by the far end's interface | failed |",
           "|---|---|---|---|---|"]
    for k in kinds:
        rows = results[("top", k)]
        out.append(f"| {label[k]} | {med(rows, lambda r: r['sent'] / r['seconds']):,.0f} | "
                   f"{med(rows, lambda r: r['seconds']):.3f} | {med(rows, lambda r: r['received']):,.0f} | "
                   f"{med(rows, lambda r: r['failed']):,.0f} |")
    for case, what in (("pace-1", "the first 20,000 frames at the file's pace (gaps of 1-50 us)"),
                       ("pace-0.025", "the first 2,000 frames at a 40th of it (gaps of 40 us to 2 ms)")):
        out += ["", f"Pacing: {what}; |received gap - file gap| on the far end, in microseconds.\n",
                "| replayer | median | p99 | largest | whole replay vs the file's | gaps measured |",
                "|---|---|---|---|---|---|"]
        for k in kinds:
            rows = results[(case, k)]
            out.append(f"| {label[k]} | {med(rows, lambda r: statistics.median(r['errors'])):.1f} | "
                       f"{med(rows, lambda r: r['errors'][int(0.99 * (len(r['errors']) - 1))]):.1f} | "
                       f"{med(rows, lambda r: r['errors'][-1]):.0f} | "
                       f"{med(rows, lambda r: r['whole']):+.2f}% | {med(rows, lambda r: r['pairs']):,.0f} |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
