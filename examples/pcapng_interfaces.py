#!/usr/bin/env python3
"""What a pcapng file says about its interfaces and each packet.

A pcapng file (what Wireshark and dumpcap write) can hold packets of several
interfaces, each with its own name, link type and time resolution, and
comments, directions, drop counts and statistics.  The module reads all of
it: ``p.interfaces`` describes the interfaces, and after each packet
``p.interface_id`` says which one it came from, ``p.packet_flags`` its
direction, ``p.packet_comments`` its comments.  A classic pcap file reads
the same way, as one interface with none of the extras.

    pcapng_interfaces.py [FILE]   (default examples/sample.pcapng)
    pcapng_interfaces.py --csv    one line a packet, for a spreadsheet
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys

import pcap

SAMPLE_NG = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcapng"))
DIRECTIONS = {pcap.PACKET_INBOUND: "in", pcap.PACKET_OUTBOUND: "out"}


def direction(flags: int | None) -> str:
    return "?" if flags is None else DIRECTIONS.get(flags & 3, "?")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Print the interfaces of a savefile and, for each packet, "
                                             "its interface, direction and comments.")
    ap.add_argument("file", nargs="?", default=SAMPLE_NG, help="savefile (default: examples/sample.pcapng)")
    ap.add_argument("--csv", action="store_true", help="one comma-separated line a packet")
    args = ap.parse_args(argv)
    with pcap.pcap(args.file, timestamp_in_ns=True) as p:
        if not args.csv:
            for i in p.interfaces:
                print(f"interface {i.index}: {i.name or '(no name)'}, {i.linktype_name}, "
                      f"snaplen {i.snaplen}" + (f", {i.description}" if i.description else ""))
        else:
            print("time_ns,interface,direction,length,comment")
        n = 0
        for ts, buf in p:
            n += 1
            iface = p.interfaces[p.interface_id]
            comment = "; ".join(p.packet_comments)
            if args.csv:
                print(f"{ts},{iface.name or p.interface_id},{direction(p.packet_flags)},{p.wirelen},{comment}")
                continue
            when = datetime.datetime.fromtimestamp(ts / 1e9, datetime.timezone.utc)
            print(f"  {when:%H:%M:%S.%f} {iface.name or p.interface_id:>5} {direction(p.packet_flags):>3} "
                  f"{p.wirelen:4} bytes" + (f"  # {comment}" if comment else ""))
        if not args.csv:
            print(f"{n} packets")
            for i in p.interfaces:
                if i.statistics is not None:
                    print(f"interface {i.index} statistics: {i.statistics}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except pcap.PcapError as e:
        sys.exit(f"pcapng_interfaces.py: {e}")
