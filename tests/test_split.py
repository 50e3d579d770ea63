"""savefile_ranges(): exact record-boundary ranges; open_range() reads one."""
import random
import struct

import pytest

import pcap
from support import read_all, read_source, udp_frame, write_pcap, write_pcapng

pytestmark = pytest.mark.usefixtures("watchdog")


def records(n, seed):
    rnd = random.Random(seed)
    return [(1700000000 + i, i, udp_frame(bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))))
            for i in range(n)]


def read_range(path, start, end):
    with pcap.open_range(str(path), start, end, timestamp_in_ns=True) as p:
        return read_all(p, "iter")


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
@pytest.mark.parametrize("byteorder, nano", [("<", False), (">", True)])
@pytest.mark.parametrize("count", [0, 1, 5, 1000])
def test_ranges_cover_the_file_on_record_boundaries(tmp_path, n, byteorder, nano, count):
    path = write_pcap(tmp_path / "f.pcap", records(count, count * 31 + n), byteorder=byteorder, nano=nano)
    data = path.read_bytes()
    ranges = pcap.savefile_ranges(str(path), n)
    assert len(ranges) == n
    assert ranges[0][0] == 24 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert data[:24] + b"".join(data[s:e] for s, e in ranges) == data
    parts = [read_range(path, s, e) for s, e in ranges]
    assert sum(parts, []) == read_source(path)
    if count >= 100 * n:
        sizes = [e - s for s, e in ranges]
        assert max(sizes) - min(sizes) < 2 * (16 + 350), sizes      # balanced to a record


@pytest.mark.parametrize("cut", [1, 10, 17, 100])
def test_a_record_cut_short_stays_in_the_last_range(tmp_path, cut):
    path = write_pcap(tmp_path / "f.pcap", records(300, cut))
    data = path.read_bytes()[:-cut]
    path.write_bytes(data)
    ranges = pcap.savefile_ranges(str(path), 4)
    assert data[:24] + b"".join(data[s:e] for s, e in ranges) == data
    whole = []
    with pytest.raises(pcap.PcapError, match="truncated"):
        with pcap.pcap(str(path), timestamp_in_ns=True) as p:
            for ts, buf in p:
                whole.append((ts, buf, p.wirelen))
    got = []
    for s, e in ranges[:-1]:
        got += read_range(path, s, e)
    with pytest.raises(pcap.PcapError, match="truncated"):
        with pcap.open_range(str(path), *ranges[-1], timestamp_in_ns=True) as p:
            for ts, buf in p:
                got.append((ts, buf, p.wirelen))
    assert got == whole


def test_bad_input(tmp_path):
    ng = write_pcapng(tmp_path / "f.pcapng", [(1, 2, b"x" * 60)])
    with pytest.raises(pcap.PcapError, match="not a classic pcap file"):
        pcap.savefile_ranges(str(ng), 2)
    with pytest.raises(ValueError, match="n must be 1 or more"):
        pcap.savefile_ranges(str(ng), 0)
    with pytest.raises(pcap.PcapNotFoundError):
        pcap.savefile_ranges(str(tmp_path / "missing.pcap"), 2)
    path = write_pcap(tmp_path / "f.pcap", records(3, 1))
    with pytest.raises(ValueError, match="24 <= start <= end"):
        pcap.open_range(str(path), 0, 10)
    with pytest.raises(ValueError, match="24 <= start <= end"):
        pcap.open_range(str(path), 24, 10**9)


def test_each_range_starts_at_the_first_record_at_or_after_its_share(tmp_path):
    """Equal records put the shares exactly on record starts: a record that
    starts on its share begins that range (not the next one)."""
    path = write_pcap(tmp_path / "f.pcap", [(1700000000, i, bytes([i]) * 84) for i in range(4)])   # 100-byte records
    assert pcap.savefile_ranges(str(path), 2) == [(24, 224), (224, 424)]
    assert pcap.savefile_ranges(str(path), 4) == [(24, 124), (124, 224), (224, 324), (324, 424)]
    assert pcap.savefile_ranges(str(path), 3) == [(24, 224), (224, 324), (324, 424)]


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_the_modified_format_splits_on_its_24_byte_record_headers(tmp_path, byteorder):
    """Alexey Kuznetsov's format (magic 0xa1b2cd34): records have 8 more
    header bytes (ifindex, protocol, pkt_type), and the walk steps over them."""
    path = tmp_path / "kuznetsov.pcap"
    with open(path, "wb") as f:
        f.write(struct.pack(byteorder + "IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1))
        for i in range(6):
            frame = udp_frame(bytes([i]) * 18)                  # 60 bytes: 84-byte records
            f.write(struct.pack(byteorder + "IIII", 1700000000 + i, i, len(frame), len(frame)))
            f.write(struct.pack(byteorder + "iHBB", 1, 0x0800, 0, 0) + frame)
    ranges = pcap.savefile_ranges(str(path), 3)
    assert ranges == [(24, 192), (192, 360), (360, 528)]
    whole = read_source(path)
    assert len(whole) == 6
    assert sum((read_range(path, s, e) for s, e in ranges), []) == whole
