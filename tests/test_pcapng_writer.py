"""Writing pcapng: pcap.dumper(format="pcapng") and dump_open(), the API.

Files written here are read back by the module's reader and, for their
layout, by struct; tshark's reading of them is in
test_pcapng_writer_wireshark.py.
"""
import gzip
import io
import os
import re
import struct
import threading

import pytest

import pcap
from support import Pcapng, check_child, free_port, need, open_lo, run_python, send_udp, udp_frame, write_pcap


SAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "sample.pcap")


def read_back(path, **kw):
    """Every packet of a savefile as the module reads it: a dict a packet."""
    out = []
    with pcap.pcap(str(path) if not hasattr(path, "read") else path, timestamp_in_ns=True, **kw) as p:
        for ts, buf in p:
            out.append(dict(ts=ts, data=buf, wirelen=p.wirelen, iface=p.interface_id,
                            comments=p.packet_comments, flags=p.packet_flags, drops=p.packet_dropcount,
                            id=p.packet_id))
        interfaces = p.interfaces
    return out, interfaces


def blocks(raw):
    """[(type, body)] of a little-endian pcapng file, checked block by block."""
    out, at = [], 0
    while at < len(raw):
        btype, total = struct.unpack_from("<II", raw, at)
        assert total % 4 == 0 and total >= 12, (at, total)
        assert struct.unpack_from("<I", raw, at + total - 4)[0] == total
        out.append((btype, raw[at + 8:at + total - 4]))
        at += total
    assert at == len(raw)
    return out


# -- the format ------------------------------------------------------------------

@pytest.mark.parametrize("name, fmt, compressed", [
    ("a.pcapng", "pcapng", None), ("a.PCAPNG", "pcapng", None), ("a.pcap", "pcap", None),
    ("a.cap", "pcap", None), ("a.pcapng.gz", "pcapng", "gzip"), ("a.pcap.gz", "pcap", "gzip"),
    ("a.ntar", "pcapng", None)])
def test_format_and_compression_follow_the_name(tmp_path, name, fmt, compressed):
    path = tmp_path / name
    with pcap.dumper(path) as d:
        assert d.format == fmt
        d.write(1, b"x")
    raw = path.read_bytes()
    if compressed:
        raw = gzip.decompress(raw)
    assert raw[:4] == (b"\x0a\x0d\x0d\x0a" if fmt == "pcapng" else struct.pack("=I", 0xA1B2C3D4))
    assert [(p["ts"], p["data"]) for p in read_back(path)[0]] == [(10**9, b"x")]


def test_format_argument_wins_over_the_name(tmp_path):
    with pcap.dumper(tmp_path / "a.pcap", format="pcapng") as d:
        assert d.format == "pcapng" and d.nano
    assert (tmp_path / "a.pcap").read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    with pcap.dumper(tmp_path / "b.pcapng", format="pcap") as d:
        assert d.format == "pcap" and not d.nano


@pytest.mark.parametrize("kw, error, match", [
    (dict(format="ng"), ValueError, "format must be 'pcap' or 'pcapng', not 'ng'"),
    (dict(compress="lz4"), ValueError, "compress must be"),
    (dict(format="pcap", comment="x"), ValueError, "comment is written in pcapng only"),
    (dict(format="pcap", interfaces=[]), ValueError, "interfaces is written in pcapng only"),
    (dict(format="pcapng", interfaces=[]), ValueError, "interfaces is empty"),
    (dict(format="pcapng", interfaces=[1]), TypeError, "interface_description objects, not int"),
    (dict(format="pcapng", comment=b"x"), TypeError, "comment must be str"),
    (dict(format="pcapng", os=3), TypeError, "os must be str, not int"),
])
def test_bad_arguments(tmp_path, kw, error, match):
    with pytest.raises(error, match=match):
        pcap.dumper(tmp_path / "x", **kw)


def test_pcapng_metadata_on_a_classic_dumper_is_refused(tmp_path):
    with pcap.dumper(tmp_path / "a.pcap") as d:
        for kw in (dict(comments="c"), dict(flags=1), dict(dropcount=0), dict(packet_id=1)):
            with pytest.raises(ValueError, match="pcapng only"):
                d.write(1, b"x", **kw)
        with pytest.raises(ValueError, match="add_interface\\(\\) is written in pcapng only"):
            d.add_interface(pcap.DLT_RAW)
        with pytest.raises(ValueError, match="pcapng only"):
            d.write_statistics()
        with pytest.raises(ValueError, match="interface must be 0 to 0"):
            d.write(1, b"x", interface=1)


# -- what is written -------------------------------------------------------------

def test_section_interfaces_and_packets_as_written(tmp_path):
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path, snaplen=100, comment=["one", "two"], hardware="hw", os="an OS",
                     application="app") as d:
        assert d.interfaces[0].linktype == pcap.DLT_EN10MB and d.interfaces[0].snaplen == 100
        k = d.add_interface(pcap.DLT_RAW, 0, name="tun0", description="tunnel", filter="udp", os="os2",
                            hardware="nic", fcslen=4, speed=10**9, comments=["c"])
        assert k == 1 and d.interfaces[1].name == "tun0"
        d.write(1_700_000_000.25, b"a" * 150, interface=0, comments=["first", "ünïcode"], flags=2,
                dropcount=5, packet_id=2**63 - 1)
        d.write(2, b"\x45" * 20, wirelen=1000, interface=1)
    kinds = blocks(path.read_bytes())
    assert [t for t, _ in kinds] == [0x0A0D0D0A, 1, 1, 6, 6]
    magic, major, minor, length = struct.unpack_from("<IHHq", kinds[0][1])
    assert (magic, major, minor, length) == (0x1A2B3C4D, 1, 0, -1)
    shb = kinds[0][1][16:]
    for text in (b"one", b"two", b"hw", b"an OS", b"app"):
        assert text in shb
    linktype, _, snaplen = struct.unpack_from("<HHI", kinds[1][1])
    assert (linktype, snaplen) == (1, 100)
    assert struct.pack("<HHB", 9, 1, 9) in kinds[1][1]            # if_tsresol 9: nanoseconds
    assert struct.unpack_from("<HHI", kinds[2][1]) == (101, 0, 0)  # DLT_RAW as LINKTYPE_RAW
    iface, hi, lo, caplen, wirelen = struct.unpack_from("<IIIII", kinds[3][1])
    assert (iface, hi << 32 | lo, caplen, wirelen) == (0, 1_700_000_000_250_000_000, 100, 150)

    packets, interfaces = read_back(path)
    assert packets == [
        dict(ts=1_700_000_000_250_000_000, data=b"a" * 100, wirelen=150, iface=0, comments=["first", "ünïcode"],
             flags=2, drops=5, id=2**63 - 1),
        dict(ts=2 * 10**9, data=b"\x45" * 20, wirelen=1000, iface=1, comments=[], flags=None, drops=None,
             id=None)]
    second = interfaces[1]
    assert (second.linktype, second.snaplen, second.name, second.description, second.filter, second.os,
            second.hardware, second.fcslen, second.speed, second.comments, second.tsresol) == (
        pcap.DLT_RAW, 0, "tun0", "tunnel", "udp", "os2", "nic", 4, 10**9, ["c"], 10**9)


def test_defaults_say_this_machine_and_module(tmp_path):
    import platform
    path = tmp_path / "a.pcapng"
    pcap.dumper(path).close()
    shb = blocks(path.read_bytes())[0][1]
    assert platform.machine().encode() in shb and platform.system().encode() in shb
    assert f"python pcap {pcap.__version__}".encode() in shb
    path2 = tmp_path / "b.pcapng"
    pcap.dumper(path2, hardware="", os="", application="").close()
    assert blocks(path2.read_bytes())[0][1][16:] == b""         # no options at all


def test_microsecond_pcapng(tmp_path):
    path = tmp_path / "us.pcapng"
    with pcap.dumper(path, nano=False, timestamp_in_ns=True) as d:
        assert not d.nano
        d.write(1_000_000_123_456_789, b"x")
    assert struct.pack("<HHB", 9, 1, 6) in blocks(path.read_bytes())[1][1]
    assert read_back(path)[0][0]["ts"] == 1_000_000_123_456_000
    assert read_back(path)[1][0].tsresol == 10**6


def test_time_stamps_past_2106_fit_pcapng_but_not_classic(tmp_path):
    ts = 200 * 365 * 86400 * 10**9 + 123            # 2169
    with pcap.dumper(tmp_path / "a.pcapng", timestamp_in_ns=True) as d:
        d.write(ts, b"x")
        with pytest.raises(ValueError, match="1970 to 2554"):
            d.write(-1, b"x")
        with pytest.raises(ValueError, match="1970 to 2554"):
            d.write(2**64, b"x")
    assert read_back(tmp_path / "a.pcapng")[0][0]["ts"] == ts
    with pcap.dumper(tmp_path / "a.pcap", timestamp_in_ns=True, nano=True) as d:
        with pytest.raises(ValueError, match="1970 to 2106"):
            d.write(ts, b"x")


@pytest.mark.parametrize("kw, error, match", [
    (dict(interface=2), ValueError, "interface must be 0 to 1"),
    (dict(interface="0"), TypeError, "interface must be an int"),
    (dict(comments=5), TypeError, "comments must be str or a list of str"),
    (dict(comments=[b"x"]), TypeError, "holding bytes"),
    (dict(flags=-1), ValueError, "flags must be"),
    (dict(dropcount=2**64), ValueError, "dropcount must be"),
    (dict(packet_id="x"), TypeError, "packet_id must be an int"),
    (dict(comments="x" * 70000), ValueError, "at most 65535 bytes"),
])
def test_bad_packet_metadata(tmp_path, kw, error, match):
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path) as d:
        d.add_interface(pcap.DLT_RAW)
        with pytest.raises(error, match=match):
            d.write(1, b"x", **kw)
        d.write(2, b"kept")
    assert [p["data"] for p in read_back(path)[0]] == [b"kept"]


def test_add_interface_takes_a_description(tmp_path):
    src = pcap.interface_description(7, pcap.DLT_LINUX_SLL, 2000, name="any", comments=["from p"])
    with pcap.dumper(tmp_path / "a.pcapng") as d:
        assert d.add_interface(src) == 1
        with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
            d.add_interface(pcap.DLT_RAW, colour=1)
        with pytest.raises(TypeError, match="takes an interface_description, or"):
            d.add_interface(src, name="x")
        d.write(1, b"s" * 16, interface=1)
    packets, interfaces = read_back(tmp_path / "a.pcapng")
    assert packets[0]["iface"] == 1
    assert (interfaces[1].index, interfaces[1].linktype, interfaces[1].snaplen, interfaces[1].name,
            interfaces[1].comments) == (1, pcap.DLT_LINUX_SLL, 2000, "any", ["from p"])


def test_statistics_on_request(tmp_path):
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path) as d:
        d.write(1, b"x")
        d.write_statistics(0, received=10, dropped_by_interface=1, accepted_by_filter=9, dropped_by_os=2,
                           delivered=7, start=10**18, end=10**18 + 999)
        with pytest.raises(TypeError, match="unexpected keyword argument 'lost'"):
            d.write_statistics(lost=1)
        with pytest.raises(ValueError, match="interface must be 0 to 0"):
            d.write_statistics(3, received=1)
    assert [t for t, _ in blocks(path.read_bytes())] == [0x0A0D0D0A, 1, 6, 5]
    assert read_back(path)[1][0].statistics == dict(
        received=10, dropped_by_interface=1, accepted_by_filter=9, dropped_by_os=2, delivered=7, start=10**18,
        end=10**18 + 999)


def test_a_standalone_dumper_writes_no_statistics_by_itself(tmp_path):
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path) as d:
        d.write(1, b"x")
        d.write_statistics()            # nothing known: nothing written
    assert [t for t, _ in blocks(path.read_bytes())] == [0x0A0D0D0A, 1, 6]


# -- batches and Arrow ---------------------------------------------------------------

def mixed_file(tmp_path, order="<"):
    """Two interfaces of two link types, comments and flags."""
    ng = Pcapng(order).shb().idb(1, 0, name="eth0", tsresol=9).idb(101, 0, name="tun0", tsresol=6)
    for i in range(40):
        if i % 3 == 1:
            ng.epb(1, 1_700_000_000_000_000 + i, b"\x45" + bytes([i]) * 27, flags=1)
        else:
            ng.epb(0, 1_700_000_000_000_000_000 + i * 1001, udp_frame(b"%d" % i), 200,
                   comments=[f"c{i}"] if i % 5 == 0 else (), flags=2 if i % 2 else None)
    path = tmp_path / f"mixed{'le' if order == '<' else 'be'}.pcapng"
    path.write_bytes(bytes(ng))
    return path


@pytest.mark.parametrize("order", ["<", ">"])
def test_write_batch_of_next_batch(tmp_path, order):
    src = mixed_file(tmp_path, order)
    out = tmp_path / "out.pcapng"
    with pcap.pcap(str(src)) as p, p.dump_open(out) as d:
        assert d.format == "pcapng"
        while True:
            records, data, comments = p.next_batch(7, interfaces=True)
            if not records:
                break
            assert d.write_batch(records, data, comments) == len(records) // pcap.BATCH_RECORD_NG_SIZE
    want, _ = read_back(src)
    got, ifaces = read_back(out)
    assert [(g["ts"], g["data"], g["wirelen"], g["iface"], g["comments"], g["flags"]) for g in got] == \
        [(w["ts"], w["data"], w["wirelen"], w["iface"], w["comments"], w["flags"] or None) for w in want]
    assert [(i.name, i.linktype) for i in ifaces] == [("eth0", 1), ("tun0", pcap.DLT_RAW)]


def test_write_batch_narrow_records_and_count(tmp_path):
    src = mixed_file(tmp_path)
    out = tmp_path / "out.pcap"
    with pcap.pcap(str(src), timestamp_in_ns=True) as p:
        p.setfilter("ip and udp")          # interface 0's packets only: one link type
        records, data = p.next_batch(100)
    with pcap.dumper(out, nano=True) as d:
        assert d.write_batch(records, data, count=3) == 3
        assert d.write_batch(records, data) == len(records) // pcap.BATCH_RECORD_SIZE
    got = [(r["ts"], r["data"]) for r in read_back(out)[0]]
    n = len(records) // pcap.BATCH_RECORD_SIZE
    want = [(r["ts"], r["data"]) for r in read_back(src)[0] if r["iface"] == 0]
    assert got == want[:3] + want[:n]


def test_write_batch_refuses_bad_records(tmp_path):
    rec = struct.pack(pcap.BATCH_RECORD_FORMAT, 10**9, 4, 4, 0)
    bad_offset = struct.pack(pcap.BATCH_RECORD_FORMAT, 10**9, 4, 4, 2)
    early = struct.pack(pcap.BATCH_RECORD_FORMAT, -1, 4, 4, 0)
    wide = struct.pack(pcap.BATCH_RECORD_NG_FORMAT, 10**9, 4, 4, 0, 5, 0, 0)
    long_comment = struct.pack(pcap.BATCH_RECORD_NG_FORMAT, 10**9, 4, 4, 0, 0, 0, 9)
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path) as d:
        with pytest.raises(ValueError, match="record 1 of the batch: its bytes .* lie outside data"):
            d.write_batch(rec + bad_offset, b"abcd")
        with pytest.raises(ValueError, match="record 0 of the batch: its time stamp is out of the range"):
            d.write_batch(early, b"abcd")
        with pytest.raises(ValueError, match="not one of the dumper's 1 interfaces"):
            d.write_batch(wide, b"abcd", b"")
        with pytest.raises(ValueError, match="comment_len goes past the end of comments"):
            d.write_batch(long_comment, b"abcd", b"12345678")
        with pytest.raises(ValueError, match="not a whole number of 24-byte records"):
            d.write_batch(rec + b"x", b"abcd")
        with pytest.raises(ValueError, match="comments come with interfaces=True"):
            d.write_batch(rec, b"abcd", b"", interfaces=False)
        with pytest.raises(ValueError, match="count must be 0 to 1"):
            d.write_batch(rec, b"abcd", count=2)
        with pytest.raises(TypeError, match="records must be a bytes-like object"):
            d.write_batch("x", b"abcd")
    # The records before a bad one were written (once), nothing after it.
    assert [p["data"] for p in read_back(path)[0]] == [b"abcd"]


def test_write_table_of_to_arrow(tmp_path):
    pytest.importorskip("pyarrow") if not os.environ.get("CI") else None
    import pyarrow  # noqa: F401  (the test extra installs it)
    src = mixed_file(tmp_path)
    with pcap.pcap(str(src)) as p:
        table = p.to_arrow()
    out = tmp_path / "out.pcapng"
    with pcap.dumper(out, interfaces=pcap.pcap(str(src)).interfaces) as d:
        assert d.write_table(table) == table.num_rows
        assert d.write_table(table.slice(3, 2)) == 2
    want, _ = read_back(src)
    got, _ = read_back(out)
    key = lambda r: (r["ts"], r["data"], r["wirelen"], r["iface"], r["comments"], r["flags"] or None)
    assert [key(r) for r in got] == [key(r) for r in want] + [key(r) for r in want[3:5]]


# -- where it goes ----------------------------------------------------------------

def test_a_file_object_is_written_through_and_left_open(tmp_path):
    f = io.BytesIO()
    with pcap.dumper(f, format="pcapng") as d:
        assert d.path == "<BytesIO>"
        for i in range(3000):            # more than the buffer holds
            d.write(i, b"%d" % i * 20)
    assert not f.closed
    got, _ = read_back(io.BytesIO(f.getvalue()))
    assert [(p["ts"], p["data"]) for p in got] == [(i * 10**9, b"%d" % i * 20) for i in range(3000)]


def test_zstd_output(tmp_path):
    need(_has("zstandard"), "the zstandard package is missing (the test extra installs it)")
    path = tmp_path / "a.pcapng.zst"
    with pcap.dumper(path) as d:
        d.write(1, b"z" * 100, comments="zstd")
    assert path.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    got, _ = read_back(path)
    assert [(p["data"], p["comments"]) for p in got] == [(b"z" * 100, ["zstd"])]


def test_zstd_without_the_package_says_what_to_install(tmp_path):
    out = run_python("""
        import sys
        sys.modules["zstandard"] = None
        import pcap
        try:
            pcap.dumper(sys.argv[1])
        except pcap.PcapError as e:
            print(e)
    """, str(tmp_path / "a.pcapng.zst"))
    assert "needs the 'zstandard' package (pip install zstandard)" in check_child(out)


def _has(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


# -- appending ----------------------------------------------------------------------

def test_append_to_pcapng_adds_a_section(tmp_path):
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path) as d:
        d.write(1, b"one")
    with pcap.dumper(path, append=True, interfaces=[pcap.interface_description(0, pcap.DLT_RAW, 0,
                                                                               name="tun0")]) as d:
        d.write(2, b"\x45two")
    assert [t for t, _ in blocks(path.read_bytes())] == [0x0A0D0D0A, 1, 6, 0x0A0D0D0A, 1, 6]
    got, interfaces = read_back(path)
    assert [(p["ts"], p["data"]) for p in got] == [(10**9, b"one"), (2 * 10**9, b"\x45two")]
    assert interfaces[0].name == "tun0"           # the last section's


def test_append_refuses_a_file_cut_mid_block(tmp_path):
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path) as d:
        d.write(1, b"one")
        d.write(2, b"two")
    raw = path.read_bytes()
    path.write_bytes(raw[:-10])
    with pytest.raises(pcap.PcapError, match=r"does not end on a whole block: \d+ bytes at offset \d+"):
        pcap.dumper(path, append=True)
    assert path.read_bytes() == raw[:-10]


def test_append_refuses_a_classic_file_cut_mid_record(tmp_path):
    path = tmp_path / "a.pcap"
    with pcap.dumper(path) as d:
        d.write(1, b"one")
        d.write(2, b"twotwo")
    raw = path.read_bytes()
    path.write_bytes(raw[:-3])
    with pytest.raises(pcap.PcapError, match=rf"does not end on a whole record: 19 bytes at offset "
                                             rf"{24 + 16 + 3}.*truncate the file to {24 + 16 + 3} bytes"):
        pcap.dumper(path, append=True)


@pytest.mark.parametrize("first, second, match", [
    ("pcap", "pcapng", "it is a pcap file, and this dumper writes pcapng"),
    ("pcapng", "pcap", "it is a pcapng file, and this dumper writes pcap")])
def test_append_to_the_other_format_is_refused(tmp_path, first, second, match):
    path = tmp_path / "a"
    pcap.dumper(path, format=first).close()
    with pytest.raises(pcap.PcapError, match=match):
        pcap.dumper(path, format=second, append=True)


def test_append_to_a_compressed_path_or_file_object_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not to a compressed file"):
        pcap.dumper(tmp_path / "a.pcapng.gz", append=True)
    with pytest.raises(ValueError, match="not to a file object"):
        pcap.dumper(io.BytesIO(), append=True)


# -- threads ---------------------------------------------------------------------------

def test_a_batch_written_without_the_gil_keeps_other_threads_out(tmp_path):
    """While one thread writes a large batch (without the GIL), another's
    write() and close() raise RuntimeError instead of touching the buffer;
    the file holds the batch whole and each write that returned."""
    n = 200_000
    rec = b"".join(struct.pack(pcap.BATCH_RECORD_FORMAT, (i + 1) * 10**9, 8, 8, 8 * i) for i in range(n))
    data = b"".join(b"%08d" % i for i in range(n))
    path = tmp_path / "a.pcapng"
    d = pcap.dumper(path, timestamp_in_ns=True)
    done = threading.Event()
    refused = written = 0
    t = threading.Thread(target=lambda: (d.write_batch(rec, data), done.set()))
    t.start()
    while not done.is_set():
        try:
            d.write(1, b"between")
            written += 1
        except RuntimeError as e:
            assert "writing a batch in another thread" in str(e)
            refused += 1
    t.join()
    d.close()
    got = [p["data"] for p in read_back(path)[0]]
    assert sorted(x for x in got if x != b"between") == [b"%08d" % i for i in range(n)]
    assert got.count(b"between") == written


# -- dump_open ------------------------------------------------------------------------

def test_dump_open_pcapng_of_a_file_of_two_link_types(tmp_path):
    src = mixed_file(tmp_path)
    with pcap.pcap(str(src)) as p:
        with pytest.raises(pcap.PcapError, match="several link types .* write pcapng \\(format='pcapng'\\)"):
            p.dump_open(tmp_path / "x.pcap")
        with p.dump_open(tmp_path / "x.pcapng") as d:
            p.loop(0, d)
    key = lambda r: (r["ts"], r["data"], r["wirelen"], r["iface"], r["comments"], r["flags"])
    assert [key(r) for r in read_back(tmp_path / "x.pcapng")[0]] == [key(r) for r in read_back(src)[0]]


def test_a_standalone_dumper_refuses_interfaces_it_lacks(tmp_path):
    src = mixed_file(tmp_path)
    with pcap.pcap(str(src)) as p, pcap.dumper(tmp_path / "x.pcapng") as d:
        with pytest.raises(pcap.PcapError, match="a packet of interface 1, and the dumper has 1 interface: "
                                                 "open it with p.dump_open\\(\\)"):
            p.loop(0, d)
    with pcap.pcap(str(src)) as p, pcap.dumper(tmp_path / "y.pcapng", interfaces=[
            pcap.interface_description(0, 1, 0), pcap.interface_description(1, 1, 0)]) as d:
        with pytest.raises(pcap.PcapError, match="has link type 12, and the dumper's interface 1 link type 1"):
            p.loop(0, d)


def test_dump_open_pcapng_live_lo(tmp_path, live, watchdog):
    port = free_port()
    path = tmp_path / "lo.pcapng"
    with open_lo(port, settled=True, timeout_ms=1000) as p:
        with p.dump_open(path, comment="live") as d:
            send_udp(port, [b"live%d" % i for i in range(20)])
            got = 0
            while got < 20:
                n = p.dispatch(-1, d)
                assert n, "the datagrams sent did not come"
                got += n
    packets, interfaces = read_back(path)
    assert [pkt["data"][42:] for pkt in packets] == [b"live%d" % i for i in range(20)]
    i = interfaces[0]
    assert (i.name, i.linktype, i.filter, i.tsresol) == ("lo", pcap.DLT_EN10MB,
                                                          f"udp and dst host 127.0.0.1 and dst port {port}", 10**9)
    assert i.os and i.os.startswith(os.uname().sysname)
    st = i.statistics
    assert st["received"] >= 20 and st["delivered"] == 20 and st["start"] <= st["end"]


def test_write_table_column_types_nulls_and_errors(tmp_path):
    need(_has("pyarrow"), "pyarrow is missing (the test extra installs it)")
    import pyarrow as pa
    table = pa.table({
        "timestamp": pa.array([1_000, 2_000, 3_000], pa.timestamp("us", tz="UTC")),
        "data": pa.array([b"a", b"", b"ccc"], pa.large_binary()),
        "interface_id": pa.array([0, 1, 0], pa.int64()),
        "flags": pa.array([1, None, 2], pa.uint8()),
        "comment": pa.array([None, "two", ""], pa.large_string()),
    })
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path, timestamp_in_ns=True) as d:
        d.add_interface(pcap.DLT_RAW)
        assert d.write_table(table) == 3
        assert d.write_table(table.slice(1, 1)) == 1
        assert d.write_table(table.slice(0, 0)) == 0
        with pytest.raises(ValueError, match="needs a 'data' column"):
            d.write_table(table.drop_columns(["data"]))
        with pytest.raises(ValueError, match="nulls in its 'data' column"):
            d.write_table(table.set_column(1, "data", pa.array([b"a", None, b"c"])))
        with pytest.raises(ValueError, match="row 0 of the table: its interface_id is not one of the dumper's "
                                             "2 interfaces"):
            d.write_table(table.set_column(2, "interface_id", pa.array([5, 0, 0])))
        with pytest.raises(TypeError, match="'data' column must be binary, not int64"):
            d.write_table(table.set_column(1, "data", pa.array([1, 2, 3])))
    got = [(p["ts"], p["data"], p["wirelen"], p["iface"], p["flags"], p["comments"]) for p in read_back(path)[0]]
    assert got == [(10**6, b"a", 1, 0, 1, []), (2 * 10**6, b"", 0, 1, None, ["two"]), (3 * 10**6, b"ccc", 3, 0, 2, []),
                   (2 * 10**6, b"", 0, 1, None, ["two"])]


def test_write_table_into_classic_pcap(tmp_path):
    need(_has("pyarrow"), "pyarrow is missing (the test extra installs it)")
    with pcap.pcap(SAMPLE) as p:
        table = p.to_arrow()
    out = tmp_path / "copy.pcap"
    with pcap.dumper(out, nano=True) as d:
        d.write_table(table)
    assert read_back(out)[0] == read_back(SAMPLE)[0]


def test_direction_from_a_linux_cooked_header(tmp_path):
    """A copy into pcapng says each packet's direction where its link-layer
    header does (Linux cooked captures: packet type 4 is outgoing, 0-3
    received), and nothing where it does not."""
    def sll(pkttype):
        return struct.pack(">HHH8sH", pkttype, 772, 6, bytes(8), 0x0800) + b"\x45" + bytes(19)
    src = write_pcap(tmp_path / "sll.pcap", [(1, 0, sll(0)), (2, 0, sll(4)), (3, 0, sll(1)), (4, 0, sll(7)),
                                             (5, 0, sll(4)[:1])], linktype=113)
    with pcap.pcap(str(src)) as p, p.dump_open(tmp_path / "sll.pcapng") as d:
        p.loop(0, d)
    assert [r["flags"] for r in read_back(tmp_path / "sll.pcapng")[0]] == [1, 2, 1, None, None]


def test_direction_from_setdirection_live(tmp_path, live, watchdog):
    port = free_port()
    path = tmp_path / "in.pcapng"
    with open_lo(port, settled=True, timeout_ms=1000) as p:
        assert p.setdirection(pcap.PCAP_D_IN)
        with p.dump_open(path) as d:
            send_udp(port, [b"in%d" % i for i in range(5)])
            got = 0
            while got < 5:
                n = p.dispatch(-1, d)
                assert n, "the datagrams sent did not come"
                got += n
    assert [r["flags"] for r in read_back(path)[0]] == [pcap.PACKET_INBOUND] * 5


def test_a_dumper_dropped_unclosed_writes_what_it_held(tmp_path):
    """Garbage collection closes a dumper as close() does: a file object
    gets the buffered packets, a path its last ones."""
    import gc
    f = io.BytesIO()
    d = pcap.dumper(f, format="pcapng")
    d.write(1, b"held")
    assert f.getvalue()[-8:] != b"held"[:4] * 2        # (still in the dumper's buffer)
    del d
    gc.collect()
    assert [p["data"] for p in read_back(io.BytesIO(f.getvalue()))[0]] == [b"held"]
    d = pcap.dumper(tmp_path / "a.pcapng")
    d.write(2, b"also held")
    del d
    gc.collect()
    assert [p["data"] for p in read_back(tmp_path / "a.pcapng")[0]] == [b"also held"]


@pytest.mark.parametrize("fmt, kw, error, match", [
    ("pcap", dict(dlt=100000), pcap.PcapError, "link-layer type 100000 isn't supported in savefiles"),
    ("pcapng", dict(interfaces=[pcap.interface_description(0, 100000, 0)]), pcap.PcapError,
     "link-layer type 100000 isn't supported in savefiles"),
    ("pcapng", dict(interfaces=[pcap.interface_description(0, 1, 0, name=5)]), TypeError, "name must be str"),
    ("pcapng", dict(interfaces=[pcap.interface_description(0, 1, 0, speed=-1)]), ValueError, "speed must be 0 to"),
    ("pcapng", dict(interfaces=[pcap.interface_description(0, 1, 0, fcslen=256)]), ValueError, "fcslen must be"),
    ("pcapng", dict(interfaces=5), TypeError, "interfaces must be a list of pcap.interface_description, not int"),
])
def test_what_a_file_cannot_say_is_refused_before_it_is_opened(tmp_path, fmt, kw, error, match):
    """A link type no savefile holds, an interface option of the wrong type:
    refused before the path is opened, so that a file there stays as it was."""
    path = tmp_path / "kept"
    path.write_bytes(b"what was there")
    with pytest.raises(error, match=match):
        pcap.dumper(path, format=fmt, **kw)
    assert path.read_bytes() == b"what was there"


def test_interfaces_may_be_any_iterable(tmp_path):
    path = tmp_path / "a.pcapng"
    with pcap.dumper(path, interfaces=(pcap.interface_description(k, 1, 0, name=f"if{k}") for k in range(3))) as d:
        d.write(1, b"x", interface=2)
    assert [i.name for i in read_back(path)[1]] == ["if0", "if1", "if2"]


def test_an_interface_added_to_a_live_copy_gets_no_handle_statistics(tmp_path, live, watchdog):
    """close() writes the handle's stats() for its own interface, and for
    one added to the dumper since only what was given for it."""
    path = tmp_path / "lo.pcapng"
    with open_lo(free_port(), timeout_ms=100) as p, p.dump_open(path) as d:
        k = d.add_interface(pcap.DLT_RAW, name="added")
        d.write_statistics(k, received=7)
        p.dispatch(-1, d)
    interfaces = read_back(path)[1]
    assert interfaces[0].name == "lo" and "received" in interfaces[0].statistics
    assert interfaces[1].statistics == dict(received=7)
