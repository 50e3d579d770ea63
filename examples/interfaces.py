#!/usr/bin/env python3
"""Every capture device with its flags and addresses: pcap.interfaces().

Each entry is a pcap.interface with name, description (str or None), the
flags is_up, is_running, is_loopback, is_wireless, and addresses: a list of
pcap.address with family (socket.AddressFamily: AF_INET, AF_INET6, or
AF_PACKET for the hardware address) and addr, netmask, broadaddr, dstaddr as
printable strings or None.  This is pcap_findalldevs() in full; findalldevs()
keeps only the names.

    interfaces.py            every device
    interfaces.py lo eth0    only these
"""
from __future__ import annotations

import argparse
import socket
import sys

import pcap


def family_name(family: int) -> str:
    try:
        return socket.AddressFamily(family).name
    except ValueError:
        return str(family)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Show capture devices with flags and addresses.")
    ap.add_argument("names", nargs="*", help="only these devices (default: all)")
    args = ap.parse_args(argv)

    shown = 0
    for dev in pcap.interfaces():
        if args.names and dev.name not in args.names:
            continue
        shown += 1
        flags = [word for word, on in (("up", dev.is_up), ("running", dev.is_running),
                                       ("loopback", dev.is_loopback), ("wireless", dev.is_wireless)) if on]
        print(f"{dev.name}: {' '.join(flags) or 'down'}" + (f" ({dev.description})" if dev.description else ""))
        for a in dev.addresses:
            extra = "".join(f" {label} {value}" for label, value in
                            (("netmask", a.netmask), ("broadcast", a.broadaddr), ("peer", a.dstaddr)) if value)
            print(f"    {family_name(a.family):9} {a.addr}{extra}")
    if args.names and shown < len(args.names):
        print(f"not found: {sorted(set(args.names) - {d.name for d in pcap.interfaces()})}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
