"""What the fuzz harnesses found (tests/fuzzing.py), as the module's users
meet it.  Each test names the harness's finding; the seeds that reproduce
it there (finding-* in fuzzing.classic_seeds() and pcapng_findings()) are
replayed through the harnesses by test_fuzz.py.  The reads that used to
crash or hang run in a child process."""
import os
import struct

import pytest

import fuzzing
import pcap
from support import Pcapng, check_child, run_python

FINDINGS = fuzzing.pcapng_findings()


@pytest.fixture
def savefile(tmp_path):
    def write(name, data):
        path = tmp_path / name
        path.write_bytes(bytes(data))
        return str(path)
    return write


# -- fuzz_classic -----------------------------------------------------------------------

def test_a_record_libpcap_refuses_ends_the_file(savefile):
    """After libpcap refused a record (its caplen over libpcap's limit), the
    next read went on from the middle of that record and handed out what
    followed as packets (_RecordSource.next did not look at ``ended``)."""
    p = pcap.pcap(savefile("refused.pcap", fuzzing.classic_seeds()["finding-after-refused.pcap"]))
    assert len(next(p)[1]) == 10
    with pytest.raises(pcap.PcapError, match="invalid packet capture length 262145"):
        next(p)
    assert list(p) == []
    assert p.readpkts() == []
    assert p.dispatch(-1, lambda ts, buf: None) == 0
    assert p.dispatch(-1) == 0      # counting in C


# -- fuzz_pcapng ------------------------------------------------------------------------

def test_a_section_of_the_other_byte_order_forgets_the_packet_before_it(savefile):
    """A section of the other byte order, damaged after its header: the
    reader had taken the section's byte order, and Python read the options
    of the packet last read (of the section before) in it (an obsolete
    Packet Block's drop count of 1 became 256).  A new section now forgets
    the packet before it, as it forgets its interfaces; and a section header
    that is refused changes nothing (the interfaces before were read in its
    byte order: their names were lost)."""
    data = FINDINGS["finding-section-order.pcapng"]
    be_section = data.index(b"\x0a\x0d\x0d\x0a", 4)
    damaged = data[:be_section + 28] + struct.pack(">III", 0x0BAD, 16, 0) + struct.pack(">I", 20)
    p = pcap.pcap(savefile("sections.pcapng", damaged))
    next(p)
    assert p.packet_dropcount == 1 and p.packet_comments == ["last of the first"]
    with pytest.raises(pcap.PcapError, match="trailer"):
        next(p)
    assert p.packet_dropcount is None and p.packet_comments == [] and p.interfaces == []
    # A section header of the other byte order that is refused (version 2):
    # it never was the reader's, and the section before stays as it was.
    refused = data[:be_section] + bytes(Pcapng(">").shb(version=(2, 0)))
    p = pcap.pcap(savefile("refused.pcapng", refused))
    next(p)
    with pytest.raises(pcap.PcapError, match="major version number 2"):
        next(p)
    assert [i.name for i in p.interfaces] == ["eth0"]
    assert p.packet_dropcount == 1 and p.packet_comments == ["last of the first"]


def test_a_section_header_half_come_on_a_pipe_changes_nothing_yet():
    """A section header of the other byte order cut short by a pipe: the
    reader took the new byte order at once, and read the interfaces and the
    packet before it in that order until the rest came (the interface's name
    was lost, the drop count 256).  (Fixed alongside in whole_block.)"""
    data = FINDINGS["finding-section-order.pcapng"]
    be_section = data.index(b"\x0a\x0d\x0d\x0a", 4)
    r, w = os.pipe()
    try:
        os.write(w, data[:be_section + 16])
        p = pcap.pcap(f"/dev/fd/{r}")
        p.setnonblock(True)
        assert len(p.readpkts()) == 1
        assert p.readpkts() == []               # the section header is not whole yet
        assert [i.name for i in p.interfaces] == ["eth0"]
        assert p.packet_dropcount == 1 and p.packet_comments == ["last of the first"]
        os.write(w, data[be_section + 16:])
        os.close(w)
        w = -1
        p.setnonblock(False)
        assert len(p.readpkts()) == 2
        assert [i.name for i in p.interfaces] == ["eth1"]
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_an_interface_read_ahead_while_filtering_gets_its_filter(savefile):
    """p.interfaces read an interface described after packets while a filter
    was set: its packets were then tested with no program (a NULL
    bpf_program: the process crashed).  And after the filter failed to
    compile for a later interface, the next read crashed the same way.
    (Fixed alongside: the reader's ``ready``.)"""
    path = savefile("late.pcapng", fuzzing.pcapng_seeds()["late-interfaces-le.pcapng"])
    out = check_child(run_python("""
        import sys, pcap
        p = pcap.pcap(sys.argv[1])
        p.setfilter("udp")
        next(p)
        print(len(p.interfaces))
        print(next(p)[1][:1].hex(), p.interface_id)     # a raw IP packet: interface 1
        print(next(p)[1][12:14].hex(), p.interface_id)  # an Ethernet one: interface 0
        try:
            next(p)
        except pcap.PcapError as e:
            print("raised", "link type 147" in str(e))
        print(list(p), p.readpkts())
        q = pcap.pcap(sys.argv[1])
        q.setfilter("udp")
        q.readpkts(1)
        q.interfaces
        records, data = bytearray(pcap.BATCH_RECORD_NG_SIZE * 8), bytearray(1 << 20)
        print(q.readinto(records, data, 2, interfaces=True))
    """, path))
    assert out.split("\n") == ["2", "45 1", "0800 0", "raised True", "[] []", "2", ""]


def test_a_packet_longer_than_what_is_left_of_a_batch_ends_it(savefile):
    """A packet longer than the first interface's snapshot length (which
    sizes a batch's data) that did not fit what was left of a batch was held
    for the next one, and fill() said it had made progress: readinto() asked
    again for ever.  Now the batch ends there (_FULL), and the packet is the
    next batch's first (or raises when it does not fit an empty one)."""
    data = Pcapng().shb().idb(1, 20).epb(0, 1, bytes(10)).epb(0, 2, bytes(60)).epb(0, 3, bytes(5))
    out = check_child(run_python("""
        import sys, pcap
        path = sys.argv[1]
        p = pcap.pcap(path)
        records, data = bytearray(24 * 8), bytearray(64)
        print(p.readinto(records, data), p.readinto(records, data), p.readinto(records, data))
        p = pcap.pcap(path)
        print([len(d) for r, d in iter(lambda: p.next_batch(8, 64), (b"", b""))])
        p = pcap.pcap(path)
        try:
            p.readinto(records, bytearray(40))
            p.readinto(records, bytearray(40))
        except pcap.PcapError as e:
            print("raised", "a packet of 60 bytes does not fit" in str(e))
    """, savefile("wide.pcapng", data), timeout=30))
    assert out.split("\n") == ["1 1 1", "[10, 60, 5]", "raised True", ""]


def test_a_batch_that_grows_the_buffer_forgets_the_last_packets_options(savefile):
    """pcapng_fill() took a packet, then read more of the file for the next
    block, which moved the buffer or grew it (freeing the old one): the
    packet's block, whose options Python reads, was no longer where the
    reader said (fuzz_pcapng: finding-fill-moves and finding-fill-grows,
    replayed in test_fuzz.py under AddressSanitizer; here the comment came
    from freed memory).  Now the packet is forgotten when its bytes move:
    its options read as none, never from memory that is gone."""
    ng = Pcapng().shb().idb(1)
    for i in range(40000 // 64):
        ng.epb(0, i, bytes(16), comments=[b"p%07d" % i])
    grows = struct.pack("<II", 6, 0x40000) + bytes(100)      # an Enhanced Packet Block of 256 KiB, cut short
    p = pcap.pcap(savefile("grows.pcapng", bytes(ng) + grows))
    records, data = bytearray(40 * 1000), bytearray(1 << 20)
    assert p.readinto(records, data) == 40000 // 64
    assert p.packet_comments == []
    with pytest.raises(pcap.PcapError, match="truncated"):
        p.readinto(records, data)


def test_a_packet_too_large_for_an_empty_batch_is_said_before_the_packets_after_it(savefile):
    """A packet that fits no batch (longer than its data, or comments longer
    than its comments room) was dropped and pcapng_fill() went on: the
    packets after it came first, the error on the next read.  Now the batch
    ends there and the error comes at once; the packets after it follow
    (data), or the read ends (comments: the read's end, as said)."""
    wide = Pcapng().shb().idb(1, 100).epb(0, 1, b"a" * 5000).epb(0, 2, b"b" * 10).epb(0, 3, b"c" * 10)
    p = pcap.pcap(savefile("wide.pcapng", wide))
    with pytest.raises(pcap.PcapError, match="a packet of 5000 bytes does not fit"):
        p.readinto(bytearray(24 * 8), bytearray(200))
    records, data = bytearray(24 * 8), bytearray(200)
    assert p.readinto(records, data) == 2 and data[:20] == b"b" * 10 + b"c" * 10
    said = Pcapng().shb().idb(1, 100).epb(0, 1, b"a" * 60, comments=["c" * 30]).epb(0, 2, b"b" * 10)
    p = pcap.pcap(savefile("said.pcapng", said))
    with pytest.raises(pcap.PcapError, match="comments of 30 bytes do not fit"):
        p.readinto(bytearray(40 * 8), bytearray(4096), interfaces=True, comments=bytearray(10))
    assert p.readinto(bytearray(40 * 8), bytearray(4096), interfaces=True, comments=bytearray(10)) == 0


def test_reads_after_a_pcapng_read_ended_give_nothing(savefile):
    """A read that ended (comments too long for any batch, damage, a filter
    that does not compile for an interface) set ``ended``, which next()
    did not look at: the next read took the packets after the point where
    the read had ended (found through the comments case)."""
    udp = fuzzing.support.udp_frame(b"x")
    p = pcap.pcap(savefile("damaged.pcapng", bytes(Pcapng().shb().idb(1).epb(0, 1, udp)) + b"\0" * 12
                           + bytes(Pcapng().epb(0, 2, udp))))
    assert len(next(p)[1]) == len(udp)
    with pytest.raises(pcap.PcapError, match="length of 0"):
        next(p)
    assert list(p) == [] and p.readpkts() == [] and p.dispatch(-1) == 0
    p = pcap.pcap(savefile("late.pcapng", fuzzing.pcapng_seeds()["late-interfaces-le.pcapng"]))
    p.setfilter("udp")
    assert len(p.readpkts()) == 3
    with pytest.raises(pcap.PcapError, match="link type 147"):
        p.readpkts()
    assert p.readpkts() == [] and list(p) == []
