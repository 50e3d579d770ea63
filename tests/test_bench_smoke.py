"""A smoke run of the benchmark (bench/run.py): a tiny file, one round, our
module and the C baseline only, so that the bench keeps working.  It installs
no peer and leaves bench/RESULTS.md alone; the numbers it prints mean nothing.
"""
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import can_capture, need

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# The copies of the small file that bench/gen.py makes with editcap (Debian
# package wireshark-common); the others it writes itself.
EDITCAP_FORMATS = ["pcapng", "modpcap"]
OWN_FORMATS = ["ns", "be", "gz"]
# The pcapng copy with two interfaces of different link types: the same IPv4
# packets, not the same bytes, and facts (a .json) of its own.
TWO_INTERFACES = "pcapng2"
HAVE_EDITCAP = shutil.which("editcap") is not None
FORMATS = OWN_FORMATS + (EDITCAP_FORMATS if HAVE_EDITCAP else [])


def test_generator_is_deterministic(tmp_path):
    digests = []
    for d in ("a", "b"):
        out = tmp_path / d
        subprocess.run([sys.executable, str(BENCH / "gen.py"), "--small", "300", "--large", "30",
                        "--dir", str(out), "--formats", ",".join(FORMATS + [TWO_INTERFACES])],
                       check=True, capture_output=True, timeout=60)
        digests.append(sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()))
    # two savefiles, their facts, the copies, the two-interface copy and its facts
    assert len(digests[0]) == 4 + len(FORMATS) + 2
    assert digests[0] == digests[1]


def _gen():
    sys.path.insert(0, str(BENCH))
    try:
        import gen
    finally:
        sys.path.remove(str(BENCH))
    return gen


@pytest.mark.parametrize("fmt", OWN_FORMATS + EDITCAP_FORMATS)
def test_generator_copies_hold_the_same_packets(tmp_path, fmt):
    if fmt in EDITCAP_FORMATS and not HAVE_EDITCAP:
        pytest.skip("editcap is missing (apt-get install wireshark-common)")
    import pcap
    gen = _gen()
    classic, facts = gen.ensure("small", 300, str(tmp_path), quiet=True)
    copy, _ = gen.ensure_format("small", 300, fmt, str(tmp_path), quiet=True)
    with pcap.pcap(classic, timestamp_in_ns=True) as a, pcap.pcap(copy, timestamp_in_ns=True) as b:
        assert list(a) == list(b)
    assert facts["packets"] == 300


def test_generator_two_interfaces(tmp_path):
    """The two-interface pcapng copy: the classic file's packets alternating
    between an Ethernet interface and a raw IPv4 one (without the Ethernet
    header there), with the same time stamps, and facts that say so."""
    import pcap
    gen = _gen()
    classic, facts = gen.ensure("small", 301, str(tmp_path), quiet=True)
    copy, two = gen.ensure_format("small", 301, TWO_INTERFACES, str(tmp_path), quiet=True)
    with pcap.pcap(classic, timestamp_in_ns=True) as a, pcap.pcap(copy, timestamp_in_ns=True) as b:
        assert [(i.linktype, i.name) for i in b.interfaces] == [(pcap.DLT_EN10MB, "eth0"), (pcap.DLT_RAW, "tun0")]
        ids = []
        for k, ((ts_a, pkt_a), (ts_b, pkt_b)) in enumerate(zip(a, b, strict=True)):
            assert ts_a == ts_b
            assert pkt_b == (pkt_a if k % 2 == 0 else pkt_a[14:])
            ids.append(b.interface_id)
    assert ids == [k % 2 for k in range(301)]
    assert two["packets"] == 301 and two["interfaces"] == [151, 150]
    assert two["bytes"] == facts["bytes"] - 14 * 150
    assert two["filter_packets"] == facts["filter_packets"]
    p = pcap.pcap(copy)
    p.setfilter(gen.FILTER)
    assert sum(len(pkt) for ts, pkt in p) == two["filter_bytes"]


def test_bench_smoke_run(tmp_path):
    results = BENCH / "RESULTS.md"
    before = results.read_bytes() if results.exists() else None
    cmd = [sys.executable, str(BENCH / "run.py"), "--packets", "2000", "--rounds", "1",
           "--only", "ours", "--work-dir", str(tmp_path), "--ours-python", sys.executable,
           "--timeout", "60", "--no-dask"]
    live = can_capture()
    cmd += ["--live-packets", "1000"] if live else ["--no-live"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    rows = ["C: `pcap_next_ex` loop", "C: `pcap_dispatch` + empty callback",
            "ours: `for ts, buf in p`", "ours: `dispatch(-1, cb)`", "ours: `loop(0, cb)`",
            "ours: `readpkts()`", "ours: `readpkts(1024)` until `[]`",
            "ours: `dispatch(-1)`, no callback", "ours: `setfilter(",
            "ours: `for ts, buf in p`, the file through a pipe", "ours: `for ts, buf in pcap.pcap(open(",
            "ours: `savefile_ranges(file, 2)`", "ours: `async for ts, buf in p`",
            "C: `pcap_next_ex` loop, nanosecond pcap", "ours: `for ts, buf in p`, nanosecond pcap",
            "C: `pcap_next_ex` loop, big-endian pcap", "ours: `for ts, buf in p`, big-endian pcap",
            "ours: `for ts, buf in p` of the gzip-compressed file", "ours: `gunzip -c` to a file",
            "`zcat file.pcap.gz",
            "ours: `for ts, buf in p`, two interfaces", "ours: `dispatch(-1)`, no callback, two interfaces",
            "ours: `setfilter('udp dst port 5001')` + `dispatch(-1)`, two interfaces"]
    # (numpy and pyarrow: the smoke run's interpreter is the test's, which has them.)
    numpy_rows = ["ours: `next_batch(4096)` + numpy view, caplen summed, two interfaces",
                  "ours: `next_batch(4096, interfaces=True)` + numpy view, caplen summed, packets per interface, "
                  "two interfaces"]
    arrow_rows = ["ours: `p.to_arrow()`, two interfaces",
                  "ours: `arrow_batches(fields=[src, dst, protocol, src_port, dst_port, tcp_flags, community_id]",
                  "ours: the same without `community_id`"]
    if shutil.which("tshark"):
        rows += ["`tshark -T fields -e ip.src", "`tshark -T fields` of the same fields"]
    if HAVE_EDITCAP:
        rows += ["C: `pcap_next_ex` loop, pcapng", "ours: `for ts, buf in p`, pcapng",
                 "ours: `next_batch(1024)` until empty, `len(data)`, pcapng",
                 "ours: `dispatch(-1)`, no callback, pcapng",
                 "C: `pcap_next_ex` loop, BPF `udp dst port 5001`, pcapng",
                 "C: `pcap_next_ex` loop, modified pcap format", "ours: `for ts, buf in p`, modified pcap format"]
        numpy_rows += ["ours: `readinto(records, data)` + numpy view, pcapng",
                       "ours: `next_batch(4096, interfaces=True)` + numpy view, caplen summed, packets per "
                       "interface, pcapng"]
        arrow_rows += ["ours: `p.to_arrow()`, pcapng"]
    rows += numpy_rows + arrow_rows
    for row in rows:
        lines = [l for l in out.splitlines() if l.startswith("| " + row)]
        assert lines, f"no row {row!r} in:\n{out}"
        assert all(" ok" in l or "| matches" in l for l in lines), lines
    assert "MISMATCH" not in out and "FAILED" not in out, out
    assert "## Large packets" in out and "## Memory" in out and "## Targets" in out
    assert "## The same 2,000 packets in other formats" in out
    assert "## pcapng: the same 2,000 packets with one interface, and with two of different link types" in out
    for row in (r for r in numpy_rows + arrow_rows if "interfaces=True" in r or "to_arrow" in r):
        line = next(l for l in out.splitlines() if l.startswith("| " + row))
        assert "ok (and per interface)" in line, line
    targets = {l.split(" | ")[0]: l for l in out.splitlines() if l.startswith("| ")}
    if HAVE_EDITCAP:       # measured (met or not: the numbers of a smoke run mean nothing)
        for name in ("| pcapng iteration", "| pcapng iteration vs classic pcap",
                     "| pcapng, two interfaces: iteration vs classic pcap",
                     "| pcapng: `next_batch(interfaces=True)` + numpy view",
                     "| pcapng, two interfaces: `next_batch(interfaces=True)` + numpy view",
                     "| pcapng, two interfaces: BPF-filtered count (a program per link type)"):
            assert "| n/a |" not in targets[name], targets[name]
    assert "| n/a |" not in targets["| gzip-compressed file vs gunzip to a file, then read"]
    # The writers (issue 21): every output read back whole.
    writer_rows = ["C: `pcap_dump` of each packet, classic pcap, from memory",
                   "C: `pcap_loop(p, -1, pcap_dump, d)`, classic pcap, copy",
                   "ours: `d.write(ts, buf)` of each packet, pcapng, from memory",
                   "ours: `d.write(ts, buf)` of each packet, classic pcap, from memory",
                   "ours: `d.write_batch(records, data)` of `next_batch(4096)`'s batches, pcapng",
                   "ours: `d.write_table(table)`", "ours: `d.write(ts, buf)` of each packet to a `.pcapng.gz` path",
                   "ours: `p.dispatch(-1, d)`, pcapng, copy", "ours: `p.loop(0, d)`, pcapng, copy",
                   "ours: `for ts, buf in p: d.write(ts, buf)`, pcapng, copy",
                   "ours: `next_batch(4096)` + `d.write_batch(records, data)`, pcapng, copy",
                   "ours: `readinto(records, data)` + `d.write_batch(..., count=k)`",
                   "ours: `p.dispatch(-1, d)`, classic pcap, copy"]
    assert "## Writing the same 2,000 packets: pcapng and classic pcap" in out
    for row in writer_rows:
        lines = [l for l in out.splitlines() if l.startswith("| " + row)]
        assert lines and all(l.endswith("| ok |") for l in lines), (row, lines)
    for name in ("write pcapng: `d.write(ts, buf)` per packet vs libpcap's `pcap_dump`",
                 "write pcapng: `dispatch(-1, d)` vs libpcap's `pcap_dump`", "write pcapng: whole batches vs per packet"):
        assert "| n/a |" not in targets["| " + name], targets["| " + name]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out-")], "a writer's output was left"
    if live:
        assert "| ours, default options | 1,000 |" in out, out
        # two veth interfaces into one handle: skipped while pcap.pcap takes no list, else all received
        assert "## Two interfaces into one handle" in out, out
        two = out.split("## Two interfaces into one handle")[1].split("\n## ")[0]
        assert "skipped: pcap.pcap() takes no list" in two or "| 1 | 2,000 (1,000 + 1,000) |" in two, two
    # no peer was installed, the committed results were not touched
    assert not (tmp_path / "venvs").exists()
    assert (results.read_bytes() if results.exists() else None) == before
    assert "pypcap" not in {p.name for p in tmp_path.iterdir()}


def test_bench_dask_rounds_follow_the_readers_rounds(tmp_path):
    """The Dask variants run one round after each round of the readers (so
    that a slow stretch of the machine does not take all their rounds), as
    many rounds as --rounds, and the table has every variant's walls."""
    for package in ("numpy", "pyarrow", "dask", "distributed"):
        need(importlib.util.find_spec(package) is not None, f"{package} is not installed (the test extra has it)")
    cmd = [sys.executable, str(BENCH / "run.py"), "--packets", "2000", "--rounds", "2", "--only", "ours",
           "--work-dir", str(tmp_path), "--ours-python", sys.executable, "--timeout", "60", "--no-live",
           "--large-packets", "0", "--readers", "small.pcap:ours_iter"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    steps = [line for line in r.stderr.splitlines() if re.match(r"(round \d/2|examples/dask_flows.py, round \d/2)", line)]
    assert [s.split(":")[0] for s in steps] == ["round 1/2", "examples/dask_flows.py, round 1/2",
                                               "round 2/2", "examples/dask_flows.py, round 2/2"], r.stderr
    rows = [line for line in r.stdout.splitlines() if re.match(r"\| (16 files|1 file)", line)]
    assert len(rows) == 5, r.stdout
    for row in rows:
        walls = re.search(r"\| [\d.]+ \(([\d.]+), ([\d.]+)\) \|", row)
        assert walls and row.endswith("| yes |"), row
