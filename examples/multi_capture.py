#!/usr/bin/env python3
"""Several interfaces in one capture, or several savefiles merged by time stamp.

pcap.pcap([name, name, ...]) opens one handle over them all: packets come
in time stamp order, and p.interface_id says which interface each came from
(an index into p.interfaces, numbered one after the other in the order
given).

With no arguments, merges examples/sample.pcap (one interface, 0) and
examples/sample.pcapng (two interfaces: 1 and 2) as mergecap does, and
prints each packet with its interface.

With -i IFACE, captures on lo and IFACE at once, with one filter on both
('udp dst port 50023', --port for another), and prints each packet with the
interface it came from, until --count packets or --timeout seconds.  Unless
--no-send, it sends its own test traffic first: UDP datagrams to
127.0.0.1 on lo, and as many broadcast Ethernet frames of UDP datagrams
(from 192.0.2.1, TEST-NET-1) out of IFACE, in turn.  Linux; -i needs root
(or CAP_NET_RAW).

    multi_capture.py                   the two sample savefiles, merged
    multi_capture.py -i eth0           lo and eth0, 6 packets of its own
    multi_capture.py -i eth0 --no-send -c 20 --timeout 10
"""
from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading

import pcap
from sniff import SAMPLE     # examples/sample.pcap

SAMPLE_NG = SAMPLE[:-len(".pcap")] + ".pcapng"


def describe(p: pcap.pcap[float], ts: float, buf: bytes) -> str:
    i = p.interfaces[p.interface_id]
    return f"{ts:.6f} interface {p.interface_id} ({i.name or '-'}, {i.linktype_name}) {len(buf)} bytes"


def broadcast_frame(port: int, payload: bytes) -> bytes:
    """An Ethernet broadcast of a UDP datagram from 192.0.2.1 to 192.0.2.255:port."""
    udp = struct.pack("!HHHH", 50000, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.255")) + udp
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip


def send(iface: str, port: int, count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as raw:
        raw.bind((iface, 0))
        for n in range(count):
            if n % 2 == 0:
                udp.sendto(b"multi %d" % n, ("127.0.0.1", port))
            else:
                raw.send(broadcast_frame(port, b"multi %d" % n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Capture on lo and another interface at once, "
                                             "or merge the sample savefiles.")
    ap.add_argument("-i", "--interface", help="capture on lo and this interface (default: merge the samples)")
    ap.add_argument("-c", "--count", type=int, default=6, help="packets to capture (default: 6)")
    ap.add_argument("--timeout", type=float, default=5.0, help="stop after this many seconds (default: 5)")
    ap.add_argument("--port", type=int, default=50023, help="UDP port (default: 50023)")
    ap.add_argument("--no-send", action="store_true", help="send no test traffic")
    args = ap.parse_args(argv)

    if args.interface is None:
        with pcap.pcap([SAMPLE, SAMPLE_NG]) as p:
            for ts, buf in p:
                print(describe(p, ts, buf))
        return 0
    if args.interface == "lo":
        ap.error("-i: give an interface other than lo (lo is captured already)")

    with pcap.pcap(["lo", args.interface], immediate=True) as p:
        p.setfilter(f"udp dst port {args.port}")
        print("interfaces: " + ", ".join(f"{i.index} {i.name}" for i in p.interfaces), flush=True)
        if not args.no_send:
            send(args.interface, args.port, args.count)
        timer = threading.Timer(args.timeout, p.breakloop)    # in case packets go missing
        timer.start()
        n = 0
        try:
            for ts, buf in p:
                print(describe(p, ts, buf))
                n += 1
                if n == args.count:
                    break
        finally:
            timer.cancel()
        print(f"{n} packets; stats: {p.stats()}, of which {args.interface}: {p.stats(interface=1)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
