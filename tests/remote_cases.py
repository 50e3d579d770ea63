"""The remote-capture tests that run through rpcapd (docs/remote-capture.md),
against a module built with libpcap 1.10.6 configured for remote capture:
tests/test_remote.py's test_through_rpcapd builds that module and rpcapd
(tools/libpcap_matrix.py, from ../shared/libpcap/, cached under build/) and
runs this file with it, under CI=true.  It is not collected by itself (not
test_*.py): the module of the test run, linked with the system's libpcap,
has no remote capture.  rpcapd listens on 127.0.0.1 and captures lo; every
capture is filtered on the test's own datagrams.
"""
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import pcap
from support import Later, free_port, need, send_udp

from test_remote import build_remote_libpcap  # (a name, not a test, of test_remote)

if not pcap.REMOTE_CAPTURE:
    raise RuntimeError("remote_cases.py runs against a module with remote capture (see test_remote.py)")


# -- the tests that run there --------------------------------------------------------

class Rpcapd:
    """rpcapd on 127.0.0.1, on a free port, until stop()."""

    def __init__(self, *options):
        path = os.environ.get("PCAP_RPCAPD") or os.path.join(build_remote_libpcap(), "sbin", "rpcapd")
        assert os.path.exists(path), f"no {path}: libpcap's build left rpcapd out (crypt() missing: libcrypt-dev?)"
        self.port = listening_port()
        # In a session of its own: rpcapd ends by SIGKILL to its whole process group.
        self.proc = subprocess.Popen([path, "-b", "127.0.0.1", "-p", str(self.port), "-4", *options],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while True:     # until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            assert self.proc.poll() is None, self.proc.stdout.read()
            assert time.monotonic() < deadline, "rpcapd does not listen"
            time.sleep(0.05)
        self.url = f"rpcap://127.0.0.1:{self.port}/"

    def stop(self):
        # (SIGTERM: it kills its group, the sessions' processes with it.)
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def listening_port():
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def rpcapd():
    need(os.geteuid() == 0, "rpcapd captures lo: root")
    d = Rpcapd("-n")          # null authentication allowed (password authentication too)
    yield d
    d.stop()
    assert d.proc.returncode is not None


def open_remote(rpcapd, port, **kw):
    p = pcap.pcap(rpcapd.url + "lo", **kw)
    p.setfilter(f"udp and dst host 127.0.0.1 and dst port {port}")
    return p


def collect(p, n, seconds=5):
    got = []
    deadline = time.monotonic() + seconds
    while len(got) < n and time.monotonic() < deadline:
        got += p.readpkts()
    return got


def paced_sender(port, payloads, delay=0.3, gap=0.005):
    """Send the payloads from a thread after ``delay``, ``gap`` apart
    (bounded: the test's own datagrams only)."""
    def run():
        time.sleep(delay)
        for data in payloads:
            send_udp(port, [data])
            time.sleep(gap)
    t = threading.Thread(target=run)
    t.start()
    return t


def test_findalldevs_of_the_remote_host(rpcapd):
    names = pcap.findalldevs(rpcapd.url)
    assert rpcapd.url + "lo" in names
    assert all(n.startswith(rpcapd.url) for n in names)
    lo = [i for i in pcap.interfaces(rpcapd.url) if i.name == rpcapd.url + "lo"]
    assert lo and lo[0].is_loopback and lo[0].is_up
    assert "127.0.0.1" in [a.addr for a in lo[0].addresses]


def test_capture_lo_through_rpcapd(rpcapd):
    port = free_port()
    payloads = [b"remote %d" % i for i in range(30)]
    with open_remote(rpcapd, port, timeout_ms=500) as p:
        assert p.datalink() == pcap.DLT_EN10MB
        assert p.precision == pcap.PCAP_TSTAMP_PRECISION_MICRO
        paced_sender(port, payloads).join()
        got = collect(p, len(payloads))
        assert [pkt[42:] for ts, pkt in got] == payloads
        stamps = [ts for ts, pkt in got]
        assert stamps == sorted(stamps) and abs(stamps[0] - time.time()) < 60
        assert p.stats().received >= len(payloads)
        assert p.stats().dropped == 0


def test_every_read_and_the_first_without_a_filter(rpcapd):
    """libpcap PR #1577: with no filter set, the first read failed with
    "Message payload is too short"; the module sets one at open."""
    port = free_port()
    with pcap.pcap(rpcapd.url + "lo", timeout_ms=300) as p:
        t = paced_sender(port, [b"unfiltered"] * 5, delay=0.2)
        marks = [pkt for ts, pkt in collect(p, 10**6, seconds=1.5) if pkt.endswith(b"unfiltered")]
        t.join()
        assert marks, "the test's datagrams did not come"
    port = free_port()
    with open_remote(rpcapd, port, timeout_ms=1000) as p:
        paced_sender(port, [b"%d" % i for i in range(8)], delay=0.2).join()
        ts, pkt = next(p)
        assert pkt[42:] == b"0"
        assert p.dispatch(1, lambda ts, pkt: None) == 1
        assert p.loop(1, lambda ts, pkt: None) == 1
        assert [pkt[42:] for ts, pkt in p.readpkts(2)] == [b"3", b"4"]
        records, data = bytearray(pcap.BATCH_RECORD_SIZE * 3), bytearray(3 * 65535)
        assert p.readinto(records, data, 1) == 1
        stamps, pkts = p.readbatch(1)
        assert [pkt[42:] for pkt in pkts] == [b"6"] and len(stamps) == 1
        records, data = p.next_batch(1)
        assert len(records) == pcap.BATCH_RECORD_SIZE and data.endswith(b"7")


def test_timeout_ms_returns(rpcapd):
    with open_remote(rpcapd, free_port(), timeout_ms=400) as p:
        for read in (p.readpkts, lambda: p.dispatch(-1, lambda *a: None)):
            t0 = time.monotonic()
            assert not read()
            assert 0.35 < time.monotonic() - t0 < 1.0


def test_ctrl_c_during_a_wait_on_a_quiet_link(rpcapd):
    with open_remote(rpcapd, free_port()) as p:
        with Later(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)) as later:
            with pytest.raises(KeyboardInterrupt):
                for _ in p:
                    pass
            assert time.monotonic() - later.at < 0.3


def test_breakloop_from_another_thread(rpcapd):
    with open_remote(rpcapd, free_port()) as p:
        with Later(0.3, p.breakloop) as later:
            assert p.loop(0, lambda *a: None) == 0
            assert time.monotonic() - later.at < 0.3


def test_close_during_and_after_a_read(rpcapd):
    p = open_remote(rpcapd, free_port())
    with Later(0.3, p.close) as later:
        with pytest.raises(ValueError, match="closed"):
            for _ in p:
                pass
        assert time.monotonic() - later.at < 0.3
    for call in (p.readpkts, p.stats, lambda: p.setfilter("udp"), p.breakloop):
        with pytest.raises(ValueError, match="closed"):
            call()
    p.close()
    p = open_remote(rpcapd, free_port())
    p.close()
    p.close()


def test_setfilter_and_stats_while_capturing(rpcapd):
    first, second = free_port(), free_port()
    with open_remote(rpcapd, first, timeout_ms=300) as p:
        paced_sender(first, [b"first"] * 3, delay=0).join()
        assert [pkt[42:] for ts, pkt in collect(p, 3)] == [b"first"] * 3
        p.setfilter(f"udp and dst host 127.0.0.1 and dst port {second}")
        assert p.filter.endswith(str(second))
        time.sleep(0.2)
        send_udp(first, [b"first"] * 3)
        paced_sender(second, [b"second"] * 3, delay=0.1).join()
        assert [pkt[42:] for ts, pkt in collect(p, 3)] == [b"second"] * 3
        # From another thread, during a read: it gets the handle between two waits.
        seen = []
        with Later(0.1, lambda: seen.append((p.stats(), time.monotonic()))) as later:
            assert p.readpkts() == []
        assert seen and seen[0][0].received >= 6 and seen[0][1] - later.at < 0.3


def test_what_the_handle_cannot_do(rpcapd):
    with open_remote(rpcapd, free_port()) as p:
        with pytest.raises(pcap.PcapError, match="no selectable descriptor"):
            p.fileno()


def test_refused_connection():
    port = listening_port()
    for call in (lambda: pcap.pcap(f"rpcap://127.0.0.1:{port}/lo"),
                 lambda: pcap.findalldevs(f"rpcap://127.0.0.1:{port}/")):
        with pytest.raises(pcap.PcapError, match=f"127.0.0.1:{port}.*Connection refused"):
            call()


def test_a_device_the_remote_lacks(rpcapd):
    with pytest.raises(pcap.PcapNotFoundError, match="nosuchdev0: No such device exists"):
        pcap.pcap(rpcapd.url + "nosuchdev0")


def test_the_sensor_going_away():
    need(os.geteuid() == 0, "rpcapd captures lo: root")
    d = Rpcapd("-n")
    p = open_remote(d, free_port(), timeout_ms=300)
    assert p.readpkts() == []
    d.stop()
    with pytest.raises(pcap.PcapError, match="reading .*The other host terminated the connection"):
        p.readpkts()
    with pytest.raises(pcap.PcapError, match="stats on .*The other host terminated the connection"):
        p.stats()
    t0 = time.monotonic()
    p.close()
    assert time.monotonic() - t0 < 1


def test_null_authentication_refused():
    need(os.geteuid() == 0, "rpcapd captures lo: root")
    d = Rpcapd()       # without -n: password authentication only
    try:
        with pytest.raises(pcap.PcapError, match="NULL authentication not permitted"):
            pcap.pcap(d.url + "lo")
    finally:
        d.stop()


def test_password_authentication(rpcapd):
    """rpcapd checks the password against the shadow file (crypt()), then
    runs the session as that user (setuid()), who may list devices but,
    not being root, not capture."""
    need(os.geteuid() == 0 and shutil.which("useradd") and shutil.which("chpasswd"),
         "a throwaway user (useradd, chpasswd) needs root")
    user, password = f"pcaprt{os.getpid()}", f"pw-{os.urandom(6).hex()}"
    subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", user], check=True)
    try:
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True)
        assert rpcapd.url + "lo" in pcap.findalldevs(rpcapd.url, auth=(user, password))
        for auth in ((user, "wrong"), ("nosuchuser" + user, password)):
            with pytest.raises(pcap.PcapError, match="Authentication failed"):
                pcap.findalldevs(rpcapd.url, auth=auth)
            with pytest.raises(pcap.PcapError, match="Authentication failed"):
                pcap.pcap(rpcapd.url + "lo", auth=auth)
        with pytest.raises(pcap.PcapPermissionError, match="You don't have permission.*on the remote host"):
            pcap.pcap(rpcapd.url + "lo", auth=(user, password))
    finally:
        # rpcapd's process of the last session (running as the user) may
        # not have ended yet: userdel refuses until it has.
        deadline = time.monotonic() + 10
        while subprocess.run(["userdel", user], capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, f"userdel {user} keeps failing"
            time.sleep(0.1)
    assert subprocess.run(["id", user], capture_output=True).returncode != 0


# -- active mode: rpcapd connects to us ----------------------------------------------

def listening(port):
    """Whether a TCP socket listens on ``port`` (ss, iproute2)."""
    return f":{port} " in subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout


def accept_in_thread(port, **kw):
    """remote_accept() in a thread, once it listens: (thread, result list)."""
    result = []

    def run():
        try:
            result.append(pcap.remote_accept("127.0.0.1", port, **kw))
        except BaseException as e:      # noqa: B036 (handed to the test)
            result.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not listening(port):
        assert time.monotonic() < deadline and t.is_alive(), result
        time.sleep(0.02)
    return t, result


def test_active_mode():
    """rpcapd -a: the sensor connects out; remote_accept() takes the
    connection and rpcap://ADDRESS/device goes over it.  (rpcapd 1.10.6
    with -v, active mode only, exits at once on Linux: it listens
    passively too here, on 127.0.0.1.)"""
    need(os.geteuid() == 0 and shutil.which("ss"), "rpcapd captures lo (root); ss (iproute2) sees the listener")
    port = listening_port()
    t, result = accept_in_thread(port)
    d = Rpcapd("-n", "-a", f"127.0.0.1,{port}")
    try:
        t.join(10)
        assert result == ["127.0.0.1"], result
        data = listening_port()
        with pcap.pcap("rpcap://127.0.0.1/lo", timeout_ms=500) as p:
            p.setfilter(f"udp and dst host 127.0.0.1 and dst port {data}")
            paced_sender(data, [b"active %d" % i for i in range(5)], delay=0.1).join()
            assert [pkt[42:] for ts, pkt in collect(p, 5)] == [b"active %d" % i for i in range(5)]
        pcap.remote_close("127.0.0.1")
        with pytest.raises(pcap.PcapError, match="close the active connection of 127.0.0.1"):
            pcap.remote_close("127.0.0.1")
    finally:
        d.stop()


def test_active_mode_refuses_a_host_not_listed():
    need(os.geteuid() == 0 and shutil.which("ss"), "rpcapd captures lo (root); ss (iproute2) sees the listener")
    port = listening_port()
    t, result = accept_in_thread(port, hosts=["192.0.2.1"])
    d = Rpcapd("-n", "-a", f"127.0.0.1,{port}")
    try:
        t.join(10)
        assert len(result) == 1 and isinstance(result[0], pcap.PcapError), result
        assert "accept an active rpcapd on 127.0.0.1" in str(result[0])
    finally:
        d.stop()


def test_ctrl_c_while_waiting_for_an_active_rpcapd():
    with Later(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)) as later:
        with pytest.raises(KeyboardInterrupt):
            pcap.remote_accept("127.0.0.1", listening_port())
        assert time.monotonic() - later.at < 0.3
