#!/usr/bin/env python3
"""List the capture devices, in the order pcap_findalldevs() returns them.

    findalldevs.py          the names, one per line
    findalldevs.py --long   with each device's flags and IPv4 addresses

pcap.findalldevs() returns only the names, as pypcap does; pcap.interfaces()
(see interfaces.py) returns the whole pcap_if_t list with flags and addresses.
No privilege is needed to list devices.
"""
from __future__ import annotations

import argparse
import socket
import sys

import pcap


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="List the capture devices libpcap can open.")
    ap.add_argument("-l", "--long", action="store_true", help="show flags and IPv4 addresses too")
    args = ap.parse_args(argv)

    names = pcap.findalldevs()          # a list of str, e.g. ['eth0', 'any', 'lo', ...]
    if not args.long:
        for name in names:
            print(name)
        return 0

    for dev in pcap.interfaces():        # same order, with the details
        flags = [word for word, on in (("up", dev.is_up), ("running", dev.is_running),
                                       ("loopback", dev.is_loopback), ("wireless", dev.is_wireless)) if on]
        ipv4 = [a.addr for a in dev.addresses if a.family == socket.AF_INET and a.addr]
        print(f"{dev.name:18} {','.join(flags) or 'down':26} {' '.join(ipv4)}")
    print(plural(len(names), "device"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
