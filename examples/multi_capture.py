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

With -w FILE, also records what it prints into one pcapng file: every
interface described, each packet on its own with a comment saying which
interface it came from, the interfaces' statistics at the end (as dumpcap
-i lo -i eth0 -w FILE records).

    multi_capture.py                   the two sample savefiles, merged
    multi_capture.py -i eth0           lo and eth0, 6 packets of its own
    multi_capture.py -i eth0 -w both.pcapng
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


def describe(p: pcap.pcap[int], ts: int, buf: bytes) -> str:
    i = p.interfaces[p.interface_id]
    return f"{ts / 1e9:.6f} interface {p.interface_id} ({i.name or '-'}, {i.linktype_name}) {len(buf)} bytes"


def record(p: pcap.pcap[int], d: pcap.dumper[int] | None, ts: int, buf: bytes) -> None:
    """Write the packet just read into d, if any, with a comment naming its interface."""
    if d is not None:
        name = p.interfaces[p.interface_id].name or f"interface {p.interface_id}"
        d.write(ts, buf, p.wirelen, interface=p.interface_id, flags=p.packet_flags,
                comments=p.packet_comments + [f"captured on {name}"])


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
    ap.add_argument("-w", "--write", metavar="FILE", help="also record the packets into this pcapng file")
    args = ap.parse_args(argv)

    if args.interface is None:
        with pcap.pcap([SAMPLE, SAMPLE_NG], timestamp_in_ns=True) as p:
            d = opened(p, args.write, "the samples merged")
            for ts, buf in p:
                print(describe(p, ts, buf))
                record(p, d, ts, buf)
            if d is not None:
                d.close()   # (the files' statistics blocks are written with it)
        return 0
    if args.interface == "lo":
        ap.error("-i: give an interface other than lo (lo is captured already)")

    with pcap.pcap(["lo", args.interface], immediate=True, timestamp_in_ns=True) as p:
        p.setfilter(f"udp dst port {args.port}")
        d = opened(p, args.write, f"lo and {args.interface}")
        print("interfaces: " + ", ".join(f"{i.index} {i.name}" for i in p.interfaces), flush=True)
        if not args.no_send:
            send(args.interface, args.port, args.count)
        timer = threading.Timer(args.timeout, p.breakloop)    # in case packets go missing
        timer.start()
        n = 0
        try:
            for ts, buf in p:
                print(describe(p, ts, buf))
                record(p, d, ts, buf)
                n += 1
                if n == args.count:
                    break
        finally:
            timer.cancel()
        print(f"{n} packets; stats: {p.stats()}, of which {args.interface}: {p.stats(interface=1)}")
        if d is not None:
            d.close()       # (before the handle: the statistics written are its stats())
    return 0


def opened(p: pcap.pcap[int], path: str | None, what: str) -> pcap.dumper[int] | None:
    """The pcapng dumper of -w, or None."""
    if path is None:
        return None
    return p.dump_open(path, format="pcapng", comment=f"multi_capture.py: {what}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
