"""Every source of packets crossed with every sink: the same packets come out
(timestamps to the nanosecond, bytes, wire lengths where the sink gives
them) as the test wrote, or sent. ``test_read[pipe-readinto]`` reads a FIFO
with ``readinto()``; ``test_read_filtered[...]`` does the same with a BPF
filter set. What comes out is compared with what went in, never with
another read by the module."""
import io
import math
import socket
import struct
import time
from fractions import Fraction

import pytest

import pcap
from support import (SINKS, SINKS_WITH_WIRELEN, FifoWriter, breakloop_after, expected, free_port, gzipped,
                     need, open_lo, packets, read_all, to_pcapng, udp_frame, write_savefile)

pytestmark = pytest.mark.usefixtures("watchdog")

BIG = udp_frame(bytes(range(256)) * 5 + b"big", dport=1001)
# Packets of 42 to 131 bytes, every 5th cut (wire length over its length),
# three of 1,325 bytes, one of 0; 10 a second with sub-microsecond parts.
PACKETS = packets(200, per_second=10, cut_every=5) + [
    (1_700_000_100, 999_999_999, BIG, len(BIG)),
    (1_700_000_101, 1, BIG, len(BIG) + 1000),
    (1_700_000_102, 500_000_000, BIG, len(BIG)),
    (1_700_000_103, 0, b"", 60),                    # nothing captured of 60 bytes
    (1_700_000_103, 1, udp_frame(b"", dport=1001), 42),
]
FILTER = "udp dst port 1001"

# source name -> the classic format its packets are written in first
SOURCES = {
    "pcap-le-us": "pcap-le-us",
    "pcap-be-us": "pcap-be-us",
    "pcap-le-ns": "pcap-le-ns",
    "pcap-be-ns": "pcap-be-ns",
    "pcap-snaplen": "pcap-le-ns",    # a snaplen of 100: longer packets cut to it
    "pcapng": "pcap-be-ns",         # editcap -F pcapng of that file
    "pcapng-le-us": "pcapng-le-us",  # written by hand (support.write_pcapng)
    "pcapng-be-ns": "pcapng-be-ns",
    "pipe": "pcap-le-ns",           # a FIFO a thread writes the file into
    "pipe-pcapng": "pcap-le-ns",    # the same with editcap's pcapng
    "pipe-be-us": "pcap-be-us",
    "bytesio": "pcap-be-us",        # pcap.pcap(io.BytesIO(...))
    "gzip": "pcap-le-ns",           # a gzip-compressed file, opened by name
    "range": "pcap-le-us",          # savefile_ranges(path, 3), each through open_range
    "live": None,                   # UDP datagrams sent to 127.0.0.1 and captured on lo
}

# to_arrow() reads to the end, and a live capture has none.
NOT_APPLICABLE = {("live", "to_arrow")}


def pairs(sources):
    return [pytest.param(source, sink, id=f"{source}-{sink}")
            for source in sources for sink in SINKS if (source, sink) not in NOT_APPLICABLE]


def dport(frame):
    return struct.unpack_from("!H", frame, 36)[0] if len(frame) >= 38 else None


def read_file_source(source, sink, tmp_path, flt=None, in_ns=True):
    """Write PACKETS for ``source``, read them through ``sink``; returns
    (what the sink gave, what the source holds)."""
    fmt = SOURCES[source]
    snaplen = 100 if source == "pcap-snaplen" else 65535
    path = write_savefile(tmp_path / f"{fmt}.pcap", fmt, PACKETS, snaplen=snaplen)
    want = expected(fmt, PACKETS, snaplen=snaplen)
    if source == "range":
        ranges = pcap.savefile_ranges(str(path), 3)
        assert len(ranges) == 3
        assert ranges[0][0] == 24 and ranges[-1][1] == path.stat().st_size
        parts = []
        for start, end in ranges:
            with pcap.open_range(str(path), start, end, timestamp_in_ns=in_ns) as p:
                parts.append(read_from(p, sink, tmp_path, flt))
        return sum(parts) if sink.startswith("count-") else sum(parts, []), want
    if source in ("pcapng", "pipe-pcapng"):
        path = to_pcapng(path, tmp_path / "converted.pcapng")
    if source == "gzip":
        path = gzipped(path, tmp_path / "compressed.pcap.gz")
    if source.startswith("pipe"):
        fifo = tmp_path / "fifo"
        with FifoWriter(fifo, path.read_bytes()) as writer:
            with pcap.pcap(str(fifo), timestamp_in_ns=in_ns) as p:
                got = read_from(p, sink, tmp_path, flt)
        assert writer.error is None
        return got, want
    if source == "bytesio":
        path = io.BytesIO(path.read_bytes())
    else:
        path = str(path)
    with pcap.pcap(path, timestamp_in_ns=in_ns) as p:
        return read_from(p, sink, tmp_path, flt), want


def read_from(p, sink, tmp_path, flt):
    if flt:
        p.setfilter(flt)
    with breakloop_after(p, 30):
        return read_all(p, sink, workdir=tmp_path)


def check_file_packets(got, want, sink):
    if sink.startswith("count-"):
        assert got == len(want)
        return
    assert len(got) == len(want), f"{len(got)} packets, {len(want)} written"
    for i, ((ts, buf, wirelen), (want_ts, want_buf, want_wirelen)) in enumerate(zip(got, want)):
        assert type(buf) is bytes, f"packet {i}: {type(buf).__name__}"
        assert buf == want_buf, f"packet {i}: other bytes"
        assert type(ts) is int and ts == want_ts, f"packet {i}: timestamp {ts!r}, written {want_ts}"
        if sink in SINKS_WITH_WIRELEN:
            assert wirelen == want_wirelen, f"packet {i}: wire length {wirelen}, written {want_wirelen}"
        else:
            assert wirelen is None


def need_pyarrow(sink):
    if sink in ("arrow_batches", "to_arrow"):
        need(__import__("importlib.util").util.find_spec("pyarrow") is not None,
             "pyarrow is not installed (the test extra has it)")


@pytest.mark.parametrize("source, sink", pairs(SOURCES))
def test_read(request, source, sink, tmp_path):
    need_pyarrow(sink)
    if source == "live":
        request.getfixturevalue("live")
        got, want = read_live(sink, tmp_path)
        check_live(got, want, sink)
        return
    got, want = read_file_source(source, sink, tmp_path)
    check_file_packets(got, want, sink)


@pytest.mark.parametrize("source, sink", pairs([s for s in SOURCES if s != "live"]))
def test_read_filtered(source, sink, tmp_path):
    need_pyarrow(sink)
    got, want = read_file_source(source, sink, tmp_path, FILTER)
    want = [w for w in want if dport(w[1]) == 1001]
    assert 60 < len(want) < len(PACKETS) / 2
    check_file_packets(got, want, sink)


# Sinks whose timestamps follow the handle's timestamp_in_ns (the others
# always give int nanoseconds).
FLOAT_SINKS = ["iter", "next", "dispatch", "loop", "readpkts", "readbatch", "async"]


@pytest.mark.parametrize("source, sink", [pytest.param(source, sink, id=f"{source}-{sink}")
                                          for source in SOURCES if source != "live" for sink in FLOAT_SINKS])
def test_read_float_timestamps(source, sink, tmp_path):
    """Without timestamp_in_ns: float seconds, within one ulp of the exact
    value written (and the same bytes)."""
    got, want = read_file_source(source, sink, tmp_path, in_ns=False)
    assert [buf for _, buf, _ in got] == [buf for _, buf, _ in want]
    for i, ((ts, _, _), (ns, _, _)) in enumerate(zip(got, want)):
        exact = Fraction(ns, 10**9)
        assert type(ts) is float and abs(Fraction(ts) - exact) <= Fraction(math.ulp(float(exact))), \
            f"packet {i}: timestamp {ts!r}, written {ns} ns"


# -- live: UDP datagrams to 127.0.0.1, filtered on their port ---------------------

LIVE_COUNT = 40


def read_live(sink, tmp_path):
    """Send LIVE_COUNT datagrams to a port of 127.0.0.1 and read them back
    from lo through ``sink``; returns (what the sink gave, [(sent after ns,
    sent before ns, the frame that went out, less what the kernel fills in)])."""
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.bind(("127.0.0.1", 0))
        sport = tx.getsockname()[1]
        with open_lo(port, timestamp_in_ns=True) as p:
            payloads = [b"live %d " % i + bytes([i]) * (i * 37 % 1400) for i in range(LIVE_COUNT)]
            t0 = time.time_ns()
            for data in payloads:
                tx.sendto(data, ("127.0.0.1", port))
            t1 = time.time_ns()
            with breakloop_after(p, 10):
                got = read_all(p, sink, count=LIVE_COUNT, deadline=time.monotonic() + 10, workdir=tmp_path)
    ether = bytes(12)            # lo's Ethernet header has all-zero addresses
    want = [(t0, t1, udp_frame(data, sport=sport, dport=port, src="127.0.0.1", dst="127.0.0.1", ether=ether))
            for data in payloads]
    return got, want


def ip_checksum(header):
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def check_live(got, want, sink):
    if sink.startswith("count-"):
        assert got == len(want)
        return
    assert len(got) == len(want), f"{len(got)} packets captured, {len(want)} sent"
    last = 0
    for i, ((ts, buf, wirelen), (t0, t1, frame)) in enumerate(zip(got, want)):
        assert type(buf) is bytes and len(buf) == len(frame), f"packet {i}: {len(buf)} bytes, sent {len(frame)}"
        assert ip_checksum(buf[14:34]) == 0, f"packet {i}: bad IPv4 header checksum"
        # What the kernel chose: the IP id, flags and TTL, the IP checksum
        # (checked above) and the UDP checksum (left partial on lo).
        masked = buf[:18] + frame[18:23] + buf[23:24] + frame[24:26] + buf[26:40] + frame[40:42] + buf[42:]
        assert masked == frame, f"packet {i}: other bytes"
        assert type(ts) is int and t0 - 10**6 <= ts <= t1 + 10**6 and ts >= last, \
            f"packet {i}: timestamp {ts} outside the sending ({t0}..{t1}) or before the last"
        last = ts
        if sink in SINKS_WITH_WIRELEN:
            assert wirelen == len(frame)
        else:
            assert wirelen is None
