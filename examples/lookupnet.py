#!/usr/bin/env python3
"""Print a device's IPv4 network and netmask from pcap.lookupnet().

lookupnet(dev) returns two 4-byte bytes objects in network byte order (the
bpf_u_int32 values of pcap_lookupnet(), copied as they lie in memory), for
example (b'\\x7f\\x00\\x00\\x00', b'\\xff\\x00\\x00\\x00') for lo.  Print them
with socket.inet_ntoa(), or build an ipaddress.IPv4Network.  A device with
no IPv4 address raises pcap.PcapError with libpcap's message.

    lookupnet.py            lo
    lookupnet.py eth0 lo    the devices named
    lookupnet.py --all      every device from findalldevs()
"""
from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

import pcap


def show(dev: str) -> bool:
    try:
        net, mask = pcap.lookupnet(dev)
    except pcap.PcapError as e:
        print(f"{dev}: error: {e}")
        return False
    network = ipaddress.IPv4Network(f"{socket.inet_ntoa(net)}/{socket.inet_ntoa(mask)}")
    n = network.num_addresses
    print(f"{dev}: raw {net!r} {mask!r}")
    print(f"{dev}: net {socket.inet_ntoa(net)} mask {socket.inet_ntoa(mask)} -> {network}"
          f" ({n} {'address' if n == 1 else 'addresses'})")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Print the IPv4 network and netmask of capture devices.")
    ap.add_argument("devices", nargs="*", default=["lo"], help="device names (default: lo)")
    ap.add_argument("--all", action="store_true", help="every device from findalldevs()")
    args = ap.parse_args(argv)

    devices = pcap.findalldevs() if args.all else args.devices
    ok = [show(dev) for dev in devices]
    return 0 if any(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
