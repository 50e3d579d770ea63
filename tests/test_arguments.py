"""Numeric arguments (issue 13): one rule everywhere.  An int out of the
argument's range raises ValueError naming the argument and the range, a
value that is not an int raises TypeError naming the argument; nothing is
clamped, wrapped or ignored."""
import importlib.util
import os
import pickle
import pydoc
import re

import pytest

import pcap
from support import need

SAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "sample.pcap")

BIG = 2 ** 40       # beyond a C int: Cython alone would raise a bare OverflowError


def sample():
    return pcap.pcap(SAMPLE)


def fanout(**kw):
    with sample() as p:
        p.set_fanout(**{"group": 1, **kw})


# (call, argument name, text of the range)
OUT_OF_RANGE = [
    (lambda v: pcap.pcap(SAMPLE, snaplen=v), [-1, 262145, BIG], "snaplen", "0 to 262144"),
    (lambda v: pcap.pcap(SAMPLE, timeout_ms=v), [-1], "timeout_ms", "0 or more"),
    (lambda v: pcap.pcap(SAMPLE, timeout_ms=v), [BIG], "timeout_ms", "0 to 2147483647"),
    (lambda v: pcap.pcap(SAMPLE, buffer_size=v), [-1], "buffer_size", "0 or more"),
    (lambda v: pcap.pcap(SAMPLE, buffer_size=v), [BIG], "buffer_size", "0 to 2147483647"),
    (lambda v: sample().dispatch(v), [BIG], "cnt", "at most 2147483647"),
    (lambda v: sample().loop(v), [BIG], "cnt", "at most 2147483647"),
    (lambda v: sample().readpkts(v), [BIG], "cnt", "at most 2147483647"),
    (lambda v: sample().readbatch(v), [BIG], "cnt", "at most 2147483647"),
    (lambda v: sample().readinto(bytearray(240), bytearray(1 << 17), v), [BIG], "cnt", "at most 2147483647"),
    (lambda v: sample().next_batch(v), [0, -1], "cnt", "1 or more"),
    (lambda v: sample().next_batch(v), [BIG], "cnt", "1 to 2147483647"),
    (lambda v: sample().next_batch(10, v), [0, -5], "max_bytes", "1 or more"),
    (lambda v: pcap.bpf("tcp", snaplen=v), [0, -1, 262145], "snaplen", "1 to 262144"),
    (lambda v: pcap.bpf("tcp", dlt=v), [-1], "dlt", "0 or more"),
    (lambda v: pcap.dumper("/dev/null", snaplen=v), [0, -1], "snaplen", "1 or more"),
    (lambda v: pcap.dumper("/dev/null", dlt=v), [-1], "dlt", "0 or more"),
    (lambda v: pcap.dumper("/dev/null").write(1, b"abc", wirelen=v), [2, -1], "wirelen", "3 or more"),
    (lambda v: pcap.dumper("/dev/null").write(1, b"abc", wirelen=v), [1 << 32], "wirelen", "3 to 4294967295"),
    (lambda v: pcap.savefile_ranges(SAMPLE, v), [0, -3], "n", "1 or more"),
    (lambda v: fanout(group=v), [-1, 65536], "group", "0 to 65535"),
    (lambda v: fanout(mode=v), [-1, 256], "mode", "0 to 255"),
    (lambda v: sample().setdatalink(v), [-1], "dlt", "0 or more"),
    (lambda v: pcap.datalink_name(v), [BIG], "dlt", "-2147483648 to 2147483647"),
    (lambda v: pcap.datalink_description(v), [-BIG], "dlt", "-2147483648 or more"),
]


@pytest.mark.parametrize("call,values,name,limits", OUT_OF_RANGE,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(OUT_OF_RANGE)])
def test_out_of_range_is_valueerror_naming_argument_and_range(call, values, name, limits):
    for v in values:
        with pytest.raises(ValueError) as e:
            call(v)
        msg = str(e.value)
        assert msg.startswith(f"{name} must be {limits}"), msg
        assert msg.endswith(f"not {v!r}"), msg


NOT_AN_INT = [
    (lambda v: pcap.pcap(SAMPLE, snaplen=v), "snaplen"),
    (lambda v: pcap.pcap(SAMPLE, timeout_ms=v), "timeout_ms"),
    (lambda v: pcap.pcap(SAMPLE, buffer_size=v), "buffer_size"),
    (lambda v: sample().dispatch(v), "cnt"),
    (lambda v: sample().readpkts(v), "cnt"),
    (lambda v: sample().readbatch(v), "cnt"),
    (lambda v: sample().next_batch(10, v), "max_bytes"),
    (lambda v: sample().arrow_batches(v), "cnt"),
    (lambda v: pcap.bpf("tcp", v), "dlt"),
    (lambda v: pcap.dumper("/dev/null", snaplen=v), "snaplen"),
    (lambda v: pcap.savefile_ranges(SAMPLE, v), "n"),
    (lambda v: fanout(flags=v), "flags"),
    (lambda v: sample().setdirection(v), "direction"),
]


@pytest.mark.parametrize("call,name", NOT_AN_INT, ids=[f"{c[1]}-{i}" for i, c in enumerate(NOT_AN_INT)])
@pytest.mark.parametrize("value", [1.5, "3", None])
def test_not_an_int_is_typeerror_naming_argument(call, name, value):
    with pytest.raises(TypeError, match=f"^{name} must be an int, not {type(value).__name__}$"):
        call(value)


WRONG_TYPE = [
    (lambda: pcap.pcap(123), r"^name must be an interface name or a savefile path \(str, bytes, os\.PathLike\) "
                             r"or a binary file object, not int$"),
    (lambda: pcap.dumper(None), r"^path must be str, bytes or os\.PathLike, not NoneType$"),
    (lambda: sample().dump_open(3), r"^path must be str, bytes or os\.PathLike, not int$"),
    (lambda: pcap.lookupnet(5), r"^device name must be str, bytes or os\.PathLike, not int$"),
    (lambda: pcap.savefile_ranges(5, 2), r"^path must be str, bytes or os\.PathLike, not int$"),
    (lambda: pcap.bpf("tcp").filter("text"), r"^buf must be a bytes-like object, not str$"),
    (lambda: sample().readinto("x", bytearray(1 << 17)), r"^records must be a bytes-like object, not str$"),
    (lambda: sample().readinto(bytes(240), bytearray(1 << 17)), r"^records must be a writable buffer .*not a read-only bytes$"),
    (lambda: sample().readinto(bytearray(240), bytes(1 << 17)), r"^data must be a writable buffer .*not a read-only bytes$"),
    (lambda: pcap.datalink_value(1), r"^name must be str, not int$"),
    (lambda: pcap.open_range(SAMPLE, "24", 100), r"^start must be an int, not str$"),
    (lambda: pcap.open_range(SAMPLE, 24, 100.0), r"^end must be an int, not float$"),
    (lambda: sample().dispatch(1, 5), r"^callback must be callable, a dumper or None, not int$"),
    (lambda: sample().loop(1, "print"), r"^callback must be callable, a dumper or None, not str$"),
    (lambda: pcap.dumper("/dev/null").write("1.5", b"x"), r"^ts must be a number of seconds, not str$"),
    (lambda: pcap.dumper("/dev/null").write(1, 5), r"^buf must be a bytes-like object, not int$"),
    (lambda: pcap.dumper("/dev/null", timestamp_in_ns=True).write(1.5, b"x"),
     r"^ts must be int nanoseconds for this dumper \(timestamp_in_ns=True\), not float$"),
]


@pytest.mark.parametrize("call,message", WRONG_TYPE, ids=[str(i) for i in range(len(WRONG_TYPE))])
def test_a_wrong_type_is_typeerror_naming_the_argument(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_dumper_takes_numpy_numbers(tmp_path):
    need(importlib.util.find_spec("numpy") is not None, "numpy is not installed (the test extra has it)")
    import numpy as np
    path = tmp_path / "np.pcap"
    with pcap.dumper(path) as d:
        d.write(np.int64(5), b"a")
        d.write(np.float64(5.5), b"b")
    with pcap.dumper(tmp_path / "ns.pcap", nano=True, timestamp_in_ns=True) as d:
        d.write(np.int64(5_000_000_001), b"c")
    assert [ts for ts, _ in pcap.pcap(path)] == [5.0, 5.5]
    assert [ts for ts, _ in pcap.pcap(tmp_path / "ns.pcap", timestamp_in_ns=True)] == [5_000_000_001]


def test_arrow_max_bytes_range():
    need(importlib.util.find_spec("pyarrow") is not None, "pyarrow is not installed (the test extra has it)")
    with pytest.raises(ValueError, match=r"^max_bytes must be 1 to 2147483646, not 2147483647$"):
        sample().arrow_batches(10, 2 ** 31 - 1)
    with pytest.raises(ValueError, match=r"^cnt must be 1 or more, not 0$"):
        sample().to_arrow(0)
    with pytest.raises(ValueError, match=r"^cnt must be 1 or more, not 0$"):
        pcap.to_parquet(SAMPLE, "/dev/null", cnt=0)


def test_index_objects_and_bools_are_ints():
    """Anything with __index__ is an int, as everywhere in Python."""
    class Three:
        def __index__(self):
            return 3
    assert len(sample().readpkts(Three())) == 3
    stamps, bufs = sample().readbatch(True)
    assert len(bufs) == 1


@pytest.mark.parametrize("kind", ["int", "index", "numpy"])
def test_a_count_at_the_edge_of_a_c_int_is_taken_whatever_its_type(kind):
    """cnt 2**31 - 1 is the largest; 2**31 is refused, for an int, an
    __index__ object or a numpy integer alike."""
    if kind == "numpy":
        need(importlib.util.find_spec("numpy") is not None, "numpy is not installed (the test extra has it)")
        import numpy
        make = numpy.int64
    elif kind == "index":
        class make:
            def __init__(self, v):
                self.v = v

            def __index__(self):
                return self.v
    else:
        make = int
    assert sample().dispatch(make(2 ** 31 - 1)) == 7
    assert len(sample().readpkts(make(2 ** 31 - 1))) == 7
    with pytest.raises(ValueError, match=r"^cnt must be .*2147483647.*not 2147483648$"):
        sample().dispatch(make(2 ** 31))


@pytest.mark.parametrize("cnt", [0, -1, -2 ** 31, -BIG])
def test_a_count_of_zero_or_less_is_no_limit(cnt):
    assert len(sample().readpkts(cnt)) == 7
    assert sample().dispatch(cnt) == 7
    assert sample().loop(cnt) == 7


def test_the_range_is_not_checked_only_at_the_edges():
    """The largest and smallest values accepted are accepted."""
    with pcap.pcap(SAMPLE, snaplen=262144, timeout_ms=2 ** 31 - 1, buffer_size=2 ** 31 - 1) as p:
        assert p.timeout_ms == 2 ** 31 - 1
        assert len(p.readpkts(2 ** 31 - 1)) == 7
    with pcap.pcap(SAMPLE, snaplen=0) as p:
        assert len(list(p)) == 7
    assert len(pcap.bpf("tcp", snaplen=262144)) > 0
    assert len(pcap.savefile_ranges(SAMPLE, 100)) == 100


@pytest.mark.usefixtures("live")
def test_live_snaplen_zero_is_the_maximum():
    with pcap.pcap("lo", snaplen=0) as p:
        assert p.snaplen == 262144
    with pcap.pcap("lo", snaplen=1) as p:
        assert p.snaplen == 1


# -- what pypcap scripts pass ------------------------------------------------------

def test_setfilter_optimize_takes_bools_and_ints():
    for optimize in (True, False, 1, 0):
        with sample() as p:
            p.setfilter("tcp", optimize=optimize)
            assert len(p.readpkts()) == 3
    with sample() as p:
        p.setfilter("tcp")           # the default optimizes, as bpf() does
        assert len(p.readpkts()) == 3


def test_dltoff_has_pypcaps_keys():
    """pypcap 1.3 keyed dltoff by its own DLT values: DLT_PFSYNC was 18
    everywhere (libpcap's is 246 on Linux), DLT_LOOP 108, DLT_RAW 12."""
    assert pcap.dltoff[18] == 4
    assert pcap.dltoff[pcap.DLT_PFSYNC] == 4
    assert pcap.dltoff[108] == 4 and pcap.dltoff[12] == 0
    expected = {0: 4, 1: 14, 6: 22, 7: 6, 8: 16, 9: 4, 10: 21, 117: 48, 18: 4, 108: 4, 12: 0, 113: 16}
    for dlt, off in expected.items():
        assert pcap.dltoff[dlt] == off, dlt


# -- help() -----------------------------------------------------------------------

def test_help_shows_python_signatures_without_cython_internals():
    text = pydoc.render_doc(pcap.pcap, renderer=pydoc.plaintext)
    assert "pcap(name=None, snaplen=65535, promisc=True, timeout_ms=0" in text
    assert not re.search(r"\b(int|bint|Py_ssize_t|double) \w+", text.split("Methods defined here")[1]
                         .split("Data descriptors")[0]), "a C type in a signature"
    for internal in ("__reduce_cython__", "__setstate_cython__", "__pyx_state", "__pyx_vtable__"):
        assert internal not in text
    assert "__pyx_vtable__" not in pydoc.render_doc(pcap.dumper, renderer=pydoc.plaintext)
    for name in ("__next__", "__aiter__"):
        doc = getattr(pcap.pcap, name).__doc__
        assert doc and len(doc.split()) > 8, name


def test_python_subclasses_read_and_write_without_the_vtable_capsule(tmp_path):
    """With the capsule gone from the types' dicts (help() showed it), a
    subclass's methods still reach the C ones: every read path, the
    filter, and a dumper subclass writing what it read."""
    class Handle(pcap.pcap):
        def count(self):
            return sum(1 for _ in self)

    class Writer(pcap.dumper):
        pass

    with pcap.pcap(SAMPLE) as p:
        want = p.readpkts()
    with Handle(SAMPLE) as p:
        assert p.count() == len(want) == 7
    with Handle(SAMPLE) as p:
        assert p.readpkts() == want
    with Handle(SAMPLE) as p:
        got = []
        assert p.dispatch(-1, lambda ts, buf: got.append((ts, buf))) == 7 and got == want
    with Handle(SAMPLE) as p:
        records, data = p.next_batch()
        assert len(records) == 7 * pcap.BATCH_RECORD_SIZE and len(data) == sum(len(b) for _, b in want)
    with Handle(SAMPLE) as p:
        p.setfilter("tcp")
        tcp = p.readpkts()
        assert 0 < len(tcp) < 7
    out = tmp_path / "sub.pcap"
    with Writer(str(out), dlt=pcap.DLT_EN10MB) as d:
        for ts, buf in want:
            d.write(ts, buf)
    with pcap.pcap(str(out)) as p:
        assert p.readpkts() == want


def test_a_handle_does_not_pickle():
    with sample() as p, pytest.raises(TypeError):
        pickle.dumps(p)


# -- flags (issue 19) ----------------------------------------------------------
# One rule for every boolean argument: True/False, numpy's bool, or pypcap's
# 1/0.  Anything else raises, naming the argument: setnonblock("no") used to
# turn nonblocking mode on by the string's truth.

def _appended(tmp_path, v):
    path = tmp_path / "append.pcap"
    with pcap.dumper(path) as d:
        d.write(1, b"first")
    with pcap.dumper(path, append=v) as d:
        d.write(2, b"second")
    return len(pcap.pcap(path).readpkts()) == 2


def _dump_open_appended(tmp_path, v):
    path = tmp_path / "dump_open.pcap"
    path.unlink(missing_ok=True)
    for _ in range(2):
        with sample() as p, p.dump_open(path, append=v) as d:
            p.loop(1, d)
    return len(pcap.pcap(path).readpkts()) == 2


def _nonblock(tmp_path, v):
    with sample() as p:
        p.setnonblock(v)
        return p.getnonblock()


def _optimized(tmp_path, v):
    expr = "tcp port 80 or tcp port 80"
    return len(pcap.bpf(expr, dlt=pcap.DLT_EN10MB, optimize=v)) < len(pcap.bpf(expr, dlt=pcap.DLT_EN10MB,
                                                                                   optimize=False))


def _setfilter_optimize(tmp_path, v):
    with sample() as p:
        p.setfilter("tcp", optimize=v)
        return len(p.readpkts()) == 3      # (what the optimizer did is not visible here)


def _savefile_flag(name):
    def opened(tmp_path, v):
        with pcap.pcap(SAMPLE, **{name: v}) as p:
            return p.timestamp_in_ns if name == "timestamp_in_ns" else True
    return opened


# (argument name, call(tmp_path, value) -> what the value did, or None when it has no visible effect)
FLAGS = [
    ("promisc", _savefile_flag("promisc"), None),
    ("immediate", _savefile_flag("immediate"), None),
    ("rfmon", _savefile_flag("rfmon"), None),
    ("timestamp_in_ns", _savefile_flag("timestamp_in_ns"), True),
    ("nonblock", _nonblock, True),
    ("optimize", _setfilter_optimize, None),
    ("optimize", _optimized, True),
    ("wirelens", lambda tmp, v: len(sample().readbatch(2, wirelens=v)) == 3, True),
    ("nano", lambda tmp, v: pcap.dumper(tmp / "n.pcap", nano=v).nano, True),
    ("timestamp_in_ns", lambda tmp, v: pcap.dumper(tmp / "t.pcap", timestamp_in_ns=v).timestamp_in_ns, True),
    ("append", _appended, True),
    ("append", _dump_open_appended, True),
]
FLAG_IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(FLAGS)]


def _np_bools():
    need(importlib.util.find_spec("numpy") is not None, "numpy is not installed (the test extra has it)")
    import numpy as np
    return [(np.True_, True), (np.False_, False), (np.int8(1), True), (np.uint64(0), False)]


@pytest.mark.parametrize("name,call,visible", FLAGS, ids=FLAG_IDS)
def test_a_flag_takes_bools_and_pypcaps_ints(tmp_path, name, call, visible):
    for value, meant in [(True, True), (False, False), (1, True), (0, False), *_np_bools()]:
        got = call(tmp_path, value)
        if visible:
            assert got is meant, (name, value, got)
        else:
            assert got is True, (name, value, got)


@pytest.mark.parametrize("name,call,visible", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("value", ["no", "", None, 1.0, b"\x01", [True]], ids=repr)
def test_a_flag_refuses_what_is_not_a_bool(tmp_path, name, call, visible, value):
    if name == "nano" and value is None:
        # (None is the dumper's default: the format's own, microseconds for pcap.)
        assert call(tmp_path, value) is False
        return
    with pytest.raises(TypeError, match=f"^{name} must be True or False, not {type(value).__name__}$"):
        call(tmp_path, value)


@pytest.mark.parametrize("name,call,visible", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("value", [2, -1, 2 ** 70])
def test_a_flag_refuses_other_ints(tmp_path, name, call, visible, value):
    with pytest.raises(ValueError, match=rf"^{name} must be True or False \(or 1 or 0\), not {value}$"):
        call(tmp_path, value)


def test_setnonblock_no_leaves_the_mode_alone():
    with sample() as p:
        with pytest.raises(TypeError, match="^nonblock must be True or False, not str$"):
            p.setnonblock("no")
        assert p.getnonblock() is False


@pytest.mark.usefixtures("live")
def test_live_flags_take_pypcaps_ints():
    with pcap.pcap("lo", promisc=1, immediate=1, rfmon=0, timeout_ms=1) as p:
        assert (p.name, p.snaplen) == ("lo", 65535)
    with pytest.raises(TypeError, match="^promisc must be True or False, not str$"):
        pcap.pcap("lo", promisc="false")
    with pytest.raises(TypeError, match="^immediate must be True or False, not NoneType$"):
        pcap.pcap("lo", immediate=None)


# -- sendpacket (issue 19) ---------------------------------------------------------

@pytest.mark.usefixtures("live")
@pytest.mark.parametrize("empty", [b"", bytearray(), memoryview(b"")], ids=lambda b: type(b).__name__)
def test_sendpacket_of_nothing_says_so_without_a_stale_errno(empty):
    """libpcap refuses 0 bytes with the text of whatever errno was left over
    ("must be positive: No such device")."""
    with pcap.pcap("lo") as p:
        with pytest.raises(ValueError, match=r"^buf must hold a packet, not 0 bytes$"):
            p.sendpacket(empty)
