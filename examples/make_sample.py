#!/usr/bin/env python3
"""Write examples/sample.pcap: a few Ethernet packets (ARP, DNS over UDP, a
TCP handshake, ICMP) with fixed timestamps; with --pcapng, examples/sample.pcapng:
the same packets as two interfaces would have captured them (the TCP
handshake on a raw-IP tunnel), with names, comments, directions and
statistics.  The files are committed; this script says how they were made
and can make them again byte for byte."""
from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
from typing import Any, Iterator

import pcap
from optional_packages import optional, require

with optional():
    import dpkt

A, B = socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.53")
MAC_A, MAC_B = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
# The shipped savefile, beside this script, as a path from the current directory.
SAMPLE = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcap"))
SAMPLE_NG = SAMPLE + "ng"


def eth(src: bytes, dst: bytes, data: Any, etype: int | None = None) -> bytes:
    """An Ethernet frame; ``etype`` None: IPv4."""
    etype = dpkt.ethernet.ETH_TYPE_IP if etype is None else etype
    return bytes(dpkt.ethernet.Ethernet(src=src, dst=dst, type=etype, data=data))


def ip(src: bytes, dst: bytes, l4: Any, proto: int) -> Any:
    pkt = dpkt.ip.IP(src=src, dst=dst, p=proto, data=l4, ttl=64)
    pkt.len += len(bytes(l4))
    return pkt


def packets() -> Iterator[bytes]:
    arp = dpkt.arp.ARP(op=dpkt.arp.ARP_OP_REQUEST, sha=MAC_A, spa=A, tha=b"\0" * 6, tpa=B)
    yield eth(MAC_A, b"\xff" * 6, arp, dpkt.ethernet.ETH_TYPE_ARP)
    arp_reply = dpkt.arp.ARP(op=dpkt.arp.ARP_OP_REPLY, sha=MAC_B, spa=B, tha=MAC_A, tpa=A)
    yield eth(MAC_B, MAC_A, arp_reply, dpkt.ethernet.ETH_TYPE_ARP)
    q = dpkt.dns.DNS(id=7, qd=[dpkt.dns.DNS.Q(name="example.org")])
    yield eth(MAC_A, MAC_B, ip(A, B, dpkt.udp.UDP(sport=40000, dport=53, data=bytes(q)), 17))
    for flags, seq, ack, sport, dport, src, dst, sm, dm in (
            (dpkt.tcp.TH_SYN, 100, 0, 40001, 80, A, B, MAC_A, MAC_B),
            (dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, 500, 101, 80, 40001, B, A, MAC_B, MAC_A),
            (dpkt.tcp.TH_ACK, 101, 501, 40001, 80, A, B, MAC_A, MAC_B)):
        tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags)
        yield eth(sm, dm, ip(src, dst, tcp, 6))
    echo = dpkt.icmp.ICMP(type=8, data=dpkt.icmp.ICMP.Echo(id=1, seq=1, data=b"ping"))
    yield eth(MAC_A, MAC_B, ip(A, B, echo, 1))


def block(btype: int, body: bytes) -> bytes:
    """A pcapng block (little-endian): type, length, body padded to 4 bytes, length."""
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def options(*pairs: tuple[int, bytes]) -> bytes:
    out = b"".join(struct.pack("<HH", code, len(v)) + v + b"\0" * (-len(v) % 4) for code, v in pairs)
    return out + struct.pack("<HH", 0, 0)


def pcapng_sample() -> bytes:
    """The packets of sample.pcap on two interfaces: eth0 (Ethernet) and tun0
    (raw IP, the TCP handshake without its Ethernet headers); time stamps in
    nanoseconds, the direction of each packet in its flags, two comments,
    and each interface's statistics at the end."""
    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                 + options((3, b"examples/make_sample.py"), (4, b"Linux")))]
    out.append(block(1, struct.pack("<HHI", 1, 0, 65535)
                     + options((2, b"eth0"), (3, b"the LAN"), (9, b"\x09"), (12, b"Linux 6.1"))))
    out.append(block(1, struct.pack("<HHI", 101, 0, 1500) + options((2, b"tun0"), (3, b"a VPN tunnel"))))
    comments = {2: b"who has example.org?", 6: b"ping"}
    counts = [0, 0]
    for i, frame in enumerate(packets()):
        iface, data = (1, frame[14:]) if 3 <= i <= 5 else (0, frame)
        counts[iface] += 1
        ts = 1700000000 * 10**9 + i * 250_000_000
        if iface == 1:
            ts //= 1000                           # tun0 has no if_tsresol: microseconds
        inbound = frame[:6] == MAC_A              # frames to 192.0.2.1 came in
        opts = [(2, struct.pack("<I", 1 if inbound else 2))]
        if i in comments:
            opts.insert(0, (1, comments[i]))
        out.append(block(6, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
                         + data + b"\0" * (-len(data) % 4) + options(*opts)))
    for iface in (0, 1):
        out.append(block(5, struct.pack("<III", iface, 0, 0)
                         + options((4, struct.pack("<Q", counts[iface])), (5, struct.pack("<Q", 0)))))
    return b"".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description="Write the savefile of the examples: ARP, DNS over UDP, "
                                             "a TCP handshake and ICMP, with fixed timestamps.")
    ap.add_argument("out", nargs="?", help="where to write it (default: examples/sample.pcap, "
                                           "or examples/sample.pcapng with --pcapng)")
    ap.add_argument("--pcapng", action="store_true", help="write the two-interface pcapng sample")
    args = ap.parse_args()
    require("dpkt")
    out = args.out or (SAMPLE_NG if args.pcapng else SAMPLE)
    if args.pcapng:
        with open(out, "wb") as f:
            f.write(pcapng_sample())
    else:
        with pcap.dumper(out) as d:
            for i, frame in enumerate(packets()):
                d.write(1700000000 + i * 0.25, frame)
    print(f"wrote {out}")


if __name__ == "__main__":
    try:
        main()
    except pcap.PcapError as e:         # e.g. no permission to write there: one line, not a traceback
        sys.exit(f"make_sample.py: {e}")
