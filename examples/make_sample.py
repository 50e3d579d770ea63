#!/usr/bin/env python3
"""Write examples/sample.pcap: a few Ethernet packets (ARP, DNS over UDP, a
TCP handshake, ICMP) with fixed timestamps.  The file is committed; this
script says how it was made and can make it again byte for byte."""
from __future__ import annotations

import argparse
import os
import socket
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


def main() -> None:
    ap = argparse.ArgumentParser(description="Write the savefile of the examples: ARP, DNS over UDP, "
                                             "a TCP handshake and ICMP, with fixed timestamps.")
    ap.add_argument("out", nargs="?", default=SAMPLE,
                    help="where to write it (default: examples/sample.pcap)")
    args = ap.parse_args()
    require("dpkt")
    with pcap.dumper(args.out) as d:
        for i, frame in enumerate(packets()):
            d.write(1700000000 + i * 0.25, frame)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    try:
        main()
    except pcap.PcapError as e:         # e.g. no permission to write there: one line, not a traceback
        sys.exit(f"make_sample.py: {e}")
