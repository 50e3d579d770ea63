"""What the dumper writes in pcapng, read by Wireshark, libpcap and the
module; copies through it, exact; a writer killed mid-capture.

1. Wireshark reads what we write: files written with pcap.dumper (one
   interface; interfaces of Ethernet, raw IP and Linux cooked link types
   with every interface option; section options; packets with several
   comments, flags, drop counts and ids; empty packets; packets cut to the
   snaplen; every nanosecond digit; microseconds; statistics; a second
   section by append=True; gzip).  tshark shows every field of every packet
   as written (one tshark a file), capinfos every section and interface
   option; libpcap (tests/ref_reader.c) reads the files of one link type
   with the same packets; mergecap and editcap take them, and what they
   write holds the same packets.
2. Exact round trips: pcapng files written by hand (support.Pcapng) in both
   byte orders, with several sections, interfaces described mid-file,
   obsolete Packet Blocks and Simple Packet Blocks, copied through
   ``p.dump_open(out, format="pcapng")`` by loop() and by dispatch(): the
   module and tshark read the copy as the module reads the original, the
   interfaces are described alike (time stamps in ns: if_tsresol 9, the
   if_tsoffset folded into the time stamps) with their last statistics.
   Classic files copied into pcapng and back are the same records.  Batches
   (next_batch(interfaces=True) into write_batch()) keep packets,
   interfaces and flags; a packet's several comments become one, joined by
   newlines, and its drop count and id are not in a batch record.
3. A writer SIGKILLed between two writes leaves a sound file of what it had
   flushed; killed inside a write(2) of more than a page, Linux stops that
   write at a page boundary, and the file ends with part of a block after
   the whole ones (which readers then report as cut short).

Known differences of tshark 4.0 (Debian 12) from what the file says, not
of the writer (they are the same for files written by hand): in a section
after the first, tshark's frame.interface_name and capinfos's per-interface
packet counts take the packet's interface id as an index into the
interfaces of all sections (frame.encap_type is right); capinfos shows an
interface's first comment only, and a statistics block's count, not its
counters (those are read here with struct).
"""
import gzip
import os
import platform
import re
import signal
import struct
import subprocess
import sys
import time

import pytest

import pcap
from support import (BT_EPB, BT_IDB, BT_ISB, BT_SHB, Pcapng, Shown, build_ref_reader, capinfos, check_child, editcap,
                     first_difference, mergecap, module_packets, parse_pcap, parse_reference,
                     pcapng_blocks, run, tshark_frames, tshark_packets, tshark_shown, udp_frame, write_pcap)

ETH, RAW, SLL = pcap.DLT_EN10MB, pcap.DLT_RAW, pcap.DLT_LINUX_SLL
IPV4 = 228          # LINKTYPE_IPV4 (and DLT_IPV4)
LINKTYPE = {ETH: 1, RAW: 101, SLL: 113}         # as the file says them
WTAP_ENCAP = {ETH: 1, RAW: 7, SLL: 25}          # as tshark's frame.encap_type and capinfos say them

T0 = 1_700_000_000 * 10**9
# Fractions with each of the nine digits of the nanoseconds set, and edges:
# the epoch, past 2106 (classic pcap's end), the last ns pcapng holds (2554).
STAMPS = [T0 + 123_456_789, T0 + 987_654_321, *(T0 + 10**9 + 10**k for k in range(9)), T0 + 2 * 10**9 - 1,
          0, 1, 2**32 * 10**9 + 5, 18_446_744_072 * 10**9 + 999_999_999]


def frame(linktype, n):
    """A packet of ``linktype`` with an n-byte UDP payload."""
    eth = udp_frame(bytes((n + k) % 256 for k in range(n)), dport=1000 + n)
    if linktype == ETH:
        return eth
    if linktype == RAW:
        return eth[14:]
    return struct.pack(">HHH8sH", 0, 1, 6, b"\2\0\0\0\0\1\0\0", 0x0800) + eth[14:]


def capinfos_says(path):
    """What ``capinfos -M`` says of the file: ``{"sections": [{"hardware",
    "os", "application", "comments"}], "interfaces": [{"Name": ...,
    "Encapsulation": "Ethernet (1 - ether)", ...}] of all sections, "packets"}``."""
    out = check_child(run([capinfos(), "-M", path]))
    sections, interfaces, current = [{"comments": []}], [], None
    keys = {"hardware": "hardware", "oper-sys": "os", "application": "application"}
    for line in out.splitlines():
        if m := re.match(r"Section (\d+):$", line):
            if int(m[1]) > 0:
                sections.append({"comments": []})
            current = None
        elif m := re.match(r"Capture (hardware|oper-sys|application|comment):\s+(.*)$", line):
            if m[1] == "comment":
                sections[-1]["comments"].append(m[2])
            else:
                sections[-1][keys[m[1]]] = m[2]
        elif m := re.match(r"Interface #(\d+) info:$", line):
            # (capinfos 4.0 lists the interfaces of all sections again under each section)
            current = {} if int(m[1]) == len(interfaces) else None
            if current is not None:
                interfaces.append(current)
        elif m := re.match(r"\s+(\S[^=]*?) = (.*)$", line):
            if current is not None:
                current.setdefault(m[1], m[2])
        elif m := re.match(r"Number of packets:\s+(\d+)$", line):
            packets = int(m[1])
    return {"sections": sections, "interfaces": interfaces, "packets": packets}


def capinfos_interface(i, nano=True, statistics=0):
    """What capinfos shows of interface_description ``i`` as written."""
    shown = {"Encapsulation": str(WTAP_ENCAP[i.linktype]), "Capture length": str(i.snaplen),
             "Time ticks per second": str(10**9 if nano else 10**6), "Number of stat entries": str(statistics)}
    for key, value in [("Name", i.name), ("Description", i.description), ("Hardware", i.hardware),
                       ("Speed", i.speed), ("FCS length", i.fcslen), ("Filter string", i.filter),
                       ("Operating system", i.os), ("Comment", i.comments[0] if i.comments else None)]:
        if value is not None:
            shown[key] = str(value)
    return shown


def capinfos_shown(info_interface):
    """The fields capinfos_interface() makes, of one of capinfos()'s interfaces."""
    out = {k: v for k, v in info_interface.items() if k in ("Name", "Description", "Hardware", "Speed",
                                                             "Capture length", "FCS length", "Filter string",
                                                             "Operating system", "Comment",
                                                             "Time ticks per second", "Number of stat entries")}
    out["Encapsulation"] = re.search(r"\((\d+) - ", info_interface["Encapsulation"])[1]
    return out


def block_options(order, body, at):
    """{code: [value, ...]} of the options from ``at`` of a block's body."""
    out = {}
    while at + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, at)
        if code == 0:
            break
        out.setdefault(code, []).append(body[at + 4:at + 4 + length])
        at += 4 + length + (-length % 4)
    return out


# -- 1. Wireshark reads what we write ------------------------------------------------

class Written:
    """A pcapng dumper (time stamps given in int ns) and what was written
    with it: each packet as readers must show it, with its section; the
    interfaces of each section; the section options; the statistics."""

    def __init__(self, path, **kw):
        self.path = str(path)
        self.sections, self.packets, self.statistics = [], [], []
        self.open(**kw)

    def open(self, *, comment=None, hardware=None, os=None, application=None, **kw):
        self.d = pcap.dumper(self.path, timestamp_in_ns=True, comment=comment, hardware=hardware, os=os,
                             application=application, **kw)
        comments = [] if comment is None else [comment] if isinstance(comment, str) else list(comment)
        defaults = platform.machine(), f"{platform.system()} {platform.release()}", f"python pcap {pcap.__version__}"
        self.sections.append({"comments": comments, "hardware": hardware or defaults[0], "os": os or defaults[1],
                              "application": application or defaults[2]})
        self.statistics.append({})
        return self

    def add_interface(self, linktype, snaplen, **options):
        self.d.add_interface(linktype, snaplen, **options)

    def write(self, ts, data, wirelen=None, *, interface=0, **meta):
        self.d.write(ts, data, wirelen, interface=interface, **meta)
        snaplen = self.d.interfaces[interface].snaplen or 1 << 32
        comments = meta.get("comments")
        comments = () if comments is None else (comments,) if isinstance(comments, str) else tuple(comments)
        self.packets.append((len(self.sections) - 1, Shown(
            interface, ts if self.d.nano else ts // 1000 * 1000, min(len(data), snaplen),
            len(data) if wirelen is None else wirelen, data[:snaplen], comments, meta.get("flags"),
            meta.get("dropcount"), meta.get("packet_id"))))

    def write_statistics(self, interface, **counters):
        self.d.write_statistics(interface, **counters)
        self.statistics[-1].setdefault(interface, []).append(counters)

    def close(self):
        self.sections[-1]["interfaces"] = self.d.interfaces
        self.sections[-1]["nano"] = self.d.nano
        self.d.close()
        return self


def one_interface(path):
    """Ethernet with a snaplen of 80: empty packets, packets cut to it
    (wire length over the captured length), every nanosecond digit."""
    w = Written(path, snaplen=80)
    for i, ts in enumerate(STAMPS):
        data = frame(ETH, [0, 10, 38, 60, 200][i % 5]) if i % 4 else b""
        w.write(ts, data, len(data) + [0, 0, 7, 1500][i % 4])
    return w.close()


def interfaces(path):
    """Three interfaces of three link types with every option, section
    options, packets with comments, flags, drop counts and ids."""
    first = pcap.interface_description(0, ETH, 65535, name="eth0", description="the first, ✓", filter="udp port 53",
                                       os="Linux 6.1", hardware="NIC model 7", fcslen=4, speed=10**9,
                                       comments=["an interface comment", "and another"])
    w = Written(path, interfaces=[first], comment=["section comment", "second, ünïcödé"], hardware="hw x",
                os="os y", application="app z")
    w.add_interface(RAW, 128, name="raw0", description="raw IP", comments=["raw"])
    w.add_interface(SLL, 0, name="any", filter="tcp or udp", os="Linux", speed=10**10, fcslen=0)
    metas = [{}, {"comments": "one"}, {"comments": ["several", "comments, with a comma", "new\nline", "tab\t"]},
             {"flags": 1}, {"flags": 2}, {"flags": 3}, {"flags": 0}, {"flags": 0x01E0_0005},
             {"flags": 0xFFFF_FFFF}, {"dropcount": 0}, {"dropcount": 12345}, {"packet_id": 0xDEAD_BEEF_1234_5678},
             {"comments": ["ünïcödé ✓ 中文", "x" * 300, ""], "flags": 2, "dropcount": 7, "packet_id": 1}]
    for i, meta in enumerate(metas * 2):
        k = i % 3
        data = frame([ETH, RAW, SLL][k], i * 9)
        w.write(T0 + i * 10**9 + i * 1001, data, len(data) + (i % 2) * 100, interface=k, **meta)
    return w.close()


def microseconds(path):
    """nano=False: if_tsresol 6, the nanoseconds given cut to microseconds."""
    w = Written(path, nano=False)
    w.add_interface(ETH, 65535, name="second")
    for i, ts in enumerate(STAMPS):
        w.write(ts, frame(ETH, i * 11), interface=i % 2, comments=f"µs {i}")
    return w.close()


def statistics(path):
    """Statistics blocks with every counter, between and after packets,
    for two interfaces (of one snaplen: libpcap 1.10 refuses others)."""
    w = Written(path, snaplen=1500)
    w.add_interface(ETH, 1500, name="second")
    for i in range(6):
        w.write(T0 + i * 10**9, frame(ETH, i * 20), interface=i % 2)
        if i == 2:
            w.write_statistics(0, received=3, dropped_by_os=1)
    w.write_statistics(0, received=10, dropped_by_interface=1, accepted_by_filter=8, dropped_by_os=2, delivered=6,
                       start=T0, end=T0 + 6 * 10**9 + 123_456_789)
    w.write_statistics(1, received=2**64 - 1, delivered=0)     # (all 64 bits)
    return w.close()


def appended(path):
    """A second section by append=True, of other interfaces."""
    w = Written(path, comment="first section", os="os 1")
    for i in range(3):
        w.write(T0 + i, frame(ETH, i))
    w.close()
    w.open(append=True, comment=["second section", "two comments"], hardware="hw 2",
           interfaces=[pcap.interface_description(0, RAW, 1500, name="raw"),
                       pcap.interface_description(0, SLL, 0, name="any", comments=["cooked"])])
    for i in range(6):
        w.write(T0 + 10**9 + i, frame([RAW, SLL][i % 2], i), interface=i % 2, comments=f"s2 {i}", flags=1 + i % 2)
    return w.close()


def gzipped(path):
    """interfaces() written through gzip (a .gz path)."""
    return interfaces(str(path) + ".gz")


WRITTEN = {"one-interface": one_interface, "interfaces": interfaces, "microseconds": microseconds,
           "statistics": statistics, "appended": appended, "gzip": gzipped}


def expected_shown(w):
    return [s for _, s in w.packets]


@pytest.mark.parametrize("case", list(WRITTEN))
def test_wireshark_reads_what_we_write(case, tmp_path):
    """tshark shows each packet as written: section, interface (name and
    description in one section; link type), time stamp, lengths, bytes,
    comments, flags, drop count and id; capinfos each section's options
    and each interface's, with the count of statistics blocks."""
    w = WRITTEN[case](tmp_path / f"{case}.pcapng")
    if w.path.endswith(".gz"):
        assert gzip.decompress(open(w.path, "rb").read())[:4] == b"\n\r\r\n"
    frames, complaint = tshark_frames(w.path)
    assert complaint is None, f"{case}: tshark: {complaint}"
    shown = [tshark_shown(f, layers) for f, layers in frames]
    difference = first_difference(expected_shown(w), shown)
    assert difference is None, f"{case}: written != tshark's at {difference}"
    assert [int(f["frame.section_number"]) - 1 for f, _ in frames] == [n for n, _ in w.packets]
    described = [w.sections[n]["interfaces"][s.interface] for n, s in w.packets]
    assert [int(f["frame.encap_type"]) for f, _ in frames] == [WTAP_ENCAP[i.linktype] for i in described]
    if len(w.sections) == 1:
        tree = [dict(f["frame.interface_id_tree"]) for f, _ in frames]
        assert [(t.get("frame.interface_name"), t.get("frame.interface_description")) for t, i in
                zip(tree, described) if i.name is not None] == \
            [(i.name, i.description) for i in described if i.name is not None]

    info = capinfos_says(w.path)
    assert info["packets"] == len(w.packets)
    assert info["sections"] == [{k: s[k] for k in ("comments", "hardware", "os", "application")}
                                for s in w.sections]
    expected = [capinfos_interface(i, s["nano"], len(w.statistics[n].get(k, [])))
                for n, s in enumerate(w.sections) for k, i in enumerate(s["interfaces"])]
    assert [capinfos_shown(i) for i in info["interfaces"]] == expected


def test_statistics_blocks_hold_what_was_written(tmp_path):
    """Each statistics block's counters, as struct reads them and as the
    module does (the last of each interface), with the time stamps in ns."""
    w = statistics(tmp_path / "statistics.pcapng")
    data = open(w.path, "rb").read()
    names = {4: "received", 5: "dropped_by_interface", 6: "accepted_by_filter", 7: "dropped_by_os",
             8: "delivered"}
    found = {}
    for order, btype, body in pcapng_blocks(data):
        if btype == BT_ISB:
            counters = {}
            for code, (value,) in block_options(order, body, 12).items():
                if code in names:
                    counters[names[code]] = struct.unpack(order + "Q", value)[0]
                else:
                    high, low = struct.unpack(order + "II", value)
                    counters[{2: "start", 3: "end"}[code]] = high << 32 | low
            found.setdefault(struct.unpack_from(order + "I", body)[0], []).append(counters)
    assert found == w.statistics[0]
    with pcap.pcap(w.path) as p:
        list(p)
        assert [i.statistics for i in p.interfaces] == [found[0][-1], found[1][-1]]


def test_64_bit_options_take_every_value_of_64_bits_and_no_more(tmp_path):
    """epb_dropcount, epb_packetid and the isb_ counters are unsigned 64-bit
    numbers, as readers give them (the values tshark shows above)."""
    with pcap.dumper(str(tmp_path / "u64.pcapng")) as d:
        for name in ("dropcount", "packet_id"):
            with pytest.raises(ValueError, match=f"{name} must be 0 to 18446744073709551615, not 18446744073709551616"):
                d.write(0, b"x", **{name: 2**64})
            with pytest.raises(ValueError, match=f"{name} must be 0 to 18446744073709551615, not -1"):
                d.write(0, b"x", **{name: -1})
        with pytest.raises(ValueError, match="received must be 0 to 18446744073709551615, not 18446744073709551616"):
            d.write_statistics(0, received=2**64)


@pytest.fixture(scope="module")
def ref_reader(tmp_path_factory):
    return build_ref_reader(tmp_path_factory.mktemp("ref"))


def test_libpcap_reads_what_we_write(tmp_path, ref_reader):
    """libpcap (pcap_next_ex) reads the files of one link type with the
    packets written: time stamp in ns, lengths and bytes."""
    paths = {}
    for case in ("one-interface", "microseconds", "statistics"):
        w = WRITTEN[case](tmp_path / f"{case}.pcapng")
        paths[w.path] = w
    out = subprocess.run([str(ref_reader), *paths], check=True, capture_output=True, text=True, timeout=60).stdout
    for path, (got, outcome) in parse_reference(out).items():
        assert outcome == ("E", "end"), f"{path}: libpcap: {outcome}"
        assert [(sec * 10**9 + frac, caplen, wirelen, data) for sec, frac, caplen, wirelen, data in got] == \
            [(s.timestamp, s.caplen, s.wirelen, s.data.hex()) for s in expected_shown(paths[path])], path


@pytest.mark.parametrize("case", ["one-interface", "interfaces", "statistics", "gzip"])
def test_mergecap_and_editcap_take_what_we_write(case, tmp_path):
    """mergecap -w and editcap take the file (exit 0), and the module reads
    the same packets in what they write (Wireshark writes no empty
    comment).  (Not the appended file: mergecap and editcap 4.0 stop on a
    second section of other interfaces, written by hand as well, taking
    its interface ids for the first section's.)"""
    w = WRITTEN[case](tmp_path / f"{case}.pcapng")
    outs = {"mergecap": tmp_path / "merged.pcapng", "editcap": tmp_path / "edited.pcapng"}
    check_child(run([mergecap(), "-w", outs["mergecap"], w.path]))
    check_child(run([editcap(), w.path, outs["editcap"]]))
    for tool, out in outs.items():
        ours, error = module_packets(out)
        assert error is None, f"{tool}: {error}"
        expected = [s._replace(comments=tuple(c for c in s.comments if c)) for s in expected_shown(w)]
        assert first_difference(expected, ours) is None, f"{tool}: {first_difference(expected, ours)}"


def test_zstd_is_written_as_a_zstd_frame(tmp_path):
    """A .pcapng.zst path: the zstandard package's decompressor gives the
    file the module reads."""
    zstandard = pytest.importorskip("zstandard", reason="zstd needs the zstandard package")
    w = interfaces(tmp_path / "z.pcapng.zst")
    plain = tmp_path / "plain.pcapng"
    with open(w.path, "rb") as f:
        plain.write_bytes(zstandard.ZstdDecompressor().stream_reader(f).read())
    ours, error = module_packets(plain)
    assert error is None and first_difference(expected_shown(w), ours) is None


# -- 2. Exact round trips -------------------------------------------------------------

def source(order):
    """Three sections, the second of the other byte order: interfaces of
    three link types and other time stamp units and offsets, with every
    option, one described after packets; packets with comments, flags,
    drop counts and ids; an obsolete Packet Block and Simple Packet
    Blocks; statistics between and after packets."""
    other = ">" if order == "<" else "<"
    ng = Pcapng(order).shb([(1, "section one"), (2, "hw"), (3, "os"), (4, "app")])
    ng.idb(LINKTYPE[ETH], 0, [(3, "the first"), (1, "if comment"), (1, "another"), (11, b"\0udp port 53"),
                        (12, "Linux 6.1"), (13, b"\x04"), (8, ng.pack("Q", 10**9)), (15, "NIC 7")],
           name="eth0", tsresol=6, tsoffset=1000)
    ng.idb(LINKTYPE[RAW], 200, name="raw0", tsresol=0x80 | 20)
    ng.epb(0, 5 * 10**6 + 7, frame(ETH, 5), comments=["a", "b, c"], flags=0x01E0_0001, dropcount=3, packet_id=9)
    ng.epb(1, (1_700_000_000 << 20) + 12345, frame(RAW, 100), 1000, flags=2)
    ng.isb(0, 6 * 10**6, received=1)
    # Described after packets.  (IPv4, not Linux cooked: the module reads that only as the first
    # interface in a section of the other byte order, where libpcap would rewrite its packets.)
    ng.idb(IPV4, 96, name="ipv4", tsresol=3, tsoffset=-7)
    ng.epb(2, 1_700_000_001_234, frame(RAW, 40)[:96], 500, comments=["ipv4"])
    ng.pb(0, 6 * 10**6, frame(ETH, 3), drops=4, options=[(1, "obsolete"), (2, ng.pack("I", 2))])
    ng.spb(frame(ETH, 7))
    ng.epb(1, 1 << 40, b"", 0, packet_id=0)
    ng.isb(0, 7 * 10**6, [(2, ng.pack("II", 0, 1000)), (3, ng.pack("II", 0, 7 * 10**6))], received=10,
           dropped_by_os=2, dropped_by_interface=1, accepted_by_filter=9, delivered=6)
    ng.isb(2, 0, received=3)
    data = bytes(ng)
    ng = Pcapng(other).shb([(1, "section two")])
    ng.idb(LINKTYPE[RAW], 0, name="raw1", tsresol=9).idb(LINKTYPE[ETH], 1500, name="eth1", tsoffset=-5)
    for i in range(6):
        ng.epb(i % 2, [T0 + i, (1_700_000_100 + i) * 10**6 + i][i % 2], frame([RAW, ETH][i % 2], i * 7),
               comments=[f"two {i}"] * (i % 3), flags=[None, 1, 2][i % 3])
    ng.isb(1, 0, received=4)
    ng.epb(0, T0 + 10, frame(RAW, 1)).isb(0, 0, received=7, delivered=(1 << 64) - 1)     # (all 64 bits)
    data += bytes(ng)
    ng = Pcapng(order).shb().idb(LINKTYPE[ETH], 0).epb(0, 1, frame(ETH, 1)).epb(0, 2, frame(ETH, 2), dropcount=1)
    return data + bytes(ng)


FIELDS = ("index", "section", "linktype", "snaplen", "name", "description", "filter", "os", "hardware", "fcslen",
          "speed", "comments", "statistics")


def described(path):
    """The module's interfaces of each section of ``path``, as they are
    after its last packet (with the statistics read by then)."""
    sections = {}
    with pcap.pcap(str(path)) as p:
        for _ in p:
            now = p.interfaces
            sections[now[0].section] = now
    return [sections[k] for k in sorted(sections)]


def copy(src, out, how, **kw):
    with pcap.pcap(str(src)) as p:
        d = p.dump_open(str(out), format="pcapng", **kw)
        if how == "loop":
            p.loop(0, d)
        else:
            while p.dispatch(-1, d):
                pass
        d.close()
    return out


@pytest.mark.parametrize("how", ["loop", "dispatch"])
@pytest.mark.parametrize("order", ["le", "be"])
def test_copy_of_pcapng_is_exact(order, how, tmp_path):
    """A copy reads as the original, in the module and in tshark: every
    packet's interface, time stamp (ns), lengths, bytes, comments, flags,
    drop count and id; every interface of every section described alike,
    with its last statistics, in ns and with no offset."""
    src = tmp_path / "src.pcapng"
    src.write_bytes(source({"le": "<", "be": ">"}[order]))
    out = copy(src, tmp_path / "copy.pcapng", how, comment="copied", hardware="h", os="o", application="a")
    original, error = module_packets(src)
    assert error is None and len(original) == 15
    copied, error = module_packets(out)
    assert error is None
    assert first_difference(original, copied) is None, f"module: {first_difference(original, copied)}"
    theirs, complaint = tshark_packets(out)
    assert complaint is None, f"tshark: {complaint}"
    assert first_difference(original, theirs) is None, f"tshark: {first_difference(original, theirs)}"

    before, after = described(src), described(out)
    assert [[{k: getattr(i, k) for k in FIELDS} for i in s] for s in after] == \
        [[{k: getattr(i, k) for k in FIELDS} for i in s] for s in before]
    assert {(i.tsresol, i.tsoffset) for s in before for i in s} >= {(10**6, 1000), (2**20, 0), (10**3, -7)}
    assert {(i.tsresol, i.tsoffset) for s in after for i in s} == {(10**9, 0)}
    # The first packet: 5.000007 s after interface 0's if_tsoffset of 1000 s, in microseconds; in the
    # copy, nanoseconds since the epoch.
    (order, _, epb), = [b for b in pcapng_blocks(out.read_bytes()) if b[1] == BT_EPB][:1]
    high, low = struct.unpack_from(order + "II", epb, 4)
    assert high << 32 | low == 1005_000_007_000 == copied[0].timestamp
    idbs = [(order, body) for order, btype, body in pcapng_blocks(out.read_bytes()) if btype == BT_IDB]
    for order, body in idbs:
        options = block_options(order, body, 8)
        assert options.get(9) == [b"\x09"] and 14 not in options, options
    assert len(idbs) == 6

    info, info_before = capinfos_says(out), capinfos_says(src)
    assert info["sections"] == [{"comments": ["copied"], "hardware": "h", "os": "o", "application": "a"}] * 3
    keep = ("Name", "Description", "Encapsulation", "Hardware", "Speed", "Capture length", "FCS length",
            "Filter string", "Operating system", "Comment")
    assert [{k: v for k, v in i.items() if k in keep} for i in info["interfaces"]] == \
        [{k: v for k, v in i.items() if k in keep} for i in info_before["interfaces"]]
    assert {i["Time ticks per second"] for i in info["interfaces"]} == {"1000000000"}


@pytest.mark.parametrize("nano", [False, True], ids=["us", "ns"])
@pytest.mark.parametrize("order", ["<", ">"], ids=["le", "be"])
def test_classic_into_pcapng_and_back_is_exact(order, nano, tmp_path):
    """A classic file copied into pcapng (of its precision) and that back
    into classic pcap: the same header fields and records; tshark reads
    the pcapng copy as the module reads the original."""
    records = [(1_700_000_000 + i, (i * 7919) % (10**9 if nano else 10**6), frame(ETH, i * 3)[:96],
                len(frame(ETH, i * 3)) + i % 2) for i in range(40)]
    src = write_pcap(tmp_path / "src.pcap", records, byteorder=order, nano=nano, snaplen=96)
    ng = tmp_path / "copy.pcapng"
    with pcap.pcap(str(src)) as p:
        with p.dump_open(str(ng), format="pcapng", nano=nano) as d:
            p.loop(0, d)
    back = tmp_path / "back.pcap"
    with pcap.pcap(str(ng)) as p:
        with p.dump_open(str(back)) as d:
            p.loop(0, d)
    assert parse_pcap(back) == parse_pcap(src)
    (_, _, idb), = [b for b in pcapng_blocks(ng.read_bytes()) if b[1] == BT_IDB]
    assert block_options("<", idb, 8)[9] == [bytes([9 if nano else 6])]
    original, _ = module_packets(src)
    theirs, complaint = tshark_packets(ng)
    assert complaint is None and first_difference(original, theirs) is None


def batch_source():
    """One section, three interfaces described before any packet."""
    ng = Pcapng().shb().idb(LINKTYPE[ETH], 0, name="e", tsresol=9).idb(LINKTYPE[RAW], 64, name="r")
    ng.idb(LINKTYPE[SLL], 0, name="s")
    for i in range(40):
        k = i % 3
        data = frame([ETH, RAW, SLL][k], i * 5)[:64 if k == 1 else None]
        ng.epb(k, [T0 + i * 999_999_937, (1_700_000_000 + i) * 10**6 + i, (1_700_000_000 + i) * 10**6][k], data,
               len(data) + i % 4, comments=[f"c{i}", "second"][:i % 3], flags=[None, 1, 2, 0x01E00001, 0][i % 5],
               dropcount=i if i % 5 == 0 else None)
    return bytes(ng)


def test_batches_copy_packets_interfaces_and_flags(tmp_path):
    """next_batch(interfaces=True) into write_batch(): the same packets,
    interfaces and flags; several comments of a packet become one, joined
    by newlines; drop counts are not in batch records, and flags of 0 are
    none."""
    src = tmp_path / "src.pcapng"
    src.write_bytes(batch_source())
    out = tmp_path / "batches.pcapng"
    with pcap.pcap(str(src)) as p:
        with pcap.dumper(str(out), interfaces=p.interfaces) as d:
            while True:
                batch = p.next_batch(7, interfaces=True)
                if not batch[0]:
                    break
                d.write_batch(*batch)
    original, _ = module_packets(src)
    expected = [s._replace(comments=("\n".join(s.comments),) if s.comments else (), dropcount=None,
                           flags=s.flags or None) for s in original]
    assert {s.flags for s in original} >= {0, 1, 2} and {len(s.comments) for s in original} == {0, 1, 2}
    copied, error = module_packets(out)
    assert error is None and first_difference(expected, copied) is None, first_difference(expected, copied)
    theirs, complaint = tshark_packets(out)
    assert complaint is None and first_difference(expected, theirs) is None, first_difference(expected, theirs)
    assert [(i.name, i.linktype, i.snaplen) for i in described(out)[0]] == \
        [(i.name, i.linktype, i.snaplen) for i in described(src)[0]]


# -- 3. Killed mid-capture ------------------------------------------------------------

WRITER = """
import os, sys, time
import pcap
path, flushes = sys.argv[1], int(sys.argv[2])
d = pcap.dumper(path, timestamp_in_ns=True)
ng = d.format == "pcapng"
for i in range(300_000):
    data = bytes([i % 256]) * (i * 37 % 1500)
    if ng:
        d.write({t0} + i * 1001, data, len(data) + i % 3, comments=f"packet {{i}}" if i % 3 == 0 else None)
    else:
        d.write({t0} + i * 1000, data, len(data) + i % 3)
    if flushes and i % 100 == 99:
        d.flush()
        flushes -= 1
        if flushes == 0:
            for j in range(i + 1, i + 11):       # written into the buffer, not out
                d.write({t0} + j * 1000, b"unflushed")
            print(i + 1, flush=True)
            time.sleep(60)
""".format(t0=T0)


def written_record(fmt, i):
    """The bytes of the record or block of packet i of WRITER, made by hand."""
    data = bytes([i % 256]) * (i * 37 % 1500)
    if fmt == "pcap":
        ts = T0 + i * 1000
        return struct.pack("=IIII", ts // 10**9, ts % 10**9 // 1000, len(data), len(data) + i % 3) + data
    return bytes(Pcapng("=").epb(0, T0 + i * 1001, data, len(data) + i % 3,
                                 comments=[f"packet {i}"] if i % 3 == 0 else []))


def check_prefix(fmt, path):
    """The file after its header: the records of packets 0, 1, ... whole,
    then maybe part of the next one.  Returns (packets whole, bytes of the
    part)."""
    data = open(path, "rb").read()
    if fmt == "pcap":
        at = 24
        assert parse_pcap_header(data) == (0xA1B2C3D4, 65535, 1)
    else:
        at = 0
        for btype in (BT_SHB, BT_IDB):
            kind, total = struct.unpack_from("=II", data, at)
            assert kind == btype
            at += total
    i = 0
    while True:
        record = written_record(fmt, i)
        if data[at:at + len(record)] != record:
            break
        at += len(record)
        i += 1
    tail = data[at:]
    assert tail == written_record(fmt, i)[:len(tail)], f"packet {i}: not the bytes written"
    return i, len(tail)


def parse_pcap_header(data):
    magic, _, _, _, _, snaplen, linktype = struct.unpack_from("=IHHiIII", data)
    return magic, snaplen, linktype


def readers_agree(fmt, path, n, cut):
    """The module and tshark read n packets, the bytes written, and
    complain only of a file cut short, when it is."""
    ours, error = module_packets(path)
    assert [s.data for s in ours] == [bytes([i % 256]) * (i * 37 % 1500) for i in range(n)]
    assert (error is None) == (not cut), error
    if cut:
        assert "truncated" in error, error
    theirs, complaint = tshark_packets(path)
    assert first_difference(ours, theirs) is None
    assert (complaint is None) == (not cut), complaint
    if cut:
        assert "cut short in the middle of a packet" in complaint, complaint


@pytest.mark.parametrize("fmt", ["pcapng", "pcap"])
def test_killed_between_writes_leaves_what_it_flushed(fmt, tmp_path):
    """SIGKILL while the writer sleeps after a flush(): the file holds the
    packets flushed, whole, and none of those only buffered."""
    path = tmp_path / f"killed.{fmt}"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "40"], stdout=subprocess.PIPE, text=True)
    try:
        flushed = int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(10)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert check_prefix(fmt, path) == (flushed, 0)
    readers_agree(fmt, path, flushed, cut=False)


@pytest.mark.parametrize("fmt", ["pcapng", "pcap"])
def test_killed_while_writing(fmt, tmp_path):
    """SIGKILL at some moment of a writer writing out its 256 KiB buffer:
    whole records of the packets written, in order, then at most part of
    the next, cut at a page boundary (Linux ends a write(2) that a fatal
    signal interrupts there).  The readers read the whole ones; append=True
    refuses a file cut so and, once truncated as it says, appends."""
    cuts = 0
    for attempt, size in enumerate([1 << 20, 3 << 20, 5 << 20, 8 << 20]):
        path = tmp_path / f"killed{attempt}.{fmt}"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "0"])
        deadline = time.monotonic() + 60
        while not (path.exists() and path.stat().st_size >= size):
            assert proc.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the writer is too slow"
            time.sleep(0.0002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        n, part = check_prefix(fmt, path)
        length = path.stat().st_size
        assert n > 100
        readers_agree(fmt, path, n, cut=part > 0)
        if part:
            cuts += 1
            assert length % 4096 == 0, f"cut at {length}, not a page boundary"
            with pytest.raises(pcap.PcapError, match=f"truncate the file to {length - part} bytes"):
                pcap.dumper(str(path), append=True)
            os.truncate(path, length - part)
            with pcap.dumper(str(path), append=True, timestamp_in_ns=True) as d:
                d.write(T0, b"after")
            assert module_packets(path)[0][-1].data == b"after"
    print(f"{fmt}: {cuts} of 4 kills cut a block")


@pytest.mark.xfail(strict=True, reason="known limit: the source reads ahead, after a packet, only the blocks "
                   "whole in its 64 KiB buffer; a statistics block after a section's last packet that crosses "
                   "the buffer's end is read with the next section's header, which forgets the section's "
                   "interfaces before the dumper sees it (a fix belongs in the reader)")
def test_statistics_after_a_sections_last_packet_across_the_read_buffer(tmp_path):
    lost = []
    for pad in range(30, 70):
        ng = Pcapng().shb().idb(LINKTYPE[ETH], 0)
        ng.epb(0, 0, b"\1" * (65536 - 108 - 4 * pad + 200))      # the statistics block about the 64 KiB mark
        ng.isb(0, 99, received=pad).shb().idb(LINKTYPE[ETH], 0).epb(0, 100, frame(ETH, 1))
        src = tmp_path / "src.pcapng"
        src.write_bytes(bytes(ng))
        out = copy(src, tmp_path / "copy.pcapng", "loop")
        if [b for _, btype, b in pcapng_blocks(out.read_bytes()) if btype == BT_ISB] == []:
            lost.append(pad)
    assert lost == []
