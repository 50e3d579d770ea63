"""The tests' one vocabulary: savefiles written by hand (independent of the
module under test), packets, reading "all packets through sink X", opening
``lo`` and sending to it, child processes (privileged or not), and the rule
for tests that need what this machine may lack.

Every test file imports what it needs from here (``from support import
...``; pytest puts tests/ on ``sys.path``). Fixtures live in conftest.py.
"""
import asyncio
import gzip
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
