"""Nonblocking mode and the selectable descriptor: reads that return what is
pending at once, iteration that still waits (as pypcap's), and select,
selectors and asyncio's add_reader on the handle.

Every wait is bounded (a breakloop() timer, a deadline or a subprocess
timeout, and the watchdog fixture behind them)."""
import asyncio
import select
import selectors
import time

import pytest

import pcap
from support import Later, free_port, run_python, numbered_savefile, open_lo, send_udp, udp_payload, wait_readable

pytestmark = pytest.mark.usefixtures("watchdog")


# -- nonblocking ---------------------------------------------------------------

def _drain(p):
    t0 = time.monotonic()
    out = [udp_payload(pkt) for ts, pkt in p.readpkts()]
    assert time.monotonic() - t0 < 0.1, "a nonblocking drain waited"
    return out


def _drain_until(p, n, timeout=2.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        select.select([p], [], [], 0.05)
        got += _drain(p)
    return got


def test_nonblocking_mode(live):
    port = free_port()
    with open_lo(port) as p:
        assert p.getnonblock() is False
        p.setnonblock(True)
        assert p.getnonblock() is True
        for method in ("readpkts", "readbatch", "dispatch"):
            t0 = time.monotonic()
            if method == "readpkts":
                assert p.readpkts() == []
            elif method == "readbatch":
                assert p.readbatch()[1] == []
            else:
                assert p.dispatch(-1, lambda ts, pkt: None) == 0
            assert time.monotonic() - t0 < 0.2, f"nonblocking {method} waited"
        # next() waits for a packet in nonblocking mode too, as pypcap's does
        with Later(0.3, lambda: send_udp(port, [b"w0"])):
            t0 = time.monotonic()
            ts, pkt = next(p)
        assert udp_payload(pkt) == b"w0" and time.monotonic() - t0 > 0.25
        assert _drain(p) == []
        send_udp(port, [b"n0", b"n1", b"n2"])
        assert _drain_until(p, 3) == [b"n0", b"n1", b"n2"]
        assert _drain(p) == []
        # a later loop picks up later packets
        send_udp(port, [b"n3", b"n4"])
        assert _drain_until(p, 2) == [b"n3", b"n4"]
        # readpkts / dispatch see pending packets too
        send_udp(port, [b"n5"])
        assert wait_readable(p, 2)
        assert [udp_payload(pkt) for ts, pkt in p.readpkts()] == [b"n5"]
        send_udp(port, [b"n6"])
        assert wait_readable(p, 2)
        got = []
        assert p.dispatch(-1, lambda ts, pkt: got.append(udp_payload(pkt))) == 1
        assert got == [b"n6"]
        p.setnonblock(False)
        assert p.getnonblock() is False
        # blocking again: readpkts waits
        with Later(0.3, lambda: send_udp(port, [b"n7"])):
            t0 = time.monotonic()
            r = p.readpkts()
        assert [udp_payload(pkt) for ts, pkt in r] == [b"n7"]
        assert time.monotonic() - t0 > 0.25


def test_nonblocking_dispatch_ignores_timeout(live):
    with open_lo(free_port(), timeout_ms=2000) as p:
        p.setnonblock(True)
        t0 = time.monotonic()
        assert p.dispatch(-1, lambda ts, pkt: None) == 0
        assert p.readpkts() == []
        assert time.monotonic() - t0 < 0.2      # (a blocking read would take the 2 s)


def test_setnonblock_savefile_reports_mode_and_reads_everything(tmp_path):
    """On a savefile the mode is kept and reported (a savefile never waits),
    and nonblocking reads still deliver every packet: something is always
    pending until the end of the file."""
    with pcap.pcap(numbered_savefile(tmp_path, 2000)) as p:
        assert p.getnonblock() is False
        p.setnonblock(True)
        assert p.getnonblock() is True
        assert len(p.readpkts(10)) == 10
        assert p.dispatch(5, lambda ts, pkt: None) == 5
        assert len(list(p)) == 1985
        assert p.readpkts() == [] and p.dispatch(-1, lambda ts, pkt: None) == 0
        p.setnonblock(False)
        assert p.getnonblock() is False


# -- selectable fd ---------------------------------------------------------------

def test_fileno_with_select(live):
    port = free_port()
    with open_lo(port) as p:
        fd = p.fileno()
        assert isinstance(fd, int) and fd >= 0
        assert p.fd == fd
        assert select.select([fd], [], [], 0.3)[0] == []
        send_udp(port, [b"sel"])
        assert select.select([fd], [], [], 2)[0] == [fd]
        assert select.select([p], [], [], 0)[0] == [p]    # the object itself works too
        p.setnonblock(True)
        assert [udp_payload(pkt) for ts, pkt in p.readpkts()] == [b"sel"]
        assert select.select([fd], [], [], 0)[0] == []


def test_fileno_with_selectors(live):
    port = free_port()
    with open_lo(port) as p, selectors.DefaultSelector() as sel:
        key = sel.register(p, selectors.EVENT_READ, data="capture")
        assert key.fd == p.fileno()
        assert sel.select(0.3) == []
        send_udp(port, [b"selectors"])
        events = sel.select(2)
        assert [(k.data, ev) for k, ev in events] == [("capture", selectors.EVENT_READ)]
        p.setnonblock(True)
        assert [udp_payload(pkt) for ts, pkt in p.readpkts()] == [b"selectors"]


def test_fileno_with_asyncio_add_reader(live):
    port = free_port()

    async def main():
        loop = asyncio.get_running_loop()
        with open_lo(port) as p:
            p.setnonblock(True)
            ready = loop.create_future()
            got = []

            def on_readable():
                got.extend(udp_payload(pkt) for ts, pkt in p.readpkts())
                if got and not ready.done():
                    ready.set_result(time.monotonic())

            loop.add_reader(p.fileno(), on_readable)
            try:
                await asyncio.sleep(0.3)
                assert not ready.done()
                loop.call_soon(send_udp, port, [b"aio"])
                await asyncio.wait_for(ready, 2)
            finally:
                loop.remove_reader(p.fileno())
            return got


# -- pypcap's study notes: iteration on a nonblocking handle --------------------------

CODE_4 = r"""
    import socket, sys, threading, time, pcap
    port = int(sys.argv[1])
    def send():
        time.sleep(0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(4):
                s.sendto(b"code4 %d" % i, ("127.0.0.1", port))
                time.sleep(0.05)
    threading.Thread(target=send, daemon=True).start()
    p = pcap.pcap("lo")
    p.setfilter(f"udp dst port {port}")
    p.setnonblock()
    print(p.getnonblock())
    ts, buf = p.__next__()
    print(buf[42:])
    n = 0
    for timestamp, buf in p:
        print(buf[42:])
        n += 1
        if n == 3:
            break
"""


def test_study_notes_code_4_reads_packets_on_a_nonblocking_handle(live):
    """``p.setnonblock(); print(p.__next__()); for ts, buf in p: ...``
    waits for each packet, as pypcap 1.3 does."""
    proc = run_python(CODE_4, free_port(), timeout=20)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["True", "b'code4 0'", "b'code4 1'", "b'code4 2'", "b'code4 3'"]
