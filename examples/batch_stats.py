#!/usr/bin/env python3
"""Traffic statistics from batches: no Python object per packet.

Reads packets with p.next_batch(), which gives two buffers per call: one
24-byte record per packet (pcap.BATCH_RECORD_FORMAT: time stamp in int64
nanoseconds, captured length, wire length, offset) and the packets' bytes.
With numpy the records are viewed as columns without a copy
(numpy.dtype(pcap.BATCH_RECORD_DTYPE)) and summed vectorized; without numpy
(or with --no-numpy) the same figures come from struct.iter_unpack.

    batch_stats.py                                  examples/sample.pcap
    batch_stats.py -r capture.pcap                  a savefile (or a pipe: -r /dev/stdin)
    batch_stats.py -r capture.pcap tcp port 443     with a BPF filter
    batch_stats.py -i eth0 --seconds 10             live, for 10 seconds
"""
from __future__ import annotations

import argparse
import os
import struct
import sys
import time

import pcap

# The savefile shipped beside the examples, as a path from the current directory.
SAMPLE = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcap"))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def columns_struct(records: bytes | bytearray) -> tuple[list[int], list[int], list[int]]:
    stamps, caplens, wirelens = [], [], []
    for ts, caplen, wirelen, _ in struct.iter_unpack(pcap.BATCH_RECORD_FORMAT, records):
        stamps.append(ts)
        caplens.append(caplen)
        wirelens.append(wirelen)
    return stamps, caplens, wirelens


class Totals:
    def __init__(self, use_numpy: bool) -> None:
        self.use_numpy = use_numpy
        self.packets = self.captured = self.wire = 0
        self.first = self.last = 0
        self.per_second: dict[int, int] = {}
        self.sizes: list[int] = []

    def add(self, records: bytearray) -> None:
        if self.use_numpy:
            self._add_numpy(records)
            return
        stamps, caplens, wirelens = columns_struct(records)
        for ts, wirelen in zip(stamps, wirelens):
            sec = ts // 1_000_000_000
            self.per_second[sec] = self.per_second.get(sec, 0) + wirelen
        self._note(stamps[0], stamps[-1], len(stamps), sum(caplens), sum(wirelens), wirelens)

    def _add_numpy(self, records: bytearray) -> None:
        import numpy as np
        r = np.frombuffer(records, np.dtype(pcap.BATCH_RECORD_DTYPE))
        sec = r["timestamp_ns"] // 1_000_000_000
        first = int(sec.min())
        sums = np.bincount(sec - first, weights=r["wirelen"])
        for i in np.flatnonzero(sums):
            self.per_second[first + int(i)] = self.per_second.get(first + int(i), 0) + int(sums[i])
        self._note(int(r["timestamp_ns"][0]), int(r["timestamp_ns"][-1]), len(r), int(r["caplen"].sum()),
                   int(r["wirelen"].sum()), r["wirelen"].tolist())

    def _note(self, first: int, last: int, n: int, captured: int, wire: int, sizes: list[int]) -> None:
        if not self.packets:
            self.first = first
        self.last = last
        self.packets += n
        self.captured += captured
        self.wire += wire
        self.sizes += sizes


def when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9 // 1000:06d}"


def report(t: Totals) -> None:
    print(f"{plural(t.packets, 'packet')}, {plural(t.captured, 'byte')} captured, "
          f"{plural(t.wire, 'byte')} on the wire")
    if not t.packets:
        return
    print(f"first {when(t.first)}, last {when(t.last)} (UTC), {(t.last - t.first) / 1e9:.3f} s")
    sizes = sorted(t.sizes)
    print(f"wire lengths: min {sizes[0]}, median {sizes[len(sizes) // 2]}, max {sizes[-1]}")
    print("bytes on the wire per second:")
    for sec in sorted(t.per_second):
        print(f"  {time.strftime('%H:%M:%S', time.gmtime(sec))}  {t.per_second[sec]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Traffic statistics from next_batch(), with numpy when it is there.")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("-r", metavar="FILE",
                     help="read this savefile, pcap or pcapng (default: examples/sample.pcap)")
    src.add_argument("-i", metavar="IFACE", help="capture on this interface")
    ap.add_argument("--seconds", type=float, default=5.0, help="how long to capture live (default 5)")
    ap.add_argument("--batch", type=int, default=4096, help="packets per next_batch() call (default 4096)")
    ap.add_argument("--no-numpy", action="store_true", help="use struct even when numpy is installed")
    ap.add_argument("expr", nargs="*", help="a BPF filter expression")
    args = ap.parse_args(argv)
    if not args.i and not args.r:
        args.r = SAMPLE

    use_numpy = not args.no_numpy
    if use_numpy:
        try:
            import numpy  # noqa: F401
        except ImportError:
            print("numpy is not installed (pip install numpy): using struct instead", file=sys.stderr)
            use_numpy = False
    p = pcap.pcap(args.r or args.i, timeout_ms=200 if args.i else 0)
    if args.expr:
        p.setfilter(" ".join(args.expr))
    print(f"reading {'savefile ' + args.r if args.r else 'interface ' + args.i} with "
          f"{'numpy' if use_numpy else 'struct'}, {plural(args.batch, 'packet')} a batch"
          + (f", filter {p.filter!r}" if p.filter else ""))
    totals = Totals(use_numpy)
    deadline = time.monotonic() + args.seconds
    status = 0
    with p:
        try:
            while True:
                records, _data = p.next_batch(args.batch)
                if records:
                    totals.add(records)
                elif args.r:
                    break                   # the end of the savefile
                if args.i and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:           # Ctrl-C (e.g. on a pipe): report what was read so far
            print("interrupted", file=sys.stderr)
            status = 130
    report(totals)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"batch_stats.py: {e}")
