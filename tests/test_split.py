"""savefile_ranges(): exact record- and block-boundary ranges of classic
pcap and pcapng files; open_range() reads one, and the parts together are
the whole file read at once."""
import gzip
import os
import random
import struct

import pytest

import pcap
from support import (EPB, IDB, ISB, PB, SHB, SPB, NgWriter, ng_block, ng_shb, pcapng_sections, read_all, read_source,
                     udp_frame, write_pcap, write_pcapng)

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
    gz = tmp_path / "f.pcap.gz"
    gz.write_bytes(gzip.compress(write_pcap(tmp_path / "g.pcap", records(3, 1)).read_bytes()))
    with pytest.raises(pcap.PcapError, match="neither a classic pcap nor a pcapng file"):
        pcap.savefile_ranges(str(gz), 2)
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


# -- pcapng -----------------------------------------------------------------------
#
# Files of several sections and interfaces (support.pcapng_sections), with
# what each packet must read as.

def dlt(linktype):
    """The DLT_ a LINKTYPE_ of a file reads as."""
    return pcap.DLT_RAW if linktype == 101 else linktype


def ng_blocks(data):
    """[(offset, type, length, byte order)] of every whole block, walked by
    their lengths (the byte order from each section header): independent of
    the module."""
    out, at, order = [], 0, "<"
    while at + 12 <= len(data):
        if data[at:at + 4] == b"\n\r\r\n":
            order = "<" if data[at + 8:at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, length = struct.unpack_from(order + "II", data, at)
        if length < 12 or at + length > len(data):
            break
        out.append((at, btype, length, order))
        at += length
    return out


def described(p):
    """What p says of the packet last read: its interface's description
    (statistics aside: they are what has been read ahead of the packet)."""
    d = p.interfaces[p.interface_id]
    return p.interface_id, tuple(getattr(d, k) for k in d.__slots__ if k != "statistics")


def read_ng(source, into=None):
    """Every packet of a pcapng file or range: (ns, data, wirelen, interface
    id, its description); into: a list to append to, so that the caller has
    the packets before an exception."""
    got = [] if into is None else into
    with (source if isinstance(source, pcap.pcap) else pcap.pcap(source, timestamp_in_ns=True)) as p:
        for ts, buf in p:
            got.append((ts, buf, p.wirelen) + described(p))
    return got


def read_ng_range(path, start, end, into=None):
    return read_ng(pcap.open_range(str(path), start, end, timestamp_in_ns=True), into)


def read_until_error(read, *args):
    """(packets, the reader's words of the error that ended them, or None)."""
    got = []
    try:
        read(*args, into=got)
    except pcap.PcapError as e:
        return got, e.strerror
    return got, None


def end_state(p):
    """Everything p says of the interfaces once read to its end, statistics included."""
    return [tuple(getattr(d, k) for k in d.__slots__) for d in p.interfaces]


def check_ranges(path, n, balanced=True):
    """savefile_ranges(path, n) on block boundaries; its ranges read as the
    whole file is; each range's end state is that of the file up to its end."""
    data = path.read_bytes()
    ranges = pcap.savefile_ranges(str(path), n)
    assert len(ranges) == n
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    blocks = ng_blocks(data)
    starts = {off for off, _, _, _ in blocks} | {len(data), blocks[-1][0] + blocks[-1][2] if blocks else 0}
    assert all(s in starts for s, _ in ranges), ranges
    whole, whole_error = read_until_error(read_ng, str(path))
    got, error_at = [], None
    for i, (s, e) in enumerate(ranges):
        part, error = read_until_error(read_ng_range, path, s, e)
        got += part
        if error is not None:
            assert error_at is None, f"ranges {error_at} and {i} both fail"
            assert error == whole_error
            error_at = i
    assert got == whole
    assert (error_at is None) == (whole_error is None)
    if error_at is not None:
        assert all(s == e == len(data) for s, e in ranges[error_at + 1:]), ranges    # after the damage: empty
    if balanced and whole_error is None and len(whole) >= 10 * n:
        sizes = [e - s for s, e in ranges]
        assert max(sizes) - min(sizes) <= 2 * max(length for _, _, length, _ in blocks), sizes
    return ranges, whole, whole_error


@pytest.mark.parametrize("first", ["<", ">"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 64])
def test_pcapng_ranges_cover_the_file_on_block_boundaries(tmp_path, first, n):
    path, want = pcapng_sections(tmp_path / "f.pcapng", n * 7 + (first == ">"), first)
    ranges, whole, error = check_ranges(path, n)
    assert error is None
    # The whole file itself reads as written: the comparison is against the truth.
    assert [(ts, data, wirelen, iface) for ts, data, wirelen, iface, _ in whole] == \
        [(ns, data, wirelen, iface) for ns, data, wirelen, iface, _, _ in want]
    assert [(d[1], d[2]) for *_, d in whole] == [(section, dlt(linktype)) for *_, section, linktype in want]
    data = path.read_bytes()
    for s, e in ranges:
        (tmp_path / "upto.pcapng").write_bytes(data[:e])
        with pcap.pcap(str(tmp_path / "upto.pcapng")) as p:
            list(p)
            upto = end_state(p)
        with pcap.open_range(str(path), s, e) as p:
            list(p)
            assert end_state(p) == upto, (s, e)


def test_each_block_start_begins_a_range(tmp_path):
    """n past the number of blocks gives empty ranges; with a share of one
    byte each, every block start is some range's start; and a range from
    any of them reads as the whole file does from there."""
    path, want = pcapng_sections(tmp_path / "f.pcapng", 5, packets=6)
    data = path.read_bytes()
    blocks = ng_blocks(data)
    ranges, whole, _ = check_ranges(path, 4 * len(blocks))
    assert sum(s == e for s, e in ranges) > len(ranges) // 2
    ranges = pcap.savefile_ranges(str(path), len(data))
    assert {s for s, _ in ranges} == {off for off, *_ in blocks} | {len(data)}
    for i, (off, *_) in enumerate(blocks):
        before = sum(1 for o, btype, *_ in blocks[:i] if btype in (EPB, SPB, PB))
        assert read_ng_range(path, off, len(data)) == whole[before:], off


def test_a_range_in_a_later_section_is_served_what_describes_it(tmp_path):
    """The prefix: every section header and interface description before
    the start, in the file's order, then the last statistics block of each
    interface of the section in force; the reader then stands where the
    whole file's does (section number, interfaces, their statistics)."""
    path, _ = pcapng_sections(tmp_path / "f.pcapng", 3)
    data = path.read_bytes()
    blocks = ng_blocks(data)
    shbs = [i for i, b in enumerate(blocks) if b[1] == SHB]
    # The second packet block of the second section, after its statistics block.
    second = [i for i in range(shbs[1], shbs[2]) if blocks[i][1] in (EPB, PB, SPB)]
    isb_at = next(i for i in range(shbs[1], shbs[2]) if blocks[i][1] == ISB)
    start_i = next(i for i in second if i > isb_at)
    start = blocks[start_i][0]
    keep = [b for b in blocks[:start_i] if b[1] in (SHB, IDB)]
    keep.append(blocks[isb_at])
    keep.sort()
    reader = pcap._RangeReader(str(path).encode(), start, len(data))
    try:
        assert reader._head == b"".join(data[off:off + length] for off, _, length, _ in keep)
    finally:
        reader.close()
    end = blocks[shbs[2]][0]
    (tmp_path / "upto.pcapng").write_bytes(data[:end])
    with pcap.pcap(str(tmp_path / "upto.pcapng")) as p:
        list(p)
        upto = end_state(p)
    with pcap.open_range(str(path), start, end) as p:
        next(p)
        assert [d.section for d in p.interfaces] == [1, 1]
        assert p.interfaces[1].statistics == {"received": 44}
        list(p)
        assert end_state(p) == upto


def test_the_last_packet_of_a_section_is_described_by_its_own_section(tmp_path):
    """p.interfaces after a section's last packet is that section's, even
    when the next section's blocks are already in the buffer."""
    path, want = pcapng_sections(tmp_path / "f.pcapng", 9, packets=3)
    got = read_ng(str(path))
    assert [(d[1], d[2]) for *_, d in got] == [(section, dlt(linktype)) for *_, section, linktype in want]


@pytest.mark.parametrize("first", ["<", ">"])
def test_pcapng_cut_short_anywhere(tmp_path, first):
    """A file cut short in any block (its header, body or trailer) or on a
    boundary: the cut block stays in the range where it starts, which fails
    as the whole file does, after the same packets."""
    path, _ = pcapng_sections(tmp_path / "full.pcapng", 11, first, packets=5)
    data = path.read_bytes()
    blocks = ng_blocks(data)
    cut_path = tmp_path / "cut.pcapng"
    rng = random.Random(4)
    cuts = {len(data) - 1, len(data) - 4, blocks[1][0] + 3}
    cuts |= {off + rng.randrange(1, length) for off, _, length, _ in rng.sample(blocks[2:], 12)}
    cuts |= {blocks[len(blocks) // 2][0]}          # on a boundary: no error
    for cut in sorted(cuts):
        cut_path.write_bytes(data[:cut])
        for n in (2, 5):
            ranges, whole, error = check_ranges(cut_path, n, balanced=False)
            on_boundary = cut in {off for off, *_ in blocks}
            assert (error is None) == on_boundary, (cut, error)
            if not on_boundary:
                assert "truncated" in error, error


def damaged(data, blocks, kind):
    """data with one block (about two thirds in) damaged as ``kind`` says,
    and where that block starts."""
    out = bytearray(data)
    packets = [b for b in blocks if b[1] == EPB]
    off, btype, length, order = packets[2 * len(packets) // 3]
    if kind == "trailer":
        struct.pack_into(order + "I", out, off + length - 4, length + 4)
    elif kind == "length not a multiple of 4":
        struct.pack_into(order + "I", out, off + 4, length + 2)
    elif kind == "length too small":
        struct.pack_into(order + "I", out, off + 4, 8)
    elif kind == "length past the end":
        struct.pack_into(order + "I", out, off + 4, length + (1 << 20))
    elif kind == "undescribed interface":
        struct.pack_into(order + "I", out, off + 8, 77)
    elif kind == "caplen past the block":
        struct.pack_into(order + "I", out, off + 20, length)
    elif kind in ("time stamp units", "section version", "byte order magic"):
        # A block the walk must read as the reader does, not only step over.
        later = [b for b in blocks if b[1] == (IDB if kind == "time stamp units" else SHB) and b[0] > off]
        off, btype, length, order = later[0]
        if kind == "time stamp units":
            at = out.index(struct.pack(order + "HH", 9, 1), off)
            out[at + 4] = 20                    # 10^-20: finer than the reader takes
        elif kind == "section version":
            struct.pack_into(order + "H", out, off + 12, 2)
        else:
            struct.pack_into(order + "I", out, off + 8, 0x11223344)
    return bytes(out), off


@pytest.mark.parametrize("kind", ["trailer", "length not a multiple of 4", "length too small", "length past the end",
                                  "undescribed interface", "caplen past the block", "time stamp units",
                                  "section version", "byte order magic"])
def test_damage_stays_in_the_range_where_it_starts(tmp_path, kind):
    path, _ = pcapng_sections(tmp_path / "f.pcapng", 21, packets=8)
    data = path.read_bytes()
    path.write_bytes(damaged(data, ng_blocks(data), kind)[0])
    for n in (1, 3, 8, 200):
        _, whole, error = check_ranges(path, n, balanced=False)
        assert error is not None and 0 < len(whole), (kind, error)


def test_a_pcapng_start_must_be_a_block_boundary(tmp_path):
    path, _ = pcapng_sections(tmp_path / "f.pcapng", 2, packets=4)
    data = path.read_bytes()
    blocks = ng_blocks(data)
    off = blocks[5][0]
    for start in (1, off - 4, off + 8):
        with pytest.raises(ValueError, match=f"{start} is not where a block of the pcapng file .* starts"):
            pcap.open_range(str(path), start, len(data))
    with pytest.raises(ValueError, match="0 <= start <= end <= the file's size"):
        pcap.open_range(str(path), off, len(data) + 1)
    # Past damage no block is found: of the rest only the file's size (the
    # start of the empty ranges) opens.
    bad_data, bad_off = damaged(data, blocks, "trailer")
    path.write_bytes(bad_data)
    bad = next(i for i, b in enumerate(blocks) if b[0] == bad_off)
    with pytest.raises(ValueError, match=f"is not where a block .* blocks at {blocks[bad][0]} and {len(data)}"):
        pcap.open_range(str(path), blocks[bad + 1][0], len(data))
    with pytest.raises(pcap.PcapError, match="trailer don't match"):
        with pcap.open_range(str(path), blocks[bad][0], len(data)) as p:
            list(p)
    with pcap.open_range(str(path), len(data), len(data)) as p:
        assert list(p) == []
        assert p.interfaces       # those in force before the damage


def test_an_end_inside_a_block_reads_as_a_file_cut_there(tmp_path):
    path, _ = pcapng_sections(tmp_path / "f.pcapng", 2, packets=4)
    data = path.read_bytes()
    off, _, length, _ = ng_blocks(data)[9]
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[:off + length // 2])
    assert read_until_error(read_ng_range, path, 0, off + length // 2) == read_until_error(read_ng, str(cut))


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_file_libpcap_reads_itself_is_not_split(tmp_path, order):
    """Memory-mapped Linux USB captures are libpcap's to read (it rewrites
    their headers; our reader refuses them): the walk stops at their
    interface, and the first range holds the file."""
    w = NgWriter(random.Random(1))
    w.shb(order)
    w.add(ng_block(order, IDB, struct.pack(order + "HHI", 220, 0, 0)))    # DLT_USB_LINUX_MMAPPED
    for i in range(30):
        frame = bytes(64) + bytes([i]) * 20
        w.add(ng_block(order, EPB, struct.pack(order + "IIIII", 0, 0, i, len(frame), len(frame)) + frame))
    path = tmp_path / "usb.pcapng"
    path.write_bytes(bytes(w.out))
    size = path.stat().st_size
    assert pcap.savefile_ranges(str(path), 4) == [(0, size)] + [(size, size)] * 3
    ranges = [(0, 28), (28, size)]              # (a range may start at the interface)
    whole = read_source(path)
    assert len(whole) == 30
    assert sum((read_range(path, s, e) for s, e in ranges), []) == whole


def test_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)
    try:
        os.write(fd, ng_shb("<"))
        with pytest.raises(pcap.PcapError, match="cannot split savefile .* not a regular file"):
            pcap.savefile_ranges(str(fifo), 2)
    finally:
        os.close(fd)
