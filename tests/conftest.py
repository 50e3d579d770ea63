"""Shared test helpers: savefile writers independent of the module under
test, and the rule for tests that need capture privileges."""
import faulthandler
import os
import random
import struct
import threading

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition, reason):
    """Skip when ``condition`` is false, with ``reason``; under CI=true fail
    instead, so that a lost privilege never hides untested code."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and this test cannot run: {reason}")
    pytest.skip(reason)


def can_capture():
    """Whether this process may open live interfaces (root or CAP_NET_RAW)."""
    if os.geteuid() == 0:
        return True
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 13))  # CAP_NET_RAW
    except OSError:
        pass
    return False


@pytest.fixture
def watchdog():
    """Use in modules whose tests block on capture handles: a module that
    hangs ends the run with every thread's traceback instead of hanging."""
    faulthandler.dump_traceback_later(60, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def free_port():
    """A UDP port nobody else on lo is likely to use during this test."""
    return random.Random(os.urandom(8)).randrange(20000, 60000)


class breakloop_after:
    """with breakloop_after(p, seconds): call p.breakloop() after that long
    unless the block ended first, so that a blocking read which gets nothing
    ends instead of hanging."""

    def __init__(self, p, seconds):
        self.timer = threading.Timer(seconds, p.breakloop)
        self.timer.daemon = True

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        return False


@pytest.fixture
def live():
    """Use in tests that open live interfaces."""
    need(can_capture(), "live capture needs root or CAP_NET_RAW")


def write_pcap(path, packets, *, byteorder="<", nano=False, linktype=1, snaplen=65535):
    """Write a classic pcap savefile by hand.

    ``packets`` is a list of ``(sec, frac, data)`` or ``(sec, frac, data,
    wirelen)``; ``frac`` is microseconds, or nanoseconds when ``nano``.
    """
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack(byteorder + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for pkt in packets:
            sec, frac, data = pkt[:3]
            wirelen = pkt[3] if len(pkt) > 3 else len(data)
            f.write(struct.pack(byteorder + "IIII", sec, frac, len(data), wirelen))
            f.write(data)
    return path


def write_pcapng(path, packets, *, byteorder="<", linktype=1, tsresol=6):
    """Write a pcapng file (SHB, one IDB, EPBs) by hand.

    ``packets`` is a list of ``(sec, frac, data)``; ``frac`` is in units of
    10**-tsresol seconds.
    """
    def block(btype, body):
        pad = (-len(body)) % 4
        total = 12 + len(body) + pad
        return struct.pack(byteorder + "II", btype, total) + body + b"\0" * pad + struct.pack(byteorder + "I", total)

    shb = struct.pack(byteorder + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    opt = struct.pack(byteorder + "HHB", 9, 1, tsresol) + b"\0" * 3 + struct.pack(byteorder + "HH", 0, 0)
    idb = struct.pack(byteorder + "HHI", linktype, 0, 65535) + opt
    with open(path, "wb") as f:
        f.write(block(0x0A0D0D0A, shb))
        f.write(block(0x00000001, idb))
        for sec, frac, data in packets:
            ts = sec * 10 ** tsresol + frac
            body = struct.pack(byteorder + "IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data
            f.write(block(0x00000006, body + b"\0" * ((-len(data)) % 4)))
    return path


def udp_frame(payload, sport=1234, dport=5678, src="10.0.0.1", dst="10.0.0.2"):
    """An Ethernet/IPv4/UDP frame around ``payload`` (checksums left zero)."""
    import socket
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp
