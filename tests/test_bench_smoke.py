"""A smoke run of the benchmark (bench/run.py): a tiny file, one round, our
module and the C baseline only, so that the bench keeps working.  It installs
no peer and leaves bench/RESULTS.md alone; the numbers it prints mean nothing.
"""
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import can_capture

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# The copies of the small file that bench/gen.py makes with editcap (Debian
# package wireshark-common); the others it writes itself.
EDITCAP_FORMATS = ["pcapng", "modpcap"]
OWN_FORMATS = ["ns", "be", "gz"]
HAVE_EDITCAP = shutil.which("editcap") is not None
FORMATS = OWN_FORMATS + (EDITCAP_FORMATS if HAVE_EDITCAP else [])


def test_generator_is_deterministic(tmp_path):
    digests = []
    for d in ("a", "b"):
        out = tmp_path / d
        subprocess.run([sys.executable, str(BENCH / "gen.py"), "--small", "300", "--large", "30",
                        "--dir", str(out), "--formats", ",".join(FORMATS)],
                       check=True, capture_output=True, timeout=60)
        digests.append(sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()))
    assert len(digests[0]) == 4 + len(FORMATS)   # two savefiles, their facts, the copies
    assert digests[0] == digests[1]


@pytest.mark.parametrize("fmt", OWN_FORMATS + EDITCAP_FORMATS)
def test_generator_copies_hold_the_same_packets(tmp_path, fmt):
    if fmt in EDITCAP_FORMATS and not HAVE_EDITCAP:
        pytest.skip("editcap is missing (apt-get install wireshark-common)")
    import pcap
    sys.path.insert(0, str(BENCH))
    try:
        import gen
    finally:
        sys.path.remove(str(BENCH))
    classic, facts = gen.ensure("small", 300, str(tmp_path), quiet=True)
    copy, _ = gen.ensure_format("small", 300, fmt, str(tmp_path), quiet=True)
    with pcap.pcap(classic, timestamp_in_ns=True) as a, pcap.pcap(copy, timestamp_in_ns=True) as b:
        assert list(a) == list(b)
    assert facts["packets"] == 300


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
            "`zcat file.pcap.gz"]
    if HAVE_EDITCAP:
        rows += ["C: `pcap_next_ex` loop, pcapng", "ours: `for ts, buf in p`, pcapng",
                 "ours: `next_batch(1024)` until empty, `len(data)`, pcapng",
                 "ours: `readinto(records, data)` + numpy view, pcapng",
                 "C: `pcap_next_ex` loop, modified pcap format", "ours: `for ts, buf in p`, modified pcap format"]
    for row in rows:
        lines = [l for l in out.splitlines() if l.startswith("| " + row)]
        assert lines, f"no row {row!r} in:\n{out}"
        assert all(" ok" in l or "| matches" in l for l in lines), lines
    assert "MISMATCH" not in out and "FAILED" not in out, out
    assert "## Large packets" in out and "## Memory" in out and "## Targets" in out
    assert "## The same 2,000 packets in other formats" in out
    targets = {l.split(" | ")[0]: l for l in out.splitlines() if l.startswith("| ")}
    if HAVE_EDITCAP:       # measured (met or not: the numbers of a smoke run mean nothing)
        assert "| n/a |" not in targets["| pcapng iteration"], targets["| pcapng iteration"]
    assert "| n/a |" not in targets["| gzip-compressed file vs gunzip to a file, then read"]
    if live:
        assert "| ours, default options | 1,000 |" in out, out
    # no peer was installed, the committed results were not touched
    assert not (tmp_path / "venvs").exists()
    assert (results.read_bytes() if results.exists() else None) == before
    assert "pypcap" not in {p.name for p in tmp_path.iterdir()}
