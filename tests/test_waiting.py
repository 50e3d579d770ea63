"""Waiting for packets (issue 3): Ctrl-C, signal handlers, breakloop(),
timeouts, latency, nonblocking mode, selectable fds, callbacks that fail.

Every wait here is bounded: children run with subprocess timeouts, and
in-process waits have a breakloop() timer or a deadline behind them, plus a
faulthandler watchdog that ends the whole run if the module hangs anyway.
"""
import asyncio
import os
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pcap
from conftest import free_port, udp_frame, write_pcap

pytestmark = pytest.mark.usefixtures("watchdog")


@pytest.fixture
def restore_alarm():
    old = signal.getsignal(signal.SIGALRM)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


# -- helpers -------------------------------------------------------------------

def open_lo(port, **kw):
    p = pcap.pcap("lo", **kw)
    p.setfilter(f"udp dst port {port}")
    return p


def send_udp(port, payloads):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for data in payloads:
            s.sendto(data, ("127.0.0.1", port))
    finally:
        s.close()


class Later:
    """Run fn after delay seconds in a thread; .at is when it ran (monotonic)."""

    def __init__(self, delay, fn):
        self.at = None
        self.fn = fn
        self.timer = threading.Timer(delay, self._run)
        self.timer.daemon = True

    def _run(self):
        self.at = time.monotonic()
        self.fn()

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.timer.join(5)
        return False


def udp_payload(frame):
    """The UDP payload of a frame captured on lo (Ethernet, IPv4, UDP)."""
    ihl = (frame[14] & 0x0F) * 4
    return frame[14 + ihl + 8:]


def wait_readable(p, timeout):
    r, _, _ = select.select([p.fileno()], [], [], timeout)
    return bool(r)


def savefile(tmp_path, n=5, name="w.pcap"):
    return str(write_pcap(tmp_path / name,
                          [(1000 + i, i, udp_frame(b"pkt%d" % i)) for i in range(n)]))


# -- Ctrl-C in a child process ---------------------------------------------------

SIGINT_CHILD = textwrap.dedent(r"""
    import sys, pcap
    mode, port, timeout_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    p = pcap.pcap("lo", timeout_ms=timeout_ms)
    p.setfilter(f"udp dst port {port}")
    if mode.startswith("nb-"):
        p.setnonblock(True)
        mode = mode[3:]
    print("READY", flush=True)
    try:
        if mode == "iter":
            for _ in p:
                pass
        elif mode == "next":
            next(p)
        elif mode == "loop":
            p.loop(-1, lambda ts, pkt: None)
        elif mode == "loop-count":
            p.loop(0)
        elif mode == "dispatch":
            p.dispatch(-1, lambda ts, pkt: None)
        elif mode == "dispatch-count":
            p.dispatch(-1)
        elif mode == "readpkts":
            p.readpkts()
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        sys.exit(0)
    print("RETURNED", flush=True)
    sys.exit(3)
""")


def wait_exit(proc, timeout):
    """Wait for proc to exit; returns the monotonic time of its exit, None on timeout."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        proc.wait(timeout)
        return time.monotonic()
    try:
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return None
        t = time.monotonic()
        proc.wait(5)
        return t
    finally:
        os.close(fd)


@pytest.mark.parametrize("mode, timeout_ms", [
    ("iter", 0), ("next", 0), ("loop", 0), ("loop-count", 0), ("dispatch", 0),
    ("dispatch-count", 0), ("readpkts", 0),
    ("iter", 100),           # iteration waits whatever timeout_ms
    ("dispatch", 60000), ("readpkts", 60000),
    ("nb-loop", 0),          # loop waits even on a nonblocking handle
    ("nb-iter", 0), ("nb-next", 0),   # and so does iteration, as pypcap's
])
def test_sigint_interrupts_wait_on_quiet_lo(live, mode, timeout_ms):
    proc = subprocess.Popen([sys.executable, "-c", SIGINT_CHILD, mode, str(free_port()), str(timeout_ms)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        r, _, _ = select.select([proc.stdout], [], [], 15)
        assert r, "child did not start"
        line = proc.stdout.readline()
        assert line == b"READY\n", (line, proc.stderr.read() if proc.poll() is not None else b"")
        time.sleep(0.4)   # let it get into the wait
        assert proc.poll() is None, "child did not wait: " + repr(proc.communicate(timeout=5))
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        t_exit = wait_exit(proc, 5)
        assert t_exit is not None, f"{mode}: SIGINT did not end the wait within 5 s"
        out, err = proc.communicate(timeout=5)
        assert b"KeyboardInterrupt" in out, (out, err)
        assert proc.returncode == 0, (out, err)
        assert t_exit - t0 < 0.5, f"{mode}: exit took {t_exit - t0:.3f} s after SIGINT"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


# -- signal handlers ---------------------------------------------------------

def test_no_c_signal_handler_installed(live):
    """getsignal(SIGINT) is what the program set, before and after capture, and
    the program's handler is still the one the kernel calls."""
    seen = []

    def handler(signum, frame):
        seen.append(signum)

    old = signal.signal(signal.SIGINT, handler)
    try:
        port = free_port()
        assert signal.getsignal(signal.SIGINT) is handler
        with open_lo(port, timeout_ms=100) as p:
            assert signal.getsignal(signal.SIGINT) is handler
            assert p.dispatch(-1, lambda ts, pkt: None) == 0
            assert p.readpkts() == []
            assert signal.getsignal(signal.SIGINT) is handler
        with pcap.pcap("lo", immediate=True) as p:
            p.setfilter(f"udp dst port {port}")
            with Later(0.1, lambda: send_udp(port, [b"x"])):
                assert next(p)
        assert signal.getsignal(signal.SIGINT) is handler
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 2
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, old)
    # and with Python's default handler in place
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with open_lo(free_port(), timeout_ms=50) as p:
        p.readpkts()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("mode", ["next", "loop", "dispatch", "readpkts"])
def test_sigalrm_handler_that_returns_lets_the_wait_go_on(live, restore_alarm, mode):
    port = free_port()
    calls = []
    signal.signal(signal.SIGALRM, lambda s, f: calls.append(time.monotonic()))
    got = []
    with open_lo(port) as p:
        t0 = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with Later(0.7, lambda: send_udp(port, [b"after-alarm"])) as sender, \
                Later(5, p.breakloop):   # only if the packet never comes
            if mode == "next":
                got.append(next(p))
            elif mode == "loop":
                p.loop(1, lambda ts, pkt: got.append((ts, pkt)))
            elif mode == "dispatch":
                p.dispatch(1, lambda ts, pkt: got.append((ts, pkt)))
            else:
                got.extend(p.readpkts())
        elapsed = time.monotonic() - t0
    assert len(calls) == 1, "the SIGALRM handler did not run during the wait"
    assert calls[0] - t0 < 0.5, "the handler ran late"
    assert sender.at is not None
    assert len(got) == 1 and udp_payload(got[0][1]) == b"after-alarm"
    assert 0.6 < elapsed < 3


class Alarm(Exception):
    pass


def raiser(message):
    """A signal handler that raises Alarm(message)."""
    def handler(signum, frame):
        raise Alarm(message)
    return handler


@pytest.mark.parametrize("mode", ["next", "iter", "loop", "dispatch", "readpkts"])
def test_sigalrm_handler_that_raises_ends_the_wait(live, restore_alarm, mode):
    def handler(signum, frame):
        raise Alarm("alarm rang")

    signal.signal(signal.SIGALRM, handler)
    with open_lo(free_port()) as p, Later(5, p.breakloop):
        t0 = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Alarm, match="alarm rang"):
            if mode == "next":
                next(p)
            elif mode == "iter":
                for _ in p:
                    pass
            elif mode == "loop":
                p.loop(-1, lambda ts, pkt: None)
            elif mode == "dispatch":
                p.dispatch(-1, lambda ts, pkt: None)
            else:
                p.readpkts()
        elapsed = time.monotonic() - t0
    assert 0.25 < elapsed < 0.3 + 0.2


# -- breakloop -----------------------------------------------------------------

def _run_mode(p, mode, sink):
    if mode == "iter":
        for item in p:
            sink.append(item)
        return None
    if mode == "loop":
        return p.loop(-1, lambda ts, pkt: sink.append((ts, pkt)))
    if mode == "loop-count":
        return p.loop(0)
    if mode == "dispatch":
        return p.dispatch(-1, lambda ts, pkt: sink.append((ts, pkt)))
    if mode == "readpkts":
        r = p.readpkts()
        sink.extend(r)
        return r
    raise AssertionError(mode)


@pytest.mark.parametrize("mode", ["iter", "loop", "loop-count", "dispatch", "readpkts"])
def test_breakloop_from_thread_on_quiet_lo(live, restore_alarm, mode):
    sink = []
    with open_lo(free_port()) as p:
        # the fallback: a raising alarm, in case breakloop is ignored
        signal.signal(signal.SIGALRM, raiser("breakloop ignored"))
        signal.setitimer(signal.ITIMER_REAL, 4)
        with Later(0.3, p.breakloop) as b:
            result = _run_mode(p, mode, sink)
            t_end = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert b.at is not None
    assert t_end - b.at < 0.2, f"{mode} ended {t_end - b.at:.3f} s after breakloop()"
    assert sink == []
    if mode in ("loop", "loop-count"):
        assert result == 0
    elif mode == "dispatch":
        assert result in (0, -2)
    elif mode == "readpkts":
        assert result == []


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
                _run_mode(p, mode, sink)
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
        _run_mode(p, mode, sink)
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
    with pcap.pcap(savefile(tmp_path, 6)) as p:
        def cb(ts, pkt):
            seen.append(ts)
            if len(seen) == 2:
                p.breakloop()

        n = getattr(p, method)(-1, cb)
        assert n == 2
        assert seen == [1000.000000, 1001.000001]
        # the following packets are still there, and the flag was consumed
        assert [ts for ts, pkt in p] == [1002.000002, 1003.000003, 1004.000004, 1005.000005]


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
    with pcap.pcap(savefile(tmp_path, 2000)) as p:
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

    assert asyncio.run(main()) == [b"aio"]


# -- callbacks -----------------------------------------------------------------

class CallbackFailed(Exception):
    pass


def _failing_callback(calls):
    def bad_callback(ts, pkt):
        calls.append(ts)
        raise CallbackFailed("from the callback")
    return bad_callback


@pytest.mark.parametrize("method", ["dispatch", "loop"])
@pytest.mark.parametrize("n", [1, 5, 3000])
def test_callback_exception_stops_savefile(tmp_path, method, n):
    calls = []
    with pcap.pcap(savefile(tmp_path, n)) as p:
        with pytest.raises(CallbackFailed, match="from the callback") as ei:
            getattr(p, method)(-1, _failing_callback(calls))
    assert calls == [1000.0]
    assert any(entry.name == "bad_callback" for entry in ei.traceback), \
        "the traceback does not reach into the callback"
    assert ei.traceback[-1].name == "bad_callback"


@pytest.mark.parametrize("method", ["dispatch", "loop"])
def test_callback_exception_stops_after_iteration_started(tmp_path, method):
    """Packets already read ahead by iteration must not escape the rule."""
    calls = []
    with pcap.pcap(savefile(tmp_path, 10)) as p:
        assert next(p)[0] == 1000.0
        with pytest.raises(CallbackFailed, match="from the callback"):
            getattr(p, method)(-1, _failing_callback(calls))
    assert calls == [1001.000001]


@pytest.mark.parametrize("method", ["dispatch", "loop"])
def test_callback_exception_stops_live(live, method):
    port = free_port()
    calls = []
    with open_lo(port) as p:
        send_udp(port, [b"c%d" % i for i in range(5)])
        assert wait_readable(p, 2)
        time.sleep(0.2)
        with Later(3, p.breakloop):
            with pytest.raises(CallbackFailed, match="from the callback") as ei:
                getattr(p, method)(-1, _failing_callback(calls))
    assert len(calls) == 1
    assert ei.traceback[-1].name == "bad_callback"


def test_callback_keyboardinterrupt_propagates(tmp_path):
    calls = []

    def cb(ts, pkt):
        calls.append(ts)
        raise KeyboardInterrupt

    with pcap.pcap(savefile(tmp_path, 5)) as p:
        with pytest.raises(KeyboardInterrupt):
            p.loop(-1, cb)
    assert len(calls) == 1


@pytest.mark.parametrize("method", ["dispatch", "loop"])
@pytest.mark.parametrize("cb, extra", [
    (lambda ts: None, ()),
    (lambda: None, ()),
    (lambda ts, pkt, a, b: None, (1,)),
    (lambda ts, pkt: None, (1,)),
])
def test_wrong_arity_callback_typeerror(tmp_path, method, cb, extra):
    with pcap.pcap(savefile(tmp_path, 5)) as p:
        with pytest.raises(TypeError, match="argument"):
            getattr(p, method)(-1, cb, *extra)


def test_wrong_arity_callback_typeerror_live(live):
    port = free_port()
    with open_lo(port) as p:
        send_udp(port, [b"a", b"b"])
        assert wait_readable(p, 2)
        with Later(3, p.breakloop):
            with pytest.raises(TypeError, match="argument"):
                p.loop(-1, lambda ts: None)


def test_callback_extra_args(tmp_path):
    got = []
    with pcap.pcap(savefile(tmp_path, 3)) as p:
        assert p.loop(-1, lambda ts, pkt, a, b: got.append((a, b)), "x", 2) == 3
    assert got == [("x", 2)] * 3


# -- Ctrl-C during long C loops over a savefile --------------------------------------

THREE_MILLION = 3_000_000


@pytest.fixture(scope="module")
def three_million_pcap(tmp_path_factory):
    """3,000,000 Ethernet/IPv4/UDP packets of 42 bytes, written in one go."""
    path = tmp_path_factory.mktemp("big") / "3m.pcap"
    frame = udp_frame(b"")
    rec = struct.pack("<IIII", 1700000000, 0, len(frame), len(frame)) + frame
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for _ in range(30):
            f.write(rec * (THREE_MILLION // 30))
    return str(path)


LONG_READ_CHILD = r"""
    import signal, sys, time, pcap
    landed = []
    def handler(*args):
        landed.append(time.monotonic())
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, handler)
    p = pcap.pcap(sys.argv[1])
    if sys.argv[3]:
        p.setfilter(sys.argv[3])
    print("READY", flush=True)
    t0 = time.monotonic()
    try:
        if sys.argv[2] == "readpkts":
            p.readpkts()
        else:
            p.loop(0)
        print("FINISHED", round(time.monotonic() - t0, 3), flush=True)
    except KeyboardInterrupt:
        print("LANDED", landed[0], flush=True)
"""

# A filter that every packet runs through to the end: it makes counting the
# file take long enough to be interrupted in the middle.
SLOW_FILTER = "udp and (" + " or ".join(f"port {n}" for n in range(1, 60)) + ")"


@pytest.mark.parametrize("how, flt", [("readpkts", ""), ("loop-count", SLOW_FILTER)])
def test_ctrl_c_lands_within_100_ms_during_a_long_savefile_read(three_million_pcap, how, flt):
    """Reading 3M packets into one list, or counting them in C without a
    callback, checks for signals as it goes: the handler runs within 0.1 s
    of SIGINT, not when the read is done."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(LONG_READ_CHILD), three_million_pcap, how, flt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "READY\n"
        time.sleep(0.15)
        t_signal = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert out.startswith("LANDED"), f"the read ended before the signal: {out!r} {err[-500:]}"
        landed = float(out.split()[1])
        assert landed - t_signal < 0.1, f"{how}: the handler ran {landed - t_signal:.3f} s after SIGINT"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


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
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CODE_4), str(free_port())],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["True", "b'code4 0'", "b'code4 1'", "b'code4 2'", "b'code4 3'"]


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


def test_a_callback_may_use_its_handle_but_not_read_it(tmp_path):
    with pcap.pcap(savefile(tmp_path, 5)) as p:
        seen = []

        def cb(ts, pkt):
            p.setfilter("udp")
            seen.append((p.datalink(), p.snaplen, p.filter))
            with pytest.raises(RuntimeError, match="inside one of its own reads"):
                next(p)
            with pytest.raises(RuntimeError, match="inside one of its own reads"):
                p.readpkts()

        assert p.loop(0, cb) == 5
        assert seen == [(pcap.DLT_EN10MB, 65535, "udp")] * 5
