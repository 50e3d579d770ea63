"""Remote capture: rpcap:// through rpcapd (docs/remote-capture.md).

The module of the test run is built against the system's libpcap, which
(on Debian) has no remote capture: here its refusal is tested.  The
captures through rpcapd run in a subprocess, against a module built with
libpcap 1.10.6 configured for remote capture, with its rpcapd (both built
by tools/libpcap_matrix.py from ../shared/libpcap/, cached under build/):
test_through_rpcapd runs tests/remote_cases.py there, where
pcap.REMOTE_CAPTURE is true.  rpcapd listens on 127.0.0.1 and
captures lo; every capture is filtered on the test's own datagrams.
"""
import os
import shutil
import subprocess
import sys

import pytest

import pcap
from support import need

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import libpcap_matrix as matrix  # noqa: E402

VERSION = "1.10.6"


def build_remote_libpcap():
    """The prefix of libpcap 1.10.6 with remote capture (lib/, sbin/rpcapd)."""
    tarball = os.path.join(matrix.TARBALLS, f"libpcap-{VERSION}.tar.gz")
    need(os.path.exists(tarball), f"no {tarball} to build rpcapd and a remote-capable libpcap from")
    need(shutil.which("cmake") and shutil.which("flex") and shutil.which("bison"),
         "building libpcap needs cmake, flex and bison (make setup installs them)")
    return matrix.build_libpcap(VERSION, matrix.checksums()[os.path.basename(tarball)], remote=True)


# -- without remote capture ---------------------------------------------------------

@pytest.mark.skipif(pcap.REMOTE_CAPTURE, reason="this module's libpcap has remote capture")
def test_no_remote_capture_is_a_clear_error():
    for call in (lambda: pcap.pcap("rpcap://127.0.0.1:2002/lo"),
                 lambda: pcap.pcap("rpcap://127.0.0.1/eth0", auth=("user", "password")),
                 lambda: pcap.findalldevs("rpcap://127.0.0.1:2002/"),
                 lambda: pcap.interfaces("rpcap://127.0.0.1:2002/"),
                 lambda: pcap.remote_accept("127.0.0.1", 2003),
                 lambda: pcap.remote_close("127.0.0.1")):
        with pytest.raises(pcap.PcapError, match=r"remote capture is not available: this libpcap was built "
                           r"without remote capture .* --enable-remote .*\(linked: libpcap version"):
            call()


def test_arguments_are_checked_before_connecting():
    with pytest.raises(ValueError, match="auth is for remote capture"):
        pcap.pcap("lo", auth=("user", "password"))
    with pytest.raises(TypeError, match=r"auth must be a \(username, password\) pair"):
        pcap.pcap("rpcap://127.0.0.1:1/lo", auth="user")
    with pytest.raises(TypeError, match=r"auth must be a \(username, password\) pair of str, not \(str, int\)"):
        pcap.findalldevs("rpcap://127.0.0.1:1/", auth=("user", 1))
    with pytest.raises(ValueError, match="source must be an rpcap://host:port/ URL"):
        pcap.findalldevs("lo")
    with pytest.raises(pcap.PcapError, match="a handle over several sources cannot take a remote one"):
        pcap.pcap(["lo", "rpcap://127.0.0.1:1/lo"])
    with pytest.raises(ValueError, match="tstamp_type is for local capture"):
        pcap.pcap("rpcap://127.0.0.1:1/lo", tstamp_type="host")
    with pytest.raises(ValueError, match="protocol is for local capture"):
        pcap.pcap("rpcap://127.0.0.1:1/lo", protocol=0x0800)


# -- through rpcapd, in a subprocess against a module that has remote capture --------

@pytest.mark.skipif(pcap.REMOTE_CAPTURE, reason="this module has remote capture: the tests below run here")
def test_through_rpcapd():
    need(os.geteuid() == 0, "rpcapd captures lo (root), and a test makes a throwaway user (root)")
    prefix = build_remote_libpcap()
    out, env = matrix.build_module(f"{VERSION}-remote", prefix)
    # CI=true there: a test that cannot run fails instead of skipping.
    env = dict(env, PYTHONPATH=os.path.join(out, "lib"), PYTHONDONTWRITEBYTECODE="1", CI="true",
               PCAP_RPCAPD=os.path.join(prefix, "sbin", "rpcapd"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "--rootdir", ROOT,
                           os.path.join(ROOT, "tests", "remote_cases.py")], cwd=out, env=env, capture_output=True, text=True,
                          timeout=600)
    print(proc.stdout[-6000:], proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert " passed" in proc.stdout.splitlines()[-1]


