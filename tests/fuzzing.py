"""The libFuzzer harnesses of the module's C that parses savefile bytes:
one per reader (tests/fuzz/fuzz_<name>.c: classic, pcapng, split), each
built with clang under AddressSanitizer and UndefinedBehaviorSanitizer
against the module's C sources, and run from a seed corpus of savefiles
written here.

    python tests/fuzzing.py [--seconds N] [NAME ...]    (make fuzz)

runs each harness (every one of HARNESSES by default) for N seconds in
turn, one process at a time, its corpus kept in .fuzz/corpus/NAME from one
run to the next, and reports what it found: .fuzz/findings/NAME/crash-...,
replayed with ``.fuzz/build/fuzz_NAME FILE``.  tests/test_fuzz.py runs a
short round of each.  A new harness is one entry in HARNESSES (and its seed
set in SEEDS if none fits).
"""
import argparse
import os
import random
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import support

ROOT = Path(__file__).resolve().parent.parent
FUZZ_DIR = ROOT / "tests" / "fuzz"
WORK = ROOT / ".fuzz"
# The module's C that the harnesses drive, and what it calls.
C_SOURCES = ["pcap_stream.c", "packet_batch.c", "packet_fields.c", "community_id.c", "pcapng_reader.c",
             "savefile_split.c", "triage.c", "savefile_writer.c", "wait.c"]
# A stream buffer of 4 KiB, not 64: inputs of a few KiB already move and grow it.
CFLAGS = ["-g", "-O1", "-fno-sanitize-recover=all", "-DSTREAM_BUFFER=4096", f"-I{ROOT}", f"-I{FUZZ_DIR}"]
RSS_LIMIT_MB = 1024
FUZZER_FLAGS = ["-max_len=16384", "-timeout=10", f"-rss_limit_mb={RSS_LIMIT_MB}", "-print_final_stats=1"]


class Unavailable(Exception):
    """clang or libFuzzer is missing: the message says what to install."""


# -- seeds -----------------------------------------------------------------------------

def _written(writer, *args, **kw):
    """The bytes a tests/support.py writer writes."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "seed"
        writer(path, *args, **kw)
        return path.read_bytes()


def classic_seeds():
    """Classic pcap files of every kind the stream, the record reader and
    libpcap's path tell apart: both byte orders, nanoseconds, the modified
    format, versions before 2.4, link types libpcap rewrites, records over
    the snapshot length and over libpcap's limit, files cut short."""
    seeds = {}
    packets = [(1, 2, support.udp_frame(b"x" * n)) for n in (0, 5, 40, 120)]

    def write(name, **kw):
        seeds[name] = _written(support.write_pcap, packets, **kw)

    write("le.pcap")
    write("be.pcap", byteorder=">")
    write("nano.pcap", nano=True)
    write("be-nano.pcap", byteorder=">", nano=True)
    write("snaplen.pcap", snaplen=64)
    write("snaplen0.pcap", snaplen=0)
    for linktype in (113, 117, 189, 220, 231, 249):    # rewritten, or a caplen limit of their own
        write(f"lt{linktype}.pcap", linktype=linktype)
        write(f"lt{linktype}-be.pcap", linktype=linktype, byteorder=">")
    le = seeds["le.pcap"]
    seeds["cut-header.pcap"] = le[:24 + 10]
    seeds["cut-packet.pcap"] = le[:-7]
    seeds["cut-file-header.pcap"] = le[:20]
    for order in "<>":
        tag = "le" if order == "<" else "be"
        for version in ((2, 2), (2, 3), (2, 1), (543, 0)):
            head = struct.pack(order + "IHHiIII", 0xA1B2C3D4, *version, 0, 0, 65535, 1)
            seeds[f"v{version[0]}.{version[1]}-{tag}.pcap"] = head + b"".join(
                struct.pack(order + "IIII", 1, 2, cap, wire) + bytes(cap) for cap, wire in ((60, 60), (80, 60), (60, 80)))
        modified = struct.pack(order + "IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)
        for sec, frac, data in packets:
            modified += struct.pack(order + "IIII", sec, frac, len(data), len(data)) + struct.pack(order + "iHBB", 3, 0x800, 0, 0) + data
        seeds[f"modified-{tag}.pcap"] = modified
        head = struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 100, 1)
        seeds[f"over-{tag}.pcap"] = head + b"".join(
            struct.pack(order + "IIII", 1, 2, cap, cap) + bytes(min(cap, 300)) for cap in (150, 10, 262145, 5))
        seeds[f"huge-snaplen-{tag}.pcap"] = struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0x7FFFFFFF, 1) + \
            struct.pack(order + "IIII", 1, 2, 4, 4) + b"abcd"
    # What fuzz_classic found: a record libpcap refuses (caplen over its
    # limit), then bytes that read as records: they were read as packets
    # after the error (tests/test_fuzz_findings.py).
    seeds["finding-after-refused.pcap"] = (struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 100, 1)
                                           + struct.pack(">IIII", 1, 2, 10, 10) + bytes(10)
                                           + struct.pack(">IIII", 1, 2, 262145, 262145) + bytes(160))
    return seeds


def pcapng_seeds():
    """pcapng files: the test suite's writers (write_pcapng, pcapng_mixed in
    every layout), and by hand (support.Pcapng) every block
    type (SHB, IDB, EPB, SPB, PB, ISB, NRB, DSB, custom, unknown), the
    options of interfaces, packets and statistics in both byte orders,
    sections of different byte orders, if_tsresol in powers of 10 and of 2
    (also past the limits), if_tsoffset, link types of other limits,
    interfaces after packets (filters for them), packets longer than the
    first interface's snapshot length, files libpcap refuses that the reader
    reads, blocks too short for their type, and damage."""
    Ng = support.Pcapng
    seeds = {}
    packets = [(1, 2, support.udp_frame(b"x" * n)) for n in (0, 5, 40)]
    for order in "<>":
        for tsresol in (6, 9):
            seeds[f"written-{order == '<'}-{tsresol}.pcapng"] = _written(support.write_pcapng, packets,
                                                                         byteorder=order, tsresol=tsresol)
    rng = random.Random(1)
    for order in "<>":
        tag = "le" if order == "<" else "be"
        for layout in ("interfaces", "linktypes", "sections", "refused", "snaplen"):
            for linktype in (1, 113, 220):
                seeds[f"mixed-{layout}-{linktype}-{tag}.pcapng"] = support.pcapng_mixed(
                    order, rng, linktype, 80 if layout == "snaplen" else 65535, layout)
    udp = support.udp_frame(b"payload")
    for order in "<>":
        tag = "le" if order == "<" else "be"
        b = Ng(order)
        u64 = lambda v: b.pack("Q", v & (1 << 64) - 1)      # noqa: E731
        b.shb([(1, "section comment"), (2, "x86_64"), (3, "Linux"), (4, "fuzz")])
        b.nrb([(1, bytes([10, 0, 0, 1]) + b"host\0")])
        b.idb(1, 0, [(3, "the first"), (8, u64(10 ** 9)), (11, b"\0udp"), (12, "Linux"), (13, b"\x04"),
                     (15, "nic"), (1, "c")], name="eth0", tsresol=6, tsoffset=-5)
        b.idb(101, 1500, tsresol=0x89)
        b.epb(0, 1, udp, comments=["hi"], flags=1, dropcount=3, packet_id=42)
        b.epb(1, 1 << 40, udp[14:])
        b.spb(udp)
        b.pb(0, 5, udp, options=[(2, b.pack("I", 2))], drops=7)
        b.isb(0, 1, [(2, u64(1)), (3, u64(2)), (1, "stats")], received=10, dropped_by_interface=1,
              accepted_by_filter=9, dropped_by_os=0, delivered=9)
        b.isb(7)
        b.dsb(0x544c534b, b"abcd")
        b.custom(32473, b"custom").custom(32473, b"custom", copy=False)
        b.block(0x12345678, b"unknown")
        b.epb(0, 2, udp)
        seeds[f"every-block-{tag}.pcapng"] = bytes(b)
        # if_tsresol: powers of 10 and of 2, and past what either reader takes
        for resol in (0, 1, 3, 6, 7, 9, 12, 19, 20, 0x80, 0x83, 0x8A, 0x9E, 0xBF, 0xC0, 0xFF):
            seeds[f"tsresol-{resol:02x}-{tag}.pcapng"] = bytes(
                Ng(order).shb().idb(1, 65535, [(9, b"\x09"), (14, u64(1 << 40))], tsresol=resol)
                .epb(0, (1 << 64) - 1, udp).epb(0, 12345, udp))
        # a packet longer than the interface's snapshot length; link types of
        # other limits (DBUS, USBPCAP)
        seeds[f"snaplen-{tag}.pcapng"] = bytes(Ng(order).shb().idb(1, 20).spb(udp).epb(0, 1, udp).idb(231, 0)
                                               .epb(1, 1, bytes(300)).idb(249, 0).epb(2, 1, udp))
        # packets longer than the first interface's snapshot length (a batch's
        # data is sized by it): one waits for the next batch, or does not fit one
        seeds[f"wider-than-first-{tag}.pcapng"] = bytes(
            Ng(order).shb().idb(1, 20).epb(0, 1, bytes(10)).epb(0, 1, bytes(60)).epb(0, 1, bytes(5))
            .epb(0, 1, bytes(3000)).epb(0, 1, bytes(1)))
        # interfaces after packets, of link types a filter compiles for or not
        seeds[f"late-interfaces-{tag}.pcapng"] = bytes(
            Ng(order).shb().idb(1).epb(0, 1, udp).idb(101).epb(1, 1, udp[14:]).epb(0, 1, udp).idb(147)
            .epb(2, 1, udp).idb(113).epb(3, 1, udp))
        # libpcap refuses these at once; the reader reads them
        seeds[f"no-interface-{tag}.pcapng"] = bytes(Ng(order).shb().nrb([(1, bytes(4) + b"x\0")]))
        seeds[f"odd-options-{tag}.pcapng"] = bytes(Ng(order).shb().idb(1, 65535, [(9, b"\x09\x09")]).epb(0, 1, udp))
        seeds[f"version-{tag}.pcapng"] = bytes(Ng(order).shb(version=(1, 2)).idb(1).epb(0, 1, udp))
        # damage: a trailer that disagrees, a block cut short, an unknown interface
        head = bytes(Ng(order).shb().idb(1))
        seeds[f"trailer-{tag}.pcapng"] = (head + b.pack("II", 6, 48) + bytes(36) + b.pack("I", 44)
                                          + bytes(Ng(order).epb(0, 1, udp)))
        seeds[f"cut-{tag}.pcapng"] = (head + bytes(Ng(order).epb(0, 1, udp)))[:-9]
        seeds[f"unknown-interface-{tag}.pcapng"] = head + bytes(Ng(order).epb(3, 1, udp).epb(0, 1, udp))
        # blocks too short for their type
        for btype, body in ((1, b""), (1, bytes(4)), (5, bytes(8)), (2, bytes(16)), (3, b""), (6, bytes(16)),
                            (0x0A0D0D0A, b.pack("IHH", 0x1A2B3C4D, 1, 0))):
            seeds[f"short-{btype:x}-{12 + len(body)}-{tag}.pcapng"] = bytes(
                Ng(order).shb().idb(1).epb(0, 1, udp).block(btype, body).epb(0, 1, udp))
    # sections of different byte orders, each with its own interfaces
    seeds["sections-le-be.pcapng"] = (
        bytes(Ng("<").shb().idb(1).epb(0, 1, udp).isb(0, received=1))
        + bytes(Ng(">").shb().idb(101, 1500, tsresol=9).idb(1).epb(1, 1, udp).spb(udp[14:]))
        + bytes(Ng("<").shb().shb().idb(1, 0, tsresol=0x88).pb(0, 1, udp)))
    seeds["sections-be-le.pcapng"] = (bytes(Ng(">").shb().idb(1).epb(0, 1, udp))
                                      + bytes(Ng("<").shb().idb(1).epb(0, 1, udp))
                                      + bytes(Ng(">").shb().idb(113).epb(0, 1, udp)))
    seeds.update(pcapng_findings())
    return seeds


def pcapng_findings():
    """What fuzz_pcapng found, each made small by hand (the harness's turns
    come from the bytes: each of these made it fail before its fix; the
    Python side of each is in tests/test_fuzz_findings.py or
    tests/test_pcapng.py)."""
    Ng = support.Pcapng
    udp = support.udp_frame(b"payload")
    many = 4096 // 64 + 2       # (blocks of 64 bytes past the fuzz build's 4 KiB stream buffer)
    moves = Ng("<").shb().idb(1).custom(1, b"")
    for i in range(many):
        moves.epb(0, i, bytes(16), comments=[b"p%07d" % i])
    return {
        # A section of the other byte order after a packet with options: the
        # packet and the interfaces before it were read in the new order.
        "finding-section-order.pcapng": (
            bytes(Ng("<").shb().idb(1, 65535, name="eth0").pb(0, 5, udp, options=[(1, "last of the first")], drops=1))
            + bytes(Ng(">").shb().idb(1, 65535, name="eth1").epb(0, 1, udp).epb(0, 1, udp))),
        # The same, the section header refused (its version): the interfaces
        # before it were read in its byte order.
        "finding-section-refused.pcapng": (
            bytes(Ng("<").shb().idb(1, 65535, name="eth0").pb(0, 5, udp, options=[(1, "last of the first")], drops=1))
            + bytes(Ng(">").shb(version=(2, 0)).idb(1).epb(0, 1, udp))),
        # An interface of a link type libpcap rewrites (Linux SLL in the other
        # byte order) after the first: refused, its copy leaked.
        "finding-refused-interface.pcapng": bytes(Ng(">").shb().idb(1).epb(0, 1, udp).idb(113).epb(1, 1, udp)),
        # An interface after packets, read ahead (interfaces()) while
        # filtering: its packets were filtered with no program (NULL).
        "finding-late-interface.pcapng": bytes(
            Ng("<").shb().idb(1).epb(0, 1, udp).idb(101).epb(1, 1, udp[14:]).epb(1, 1, udp[14:])
            .custom(1, bytes(44))),
        # A batch's last packet, then a block past the stream buffer's end: the
        # bytes moved under the packet Python reads the options of.
        "finding-fill-moves.pcapng": bytes(moves.custom(1, bytes(200)).epb(0, 1, udp)),
        # The same with a block that says it is 256 KiB: the buffer grows
        # (realloc), and the packet's block was freed.
        "finding-fill-grows.pcapng": (bytes(Ng("<").shb().idb(1).epb(0, 1, udp, comments=["comment"]))
                                      + struct.pack("<II", 6, 0x40000) + bytes(100)),
        # A packet too large for an empty batch (data, or comments room), then
        # packets that fit: the fill went on past it, those came first.
        "finding-too-large-goes-on.pcapng": bytes(
            Ng("<").shb().idb(1, 20).epb(0, 1, bytes(3000)).epb(0, 2, bytes(5), comments=["c" * 100])
            .epb(0, 3, bytes(5)).epb(0, 4, bytes(7)).custom(1, bytes(100))),
        # A packet longer than what is left of a batch, held for the next one
        # with no progress said: the read asked again for ever.
        "finding-wider-than-left.pcapng": bytes(Ng("<").shb().idb(1, 20).epb(0, 1, bytes(10)).epb(0, 1, bytes(60))
                                                .epb(0, 1, bytes(5))),
    }


def split_seeds():
    """pcapng of several sections of both byte orders with interfaces and
    statistics, whole and cut short, for the split index; and the file
    whose refused interface once leaked (LeakSanitizer)."""
    seeds = {}
    for order, name in (("<", "le"), (">", "be")):
        with tempfile.TemporaryDirectory() as d:
            whole = support.pcapng_sections(Path(d) / "s.pcapng", 1, order, packets=2)[0].read_bytes()
        seeds[f"sections-{name}.pcapng"] = whole
        seeds[f"sections-cut-{name}.pcapng"] = whole[:-9]
        seeds[f"finding-refused-interface-leaked-{name}.pcapng"] = _written(
            support.write_pcapng, [(1, 2, support.udp_frame(b"x"))], byteorder=order, linktype=113)
    return seeds


def fields_seeds():
    """Packets for fuzz_fields.c: a byte choosing the link type (its index
    in the harness's LINKTYPES), one the options (bit 0: the Community ID;
    the rest its seed), then the packet: each protocol the parse follows,
    over each link type that carries it."""
    import ipaddress
    ether, sll, null_le, loop = 0, 1, 7, 8

    def ip6(nxt, payload, exts=b""):
        return (struct.pack("!IHBB", 6 << 28, len(exts) + len(payload), nxt, 64)
                + ipaddress.ip_address("2001:db8::1").packed + ipaddress.ip_address("fe80::2").packed + exts + payload)

    def eth(ethertype, body, tags=()):
        head = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
        for tpid, vid in tags:
            head += struct.pack("!HH", tpid, vid)
        return head + struct.pack("!H", ethertype) + body

    udp = struct.pack("!HHHH", 53, 4000, 12, 0) + b"abcd"
    tcp = struct.pack("!HHIIBBHHH", 443, 5000, 1, 2, 0x50, 0x12, 1024, 0, 0) + b"data"
    icmp6 = struct.pack("!BBH", 128, 0, 0) + b"\x00\x01\x00\x01"
    v4 = support.udp_frame(b"payload")[14:]
    frag = bytearray(support.tcp_frame(b"x" * 20)[14:])
    frag[6:8] = struct.pack("!H", 0x2000 | 3)          # a later fragment, more to come
    exts = bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([44, 0, 1, 4, 0, 0, 0, 0])   # hop-by-hop, destination options
    exts += bytes([17, 0, 0, 0, 0, 0, 0, 9])          # a first fragment, more to come
    seeds = {
        "eth-udp.bin": bytes([ether, 1]) + support.udp_frame(b"payload"),
        "eth-tcp.bin": bytes([ether, 3]) + support.tcp_frame(b"payload"),
        "eth-arp.bin": bytes([ether, 1]) + support.arp_frame(b"m"),
        "qinq-ipv6-tcp.bin": bytes([ether, 1]) + eth(0x86DD, ip6(6, tcp), ((0x88A8, 10), (0x8100, 20))),
        "ipv6-exts-udp.bin": bytes([ether, 1]) + eth(0x86DD, ip6(0, udp, exts)),
        "ipv6-icmp6.bin": bytes([ether, 5]) + eth(0x86DD, ip6(58, icmp6)),
        "ipv4-later-fragment.bin": bytes([ether, 1]) + eth(0x0800, bytes(frag)),
        "sll-udp.bin": bytes([sll, 1]) + struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", 0x0800) + v4,
        "null-le-ipv6.bin": bytes([null_le, 1]) + struct.pack("<I", 30) + ip6(17, udp),
        "loop-ipv4.bin": bytes([loop, 0]) + struct.pack("!I", 2) + v4,
    }
    # The same IP packets over the other link types that carry IP.
    bodies = {"ipv4-udp": v4, "ipv6-tcp": ip6(6, tcp), "ipv6-exts": ip6(0, udp, exts)}
    for name, body in bodies.items():
        family = 0x0800 if body[0] >> 4 == 4 else 0x86DD
        seeds[f"raw-{name}.bin"] = bytes([3, 1]) + body
        seeds[f"sll2-{name}.bin"] = bytes([2, 1]) + struct.pack("!HHIHBB8s", family, 0, 1, 1, 0, 6, b"\x02" * 8) + body
        seeds[f"ppp-{name}.bin"] = bytes([9, 1]) + b"\xff\x03" + struct.pack("!H", 0x21 if family == 0x0800 else 0x57) + body
        seeds[f"null-be-{name}.bin"] = bytes([null_le, 1]) + struct.pack(">I", 2 if family == 0x0800 else 24) + body
        seeds[f"hdlc-{name}.bin"] = bytes([11, 1]) + struct.pack("!BBH", 0x0F, 0, family) + body
    return seeds


# seed set -> what writes it: {file name: bytes}
def triage_seeds():
    """Prefix lists for fuzz_triage.c, a prefix a line, its first character
    the action ('-' drop): nested and disjoint, both families, the edges of
    the address space, a conflict, and what prefix_parse() refuses."""
    out = {
        "nested-v4.txt": b"+10.0.0.0/8\n-10.1.0.0/16\n+10.1.2.0/24\n+10.1.2.3\n-0.0.0.0/0\n+255.255.255.255/32\n",
        "nested-v6.txt": b"+2001:db8::/32\n-2001:db8:1::/48\n+2001:db8:1::1\n-::/0\n+::ffff:10.0.0.0/104\n"
                         b"+ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n",
        "mixed.txt": b"+192.0.2.0/24\n+2001:db8::/64\n-192.0.2.128/25\n-fe80::/10\n+198.51.100.7\n",
        "conflict.txt": b"+10.0.0.0/8\n-10.0.0.0/8\n",
        "refused.txt": b"+10.0.0.1/8\n+10.0.0.0/33\n+01.2.3.4\n+1.2.3\n+10.0.0.0/\n+10.0.0.0/0x\n+fe80::1%eth0\n"
                       b"+::/129\n+1.2.3.4/0008\n",
        # prefix_parse() gave inet_pton() text with a NUL, which took what came before it (fe80::1).
        "finding-nul-in-ipv6.txt": b"+fe80::1\x00junk\n+10.0.0.0\x00/8\n",
    }
    import ipaddress
    rng = random.Random("triage-seeds")
    for k in range(16):            # random nested and disjoint prefixes of one family or both
        lines = []
        for _ in range(rng.randrange(4, 40)):
            v6 = rng.random() < (0.5 if k % 2 else 0.1)
            width = 128 if v6 else 32
            length = rng.choice([0, 1, 8, 16, 24, width - 1, width, rng.randrange(width + 1)])
            start = rng.getrandbits(width) >> (width - length) << (width - length) if length else 0
            net = (ipaddress.IPv6Network if v6 else ipaddress.IPv4Network)((start, length))
            text = str(net.network_address) if length == width and rng.random() < 0.5 else str(net)
            lines.append(("-" if rng.random() < 0.3 else "+") + text)
        out[f"random-{k}.txt"] = "\n".join(lines).encode() + b"\n"
    return out


SEEDS = {"classic": classic_seeds, "pcapng": lambda: {**pcapng_seeds(), **split_seeds()}, "fields": fields_seeds,
         "triage": triage_seeds}

# harness (tests/fuzz/fuzz_<name>.c) -> the seed sets its corpus starts from
HARNESSES = {
    "classic": ("classic",),
    "fields": ("fields",),
    "pcapng": ("pcapng",),
    "split": ("classic", "pcapng"),
    "triage": ("triage",),
}

# The harnesses that once found something: their seeds hold the finding-*
# inputs, kept as regression tests (the fields harness has found nothing yet).
FOUND = ("classic", "pcapng", "split", "triage")


def write_corpus(name, corpus):
    """The seeds of harness ``name`` into the directory ``corpus``."""
    corpus.mkdir(parents=True, exist_ok=True)
    for seed_set in HARNESSES[name]:
        for file, data in SEEDS[seed_set]().items():
            (corpus / f"seed-{seed_set}-{file}").write_bytes(data)


# -- build and run ----------------------------------------------------------------------

def _clang():
    clang = shutil.which("clang")
    if clang is None:
        raise Unavailable("clang is not installed (apt-get install clang libfuzzer-14-dev libclang-rt-14-dev)")
    return clang


def build_objects(out):
    """The module's C sources, instrumented for the fuzzer, into ``out``
    (once for every harness): the object files."""
    clang = _clang()
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for source in C_SOURCES:
        obj = out / (Path(source).stem + ".o")
        subprocess.run([clang, *CFLAGS, "-fsanitize=fuzzer-no-link,address,undefined", "-c", str(ROOT / source),
                        "-o", str(obj)], check=True, capture_output=True, text=True)
        objects.append(obj)
    return objects


def build(name, objects, out):
    """tests/fuzz/fuzz_<name>.c linked with ``objects`` into ``out``: the
    executable.  Unavailable when clang cannot link libFuzzer."""
    exe = out / f"fuzz_{name}"
    proc = subprocess.run([_clang(), *CFLAGS, "-fsanitize=fuzzer,address,undefined", str(FUZZ_DIR / f"fuzz_{name}.c"),
                           *map(str, objects), "-lpcap", "-o", str(exe)], capture_output=True, text=True)
    if proc.returncode != 0 and "clang_rt.fuzzer" in proc.stderr:
        raise Unavailable("clang cannot link libFuzzer (apt-get install libfuzzer-14-dev libclang-rt-14-dev): "
                          + proc.stderr.strip()[-300:])
    if proc.returncode != 0:
        raise RuntimeError(f"building fuzz_{name} failed:\n{proc.stderr}")
    return exe


@dataclass
class Outcome:
    name: str
    seconds: int
    returncode: int
    elapsed: float = 0.0
    executions: int = 0
    corpus: int = 0
    findings: list = field(default_factory=list)
    log: str = ""

    @property
    def clean(self):
        return self.returncode == 0 and not self.findings and "Done" in self.log

    def summary(self):
        what = "no finding" if self.clean else f"FINDINGS {[str(f) for f in self.findings] or self.log[-2000:]}"
        return (f"fuzz_{self.name}: {self.elapsed:.0f} s, {self.executions} executions "
                f"({self.executions / max(self.elapsed, 1):.0f}/s), corpus {self.corpus}: {what}")


def run(name, exe, corpus, seconds, artifacts, extra=()):
    """Run harness ``name`` (built as ``exe``) for ``seconds`` from
    ``corpus`` (which it adds to), one process, findings into the directory
    ``artifacts``."""
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    started = time.monotonic()
    # libFuzzer's RSS limit reads the peak RSS, which a child inherits from
    # its parent at fork and keeps across exec: the limit counts from there.
    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    flags = [flag if not flag.startswith("-rss_limit_mb=") else f"-rss_limit_mb={RSS_LIMIT_MB + inherited}"
             for flag in FUZZER_FLAGS]
    proc = subprocess.run([str(exe), f"-max_total_time={seconds}", *flags, f"-artifact_prefix={artifacts}/",
                           *extra, str(corpus)], capture_output=True, text=True, timeout=seconds + 300)
    found = sorted(p for p in set(artifacts.iterdir()) - before
                   if p.name.startswith(("crash-", "leak-", "timeout-", "oom-", "slow-unit-")))
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", proc.stderr))
    return Outcome(name, seconds, proc.returncode, time.monotonic() - started,
                   int(stats.get("number_of_executed_units", 0)),
                   sum(1 for _ in corpus.iterdir()), found, proc.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "300")),
                        help="how long each harness runs (FUZZ_SECONDS, 300 by default)")
    parser.add_argument("names", nargs="*", default=sorted(HARNESSES), help=f"harnesses, of {sorted(HARNESSES)}")
    args = parser.parse_args(argv)
    try:
        objects = build_objects(WORK / "build" / "objects")
        exes = {name: build(name, objects, WORK / "build") for name in args.names}
    except Unavailable as e:
        print(f"fuzzing: {e}", file=sys.stderr)
        return 2
    outcomes = []
    for name in args.names:
        corpus = WORK / "corpus" / name
        write_corpus(name, corpus)
        print(f"fuzzing: fuzz_{name} for {args.seconds} s from {corpus}, "
              f"{time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
        outcome = run(name, exes[name], corpus, args.seconds, WORK / "findings" / name)
        print(f"fuzzing: {outcome.summary()}", flush=True)
        if not outcome.clean:
            print(f"fuzzing: replay with {exes[name]} FILE", flush=True)
        outcomes.append(outcome)
    return 0 if all(o.clean for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
