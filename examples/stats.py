#!/usr/bin/env python3
"""p.stats(): libpcap's counters for a live handle (pcap_stats).

stats() returns Stats(received, dropped, ifdropped), a named tuple that still
unpacks as pypcap's 3-tuple:
  received   packets that passed the kernel filter,
  dropped    packets lost because the kernel ring buffer was full (read
             faster, or open with a bigger buffer_size),
  ifdropped  packets dropped by the interface or its driver.
On lo each packet goes through the kernel filter twice (once going out,
once coming in); libpcap delivers it once but counts it twice, so received
is twice the number of packets read.  A savefile has no counters: stats()
raises PcapError there.  Needs root (or CAP_NET_RAW).

    stats.py                  20 datagrams on lo
    stats.py -c 100
"""
from __future__ import annotations

import argparse
import socket
import sys
import threading

import pcap
from sniff import SAMPLE     # examples/sample.pcap


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Capture a few datagrams and print pcap_stats() counters.")
    ap.add_argument("-i", "--interface", default="lo", help="interface (default: lo)")
    ap.add_argument("-c", "--count", type=int, default=20, help="datagrams to send to 127.0.0.1 (default: 20)")
    ap.add_argument("--timeout", type=float, default=5.0, help="stop after this many seconds (default: 5)")
    ap.add_argument("--port", type=int, default=50015, help="UDP port (default: 50015)")
    args = ap.parse_args(argv)

    with pcap.pcap(args.interface) as p:
        p.setfilter(f"udp dst port {args.port}")
        print(f"before: {p.stats()}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(args.count):
                s.sendto(b"stats %d" % i, ("127.0.0.1", args.port))
        timer = threading.Timer(args.timeout, p.breakloop)    # in case packets go missing
        timer.start()
        try:
            n = p.loop(args.count)      # no callback: count them only
        finally:
            timer.cancel()
        received, dropped, ifdropped = p.stats()     # unpacks like pypcap's tuple
        print(f"read {plural(n, 'packet')}")
        print(f"after: {p.stats()}")
        print(f"received={received} dropped={dropped} ifdropped={ifdropped}")
        if p.name == "lo":
            print("on lo every packet passes the kernel filter twice (out and in): received counts both")

    with pcap.pcap(SAMPLE) as f:
        try:
            f.stats()
        except pcap.PcapError as e:
            print(f"a savefile has no counters: {e}")
    return 0 if n == args.count else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"stats.py: {e}")
