#!/usr/bin/env python3
"""Show which device pcap.lookupdev() picks, and why.

lookupdev() walks pcap_findalldevs() in order and returns the first device
that is up and is not a loopback interface: on a typical Linux machine that
is eth0 (or enp0s3, wlan0...), never lo.  pcap.pcap() with no name opens that
device, so a program that sends test traffic to 127.0.0.1 and captures with
pcap.pcap() sees nothing: the traffic is on lo.  Name the device instead:
pcap.pcap("lo").
"""
from __future__ import annotations

import argparse
import sys

import pcap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Show the device lookupdev() picks and the reason.")
    ap.parse_args(argv)

    try:
        picked = pcap.lookupdev()
    except pcap.PcapError as e:          # no device is up apart from loopback
        print(f"lookupdev() failed: {e}")
        return 1

    print("devices in pcap_findalldevs() order:")
    seen_pick = False
    for dev in pcap.interfaces():
        state = f"{'up' if dev.is_up else 'down'}{', loopback' if dev.is_loopback else ''}"
        if dev.name == picked:
            why = "<- lookupdev(): the first one that is up and not loopback"
            seen_pick = True
        elif seen_pick:
            why = ""
        elif not dev.is_up:
            why = "skipped: down"
        else:
            why = "skipped: loopback"
        print(f"  {dev.name:18} {state:15} {why}".rstrip())
    print(f"lookupdev() -> {picked!r}")
    print(f"pcap.pcap() with no name opens {picked!r}; to see traffic sent to 127.0.0.1 open 'lo'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
