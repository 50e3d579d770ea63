"""setup.py's failures: each says in one line what is wrong and what to do,
before anything is compiled.  Each case simulates one missing piece."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import need

ROOT = Path(__file__).resolve().parent.parent


def build(tmp_path, **env):
    full = dict(os.environ, **env)
    for name, value in env.items():
        if value is None:
            del full[name]
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--build-temp", str(tmp_path / "t"),
                           "--build-lib", str(tmp_path / "l")], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=300)
    lines = [l for l in (proc.stdout + proc.stderr).splitlines() if l.startswith("pcap build: ")]
    return proc.returncode, lines, time.monotonic() - t0


@pytest.fixture
def cc():
    path = shutil.which("cc")
    need(path is not None, "no C compiler to build the fake libraries with")
    return path


def expect_failure(tmp_path, cause, fix, **env):
    rc, lines, elapsed = build(tmp_path, **{"PCAP_CFLAGS": None, "PCAP_LIBS": None, **env})
    assert rc != 0
    assert len(lines) == 1, lines
    assert cause in lines[0] and fix in lines[0], lines[0]
    assert not (tmp_path / "l").exists(), "it went on to compile"
    assert elapsed < 60


def test_no_cython(tmp_path):
    fake = tmp_path / "fake" / "Cython"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('simulated: no Cython here')\n")
    expect_failure(tmp_path, "Cython 3 is not installed", "pip install 'Cython>=3'", PYTHONPATH=str(fake.parent))


def test_no_c_compiler(tmp_path):
    expect_failure(tmp_path, "no C compiler (/nonexistent/cc) found", "apt-get install gcc", CC="/nonexistent/cc")


def test_no_pkg_config(tmp_path):
    expect_failure(tmp_path, "pkg-config is not installed and there is no pcap-config",
                   "apt-get install pkg-config", PKG_CONFIG="/nonexistent/pkg-config",
                   PCAP_CONFIG="/nonexistent/pcap-config")


def test_libpcap_not_found(tmp_path):
    need(shutil.which("pkg-config") is not None, "pkg-config is not installed")
    expect_failure(tmp_path, "neither pkg-config nor pcap-config finds libpcap", "apt-get install libpcap-dev",
                   PKG_CONFIG_LIBDIR="/nonexistent", PCAP_CONFIG="/nonexistent/pcap-config")


def test_header_does_not_compile(tmp_path, cc):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pcap.h").write_text("#error this pcap.h is broken\n")
    expect_failure(tmp_path, "<pcap.h> does not compile with the flags from PCAP_CFLAGS/PCAP_LIBS",
                   "correct PCAP_CFLAGS", PCAP_CFLAGS=f"-I{broken}")


def test_library_does_not_link(tmp_path, cc):
    expect_failure(tmp_path, "cannot link with libpcap using -L/nonexistent -lnosuchpcap",
                   "correct PCAP_LIBS", PCAP_CFLAGS="", PCAP_LIBS="-L/nonexistent -lnosuchpcap")


def test_libpcap_too_old(tmp_path, cc):
    lib = tmp_path / "old"
    lib.mkdir()
    (lib / "old.c").write_text('const char *pcap_lib_version(void) { return "libpcap version 1.7.4"; }\n')
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib / "libpcap.so"), str(lib / "old.c")], check=True)
    expect_failure(tmp_path, "libpcap 1.7.4 (from PCAP_CFLAGS/PCAP_LIBS) is older than 1.8.1",
                   "install libpcap 1.8.1 or newer", PCAP_CFLAGS="",
                   PCAP_LIBS=f"-L{lib} -Wl,-rpath,{lib} -lpcap")
