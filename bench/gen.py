#!/usr/bin/env python3
"""Deterministic input files for the benchmark (bench/README.md).

    python bench/gen.py [--small N] [--large N] [--dir DIR]

writes two classic pcap savefiles (little-endian, microsecond timestamps,
link type Ethernet) into DIR (default bench/.work/):

    small-N.pcap   N packets of 60-100 bytes   (default N = 1,000,000)
    large-N.pcap   N packets of 1400-1514 bytes (default N = 200,000)

and, with --formats, the same packets of the small file in other formats
and encodings beside it (FORMATS below): nanosecond timestamps, big-endian,
pcapng and the modified pcap format (both written by Wireshark's editcap,
from the Debian package wireshark-common), gzip, and (written here) a
pcapng file with two interfaces of different link types, Ethernet and raw
IPv4, the packets alternating between them:

    small-N.2if.pcapng   the same IPv4 packets, every other one without its Ethernet header

and next to each of the classic files and the two-interface one a .json file with what any correct reader must find: the
packet count, the sum of the captured lengths, and the count and byte sum of
the packets that match FILTER below.  Every packet is Ethernet / IPv4 / UDP
(addresses and ports vary) with a pseudo-random payload; the same arguments
always give the same bytes (a version number in the .json lets the bench
notice files made by an older generator).  Only the standard library is used,
so any interpreter can run it.
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys

VERSION = 1
FILTER = "udp dst port 5001"          # matches about a quarter of the packets
SMALL = (60, 100)
LARGE = (1400, 1514)
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work")

_ETH = bytes.fromhex("020000000002" "020000000001" "0800")


def _paths(directory, kind, count):
    base = os.path.join(directory, f"{kind}-{count}")
    return base + ".pcap", base + ".json"


def _up_to_date(pcap_path, meta_path, count, lengths):
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    if (meta.get("version") != VERSION or meta.get("packets") != count
            or meta.get("lengths") != list(lengths) or meta.get("filter") != FILTER
            or not os.path.exists(pcap_path) or os.path.getsize(pcap_path) != meta.get("file_size")):
        return None
    return meta


def _packets(count, lengths, seed):
    """The packets of the seed, in order: (seconds, microseconds, the
    Ethernet frame's length, UDP destination port, its IPv4/UDP header, its
    payload); the Ethernet header is _ETH.  The same seed gives the same
    packets, whatever file they are written to."""
    rng = random.Random(seed)
    lo, hi = lengths
    pool = rng.randbytes(1 << 16)
    pool_span = len(pool) - hi
    pack_ip_udp = struct.Struct("!BBHHHBBH4s4sHHHH").pack
    sec, usec = 1_700_000_000, 0
    for i in range(count):
        size = rng.randint(lo, hi)
        dport = 5000 + rng.randrange(4)
        sport = 1024 + rng.randrange(60000)
        src = bytes((10, 0, rng.randrange(256), 1 + rng.randrange(254)))
        dst = bytes((10, 1, rng.randrange(256), 1 + rng.randrange(254)))
        payload_len = size - 42
        off = rng.randrange(pool_span)
        hdr = pack_ip_udp(0x45, 0, size - 14, i & 0xFFFF, 0, 64, 17, 0, src, dst,
                          sport, dport, payload_len + 8, 0)
        usec += 1 + rng.randrange(50)
        if usec >= 1_000_000:
            sec += 1
            usec -= 1_000_000
        yield sec, usec, size, dport, hdr, pool[off:off + payload_len]


def _facts(path, count, lengths, seed, total, matched, matched_bytes):
    return {"version": VERSION, "packets": count, "bytes": total, "lengths": list(lengths),
            "filter": FILTER, "filter_packets": matched, "filter_bytes": matched_bytes,
            "file_size": os.path.getsize(path), "seed": seed}


def generate(path, count, lengths, seed, big_endian=False, nanoseconds=False):
    """Write ``count`` packets with lengths in ``lengths`` (inclusive) to
    ``path`` and return the facts a reader must reproduce.  The same seed
    gives the same packets in either byte order and time stamp precision."""
    order = ">" if big_endian else "<"
    sub_second = 1000 if nanoseconds else 1
    pack_rec = struct.Struct(order + "IIII").pack
    total = matched = matched_bytes = 0
    chunk = []
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        # pcap header: magic, v2.4, thiszone, sigfigs, snaplen, LINKTYPE_ETHERNET
        f.write(struct.pack(order + "IHHiIII", 0xA1B23C4D if nanoseconds else 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for sec, usec, size, dport, hdr, payload in _packets(count, lengths, seed):
            chunk.append(pack_rec(sec, usec * sub_second, size, size))
            chunk.append(_ETH)
            chunk.append(hdr)
            chunk.append(payload)
            total += size
            if dport == 5001:
                matched += 1
                matched_bytes += size
            if len(chunk) >= 40000:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))
    os.replace(tmp, path)
    return _facts(path, count, lengths, seed, total, matched, matched_bytes)


# The header fields of the packets of a file (issue 22), as the rows of
# bench/rows.py's FIELDS_READERS report them: per field, the sum of its
# values over the packets that have it (IPv4 addresses as 32-bit numbers,
# TCP flags with the count of packets that have them), and of the Community
# IDs (v1, seed 0) their count, least and greatest.  Computed here from the
# generator's own packets and hashlib, cached beside the file.
FIELD_SUMS_VERSION = 1


def community_id(src, dst, proto, sport, dport, seed=0):
    """The Community ID v1 of a TCP/UDP flow, as the specification's
    reference computes it (addresses as bytes)."""
    import base64
    import hashlib
    if (src, sport) > (dst, dport):
        src, dst, sport, dport = dst, src, dport, sport
    digest = hashlib.sha1(struct.pack("!H", seed) + src + dst + struct.pack("!BBHH", proto, 0, sport, dport))
    return "1:" + base64.b64encode(digest.digest()).decode()


def field_sums(kind, count, directory=WORK, quiet=False):
    """The field sums of the ``kind`` file of ``count`` packets (its
    packets are all Ethernet/IPv4/UDP), computed once and kept in
    KIND-COUNT.fields.json."""
    path, meta = ensure(kind, count, directory, quiet)
    cache = path[:-len(".pcap")] + ".fields.json"
    try:
        with open(cache) as f:
            sums = json.load(f)
        if sums.pop("version") == FIELD_SUMS_VERSION and sums.pop("seed") == meta["seed"]:
            return sums
    except (OSError, ValueError, KeyError):
        pass
    if not quiet:
        print(f"computing the header fields' sums of {path}", file=sys.stderr, flush=True)
    src_sum = dst_sum = proto_sum = sport_sum = dport_sum = 0
    lo = hi = None
    for _, _, _, _, hdr, _ in _packets(count, SMALL if kind == "small" else LARGE, meta["seed"]):
        proto, src, dst, sport, dport = hdr[9], hdr[12:16], hdr[16:20], *struct.unpack_from("!HH", hdr, 20)
        src_sum += int.from_bytes(src, "big")
        dst_sum += int.from_bytes(dst, "big")
        proto_sum += proto
        sport_sum += sport
        dport_sum += dport
        cid = community_id(src, dst, proto, sport, dport)
        lo = cid if lo is None or cid < lo else lo
        hi = cid if hi is None or cid > hi else hi
    sums = {"ip": count, "src": src_sum, "dst": dst_sum, "protocol": proto_sum, "src_port": sport_sum,
            "dst_port": dport_sum, "tcp_flags": [0, 0], "community_id": [count, lo, hi]}
    with open(cache, "w") as f:
        json.dump(dict(sums, version=FIELD_SUMS_VERSION, seed=meta["seed"]), f, indent=1)
    return sums


# The two interfaces of the "pcapng2" copy: (LINKTYPE_, if_name, the bytes
# of the Ethernet frame it keeps: all of it, or the IPv4 packet after the
# Ethernet header).
TWO_INTERFACES = ((1, b"eth0", 0), (101, b"tun0", len(_ETH)))


def generate_pcapng_two_interfaces(path, count, lengths, seed):
    """Write the packets of ``seed`` as pcapng with two interfaces of
    different link types, TWO_INTERFACES (Ethernet, and raw IPv4: LINKTYPE_RAW),
    the packets alternating between them, starting with Ethernet: the same
    IPv4/UDP packets as the classic file, every other one without its
    Ethernet header.  libpcap refuses such a file (an interface of a link
    type other than the first's); the module reads it.  Returns its facts:
    ``bytes`` and ``filter_bytes`` are the captured lengths of this file,
    ``interfaces`` the packets of each interface."""
    pack_block = struct.Struct("<II").pack
    pack_epb = struct.Struct("<IIIIIII").pack
    total = matched = matched_bytes = 0
    per_interface = [0] * len(TWO_INTERFACES)
    chunk = []
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        # Section Header Block: byte-order magic, version 1.0, section length unknown.
        f.write(pack_block(0x0A0D0D0A, 28) + struct.pack("<IHHqI", 0x1A2B3C4D, 1, 0, -1, 28))
        for linktype, name, _ in TWO_INTERFACES:
            # Interface Description Block: link type, snaplen 65535, if_name.
            opts = struct.pack("<HH", 2, len(name)) + name + bytes(-len(name) % 4) + struct.pack("<HH", 0, 0)
            length = 20 + len(opts)
            f.write(pack_block(1, length) + struct.pack("<HHI", linktype, 0, 65535) + opts
                    + struct.pack("<I", length))
        for i, (sec, usec, size, dport, hdr, payload) in enumerate(_packets(count, lengths, seed)):
            iface = i % len(TWO_INTERFACES)
            cut = TWO_INTERFACES[iface][2]
            caplen = size - cut
            pad = -caplen % 4
            length = 32 + caplen + pad
            t = sec * 1_000_000 + usec
            # Enhanced Packet Block: interface, time stamp (microseconds), lengths, packet, no options.
            chunk.append(pack_epb(6, length, iface, t >> 32, t & 0xFFFFFFFF, caplen, caplen))
            if not cut:
                chunk.append(_ETH)
            chunk.append(hdr)
            chunk.append(payload + bytes(pad) + struct.pack("<I", length))
            total += caplen
            per_interface[iface] += 1
            if dport == 5001:
                matched += 1
                matched_bytes += caplen
            if len(chunk) >= 40000:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))
    os.replace(tmp, path)
    return dict(_facts(path, count, lengths, seed, total, matched, matched_bytes), interfaces=per_interface)


def ensure(kind, count, directory=WORK, quiet=False):
    """Path and facts of the ``kind`` ('small' or 'large') file of ``count``
    packets, generated when missing or stale."""
    lengths = SMALL if kind == "small" else LARGE
    os.makedirs(directory, exist_ok=True)
    pcap_path, meta_path = _paths(directory, kind, count)
    meta = _up_to_date(pcap_path, meta_path, count, lengths)
    if meta is None:
        if not quiet:
            print(f"generating {pcap_path} ({count} packets of {lengths[0]}-{lengths[1]} bytes)",
                  file=sys.stderr, flush=True)
        meta = generate(pcap_path, count, lengths, seed=f"{kind}-{count}-{VERSION}")
        with open(meta_path, "w") as f:
            json.dump(meta, f, indent=1)
    return pcap_path, meta


# The same packets in other formats and encodings: name -> (file name
# ending, how it is made).  Each is made beside the classic file and again
# whenever the classic file is newer; its facts are the classic file's,
# but for "pcapng2", which has facts of its own (a .json beside it, as the
# classic file's): half its packets have no Ethernet header.
FORMATS = {
    "ns": (".ns.pcap", "generated with nanosecond time stamps"),
    "be": (".be.pcap", "generated big-endian"),
    "pcapng": (".pcapng", "editcap -F pcapng"),
    "pcapng2": (".2if.pcapng", "generated: pcapng, two interfaces (Ethernet, raw IPv4), packets alternating"),
    "modpcap": (".modpcap.pcap", "editcap -F modpcap"),
    "gz": (".pcap.gz", "gzip level 6"),
}


class FormatUnavailable(Exception):
    """A copy could not be made (editcap missing or failing): its rows say why."""


def _copy_facts(fmt, path, meta):
    """The facts of the ``fmt`` copy at ``path`` of the file of facts ``meta``."""
    if fmt == "pcapng2":
        with open(path[:-len(".pcapng")] + ".json") as f:
            return json.load(f)
    if fmt == "pcapng":
        return dict(meta, interfaces=[meta["packets"]])     # one interface: editcap's
    return meta


def ensure_format(kind, count, fmt, directory=WORK, quiet=False):
    """Path and facts of the ``fmt`` copy (a key of FORMATS) of the ``kind``
    file of ``count`` packets, made when missing or older than that file.
    Raises FormatUnavailable when it cannot be made."""
    source, meta = ensure(kind, count, directory, quiet)
    path = source[:-len(".pcap")] + FORMATS[fmt][0]
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(source):
        try:
            return path, _copy_facts(fmt, path, meta)
        except (OSError, ValueError):
            pass
    if not quiet:
        print(f"making {path} ({FORMATS[fmt][1]})", file=sys.stderr, flush=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    lengths = SMALL if kind == "small" else LARGE
    if fmt in ("ns", "be"):
        generate(tmp, count, lengths, seed=meta["seed"], big_endian=fmt == "be", nanoseconds=fmt == "ns")
    elif fmt == "pcapng2":
        facts = generate_pcapng_two_interfaces(tmp, count, lengths, seed=meta["seed"])
        with open(path[:-len(".pcapng")] + ".json", "w") as f:
            json.dump(facts, f, indent=1)
    elif fmt == "gz":
        import gzip
        with open(source, "rb") as f, open(tmp, "wb") as out, \
                gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=0) as z:
            shutil.copyfileobj(f, z, 1 << 20)
    else:
        _editcap(source, tmp, fmt)
    os.replace(tmp, path)
    return path, _copy_facts(fmt, path, meta)


def _editcap(source, out, fmt):
    if shutil.which("editcap") is None:
        raise FormatUnavailable("editcap is missing: apt-get install wireshark-common")
    written = out + ".editcap"
    try:
        r = subprocess.run(["editcap", "-F", fmt, source, written], capture_output=True, text=True)
        if r.returncode != 0:
            raise FormatUnavailable(f"editcap -F {fmt} failed: {r.stderr.strip()[-300:]}")
        # Written again in large pieces, as the files made here are: the
        # page cache keeps a file in the pieces it was written in, and
        # editcap's small writes made reading its copy from the cache
        # (what every reader of the bench does) about 6 ms slower per
        # 100 MB, for the C loop and the module alike (Linux 6.18).
        with open(written, "rb") as f, open(out, "wb") as copy:
            while piece := f.read(4 << 20):
                copy.write(piece)
    finally:
        if os.path.exists(written):
            os.remove(written)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", type=int, default=1_000_000, help="packets in the small-packet file")
    ap.add_argument("--large", type=int, default=200_000, help="packets in the large-packet file (0: none)")
    ap.add_argument("--dir", default=WORK, help="output folder (default bench/.work)")
    ap.add_argument("--formats", default="", help=f"copies of the small file to make too: "
                    f"comma-separated, of {', '.join(FORMATS)}")
    args = ap.parse_args(argv)
    formats = [x for x in args.formats.split(",") if x]
    for x in formats:
        if x not in FORMATS:
            ap.error(f"--formats: unknown format {x!r} (known: {', '.join(FORMATS)})")
    for kind, n in (("small", args.small), ("large", args.large)):
        if n > 0:
            path, meta = ensure(kind, n, args.dir)
            print(f"{path}: {meta['packets']} packets, {meta['bytes']} bytes, "
                  f"{meta['filter_packets']} match {FILTER!r}")
    for fmt in formats:
        print(ensure_format("small", args.small, fmt, args.dir)[0])


if __name__ == "__main__":
    main()
