"""Threads while one thread waits in a read: other threads keep running (the
GIL is released), and other threads' calls on the same handle run at once
and take effect on the running read.

Every wait is bounded (a breakloop() timer, a deadline or a subprocess
timeout, and the watchdog fixture behind them)."""
import signal
import threading
import time

import pytest

from support import free_port, open_lo, send_udp, udp_payload

pytestmark = pytest.mark.usefixtures("watchdog")


# -- the GIL -------------------------------------------------------------------

def _spin_count(waiter):
    stop = threading.Event()
    count = [0]

    def spin():
        n = 0
        while not stop.is_set():
            n += 1
        count[0] = n

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    time.sleep(0.05)
    try:
        waiter()
    finally:
        stop.set()
        t.join(5)
    return count[0]


@pytest.mark.parametrize("mode", ["dispatch", "readpkts", "next"])
def test_other_threads_run_while_waiting(live, mode):
    port = free_port()
    baseline = _spin_count(lambda: time.sleep(0.5))
    assert baseline > 0
    with open_lo(port, timeout_ms=500) as p:
        if mode == "dispatch":
            counted = _spin_count(lambda: p.dispatch(-1, lambda ts, pkt: None))
        elif mode == "readpkts":
            counted = _spin_count(p.readpkts)
        else:
            # the packet is sent from the main thread's point of view by a
            # signal handler, which needs no other thread to get the GIL
            old = signal.signal(signal.SIGALRM, lambda s, f: send_udp(port, [b"wake"]))
            try:
                signal.setitimer(signal.ITIMER_REAL, 0.5)
                counted = _spin_count(lambda: next(p))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
    assert counted > 0.3 * baseline, f"spinning thread: {counted} while waiting, {baseline} while sleeping"


# -- other threads' calls while one thread waits in a read ----------------------------

def test_other_threads_use_the_handle_while_one_waits(live):
    """stats(), setfilter(), sendpacket(), datalink() from another thread
    run at once while a loop() waits on a quiet interface, and the new
    filter takes effect on the running loop."""
    port, other = free_port(), free_port()
    with open_lo(port) as p:
        got = []
        t = threading.Thread(target=lambda: p.loop(1, lambda ts, pkt: got.append(udp_payload(pkt))))
        t.start()
        time.sleep(0.2)
        timings = {}
        for name, call in [("stats", p.stats), ("datalink", p.datalink),
                           ("setfilter", lambda: p.setfilter(f"udp dst port {other}")),
                           ("sendpacket", lambda: p.sendpacket(b"\0" * 12 + b"\x08\x00" + b"\0" * 46))]:
            t0 = time.monotonic()
            call()
            timings[name] = time.monotonic() - t0
        assert max(timings.values()) < 0.1, timings
        send_udp(port, [b"old filter"])
        send_udp(other, [b"new filter"])
        t.join(5)
        assert not t.is_alive()
        assert got == [b"new filter"]
