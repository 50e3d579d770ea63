"""The module against libpcap itself, on the same bytes.

A small C program (tests/ref_reader.c, compiled here against the libpcap the
module is built with) reads each savefile with pcap_next_ex; the module reads
the same file, once as a regular file and once through a pipe that a thread
feeds in pieces of random size.  Both must give the same packets (bytes,
caplen, wire length, time stamp), and fail at the same point in libpcap's
words.  The files: both byte orders, micro- and nanosecond classic pcap, the
modified format, versions before 2.4, every link type whose pseudo-header
libpcap rewrites, caplen over the snaplen and over the wire length, records
larger than the reader's buffer, pcapng with negative and huge time stamps,
pcapng with several interfaces (of other time stamp units, offsets and link
types), options, other blocks, a second section and packets libpcap
refuses, truncation at every offset of the first records, and seeded random
damage.
"""
import random
import struct
import subprocess

import pytest

import pcap
from support import PipeFeeder, build_ref_reader, parse_reference, pcapng_mixed

MUTATIONS = 5000

# Link types whose records libpcap changes after reading them (its
# swap_pseudo_headers and post-processing), and two plain ones.
LINKTYPES = [1, 101, 117, 113, 276, 189, 220, 239]


@pytest.fixture(scope="module")
def ref_reader(tmp_path_factory):
    return build_ref_reader(tmp_path_factory.mktemp("ref"))


# -- savefiles, written by hand ------------------------------------------------

def classic(order, kind, linktype, snaplen, records, version=(2, 4)):
    """kind: 'us', 'ns' or 'modified'.  records: (sec, frac, caplen, wirelen, data)
    with the header fields as given, whatever len(data) is."""
    magic = {"us": 0xA1B2C3D4, "ns": 0xA1B23C4D, "modified": 0xA1B2CD34}[kind]
    out = [struct.pack(order + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen, linktype)]
    for sec, frac, caplen, wirelen, data in records:
        out.append(struct.pack(order + "IIII", sec, frac, caplen, wirelen))
        if kind == "modified":
            out.append(struct.pack(order + "iHBB", 3, 0x0800, 0, 0))
        out.append(data)
    return b"".join(out)


def pcapng(order, tsresol, tsoffset, linktype, snaplen, packets, extra_block=False):
    """packets: (timestamp in 10**-tsresol units since tsoffset, wirelen, data)."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack(order + "II", btype, 12 + len(body)) + body + struct.pack(order + "I", 12 + len(body))

    def option(code, value):
        return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)

    out = [block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))]
    if extra_block:   # a name resolution block before the interface: skipped by libpcap
        out.append(block(0x00000004, struct.pack(order + "HH", 0, 0)))
    opts = option(9, bytes([tsresol]))
    if tsoffset:
        opts += option(14, struct.pack(order + "q", tsoffset))
    out.append(block(0x00000001, struct.pack(order + "HHI", linktype, 0, snaplen) + opts + option(0, b"")))
    for ts, wirelen, data in packets:
        ts &= (1 << 64) - 1
        out.append(block(0x00000006, struct.pack(order + "IIIII", 0, ts >> 32, ts & 0xFFFFFFFF,
                                                 len(data), wirelen) + data))
        if extra_block:
            out.append(block(0x00000005, b"\0" * 8))   # an interface statistics block
    return b"".join(out)


def base_files(rng):
    """Well-formed files over every format and edge the module must match."""
    files = {}

    def rec(sec, frac, n, wirelen=None):
        data = bytes(rng.randrange(256) for _ in range(n))
        return (sec, frac, n, n if wirelen is None else wirelen, data)

    for order in "<>":
        for kind in ("us", "ns", "modified"):
            for lt in LINKTYPES:
                records = [rec(1700000000 + i, rng.randrange(1000000), rng.randrange(1, 120)) for i in range(6)]
                records.append(rec(0x80000001, 0x80000000, 40))       # both fields >= 2**31
                records.append(rec(0xFFFFFFFF, 0xFFFFFFFF, 30, 900))  # caplen < wire length
                files[f"{kind}-{lt}-{'le' if order == '<' else 'be'}.pcap"] = classic(order, kind, lt, 65535, records)
        # caplen over the snaplen (cut to it), and over the wire length
        files[f"snap-{order == '<'}.pcap"] = classic(order, "us", 1, 100, [
            rec(1, 2, 150), rec(3, 4, 100), rec(5, 6, 101, 50), rec(7, 8, 60, 10)])
        # records longer than the reader's 64 KiB buffer, and at libpcap's limit
        files[f"big-{order == '<'}.pcap"] = classic(order, "ns", 1, 262144, [
            rec(1, 2, 100000), rec(3, 4, 70000), rec(5, 6, 262144), rec(7, 8, 10)])
        # older versions: caplen and len swapped (2.2), or maybe (2.3)
        for version in ((2, 2), (2, 3), (2, 1)):
            files[f"v{version[1]}-{order == '<'}.pcap"] = classic(order, "us", 1, 65535, [
                rec(1, 2, 60), (3, 4, 80, 60, bytes(60)), (5, 6, 60, 80, bytes(60))], version)
        for tsresol, tsoffset in ((6, 0), (9, 0), (6, -2000000000), (9, 5000000000), (0x80 | 10, 0)):
            packets = [(rng.randrange(1 << 40), 100, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 90))))
                       for _ in range(5)]
            packets.append((-(10 ** 9) * 10 ** (tsresol % 10) if tsresol < 128 else 1, 40, bytes(40)))
            packets.append(((1 << 63) - 1, 20, bytes(20)))           # seconds past 2262
            for extra in (False, True):
                files[f"ng-{tsresol}-{tsoffset}-{extra}-{order == '<'}.pcapng"] = pcapng(
                    order, tsresol, tsoffset, 1, 65535, packets, extra)
        for layout in ("interfaces", "linktypes", "sections", "refused"):
            for lt in LINKTYPES:
                files[f"ngmix-{layout}-{lt}-{order == '<'}.pcapng"] = pcapng_mixed(order, rng, lt, 65535, layout)
        files[f"ngmix-snaplen-{order == '<'}.pcapng"] = pcapng_mixed(order, rng, 1, 80, "snaplen")
    return files


def damaged_files(bases, rng):
    """Truncation at every offset of the first records, and random damage."""
    files = {}
    for name in ("us-1-le.pcap", "ns-117-be.pcap", "modified-1-be.pcap", "v3-True.pcap",
                 "ng-6-0-True-True.pcapng", "ng-9-0-False-False.pcapng", "big-True.pcap",
                 "ngmix-interfaces-1-False.pcapng"):
        data = bases[name]
        for cut in range(0, min(len(data), 400)):
            files[f"cut{cut}-{name}"] = data[:cut]
        files[f"cutbig-{name}"] = data[:len(data) * 2 // 3]
    names = sorted(n for n in bases if not n.startswith("big"))
    interesting = [0, 1, 12, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 65535, 65536, 262144, 262145,
                   16 * 1024 * 1024, 0x0A0D0D0A, 0x1A2B3C4D]
    for i in range(MUTATIONS):
        name = rng.choice(names)
        data = bytearray(bases[name])
        for _ in range(rng.randrange(1, 4)):
            if len(data) < 8:
                break
            what = rng.randrange(5)
            if what == 0:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif what in (1, 2):
                at = rng.randrange(0, max(1, len(data) - 4)) & ~3 if what == 1 else rng.randrange(max(1, len(data) - 4))
                data[at:at + 4] = struct.pack(rng.choice("<>") + "I", rng.choice(interesting))
            elif what == 3:
                del data[rng.randrange(len(data)):]
            else:
                at = rng.randrange(len(data))
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))
        files[f"m{i}-{name}"] = bytes(data)
    return files


# -- the two readers -------------------------------------------------------------

def expected_ns(data, sec, frac):
    """The module's time stamp in ns for a packet of libpcap's (sec, frac)."""
    if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34"):
        return sec * 10**9 + frac * 1000   # a microsecond classic file
    return sec * 10**9 + frac


def read_with_module(name, opened=None):
    """(packets, outcome) as the module reads ``name``; ``opened``, if
    given, is called once the module has opened its own descriptor of the
    file."""
    packets = []
    try:
        p = pcap.pcap(name, timestamp_in_ns=True)
    except pcap.PcapError as e:
        return packets, ("O", str(e))
    finally:
        if opened is not None:
            opened()
    with p:
        while True:
            try:
                ts, buf = next(p)
            except StopIteration:
                return packets, ("E", "end")
            except pcap.PcapError as e:
                return packets, ("E", "error " + str(e))
            packets.append((ts, len(buf), p.wirelen, buf.hex()))


def count_with_module(path):
    """What dispatch(-1) without a callback, which counts in C, makes of ``path``."""
    try:
        p = pcap.pcap(path)
    except pcap.PcapError:
        return "O"
    with p:
        try:
            return p.dispatch(-1)
        except pcap.PcapError:
            return "error"


def read_through_pipe(data, rng):
    """read_with_module of ``data`` written into a pipe in random pieces."""
    feeder = PipeFeeder(data, rng)
    with feeder as path:
        return read_with_module(path, feeder.opened)


# What libpcap says when it stops at a pcapng file that is sound, which the
# module reads on as Wireshark does: libpcap's packets, then more
# (test_pcapng_wireshark.py compares those with tshark).
LIBPCAP_LIMITS = ("an interface has a type", "an interface has a snapshot length",
                  "the file has sections with different byte orders", "Interface Description Block has",
                  "the capture file has no Interface Description Blocks", "bigger than snaplen of")


# Whether the linked libpcap reads damaged pcapng as the module's reader
# does, in the same words: libpcap 1.10's sf-pcapng.c.  Older ones check
# less (1.8 no block trailers) and word it otherwise: against them, only the
# sound pcapng files are compared (those every version reads alike).
PCAPNG_AS_LIBPCAP_110 = not pcap.lib_version().startswith(("libpcap version 1.8.", "libpcap version 1.9."))


def libpcap_limit(reference):
    return any(m in reference[1][1] for m in LIBPCAP_LIMITS)


def check_same(path, data, reference, ours, how):
    ref_packets, (ref_tag, ref_rest) = reference
    want = [(expected_ns(data, sec, frac), caplen, wirelen, hexdata)
            for sec, frac, caplen, wirelen, hexdata in ref_packets]
    got_packets, (tag, rest) = ours
    if libpcap_limit(reference):
        assert got_packets[:len(want)] == want, f"{path} ({how}): packets differ from libpcap's before it stopped"
        return
    assert got_packets == want, f"{path} ({how}): packets differ from libpcap's"
    assert tag == ref_tag, f"{path} ({how}): libpcap {ref_tag} {ref_rest!r}, module {tag} {rest!r}"
    if ref_rest.startswith("error ") and data[:4] == b"\x0a\x0d\x0d\x0a" and not PCAPNG_AS_LIBPCAP_110:
        # The same point, in other words ("pcap-ng dump file").
        assert rest.startswith("error "), f"{path} ({how}): libpcap says {ref_rest!r}, the module {rest!r}"
    elif ref_rest.startswith("error "):
        assert rest.startswith("error ") and rest.endswith(ref_rest[len("error "):]), \
            f"{path} ({how}): libpcap says {ref_rest!r}, the module {rest!r}"
    elif tag == "O":
        assert rest.endswith(ref_rest), f"{path} ({how}): libpcap says {ref_rest!r}, the module {rest!r}"
    else:
        assert rest == ref_rest


def test_same_packets_and_failures_as_libpcap(tmp_path, ref_reader):
    rng = random.Random(20261201)
    bases = base_files(rng)
    files = dict(bases)
    damaged = damaged_files(bases, rng)
    if not PCAPNG_AS_LIBPCAP_110:
        damaged = {name: data for name, data in damaged.items() if not name.endswith(".pcapng")}
    files.update(damaged)
    paths = {}
    for i, (name, data) in enumerate(sorted(files.items())):
        path = tmp_path / f"{i:05d}-{name}"
        path.write_bytes(data)
        paths[str(path)] = data
    reference = {}
    names = list(paths)
    for start in range(0, len(names), 500):
        out = subprocess.run([str(ref_reader), *names[start:start + 500]], check=True,
                             capture_output=True, text=True).stdout
        reference.update(parse_reference(out))
    assert set(reference) == set(paths)
    outcomes = {"O": 0, "E end": 0, "E error": 0}
    packets = 0
    for path, data in paths.items():
        check_same(path, data, reference[path], read_with_module(path), "file")
        tag, rest = reference[path][1]
        want = "O" if tag == "O" else len(reference[path][0]) if rest == "end" else "error"
        if libpcap_limit(reference[path]):
            # Counting in C gives what reading one by one gave.
            mine, (mine_tag, mine_rest) = read_with_module(path)
            want = "O" if mine_tag == "O" else len(mine) if mine_rest == "end" else "error"
            assert count_with_module(path) == want, f"{path}: counting in C differs from reading"
            outcomes["limit"] = outcomes.get("limit", 0) + 1
        else:
            assert count_with_module(path) == want, f"{path}: counting in C differs from libpcap"
            outcomes["O" if tag == "O" else "E end" if rest == "end" else "E error"] += 1
        packets += len(reference[path][0])
    pipe_rng = random.Random(7)
    for path, data in paths.items():
        check_same(path, data, reference[path], read_through_pipe(data, pipe_rng), "pipe")
    # The cases reach every outcome, in numbers.
    assert len(paths) > (MUTATIONS + 2000 if PCAPNG_AS_LIBPCAP_110 else MUTATIONS // 2)
    # (Fewer files against libpcap 1.8 and 1.9: no damaged pcapng.)
    assert min(outcomes[k] for k in ("O", "E end", "E error")) > (300 if PCAPNG_AS_LIBPCAP_110 else 150), outcomes
    assert outcomes.get("limit", 0) > 10, outcomes     # files libpcap stops at, read on as Wireshark does
    assert packets > (15000 if PCAPNG_AS_LIBPCAP_110 else 8000)
