"""Signals during a wait: Ctrl-C ends every kind of wait on a quiet live
handle within half a second, and a long read of a big savefile within 0.1 s;
a Python signal handler that returns lets the wait go on, one that raises
ends it; the module installs no C signal handler.

Every wait is bounded (a breakloop() timer, a deadline or a subprocess
timeout, and the watchdog fixture behind them)."""
import os
import select
import signal
import struct
import subprocess
import sys
import textwrap
import time

import pytest

import pcap
from support import Alarm, Later, free_port, open_lo, read_all, send_udp, udp_frame, udp_payload

pytestmark = pytest.mark.usefixtures("watchdog")


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


@pytest.mark.parametrize("mode", ["next", "iter", "loop", "dispatch", "readpkts"])
def test_sigalrm_handler_that_raises_ends_the_wait(live, restore_alarm, mode):
    def handler(signum, frame):
        raise Alarm("alarm rang")

    signal.signal(signal.SIGALRM, handler)
    with open_lo(free_port()) as p, Later(5, p.breakloop):
        t0 = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Alarm, match="alarm rang"):
            read_all(p, mode, batch=-1)
        elapsed = time.monotonic() - t0
    assert 0.25 < elapsed < 0.3 + 0.2


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
