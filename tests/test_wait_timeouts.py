"""Deadlines: timeout_ms for dispatch() and readpkts(), what ignores it
(loop, iteration), the packet that arrives before the deadline, and how
soon a packet reaches the reader (latency, immediate mode).

Every wait is bounded (a breakloop() timer, a deadline or a subprocess
timeout, and the watchdog fixture behind them)."""
import threading
import time

import pytest

from support import Later, free_port, open_lo, send_udp, udp_payload

pytestmark = pytest.mark.usefixtures("watchdog")


# -- latency -------------------------------------------------------------------

def _latencies(p, port, n):
    lat = []
    for i in range(n):
        sent = []

        def send(i=i):
            sent.append(time.monotonic())
            send_udp(port, [b"lat%d" % i])

        with Later(0.25, send), Later(3, p.breakloop):
            ts, pkt = next(p)
            t = time.monotonic()
        assert udp_payload(pkt) == b"lat%d" % i
        lat.append(t - sent[0])
    return lat


def test_latency_defaults(live):
    port = free_port()
    with open_lo(port) as p:
        lat = _latencies(p, port, 3)
    assert max(lat) < 0.5, lat


def test_latency_immediate(live):
    port = free_port()
    with open_lo(port, immediate=True) as p:
        lat = _latencies(p, port, 3)
    assert max(lat) < 0.05, lat


def test_latency_defaults_dispatch(live):
    port = free_port()
    got = []
    with open_lo(port) as p, Later(0.25, lambda: send_udp(port, [b"d"])) as s, Later(3, p.breakloop):
        n = p.dispatch(-1, lambda ts, pkt: got.append(pkt))
        t = time.monotonic()
    assert n == 1 and udp_payload(got[0]) == b"d"
    assert t - s.at < 0.5


# -- timeout_ms ----------------------------------------------------------------

@pytest.mark.parametrize("timeout_ms", [150, 400])
def test_timeout_dispatch_returns_zero(live, timeout_ms):
    with open_lo(free_port(), timeout_ms=timeout_ms) as p, Later(5, p.breakloop):
        assert p.timeout_ms == timeout_ms
        t0 = time.monotonic()
        n = p.dispatch(-1, lambda ts, pkt: pytest.fail("no packet expected"))
        elapsed = time.monotonic() - t0
    assert n == 0
    assert timeout_ms / 1000 - 0.01 <= elapsed < timeout_ms / 1000 + 0.15, elapsed


@pytest.mark.parametrize("timeout_ms", [150, 400])
def test_timeout_readpkts_returns_empty(live, timeout_ms):
    with open_lo(free_port(), timeout_ms=timeout_ms) as p, Later(5, p.breakloop):
        t0 = time.monotonic()
        r = p.readpkts()
        elapsed = time.monotonic() - t0
        # and again: the deadline is per call
        t1 = time.monotonic()
        r2 = p.readpkts()
        elapsed2 = time.monotonic() - t1
    assert r == [] and r2 == []
    for e in (elapsed, elapsed2):
        assert timeout_ms / 1000 - 0.01 <= e < timeout_ms / 1000 + 0.15, (elapsed, elapsed2)


@pytest.mark.parametrize("method", ["dispatch", "readpkts"])
@pytest.mark.parametrize("phase", [0.0, 0.85])
def test_timeout_packet_before_deadline_is_returned(live, method, phase):
    """A packet that arrives 0.3 s into a 1 s timeout is returned by that
    call, whenever the call starts relative to the opening of the handle (the
    kernel's block timer runs from there)."""
    port = free_port()
    got = []
    with open_lo(port, timeout_ms=1000) as p:
        time.sleep(phase)
        with Later(0.3, lambda: send_udp(port, [b"in-time"])), Later(5, p.breakloop):
            t0 = time.monotonic()
            if method == "dispatch":
                n = p.dispatch(-1, lambda ts, pkt: got.append(udp_payload(pkt)))
            else:
                got = [udp_payload(pkt) for ts, pkt in p.readpkts()]
                n = len(got)
            elapsed = time.monotonic() - t0
    assert (n, got) == (1, [b"in-time"]), f"{method} returned {n} after {elapsed:.3f} s"
    assert elapsed < 1.0


@pytest.mark.parametrize("method", ["dispatch", "readpkts"])
def test_timeout_zero_waits_until_breakloop(live, method):
    with open_lo(free_port(), timeout_ms=0) as p, Later(0.8, p.breakloop) as b:
        t0 = time.monotonic()
        if method == "dispatch":
            r = p.dispatch(-1, lambda ts, pkt: None)
            assert r in (0, -2)
        else:
            r = p.readpkts()
            assert r == []
        t_end = time.monotonic()
    assert t_end - t0 >= 0.75, f"{method} returned after {t_end - t0:.3f} s without a packet"
    assert b.at is not None and t_end - b.at < 0.2


@pytest.mark.parametrize("timeout_ms", [0, 100])
def test_timeout_zero_dispatch_waits_for_late_packet(live, timeout_ms):
    """timeout_ms=0: dispatch waits past libpcap's buffer timeout for a packet;
    iteration waits past any timeout_ms and never yields None."""
    port = free_port()
    got = []
    with open_lo(port, timeout_ms=timeout_ms) as p, Later(0.8, lambda: send_udp(port, [b"late"])), \
            Later(4, p.breakloop):
        t0 = time.monotonic()
        if timeout_ms == 0:
            p.dispatch(-1, lambda ts, pkt: got.append(pkt))
        else:
            got.append(next(p)[1])
        elapsed = time.monotonic() - t0
    assert len(got) == 1 and udp_payload(got[0]) == b"late"
    assert 0.75 < elapsed < 2


def test_loop_ignores_timeout(live):
    """loop() waits for packets whatever timeout_ms (as pypcap's does)."""
    port = free_port()
    got = []
    with open_lo(port, timeout_ms=100) as p, Later(0.6, lambda: send_udp(port, [b"loop"])), \
            Later(4, p.breakloop):
        t0 = time.monotonic()
        n = p.loop(1, lambda ts, pkt: got.append(udp_payload(pkt)))
        elapsed = time.monotonic() - t0
    assert n == 1 and got == [b"loop"]
    assert 0.55 < elapsed < 2


def test_iteration_never_yields_none_with_timeout(live):
    port = free_port()
    items = []
    with open_lo(port, timeout_ms=50) as p:
        def sends():
            for i in range(3):
                time.sleep(0.3)
                send_udp(port, [b"it%d" % i])

        t = threading.Thread(target=sends, daemon=True)
        with Later(4, p.breakloop):
            t.start()
            for item in p:
                items.append(item)
                if len(items) == 3:
                    break
        t.join(5)
    assert all(item is not None for item in items)
    assert [udp_payload(pkt) for ts, pkt in items] == [b"it0", b"it1", b"it2"]
