"""The triage tasks of the bench (issue 22): one task, two ways of doing
it, ours (``pcap.Triage``) and pcapy-ng 2.1's ``loop_filtered``, on the
small file of gen.py; and what a correct run keeps, computed here once per
file (cached in a .triage.json beside it) by a walk of the records with
``struct``, code of neither side.

    addrset    keep the packets whose source or destination address is one
               of ADDRESS_COUNT IPv4 addresses (ADDRESSES_IN_FILE of them
               among the file's, the rest elsewhere).  Ours: a Triage of
               the addresses as /32 prefixes (text, as a list file holds
               them), prefix_match 'either'; pcapy-ng: loop_filtered's
               SET_MATCH class (admit_mask 1 << 2), the addresses packed
               4 bytes each, as its own examples pass them.
    flowhead   keep the first FLOW_HEAD packets of each flow: protocol,
               addresses and ports, one direction (loop_filtered's flows
               are directional; ours: flow_bidirectional=False).  Ours: a
               Triage(flow_head_packets=FLOW_HEAD); pcapy-ng: the FLOW_HEAD
               class (admit_mask 1 << 1, flow_cutoff FLOW_HEAD).  Every
               flow of gen.py's file is TCP/UDP over IPv4, as loop_filtered
               requires, and nearly every packet is a flow of its own, so
               nearly all are kept: the row measures the flow table's
               work on every packet.

Each side builds its set inside the timed part, from the form it takes
(a list of str, packed bytes) made before the clock starts.
"""
import json
import os
import random
import socket
import struct

ADDRESS_COUNT = 1_000_000
ADDRESSES_IN_FILE = 20_000      # from each of gen.py's source (10.0/16) and destination (10.1/16) ranges
FLOW_HEAD = 3
VERSION = 1


def addresses():
    """The address set, as text, the same every time."""
    rng = random.Random("triage-addrset")
    out = set()
    for second in (0, 1):       # gen.py: sources 10.0.x.(1..254), destinations 10.1.x.(1..254)
        while len(out) < ADDRESSES_IN_FILE * (second + 1):
            out.add(f"10.{second}.{rng.randrange(256)}.{1 + rng.randrange(254)}")
    while len(out) < ADDRESS_COUNT:
        a = rng.getrandbits(32)
        if a >> 24 not in (0, 10, 127) and a >> 28 < 14:
            out.add(socket.inet_ntoa(a.to_bytes(4, "big")))
    return sorted(out)


def packed(addrs):
    """The addresses as pcapy-ng's addr_set takes them: 4 bytes each, network order."""
    return b"".join(socket.inet_aton(a) for a in addrs)


def _walk(path):
    """(caplen, src, dst, protocol, sport, dport) of each Ethernet/IPv4 packet of a classic little-endian file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "a little-endian classic pcap file"
    at = 24
    rec = struct.Struct("<IIII")
    while at + 16 <= len(data):
        _, _, incl, _ = rec.unpack_from(data, at)
        frame = data[at + 16:at + 16 + incl]
        at += 16 + incl
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        yield incl, ip[12:16], ip[16:20], ip[9], ip[ihl:ihl + 4]


def expected(path):
    """{task: [packets, bytes]} that a correct run keeps of the file at path."""
    cache = path + ".triage.json"
    stamp = [VERSION, os.path.getsize(path), os.stat(path).st_mtime_ns, ADDRESS_COUNT, FLOW_HEAD]
    try:
        with open(cache) as f:
            got = json.load(f)
        if got.get("stamp") == stamp:
            return got["tasks"]
    except (OSError, ValueError):
        pass
    wanted = set(socket.inet_aton(a) for a in addresses())
    seen = {}
    tasks = {"addrset": [0, 0], "flowhead": [0, 0]}
    for incl, src, dst, proto, ports in _walk(path):
        if src in wanted or dst in wanted:
            tasks["addrset"][0] += 1
            tasks["addrset"][1] += incl
        key = src + dst + bytes([proto]) + ports
        k = seen.get(key, 0)
        seen[key] = k + 1
        if k < FLOW_HEAD:
            tasks["flowhead"][0] += 1
            tasks["flowhead"][1] += incl
    with open(cache, "w") as f:
        json.dump({"stamp": stamp, "tasks": tasks}, f)
    return tasks
