"""Callbacks of dispatch() and loop(): an exception stops the read at once and
propagates with its traceback, a wrong arity raises TypeError, extra
arguments are passed on, and a callback may use its handle but not read
from it.

Every wait is bounded (a breakloop() timer, a deadline or a subprocess
timeout, and the watchdog fixture behind them)."""
import time

import pytest

import pcap
from support import Later, free_port, numbered_savefile, open_lo, send_udp, wait_readable

pytestmark = pytest.mark.usefixtures("watchdog")


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
    with pcap.pcap(numbered_savefile(tmp_path, n)) as p:
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
    with pcap.pcap(numbered_savefile(tmp_path, 10)) as p:
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

    with pcap.pcap(numbered_savefile(tmp_path, 5)) as p:
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
    with pcap.pcap(numbered_savefile(tmp_path, 5)) as p:
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
    with pcap.pcap(numbered_savefile(tmp_path, 3)) as p:
        assert p.loop(-1, lambda ts, pkt, a, b: got.append((a, b)), "x", 2) == 3
    assert got == [("x", 2)] * 3


def test_a_callback_may_use_its_handle_but_not_read_it(tmp_path):
    with pcap.pcap(numbered_savefile(tmp_path, 5)) as p:
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
