"""A smoke run of the benchmark (bench/run.py): a tiny file, one round, our
module and the C baseline only, so that the bench keeps working.  It installs
no peer and leaves bench/RESULTS.md alone; the numbers it prints mean nothing.
"""
import hashlib
import subprocess
import sys
from pathlib import Path

from support import can_capture

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def test_generator_is_deterministic(tmp_path):
    digests = []
    for d in ("a", "b"):
        out = tmp_path / d
        subprocess.run([sys.executable, str(BENCH / "gen.py"), "--small", "300", "--large", "30",
                        "--dir", str(out)], check=True, capture_output=True, timeout=60)
        digests.append(sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()))
    assert len(digests[0]) == 4          # two savefiles and their facts
    assert digests[0] == digests[1]


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
    for row in ("C: `pcap_next_ex` loop", "C: `pcap_dispatch` + empty callback",
                "ours: `for ts, buf in p`", "ours: `dispatch(-1, cb)`", "ours: `loop(0, cb)`",
                "ours: `readpkts()`", "ours: `readpkts(1024)` until `[]`",
                "ours: `dispatch(-1)`, no callback", "ours: `setfilter("):
        lines = [l for l in out.splitlines() if l.startswith("| " + row)]
        assert lines, f"no row {row!r} in:\n{out}"
        assert all(" ok" in l or "| matches" in l for l in lines), lines
    assert "MISMATCH" not in out and "FAILED" not in out, out
    assert "## Large packets" in out and "## Memory" in out and "## Targets" in out
    if live:
        assert "| ours, default options | 1,000 |" in out, out
    # no peer was installed, the committed results were not touched
    assert not (tmp_path / "venvs").exists()
    assert (results.read_bytes() if results.exists() else None) == before
    assert "pypcap" not in {p.name for p in tmp_path.iterdir()}
