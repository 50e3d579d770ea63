#!/usr/bin/env python3
"""readpkts(): a list of (timestamp, packet) tuples per call.

On a savefile, readpkts() returns every remaining packet and readpkts(n) the
next n; [] means the end of the file.  On a live handle it returns the
packets of one buffer, waiting for the first one at most timeout_ms (then
[]).  Each packet is a bytes object of its own: keep it as long as you like.

    readpkts.py [FILE]            the whole savefile (default examples/sample.pcap)
    readpkts.py --chunk 3 [FILE]  in lists of at most 3 packets
    readpkts.py -i lo             live: send 5 datagrams to 127.0.0.1 and read them (root)
"""
from __future__ import annotations

import argparse
import datetime
import socket
import sys
import time

import pcap
from optional_packages import require
from sniff import SAMPLE, describe     # examples/sample.pcap and the one-line dpkt decoder


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def show(batch: list[tuple[float, bytes]], datalink: int) -> None:
    for ts, buf in batch:
        when = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
        size = f"{len(buf):4} {'byte' if len(buf) == 1 else 'bytes':5}"
        print(f"  {when:%Y-%m-%d %H:%M:%S.%f} {size}  {describe(buf, datalink)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Read packets in lists with readpkts().")
    ap.add_argument("file", nargs="?", default=SAMPLE,
                    help="savefile to read (default: examples/sample.pcap)")
    ap.add_argument("--chunk", type=int, default=-1, help="packets per readpkts() call (default: all)")
    ap.add_argument("-i", "--interface", help="read live from this interface instead (e.g. lo; needs root)")
    ap.add_argument("-c", "--count", type=int, default=5, help="live: datagrams to send and read (default: 5)")
    ap.add_argument("--timeout", type=float, default=5.0, help="live: give up after this many seconds")
    ap.add_argument("--port", type=int, default=50013, help="live: UDP port on 127.0.0.1 (default: 50013)")
    args = ap.parse_args(argv)
    require("dpkt")

    if not args.interface:
        with pcap.pcap(args.file) as p:
            total = 0
            while True:
                batch = p.readpkts(args.chunk)
                print(f"readpkts({args.chunk}) -> {plural(len(batch), 'packet')}")
                if not batch:           # [] at the end of the file
                    break
                show(batch, p.datalink())
                total += len(batch)
            print(plural(total, "packet"))
        return 0

    with pcap.pcap(args.interface, timeout_ms=500) as p:
        p.setfilter(f"udp dst port {args.port}")
        print(f"readpkts() on a quiet {p.name}: {p.readpkts()} after timeout_ms={p.timeout_ms}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(args.count):
                s.sendto(b"readpkts %d" % i, ("127.0.0.1", args.port))
        total = 0
        deadline = time.monotonic() + args.timeout
        while total < args.count and time.monotonic() < deadline:
            batch = p.readpkts()
            print(f"readpkts() -> {plural(len(batch), 'packet')}")
            show(batch, p.datalink())
            total += len(batch)
        print(f"{total} of {plural(args.count, 'packet')}")
        return 0 if total == args.count else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"readpkts.py: {e}")
