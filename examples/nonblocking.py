#!/usr/bin/env python3
"""Nonblocking mode on a live interface: reads that never wait.

After p.setnonblock(True), when no packet is pending:
  p.readpkts() returns []
  p.readbatch() returns two empty columns
  p.dispatch(-1, cb) returns 0
all at once; iteration (next(p), `for ts, buf in p:`) still waits, as
pypcap's does.  To wait for the next packets yourself, watch p.fileno() with
select (or selectors, or asyncio): it turns readable when packets are
waiting.  This script shows the three empty reads, sends a few UDP datagrams
to 127.0.0.1 and drains them in a select() loop.  Needs root (or
CAP_NET_RAW) to open the interface.

    nonblocking.py                 on lo, 5 datagrams to port 50011
    nonblocking.py -c 10 --timeout 3
"""
from __future__ import annotations

import argparse
import select
import socket
import sys
import time

import pcap
from optional_packages import require
from sniff import describe     # the one-line dpkt decoder of sniff.py


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def ms_since(t0: float) -> str:
    return f"{(time.monotonic() - t0) * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Nonblocking reads and select() on a live interface.")
    ap.add_argument("-i", "--interface", default="lo", help="interface (default: lo)")
    ap.add_argument("-c", "--count", type=int, default=5, help="datagrams to send and read (default: 5)")
    ap.add_argument("--timeout", type=float, default=5.0, help="give up after this many seconds (default: 5)")
    ap.add_argument("--port", type=int, default=50011, help="UDP port on 127.0.0.1 (default: 50011)")
    args = ap.parse_args(argv)
    require("dpkt")

    with pcap.pcap(args.interface) as p:
        p.setfilter(f"udp dst port {args.port}")
        p.setnonblock(True)
        print(f"getnonblock() -> {p.getnonblock()}")

        # Nothing was sent yet: every read returns at once.
        t0 = time.monotonic()
        print(f"readpkts() -> {p.readpkts()} after {ms_since(t0)}")
        t0 = time.monotonic()
        print(f"readbatch() -> {p.readbatch()} after {ms_since(t0)}")
        t0 = time.monotonic()
        print(f"dispatch(-1, cb) -> {p.dispatch(-1, lambda ts, buf: None)} after {ms_since(t0)}")

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(args.count):
                s.sendto(b"nonblocking %d" % i, ("127.0.0.1", args.port))
        print(f"sent {plural(args.count, 'datagram')} to 127.0.0.1:{args.port}")

        # Wait with select() on the selectable descriptor, then drain.
        got = 0
        t0 = time.monotonic()
        deadline = t0 + args.timeout
        while got < args.count and time.monotonic() < deadline:
            readable, _, _ = select.select([p.fileno()], [], [], deadline - time.monotonic())
            if not readable:
                break
            print(f"fd {p.fileno()} readable after {ms_since(t0)}")
            batch = p.readpkts()     # what is pending, without waiting
            for ts, buf in batch:
                print(f"  {describe(buf, p.datalink())}")
            got += len(batch)
            print(f"drained {plural(len(batch), 'packet')}")
        print(f"{got} of {plural(args.count, 'packet')} read")
        return 0 if got == args.count else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"nonblocking.py: {e}")
