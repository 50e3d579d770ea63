"""What users install: the self-contained wheel on a machine without
libpcap, the sdist, and the editable development environment's stubs."""
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from support import can_capture, need, run_unprivileged

ROOT = Path(__file__).resolve().parent.parent
TARBALL = ROOT.parent / "shared" / "libpcap" / "libpcap-1.10.6.tar.gz"
# Tests that need neither the system libpcap nor a C compiler, and one live capture.
PORTABLE_TESTS = ["test_savefile.py", "test_pipes.py", "test_dumper.py", "test_errors.py",
                  "test_readbatch.py", "test_live.py::test_lo_udp_iteration", "remote_cases.py"]
# Left out there: tcpdump needs the hidden libpcap, and user 65534 cannot
# enter the temporary venv.
# and the comparison with the system libpcap's pcap_dump() (through ctypes).
DESELECT = "not tcpdump and not unprivileged and not unreadable and not byte_for_byte"


def fresh_venv(where, *packages):
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True, timeout=900)
    return python


def system_libpcaps():
    """The files of the system's libpcap shared library (not its symlinks)."""
    found = set()
    for pattern in ("/usr/lib/*/libpcap.so*", "/usr/lib/libpcap.so*", "/lib/*/libpcap.so*", "/usr/lib64/libpcap.so*"):
        found |= {os.path.realpath(p) for p in glob.glob(pattern)}
    return sorted(p for p in found if os.path.isfile(p) and ".so" in p)


def test_wheel_runs_where_no_libpcap_is_installed(tmp_path):
    need(TARBALL.exists(), f"no {TARBALL} to build the wheel's libpcap from")
    need(os.geteuid() == 0 and shutil.which("unshare"), "hiding the system libpcap needs root and unshare")
    need(can_capture(), "the live part needs root or CAP_NET_RAW")
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "build_wheel.py"), str(tmp_path / "dist")],
                         check=True, capture_output=True, text=True, timeout=1200).stdout
    wheel = Path(out.strip().splitlines()[-1])
    assert "manylinux" in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    assert any(n.startswith("pcap-stubs/") for n in names), names
    assert any(n.endswith("LICENSE.libpcap") for n in names), names
    python = fresh_venv(tmp_path / "venv", str(wheel), "pytest", "dpkt")
    so = subprocess.run([str(python), "-c", "import pcap; print(pcap.__file__)"], check=True,
                        capture_output=True, text=True, cwd=tmp_path).stdout.strip()
    needed = subprocess.run(["readelf", "-d", so], check=True, capture_output=True, text=True).stdout
    assert "libpcap" not in needed, needed
    hidden = system_libpcaps()
    script = textwrap.dedent(f"""
        set -e
        for f in {' '.join(hidden)}; do mount --bind /dev/null "$f"; done
        {python} -c 'import ctypes
        try:
            ctypes.CDLL("libpcap.so.0.8")
        except OSError:
            print("system libpcap hidden")
        else:
            raise SystemExit("the system libpcap is still there")
        import pcap; print(pcap.lib_version()); print("remote capture:", pcap.REMOTE_CAPTURE)'
        exec {python} -m pytest -q -p no:cacheprovider --rootdir {ROOT} -k "{DESELECT}" {' '.join(str(ROOT / 'tests' / t) for t in PORTABLE_TESTS)}
    """)
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "system libpcap hidden\nlibpcap version 1.10.6" in proc.stdout, proc.stdout[:2000]
    assert "\nremote capture: True\n" in proc.stdout, proc.stdout[:2000]     # (remote_cases.py ran through rpcapd)
    assert " passed" in proc.stdout.splitlines()[-1]


def test_sdist_builds_installs_and_its_tests_pass(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=900)
    sdist = next(tmp_path.glob("pcap-*.tar.gz"))
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
        tf.extractall(tmp_path / "src", filter="data")
    for needed in ("LICENSE", "tests/conftest.py", "tests/ref_reader.c", "examples/sample.pcap",
                   "tools/gen_dlt.py", "dlt_names.h", "pcap_stream.c", "pcap.pyi", "Makefile"):
        assert needed in names, f"the sdist lacks {needed}"
    assert not any(n.endswith(".so") or "/__pycache__/" in n for n in names)
    python = fresh_venv(tmp_path / "venv", str(sdist), "pytest", "dpkt")
    src = next((tmp_path / "src").iterdir())
    proc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(src),
                           "-k", DESELECT,
                           *(str(src / "tests" / t) for t in ("test_savefile.py", "test_errors.py", "test_module.py"))],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    where = subprocess.run([str(python), "-c", "import pcap; print(pcap.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert str(tmp_path / "venv") in where


def test_the_development_venv_type_checks_from_outside_the_repository(tmp_path):
    """mypy, run with the interpreter of the editable .venv from another
    directory, finds the stubs: pcap.pcap is a class, not Any."""
    pytest.importorskip("mypy")
    (tmp_path / "use.py").write_text("import pcap\nreveal_type(pcap.pcap)\nreveal_type(pcap.lookupnet)\n")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "use.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert "Revealed type is \"def" in proc.stdout or "Revealed type is \"Overload" in proc.stdout, proc.stdout
    assert "Any" not in proc.stdout.split("use.py:2")[1].splitlines()[0], proc.stdout
    assert "missing library stubs" not in proc.stdout and "Cannot find implementation" not in proc.stdout, proc.stdout


def test_readme_capability_venv_lets_an_unprivileged_user_capture(tmp_path):
    """The README's recipe for capturing without root, run as written (with
    a temporary directory for /opt/pcap-capture): a venv with a copied
    interpreter, the module installed from this checkout, the capabilities
    on that copy; user 65534 then captures on lo with it, and not with the
    python3 beside it."""
    need(os.geteuid() == 0, "setcap and setpriv need root")
    need(shutil.which("setcap") and shutil.which("setpriv"), "setcap or setpriv missing")
    readme = (ROOT / "README.md").read_text()
    start = readme.index("python3 -m venv --copies /opt/pcap-capture")
    block = readme[start:readme.index("```", start)].strip().splitlines()
    assert len(block) == 4 and block[2].startswith("setcap "), block
    prefix = Path("/tmp") / f"pcap-capture-{os.getpid()}"      # user 65534 cannot enter tmp_path
    try:
        script = "set -e\n" + "\n".join(block).replace("/opt/pcap-capture", str(prefix))
        proc = subprocess.run(["sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "cap_net_admin,cap_net_raw=eip" in proc.stdout, proc.stdout
        code = textwrap.dedent("""
            import os, socket, pcap
            assert os.geteuid() == 65534
            with pcap.pcap("lo", timeout_ms=2000) as p:
                p.setfilter("udp dst port 50977 and udp[8:4] = 0x6361702d")
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(b"cap-venv", ("127.0.0.1", 50977))
                print([buf[42:] for ts, buf in p.readpkts()])
        """)
        capture = run_unprivileged([prefix / "bin" / "python", "-c", code], timeout=60)
        assert capture.returncode == 0, capture.stderr[-2000:]
        assert capture.stdout.strip() == "[b'cap-venv']", capture.stdout
        other = run_unprivileged([prefix / "bin" / "python3", "-c", code], timeout=60)
        assert other.returncode != 0 and "PcapPermissionError" in other.stderr, other.stderr[-2000:]
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
