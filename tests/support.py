"""The tests' one vocabulary: savefiles written by hand (independent of the
module under test), packets, reading "all packets through sink X", opening
``lo`` and sending to it, child processes (privileged or not), and the rule
for tests that need what this machine may lack.

Every test file imports what it needs from here (``from support import
...``; pytest puts tests/ on ``sys.path``). Fixtures live in conftest.py.
"""
import asyncio
import collections
import gzip
import json
import os
import pathlib
import random
import select
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


# -- what this machine may lack ------------------------------------------------

def need(condition, reason):
    """Skip when ``condition`` is false, with ``reason``; under CI=true fail
    instead, so that a lost privilege never hides untested code."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and this test cannot run: {reason}")
    pytest.skip(reason)


def can_capture():
    """Whether this process may open live interfaces (root or CAP_NET_RAW)."""
    if os.geteuid() == 0:
        return True
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 13))  # CAP_NET_RAW
    except OSError:
        pass
    return False


# -- frames ------------------------------------------------------------------------

ETHER = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01"   # dst, src MAC


def ipv4(proto, l4, src, dst):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + l4


def udp_frame(payload, sport=1234, dport=5678, src="10.0.0.1", dst="10.0.0.2", ether=ETHER):
    """An Ethernet/IPv4/UDP frame around ``payload`` (checksums left zero)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return ether + b"\x08\x00" + ipv4(17, udp, src, dst)


def tcp_frame(payload, sport=1234, dport=5678, src="10.0.0.1", dst="10.0.0.2"):
    """An Ethernet/IPv4/TCP frame (PSH|ACK) around ``payload``."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 8192, 0, 0) + payload
    return ETHER + b"\x08\x00" + ipv4(6, tcp, src, dst)


def arp_frame(marker):
    """A broadcast ARP request with ``marker`` after it."""
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02\x00\x00\x00\x00\x01",
                       socket.inet_aton("10.0.0.1"), b"\0" * 6, socket.inet_aton("10.0.0.2"))
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x06" + body + marker


def udp_payload(frame):
    """The UDP payload of an Ethernet/IPv4/UDP frame (as captured on lo)."""
    ihl = (frame[14] & 0x0F) * 4
    return frame[14 + ihl + 8:]


def packets(n, *, start=1_700_000_000, per_second=1, size=90, cut_every=0):
    """``n`` Ethernet/IPv4/UDP packets ``(sec, nsec, frame, wirelen)``, in
    the form ``write_savefile`` takes: increasing timestamps with a
    sub-microsecond part (``per_second`` packets a second), payloads of 0 to
    ``size - 1`` bytes of varying content, destination ports 1000, 1001 and
    1002 in turn, and, when ``cut_every``, every ``cut_every``-th packet with
    a wire length over its captured length."""
    out = []
    for i in range(n):
        frame = udp_frame(bytes([i % 256]) * (i % size), dport=1000 + i % 3)
        wirelen = len(frame) + 258 + i if cut_every and i % cut_every == 0 else len(frame)
        out.append((start + i // per_second, (i * 7919) % 10**6 * 1000 + 7 * (i % 100), frame, wirelen))
    return out


def numbered(n, *, start=1000, first=0, payload=b"pkt%d", wrap=10**6):
    """UDP packets ``first`` to ``first + n - 1`` for ``write_pcap``: packet
    ``i`` is ``(start + i, i % wrap, udp_frame(payload % i))``, a timestamp
    of ``start + i`` seconds and ``i % wrap`` microseconds."""
    return [(start + i, i % wrap, udp_frame(payload % i)) for i in range(first, first + n)]


def numbered_savefile(tmp_path, n=5, name="numbered.pcap", *, fmt="pcap", **kw):
    """A savefile (``fmt`` "pcap" or "pcapng", microseconds) of
    ``numbered(n, **kw)``: by default packet ``i`` holds ``b"pkt%d" % i`` and
    has timestamp ``1000 + i + i * 1e-6``. Returns its path as ``str``."""
    writer = {"pcap": write_pcap, "pcapng": write_pcapng}[fmt]
    return str(writer(pathlib.Path(tmp_path) / name, numbered(n, **kw)))


# -- savefiles -----------------------------------------------------------------------

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D


def write_pcap(path, packets, *, byteorder="<", nano=False, linktype=1, snaplen=65535):
    """Write a classic pcap savefile by hand.

    ``packets`` is a list of ``(sec, frac, data)`` or ``(sec, frac, data,
    wirelen)``; ``frac`` is microseconds, or nanoseconds when ``nano``.
    """
    magic = MAGIC_NS if nano else MAGIC_US
    with open(path, "wb") as f:
        f.write(struct.pack(byteorder + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for pkt in packets:
            sec, frac, data = pkt[:3]
            wirelen = pkt[3] if len(pkt) > 3 and pkt[3] is not None else len(data)
            f.write(struct.pack(byteorder + "IIII", sec, frac, len(data), wirelen))
            f.write(data)
    return path


def write_pcapng(path, packets, *, byteorder="<", linktype=1, tsresol=6, snaplen=65535):
    """Write a pcapng file (SHB, one IDB, EPBs) by hand.

    ``packets`` is a list of ``(sec, frac, data)`` or ``(sec, frac, data,
    wirelen)``; ``frac`` is in units of 10**-tsresol seconds.
    """
    def block(btype, body):
        pad = (-len(body)) % 4
        total = 12 + len(body) + pad
        return struct.pack(byteorder + "II", btype, total) + body + b"\0" * pad + struct.pack(byteorder + "I", total)

    shb = struct.pack(byteorder + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    opt = struct.pack(byteorder + "HHB", 9, 1, tsresol) + b"\0" * 3 + struct.pack(byteorder + "HH", 0, 0)
    idb = struct.pack(byteorder + "HHI", linktype, 0, snaplen) + opt
    with open(path, "wb") as f:
        f.write(block(0x0A0D0D0A, shb))
        f.write(block(0x00000001, idb))
        for pkt in packets:
            sec, frac, data = pkt[:3]
            wirelen = pkt[3] if len(pkt) > 3 and pkt[3] is not None else len(data)
            ts = sec * 10 ** tsresol + frac
            body = struct.pack(byteorder + "IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), wirelen) + data
            f.write(block(0x00000006, body + b"\0" * ((-len(data)) % 4)))
    return path


# -- pcapng, block by block ---------------------------------------------------------

BT_SHB, BT_IDB, BT_PB, BT_SPB, BT_NRB, BT_ISB, BT_EPB, BT_DSB = 0x0A0D0D0A, 1, 2, 3, 4, 5, 6, 0x0A
BT_CUSTOM, BT_CUSTOM_NOCOPY = 0x00000BAD, 0x40000BAD
OPT_COMMENT = 1
CUSTOM_OPTIONS = (2988, 2989, 19372, 19373)     # a Private Enterprise Number, then the option's own bytes

# How the numbers in an option's value are laid out (struct codes, in the
# section's byte order), by block type and option code; the options not
# named (text, addresses, hashes) are bytes that no byte order touches.
OPTION_LAYOUTS = {
    BT_IDB: {8: "Q", 10: "I", 14: "q", 16: "Q", 17: "Q"},   # if_speed, if_tzone, if_tsoffset, tx/rxspeed
    BT_EPB: {2: "I", 4: "Q", 5: "Q", 6: "I"},               # flags, dropcount, packetid, queue
    BT_PB: {2: "I"},                                        # pack_flags
    BT_ISB: {2: "II", 3: "II", 4: "Q", 5: "Q", 6: "Q", 7: "Q", 8: "Q"},   # start/end time (high, low), counters
}


class Pcapng:
    """A pcapng file written block by block in one byte order (``order``,
    "<" or ">"), by hand, independent of the module: each method appends a
    block and returns the builder; ``bytes(builder)`` is the file.

    ``options`` are ``(code, value)`` pairs, the value bytes as they go
    into the file (``str`` is UTF-8; pack numbers with ``builder.pack()``),
    ended by opt_endofopt when there are any. Packet blocks take ``data``
    and pad it; ``wirelen`` defaults to ``len(data)``."""

    def __init__(self, order="<"):
        self.order = order
        self.blocks = []

    def __bytes__(self):
        return b"".join(self.blocks)

    def pack(self, fmt, *values):
        return struct.pack(self.order + fmt, *values)

    def options(self, options):
        out = b""
        for code, value in options:
            value = value.encode() if isinstance(value, str) else value
            out += self.pack("HH", code, len(value)) + value + b"\0" * (-len(value) % 4)
        return out + self.pack("HH", 0, 0) if options else out

    def block(self, btype, body):
        body += b"\0" * (-len(body) % 4)
        self.blocks.append(self.pack("II", btype, 12 + len(body)) + body + self.pack("I", 12 + len(body)))
        return self

    def shb(self, options=(), version=(1, 0), section_length=-1):
        return self.block(BT_SHB, self.pack("IHHq", 0x1A2B3C4D, *version, section_length) + self.options(options))

    def idb(self, linktype, snaplen=0, options=(), *, name=None, tsresol=None, tsoffset=None):
        """``name``: if_name; ``tsresol``: the if_tsresol byte; ``tsoffset``: if_tsoffset in seconds."""
        options = ([] if name is None else [(2, name)]) \
            + ([] if tsresol is None else [(9, bytes([tsresol]))]) \
            + ([] if tsoffset is None else [(14, self.pack("q", tsoffset))]) + list(options)
        return self.block(BT_IDB, self.pack("HHI", linktype, 0, snaplen) + self.options(options))

    def epb(self, iface, ts, data, wirelen=None, options=(), *, comments=(), flags=None, dropcount=None,
            packet_id=None):
        """``ts`` in the interface's units; ``comments``... the options of that name."""
        options = [(OPT_COMMENT, c) for c in comments] \
            + ([] if flags is None else [(2, self.pack("I", flags))]) \
            + ([] if dropcount is None else [(4, self.pack("Q", dropcount))]) \
            + ([] if packet_id is None else [(5, self.pack("Q", packet_id))]) + list(options)
        return self.block(BT_EPB, self.pack("IIIII", iface, ts >> 32 & 0xFFFFFFFF, ts & 0xFFFFFFFF, len(data),
                                            len(data) if wirelen is None else wirelen)
                          + data + b"\0" * (-len(data) % 4) + self.options(options))

    def pb(self, iface, ts, data, wirelen=None, options=(), *, drops=0xFFFF):
        """An obsolete Packet Block (16-bit interface id and drops count)."""
        return self.block(BT_PB, self.pack("HHIIII", iface, drops, ts >> 32 & 0xFFFFFFFF, ts & 0xFFFFFFFF, len(data),
                                           len(data) if wirelen is None else wirelen)
                          + data + b"\0" * (-len(data) % 4) + self.options(options))

    def spb(self, data, wirelen=None):
        """A Simple Packet Block: its packet is ``data`` (cut to the first
        interface's snaplen by readers), ``wirelen`` its original length."""
        return self.block(BT_SPB, self.pack("I", len(data) if wirelen is None else wirelen) + data)

    def isb(self, iface, ts=0, options=(), **counters):
        """``counters``: received, dropped_by_interface, accepted_by_filter, dropped_by_os, delivered."""
        codes = {"received": 4, "dropped_by_interface": 5, "accepted_by_filter": 6, "dropped_by_os": 7,
                 "delivered": 8}
        options = [(codes[k], self.pack("Q", v)) for k, v in counters.items()] + list(options)
        return self.block(BT_ISB, self.pack("III", iface, ts >> 32, ts & 0xFFFFFFFF) + self.options(options))

    def nrb(self, records, options=()):
        """``records``: ``(type, value bytes)`` (1: IPv4 address and names, 2: IPv6)."""
        body = b"".join(self.pack("HH", t, len(v)) + v + b"\0" * (-len(v) % 4) for t, v in records)
        return self.block(BT_NRB, body + self.pack("HH", 0, 0) + self.options(options))

    def dsb(self, secrets_type, secrets, options=()):
        """A Decryption Secrets Block."""
        return self.block(BT_DSB, self.pack("II", secrets_type, len(secrets)) + secrets
                          + b"\0" * (-len(secrets) % 4) + self.options(options))

    def custom(self, pen, data, copy=True):
        return self.block(BT_CUSTOM if copy else BT_CUSTOM_NOCOPY, self.pack("I", pen) + data)


def pcapng_blocks(data):
    """The blocks of pcapng ``data``: ``[(order, type, body), ...]``, each
    section in the byte order its header says."""
    out, at, order = [], 0, "<"
    while at < len(data):
        if data[at:at + 4] == b"\x0a\x0d\x0d\x0a":
            order = "<" if data[at + 8:at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, total = struct.unpack_from(order + "II", data, at)
        assert total >= 12 and total % 4 == 0 and at + total <= len(data), f"bad block at {at}"
        assert struct.unpack_from(order + "I", data, at + total - 4)[0] == total, f"bad trailer at {at}"
        out.append((order, btype, data[at + 8:at + total - 4]))
        at += total
    return out


def pcapng_other_order(data):
    """pcapng ``data`` with every section in the other byte order: each
    block of a known type (SHB, IDB, EPB, PB, SPB, ISB, NRB, DSB, custom)
    re-encoded field by field, with the options whose layout is known
    (OPTION_LAYOUTS, and the enterprise number of custom options); the
    packets, the rest of custom blocks and the bodies of blocks of unknown
    types as they were."""
    def swap(fmt, buf, at, src, dst):
        size = struct.calcsize("=" + fmt)
        return struct.pack(dst + fmt, *struct.unpack_from(src + fmt, buf, at)), at + size

    def options(btype, body, at, src, dst):
        out = b""
        layouts = OPTION_LAYOUTS.get(btype, {})
        while at + 4 <= len(body):
            code, length = struct.unpack_from(src + "HH", body, at)
            value = body[at + 4:at + 4 + length]
            fmt = layouts.get(code)
            if code in CUSTOM_OPTIONS and length >= 4:
                value = swap("I", value, 0, src, dst)[0] + value[4:]
            elif fmt is not None and struct.calcsize("=" + fmt) == length:
                value = swap(fmt, value, 0, src, dst)[0]
            out += struct.pack(dst + "HH", code, length) + value + body[at + 4 + length:at + 4 + length + (-length % 4)]
            at += 4 + length + (-length % 4)
            if code == 0:
                break
        return out + body[at:]

    def packet(head_fmt, caplen_field, body, src, dst):
        head, at = swap(head_fmt, body, 0, src, dst)
        caplen = struct.unpack_from(src + head_fmt, body)[caplen_field]
        data_end = at + caplen + (-caplen % 4)
        return head + body[at:data_end], data_end

    out = []
    for src, btype, body in pcapng_blocks(data):
        dst = ">" if src == "<" else "<"
        if btype == BT_SHB:
            new = swap("IHHq", body, 0, src, dst)[0] + options(btype, body, 16, src, dst)
        elif btype == BT_IDB:
            new = swap("HHI", body, 0, src, dst)[0] + options(btype, body, 8, src, dst)
        elif btype in (BT_EPB, BT_PB):
            head, at = packet("IIIII" if btype == BT_EPB else "HHIIII", 3 if btype == BT_EPB else 4, body, src, dst)
            new = head + options(btype, body, at, src, dst)
        elif btype == BT_SPB:
            new = swap("I", body, 0, src, dst)[0] + body[4:]
        elif btype == BT_ISB:
            new = swap("III", body, 0, src, dst)[0] + options(btype, body, 12, src, dst)
        elif btype == BT_NRB:
            new, at = b"", 0
            while True:
                rtype, length = struct.unpack_from(src + "HH", body, at)
                new += struct.pack(dst + "HH", rtype, length) + body[at + 4:at + 4 + length + (-length % 4)]
                at += 4 + length + (-length % 4)
                if rtype == 0:
                    break
            new += options(btype, body, at, src, dst)
        elif btype == BT_DSB:
            head, at = packet("II", 1, body, src, dst)
            new = head + options(btype, body, at, src, dst)
        elif btype in (BT_CUSTOM, BT_CUSTOM_NOCOPY):
            new = swap("I", body, 0, src, dst)[0] + body[4:]
        else:
            new = body
        out.append(struct.pack(dst + "II", btype, len(new) + 12) + new + struct.pack(dst + "I", len(new) + 12))
    return b"".join(out)


# name -> (writer, its keyword arguments, nanosecond resolution?)
FORMATS = {
    "pcap-le-us": (write_pcap, {"byteorder": "<"}, False),
    "pcap-be-us": (write_pcap, {"byteorder": ">"}, False),
    "pcap-le-ns": (write_pcap, {"byteorder": "<", "nano": True}, True),
    "pcap-be-ns": (write_pcap, {"byteorder": ">", "nano": True}, True),
    "pcapng-le-us": (write_pcapng, {"byteorder": "<", "tsresol": 6}, False),
    "pcapng-be-us": (write_pcapng, {"byteorder": ">", "tsresol": 6}, False),
    "pcapng-le-ns": (write_pcapng, {"byteorder": "<", "tsresol": 9}, True),
    "pcapng-be-ns": (write_pcapng, {"byteorder": ">", "tsresol": 9}, True),
}


def pcapng_mixed(order, rng, linktype=1, snaplen=65535, layout="interfaces"):
    """pcapng that the module reads partly itself (plain Enhanced Packet
    Blocks) and partly through libpcap: several interfaces, options, simple
    packet blocks, a second section, packets libpcap must refuse."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack(order + "II", btype, 12 + len(body)) + body + struct.pack(order + "I", 12 + len(body))

    def option(code, value):
        return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)

    def shb():
        return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))

    def idb(lt=linktype, snap=snaplen, tsresol=None, tsoffset=None):
        opts = b""
        if tsresol is not None:
            opts += option(9, bytes([tsresol]))
        if tsoffset is not None:
            opts += option(14, struct.pack(order + "q", tsoffset))
        return block(1, struct.pack(order + "HHI", lt, 0, snap) + opts + (option(0, b"") if opts else b""))

    def epb(iface, caplen=None, opts=b""):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 90)))
        ts = rng.randrange(1 << 62)
        cap = len(data) if caplen is None else caplen
        return block(6, struct.pack(order + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, cap, len(data) + 3)
                     + data + b"\0" * (-len(data) % 4) + opts)

    def spb():
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
        return block(3, struct.pack(order + "I", len(data)) + data)

    out = [shb(), idb()]
    if layout == "interfaces":
        out += [epb(0), epb(0, opts=option(1, b"a comment") + option(0, b"")), idb(tsresol=9), epb(1), epb(0),
                block(4, struct.pack(order + "HH", 0, 0)), idb(tsoffset=7), epb(2), epb(1), idb(tsresol=0x83),
                epb(3), idb(), idb(tsresol=9), epb(5), epb(4), block(0x0BAD, b"custom"), epb(0)]
    elif layout == "linktypes":
        out += [epb(0), idb(lt=linktype + 100), epb(1), epb(0)]
    elif layout == "sections":
        out += [epb(0), spb(), epb(0), shb(), idb(tsresol=9), epb(0), epb(0)]
    elif layout == "refused":
        out += [epb(0), epb(1), epb(0)]                 # no interface 1
    elif layout == "snaplen":
        out += [epb(0), epb(0, caplen=snaplen + 1), epb(0)]
    return b"".join(out)


# pcapng written block by block, with what each packet must read as:
# several sections of either byte order, interfaces of several link types
# and time stamp units described anywhere before their packets, Enhanced,
# Simple and obsolete Packet Blocks of odd sizes, statistics, name
# resolution and custom blocks.

SHB, IDB, PB, SPB, NRB, ISB, EPB, CUSTOM = 0x0A0D0D0A, 1, 2, 3, 4, 5, 6, 0x00000BAD
LINKTYPES = [1, 101, 0, 1]        # EN10MB, RAW, NULL, EN10MB again: several link types in a section
TSRESOLS = [6, 9, 0x8A, 3]        # micro, nano, 2^-10 (binary), milli


def ng_block(order, btype, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack(order + "II", btype, 12 + len(body)) + body + struct.pack(order + "I", 12 + len(body))


def ng_option(order, code, value):
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def ng_shb(order, app=b"", major=1, magic=0x1A2B3C4D):
    opts = ng_option(order, 4, app) + ng_option(order, 0, b"") if app else b""
    return ng_block(order, SHB, struct.pack(order + "IHHq", magic, major, 0, -1) + opts)


def ng_idb(order, linktype, tsresol=6, snaplen=0, name=b"eth"):
    opts = ng_option(order, 2, name) + ng_option(order, 9, bytes([tsresol])) + ng_option(order, 0, b"")
    return ng_block(order, IDB, struct.pack(order + "HHI", linktype, 0, snaplen) + opts)


def ng_isb(order, iface, received):
    opts = ng_option(order, 4, struct.pack(order + "Q", received)) + ng_option(order, 0, b"")
    return ng_block(order, ISB, struct.pack(order + "III", iface, 0, received) + opts)


def units(tsresol):
    return 1 << (tsresol & 0x7F) if tsresol & 0x80 else 10 ** tsresol


def stamp_ns(t, tsresol):
    """The time stamp in ns of t units of if_tsresol ``tsresol``, as the
    reader makes it (whole seconds, then the fraction, rounded down)."""
    res = units(tsresol)
    return t // res * 10**9 + t % res * 10**9 // res


class NgWriter:
    """A pcapng file in the making, and per packet what reading it must
    give: ``(ns, data, wirelen, interface_id, section, linktype)``."""

    def __init__(self, rng):
        self.rng, self.out, self.want = rng, bytearray(), []
        self.section, self.order, self.ifaces = -1, "<", []

    def add(self, raw):
        self.out += raw

    def shb(self, order, app=b""):
        self.section += 1
        self.order, self.ifaces = order, []
        self.add(ng_shb(order, app))

    def idb(self, linktype, tsresol=6, snaplen=0):
        self.ifaces.append((linktype, tsresol, snaplen))
        self.add(ng_idb(self.order, linktype, tsresol, snaplen, name=b"if%d.%d" % (self.section, len(self.ifaces))))

    def isb(self, iface, received):
        self.add(ng_isb(self.order, iface, received))

    def other(self, btype, body):
        self.add(ng_block(self.order, btype, body))

    def data(self):
        # Odd sizes: no packet length is a multiple of 4 more often than by chance.
        return bytes(self.rng.randrange(256) for _ in range(self.rng.choice([0, 1, 3, 13, 61, 127, 255, 1517])))

    def epb(self, iface, *, kind=EPB):
        order, data = self.order, self.data()
        t = self.rng.randrange(1 << 60)
        wirelen = len(data) + self.rng.choice([0, 0, 7])
        if kind == EPB:
            opts = ng_option(order, 1, b"comment") + ng_option(order, 0, b"") if self.rng.random() < 0.3 else b""
            body = struct.pack(order + "IIIII", iface, t >> 32, t & 0xFFFFFFFF, len(data), wirelen)
        else:       # the obsolete Packet Block: a 16-bit interface id and drop count
            opts = b""
            body = struct.pack(order + "HHIIII", iface, 0xFFFF, t >> 32, t & 0xFFFFFFFF, len(data), wirelen)
        self.add(ng_block(order, kind, body + data + b"\0" * (-len(data) % 4) + opts))
        linktype, tsresol, _ = self.ifaces[iface]
        self.want.append((stamp_ns(t, tsresol), data, wirelen, iface, self.section, linktype))

    def spb(self):
        data = self.data()
        self.add(ng_block(self.order, SPB, struct.pack(self.order + "I", len(data)) + data))
        linktype, tsresol, snaplen = self.ifaces[0]
        cut = data[:snaplen] if snaplen else data
        self.want.append((0, cut, len(data), 0, self.section, linktype))

    def packets(self, count):
        for _ in range(count):
            r = self.rng.random()
            if r < 0.1 and self.ifaces:
                self.spb()
            elif r < 0.15:
                self.epb(self.rng.randrange(len(self.ifaces)), kind=PB)
            else:
                self.epb(self.rng.randrange(len(self.ifaces)))


def pcapng_sections(path, seed, first="<", packets=40):
    """Five sections, the first in byte order ``first``, then the other,
    then alternating, then the other again: interfaces of several link types and time stamp units, one
    described after packets of the others, statistics, name resolution and
    custom blocks, an empty section.  Returns (path, the packets it holds)."""
    other = ">" if first == "<" else "<"
    w = NgWriter(random.Random(seed))
    w.shb(first, b"first")
    w.idb(LINKTYPES[0], TSRESOLS[0])
    w.packets(packets)
    w.idb(LINKTYPES[1], TSRESOLS[1])
    w.packets(packets)
    w.isb(0, 11)
    w.other(NRB, struct.pack(first + "HH", 0, 0))
    w.idb(LINKTYPES[2], TSRESOLS[2])
    w.packets(packets)
    w.isb(1, 22)
    w.isb(0, 33)
    w.other(CUSTOM, b"custom block")
    w.packets(packets)
    w.shb(other, b"second, the other byte order")
    w.idb(LINKTYPES[3], TSRESOLS[3], snaplen=40)
    w.idb(LINKTYPES[1], TSRESOLS[1])
    w.packets(packets)
    w.isb(1, 44)
    w.packets(packets)
    w.shb(first)                    # a section with no interface and no packet
    w.shb(other)
    w.idb(LINKTYPES[1], TSRESOLS[0])
    w.packets(packets)
    w.shb(other)                    # the same byte order again
    w.idb(LINKTYPES[2], TSRESOLS[1])
    w.idb(LINKTYPES[0], TSRESOLS[2])
    w.packets(packets)
    path.write_bytes(bytes(w.out))
    return path, w.want


def write_savefile(path, fmt, packets, *, snaplen=65535):
    """Write ``packets`` (``(sec, nsec, data, wirelen)``, as ``packets()``
    makes them) in format ``fmt``, a key of ``FORMATS``: microsecond formats
    keep ``nsec // 1000``; data longer than ``snaplen`` is cut to it, its
    wire length kept. Returns ``path``."""
    writer, kw, nano = FORMATS[fmt]
    recs = [(sec, nsec if nano else nsec // 1000, data[:snaplen], wirelen) for sec, nsec, data, wirelen in packets]
    writer(path, recs, snaplen=snaplen, **kw)
    return path


def savefile_fixture(pkts, formats, variants=None):
    """A pytest fixture (assign it to a module-level name) parametrized over
    ``formats`` (keys of ``FORMATS``) and ``variants`` (a dict of an id to a
    format and the snaplen to cut to): each writes ``pkts`` with
    ``write_savefile()`` into ``tmp_path`` and gives the path, named by
    the id (``pcapng-le-us.pcapng``, ``pcap-snaplen.pcap``)."""
    cases = {fmt: (fmt, 65535) for fmt in formats}
    cases.update(variants or {})

    @pytest.fixture(params=list(cases))
    def savefile(request, tmp_path):
        fmt, snaplen = cases[request.param]
        suffix = "pcapng" if fmt.startswith("pcapng") else "pcap"
        return write_savefile(tmp_path / f"{request.param}.{suffix}", fmt, pkts, snaplen=snaplen)
    return savefile


def expected(fmt, packets, *, snaplen=65535):
    """What a reader of ``write_savefile(path, fmt, packets, snaplen=...)``
    must give: ``[(timestamp in int ns, data, wirelen), ...]``."""
    nano = FORMATS[fmt][2]
    return [(sec * 10**9 + (nsec if nano else nsec // 1000 * 1000), data[:snaplen], wirelen)
            for sec, nsec, data, wirelen in packets]


def parse_pcap(path):
    """An independent reader of classic pcap files.

    Returns (header dict, [(sec, frac, incl_len, orig_len, data), ...]).
    """
    raw = pathlib.Path(path).read_bytes()
    assert len(raw) >= 24, f"{path}: {len(raw)} bytes, no complete file header"
    magic = struct.unpack_from("<I", raw)[0]
    if magic in (MAGIC_US, MAGIC_NS):
        bo = "<"
    else:
        bo = ">"
        magic = struct.unpack_from(">I", raw)[0]
    assert magic in (MAGIC_US, MAGIC_NS), f"bad magic {magic:#x}"
    _, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack_from(bo + "IHHiIII", raw)
    header = dict(nano=magic == MAGIC_NS, version=(major, minor), thiszone=zone,
                  sigfigs=sigfigs, snaplen=snaplen, linktype=linktype)
    records = []
    off = 24
    while off < len(raw):
        assert off + 16 <= len(raw), "truncated record header"
        sec, frac, incl, orig = struct.unpack_from(bo + "IIII", raw, off)
        off += 16
        assert off + incl <= len(raw), "truncated record data"
        records.append((sec, frac, incl, orig, raw[off:off + incl]))
        off += incl
    return header, records


def editcap():
    """The path of Wireshark's editcap; skips (fails under CI=true) without it."""
    path = shutil.which("editcap")
    need(path is not None, "editcap is missing (apt-get install wireshark-common)")
    return path


def to_pcapng(src, dst):
    """``dst``: the classic savefile ``src`` converted by ``editcap -F pcapng``."""
    subprocess.run([editcap(), "-F", "pcapng", str(src), str(dst)], check=True, capture_output=True, timeout=60)
    return dst


def tshark():
    """The path of Wireshark's tshark; skips (fails under CI=true) without it."""
    path = shutil.which("tshark")
    need(path is not None, "tshark is missing (apt-get install tshark)")
    return path


def capinfos():
    """The path of Wireshark's capinfos; skips (fails under CI=true) without it."""
    path = shutil.which("capinfos")
    need(path is not None, "capinfos is missing (apt-get install wireshark-common)")
    return path


def mergecap():
    """The path of Wireshark's mergecap; skips (fails under CI=true) without it."""
    path = shutil.which("mergecap")
    need(path is not None, "mergecap is missing (apt-get install wireshark-common)")
    return path


# What a reader shows of one packet: the interface (its index in its
# section), the time stamp in int ns (None: the packet has none, as a Simple
# Packet Block's), captured and wire length, the bytes, the comments, and
# the epb_flags, epb_dropcount and epb_packetid options (None: not there).
Shown = collections.namedtuple("Shown", "interface timestamp caplen wirelen data comments flags dropcount packet_id")


def _tshark_time(text):
    """int ns of tshark's frame.time_epoch: the seconds (signed) and, apart,
    the nanoseconds since them (tshark prints -5 s + 1000 ns as -5.000001000)."""
    sec, _, frac = text.partition(".")
    assert len(frac) <= 9 and frac.isdigit(), f"tshark's time {text!r}"
    return int(sec) * 10**9 + int(frac.ljust(9, "0"))


def tshark_frames(path, *, timeout=120):
    """tshark's JSON of each packet of the savefile ``path`` (``-T json -x``,
    the frame with its subtrees, and its comments): ``([(frame, layers), ...], None)``, or
    ``([...] before it stopped, its complaint)`` when it stopped on a damaged
    file.  ``frame`` is a dict of the frame's fields (``frame.interface_id``,
    ``frame.section_number``, ``frame.encap_type``,
    ``frame.interface_id_tree``...); ``layers`` the (key, value) pairs of the
    layers, duplicate keys kept.  (tshark shows other records of pcapng as
    frames too: custom blocks, systemd journal entries.  Those have no
    interface, and are left out; a classic pcap file's packets have none
    either, and are interface 0.)"""
    proc = subprocess.run([tshark(), "-n", "-r", str(path), "-T", "json", "-x", "-J", "frame pkt_comment"],
                          capture_output=True, timeout=timeout)
    # (It exits with 2 on a damaged file; what it says with 0 is of its
    # dissectors, not of the file.)
    complaint = None
    if proc.returncode != 0:
        complaint = "\n".join(line for line in proc.stderr.decode(errors="replace").splitlines()
                               if "could be dangerous" not in line) or f"tshark exited with {proc.returncode}"
    text = proc.stdout.decode("utf-8", "surrogateescape").strip()
    if complaint is not None and text and not text.endswith("]"):
        text = text.rstrip().rstrip(",") + "]"      # (cut off by the damage)
    pairs = json.loads(text or "[]", object_pairs_hook=lambda p: p)
    frames = []
    for packet in pairs:
        layers = dict(dict(packet)["_source"])["layers"]
        frames.append((dict(dict(layers)["frame"]), layers))
    # (pcapng: every packet has an interface; classic pcap: none, and a link type.)
    key = "frame.interface_id" if any("frame.interface_id" in frame for frame, _ in frames) else "frame.encap_type"
    return [(frame, layers) for frame, layers in frames if key in frame], complaint


def tshark_shown(frame, layers):
    """The Shown of one packet of tshark_frames()."""
    raw = dict(layers).get("frame_raw")
    data = bytes.fromhex(raw[0]) if raw else b""
    # (tshark 4.0 prints a comment's bytes unchecked: decoded as the module decodes them.)
    comments = tuple(v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                     for k, v in dict(layers).get("pkt_comment", []) if k == "frame.comment")

    def number(key):
        return None if key not in frame else int(frame[key], 0)
    return Shown(int(frame.get("frame.interface_id", 0)),
                 _tshark_time(frame["frame.time_epoch"]) if "frame.time_epoch" in frame else None,
                 int(frame["frame.cap_len"]), int(frame["frame.len"]), data, comments,
                 number("frame.packet_flags"), number("frame.drop_count"), number("frame.packet_id"))


def tshark_packets(path, *, timeout=120):
    """What tshark shows of each packet of the savefile ``path``:
    ``([Shown, ...], None)``, or ``([Shown, ...] before it stopped, its
    complaint)`` when it stopped on a damaged file (tshark_frames())."""
    frames, complaint = tshark_frames(path, timeout=timeout)
    return [tshark_shown(frame, layers) for frame, layers in frames], complaint


def module_packets(source, *, opened=None, **kw):
    """What the module shows of each packet of ``source`` (a path or a
    file object, opened with ``pcap.pcap(source, timestamp_in_ns=True,
    **kw)``): ``([Shown, ...], None)``, or ``([Shown, ...] before the
    failure, the PcapError's message)``. ``opened``: called once the open
    succeeded or failed (``PipeFeeder.opened``)."""
    import pcap
    shown = []
    try:
        p = pcap.pcap(source if hasattr(source, "read") else os.fspath(source), timestamp_in_ns=True, **kw)
    except pcap.PcapError as e:
        return shown, f"open: {e}"
    finally:
        if opened is not None:
            opened()
    with p:
        try:
            for ts, buf in p:
                shown.append(Shown(p.interface_id, ts, len(buf), p.wirelen, bytes(buf), tuple(p.packet_comments),
                                   p.packet_flags, p.packet_dropcount, p.packet_id))
        except pcap.PcapError as e:
            return shown, str(e)
    return shown, None


def build_ref_reader(directory):
    """tests/ref_reader.c (libpcap's own reading, one line a packet)
    compiled into ``directory`` against the libpcap the module is built
    with (PCAP_CFLAGS, PCAP_LIBS); returns its path. Needs cc."""
    cc = shutil.which("cc")
    need(cc is not None, "no C compiler (cc) to build the libpcap reference reader")
    exe = pathlib.Path(directory) / "ref_reader"
    flags = os.environ.get("PCAP_CFLAGS", "").split()
    libs = os.environ.get("PCAP_LIBS", "-lpcap").split()
    subprocess.run([cc, "-O2", *flags, "-o", str(exe), str(pathlib.Path(__file__).parent / "ref_reader.c"), *libs],
                   check=True)
    return exe


def parse_reference(text):
    """{path: (packets, outcome)} from ref_reader's output: packets
    ``(sec, frac, caplen, wirelen, hex)``, the outcome ``("E", "end")``,
    ``("E", "error " + libpcap's words)`` or ``("O", the open's errbuf)``."""
    result = {}
    for line in text.splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "F":
            path = rest
            result[path] = ([], None)
        elif tag == "P":
            sec, frac, caplen, wirelen, data = (rest.split(" ") + [""])[:5]
            result[path][0].append((int(sec), int(frac), int(caplen), int(wirelen), data))
        else:
            result[path] = (result[path][0], (tag, rest))
    return result


def first_difference(ours, theirs):
    """Where the module's ``ours`` and tshark's ``theirs`` (lists of Shown)
    first differ, in words, or None. A packet that has no time stamp in
    tshark (a Simple Packet Block's) has 0 in the module."""
    theirs = [b._replace(timestamp=0) if b.timestamp is None else b for b in theirs]
    for n, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            fields = [f"{f} {getattr(a, f)!r:.80} != {getattr(b, f)!r:.80}"
                      for f in Shown._fields if getattr(a, f) != getattr(b, f)]
            return f"packet {n + 1}: " + "; ".join(fields)
    if len(ours) != len(theirs):
        return f"{len(ours)} packets != {len(theirs)}"
    return None


class PipeFeeder:
    """``with PipeFeeder(data, rng) as path:`` a thread writes ``data`` into
    a new pipe in pieces of random sizes; ``path`` is its read end
    (``/dev/fd/N``). Call ``opened()`` once the reader has its own
    descriptor of it, so that the writer sees a reader that stops early
    let go; leaving the block waits for the thread."""

    def __init__(self, data, rng):
        self.r, self.w = os.pipe()
        self.pieces, pos = [], 0
        while pos < len(data):
            n = rng.choice((1, 3, 8, 16, 24, 100, 1000, 5000, 70000))
            self.pieces.append(data[pos:pos + n])
            pos += n
        self.thread = threading.Thread(target=self._write, daemon=True)

    def _write(self):
        try:
            for piece in self.pieces:
                os.write(self.w, piece)
        except BrokenPipeError:
            return      # the reader stopped reading (it failed, or was closed) and let go of the pipe
        finally:
            os.close(self.w)

    def opened(self):
        if self.r is not None:
            os.close(self.r)
            self.r = None

    def __enter__(self):
        self.thread.start()
        return f"/dev/fd/{self.r}"

    def __exit__(self, *exc):
        self.opened()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the pipe writer hung"
        return False


def gzipped(src, dst):
    """``dst``: ``src`` compressed with gzip."""
    pathlib.Path(dst).write_bytes(gzip.compress(pathlib.Path(src).read_bytes()))
    return dst


class FifoWriter:
    """``with FifoWriter(fifo_path, data, chunk):`` a thread writes ``data``
    into a new FIFO at ``fifo_path`` in ``chunk``-byte writes and closes it;
    leaving the block waits for the thread (a reader that stops early
    breaks the pipe, which ends the thread)."""

    def __init__(self, path, data, chunk=4093):
        os.mkfifo(path)
        self.path, self.data, self.chunk = path, data, chunk
        self.error = None
        self.thread = threading.Thread(target=self._write, daemon=True)

    def _write(self):
        try:
            with open(self.path, "wb", buffering=0) as f:
                view = memoryview(self.data)
                for at in range(0, len(view), self.chunk):
                    f.write(view[at:at + self.chunk])
        except BrokenPipeError as e:
            self.error = e

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(10)
        assert not self.thread.is_alive(), "the FIFO writer is stuck"
        return False


# -- reading all packets of a handle through one sink --------------------------------

SINKS = ["iter", "next", "dispatch", "loop", "readpkts", "readbatch", "readinto", "next_batch",
         "count-dispatch", "count-loop", "dumper", "arrow_batches", "to_arrow", "async"]

# Sinks that give each packet's wire length (the rest give None for it).
SINKS_WITH_WIRELEN = {"iter", "next", "dispatch", "loop", "readbatch", "readinto", "next_batch",
                      "dumper", "arrow_batches", "to_arrow"}


def read_all(p, sink, *, count=None, deadline=None, workdir=None, batch=7, into=None):
    """Read every packet of handle ``p`` through ``sink`` (one of ``SINKS``).

    Returns ``[(timestamp, bytes, wirelen or None), ...]`` in the order the
    sink gave them (timestamps as the handle gives them; ``readinto`` and
    ``next_batch`` always give int ns, ``dumper`` ns from the file it wrote),
    or, for the ``count-*`` sinks, the number of packets counted. ``count``:
    stop after that many packets (a live handle has no end); otherwise read
    until the source ends. ``batch``: how many packets a bulk call asks for,
    small so that a read spans many calls. ``workdir``: where ``dumper``
    writes its file. ``into``: a list to append the packets to as they come,
    so that the caller has those before an exception. ``deadline`` (a
    ``time.monotonic()`` value): with ``count``, a read that has fewer
    packets by then fails instead of asking again (put a breakloop() timer
    behind the blocking call that would outlast it)."""
    def enough(got):
        if count is None:
            return False
        if len(got) >= count:
            return True
        assert deadline is None or time.monotonic() < deadline, \
            f"{sink}: {len(got)} of {count} packets by the deadline"
        return False

    got = [] if into is None else into
    if sink == "iter":
        for ts, buf in p:
            got.append((ts, buf, p.wirelen))
            if enough(got):
                break
    elif sink == "next":
        while not enough(got):
            try:
                ts, buf = next(p)
            except StopIteration:
                break
            got.append((ts, buf, p.wirelen))
    elif sink in ("dispatch", "loop"):
        def cb(ts, buf, *args):
            assert args == ("extra",), args
            got.append((ts, buf, p.wirelen))
        if sink == "loop":
            n = p.loop(count or 0, cb, "extra")
            assert n == len(got), f"loop returned {n} for {len(got)} callbacks"
        else:
            while not enough(got):
                before = len(got)
                n = p.dispatch(batch, cb, "extra")
                if n == -2:          # PCAP_ERROR_BREAK: breakloop() ended it before any packet
                    assert len(got) == before, f"dispatch returned -2 after {len(got) - before} callbacks"
                    break
                assert n == len(got) - before, f"dispatch returned {n} for {len(got) - before} callbacks"
                assert batch <= 0 or n <= batch
                if n == 0 and count is None:
                    break
    elif sink == "readpkts":
        while not enough(got):
            pkts = p.readpkts(batch)
            assert batch <= 0 or len(pkts) <= batch
            if not pkts and count is None:
                break
            got += [(ts, buf, None) for ts, buf in pkts]
    elif sink == "readbatch":
        while not enough(got):
            stamps, bufs, wirelens = p.readbatch(batch, wirelens=True)
            assert len(stamps) == len(bufs) == len(wirelens) <= batch
            if not bufs and count is None:
                break
            got += zip(stamps, bufs, wirelens)
    elif sink in ("readinto", "next_batch"):
        records, data = bytearray(pcap_record_size() * batch), bytearray(1 << 18)
        while not enough(got):
            if sink == "readinto":
                n = p.readinto(records, data)
                view_records, view_data = records, data
            else:
                view_records, view_data = p.next_batch(batch, 1 << 18)
                n = len(view_records) // pcap_record_size()
                assert len(view_records) == n * pcap_record_size()
            assert n <= batch
            if n == 0 and count is None:
                break
            got += unpack_records(view_records, view_data, n)
    elif sink in ("count-dispatch", "count-loop"):
        if sink == "count-loop":
            return p.loop(count or 0)
        total = 0
        while count is None or not enough([None] * total):
            n = p.dispatch(-1)
            if n == -2 or (n == 0 and count is None):
                break
            total += n
        return total
    elif sink == "dumper":
        assert workdir is not None, "the dumper sink needs a workdir"
        path = os.path.join(workdir, f"dumped-{time.monotonic_ns()}.pcap")
        with p.dump_open(path) as d:
            n = p.loop(count or 0, d)
        header, recs = parse_pcap(path)
        unit = 1 if header["nano"] else 1000
        got += [(sec * 10**9 + frac * unit, data, orig) for sec, frac, incl, orig, data in recs]
        assert n == len(recs), f"loop returned {n}, the dumper wrote {len(recs)}"
        assert all(incl == len(data) for _, _, incl, _, data in recs)
    elif sink in ("arrow_batches", "to_arrow"):
        import pyarrow as pa
        if sink == "to_arrow":
            assert count is None, "to_arrow reads to the end, which a live capture has not"
            tables = [p.to_arrow(batch)]
        else:
            tables = []
            for b in p.arrow_batches(batch, max_bytes=1 << 16):
                assert b.num_rows <= batch
                tables.append(b)
                if count is not None and sum(t.num_rows for t in tables) >= count:
                    break
        for t in tables:
            assert t.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
            data = t.column("data").to_pylist()
            assert t.column("caplen").to_pylist() == [len(b) for b in data]
            got += zip(t.column("timestamp").cast(pa.int64()).to_pylist(), data, t.column("wirelen").to_pylist())
    elif sink == "async":
        async def main():
            async for ts, buf in p:
                got.append((ts, buf, None))
                if enough(got):
                    break
        asyncio.run(asyncio.wait_for(main(), 30))
    else:
        raise AssertionError(f"no sink {sink!r}")
    return got


def read_source(source, sink="iter", **kw):
    """Open ``source`` (a path or a file object) with ``pcap.pcap(source,
    timestamp_in_ns=True, **kw)`` and ``read_all()`` of it through ``sink``."""
    import pcap
    with pcap.pcap(source if hasattr(source, "read") else os.fspath(source), timestamp_in_ns=True, **kw) as p:
        return read_all(p, sink)


def pcap_record_size():
    import pcap
    return pcap.BATCH_RECORD_SIZE


def unpack_records(records, data, n):
    """``[(timestamp ns, bytes, wirelen), ...]`` of the first ``n`` records
    that ``readinto()`` or ``next_batch()`` wrote."""
    import pcap
    out = []
    for i in range(n):
        ts, caplen, wirelen, offset = struct.unpack_from(pcap.BATCH_RECORD_FORMAT, records, i * pcap.BATCH_RECORD_SIZE)
        out.append((ts, bytes(data[offset:offset + caplen]), wirelen))
    return out


# -- lo ----------------------------------------------------------------------------

def free_port():
    """A UDP port nobody else on lo is likely to use during this test."""
    return random.Random(os.urandom(8)).randrange(20000, 60000)


def settle(p):
    """Discard what reached p before its filter was set: other traffic on the
    interface could fill the ring in that moment and crowd out the test's."""
    p.setnonblock(True)
    for _ in range(10000):
        if not p.readpkts():
            break
    p.setnonblock(False)
    assert p.getnonblock() is False


def open_lo(port=None, *, flt=None, settled=False, **kw):
    """``pcap.pcap("lo", **kw)`` filtered on UDP datagrams to 127.0.0.1 at
    ``port`` (or on ``flt``); ``settled``: with what came before the filter
    discarded. ``lo`` carries other traffic: always filter."""
    import pcap
    assert (port is None) != (flt is None), "open_lo takes a port or a filter"
    p = pcap.pcap("lo", **kw)
    p.setfilter(flt or f"udp and dst host 127.0.0.1 and dst port {port}")
    if settled:
        settle(p)
    return p


def send_udp(port, payloads, *, sport=None):
    """Send each of ``payloads`` as one UDP datagram to 127.0.0.1:``port``
    (from ``sport`` when given)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        if sport is not None:
            s.bind(("127.0.0.1", sport))
        for data in payloads:
            s.sendto(data, ("127.0.0.1", port))


def drain(p, seconds=0.3):
    """Every packet that arrives on p (opened with a timeout_ms) within ``seconds``."""
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got.extend(p.readpkts())
    return got


def wait_readable(p, timeout):
    """Whether the handle's descriptor became readable within ``timeout`` s."""
    r, _, _ = select.select([p.fileno()], [], [], timeout)
    return bool(r)


class Alarm(Exception):
    """What ``raiser()``'s signal handler raises."""


def raiser(message):
    """A signal handler that raises Alarm(message)."""
    def handler(signum, frame):
        raise Alarm(message)
    return handler


class Later:
    """Run fn after delay seconds in a thread; .at is when it ran (monotonic)."""

    def __init__(self, delay, fn):
        self.at = None
        self.fn = fn
        self.timer = threading.Timer(delay, self._run)
        self.timer.daemon = True

    def _run(self):
        self.at = time.monotonic()
        self.fn()

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.timer.join(5)
        return False


class breakloop_after:
    """with breakloop_after(p, seconds): call p.breakloop() after that long
    unless the block ended first, so that a blocking read which gets nothing
    ends instead of hanging."""

    def __init__(self, p, seconds):
        self.timer = threading.Timer(seconds, p.breakloop)
        self.timer.daemon = True

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        return False


# -- child processes -----------------------------------------------------------------

def run(argv, *, timeout=60, **kw):
    """Run ``argv`` to its end, text in and out, output captured; returns the
    CompletedProcess. A child that does not finish in time is killed and fails
    the test, with what it printed."""
    try:
        return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{argv[0]} hung for {timeout} s (killed); stdout: {e.stdout!r} stderr: {e.stderr!r}")


def run_python(code, *args, **kw):
    """``run()`` ``code`` (dedented) in a child of this interpreter, with
    ``args`` as its ``sys.argv[1:]``."""
    return run([sys.executable, "-c", textwrap.dedent(code), *args], **kw)


UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def run_unprivileged(argv, **kw):
    """``run()`` ``argv`` as user and group 65534 with no supplementary
    groups and no capabilities, from ``/`` (which that user may enter)."""
    kw.setdefault("timeout", 30)
    return run([*UNPRIVILEGED, *argv], cwd="/", **kw)


def check_child(proc):
    """The stdout of a child that must have exited with 0."""
    assert proc.returncode == 0, (
        f"child exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc.stdout


def run_async(coro, limit=5.0):
    """``asyncio.run(coro)``, failing with TimeoutError after ``limit`` s."""
    return asyncio.run(asyncio.wait_for(coro, limit))


# -- a veth pair ---------------------------------------------------------------------
# One end in the root namespace, where the tests capture, the other in a
# network namespace of the tests, from which a child process sends (the
# ``veth`` fixture of conftest.py).

SENDER = r"""
import json, socket, sys
raw = None
for kind, *args in json.load(sys.stdin):
    if kind == "udp":
        dst, port, payload, *sport = args
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            if sport:
                s.bind(("", sport[0]))
            s.sendto(bytes.fromhex(payload), (dst, port))
    else:
        dev, frame = args
        if raw is None:
            raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            raw.bind((dev, 0))
        raw.send(bytes.fromhex(frame))
"""


class Veth:
    def __init__(self):
        tag = f"{os.getpid() % 100000:05d}{random.randrange(256):02x}"
        self.ns = f"pcaptest{tag}"
        self.root_if = f"pcv{tag}r"           # <= 15 characters
        self.ns_if = f"pcv{tag}n"
        self.root_mac = "02:5c:a9:00:00:01"
        self.ns_mac = "02:5c:a9:00:00:02"
        self.foreign_mac = "02:5c:a9:00:00:99"   # nobody's
        net = f"10.{random.randrange(200, 250)}.{random.randrange(256)}"
        self.ns_ip = f"{net}.2"
        self.peer_ip = f"{net}.1"              # reached at foreign_mac, assigned nowhere
        self.created = []

    def ip(self, *args):
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)

    def setup(self):
        self.ip("netns", "add", self.ns)
        self.created.append(("netns", "del", self.ns))
        self.ip("link", "add", self.root_if, "address", self.root_mac, "type", "veth",
                "peer", "name", self.ns_if, "address", self.ns_mac)
        self.created.append(("link", "del", self.root_if))
        self.ip("link", "set", self.ns_if, "netns", self.ns)
        v6 = f"/proc/sys/net/ipv6/conf/{self.root_if}/disable_ipv6"
        if os.path.exists(v6):
            with open(v6, "w") as f:           # fewer stray packets on the link
                f.write("1")
        self.ip("link", "set", self.root_if, "up")
        self.ip("-n", self.ns, "link", "set", "lo", "up")
        self.ip("-n", self.ns, "link", "set", self.ns_if, "up")
        self.ip("-n", self.ns, "addr", "add", f"{self.ns_ip}/24", "dev", self.ns_if)
        self.ip("-n", self.ns, "neigh", "replace", self.peer_ip, "lladdr", self.foreign_mac,
                "dev", self.ns_if, "nud", "permanent")
        deadline = time.monotonic() + 3
        while self.operstate() != "up":
            assert time.monotonic() < deadline, f"{self.root_if} did not come up"
            time.sleep(0.01)

    def operstate(self):
        with open(f"/sys/class/net/{self.root_if}/operstate") as f:
            return f.read().strip()

    def flags(self):
        with open(f"/sys/class/net/{self.root_if}/flags") as f:
            return int(f.read(), 16)

    def teardown(self):
        failures = []
        for args in reversed(self.created):
            r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
            if r.returncode != 0 and "Cannot find device" not in r.stderr:
                failures.append(f"ip {' '.join(args)}: {r.stderr.strip()}")
        return failures

    def send_from_ns(self, items):
        """Send from inside the namespace: ("udp", port, payload) and
        ("raw", frame) items, in order."""
        spec = []
        for kind, *args in items:
            if kind == "udp":
                port, payload, *sport = args
                spec.append(["udp", self.peer_ip, port, payload.hex(), *sport])
            else:
                spec.append(["raw", self.ns_if, args[0].hex()])
        subprocess.run(["ip", "netns", "exec", self.ns, sys.executable, "-I", "-c", SENDER],
                       input=json.dumps(spec).encode(), check=True, capture_output=True, timeout=10)


def notes_during(call):
    """Run ``call()`` while another thread notes the time in a loop, as
    fast as it gets to run: (what call returned, how long it took, the
    notes taken well inside it).  A call that holds the GIL throughout
    leaves none inside."""
    seen = []
    stop = threading.Event()

    def note():
        while not stop.is_set():
            seen.append(time.perf_counter())

    t = threading.Thread(target=note)
    t.start()
    time.sleep(0.05)
    start = time.perf_counter()
    try:
        got = call()
    finally:
        end = time.perf_counter()
        stop.set()
        t.join()
    return got, end - start, [s for s in seen if start + 0.001 < s < end - 0.001]
