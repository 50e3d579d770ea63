#!/usr/bin/env python3
"""A small tcpdump: list devices, read a savefile or capture live, filter,
count, and print each packet on one line decoded by dpkt.

    sniff.py --list                       list capture devices
    sniff.py -r examples/sample.pcap      read a savefile
    sniff.py -i lo -c 5 'udp port 53'     capture 5 packets on lo (needs root)

Ctrl-C stops a live capture and prints the count.
"""
from __future__ import annotations

import argparse
import datetime
import os
import socket
import sys
import threading

import dpkt

import pcap

# The savefile shipped beside the examples, as a path from the current directory.
SAMPLE = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcap"))


def describe(buf: bytes, datalink: int) -> str:
    """One line about a packet: addresses, protocol, ports, length."""
    if datalink == pcap.DLT_EN10MB:
        frame = dpkt.ethernet.Ethernet(buf)
        ip = frame.data
    elif datalink in (pcap.DLT_NULL, pcap.DLT_LOOP):
        ip = dpkt.loopback.Loopback(buf).data
    elif datalink == pcap.DLT_LINUX_SLL:
        ip = dpkt.sll.SLL(buf).data
    elif datalink == pcap.DLT_RAW:
        ip = dpkt.ip.IP(buf)
    else:
        return f"link type {datalink}, {len(buf)} bytes"
    if isinstance(ip, dpkt.arp.ARP):
        op = {dpkt.arp.ARP_OP_REQUEST: "who-has", dpkt.arp.ARP_OP_REPLY: "is-at"}.get(ip.op, ip.op)
        return f"ARP {op} {socket.inet_ntoa(ip.tpa)} tell {socket.inet_ntoa(ip.spa)}"
    if isinstance(ip, dpkt.ip.IP):
        src, dst = socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst)
    elif isinstance(ip, dpkt.ip6.IP6):
        src, dst = socket.inet_ntop(socket.AF_INET6, ip.src), socket.inet_ntop(socket.AF_INET6, ip.dst)
    else:
        return f"{type(ip).__name__} {len(buf)} bytes"
    l4 = ip.data
    if isinstance(l4, dpkt.tcp.TCP):
        flags = "".join(c for bit, c in ((dpkt.tcp.TH_SYN, "S"), (dpkt.tcp.TH_FIN, "F"), (dpkt.tcp.TH_RST, "R"),
                                         (dpkt.tcp.TH_PUSH, "P"), (dpkt.tcp.TH_ACK, ".")) if l4.flags & bit)
        return f"TCP {src}:{l4.sport} > {dst}:{l4.dport} [{flags}] len {len(l4.data)}"
    if isinstance(l4, dpkt.udp.UDP):
        return f"UDP {src}:{l4.sport} > {dst}:{l4.dport} len {len(l4.data)}"
    if isinstance(l4, (dpkt.icmp.ICMP, dpkt.icmp6.ICMP6)):
        return f"ICMP {src} > {dst} type {l4.type}"
    return f"IP {src} > {dst} proto {ip.p}"


def send_test_traffic(port: int, count: int, stop: threading.Event) -> None:
    """Send ``count`` UDP datagrams to 127.0.0.1:port, one every 0.2 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(count):
            if stop.wait(0.2):
                return
            s.sendto(b"sniff.py test datagram %d" % i, ("127.0.0.1", port))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="A small tcpdump built on the pcap module.")
    ap.add_argument("filter", nargs="*", help="BPF filter expression, e.g. 'udp port 53'")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("-i", "--interface", help="capture live on this interface (default: lookupdev())")
    src.add_argument("-r", "--read", metavar="FILE", help="read packets from a savefile")
    ap.add_argument("-c", "--count", type=int, default=0, help="stop after this many packets")
    ap.add_argument("--timeout", type=float, default=0, help="stop a live capture after this many seconds")
    ap.add_argument("--list", action="store_true", help="list capture devices and exit")
    ap.add_argument("--send-test-traffic", action="store_true",
                    help="send a few UDP datagrams to 127.0.0.1 on port 50007 during a live capture")
    args = ap.parse_args(argv)

    if args.list:
        for dev in pcap.interfaces():
            addrs = ", ".join(a.addr for a in dev.addresses if a.addr and a.family in (socket.AF_INET, socket.AF_INET6))
            print(f"{dev.name:20} {'up' if dev.is_up else 'down':4} {addrs}")
        return 0

    p = pcap.pcap(args.read if args.read else args.interface, timeout_ms=100)
    expr = " ".join(args.filter)
    if expr:
        p.setfilter(expr)
    kind = "savefile" if args.read else "interface"
    print(f"reading {kind} {p.name} (link type {pcap.datalink_name(p.datalink())})"
          + (f", filter {expr!r}" if expr else ""))

    stop = threading.Event()
    if args.send_test_traffic:
        threading.Thread(target=send_test_traffic, args=(50007, max(args.count, 10) + 5, stop), daemon=True).start()
    timer = None
    if args.timeout:
        timer = threading.Timer(args.timeout, p.breakloop)
        timer.daemon = True
        timer.start()

    n = 0
    try:
        for ts, buf in p:
            n += 1
            when = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%H:%M:%S.%f")
            print(f"{when} {describe(buf, p.datalink())}")
            if n == args.count:
                break
    except KeyboardInterrupt:
        print("interrupted")
    finally:
        stop.set()
        if timer is not None:
            timer.cancel()
    print(f"{n} packets")
    if not args.read:
        print("stats:", p.stats())
    p.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
