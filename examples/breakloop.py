#!/usr/bin/env python3
"""Four ways to stop a capture on a quiet interface.

A `for ts, buf in p:` loop over a live handle never ends by itself: it waits
for the next packet for ever.  Stop it with
  1. breakloop() from another thread (here a threading.Timer),
  2. breakloop() from a Python signal handler (here SIGALRM),
  3. breakloop() from the callback of loop() or dispatch(),
  4. Ctrl-C: KeyboardInterrupt comes out of the wait (try --ctrl-c); the
     script prints how long it waited and ends, like every example on
     Ctrl-C, with "interrupted" on stderr and exit status 130.
After breakloop() a running loop()/dispatch() returns the number of packets
processed so far and a running iteration ends with StopIteration, within a
fraction of a second.  Needs root (or CAP_NET_RAW) to open the interface.

    breakloop.py              the first three, on lo
    breakloop.py --ctrl-c     wait in a for loop until you press Ctrl-C (status 130),
                              or --timeout passes (breakloop(): status 0)
"""
from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import time
from types import FrameType

import pcap


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def from_a_thread(p: pcap.pcap, after: float) -> None:
    timer = threading.Timer(after, p.breakloop)
    timer.start()
    t0 = time.monotonic()
    n = 0
    try:
        for ts, buf in p:
            n += 1
    finally:
        timer.cancel()              # after Ctrl-C: no breakloop() on a closed handle
    print(f"1. timer thread: the for loop ended after {time.monotonic() - t0:.2f} s with {plural(n, 'packet')}")


def from_the_callback(p: pcap.pcap, port: int) -> None:
    got: list[bytes] = []

    def on_packet(ts: float, buf: bytes) -> None:
        got.append(buf)
        if len(got) == 2:
            p.breakloop()           # loop() returns after this callback

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(5):
            s.sendto(b"breakloop %d" % i, ("127.0.0.1", port))
    n = p.loop(5, on_packet)        # 5 bounds it: without breakloop() it would return 5
    print(f"3. callback: loop(5, cb) -> {n}: breakloop() after the 2nd of 5 datagrams")


def from_a_signal_handler(p: pcap.pcap, after: float) -> None:
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        p.breakloop()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, after)
    t0 = time.monotonic()
    try:
        n = p.dispatch(0, lambda ts, buf: None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    print(f"2. SIGALRM handler: dispatch(0, cb) -> {n} after {time.monotonic() - t0:.2f} s")


def until_ctrl_c(p: pcap.pcap, timeout: float) -> None:
    print(f"waiting on {p.name} in a for loop: press Ctrl-C (breakloop() after {timeout} s anyway)",
          flush=True)
    timer = threading.Timer(timeout, p.breakloop)
    timer.start()
    t0 = time.monotonic()
    try:
        for ts, buf in p:
            pass
        print(f"4. no Ctrl-C: breakloop() ended the loop after {time.monotonic() - t0:.2f} s")
    except KeyboardInterrupt:
        print(f"4. Ctrl-C: KeyboardInterrupt after {time.monotonic() - t0:.2f} s", flush=True)
        raise                       # and the script ends as on any Ctrl-C: status 130
    finally:
        timer.cancel()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Stop a live capture with breakloop() or Ctrl-C.")
    ap.add_argument("-i", "--interface", default="lo", help="interface (default: lo)")
    ap.add_argument("--after", type=float, default=0.5, help="seconds before each breakloop() (default: 0.5)")
    ap.add_argument("--ctrl-c", action="store_true",
                    help="wait for Ctrl-C in a for loop instead: it stops the loop and ends the script "
                         "with exit status 130")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="--ctrl-c: breakloop() after this many seconds without Ctrl-C, exit status 0 (default: 10)")
    ap.add_argument("--port", type=int, default=50014, help="UDP port on 127.0.0.1 (default: 50014)")
    args = ap.parse_args(argv)

    with pcap.pcap(args.interface) as p:
        p.setfilter(f"udp dst port {args.port}")   # a quiet capture: only our own datagrams
        if args.ctrl_c:
            until_ctrl_c(p, args.timeout)
            return 0
        from_a_thread(p, args.after)
        from_a_signal_handler(p, args.after)
        from_the_callback(p, args.port)     # last: it leaves the other 3 datagrams unread
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"breakloop.py: {e}")
