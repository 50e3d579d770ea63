#!/usr/bin/env python3
"""Send raw frames with p.sendpacket() and see them arrive on a second handle.

sendpacket(buf) is pcap_sendpacket(): buf is the whole frame, link-layer
header included, as any bytes-like object (bytes, bytearray, memoryview); it
returns the number of bytes sent and raises PcapError when libpcap fails.
On Linux lo the link layer is Ethernet with all-zero addresses, so this
script builds Ethernet/IPv4/UDP frames from 127.0.0.1 to 127.0.0.1 with dpkt
and captures them back.  Needs root (or CAP_NET_RAW).

    sendpacket.py                 3 frames on lo
    sendpacket.py -c 5 --port 50016
"""
from __future__ import annotations

import argparse
import socket
import sys
import threading

import pcap
from optional_packages import optional, require
from sniff import describe     # the one-line dpkt decoder of sniff.py

with optional():
    import dpkt


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def udp_frame(payload: bytes, port: int) -> bytes:
    """An Ethernet/IPv4/UDP frame from 127.0.0.1:40000 to 127.0.0.1:port."""
    lo = socket.inet_aton("127.0.0.1")
    udp = dpkt.udp.UDP(sport=40000, dport=port, data=payload)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=lo, dst=lo, p=dpkt.ip.IP_PROTO_UDP, ttl=64, data=udp)
    ip.len = len(ip)
    eth = dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    return bytes(eth)      # bytes(ip) computes the IP and UDP checksums


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Send frames with sendpacket() and capture them back.")
    ap.add_argument("-i", "--interface", default="lo", help="interface (default: lo)")
    ap.add_argument("-c", "--count", type=int, default=3, help="frames to send (default: 3)")
    ap.add_argument("--timeout", type=float, default=5.0, help="stop waiting after this many seconds")
    ap.add_argument("--port", type=int, default=50016, help="UDP destination port (default: 50016)")
    args = ap.parse_args(argv)
    require("dpkt")

    with pcap.pcap(args.interface) as rx, pcap.pcap(args.interface) as tx:
        rx.setfilter(f"udp dst port {args.port}")
        kinds = [bytes, bytearray, memoryview]
        for i in range(args.count):
            frame = udp_frame(b"frame %d from sendpacket" % i, args.port)
            buf = kinds[i % 3](frame)           # any bytes-like object will do
            print(f"sendpacket({type(buf).__name__} of {plural(len(frame), 'byte')}) -> {tx.sendpacket(buf)}")

        timer = threading.Timer(args.timeout, rx.breakloop)
        timer.start()
        got: list[bytes] = []
        try:
            rx.loop(args.count, lambda ts, buf: got.append(buf))
        finally:
            timer.cancel()
        for buf in got:
            payload = dpkt.ethernet.Ethernet(buf).data.data.data
            print(f"captured: {describe(buf, rx.datalink())} {payload!r}")
        print(f"{len(got)} of {plural(args.count, 'frame')} seen by the second handle")
        return 0 if len(got) == args.count else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"sendpacket.py: {e}")
