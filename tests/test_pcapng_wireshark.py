"""The module against Wireshark's tshark, on pcapng files that libpcap
refuses although they are sound: there the module reads them as Wireshark
does, and shows exactly what tshark shows of every packet (interface,
time stamp in ns, captured and wire length, bytes, comments, epb_flags,
dropcount and packet id; a Simple Packet Block's packet has no time stamp
in tshark and 0 in the module).

The files: written here block by block (interfaces of several link types
and snapshot lengths, packets longer than their snapshot length, several
sections of either byte order, comments, flags, simple and obsolete packet
blocks, statistics, blocks to pass over, if_tsresol of powers of 10 and 2,
if_tsoffset, odd interface options, no interface at all); made by mergecap
from classic files of several link types; and each of those in the other
byte order too (support.pcapng_other_order(), which tshark must read as the
original).  Each is read as a regular file, through a pipe fed in pieces
and through a gzip file object.  The public test suites' real files are
compared by tools/pcapng_corpus.py, outside the tests: files fetched from
other projects are not shipped here (docs/pcapng-corpus.md has the run).
"""
import gzip
import io
import random
import struct
import subprocess

import pytest

import pcap
from support import (Pcapng, PipeFeeder, first_difference, ipv4, mergecap, module_packets,
                     pcapng_other_order, tshark_packets, udp_frame, write_pcap)


# -- packets of each link type ---------------------------------------------------

ETHERNET, NULL, RAW, IEEE802_11, LOOP, SLL, RADIOTAP, USER0, IPV4, SLL2 = 1, 0, 101, 105, 108, 113, 127, 147, 228, 276


def ip_packet(rng, n):
    udp = struct.pack("!HHHH", 1000 + n % 7, 53, 8 + n, 0) + bytes(rng.randrange(256) for _ in range(n))
    return ipv4(17, udp, "10.0.0.1", "10.0.0.2")


def frame(linktype, rng, n, order="<"):
    """A packet of ``linktype`` around an IPv4/UDP packet of ``n`` payload
    bytes (NULL's address family in the byte order ``order`` of its writer)."""
    ip = ip_packet(rng, n)
    if linktype == ETHERNET:
        return udp_frame(bytes(rng.randrange(256) for _ in range(n)))
    if linktype in (RAW, IPV4):
        return ip
    if linktype == NULL:
        return struct.pack(order + "I", 2) + ip
    if linktype == LOOP:
        return struct.pack(">I", 2) + ip
    if linktype == SLL:
        return struct.pack(">HHH8sH", 0, 1, 6, b"\2\0\0\0\0\1\0\0", 0x0800) + ip
    if linktype == SLL2:
        return struct.pack(">HHIHBB8s", 0x0800, 0, 3, 1, 4, 6, b"\2\0\0\0\0\1\0\0") + ip
    wlan = struct.pack("<HH6s6s6sH", 0x0208, 0, b"\2" * 6, b"\4" * 6, b"\6" * 6, 0) + b"\xaa\xaa\3\0\0\0\x08\0" + ip
    if linktype == IEEE802_11:
        return wlan
    if linktype == RADIOTAP:
        return struct.pack("<BBHI", 0, 0, 8, 0) + wlan
    return bytes(rng.randrange(256) for _ in range(n))      # USER0


# -- files written here ------------------------------------------------------------

T0 = 1_700_000_000


def several_linktypes(rng):
    """Interfaces of eight link types and other snapshot lengths (some
    packets longer than theirs), interleaved."""
    ng = Pcapng().shb([(2, "x86_64"), (3, "Linux 6.1"), (4, "test_pcapng_wireshark.py"), (1, "section")])
    kinds = [(ETHERNET, 65535), (RAW, 128), (NULL, 262144), (LOOP, 1500), (RADIOTAP, 96),
             (IEEE802_11, 200), (USER0, 64), (IPV4, 80)]
    for k, (lt, snap) in enumerate(kinds):
        ng.idb(lt, snap, [(2, f"if{k}"), (3, f"interface {k}"), (1, f"linktype {lt}")], tsresol=6 if k % 2 else 9)
    for i in range(60):
        k = (i * 7) % len(kinds)
        data = frame(kinds[k][0], rng, rng.randrange(0, 120))
        ng.epb(k, (T0 + i) * (10**6 if k % 2 else 10**9) + rng.randrange(10**6),
               data, len(data) + (300 if i % 5 == 0 else 0))
    return ng


def linux_cooked(rng):
    """Linux cooked captures (SLL, SLL2) after Ethernet, some of CAN
    frames (whose CAN id is in the writer's byte order, which readers
    swap in a section of the other byte order: it reads the same both
    ways here, so that pcapng_other_order() keeps it right)."""
    ng = Pcapng().shb().idb(ETHERNET, 0).idb(SLL, 0).idb(SLL2, 0)
    can = struct.pack("<IBBBB", 0x12343412, 8, 0, 0, 0) + bytes(range(8))
    for i in range(9):
        k = i % 3
        data = frame([ETHERNET, SLL, SLL2][k], rng, i)
        if i >= 6 and k == 1:
            data = struct.pack(">HHH8sH", 0, 280, 0, bytes(8), 0x000C) + can
        elif i >= 6 and k == 2:
            data = struct.pack(">HHIHBB8s", 0x000C, 0, 3, 280, 0, 0, bytes(8)) + can
        ng.epb(k, (T0 + i) * 10**6, data)
    return ng


def longer_than_snaplen(rng):
    """One interface, packets longer than its snapshot length."""
    ng = Pcapng().shb().idb(ETHERNET, 60)
    for i in range(10):
        data = frame(ETHERNET, rng, i * 10)
        ng.epb(0, (T0 + i) * 10**6, data, len(data) + i)
    return ng


def snapshot_lengths(rng):
    """One link type, two snapshot lengths, packets longer than each."""
    ng = Pcapng().shb().idb(ETHERNET, 60).idb(ETHERNET, 100)
    for i in range(20):
        data = frame(ETHERNET, rng, rng.randrange(0, 150))
        ng.epb(i % 2, (T0 + i) * 10**6, data)
    return ng


def byte_orders(rng, order):
    """The same interface in sections of either byte order."""
    out = b""
    for s, o in enumerate([order, ">" if order == "<" else "<", order]):
        ng = Pcapng(o).shb().idb(ETHERNET, 0, tsresol=9)
        for i in range(4):
            ng.epb(0, (T0 + 10 * s + i) * 10**9 + i, frame(ETHERNET, rng, i + s))
        out += bytes(ng)
    return out


def sections(rng, order):
    """Four sections, the second and fourth in the other byte order, one
    without any interface; interfaces and link types differ between them."""
    other = ">" if order == "<" else "<"
    out = b""
    for s, (o, kinds) in enumerate([(order, [ETHERNET, RAW]), (other, [RAW, LOOP, ETHERNET]), (order, []),
                                    (other, [NULL])]):
        ng = Pcapng(o).shb([(1, f"section {s}")])
        for k, lt in enumerate(kinds):
            ng.idb(lt, 65535, tsresol=[6, 9, 3][k % 3])
        for i in range(3 * len(kinds)):
            k = i % len(kinds)
            ng.epb(k, (T0 + 100 * s + i) * [10**6, 10**9, 10**3][k % 3] + i, frame(kinds[k], rng, i * 5, o))
        out += bytes(ng)
    return out


def comments(rng):
    ng = Pcapng().shb([(1, "first section comment"), (1, "second one")])
    ng.idb(ETHERNET, 0, [(1, "an interface comment")]).idb(RAW, 0)
    texts = [[], ["one"], ["several", "comments, with a comma", "and\ttab"], [""], ["ünïcödé ✓ 中文"],
             ['quote " backslash \\ newline\n'], ["x" * 5], ["four"], ["a" * 300], ["trailing NUL\0"],
             [b"up to a NUL\0garbage\x0c", b"\0"], [b"not UTF-8: \xff\xfe caf\xc3 \xed\xa0\x80"]]
    for i, said in enumerate(texts * 2):
        ng.epb(i % 2, (T0 + i) * 10**6, frame([ETHERNET, RAW][i % 2], rng, i), options=[(1, c) for c in said])
    return ng


def flags(rng):
    """epb_flags, epb_dropcount, epb_packetid and others, an obsolete
    Packet Block's drops count and flags."""
    ng = Pcapng().shb().idb(ETHERNET, 0).idb(RAW, 0)
    for i, opts in enumerate([
            [(2, ng.pack("I", 1))], [(2, ng.pack("I", 2))], [(2, ng.pack("I", 0x01E00005))],
            [(4, ng.pack("Q", 12345)), (5, ng.pack("Q", 0xDEADBEEF12345678))],
            [(2, ng.pack("I", 0xFFFFFFFF)), (4, ng.pack("Q", 0)), (5, ng.pack("Q", 1)), (6, ng.pack("I", 3))],
            [(3, b"\2" + bytes(range(16)))], [(7, b"\1" + bytes(8))], [(2, ng.pack("I", 0x10))],
            [(1, "flags and a comment"), (2, ng.pack("I", 2))], []]):
        ng.epb(i % 2, (T0 + i) * 10**6, frame([ETHERNET, RAW][i % 2], rng, i), options=opts)
    ng.pb(0, (T0 + 20) * 10**6, frame(ETHERNET, rng, 3), drops=7, options=[(2, ng.pack("I", 2))])
    ng.pb(1, (T0 + 21) * 10**6, frame(RAW, rng, 3), drops=0xFFFF)
    return ng


def simple_packets(rng):
    """Simple Packet Blocks (interface 0, cut to its snapshot length) among
    Enhanced ones of another interface."""
    ng = Pcapng().shb().idb(ETHERNET, 64).idb(RAW, 0)
    for i in range(12):
        data = frame(ETHERNET, rng, i * 8)
        if i % 3 == 0:
            ng.epb(1, (T0 + i) * 10**6, frame(RAW, rng, i))
        elif i % 3 == 1:
            ng.spb(data[:64], len(data))
        else:
            ng.spb(data[:30], 30)
    return ng


def obsolete_packets(rng):
    ng = Pcapng().shb().idb(ETHERNET, 0, tsresol=9).idb(LOOP, 0).idb(RAW, 40)
    for i in range(12):
        k = i % 3
        data = frame([ETHERNET, LOOP, RAW][k], rng, i * 3)
        ng.pb(k, (T0 + i) * [10**9, 10**6, 10**6][k] + i, data, len(data) + i,
              [(1, f"pb {i}")] if i % 4 == 0 else [], drops=i if i % 2 else 0xFFFF)
    return ng


def statistics(rng):
    ng = Pcapng().shb().idb(ETHERNET, 0).idb(RAW, 0, tsresol=9)
    for i in range(8):
        ng.epb(i % 2, (T0 + i) * [10**6, 10**9][i % 2], frame([ETHERNET, RAW][i % 2], rng, i))
        ng.isb(i % 2, (T0 + i) * [10**6, 10**9][i % 2] + 5,
               [(2, ng.pack("II", 0, 5)), (4, ng.pack("Q", i)), (5, ng.pack("Q", 1)), (1, "stats")])
    return ng


def passed_over(rng):
    """Name resolution, custom, decryption secrets and unknown blocks
    before, between and after packets."""
    ng = Pcapng().shb()
    ng.nrb([(1, bytes([10, 0, 0, 1]) + b"host.example\0"), (2, bytes(16) + b"v6.example\0")], [(2, "dns.example")])
    ng.idb(ETHERNET, 0).custom(32473, b"custom, copied")
    ng.epb(0, T0 * 10**6, frame(ETHERNET, rng, 10))
    ng.custom(32473, b"not to be copied", copy=False).dsb(0x544c534b, b"CLIENT_RANDOM 00 11\n")
    ng.idb(RAW, 0).block(0x80001234, b"local use").epb(1, T0 * 10**6 + 1, frame(RAW, rng, 3))
    ng.nrb([], [(1, "empty")]).epb(0, T0 * 10**6 + 2, frame(ETHERNET, rng, 4))
    ng.custom(0, b"")
    return ng


def time_units(rng):
    """if_tsresol of powers of 10 and of 2, if_tsoffset either way.
    (Not 10^-11 and finer: there tshark 4.0 multiplies the fraction by 10^9
    before it divides, in 64 bits, and shows wrapped-around time stamps;
    the module's, libpcap's, are right.)"""
    ng = Pcapng().shb()
    units = [(0, 1), (3, 10**3), (6, 10**6), (9, 10**9), (10, 10**10),
             (0x80, 1), (0x80 | 10, 2**10), (0x80 | 20, 2**20), (0x80 | 30, 2**30), (0x80 | 40, 2**40),
             (0x80 | 63, 2**63)]
    for k, (tsresol, _) in enumerate(units):
        ng.idb(RAW if k % 2 else ETHERNET, 0, tsresol=tsresol, tsoffset=[None, 0, -T0, 86400, -1][k % 5])
    for i in range(3 * len(units)):
        k = i % len(units)
        per_second = units[k][1]
        ts = [(T0 + i) * per_second + rng.randrange(per_second), rng.randrange(1 << 62), (1 << 64) - 1 - i, i][i % 4]
        ng.epb(k, ts, frame(RAW if k % 2 else ETHERNET, rng, i))
    return ng


def odd_interface_options(rng):
    """What libpcap refuses in a description block and Wireshark reads:
    if_tsresol and if_tsoffset twice, or of the wrong length (the first
    valid one counts)."""
    ng = Pcapng().shb()
    ng.idb(ETHERNET, 0, [(9, b"\x09"), (9, b"\x03")])
    ng.idb(ETHERNET, 0, [(9, b"\x09\x09"), (9, b"\x03")])
    ng.idb(ETHERNET, 0, [(14, ng.pack("q", 5)), (14, ng.pack("q", 7))])
    ng.idb(ETHERNET, 0, [(14, ng.pack("i", 5)), (14, ng.pack("q", 7))])
    for i in range(8):
        ng.epb(i % 4, (T0 + i) * 10**6 + i, frame(ETHERNET, rng, i))
    return ng


def no_interface(rng):
    return Pcapng().shb([(1, "nothing captured")]).nrb([(1, bytes([10, 0, 0, 1]) + b"a\0")]).custom(32473, b"c")


MADE = {
    "linktypes": several_linktypes,
    "sll": linux_cooked,
    "longer": longer_than_snaplen,
    "snaplen": snapshot_lengths,
    "sections": sections,
    "byte-orders": byte_orders,
    "comments": comments,
    "flags": flags,
    "simple": simple_packets,
    "obsolete": obsolete_packets,
    "statistics": statistics,
    "passed-over": passed_over,
    "time-units": time_units,
    "odd-options": odd_interface_options,
    "no-interface": no_interface,
}


def made(name, tmp_path):
    """The file ``name`` of MADE, little-endian (sections: the first section)."""
    rng = random.Random(name)
    make = MADE[name]
    return bytes(make(rng, "<") if make in (sections, byte_orders) else make(rng))


def merged(name, tmp_path):
    """mergecap's pcapng of classic files of several link types and time
    stamp units (merged by time: one interface for each file), or (concat)
    of one of MADE's files and classic files, one after the other."""
    rng = random.Random(name)
    inputs = []
    for k, (lt, order, nano) in enumerate([(ETHERNET, "<", False), (RAW, ">", True), (IPV4, "<", False),
                                           (NULL, "<", True), (RADIOTAP, ">", False), (LOOP, ">", True),
                                           (IEEE802_11, "<", False)]):
        recs = [(T0 + 2 * i + k, rng.randrange(10**9 if nano else 10**6), frame(lt, rng, rng.randrange(90), order))
                for i in range(8)]
        path = tmp_path / f"in{k}.pcap"
        write_pcap(path, recs, byteorder=order, nano=nano, linktype=lt, snaplen=[65535, 100, 262144][k % 3])
        inputs.append(path)
    args = [mergecap(), "-F", "pcapng", "-w", str(tmp_path / "merged.pcapng")]
    if name == "merged-concat":
        first = tmp_path / "comments.pcapng"
        first.write_bytes(made("comments", tmp_path))
        args += ["-a", str(first), *map(str, inputs[:3])]
    else:
        args += list(map(str, inputs))
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    return (tmp_path / "merged.pcapng").read_bytes()


FILES = {**{name: made for name in MADE}, "merged": merged, "merged-concat": merged}


# -- the comparison ------------------------------------------------------------------

# A difference known and left for later: interfaces after the first whose
# link type has pseudo-headers libpcap rewrites (Linux cooked captures, USB,
# NFLOG, PFLOG in a section of the other byte order; Linux USB memory-mapped
# in any): the module's reader does not rewrite them, and stops there with
# an error that says so, after tshark's packets.  Only the files named here
# may stop so.
KNOWN_LIMIT = "whose packets libpcap rewrites"
STOPS_AT_KNOWN_LIMIT = {("sll", "be")}


def check_same_as_tshark(path, data, shown=None, *, expect_sound=True, known_limit=False):
    """The module reads ``path`` (holding ``data``) as tshark does (as
    ``shown``, tshark_packets() of it, when given): as a file, through a
    pipe fed in pieces and through a gzip file object."""
    theirs, complaint = shown or tshark_packets(path)
    if expect_sound:
        assert complaint is None, f"{path}: tshark: {complaint}"
    rng = random.Random(len(data))
    ways = {"file": lambda: module_packets(path)}

    def through_pipe():
        feeder = PipeFeeder(data, rng)
        with feeder as fifo:
            return module_packets(fifo, opened=feeder.opened)
    ways["pipe"] = through_pipe
    ways["gzip"] = lambda: module_packets(gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data))))
    for how, read in ways.items():
        ours, error = read()
        if known_limit:
            assert error is not None and KNOWN_LIMIT in error, f"{path} ({how}): {error!r}"
            # The packets before it are tshark's.
            assert first_difference(ours, theirs[:len(ours)]) is None, f"{path} ({how})"
            assert len(ours) < len(theirs)
            continue
        difference = first_difference(ours, theirs)
        assert difference is None, f"{path} ({how}): the module and tshark differ at {difference}"
        assert (error is None) == (complaint is None), \
            f"{path} ({how}): the module says {error!r}, tshark {complaint!r}"
    return theirs


_shown = {}     # tshark_packets() of each file's bytes, once (a tshark takes a good fraction of a second)


def tshark_shows(path):
    data = path.read_bytes()
    if data not in _shown:
        _shown[data] = tshark_packets(path)
    return _shown[data]


@pytest.mark.parametrize("order", ["le", "be"])
@pytest.mark.parametrize("name", list(FILES))
def test_same_as_tshark(name, order, tmp_path):
    data = FILES[name](name, tmp_path)
    path = tmp_path / f"{name}-{order}.pcapng"
    if order == "be":
        original = tmp_path / f"{name}.pcapng"
        original.write_bytes(data)
        data = pcapng_other_order(data)
        assert pcapng_other_order(data) == original.read_bytes()
    path.write_bytes(data)
    shown = tshark_shows(path)
    if order == "be":
        assert shown == tshark_shows(original), f"{name}: tshark reads the file in the other byte order otherwise"
    theirs = check_same_as_tshark(path, data, shown, known_limit=(name, order) in STOPS_AT_KNOWN_LIMIT)
    assert theirs or name == "no-interface", f"{name}: tshark shows no packet"


def damaged(name):
    """After two link types (which libpcap refuses): a packet of an
    interface not described, a block cut short, a packet longer than any
    reader takes, a section of major version 2."""
    rng = random.Random(name)
    ng = Pcapng().shb().idb(ETHERNET, 0).idb(RAW, 0)
    for i in range(4):
        ng.epb(i % 2, (T0 + i) * 10**6, frame([ETHERNET, RAW][i % 2], rng, i))
    if name == "undescribed":
        ng.epb(2, T0 * 10**6, frame(RAW, rng, 5))
    elif name == "too-long":
        ng.epb(1, T0 * 10**6, b"\x45" * 262145)
    elif name == "version-2":
        ng.shb(version=(2, 0)).idb(ETHERNET, 0)
    ng.epb(0, T0 * 10**6, frame(ETHERNET, rng, 9))
    return bytes(ng)[:-10] if name == "cut-short" else bytes(ng)


@pytest.mark.parametrize("name", ["undescribed", "cut-short", "too-long", "version-2"])
def test_damaged_where_tshark_stops(name, tmp_path):
    """The module stops with an error after the packets tshark shows."""
    path = tmp_path / f"{name}.pcapng"
    path.write_bytes(damaged(name))
    shown = tshark_packets(path)
    assert shown[1] is not None, f"{name}: tshark reads it all"
    check_same_as_tshark(path, path.read_bytes(), shown, expect_sound=False)


def test_text_options_end_at_their_first_nul(tmp_path):
    """A text option is read up to its first NUL, as Wireshark reads it:
    PcapPlusPlus's pcapng-example.pcapng has a comment with garbage after
    one."""
    ng = Pcapng().shb().idb(ETHERNET, 0, [(2, b"eth0\0\x07junk"), (1, b"if comment\0x"), (1, b"\0")]).idb(RAW, 0)
    ng.epb(0, 1, frame(ETHERNET, random.Random(1), 4), options=[(1, b"Packet #1\0xM9\xff\x0c"), (1, b"\xff ok\0")])
    path = tmp_path / "nul.pcapng"
    path.write_bytes(bytes(ng))
    with pcap.pcap(str(path)) as p:
        next(p)
        assert p.packet_comments == ["Packet #1", "\ufffd ok"]
        assert (p.interfaces[0].name, p.interfaces[0].comments) == ("eth0", ["if comment", ""])
