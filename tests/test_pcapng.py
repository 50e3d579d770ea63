"""pcapng as the module's own reader reads it: every section and interface,
and what the file says of each packet, through every way of reading.

(tests/test_libpcap_compare.py compares the packets with libpcap's where
libpcap reads a file; tests/test_pcapng_wireshark.py with tshark's where
it refuses one.)"""
import gzip
import io
import os
import struct
import threading
import warnings

import pytest

import pcap
from support import Pcapng, ipv4, udp_frame

ETH = 1
RAW = 101      # LINKTYPE_RAW: pcap.DLT_RAW on this platform
SEC = 1_700_000_000


def raw_udp(payload, dport=53):
    """An IPv4 UDP datagram without a link-layer header."""
    return udp_frame(payload, dport=dport)[14:]


def two_links(order="<"):
    """An Ethernet interface with options and a raw-IP one, their packets
    interleaved, with comments, flags, drop counts, ids and statistics."""
    ng = Pcapng(order)
    ng.shb()
    ng.idb(ETH, 65535, name="eth0", tsresol=9,
           options=[(3, "first nic"), (11, b"\0udp"), (12, "Linux 6.1"), (15, "virtio"), (13, b"\x04"),
                    (8, ng.pack("Q", 10**9)), (1, "the uplink")])
    ng.idb(RAW, 1500, name="tun0")
    ng.epb(0, SEC * 10**9 + 123456789, udp_frame(b"one"), comments=["hello", "again"], flags=1,
           dropcount=7, packet_id=42)
    ng.epb(1, SEC * 10**6 + 1, raw_udp(b"two"), flags=2)
    ng.nrb([])                                                     # name resolution: passed over
    ng.epb(0, SEC * 10**9 + 5, udp_frame(b"three", dport=99))
    ng.isb(0, received=100, dropped_by_interface=3, accepted_by_filter=90)
    ng.custom(32473, b"custom block body")                         # custom: passed over
    ng.epb(1, SEC * 10**6 + 2, raw_udp(b"four", dport=99), comments=["last"])
    return bytes(ng)


EXPECTED = [  # (ts ns, payload, interface, comments, flags, dropcount, packet id)
    (SEC * 10**9 + 123456789, b"one", 0, ["hello", "again"], 1, 7, 42),
    (SEC * 10**9 + 1000, b"two", 1, [], 2, None, None),
    (SEC * 10**9 + 5, b"three", 0, [], None, None, None),
    (SEC * 10**9 + 2000, b"four", 1, ["last"], None, None, None),
]


def ethernet_then_raw():
    """An Ethernet interface and its packet, then a raw-IP interface and its packet."""
    return bytes(Pcapng().shb().idb(ETH).epb(0, 1, udp_frame(b"a")).idb(RAW).epb(1, 3, raw_udp(b"c")))


@pytest.fixture(params=["<", ">"], ids=["le", "be"])
def two_links_file(request, tmp_path):
    path = tmp_path / f"two-{request.param}.pcapng"
    path.write_bytes(two_links(request.param))
    return path


def payload_of(buf, interface):
    """The UDP payload of an Ethernet (interface 0) or raw IP packet."""
    return buf[(14 if interface == 0 else 0) + 28:]


def iterate(p):
    out = []
    for ts, buf in p:
        out.append((ts, payload_of(buf, p.interface_id), p.interface_id, p.packet_comments, p.packet_flags,
                    p.packet_dropcount, p.packet_id))
    return out


def test_interfaces_are_known_at_open_and_describe_each_interface(two_links_file):
    with pcap.pcap(str(two_links_file)) as p:
        eth, tun = p.interfaces
        assert (eth.index, eth.section, eth.linktype, eth.snaplen, eth.tsresol, eth.tsoffset) == \
            (0, 0, pcap.DLT_EN10MB, 65535, 10**9, 0)
        assert (eth.name, eth.description, eth.filter, eth.os, eth.hardware) == \
            ("eth0", "first nic", "udp", "Linux 6.1", "virtio")
        assert (eth.fcslen, eth.speed, eth.comments, eth.statistics) == (4, 10**9, ["the uplink"], None)
        assert eth.linktype_name == "EN10MB"
        assert (tun.index, tun.linktype, tun.snaplen, tun.tsresol, tun.name, tun.description) == \
            (1, pcap.DLT_RAW, 1500, 10**6, "tun0", None)
        assert "tun0" in repr(tun) and "RAW" in repr(tun)


def test_each_packet_says_its_interface_comments_flags_drops_and_id(two_links_file):
    with pcap.pcap(str(two_links_file), timestamp_in_ns=True) as p:
        assert iterate(p) == EXPECTED


def test_statistics_appear_once_their_block_is_read(two_links_file):
    with pcap.pcap(str(two_links_file)) as p:
        next(p)
        assert p.interfaces[0].statistics is None
        list(p)
        assert p.interfaces[0].statistics == {"received": 100, "dropped_by_interface": 3,
                                              "accepted_by_filter": 90}
        assert p.interfaces[1].statistics is None


def test_the_same_through_a_pipe_and_a_gzip_file_object(two_links_file):
    data = two_links_file.read_bytes()
    with pcap.pcap(io.BufferedReader(gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data)))),
                   timestamp_in_ns=True) as p:
        assert iterate(p) == EXPECTED
    r, w = os.pipe()

    def writer():
        for i in range(0, len(data), 7):      # blocks arrive cut anywhere
            os.write(w, data[i:i + 7])
        os.close(w)

    t = threading.Thread(target=writer)
    t.start()
    try:
        with pcap.pcap(f"/dev/fd/{r}", timestamp_in_ns=True) as p:
            os.close(r)
            assert iterate(p) == EXPECTED
            assert p.interfaces[0].statistics["received"] == 100
    finally:
        t.join(10)


def test_callbacks_see_the_metadata_of_their_packet(two_links_file):
    seen = []
    with pcap.pcap(str(two_links_file), timestamp_in_ns=True) as p:
        p.loop(0, lambda ts, buf: seen.append((p.interface_id, p.packet_comments)))
    assert seen == [(e[2], e[3]) for e in EXPECTED]


def test_other_sources_have_one_interface_and_no_packet_options(tmp_path):
    from support import write_pcap
    path = write_pcap(tmp_path / "c.pcap", [(1, 2, udp_frame(b"x"))], nano=True, snaplen=1000)
    with pcap.pcap(str(path)) as p:
        (only,) = p.interfaces
        assert (only.index, only.linktype, only.snaplen, only.tsresol, only.name) == (0, 1, 1000, 10**9, None)
        next(p)
        assert (p.interface_id, p.packet_comments, p.packet_flags, p.packet_dropcount, p.packet_id) == \
            (0, [], None, None, None)


def test_batch_records_carry_the_interface_and_flags(two_links_file):
    np = pytest.importorskip("numpy")
    with pcap.pcap(str(two_links_file)) as p:
        records, data, comments = p.next_batch(interfaces=True)
    rec = np.frombuffer(records, np.dtype(pcap.BATCH_RECORD_NG_DTYPE))
    assert pcap.BATCH_RECORD_NG_SIZE == struct.calcsize(pcap.BATCH_RECORD_NG_FORMAT) == 40
    assert np.dtype(pcap.BATCH_RECORD_NG_DTYPE).itemsize == 40
    assert rec["interface_id"].tolist() == [e[2] for e in EXPECTED]
    assert rec["flags"].tolist() == [e[4] or 0 for e in EXPECTED]
    assert rec["comment_len"].tolist() == [len("\n".join(e[3])) for e in EXPECTED]
    assert bytes(comments) == "".join("\n".join(e[3]) for e in EXPECTED).encode()
    assert rec["timestamp_ns"].tolist() == [e[0] for e in EXPECTED]
    assert [payload_of(bytes(data[o:o + c]), i) for o, c, i in zip(rec["offset"], rec["caplen"],
                                                                    rec["interface_id"])] == \
        [e[1] for e in EXPECTED]
    # Old code, old records: 24 bytes, the same packets.
    with pcap.pcap(str(two_links_file)) as p:
        old, _ = p.next_batch()
    assert len(old) == 24 * len(EXPECTED)
    assert np.frombuffer(old, np.dtype(pcap.BATCH_RECORD_DTYPE))["offset"].tolist() == rec["offset"].tolist()


def test_readinto_and_readbatch_with_interfaces(two_links_file):
    records, data = bytearray(40 * 2), bytearray(1 << 17)
    with pcap.pcap(str(two_links_file)) as p:
        n = p.readinto(records, data, interfaces=True)
        assert n == 2
        assert [struct.unpack_from(pcap.BATCH_RECORD_NG_FORMAT, records, 40 * i)[4] for i in range(n)] == [0, 1]
        # Without a comments buffer, comment_len is 0.
        assert [struct.unpack_from(pcap.BATCH_RECORD_NG_FORMAT, records, 40 * i)[6] for i in range(n)] == [0, 0]
        stamps, packets, lengths, ids = p.readbatch(wirelens=True, interfaces=True)
    assert ids.tolist() == [0, 1] and lengths.tolist() == [len(b) for b in packets]
    with pcap.pcap(str(two_links_file)) as p:
        assert len(p.readbatch(interfaces=True)) == 3


def test_arrow_has_interface_and_flags_columns_and_the_interfaces(two_links_file):
    pytest.importorskip("pyarrow")
    import json
    with pcap.pcap(str(two_links_file)) as p:
        table = p.to_arrow()
    assert table.column("interface_id").to_pylist() == [e[2] for e in EXPECTED]
    assert table.column("flags").to_pylist() == [e[4] or 0 for e in EXPECTED]
    assert table.column("comment").to_pylist() == ["\n".join(e[3]) or None for e in EXPECTED]
    described = json.loads(table.schema.metadata[b"pcap.interfaces"])
    assert [(d["name"], d["linktype"], d["linktype_name"]) for d in described] == \
        [("eth0", pcap.DLT_EN10MB, "EN10MB"), ("tun0", pcap.DLT_RAW, "RAW")]


def test_a_filter_is_compiled_for_each_link_type(two_links_file):
    with pcap.pcap(str(two_links_file), timestamp_in_ns=True) as p:
        p.setfilter("udp dst port 99")
        assert [(payload_of(b, p.interface_id), p.interface_id) for ts, b in p] == [(b"three", 0), (b"four", 1)]
    with pcap.pcap(str(two_links_file)) as p:
        p.setfilter("udp dst port 5678 or udp dst port 53")
        assert p.dispatch(-1) == 2     # counting in C, the same programs ("one" and "two")


def test_an_interface_described_after_the_filter_gets_its_program(tmp_path):
    path = tmp_path / "late.pcapng"
    path.write_bytes(bytes(Pcapng().shb().idb(ETH).epb(0, 1, udp_frame(b"a", dport=7))
                           .epb(0, 2, udp_frame(b"b", dport=8)).idb(RAW)
                           .epb(1, 3, raw_udp(b"c", dport=7)).epb(1, 4, raw_udp(b"d", dport=8))))
    with pcap.pcap(str(path)) as p:
        p.setfilter("udp dst port 7")
        got = [(payload_of(b, p.interface_id), p.interface_id) for ts, b in p]
    assert got == [(b"a", 0), (b"c", 1)]


def test_a_filter_that_cannot_compile_for_a_later_link_type_says_which(tmp_path):
    path = tmp_path / "late.pcapng"
    path.write_bytes(ethernet_then_raw())
    with pcap.pcap(str(path)) as p:
        p.setfilter("ether host 01:02:03:04:05:06 or udp")
        next(p)
        with pytest.raises(pcap.PcapError, match=r"interface 1 .*link type 101"):
            next(p)


def test_datalink_gives_the_first_interfaces_and_says_so(two_links_file, tmp_path):
    with pcap.pcap(str(two_links_file)) as p:
        with pytest.warns(RuntimeWarning, match=r"several link types \(1, 12\)"):
            assert p.datalink() == pcap.DLT_EN10MB
    single = tmp_path / "single.pcapng"
    single.write_bytes(bytes(Pcapng().shb().idb(ETH).idb(ETH, name="eth1")))
    with pcap.pcap(str(single)) as p, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert p.datalink() == pcap.DLT_EN10MB


def test_copying_several_link_types_into_one_pcap_file_is_refused(two_links_file, tmp_path):
    with pcap.pcap(str(two_links_file)) as p:
        with pytest.raises(pcap.PcapError, match=r"several link types \(1, 12\)"):
            p.dump_open(str(tmp_path / "out.pcap"))
    # A second link type that turns up while copying: refused at that packet.
    late = tmp_path / "late.pcapng"
    late.write_bytes(ethernet_then_raw())
    out = tmp_path / "late.pcap"
    with pcap.pcap(str(late)) as p:
        d = p.dump_open(str(out))
        with pytest.raises(pcap.PcapError, match=r"interface 1 has link type 12"):
            p.loop(0, d)
        d.close()
    with pcap.pcap(str(out)) as p:
        assert [payload_of(b, 0) for ts, b in p] == [b"a"]


@pytest.mark.parametrize("second", ["<", ">"])
def test_sections_reset_the_interfaces_and_may_change_byte_order(tmp_path, second):
    path = tmp_path / "sections.pcapng"
    path.write_bytes(bytes(Pcapng("<").shb().idb(ETH, name="a").epb(0, 1, udp_frame(b"1", dport=9),
                                                                    comments=["first"]))
                     + bytes(Pcapng(second).shb().idb(RAW, name="b").idb(ETH, name="c")
                             .epb(1, 2, udp_frame(b"2")).epb(0, 3, raw_udp(b"3"))))
    seen = []
    with pcap.pcap(str(path), timestamp_in_ns=True) as p:
        for ts, buf in p:
            # (p.interfaces reads ahead, but never into the next section.)
            i = p.interfaces[p.interface_id]
            seen.append((ts, i.section, i.name, payload_of(buf, 0 if i.linktype == pcap.DLT_EN10MB else 1),
                         p.packet_comments))
    assert seen == [(1000, 0, "a", b"1", ["first"]), (2000, 1, "c", b"2", []), (3000, 1, "b", b"3", [])]
    with pcap.pcap(str(path)) as p:
        p.setfilter("udp dst port 9")      # compiled for each section's interfaces
        assert [payload_of(b, 0) for ts, b in p] == [b"1"]


def test_simple_and_obsolete_packet_blocks(tmp_path):
    path = tmp_path / "old.pcapng"
    frame = udp_frame(b"x" * 40)
    path.write_bytes(bytes(Pcapng().shb().idb(ETH, 50).spb(frame[:50], wirelen=len(frame))
                           .pb(0, 5, frame, drops=3).pb(0, 6, frame)))
    with pcap.pcap(str(path), timestamp_in_ns=True) as p:
        ts, buf = next(p)      # a simple packet block: no time stamp, cut to the snaplen
        assert (ts, buf, p.wirelen, p.packet_dropcount) == (0, frame[:50], len(frame), None)
        ts, buf = next(p)
        assert (ts, buf, p.packet_dropcount) == (5000, frame, 3)
        ts, buf = next(p)
        assert p.packet_dropcount is None


def test_packets_longer_than_their_interfaces_snaplen_are_read_whole(tmp_path):
    path = tmp_path / "long.pcapng"
    big = bytes(range(256)) * 20
    path.write_bytes(bytes(Pcapng().shb().idb(ETH, 100).idb(ETH, 9000)
                           .epb(0, 1, big[:100]).epb(1, 2, big).epb(0, 3, big[:200])))
    with pcap.pcap(str(path)) as p:
        assert [b for ts, b in p] == [big[:100], big, big[:200]]
    # Batches sized for the first interface: a packet that does not fit
    # waits for the next batch, and none is lost or cut.
    with pcap.pcap(str(path)) as p:
        got = []
        while True:
            records, data = bytearray(24 * 8), bytearray(6000)
            n = p.readinto(records, data)
            if n == 0:
                break
            for i in range(n):
                ts, caplen, wirelen, off = struct.unpack_from(pcap.BATCH_RECORD_FORMAT, records, 24 * i)
                got.append(bytes(data[off:off + caplen]))
    assert got == [big[:100], big, big[:200]]
    with pcap.pcap(str(path)) as p:
        with pytest.raises(pcap.PcapError, match=r"5120 bytes does not fit in the batch's 200 bytes"):
            while p.readinto(bytearray(24 * 8), bytearray(200)):
                pass


def test_damage_ends_the_file_after_the_packets_before_it(two_links_file):
    data = two_links_file.read_bytes()
    cut = data[:data.rindex(b"last") - 20]
    with pcap.pcap(io.BytesIO(cut), timestamp_in_ns=True) as p:
        got = []
        with pytest.raises(pcap.PcapError, match="truncated pcapng dump file"):
            for ts, buf in p:
                got.append(ts)
        assert got == [e[0] for e in EXPECTED[:3]]


def test_a_file_libpcap_refuses_for_its_interface_options_is_read(tmp_path):
    path = tmp_path / "odd.pcapng"
    # Two if_tsresol options: libpcap refuses the file; Wireshark takes the first.
    path.write_bytes(bytes(Pcapng().shb().idb(ETH, tsresol=3, options=[(9, b"\x09")]).epb(0, 1500, b"abc")))
    with pcap.pcap(str(path), timestamp_in_ns=True) as p:
        assert list(p) == [(1_500_000_000, b"abc")]


def test_a_file_without_interfaces_has_no_packets(tmp_path):
    path = tmp_path / "empty.pcapng"
    path.write_bytes(bytes(Pcapng().shb()))
    with pcap.pcap(str(path)) as p:
        assert (list(p), p.interfaces) == ([], [])


def test_comments_that_do_not_fit_wait_for_the_next_batch_or_say_so(tmp_path):
    ng = Pcapng().shb().idb(ETH, 1000)
    for i in range(5):
        ng.epb(0, i, b"p%d" % i, comments=["c" * 30])
    path = tmp_path / "comments.pcapng"
    path.write_bytes(bytes(ng))
    got, sizes = [], []
    with pcap.pcap(str(path)) as p:
        while True:
            records, data, comments = bytearray(40 * 8), bytearray(4096), bytearray(70)
            n = p.readinto(records, data, interfaces=True, comments=comments)
            if n == 0:
                break
            sizes.append(n)
            got += [bytes(comments[30 * i:30 * i + 30]) for i in range(n)]
    assert sizes == [2, 2, 1]          # 70 bytes hold two comments of 30
    assert got == [b"c" * 30] * 5
    with pcap.pcap(str(path)) as p:
        with pytest.raises(pcap.PcapError, match=r"comments of 30 bytes do not fit in the batch's 10 bytes"):
            p.readinto(bytearray(40 * 8), bytearray(4096), interfaces=True, comments=bytearray(10))


def test_an_interface_seen_ahead_waits_for_its_filter_program(tmp_path):
    # p.interfaces reads the description blocks before the next packet; a
    # filtered batch read after it must not take that interface's packets
    # before their program is compiled.
    path = tmp_path / "ahead.pcapng"
    path.write_bytes(bytes(Pcapng().shb().idb(ETH).epb(0, 1, udp_frame(b"a", dport=7)).idb(RAW)
                           .epb(1, 2, raw_udp(b"c", dport=7)).epb(1, 3, raw_udp(b"d", dport=8))))
    with pcap.pcap(str(path)) as p:
        p.setfilter("udp dst port 7")
        assert payload_of(next(p)[1], 0) == b"a"
        assert [i.linktype for i in p.interfaces] == [pcap.DLT_EN10MB, pcap.DLT_RAW]
        records, data = bytearray(24 * 4), bytearray(1 << 18)
        assert p.readinto(records, data) == 1
        ts, caplen, wirelen, off = struct.unpack_from(pcap.BATCH_RECORD_FORMAT, records)
        assert payload_of(bytes(data[off:off + caplen]), 1) == b"c"
