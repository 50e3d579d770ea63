"""Writing savefiles: pcap.dumper and pcap.pcap.dump_open.

Every file written here is also checked with a reader that does not use the
module (``support.parse_pcap``, with struct), and once with tcpdump -r.
"""
import array
import ctypes
import ctypes.util
import mmap
import os
import re
import shutil
import struct
import subprocess
import sys

import pytest

import pcap
from support import (MAGIC_US, check_child, need, parse_pcap, read_source, run_python, udp_frame,
                     write_pcap, write_pcapng)

def read_ns(path):
    """(int ns timestamp, bytes) of every packet, read by the module."""
    return [(ts, buf) for ts, buf, _ in read_source(path)]


# -- round trips ---------------------------------------------------------------

def test_ns_round_trip_exact(tmp_path):
    path = tmp_path / "ns.pcap"
    stamps = [0, 1, 999_999_999, 1_000_000_000, 1_700_000_000_123_456_789,
              1_700_000_000_999_999_999, (2**31 - 1) * 10**9 + 999_999_999]
    stamps += [1_712_345_678 * 10**9 + i * 7_919_113 for i in range(200)]
    bufs = [udp_frame(b"%d" % i) for i in range(len(stamps))]
    with pcap.dumper(path, nano=True, timestamp_in_ns=True) as d:
        assert d.nano and d.timestamp_in_ns and d.dlt == pcap.DLT_EN10MB and d.snaplen == 65535
        for ts, buf in zip(stamps, bufs):
            d.write(ts, buf)
    assert read_ns(path) == list(zip(stamps, bufs))
    header, records = parse_pcap(path)
    assert header == dict(nano=True, version=(2, 4), thiszone=0, sigfigs=0, snaplen=65535, linktype=1)
    assert [(r[0], r[1]) for r in records] == [divmod(ts, 10**9) for ts in stamps]
    assert [r[4] for r in records] == bufs
    assert all(r[2] == r[3] == len(b) for r, b in zip(records, bufs))


def test_us_file_keeps_every_microsecond_from_float_seconds(tmp_path):
    """All 10**6 microseconds of one second near the top of the 32-bit range
    (where a float has the fewest bits to spare) survive float seconds: the
    file, read with struct, holds each one."""
    path = tmp_path / "us.pcap"
    sec = 2**32 - 2
    with pcap.dumper(path, dlt=pcap.DLT_RAW) as d:
        assert not d.nano and not d.timestamp_in_ns
        for usec in range(10**6):
            d.write(sec + usec / 1e6, b"")
        d.write(sec + 0.9999996, b"")          # rounds up into the next second
    raw = path.read_bytes()
    magic, _, _, _, _, snaplen, linktype = struct.unpack_from("<IHHiIII", raw)
    assert (magic, snaplen, linktype) == (MAGIC_US, 65535, 101)   # LINKTYPE_RAW
    recs = list(struct.iter_unpack("<IIII", raw[24:]))
    assert len(recs) == 10**6 + 1
    bad = [(i, r) for i, r in enumerate(recs[:-1]) if r != (sec, i, 0, 0)]
    assert bad[:5] == []
    assert recs[-1] == (sec + 1, 0, 0, 0)


def test_us_round_trip_read_back(tmp_path):
    """Float seconds -> µs file -> int ns read by the module: the same
    microseconds, before 2038 (see test_timestamps_after_2038_round_trip)."""
    path = tmp_path / "us.pcap"
    sec = 2**31 - 2
    usecs = list(range(0, 10**6, 7)) + [1, 2, 999_998, 999_999]
    with pcap.dumper(path) as d:
        for usec in usecs:
            d.write(sec + usec / 1e6, b"u")
    assert [ts for ts, _ in read_ns(path)] == [sec * 10**9 + usec * 1000 for usec in usecs]


def test_timestamps_after_2038_round_trip(tmp_path):
    """The file's seconds are unsigned 32 bits: 2038 to 2106 must come back."""
    stamps = [2**31 * 10**9, (2**31 + 12345) * 10**9 + 678_901_234, (2**32 - 1) * 10**9 + 999_999_999]
    ns = tmp_path / "ns.pcap"
    with pcap.dumper(ns, nano=True, timestamp_in_ns=True) as d:
        for ts in stamps:
            d.write(ts, b"late")
    assert [(r[0], r[1]) for r in parse_pcap(ns)[1]] == [divmod(ts, 10**9) for ts in stamps]
    assert read_ns(ns) == [(ts, b"late") for ts in stamps]
    us = tmp_path / "us.pcap"
    with pcap.dumper(us) as d:
        d.write(2**32 - 1 + 0.999999, b"late")
    assert read_ns(us) == [((2**32 - 1) * 10**9 + 999_999_000, b"late")]


def test_us_float_timestamps_read_back(tmp_path):
    path = tmp_path / "us.pcap"
    stamps = [1_700_000_000.0, 1_700_000_000.000001, 1_700_000_000.5, 1_700_000_000.999999, 86400.25]
    with pcap.dumper(path) as d:
        for ts in stamps:
            d.write(ts, b"x")
    with pcap.pcap(str(path)) as p:
        got = [ts for ts, _ in p]
    assert [round(t * 1e6) for t in got] == [round(t * 1e6) for t in stamps]
    assert [(r[0], r[1]) for r in parse_pcap(path)[1]] == [
        (1_700_000_000, 0), (1_700_000_000, 1), (1_700_000_000, 500000), (1_700_000_000, 999999), (86400, 250000)]


def test_int_seconds_and_ns_into_us_file(tmp_path):
    path = tmp_path / "a.pcap"
    with pcap.dumper(path) as d:
        d.write(1_700_000_000, b"int seconds")
    assert parse_pcap(path)[1][0][:2] == (1_700_000_000, 0)
    # int ns into a microsecond file: the microseconds are kept, the rest dropped
    with pcap.dumper(path, timestamp_in_ns=True) as d:
        d.write(1_700_000_000_123_456_789, b"ns")
    assert parse_pcap(path)[1][0][:2] == (1_700_000_000, 123456)
    assert read_ns(path) == [(1_700_000_000_123_456_000, b"ns")]


class _Float(float):
    """A float that write() does not take in C (not exactly float): the Python path."""


class _Int(int):
    """Likewise an int."""


@pytest.mark.parametrize("fmt,nano,in_ns", [("pcap", False, False), ("pcap", True, False), ("pcapng", False, False),
                                            ("pcapng", True, False), ("pcap", True, True), ("pcapng", True, True)])
def test_write_fast_path_stamps_as_the_python_path(tmp_path, fmt, nano, in_ns):
    """write() converts floats, ints and int nanoseconds in C; every
    stamp comes out as the Python path (_split_seconds: floor, the fraction
    rounded half to even) makes it, and the same stamps are refused."""
    import random
    rng = random.Random(5)
    if in_ns:
        stamps = [0, 1, 999_999_999, 10**9, 4294967295 * 10**9 + 999_999_999, 4294967296 * 10**9,
                  18446744072 * 10**9 + 999_999_999, 18446744073 * 10**9, 2**63 - 1, 2**63, -1]
        stamps += [rng.randrange(0, 2**62) for _ in range(300)]
        slow = _Int
    else:
        stamps = [0.0, 0.5, 1e-7, 5e-7, 1.5e-6, 2.5e-6, 0.9999995, 0.99999999999, 1_700_000_000.0000005,
                  1_700_000_000.9999996, 4294967295.9999999, 4294967295.0000005, 4294967296.0, 4294967296.5,
                  18446744072.5, 18446744073.0, 1e30, -0.0, -1e-9, -1.0, float("nan"), float("inf"),
                  0, 1, 4294967295, 4294967296, 18446744072, 18446744073, 2**64, -1]
        stamps += [rng.uniform(0, 2**32) for _ in range(300)] + [rng.randrange(0, 2**33) for _ in range(50)]
        stamps += [rng.randrange(0, 2**32) + k / 2e6 for k in range(0, 41)]      # halves of a microsecond
        stamps += [rng.randrange(0, 2**32) + k / 2e9 for k in range(0, 41)]      # and of a nanosecond
        slow = lambda x: _Float(x) if isinstance(x, float) else _Int(x)       # noqa: E731
    outs = []
    for name, conv in (("fast", lambda x: x), ("slow", slow)):
        path = tmp_path / f"{name}.{fmt}"
        refused = []
        with pcap.dumper(path, format=fmt, nano=nano, timestamp_in_ns=in_ns) as d:
            for k, ts in enumerate(stamps):
                try:
                    d.write(conv(ts), b"x")
                except (ValueError, OverflowError) as e:
                    refused.append((k, type(e)))
        outs.append((refused, path.read_bytes() if fmt == "pcap" else read_ns(path)))
    assert outs[0] == outs[1]
    assert outs[0][0], "some stamps must be refused"


def test_ns_dumper_rejects_float(tmp_path):
    with pcap.dumper(tmp_path / "a.pcap", nano=True, timestamp_in_ns=True) as d:
        with pytest.raises(TypeError, match="int nanoseconds"):
            d.write(1.5, b"x")


def test_timestamp_out_of_range(tmp_path):
    with pcap.dumper(tmp_path / "a.pcap", nano=True, timestamp_in_ns=True) as d:
        with pytest.raises(ValueError, match="1970"):
            d.write(-1, b"x")
        with pytest.raises(ValueError, match="timestamp"):
            d.write(2**32 * 10**9 + 5, b"x")     # does not fit the file's 32-bit seconds
    with pcap.dumper(tmp_path / "b.pcap") as d:
        with pytest.raises(ValueError, match="timestamp"):
            d.write(2**32 + 0.5, b"x")
        with pytest.raises(ValueError, match="timestamp"):
            d.write(2**32, b"x")
    assert parse_pcap(tmp_path / "a.pcap")[1] == []
    assert parse_pcap(tmp_path / "b.pcap")[1] == []


def test_wirelen_and_snaplen_cut(tmp_path):
    path = tmp_path / "cut.pcap"
    data = bytes(range(100))
    with pcap.dumper(path, snaplen=64) as d:
        assert d.snaplen == 64
        d.write(1, data)                 # cut to 64, wirelen 100
        d.write(2, data, wirelen=1500)   # cut to 64, wirelen 1500
        d.write(3, data[:10])            # shorter than the snaplen
        d.write(4, data[:10], wirelen=10)
        with pytest.raises(ValueError, match="^wirelen must be 10 or more, not 9$"):
            d.write(5, data[:10], wirelen=9)
    header, records = parse_pcap(path)
    assert header["snaplen"] == 64
    assert [(r[0], r[2], r[3], r[4]) for r in records] == [
        (1, 64, 100, data[:64]), (2, 64, 1500, data[:64]), (3, 10, 10, data[:10]), (4, 10, 10, data[:10])]
    assert read_ns(path) == [(1 * 10**9, data[:64]), (2 * 10**9, data[:64]),
                             (3 * 10**9, data[:10]), (4 * 10**9, data[:10])]


def test_snaplen_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="snaplen"):
        pcap.dumper(tmp_path / "a.pcap", snaplen=0)


def test_link_type_in_header(tmp_path):
    for dlt, linktype in ((pcap.DLT_EN10MB, 1), (pcap.DLT_RAW, 101), (pcap.DLT_LINUX_SLL, 113),
                          (pcap.DLT_NULL, 0)):
        path = tmp_path / f"{dlt}.pcap"
        with pcap.dumper(path, dlt=dlt) as d:
            assert d.dlt == dlt
            d.write(1, b"\0" * 20)
        assert parse_pcap(path)[0]["linktype"] == linktype
        with pcap.pcap(str(path)) as p:
            assert p.datalink() == dlt


# -- buffers and paths ---------------------------------------------------------

def bytes_likes():
    data = b"0123456789abcdef"
    mm = mmap.mmap(-1, len(data))
    mm.write(data)
    return [
        ("bytes", data, data),
        ("bytearray", bytearray(data), data),
        ("memoryview", memoryview(data), data),
        ("memoryview slice", memoryview(data)[3:9], data[3:9]),
        ("array B", array.array("B", data), data),
        ("array H", array.array("H", [1, 2, 0xFFFF]), array.array("H", [1, 2, 0xFFFF]).tobytes()),
        ("ctypes", (ctypes.c_char * len(data)).from_buffer_copy(data), data),
        ("mmap", mm, data),
        ("empty", b"", b""),
    ]


def test_every_bytes_like_buffer(tmp_path):
    path = tmp_path / "b.pcap"
    cases = bytes_likes()
    with pcap.dumper(path) as d:
        for i, (_, obj, _) in enumerate(cases):
            d.write(i, obj)
    expect = [(i * 10**9, want) for i, (_, _, want) in enumerate(cases)]
    assert read_ns(path) == expect
    assert [(r[3], r[4]) for r in parse_pcap(path)[1]] == [(len(w), w) for _, _, w in cases]


def test_non_contiguous_buffer_rejected(tmp_path):
    with pcap.dumper(tmp_path / "a.pcap") as d:
        with pytest.raises(BufferError, match="contiguous"):
            d.write(1, memoryview(b"abcdef")[::2])
    assert parse_pcap(tmp_path / "a.pcap")[1] == []


@pytest.mark.parametrize("obj", ["text", 5, None, [1, 2]], ids=["str", "int", "None", "list"])
def test_non_buffer_rejected(tmp_path, obj):
    with pcap.dumper(tmp_path / "a.pcap") as d:
        with pytest.raises(TypeError, match="bytes-like"):
            d.write(1, obj)


@pytest.mark.parametrize("kind", ["str", "bytes", "pathlib"])
def test_path_types(tmp_path, kind):
    target = tmp_path / "p.pcap"
    path = {"str": str(target), "bytes": os.fsencode(target), "pathlib": target}[kind]
    with pcap.dumper(path) as d:
        assert d.path == str(target)
        assert repr(d) == f"<pcap.dumper {str(target)!r}>"
        d.write(1, b"x")
    assert repr(d) == f"<closed pcap.dumper {str(target)!r}>"
    assert parse_pcap(target)[1][0][4] == b"x"


def test_missing_directory(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "x.pcap"
    with pytest.raises(OSError, match=rf"{re.escape(str(path))}.*No such file or directory"):
        pcap.dumper(path)
    with pytest.raises(OSError, match=rf"{re.escape(str(path))}.*No such file or directory"):
        pcap.dumper(path, append=True)


def test_directory_as_path(tmp_path):
    for append in (False, True):
        with pytest.raises(OSError, match=rf"{re.escape(str(tmp_path))}.*Is a directory"):
            pcap.dumper(tmp_path, append=append)


def test_nul_in_path(tmp_path):
    with pytest.raises(ValueError, match="NUL"):
        pcap.dumper(str(tmp_path) + "/a\0b")


def test_write_error_dev_full():
    need(os.path.exists("/dev/full"), "/dev/full is missing")
    with pytest.raises(OSError, match=r"/dev/full.*No space left on device"):
        with pcap.dumper("/dev/full") as d:
            for i in range(64):          # well past stdio's buffer
                d.write(i, b"x" * 1000)
            d.flush()
    assert d.closed


def test_flush_error_dev_full():
    need(os.path.exists("/dev/full"), "/dev/full is missing")
    d = pcap.dumper("/dev/full")
    d.write(1, b"x" * 100)              # fits in stdio's buffer
    with pytest.raises(OSError, match=r"/dev/full.*No space left on device"):
        d.flush()
    assert not d.closed
    with pytest.raises(OSError, match=r"/dev/full.*No space left on device"):
        d.close()                        # (what could not be written is said again, and the file closed)
    assert d.closed


# -- lifecycle -----------------------------------------------------------------

def test_closed_dumper_raises_value_error(tmp_path):
    d = pcap.dumper(tmp_path / "a.pcap")
    assert not d.closed
    d.write(1, b"a")
    d.close()
    assert d.closed
    with pytest.raises(ValueError, match="closed dumper"):
        d.write(2, b"b")
    with pytest.raises(ValueError, match="closed dumper"):
        d.flush()
    with pytest.raises(ValueError, match="closed dumper"):
        d.__enter__()
    d.close()                            # closing twice does nothing
    assert [r[4] for r in parse_pcap(tmp_path / "a.pcap")[1]] == [b"a"]


def test_context_manager_closes_on_error(tmp_path):
    path = tmp_path / "a.pcap"
    with pytest.raises(RuntimeError, match="boom"):
        with pcap.dumper(path) as d:
            d.write(1, b"kept")
            raise RuntimeError("boom")
    assert d.closed
    assert [r[4] for r in parse_pcap(path)[1]] == [b"kept"]


def test_close_writes_everything(tmp_path):
    path = tmp_path / "a.pcap"
    d = pcap.dumper(path)
    bufs = [os.urandom(n) for n in range(0, 3000, 7)]
    for i, b in enumerate(bufs):
        d.write(i, b)
    d.close()
    assert [r[4] for r in parse_pcap(path)[1]] == bufs


READER = r"""
import struct, sys
raw = open(sys.argv[1], "rb").read()
off, n = 24, 0
while off + 16 <= len(raw):
    incl = struct.unpack_from("<IIII", raw, off)[2]
    off += 16 + incl
    n += 1
print(len(raw), n)
"""


def other_process_sees(path):
    out = check_child(run_python(READER, path, timeout=30)).split()
    return int(out[0]), int(out[1])


def test_flush_seen_by_second_reader_before_close(tmp_path):
    path = tmp_path / "live.pcap"
    d = pcap.dumper(path)
    d.write(1, b"first")
    d.write(2, b"second")
    d.flush()
    size = 24 + 2 * 16 + len(b"first") + len(b"second")
    assert other_process_sees(path) == (size, 2)
    assert read_ns(path) == [(10**9, b"first"), (2 * 10**9, b"second")]
    d.write(3, b"third")
    d.flush()
    assert other_process_sees(path) == (size + 16 + 5, 3)
    assert [b for _, b in read_ns(path)] == [b"first", b"second", b"third"]
    assert not d.closed
    d.close()


# -- append --------------------------------------------------------------------

@pytest.mark.parametrize("nano", [False, True], ids=["us", "ns"])
def test_append(tmp_path, nano):
    path = tmp_path / "a.pcap"
    unit = 1 if nano else 1000
    with pcap.dumper(path, nano=nano, timestamp_in_ns=True, snaplen=200) as d:
        d.write(10 * 10**9 + 1 * unit, b"one")
        d.write(11 * 10**9 + 2 * unit, b"two")
    with pcap.dumper(path, nano=nano, timestamp_in_ns=True, snaplen=200, append=True) as d:
        d.write(12 * 10**9 + 3 * unit, b"three")
    with pcap.dumper(path, nano=nano, timestamp_in_ns=True, snaplen=200, append=True) as d:
        d.write(13 * 10**9 + 4 * unit, b"four")
    assert read_ns(path) == [(10 * 10**9 + unit, b"one"), (11 * 10**9 + 2 * unit, b"two"),
                             (12 * 10**9 + 3 * unit, b"three"), (13 * 10**9 + 4 * unit, b"four")]
    header, records = parse_pcap(path)
    assert header["nano"] is nano and header["snaplen"] == 200
    assert len(records) == 4


def test_append_to_missing_file_creates_it(tmp_path):
    path = tmp_path / "new.pcap"
    with pcap.dumper(path, append=True) as d:
        d.write(5, b"x")
    assert parse_pcap(path)[0]["linktype"] == 1
    assert read_ns(path) == [(5 * 10**9, b"x")]


def test_append_to_hand_written_file(tmp_path):
    path = write_pcap(tmp_path / "h.pcap", [(1, 2, b"hand")], snaplen=65535)
    with pcap.dumper(path, append=True) as d:
        d.write(3.000004, b"appended")
    assert read_ns(path) == [(1_000_002_000, b"hand"), (3_000_004_000, b"appended")]


@pytest.mark.parametrize("kw,reason", [
    (dict(nano=True), "precision"), (dict(dlt=12), "linktype"), (dict(snaplen=100), "snaplen")])
def test_append_mismatch(tmp_path, kw, reason):
    path = tmp_path / "a.pcap"
    with pcap.dumper(path) as d:
        d.write(1, b"a")
    before = path.read_bytes()
    with pytest.raises(OSError, match=rf"{re.escape(str(path))}.*{reason}"):
        pcap.dumper(path, append=True, **kw)
    assert path.read_bytes() == before


def test_append_to_non_pcap(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"this is not a pcap file at all, no")
    with pytest.raises(OSError, match=rf"{re.escape(str(path))}.*not a pcap file"):
        pcap.dumper(path, append=True)


def test_without_append_truncates(tmp_path):
    path = tmp_path / "a.pcap"
    with pcap.dumper(path) as d:
        d.write(1, b"old")
    with pcap.dumper(path) as d:
        d.write(2, b"new")
    assert read_ns(path) == [(2 * 10**9, b"new")]


# -- dump_open -----------------------------------------------------------------

@pytest.mark.parametrize("nano,in_ns", [(False, False), (False, True), (True, True)],
                         ids=["us-float", "us-int", "ns-int"])
def test_dump_open_copies_exactly(tmp_path, nano, in_ns):
    """for ts, buf in p: d.write(ts, buf) gives back the same file, byte for
    byte (a file written by hand in this machine's byte order, wirelen equal
    to the captured length).  Float seconds cannot carry nanoseconds, so a
    nanosecond file is copied with int ns timestamps only."""
    frac = 10**9 if nano else 10**6
    pkts = [(1_700_000_000 + i, (i * 123_457) % frac, udp_frame(b"p%d" % i)) for i in range(50)]
    pkts.append((1_700_000_100, frac - 1, b"\xff" * 120))
    src = write_pcap(tmp_path / "src.pcap", pkts, byteorder="<" if sys.byteorder == "little" else ">",
                     nano=nano, linktype=113, snaplen=300)
    dst = tmp_path / "dst.pcap"
    with pcap.pcap(str(src), timestamp_in_ns=in_ns) as p:
        with p.dump_open(dst) as d:
            assert (d.dlt, d.snaplen, d.timestamp_in_ns) == (pcap.DLT_LINUX_SLL, 300, in_ns)
            assert d.nano is nano
            n = 0
            for ts, buf in p:
                d.write(ts, buf)
                n += 1
    assert n == len(pkts)
    assert parse_pcap(dst) == parse_pcap(src)
    assert dst.read_bytes() == src.read_bytes()


def test_dump_open_append(tmp_path):
    src = write_pcap(tmp_path / "src.pcap", [(5, 6, b"abc"), (7, 8, b"defg")], nano=True)
    dst = tmp_path / "dst.pcap"
    for _ in range(2):
        with pcap.pcap(str(src), timestamp_in_ns=True) as p:
            with p.dump_open(str(dst), append=True) as d:
                for ts, buf in p:
                    d.write(ts, buf)
    assert read_ns(dst) == [(5_000_000_006, b"abc"), (7_000_000_008, b"defg")] * 2


def test_dump_open_on_closed_handle(tmp_path):
    src = write_pcap(tmp_path / "src.pcap", [(5, 6, b"abc")])
    p = pcap.pcap(str(src))
    p.close()
    with pytest.raises(ValueError, match="closed"):
        p.dump_open(tmp_path / "x.pcap")
    assert not (tmp_path / "x.pcap").exists()


def test_dump_open_bad_path(tmp_path):
    src = write_pcap(tmp_path / "src.pcap", [(5, 6, b"abc")])
    with pcap.pcap(str(src)) as p:
        with pytest.raises(OSError, match=rf"{re.escape(str(tmp_path))}/nodir/x\.pcap.*No such file"):
            p.dump_open(tmp_path / "nodir" / "x.pcap")


def test_dump_open_live_lo(tmp_path, live):
    """Copy a few packets captured on lo: same link type, and the packets
    and int-ns timestamps come back unchanged."""
    import socket
    port = 47613
    dst = tmp_path / "lo.pcap"
    with pcap.pcap("lo", immediate=True, timestamp_in_ns=True, timeout_ms=2000, snaplen=512) as p:
        p.setfilter(f"udp and dst port {port}")
        d = p.dump_open(dst)
        assert d.dlt == p.datalink() and d.snaplen == p.snaplen and d.timestamp_in_ns
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(3):
                s.sendto(b"dump_open %d" % i + b"." * 600, ("127.0.0.1", port))
        got = []
        while len(got) < 3:
            pkts = p.readpkts()
            assert pkts, "no packet from lo within 2 s"
            got += pkts
        for ts, buf in got:
            d.write(ts, buf)
        d.close()
    assert read_ns(dst) == got
    _, records = parse_pcap(dst)
    assert all(r[2] == 512 and r[3] == 512 for r in records)   # the copy cannot know the wire length


# -- an independent reader: tcpdump --------------------------------------------

def test_tcpdump_reads_written_files(tmp_path):
    tcpdump = shutil.which("tcpdump")
    need(tcpdump, "tcpdump is not installed (apt-get install tcpdump)")
    us = tmp_path / "us.pcap"
    ns = tmp_path / "ns.pcap"
    frame = udp_frame(b"hello tcpdump", sport=1111, dport=2222)
    with pcap.dumper(us) as d:
        d.write(1_700_000_000.654321, frame)
    with pcap.dumper(ns, nano=True, timestamp_in_ns=True) as d:
        d.write(1_700_000_000_987_654_321, frame)
    out = subprocess.run([tcpdump, "-r", str(us), "-nn", "-tt"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert out.startswith("1700000000.654321 IP 10.0.0.1.1111 > 10.0.0.2.2222: UDP, length 13"), out
    out = subprocess.run([tcpdump, "-r", str(ns), "-nn", "-tt", "--time-stamp-precision=nano"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.startswith("1700000000.987654321 IP 10.0.0.1.1111 > 10.0.0.2.2222: UDP, length 13"), out


# -- exact copies: time stamps, captured bytes and wire lengths --------------------

def truncated_capture(tmp_path, nano, byteorder):
    """A capture taken with a snaplen: records whose wire length exceeds the
    bytes kept, and some that are whole."""
    packets = [(1700000000 + i, (i * 7919) % (10**9 if nano else 10**6), udp_frame(b"x" * (i % 50)),
                200 + i if i % 3 else None) for i in range(60)]
    packets = [(s, f, d) if w is None else (s, f, d, w) for s, f, d, w in packets]
    return write_pcap(tmp_path / "snapped.pcap", packets, nano=nano, byteorder=byteorder, snaplen=96)


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("how", ["loop", "dispatch", "iterate"])
def test_copy_of_a_capture_is_exact(tmp_path, nano, how):
    """dump_open() and loop(0, d) (or d.write(ts, buf, p.wirelen)) copy a
    file with cut records byte for byte: time stamps, caplen and wire length."""
    src = truncated_capture(tmp_path, nano, "<")
    out = tmp_path / "copy.pcap"
    with pcap.pcap(str(src), timestamp_in_ns=nano) as p, p.dump_open(str(out)) as d:
        if how == "loop":
            assert p.loop(0, d) == 60
        elif how == "dispatch":
            assert p.dispatch(-1, d) == 60
        else:
            for ts, buf in p:
                d.write(ts, buf, p.wirelen)
    assert out.read_bytes() == src.read_bytes()


def test_copy_of_an_other_endian_capture_keeps_every_field(tmp_path):
    src = truncated_capture(tmp_path, False, ">")
    out = tmp_path / "copy.pcap"
    with pcap.pcap(str(src)) as p, p.dump_open(str(out)) as d:
        p.loop(0, d)
    original = [(ts, buf) for ts, buf in pcap.pcap(str(src))]
    copy = pcap.pcap(str(out))
    assert [(ts, buf) for ts, buf in copy] == original
    wirelens = []
    with pcap.pcap(str(out)) as c:
        c.loop(0, lambda ts, buf: wirelens.append(c.wirelen))
    assert wirelens == [200 + i if i % 3 else len(udp_frame(b"x" * (i % 50))) for i in range(60)]


@pytest.mark.parametrize("how", ["loop", "dispatch"])
def test_a_nanosecond_source_copied_into_a_microsecond_dumper_truncates_as_write_does(tmp_path, how):
    """The dumper as a callback of a ns handle writes what write() writes
    for the same int nanoseconds: the fraction cut, not rounded (999 ns
    stays in its microsecond)."""
    src = str(write_pcap(tmp_path / "ns.pcap", [(1000, 123456789, bytes(60)), (1001, 999999999, bytes(60))],
                         nano=True))
    copied, written = tmp_path / "copied.pcap", tmp_path / "written.pcap"
    with pcap.pcap(src) as p, pcap.dumper(str(copied), nano=False) as d:
        getattr(p, how)(0 if how == "loop" else -1, d)
    with pcap.dumper(str(written), nano=False, timestamp_in_ns=True) as d:
        d.write(1000123456789, bytes(60))
        d.write(1001999999999, bytes(60))
    raw = copied.read_bytes()
    assert struct.unpack_from("<II", raw, 24) == (1000, 123456)
    assert struct.unpack_from("<II", raw, 24 + 16 + 60) == (1001, 999999)
    assert raw == written.read_bytes()


@pytest.mark.parametrize("how", ["loop", "dispatch", "write"])
def test_packets_copied_into_a_dumper_with_a_smaller_snaplen_are_cut_in_the_file(tmp_path, how):
    """The record's caplen is the dumper's snaplen, the wire length the
    packet's: read back through libpcap the cut would not show, so this
    reads the file's bytes."""
    src = str(write_pcap(tmp_path / "s60.pcap", [(1, i, bytes([i]) * 60) for i in range(3)]))
    out = tmp_path / "s30.pcap"
    with pcap.pcap(src) as p, pcap.dumper(str(out), snaplen=30) as d:
        if how == "write":
            for ts, buf in p:
                d.write(ts, buf)
        else:
            getattr(p, how)(0 if how == "loop" else -1, d)
    raw = out.read_bytes()
    assert len(raw) == 24 + 3 * (16 + 30)
    for i in range(3):
        at = 24 + i * 46
        assert struct.unpack_from("<IIII", raw, at) == (1, i, 30, 60)
        assert raw[at + 16:at + 46] == bytes([i]) * 30


@pytest.mark.parametrize("tsresol, nano", [(6, False), (3, False), (9, True), (0x80 | 20, True), (0x80 | 10, False)],
                         ids=["1e-6", "1e-3", "1e-9", "2^-20", "2^-10"])
def test_dump_open_of_a_pcapng_file_keeps_its_precision(tmp_path, tsresol, nano):
    """dump_open() writes nanoseconds when the source's resolution is finer
    than a microsecond (2^-20 s is, just; 2^-10 s is not)."""
    src = str(write_pcapng(tmp_path / "r.pcapng", [(0, 1, udp_frame(b"r"))], tsresol=tsresol))
    with pcap.pcap(src) as p, p.dump_open(str(tmp_path / "o.pcap")) as d:
        assert d.nano is nano
    magic = struct.unpack_from("<I", (tmp_path / "o.pcap").read_bytes())[0]
    assert magic == (0xA1B23C4D if nano else 0xA1B2C3D4)


@pytest.mark.parametrize("nano", [False, True], ids=["us", "ns"])
def test_files_are_libpcaps_byte_for_byte(tmp_path, nano):
    """The module writes classic pcap itself; libpcap's pcap_dump(), given
    the same packets, writes the same bytes (through ctypes)."""
    lib = ctypes.CDLL(ctypes.util.find_library("pcap") or "libpcap.so")

    class Hdr(ctypes.Structure):
        _fields_ = [("sec", ctypes.c_long), ("frac", ctypes.c_long), ("caplen", ctypes.c_uint32),
                    ("len", ctypes.c_uint32)]
    lib.pcap_open_dead_with_tstamp_precision.restype = ctypes.c_void_p
    lib.pcap_open_dead_with_tstamp_precision.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_uint]
    lib.pcap_dump_open.restype = ctypes.c_void_p
    lib.pcap_dump_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.pcap_dump.argtypes = [ctypes.c_void_p, ctypes.POINTER(Hdr), ctypes.c_char_p]
    lib.pcap_dump_close.argtypes = [ctypes.c_void_p]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    packets = [(i * 7919, (i * 104729) % (10**9 if nano else 10**6), bytes([i % 256]) * (i % 300), i % 300 + i % 3)
               for i in range(500)]
    for dlt, snaplen in ((pcap.DLT_EN10MB, 65535), (pcap.DLT_RAW, 200), (pcap.DLT_LINUX_SLL, 96)):
        theirs, ours = tmp_path / "libpcap.pcap", tmp_path / "ours.pcap"
        dead = lib.pcap_open_dead_with_tstamp_precision(dlt, snaplen, 1 if nano else 0)
        dumper = lib.pcap_dump_open(dead, str(theirs).encode())
        for sec, frac, data, wirelen in packets:
            caplen = min(len(data), snaplen)
            lib.pcap_dump(dumper, ctypes.byref(Hdr(sec, frac, caplen, wirelen)), data)
        lib.pcap_dump_close(dumper)
        lib.pcap_close(dead)
        with pcap.dumper(ours, dlt=dlt, snaplen=snaplen, nano=nano, timestamp_in_ns=True) as d:
            for sec, frac, data, wirelen in packets:
                d.write(sec * 10**9 + frac * (1 if nano else 1000), data, wirelen)
        assert ours.read_bytes() == theirs.read_bytes(), (dlt, snaplen)
