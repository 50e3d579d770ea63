#!/usr/bin/env python3
"""BPF without a capture handle, and link-type names.

pcap.bpf(expr, dlt) compiles a filter expression for a link type
(pcap_open_dead + pcap_compile): len(b) is its number of instructions,
b.dump() lists them as `tcpdump -d` does, and b.filter(buf) runs it on one
packet (bpf_filter) and returns True or False.  The link type matters: the
same expression compiles to different offsets for Ethernet (DLT_EN10MB) and
for raw IP (DLT_RAW, the default, as in pypcap).

    bpf_tools.py                          'udp port 53' over examples/sample.pcap
    bpf_tools.py -r FILE 'tcp[tcpflags] & tcp-syn != 0'
    bpf_tools.py --dlt RAW -d 'icmp'      only print the program for raw IP
"""
from __future__ import annotations

import argparse
import sys

import pcap
from optional_packages import require
from sniff import SAMPLE, describe     # examples/sample.pcap and the one-line dpkt decoder


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compile, print and run a BPF program without a capture handle.")
    ap.add_argument("expr", nargs="*", help="filter expression (default: udp port 53)")
    ap.add_argument("-r", "--read", metavar="FILE", default=SAMPLE,
                    help="savefile to run the filter over (default: examples/sample.pcap)")
    ap.add_argument("--dlt", help="link type name such as EN10MB or RAW (default: the savefile's)")
    ap.add_argument("-d", "--dump-only", action="store_true", help="only print the program")
    args = ap.parse_args(argv)
    require("dpkt")
    expr = " ".join(args.expr) or "udp port 53"

    with pcap.pcap(args.read) as p:
        dlt = pcap.datalink_value(args.dlt) if args.dlt else p.datalink()
        print(f"link type {dlt}: {pcap.datalink_name(dlt)} ({pcap.datalink_description(dlt)})")
        try:
            prog = pcap.bpf(expr, dlt)
        except pcap.PcapError as e:
            print(f"does not compile: {e}")
            return 1
        print(f"{prog!r}: {plural(len(prog), 'instruction')}")
        for line in prog.dump():
            print(f"  {line}")
        if args.dump_only:
            return 0
        if dlt != p.datalink():
            print(f"not running it: {args.read} is {pcap.datalink_name(p.datalink())}")
            return 0
        matched = 0
        for ts, buf in p:
            ok = prog.filter(buf)
            matched += ok
            print(f"  {'match' if ok else '     '} {describe(buf, dlt)}")
        print(f"{plural(matched, 'packet')} {'matches' if matched == 1 else 'match'} {expr!r}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"bpf_tools.py: {e}")
