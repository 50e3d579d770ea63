#!/usr/bin/env python3
"""Write savefiles: copy packets with p.dump_open(), or make a file from
scratch with pcap.dumper(), then read it back.

  p.dump_open(path)   a writer with the handle's link type, snaplen and
                      timestamp precision (pcap_dump_open on the handle)
  pcap.dumper(path, dlt=DLT_EN10MB, snaplen=65535, nano=False, append=False)
                      a writer with no capture handle (pcap_open_dead + pcap_dump_open)
  d.write(ts, buf)    one record: ts in seconds (int or float), buf any bytes-like
  d.flush(), d.close(), `with` closes it

    write_savefile.py -w out.pcap                    copy examples/sample.pcap
    write_savefile.py -w out.pcap -r FILE tcp        copy the TCP packets of FILE
    write_savefile.py -w out.pcap -i lo -c 5         capture 5 datagrams it sends on lo (root)
    write_savefile.py -w out.pcap --scratch          write 3 hand-made packets
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading

import pcap
from optional_packages import optional, require
from sniff import SAMPLE, describe     # examples/sample.pcap and the one-line dpkt decoder

with optional():
    import dpkt


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def copy(src: pcap.pcap, out: str, count: int) -> int:
    n = 0
    with src.dump_open(out) as d:
        for ts, buf in src:
            d.write(ts, buf)
            n += 1
            if n == count:
                break
    return n


def scratch(out: str) -> int:
    """Three Ethernet/IPv4/UDP frames made with dpkt, a quarter second apart."""
    a, b = socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.2")
    with pcap.dumper(out, dlt=pcap.DLT_EN10MB) as d:
        for i in range(3):
            udp = dpkt.udp.UDP(sport=1024 + i, dport=9, data=b"made by hand %d" % i)
            udp.ulen = len(udp)
            ip = dpkt.ip.IP(src=a, dst=b, p=dpkt.ip.IP_PROTO_UDP, ttl=64, data=udp)
            ip.len = len(ip)
            eth = dpkt.ethernet.Ethernet(src=b"\x02\0\0\0\0\1", dst=b"\x02\0\0\0\0\2",
                                         type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            d.write(1700000000 + i * 0.25, bytes(eth))
    return 3


def send(port: int, count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(count):
            s.sendto(b"saved %d" % i, ("127.0.0.1", port))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a savefile with dump_open() or dumper(), then read it back.")
    ap.add_argument("filter", nargs="*", help="BPF filter for the packets copied, e.g. tcp")
    ap.add_argument("-w", "--write", metavar="OUT", help="savefile to write (default: a new temporary file)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("-r", "--read", metavar="FILE", default=SAMPLE,
                     help="savefile to copy (default: examples/sample.pcap)")
    src.add_argument("-i", "--interface", help="capture live on this interface instead (e.g. lo; needs root)")
    src.add_argument("--scratch", action="store_true", help="write hand-made packets with pcap.dumper()")
    ap.add_argument("-c", "--count", type=int, default=5, help="live: datagrams to send and save (default: 5)")
    ap.add_argument("--timeout", type=float, default=5.0, help="live: stop after this many seconds")
    ap.add_argument("--port", type=int, default=50017, help="live: UDP port on 127.0.0.1 (default: 50017)")
    args = ap.parse_args(argv)
    require("dpkt")

    out = args.write or os.path.join(tempfile.mkdtemp(), "out.pcap")
    if args.scratch:
        n = scratch(out)
    elif args.interface:
        with pcap.pcap(args.interface) as p:
            p.setfilter(" ".join(args.filter) or f"udp dst port {args.port}")
            send(args.port, args.count)
            timer = threading.Timer(args.timeout, p.breakloop)
            timer.start()
            try:
                n = copy(p, out, args.count)
            finally:
                timer.cancel()
    else:
        with pcap.pcap(args.read) as p:
            if args.filter:
                p.setfilter(" ".join(args.filter))
            n = copy(p, out, -1)
    print(f"wrote {plural(n, 'packet')} to {out} ({plural(os.path.getsize(out), 'byte')})")

    with pcap.pcap(out) as back:
        print(f"reading it back: link type {pcap.datalink_name(back.datalink())}, snaplen {back.snaplen}")
        for ts, buf in back:
            print(f"  {ts:.6f} {describe(buf, back.datalink())}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"write_savefile.py: {e}")
