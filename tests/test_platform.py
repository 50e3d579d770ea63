"""The platform seam (platform.h): what the module does where it is not
Linux, as the simulated portable build (tools/simulate_platform.py, built
with -DPCAP_SIMULATE_PORTABLE) does it here, and what the Linux build does
instead.  Each test checks the branch of the build that runs it."""
import io
import os
import socket
import struct
import time

import pytest

import pcap
from support import can_capture, need, packets, write_pcap

SIMULATED = pcap._SIMULATED_PLATFORM


def test_the_build_is_the_one_the_run_expects():
    if os.environ.get("PCAP_EXPECT_SIMULATED") == "1":
        assert SIMULATED
        assert pcap._PLATFORM == "a portable build simulated on Linux"
    else:
        assert not SIMULATED
        assert pcap._PLATFORM == "Linux"


def open_lo(**kw):
    need(can_capture(), "capturing on lo needs root or CAP_NET_RAW")
    return pcap.pcap("lo", **kw)


def test_fanout_is_linux_only():
    p = open_lo()
    try:
        if SIMULATED:
            with pytest.raises(pcap.PcapError, match=r"set fanout on 'lo': packet fanout is Linux's "
                                                     r"\(PACKET_FANOUT\): not on a portable build simulated"):
                p.set_fanout(4711)
        else:
            assert p.set_fanout(4711) is None
    finally:
        p.close()


def test_protocol_is_linux_only():
    if SIMULATED:
        need(can_capture(), "capturing on lo needs root or CAP_NET_RAW")
        with pytest.raises(pcap.PcapError, match=r"protocol= is pcap_set_protocol_linux\(\), Linux's: not on "
                                                 r"a portable build simulated on Linux"):
            pcap.pcap("lo", protocol=0x0800)
    else:
        open_lo(protocol=0x0800).close()


def test_live_descriptor_where_libpcap_gives_one():
    p = open_lo()
    try:
        if SIMULATED:
            with pytest.raises(pcap.PcapError, match=r"no selectable descriptor on a portable build simulated"):
                p.fileno()
        else:
            assert p.fileno() >= 0
    finally:
        p.close()


def test_a_packet_on_a_quiet_link_within_timeout_ms():
    """Buffered (not immediate), as on BPF with its read timeout: a lone
    packet arrives within timeout_ms, with or without a descriptor."""
    p = open_lo(timeout_ms=1000)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.bind(("127.0.0.1", 0))
        port = rx.getsockname()[1]
        p.setfilter(f"udp dst port {port}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(b"quiet link", ("127.0.0.1", port))
        start = time.monotonic()
        got = p.readpkts()
        elapsed = time.monotonic() - start
        assert [buf.endswith(b"quiet link") for ts, buf in got] == [True]
        assert elapsed < 0.5
        start = time.monotonic()
        assert p.readpkts() == []
        assert 0.95 < time.monotonic() - start < 1.5
    finally:
        rx.close()
        p.close()


@pytest.fixture
def classic(tmp_path):
    pkts = [(1_700_000_000 + i, i * 4099 % 10**6, frame) for i, (_, _, frame, _) in
            enumerate(packets(200, size=120))]
    path = tmp_path / "plain.pcap"
    write_pcap(path, pkts)
    return path, pkts


@pytest.mark.parametrize("how", ["path", "BytesIO", "pipe"])
def test_classic_packets_byte_exact(classic, how):
    path, pkts = classic
    if how == "path":
        p = pcap.pcap(str(path))
    elif how == "BytesIO":
        p = pcap.pcap(io.BytesIO(path.read_bytes()))
    else:
        r, w = os.pipe()
        os.write(w, path.read_bytes())
        os.close(w)
        p = pcap.pcap(os.fdopen(r, "rb"))
    got = [(round(ts, 6), bytes(buf)) for ts, buf in p]
    assert got == [(round(sec + frac / 1e6, 6), data) for sec, frac, data in pkts]


def test_a_record_longer_than_the_snapshot_length_is_cut(tmp_path):
    """libpcap cuts it where it reads from our buffer; without that FILE
    (Windows, the simulated build) the module cuts it the same way."""
    path = tmp_path / "long.pcap"
    write_pcap(path, [(1, 0, b"a" * 60), (2, 0, b"b" * 200), (3, 0, b"c" * 70)], snaplen=100)
    p = pcap.pcap(io.BytesIO(path.read_bytes()))
    assert [bytes(buf) for ts, buf in p] == [b"a" * 60, b"b" * 100, b"c" * 70]


def test_a_record_cut_short(tmp_path):
    path = tmp_path / "short.pcap"
    write_pcap(path, [(1, 0, b"a" * 60), (2, 0, b"b" * 200)])
    p = pcap.pcap(io.BytesIO(path.read_bytes()[:-50]))
    assert bytes(next(p)[1]) == b"a" * 60
    with pytest.raises(pcap.PcapError, match=r"truncated dump file; tried to read 200 captured bytes, only got 150"):
        next(p)


def test_an_old_classic_version(tmp_path):
    path = tmp_path / "old.pcap"
    write_pcap(path, [(1, 0, b"x" * 60)])
    data = bytearray(path.read_bytes())
    struct.pack_into("<HH", data, 4, 2, 3)
    if SIMULATED:
        with pytest.raises(pcap.PcapError, match=r"a classic savefile of version 2.3: on a portable build "
                                                 r"simulated on Linux the module reads only version 2.4"):
            pcap.pcap(io.BytesIO(bytes(data)))
    else:
        assert [bytes(buf) for ts, buf in pcap.pcap(io.BytesIO(bytes(data)))] == [b"x" * 60]
