#!/usr/bin/env python3
"""Several worker processes share one interface's traffic (PACKET_FANOUT).

Each worker opens the interface, joins the same fanout group with
p.set_fanout(group, pcap.FANOUT_HASH) -- the kernel then hands every packet
of a flow to the same worker -- and counts packets and bytes per IPv4/IPv6
5-tuple until --seconds have passed (or Ctrl-C: the parent then stops the
workers, prints what they counted so far and exits with status 130).  Once
every worker has joined, the parent sends its own test traffic: UDP
datagrams to 127.0.0.1:50021 from 8 source ports, 36 in all (--no-send: none).
The workers count only those, with the filter 'udp dst port 50021' (--port
for another port, --filter for another filter), so that on lo the count is
exactly what was sent.  The parent prints each worker's flows and checks
that no flow reached two workers.
Linux only; needs root (or CAP_NET_RAW) to open the interface.

    fanout.py                              on lo, 2 workers, 3 s: 36 datagrams in 8 flows
    fanout.py -w 4 --seconds 10 --no-send  count what others send to 127.0.0.1:50021
    fanout.py -i eth0 --no-send --filter 'tcp or udp' --seconds 10
    fanout.py --json                       one line of JSON: each worker's flows
"""
from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import signal
import socket
import struct
import sys
import time
from typing import Any

import pcap

Flows = dict[str, list[int]]        # "proto src:sport > dst:dport" -> [packets, bytes]


def flow_key(frame: bytes) -> str | None:
    """The 5-tuple of an Ethernet frame carrying IPv4 or IPv6, as text."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        proto = frame[23]
        src, dst = socket.inet_ntop(socket.AF_INET, frame[26:30]), socket.inet_ntop(socket.AF_INET, frame[30:34])
        ports = frame[14 + ihl:14 + ihl + 4]
    elif ethertype == 0x86DD and len(frame) >= 54:
        proto = frame[20]
        src, dst = socket.inet_ntop(socket.AF_INET6, frame[22:38]), socket.inet_ntop(socket.AF_INET6, frame[38:54])
        ports = frame[54:58]
    else:
        return None
    name = {6: "tcp", 17: "udp"}.get(proto, str(proto))
    if proto in (6, 17) and len(ports) == 4:
        sport, dport = struct.unpack("!HH", ports)
        return f"{name} {src}:{sport} > {dst}:{dport}"
    return f"{name} {src} > {dst}"


def worker(interface: str, group: int, flt: str, seconds: float, stop: Any, ready: Any, results: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is for the parent, which then sets stop
    flows: Flows = {}

    def count(ts: float, frame: bytes) -> None:
        key = flow_key(frame)
        if key is not None:
            entry = flows.setdefault(key, [0, 0])
            entry[0] += 1
            entry[1] += len(frame)

    try:
        with pcap.pcap(interface, immediate=True, timeout_ms=100) as p:
            if flt:
                p.setfilter(flt)
            p.set_fanout(group, pcap.FANOUT_HASH)
            ready.put(os.getpid())
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not stop.is_set():
                p.dispatch(-1, count)      # returns within timeout_ms when nothing comes
    except pcap.PcapError as e:            # e.g. no root: the parent prints it
        ready.put(str(e))
        return
    results.put((os.getpid(), flows))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def send_test_traffic(port: int, sources: int) -> int:
    """Datagrams to 127.0.0.1:port from `sources` source ports, i + 1 from the i-th.

    All the sockets stay open until the last datagram is sent: a port freed by a closed socket
    can be handed to the next one, and two flows would then count as one."""
    sent = 0
    with contextlib.ExitStack() as stack:
        senders = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) for _ in range(sources)]
        for i, s in enumerate(senders):
            s.bind(("127.0.0.1", 0))
            for j in range(i + 1):
                s.sendto(b"fanout %d %d" % (i, j), ("127.0.0.1", port))
                sent += 1
    return sent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Share an interface's packets among worker processes with "
                                             "PACKET_FANOUT, counting the UDP datagrams this script sends.")
    ap.add_argument("-i", "--interface", default="lo", help="interface (default: lo)")
    ap.add_argument("-w", "--workers", type=int, default=2, help="worker processes (default: 2)")
    ap.add_argument("--seconds", type=float, default=3.0, help="how long the workers count (default: 3)")
    ap.add_argument("--group", type=int, default=0, help="fanout group id, 0-65535 (default: this process's pid)")
    ap.add_argument("--port", type=int, default=50021,
                    help="UDP port on 127.0.0.1 the test traffic goes to and the workers filter on (default: 50021)")
    ap.add_argument("--filter", default="", help="BPF filter every worker sets instead of 'udp dst port PORT'")
    ap.add_argument("--no-send", action="store_true",
                    help="send no test traffic: count what others send (the filter is still on the port)")
    ap.add_argument("--send-test-traffic", action="store_true",
                    help="does nothing: sending is the default now (kept so that old command lines work)")
    ap.add_argument("--json", action="store_true", help="print the results as one line of JSON")
    args = ap.parse_args(argv)
    group = args.group or (os.getpid() & 0xFFFF)
    flt = args.filter or f"udp dst port {args.port}"

    stop: Any = multiprocessing.Event()
    ready: Any = multiprocessing.Queue()
    results: Any = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, daemon=True,     # daemon: they end when the parent does
                                     args=(args.interface, group, flt, args.seconds, stop, ready, results))
             for _ in range(args.workers)]
    for proc in procs:
        proc.start()
    errors = [msg for msg in (ready.get(timeout=30) for _ in procs) if isinstance(msg, str)]
    if errors:                                 # a worker could not open the interface
        for proc in procs:
            proc.terminate()
        print(f"fanout.py: {errors[0]}", file=sys.stderr)
        return 1
    print("ready", flush=True)                 # every worker has joined the group
    sent = None if args.no_send else send_test_traffic(args.port, 8)
    per_worker: dict[int, Flows] = {}
    interrupted = False
    while len(per_worker) < len(procs):
        try:
            pid, flows = results.get(timeout=args.seconds + 30)
            per_worker[pid] = flows
        except KeyboardInterrupt:              # Ctrl-C: the workers stop and send what they counted
            interrupted = True
            stop.set()
    for proc in procs:
        proc.join(10)
    if interrupted:
        print("interrupted", file=sys.stderr)

    owners: dict[str, list[int]] = {}
    for pid, flows in per_worker.items():
        for key in flows:
            owners.setdefault(key, []).append(pid)
    shared = sorted(k for k, pids in owners.items() if len(pids) > 1)
    if args.json:
        print(json.dumps({"group": group, "workers": {str(pid): flows for pid, flows in per_worker.items()},
                          "shared_flows": shared, "sent": sent}))
    else:
        for pid, flows in sorted(per_worker.items()):
            total = sum(n for n, _ in flows.values())
            print(f"worker {pid}: {plural(total, 'packet')} in {plural(len(flows), 'flow')}")
            for key, (n, nbytes) in sorted(flows.items()):
                print(f"  {key}: {plural(n, 'packet')}, {plural(nbytes, 'byte')}")
        counted = sum(n for flows in per_worker.values() for n, _ in flows.values())
        print(f"{plural(len(owners), 'flow')}, {len(shared)} seen by more than one worker"
              + (f"; {plural(sent, 'datagram')} sent, {counted} counted" if sent is not None else ""))
    return 130 if interrupted else 1 if shared else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"fanout.py: {e}")
