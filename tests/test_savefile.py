"""Reading savefiles written by hand (tests/support.py): every packet's
timestamp and bytes through iteration, dispatch, loop and readpkts, with and
without a filter, for classic pcap in both byte orders and precisions and for
pcapng."""
import math
import os
import pathlib
from fractions import Fraction

import pytest

import pcap
from support import FORMATS, arp_frame, expected, tcp_frame, udp_frame, write_pcap, write_pcapng, write_savefile


# --------------------------------------------------------------------------
# The packets: distinct payloads, a mix that "udp port 5678" splits.

FRAMES = [
    udp_frame(b"pkt0 udp to 5678", dport=5678),
    udp_frame(b"pkt1 udp to 9999", dport=9999),
    tcp_frame(b"pkt2 tcp to 5678", dport=5678),
    udp_frame(b"pkt3 udp from 5678", sport=5678, dport=40000),
    arp_frame(b"pkt4 arp"),
    udp_frame(bytes(range(256)) * 5 + b"pkt5 big udp to 5678", dport=5678),
    udp_frame(b"pkt6 udp to 7777", dport=7777),
]
FILTER = "udp port 5678"
MATCHING = [0, 3, 5]

US_TIMES = [(0, 1), (1, 999999), (2, 500000), (1000000, 123456), (1700000000, 654321),
            (1700000001, 0), (2147483647, 999999)]
NS_TIMES = [(0, 1), (1, 999999999), (2, 500000000), (1000000, 123456789),
            (1700000000, 654321987), (1700000001, 0), (2147483647, 999999999)]

assert len(FRAMES) == len(US_TIMES) == len(NS_TIMES)
assert len(set(FRAMES)) == len(FRAMES)

class Savefile:
    def __init__(self, path, expected):
        self.path = path
        self.expected = expected       # list of (exact ns, bytes)

    def open(self, **kw):
        return pcap.pcap(str(self.path), **kw)

    def subset(self, indices):
        return [self.expected[i] for i in indices]


def make_savefile(path, fmt, frames=FRAMES):
    nano = FORMATS[fmt][2]
    packets = [(sec, frac if nano else frac * 1000, data, len(data))
               for (sec, frac), data in zip(NS_TIMES if nano else US_TIMES, frames)]
    write_savefile(path, fmt, packets)
    return Savefile(path, [(ns, data) for ns, data, _ in expected(fmt, packets)])


@pytest.fixture(params=sorted(FORMATS))
def savefile(request, tmp_path):
    return make_savefile(tmp_path / f"{request.param}.pcap", request.param)


@pytest.fixture
def pcapfile(tmp_path):
    """One classic little-endian microsecond file, for tests of one format."""
    return make_savefile(tmp_path / "plain.pcap", "pcap-le-us")


# --------------------------------------------------------------------------
# Checks.

def check_float_ts(ts, ns):
    """ts is float seconds within one ulp of the exact ns value."""
    assert type(ts) is float, f"timestamp {ts!r} is {type(ts).__name__}, not float"
    exact = Fraction(ns, 10**9)
    assert abs(Fraction(ts) - exact) <= Fraction(math.ulp(float(exact))), \
        f"timestamp {ts!r} is not {float(exact)!r} ({ns} ns)"


def check_packets(got, expected, in_ns):
    """got: list of (ts, buf) as the module returned them."""
    assert len(got) == len(expected), f"{len(got)} packets, expected {len(expected)}"
    for i, ((ts, buf), (ns, data)) in enumerate(zip(got, expected)):
        assert type(buf) is bytes, f"packet {i}: buf is {type(buf).__name__}, not bytes"
        assert buf == data, f"packet {i}: wrong bytes"
        if in_ns:
            assert type(ts) is int, f"packet {i}: timestamp {ts!r} is not int"
            assert ts == ns, f"packet {i}: timestamp {ts} ns, expected {ns}"
        else:
            check_float_ts(ts, ns)


def collector():
    got = []

    def cb(ts, buf, *args):
        assert not args, f"callback got extra arguments {args!r}"
        got.append((ts, buf))
    return got, cb


# --------------------------------------------------------------------------
# Every format, every way of reading.

@pytest.mark.parametrize("in_ns", [False, True], ids=["float", "ns"])
def test_iterate(savefile, in_ns):
    p = savefile.open(timestamp_in_ns=in_ns)
    got = list(p)
    check_packets(got, savefile.expected, in_ns)
    assert list(p) == [], "iterating again after the end yields more packets"


@pytest.mark.parametrize("in_ns", [False, True], ids=["float", "ns"])
def test_dispatch_all(savefile, in_ns):
    p = savefile.open(timestamp_in_ns=in_ns)
    got, cb = collector()
    n = p.dispatch(-1, cb)
    assert n == len(savefile.expected)
    check_packets(got, savefile.expected, in_ns)
    assert p.dispatch(-1, cb) == 0, "dispatch at the end of the file"
    assert len(got) == len(savefile.expected)


@pytest.mark.parametrize("in_ns", [False, True], ids=["float", "ns"])
def test_loop_all(savefile, in_ns):
    p = savefile.open(timestamp_in_ns=in_ns)
    got, cb = collector()
    p.loop(0, cb)
    check_packets(got, savefile.expected, in_ns)


@pytest.mark.parametrize("in_ns", [False, True], ids=["float", "ns"])
def test_readpkts_all(savefile, in_ns):
    p = savefile.open(timestamp_in_ns=in_ns)
    got = p.readpkts()
    assert type(got) is list
    assert all(type(item) is tuple and len(item) == 2 for item in got)
    check_packets(got, savefile.expected, in_ns)
    assert p.readpkts() == []


@pytest.mark.parametrize("in_ns", [False, True], ids=["float", "ns"])
@pytest.mark.parametrize("how", ["iterate", "dispatch", "loop", "readpkts"])
def test_filter(savefile, how, in_ns):
    p = savefile.open(timestamp_in_ns=in_ns)
    p.setfilter(FILTER)
    expected = savefile.subset(MATCHING)
    if how == "iterate":
        got = list(p)
    elif how == "dispatch":
        got, cb = collector()
        assert p.dispatch(-1, cb) == len(MATCHING)
        assert p.dispatch(-1, cb) == 0
    elif how == "loop":
        got, cb = collector()
        p.loop(0, cb)
    else:
        got = p.readpkts()
        assert p.readpkts() == []
    check_packets(got, expected, in_ns)


# --------------------------------------------------------------------------
# Partial reads, in steps.

@pytest.mark.parametrize("step", [1, 2, 3, 5])
@pytest.mark.parametrize("filtered", [False, True], ids=["all", "filtered"])
def test_dispatch_in_steps(pcapfile, step, filtered):
    p = pcapfile.open()
    expected = pcapfile.expected
    if filtered:
        p.setfilter(FILTER)
        expected = pcapfile.subset(MATCHING)
    got, cb = collector()
    counts = []
    for _ in range(len(FRAMES) + 2):
        n = p.dispatch(step, cb)
        counts.append(n)
        if n == 0:
            break
    want = []
    left = len(expected)
    while left > 0:
        want.append(min(step, left))
        left -= want[-1]
    assert counts == want + [0]
    check_packets(got, expected, False)


def test_dispatch_zero_means_all(pcapfile):
    p = pcapfile.open()
    got, cb = collector()
    assert p.dispatch(0, cb) == len(FRAMES)
    check_packets(got, pcapfile.expected, False)
    assert p.dispatch(0, cb) == 0


@pytest.mark.parametrize("step", [1, 2, 3])
@pytest.mark.parametrize("filtered", [False, True], ids=["all", "filtered"])
def test_loop_in_steps(pcapfile, step, filtered):
    p = pcapfile.open(timestamp_in_ns=True)
    expected = pcapfile.expected
    if filtered:
        p.setfilter(FILTER)
        expected = pcapfile.subset(MATCHING)
    got = []
    sizes = []
    for _ in range(len(FRAMES) + 2):
        before = len(got)
        p.loop(step, lambda ts, buf: got.append((ts, buf)))
        sizes.append(len(got) - before)
        if len(got) == before:
            break
    want = []
    left = len(expected)
    while left > 0:
        want.append(min(step, left))
        left -= want[-1]
    assert sizes == want + [0]
    check_packets(got, expected, True)


@pytest.mark.parametrize("step", [1, 2, 4])
@pytest.mark.parametrize("filtered", [False, True], ids=["all", "filtered"])
def test_readpkts_in_steps(pcapfile, step, filtered):
    p = pcapfile.open()
    expected = pcapfile.expected
    if filtered:
        p.setfilter(FILTER.encode())
        expected = pcapfile.subset(MATCHING)
    got = []
    sizes = []
    for _ in range(len(FRAMES) + 2):
        batch = p.readpkts(step)
        sizes.append(len(batch))
        got.extend(batch)
        if not batch:
            break
    want = []
    left = len(expected)
    while left > 0:
        want.append(min(step, left))
        left -= want[-1]
    assert sizes == want + [0]
    check_packets(got, expected, False)


def test_mixed_reads_continue_where_the_last_stopped(pcapfile):
    p = pcapfile.open(timestamp_in_ns=True)
    got, cb = collector()
    assert p.dispatch(1, cb) == 1
    got.extend(p.readpkts(2))
    p.loop(1, cb)
    got.append(next(iter(p)))
    got.extend(p)
    check_packets(got, pcapfile.expected, True)


# --------------------------------------------------------------------------
# Callback arguments.

def test_dispatch_passes_extra_args(pcapfile):
    p = pcapfile.open()
    calls = []
    marker = object()

    def cb(ts, buf, a, b, c):
        calls.append((ts, buf, a, b, c))
    assert p.dispatch(-1, cb, "a", 2, marker) == len(FRAMES)
    check_packets([c[:2] for c in calls], pcapfile.expected, False)
    assert all(c[2:] == ("a", 2, marker) for c in calls)


def test_loop_passes_extra_args(pcapfile):
    p = pcapfile.open(timestamp_in_ns=True)
    sink = []

    def cb(ts, buf, out, tag):
        out.append((ts, buf, tag))
    p.loop(0, cb, sink, "tag")
    check_packets([s[:2] for s in sink], pcapfile.expected, True)
    assert [s[2] for s in sink] == ["tag"] * len(FRAMES)


def test_dispatch_in_steps_passes_extra_args(pcapfile):
    p = pcapfile.open()
    p.setfilter(FILTER)
    sink = []
    while p.dispatch(2, lambda ts, buf, out: out.append((ts, buf)), sink):
        pass
    check_packets(sink, pcapfile.subset(MATCHING), False)


# --------------------------------------------------------------------------
# Buffers belong to the caller.

def test_iteration_buffers_stay_intact(tmp_path):
    # Many packets of equal length, so that a reused buffer would show.
    frames = [udp_frame(b"%08d" % i + bytes([i % 251]) * 40) for i in range(300)]
    write_pcap(tmp_path / "many.pcap", [(i, i, f) for i, f in enumerate(frames)])
    p = pcap.pcap(str(tmp_path / "many.pcap"))
    bufs = [buf for ts, buf in p]
    assert len(bufs) == len(frames)
    assert all(type(b) is bytes for b in bufs)
    assert bufs == frames


def test_callback_buffers_stay_intact(tmp_path):
    frames = [udp_frame(b"%08d" % i + bytes([i % 251]) * 40) for i in range(300)]
    write_pcap(tmp_path / "many.pcap", [(i, i, f) for i, f in enumerate(frames)])
    p = pcap.pcap(str(tmp_path / "many.pcap"))
    kept = []
    assert p.dispatch(-1, lambda ts, buf: kept.append(buf)) == len(frames)
    assert bufs_equal(kept, frames)
    p = pcap.pcap(str(tmp_path / "many.pcap"))
    kept = []
    p.loop(0, lambda ts, buf: kept.append(buf))
    assert bufs_equal(kept, frames)
    p = pcap.pcap(str(tmp_path / "many.pcap"))
    assert bufs_equal([b for _, b in p.readpkts()], frames)


def bufs_equal(bufs, frames):
    return all(type(b) is bytes for b in bufs) and bufs == frames


# --------------------------------------------------------------------------
# Captured length shorter than the wire length.

@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_caplen_shorter_than_wirelen(tmp_path, byteorder, nano):
    snap = 64
    frames = [udp_frame(b"long %d " % i + b"x" * (100 + i)) for i in range(4)]
    frames.append(udp_frame(b"short"))                      # 47 bytes, not cut
    packets = [(100 + i, 7 + i, f[:snap], len(f)) for i, f in enumerate(frames)]
    path = write_pcap(tmp_path / "snap.pcap", packets, byteorder=byteorder, nano=nano, snaplen=snap)
    p = pcap.pcap(str(path), timestamp_in_ns=True)
    assert p.snaplen == snap
    unit = 1 if nano else 1000
    expected = [((100 + i) * 10**9 + (7 + i) * unit, f[:snap]) for i, f in enumerate(frames)]
    check_packets(list(p), expected, True)
    assert len(expected[-1][1]) == len(frames[-1]) < snap


def test_caplen_shorter_than_wirelen_filter_sees_the_cut_packet(tmp_path):
    frame = udp_frame(b"y" * 200, dport=5678)
    path = write_pcap(tmp_path / "snap.pcap", [(1, 0, frame[:50], len(frame)), (2, 0, udp_frame(b"z"), 43)],
                      snaplen=50)
    p = pcap.pcap(str(path))
    p.setfilter("greater 200")      # the wire length counts, not the captured one
    got = p.readpkts()
    assert [buf for _, buf in got] == [frame[:50]]


# --------------------------------------------------------------------------
# Names.

def test_name_as_str_bytes_pathlike(pcapfile, monkeypatch):
    path = pcapfile.path

    class PathLike:
        def __fspath__(self):
            return str(path)

    for name in (str(path), os.fsencode(path), pathlib.Path(path), PathLike()):
        p = pcap.pcap(name, timestamp_in_ns=True)
        assert p.name == str(path)
        assert type(p.name) is str
        check_packets(list(p), pcapfile.expected, True)
    monkeypatch.chdir(path.parent)
    p = pcap.pcap(path.name)
    assert p.name == path.name
    check_packets(list(p), pcapfile.expected, False)


def test_name_not_ascii(tmp_path):
    sf = make_savefile(tmp_path / "caf\u00e9 \u00fc.pcap", "pcap-le-ns")
    p = pcap.pcap(sf.path)
    assert p.name == str(sf.path)
    check_packets(list(p), sf.expected, False)


def test_missing_file_raises_oserror_naming_it(tmp_path):
    missing = tmp_path / "no-such-file.pcap"
    with pytest.raises(OSError, match="no-such-file") as info:
        pcap.pcap(str(missing))
    assert isinstance(info.value.args[0], str)


@pytest.mark.parametrize("name", ["dir/no-such-file.pcap", "no-such-file.pcap"])
def test_missing_file_message_has_libpcaps_words(tmp_path, monkeypatch, name):
    # What pcap_open_offline() says about a missing file (its strerror).
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError, match="No such file or directory") as info:
        pcap.pcap(name)
    assert isinstance(info.value.args[0], str)
    assert "no-such-file.pcap" in info.value.args[0]


def test_not_a_savefile_raises_libpcap_message(tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture file at all, just text\n" * 4)
    with pytest.raises(OSError, match="unknown file format") as info:
        pcap.pcap(str(junk))
    assert isinstance(info.value.args[0], str)


# --------------------------------------------------------------------------
# Properties.

def test_properties(pcapfile):
    p = pcapfile.open()
    assert p.name == str(pcapfile.path)
    assert p.snaplen == 65535
    assert p.dloff == 14
    assert p.filter == ""
    assert type(p.filter) is str
    assert p.precision == pcap.PCAP_TSTAMP_PRECISION_NANO
    assert p.timestamp_in_ns is False
    assert p.datalink() == pcap.DLT_EN10MB == 1
    assert pcap.pcap(str(pcapfile.path), timestamp_in_ns=True).timestamp_in_ns is True
    assert type(p.fd) is int and p.fd >= 0
    assert p.fd == p.fileno()
    assert p.setdirection(pcap.PCAP_D_IN) is False      # as pypcap: not on a savefile
    assert type(p.geterr()) is str
    check_packets(list(p), pcapfile.expected, False)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_precision_is_nano_for_every_format(tmp_path, fmt):
    sf = make_savefile(tmp_path / "f.pcap", fmt)
    assert sf.open().precision == pcap.PCAP_TSTAMP_PRECISION_NANO


def test_filter_property_follows_setfilter(pcapfile):
    p = pcapfile.open()
    p.setfilter(FILTER)
    assert p.filter == FILTER
    p.setfilter(b"tcp")
    assert p.filter == "tcp"
    assert type(p.filter) is str
    assert [buf for _, buf in p] == [FRAMES[2]]


def test_bad_filter_raises_and_keeps_the_old_one(pcapfile):
    p = pcapfile.open()
    p.setfilter(FILTER)
    with pytest.raises(OSError, match="syntax error") as info:
        p.setfilter("udp port and and")
    assert isinstance(info.value.args[0], str)
    assert p.filter == FILTER
    check_packets(list(p), pcapfile.subset(MATCHING), False)


@pytest.mark.parametrize("linktype, dlt_name, dloff", [
    (0, "DLT_NULL", 4),
    (1, "DLT_EN10MB", 14),
    (101, "DLT_RAW", 0),          # LINKTYPE_RAW in the file
    (113, "DLT_LINUX_SLL", 16),
    (108, "DLT_LOOP", 4),
    (147, "DLT_USER0", 0),        # not in dltoff
])
def test_linktype_datalink_and_dloff(tmp_path, linktype, dlt_name, dloff):
    path = write_pcap(tmp_path / "l.pcap", [(1, 2, b"\x45" + b"\0" * 40)], linktype=linktype, snaplen=1500)
    p = pcap.pcap(str(path))
    assert p.datalink() == getattr(pcap, dlt_name)
    assert p.dloff == dloff
    assert p.snaplen == 1500
    assert [buf for _, buf in p] == [b"\x45" + b"\0" * 40]


def test_pcapng_linktype(tmp_path):
    path = write_pcapng(tmp_path / "raw.pcapng", [(5, 6, b"\x45" + b"\1" * 27)], linktype=101)
    p = pcap.pcap(str(path), timestamp_in_ns=True)
    assert p.datalink() == pcap.DLT_RAW
    assert p.dloff == 0
    assert list(p) == [(5 * 10**9 + 6000, b"\x45" + b"\1" * 27)]


# --------------------------------------------------------------------------
# Reads of every kind after iteration has started: each continues with the
# packet after the last one returned, and a filter set in between applies to
# every packet after it, as libpcap applies it.

@pytest.mark.parametrize("then", ["dispatch-all", "dispatch-2", "loop-all", "loop-2",
                                  "readpkts-all", "readpkts-2"])
def test_read_after_partial_iteration(pcapfile, then):
    p = pcapfile.open(timestamp_in_ns=True)
    got = [next(p), next(p)]
    kind, _, n = then.partition("-")
    cnt = -1 if n == "all" else int(n)
    if kind == "dispatch":
        out, cb = collector()
        assert p.dispatch(cnt, cb) == (cnt if cnt > 0 else len(FRAMES) - 2)
    elif kind == "loop":
        out, cb = collector()
        p.loop(cnt if cnt > 0 else 0, cb)
    else:
        out = p.readpkts(cnt)
    got += out
    want = len(FRAMES) if cnt < 0 else 2 + cnt
    check_packets(got, pcapfile.expected[:want], True)
    got += list(p)
    check_packets(got, pcapfile.expected, True)


def test_setfilter_after_partial_iteration(pcapfile):
    p = pcapfile.open()
    first = next(p)
    p.setfilter(FILTER)
    check_packets([first] + list(p), pcapfile.subset([0] + MATCHING[1:]), False)


def test_setfilter_after_partial_iteration_uses_wire_length(tmp_path):
    # The filter decides on the wire length of a cut packet, also for the
    # packets that iteration may already have read from the file.
    snap = 64
    frames = [udp_frame(b"first"), udp_frame(b"long one " + b"x" * 300), udp_frame(b"short one"),
              udp_frame(b"long two " + b"y" * 300)]
    path = write_pcap(tmp_path / "cut.pcap", [(1 + i, 0, f[:snap], len(f)) for i, f in enumerate(frames)],
                      snaplen=snap)
    p = pcap.pcap(str(path))
    assert next(p)[1] == frames[0][:snap]
    p.setfilter("greater 200")
    assert [buf for _, buf in p] == [frames[1][:snap], frames[3][:snap]]
    p = pcap.pcap(str(path))
    next(p)
    p.setfilter("less 100")
    assert [buf for _, buf in p] == [frames[2]]


# --------------------------------------------------------------------------
# Damaged and empty files.

@pytest.mark.parametrize("how", ["iterate", "dispatch", "loop", "readpkts"])
def test_truncated_file_gives_good_packets_then_libpcap_error(tmp_path, how):
    sf = make_savefile(tmp_path / "t.pcap", "pcap-le-ns")
    data = sf.path.read_bytes()
    sf.path.write_bytes(data[:-10])            # the last packet loses 10 bytes
    p = sf.open(timestamp_in_ns=True)
    got = []
    with pytest.raises(OSError, match="truncated dump file") as info:
        for _ in range(len(FRAMES) + 2):      # the error may come on a later call
            if how == "iterate":
                got.extend(p)
            elif how == "dispatch":
                p.dispatch(-1, lambda ts, buf: got.append((ts, buf)))
            elif how == "loop":
                p.loop(0, lambda ts, buf: got.append((ts, buf)))
            else:
                got.extend(p.readpkts())
    assert type(info.value.args[0]) is str
    check_packets(got, sf.expected[:-1], True)


@pytest.mark.parametrize("fmt", ["pcap-le-us", "pcapng-be-ns"])
def test_empty_savefile(tmp_path, fmt):
    sf = make_savefile(tmp_path / "e.pcap", fmt, frames=[])
    p = sf.open()
    assert list(p) == []
    assert p.dispatch(-1, lambda *a: pytest.fail("callback called")) == 0
    assert p.readpkts() == []
    p.loop(0, lambda *a: pytest.fail("callback called"))
    assert p.datalink() == pcap.DLT_EN10MB


def test_interleaved_reads_over_a_long_file(tmp_path):
    # Long enough for any read-ahead to be crossed several times.
    frames = [udp_frame(b"n%05d" % i, dport=5678 if i % 3 == 0 else 9999) for i in range(400)]
    path = write_pcap(tmp_path / "long.pcap", [(1000 + i, i * 1000 + 1, f) for i, f in enumerate(frames)],
                      nano=True)
    expected = [((1000 + i) * 10**9 + i * 1000 + 1, f) for i, f in enumerate(frames)]
    p = pcap.pcap(str(path), timestamp_in_ns=True)
    got = [next(p) for _ in range(70)]
    out, cb = collector()
    assert p.dispatch(10, cb) == 10
    got += out
    got += p.readpkts(100)
    got.append(next(p))
    out, cb = collector()
    p.loop(5, cb)
    got += out
    check_packets(got, expected[:186], True)
    p.setfilter("udp dst port 5678")
    rest = [e for e in expected[186:] if frames.index(e[1]) % 3 == 0]
    got = [next(p) for _ in range(3)]
    got += p.readpkts(40)
    out, cb = collector()
    assert p.dispatch(-1, cb) == len(rest) - 43
    got += out
    check_packets(got, rest, True)
    assert list(p) == [] and p.readpkts() == [] and p.dispatch(-1, cb) == 0


def test_counting_without_a_callback_stops_at_cnt(tmp_path):
    """dispatch(cnt) and loop(cnt) with no callback count in C: exactly cnt
    packets, the next read getting the one after them."""
    path = str(write_pcap(tmp_path / "ten.pcap", [(1, i, udp_frame(bytes([i]) * 10)) for i in range(10)]))
    with pcap.pcap(path) as p:
        assert p.dispatch(3) == 3
        assert next(p)[1][-1] == 3
    with pcap.pcap(path) as p:
        assert p.loop(3) == 3
        assert [buf[-1] for _, buf in p.readpkts()] == list(range(3, 10))
    with pcap.pcap(path) as p:
        assert p.dispatch(4) == 4 and p.dispatch(4) == 4 and p.dispatch(4) == 2 and p.dispatch(4) == 0


@pytest.mark.parametrize("read", ["readpkts", "readbatch", "readinto", "next_batch", "dispatch", "iteration"])
def test_a_damaged_first_record_raises_at_the_first_read(tmp_path, read):
    """Nothing comes before the damage, so no read returns empty first:
    the first one raises libpcap's words."""
    whole = write_pcap(tmp_path / "one.pcap", [(1, 0, udp_frame(b"x"))]).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[:24 + 8])                  # half a record header
    with pcap.pcap(str(cut)) as p, pytest.raises(pcap.PcapError, match="truncated dump file"):
        if read == "readinto":
            p.readinto(bytearray(24 * 16), bytearray(1 << 17))
        elif read == "dispatch":
            p.dispatch(-1, lambda ts, buf: None)
        elif read == "iteration":
            list(p)
        else:
            getattr(p, read)()
