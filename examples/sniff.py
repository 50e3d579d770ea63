#!/usr/bin/env python3
"""A small tcpdump: list devices, read a savefile or capture live, filter,
count, and print each packet on one line decoded by dpkt.

    sniff.py                              read examples/sample.pcap
    sniff.py --list                       list capture devices
    sniff.py -r examples/sample.pcap tcp  read a savefile, only its TCP packets
    sniff.py -i lo -c 5 'udp port 53'     capture 5 packets on lo (needs root)
    tcpdump -i lo -U -w - | sniff.py -r /dev/stdin    read a pipe

A live capture without -c or --timeout, or a pipe, runs until Ctrl-C, which
prints the count so far and exits with status 130.
"""
from __future__ import annotations

import argparse
import datetime
import os
import socket
import sys
import threading

import pcap
from optional_packages import optional, require

with optional():
    import dpkt

# The savefile shipped beside the examples, as a path from the current directory.
SAMPLE = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcap"))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
        return f"link type {datalink}, {plural(len(buf), 'byte')}"
    if isinstance(ip, dpkt.arp.ARP):
        op = {dpkt.arp.ARP_OP_REQUEST: "who-has", dpkt.arp.ARP_OP_REPLY: "is-at"}.get(ip.op, ip.op)
        return f"ARP {op} {socket.inet_ntoa(ip.tpa)} tell {socket.inet_ntoa(ip.spa)}"
    if isinstance(ip, dpkt.ip.IP):
        src, dst = socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst)
    elif isinstance(ip, dpkt.ip6.IP6):
        src, dst = socket.inet_ntop(socket.AF_INET6, ip.src), socket.inet_ntop(socket.AF_INET6, ip.dst)
    else:
        return f"{type(ip).__name__} {plural(len(buf), 'byte')}"
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
    ap = argparse.ArgumentParser(description="A small tcpdump built on the pcap module. "
                                             "With neither -i nor -r it reads examples/sample.pcap.")
    ap.add_argument("filter", nargs="*", help="BPF filter expression, e.g. 'udp port 53'")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("-i", "--interface", help="capture live on this interface, e.g. lo (needs root)")
    src.add_argument("-r", "--read", metavar="FILE",
                     help="read packets from a savefile or a pipe (default: examples/sample.pcap)")
    ap.add_argument("-c", "--count", type=int, default=0, help="stop after this many packets")
    ap.add_argument("--timeout", type=float, default=0, help="stop after this many seconds")
    ap.add_argument("--list", action="store_true", help="list capture devices and exit")
    ap.add_argument("--send-test-traffic", action="store_true",
                    help="with -i: send a few UDP datagrams to 127.0.0.1 on port 50007 during the capture")
    args = ap.parse_args(argv)

    if args.list:
        for dev in pcap.interfaces():
            addrs = ", ".join(a.addr for a in dev.addresses if a.addr and a.family in (socket.AF_INET, socket.AF_INET6))
            print(f"{dev.name:20} {'up' if dev.is_up else 'down':4} {addrs}")
        return 0
    require("dpkt")
    if args.send_test_traffic and not args.interface:
        ap.error("--send-test-traffic needs -i, e.g. -i lo")
    if not args.interface and not args.read:
        args.read = SAMPLE
        print(f"sniff.py: no -i or -r, so reading {SAMPLE}; to capture live instead add -i lo -c 10 (needs root)",
              file=sys.stderr)

    p: pcap.pcap | None = None
    n = 0
    stop = threading.Event()
    timer = None
    try:
        # On a pipe the constructor waits for the savefile header: Ctrl-C can come here already.
        p = pcap.pcap(args.read or args.interface, timeout_ms=100)
        expr = " ".join(args.filter)
        if expr:
            p.setfilter(expr)
        kind = "savefile" if args.read else "interface"
        print(f"reading {kind} {p.name} (link type {pcap.datalink_name(p.datalink())})"
              + (f", filter {expr!r}" if expr else ""), flush=True)     # at once, even into a pipe
        if args.send_test_traffic:
            threading.Thread(target=send_test_traffic, args=(50007, max(args.count, 10) + 5, stop),
                             daemon=True).start()
        if args.timeout:
            timer = threading.Timer(args.timeout, p.breakloop)
            timer.daemon = True
            timer.start()
        for ts, buf in p:
            n += 1
            when = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%H:%M:%S.%f")
            print(f"{when} {describe(buf, p.datalink())}")
            if n == args.count:
                break
        status = 0
    except KeyboardInterrupt:           # Ctrl-C: no traceback, the count so far, status 130
        print("interrupted", file=sys.stderr)
        status = 130
    finally:
        stop.set()
        if timer is not None:
            timer.cancel()
    print(plural(n, "packet"))
    if p is not None:
        if args.interface:
            print("stats:", p.stats())
        p.close()
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"sniff.py: {e}")
