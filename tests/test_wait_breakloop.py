"""breakloop(): from another thread, from a signal handler and from a
callback, on a quiet interface, after packets, and on a savefile; the flag
is consumed, so what follows is still read.

Every wait is bounded (a breakloop() timer, a deadline or a subprocess
timeout, and the watchdog fixture behind them)."""
import signal
import time

import pytest

import pcap
from support import (Later, free_port, numbered_savefile, open_lo, raiser, read_all, send_udp, udp_payload,
                     wait_readable)

pytestmark = pytest.mark.usefixtures("watchdog")


# -- breakloop -----------------------------------------------------------------

SINK_OF = {"iter": "iter", "loop": "loop", "loop-count": "count-loop", "dispatch": "dispatch", "readpkts": "readpkts"}


@pytest.mark.parametrize("mode", ["iter", "loop", "loop-count", "dispatch", "readpkts"])
def test_breakloop_from_thread_on_quiet_lo(live, restore_alarm, mode):
    sink = []
    with open_lo(free_port()) as p:
        # the fallback: a raising alarm, in case breakloop is ignored
        signal.signal(signal.SIGALRM, raiser("breakloop ignored"))
        signal.setitimer(signal.ITIMER_REAL, 4)
        with Later(0.3, p.breakloop) as b:
            result = read_all(p, SINK_OF[mode], batch=-1, into=sink)
            t_end = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert b.at is not None
    assert t_end - b.at < 0.2, f"{mode} ended {t_end - b.at:.3f} s after breakloop()"
    assert sink == []
    # read_all checked the counts loop() and dispatch() returned: 0, or -2 for dispatch
    assert result == (0 if mode == "loop-count" else [])


@pytest.mark.parametrize("mode", ["iter", "loop", "dispatch"])
def test_breakloop_from_thread_after_packets(live, restore_alarm, mode):
    """breakloop() ends a loop that has already delivered packets."""
    port = free_port()
    sink = []
    with open_lo(port, immediate=True) as p:
        signal.signal(signal.SIGALRM, raiser("breakloop ignored"))
        signal.setitimer(signal.ITIMER_REAL, 4)
        with Later(0.1, lambda: send_udp(port, [b"a", b"b"])), Later(0.6, p.breakloop) as b:
            if mode == "dispatch":
                # dispatch returns after the first buffer: wait for the break there
                while p.dispatch(-1, lambda ts, pkt: sink.append(pkt)) > 0:
                    pass
            else:
                read_all(p, SINK_OF[mode], batch=-1, into=sink)
            t_end = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert len(sink) == 2
    assert b.at is not None and t_end - b.at < 0.2


@pytest.mark.parametrize("mode", ["iter", "loop", "dispatch", "readpkts"])
def test_breakloop_from_signal_handler(live, restore_alarm, mode):
    sink = []
    with open_lo(free_port()) as p, Later(4, p.breakloop):
        rang = []

        def handler(signum, frame):
            rang.append(time.monotonic())
            p.breakloop()

        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        read_all(p, SINK_OF[mode], batch=-1, into=sink)
        t_end = time.monotonic()
    assert rang, "the signal handler never ran"
    assert t_end - rang[0] < 0.2
    assert sink == []


def test_breakloop_from_callback_live(live, restore_alarm):
    port = free_port()
    seen = []
    with open_lo(port, immediate=True) as p:
        def cb(ts, pkt):
            seen.append(udp_payload(pkt))
            p.breakloop()

        signal.signal(signal.SIGALRM, raiser("loop went on after breakloop"))
        signal.setitimer(signal.ITIMER_REAL, 3)
        with Later(0.2, lambda: send_udp(port, [b"first"])):
            n = p.loop(-1, cb)
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert n == 1
    assert seen == [b"first"]


def test_breakloop_from_callback_live_burst(live, restore_alarm):
    """Several packets pending in one buffer: only one callback runs."""
    port = free_port()
    seen = []
    with open_lo(port) as p:
        send_udp(port, [b"%d" % i for i in range(5)])
        assert wait_readable(p, 2)

        def cb(ts, pkt):
            seen.append(udp_payload(pkt))
            p.breakloop()

        signal.signal(signal.SIGALRM, raiser("loop went on after breakloop"))
        signal.setitimer(signal.ITIMER_REAL, 3)
        n = p.loop(-1, cb)
        signal.setitimer(signal.ITIMER_REAL, 0)
        assert n == 1 and seen == [b"0"]
        # the flag is consumed: the rest is still there
        p.setnonblock(True)
        rest = [udp_payload(pkt) for ts, pkt in p.readpkts()]
    assert rest == [b"1", b"2", b"3", b"4"]


@pytest.mark.parametrize("method", ["loop", "dispatch"])
def test_breakloop_from_callback_savefile(tmp_path, method):
    seen = []
    with pcap.pcap(numbered_savefile(tmp_path, 6)) as p:
        def cb(ts, pkt):
            seen.append(ts)
            if len(seen) == 2:
                p.breakloop()

        n = getattr(p, method)(-1, cb)
        assert n == 2
        assert seen == [1000.000000, 1001.000001]
        # the following packets are still there, and the flag was consumed
        assert [ts for ts, pkt in p] == [1002.000002, 1003.000003, 1004.000004, 1005.000005]
