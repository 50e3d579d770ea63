#!/usr/bin/env python3
"""Record packets into files that rotate by time, size or packet count, as
tcpdump -w with -G/-C/-W (and dumpcap -b) does: pcap.record().

    record.py                                   examples/sample.pcap, 3 packets a file, into a temporary folder
    record.py -r FILE -w 'part-{n:03d}.pcap' --rotate-packets 1000
    record.py -i eth0 -w 'cap-%Y%m%d-%H%M%S.pcapng' -G 3600 -W 24      a day of hourly files
    record.py -i eth0 -w ring.pcap.gz -C 100 -W 10 'tcp port 80'       a ring of ten 100 MB files, gzip
    record.py -i lo -w 'lo-{n}.pcapng' -c 1000 --format pcapng --compress zstd

-w's pattern goes through strftime (the local time of each file's first
packet) and takes {n}, the file's number from 0; without {n}, and with a
rotation, _00000, _00001... come before the suffix.  -G SECONDS: a new file
when the open one spans that much packet time; -C MB: when it holds that
many megabytes (1,000,000 bytes, as tcpdump counts); --rotate-packets N:
that many packets; -W N: keep the last N files only; -c N: stop after N
packets.  Prints each file as it is finished.  Ctrl-C ends it cleanly: the
open file is closed whole, the finished files listed, exit status 130.
-i needs root (or CAP_NET_RAW).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import pcap
from sniff import SAMPLE     # examples/sample.pcap


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("-i", metavar="IFACE", help="capture on this interface")
    src.add_argument("-r", metavar="FILE", help="read this savefile (default: examples/sample.pcap)")
    ap.add_argument("-w", metavar="PATTERN", help="the files' names (default: a temporary folder's part.pcap)")
    ap.add_argument("-G", metavar="SECONDS", type=float, help="rotate after this many seconds of packets")
    ap.add_argument("-C", metavar="MB", type=float, help="rotate once a file holds this many megabytes")
    ap.add_argument("--rotate-packets", metavar="N", type=int, help="rotate after this many packets")
    ap.add_argument("-W", metavar="N", type=int, help="keep only the last N files")
    ap.add_argument("-c", metavar="N", type=int, help="stop after N packets")
    ap.add_argument("--duration", metavar="SECONDS", type=float, help="stop after this many seconds")
    ap.add_argument("--format", choices=["pcap", "pcapng"], help="default: from the pattern's suffix")
    ap.add_argument("--compress", choices=["gzip", "zstd"], help="default: from the pattern's suffix")
    ap.add_argument("filter", nargs="*", help="a BPF filter")
    args = ap.parse_args()

    source = args.i or args.r or SAMPLE
    if args.w is None:                  # a demonstration: into a folder deleted at the end
        with tempfile.TemporaryDirectory(prefix="record-") as folder:
            args.w = os.path.join(folder, "part.pcap")
            if not (args.G or args.C or args.rotate_packets):
                args.rotate_packets = 3
            return run(args, source)
    return run(args, source)


def run(args: argparse.Namespace, source: str) -> int:
    pattern = args.w
    rotate_bytes = None if args.C is None else max(1, int(args.C * 1_000_000))

    def finished(path: str) -> None:
        n = len(pcap.pcap(path).readpkts())
        print(f"finished {path} ({n} packet{'' if n == 1 else 's'})", flush=True)

    if args.i:
        print(f"recording {args.i} into {pattern}: Ctrl-C to stop", flush=True)
    try:
        files = pcap.record(source, pattern, rotate_seconds=args.G, rotate_bytes=rotate_bytes,
                            rotate_packets=args.rotate_packets, keep=args.W, format=args.format,
                            compress=args.compress, count=args.c, duration=args.duration,
                            filter=" ".join(args.filter) or None, on_file=finished)
    except KeyboardInterrupt as e:      # Ctrl-C: the open file is closed whole
        files = getattr(e, "recorded", [])
        print(f"interrupted: {len(files)} file{'' if len(files) == 1 else 's'} kept", file=sys.stderr)
        return 130
    except OSError as e:                # a full disk, a folder that cannot be written
        files = getattr(e, "recorded", [])
        print(f"record.py: {e}; {len(files)} file{'' if len(files) == 1 else 's'} kept", file=sys.stderr)
        return 1
    print(f"{len(files)} file{'' if len(files) == 1 else 's'} kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
