#!/usr/bin/env python3
"""dispatch() against loop(), on a savefile or a live interface.

dispatch(cnt, cb) is one pcap_dispatch(): it processes what one read gives
(on a live handle one buffer, at most cnt packets) and returns how many, 0
when the wait ended with none.  Call it again for more.
loop(cnt, cb) calls dispatch until cnt packets were processed (cnt <= 0: for
ever), the savefile ends, breakloop() is called or the callback raises.

On a savefile (the default, examples/sample.pcap):
    dispatch(2) -> 2, dispatch(-1) -> the rest, dispatch(-1) -> 0 at the end;
    loop(3) -> 3, loop(0) -> the rest.
Live (-i lo, needs root): with timeout_ms=300, dispatch() on a quiet
interface returns 0 after 0.3 s; once datagrams flow it returns with the
first buffer; loop(n) waits until n packets came.

    dispatch_vs_loop.py [FILE]
    dispatch_vs_loop.py -i lo
"""
from __future__ import annotations

import argparse
import socket
import sys
import threading
import time

import pcap
from optional_packages import require
from sniff import SAMPLE, describe     # examples/sample.pcap and the one-line dpkt decoder


def printer(ts: float, buf: bytes, tag: str, datalink: int) -> None:
    """A callback: dispatch/loop call it as callback(ts, buf, *args)."""
    print(f"  {tag} {ts:.6f} {describe(buf, datalink)}")


def savefile(path: str) -> int:
    p = pcap.pcap(path)
    dl = p.datalink()
    print(f"dispatch(2, cb) -> {p.dispatch(2, printer, 'dispatch', dl)}")
    print(f"dispatch(-1, cb) -> {p.dispatch(-1, printer, 'dispatch', dl)}")
    print(f"dispatch(-1, cb) -> {p.dispatch(-1, printer, 'dispatch', dl)}  (end of file)")
    p.close()
    p = pcap.pcap(path)                     # from the start again
    print(f"loop(3, cb) -> {p.loop(3, printer, 'loop', dl)}")
    print(f"loop(0, cb) -> {p.loop(0, printer, 'loop', dl)}  (to the end of the file)")
    p.close()
    return 0


def send(port: int, count: int, gap: float) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(count):
            time.sleep(gap)
            s.sendto(b"datagram %d" % i, ("127.0.0.1", port))


def live(interface: str, port: int) -> int:
    with pcap.pcap(interface, timeout_ms=300) as p:
        p.setfilter(f"udp dst port {port}")
        dl = p.datalink()

        t0 = time.monotonic()
        n = p.dispatch(-1, printer, "dispatch", dl)
        print(f"quiet: dispatch(-1, cb) -> {n} after {time.monotonic() - t0:.2f} s (timeout_ms=300)")

        sender = threading.Thread(target=send, args=(port, 6, 0.1))
        sender.start()
        t0 = time.monotonic()
        n = p.dispatch(-1, printer, "dispatch", dl)
        print(f"traffic: dispatch(-1, cb) -> {n} after {time.monotonic() - t0:.2f} s (one buffer)")

        want = 6 - n
        t0 = time.monotonic()
        n = p.loop(want, printer, "loop", dl)
        print(f"loop({want}, cb) -> {n} after {time.monotonic() - t0:.2f} s (waited for all of them)")
        sender.join()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="dispatch() against loop() on a savefile or live.")
    ap.add_argument("file", nargs="?", default=SAMPLE,
                    help="savefile to read (default: examples/sample.pcap)")
    ap.add_argument("-i", "--interface", help="capture live on this interface instead (e.g. lo; needs root)")
    ap.add_argument("--port", type=int, default=50012, help="UDP port for the live test traffic (default: 50012)")
    args = ap.parse_args(argv)
    require("dpkt")
    return live(args.interface, args.port) if args.interface else savefile(args.file)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"dispatch_vs_loop.py: {e}")
