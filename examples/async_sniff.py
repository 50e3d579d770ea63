#!/usr/bin/env python3
"""Capture inside an asyncio program with `async for ts, buf in p`.

`async for` over a live handle never blocks the event loop: while no packet
is pending it waits on the handle's selectable descriptor (the loop's
add_reader), so other tasks keep running; breakloop() ends the `async for`.
Over a savefile it yields every packet and ends.  Here a ticker task counts
ticks and a sender task sends UDP datagrams to 127.0.0.1 while the capture
waits.  Live needs root (or CAP_NET_RAW).

    async_sniff.py                   live on lo: 5 datagrams, 0.1 s apart
    async_sniff.py -r FILE           a savefile (e.g. examples/sample.pcap)
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import sys

import pcap
from optional_packages import require
from sniff import describe     # the one-line dpkt decoder of sniff.py


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


async def ticker(ticks: list[int]) -> None:
    while True:
        await asyncio.sleep(0.01)
        ticks[0] += 1


async def sender(port: int, count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(count):
            await asyncio.sleep(0.1)
            s.sendto(b"async %d" % i, ("127.0.0.1", port))


async def capture(p: pcap.pcap, count: int) -> int:
    n = 0
    async for ts, buf in p:
        n += 1
        print(f"  {ts:.6f} {describe(buf, p.datalink())}")
        if n == count:
            break
    return n


async def main_async(args: argparse.Namespace) -> int:
    with pcap.pcap(args.interface) as p:
        p.setfilter(f"udp dst port {args.port}")
        ticks = [0]
        tick_task = asyncio.create_task(ticker(ticks))
        send_task = asyncio.create_task(sender(args.port, args.count))
        # breakloop() ends the `async for` if packets go missing.
        asyncio.get_running_loop().call_later(args.timeout, p.breakloop)
        n = await capture(p, args.count)
        await send_task
        tick_task.cancel()
        print(f"{n} of {plural(args.count, 'packet')}; "
              f"meanwhile the ticker task ticked {plural(ticks[0], 'time')}")
        return 0 if n == args.count else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="`async for` over a capture handle, beside other asyncio tasks.")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("-i", "--interface", default="lo", help="interface (default: lo)")
    src.add_argument("-r", "--read", metavar="FILE", help="read a savefile instead")
    ap.add_argument("-c", "--count", type=int, default=5, help="live: datagrams to send and read (default: 5)")
    ap.add_argument("--timeout", type=float, default=5.0, help="live: stop after this many seconds")
    ap.add_argument("--port", type=int, default=50018, help="live: UDP port on 127.0.0.1 (default: 50018)")
    args = ap.parse_args(argv)
    require("dpkt")
    if args.read:
        # Opened before asyncio.run(): on a pipe the constructor waits for the savefile header.
        with pcap.pcap(args.read) as p:
            n = asyncio.run(capture(p, 0))
        print(f"{plural(n, 'packet')} from {args.read}")
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except pcap.PcapError as e:         # e.g. capturing without root: one line, not a traceback
        sys.exit(f"async_sniff.py: {e}")
