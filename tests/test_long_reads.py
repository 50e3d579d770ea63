"""Long reads of a big savefile, as users feel them: Ctrl-C lands at once
(also when the read has built a list of millions of packets, whose freeing
alone takes most of a second), and other threads keep running."""
import os
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest

import pcap

PACKETS = 3_000_000


@pytest.fixture(scope="module")
def big_savefile(tmp_path_factory):
    """3,000,000 records of 14 bytes each (an Ethernet header), written fast."""
    path = tmp_path_factory.mktemp("long") / "big.pcap"
    eth = bytes.fromhex("020000000002020000000001" "0800")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        chunk = b"".join(struct.pack("<IIII", 1700000000 + i, i, 14, 60) + eth for i in range(10000))
        for _ in range(PACKETS // 10000):
            f.write(chunk)
    return str(path)


CHILD = r"""
import sys, time, pcap

def read(how):
    p = pcap.pcap(sys.argv[1])
    if how == "readpkts":
        return p.readpkts()
    if how == "readbatch":
        return p.readbatch(10 ** 9)[1]
    if how == "iterate":
        for pkt in p:
            pass
    elif how == "loop":
        p.loop(0, lambda ts, buf: None)
    else:
        for _ in range(100):
            p.close()
            p = pcap.pcap(sys.argv[1])
            p.dispatch(-1)
    return ()

how = sys.argv[2]
t0 = time.time()
first = read(how)
print("calibrated", time.time() - t0, flush=True)
try:
    print("reading", flush=True)
    pkts = read(how)
    print("finished", len(pkts), flush=True)
except KeyboardInterrupt as e:
    caught = time.time()
    print("caught", caught, len(getattr(e, "packets_read", ())), flush=True)
"""


@pytest.mark.parametrize("how", ["readpkts", "readbatch", "iterate", "loop", "count"])
def test_ctrl_c_lands_within_a_quarter_second(big_savefile, how):
    """SIGINT 60% into a read of 3,000,000 packets (timed by a
    first read): the KeyboardInterrupt is caught within 0.25 s.  A
    list-building read hands the packets it had read to the exception
    (packets_read) instead of freeing them first, which takes most of a
    second."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, big_savefile, how], stdout=subprocess.PIPE, text=True)
    try:
        tag, seconds = proc.stdout.readline().split()
        assert tag == "calibrated"
        assert proc.stdout.readline() == "reading\n"
        time.sleep(float(seconds) * 0.6)
        sent = time.time()
        proc.send_signal(signal.SIGINT)
        out = proc.stdout.read()
    finally:
        proc.wait(60)
    assert out.startswith("caught"), f"the read ended before the signal: {out!r}"
    _, caught, kept = out.split()
    assert float(caught) - sent < 0.25
    if how in ("readpkts", "readbatch"):
        # The packets read before the signal, not one batch's: the second read runs slower than the
        # calibrating one (whose 3,000,000 packets are still alive for the collector to walk), 2.5
        # times slower once in CI, so the bound is a twentieth of the file, far above any one fill.
        assert PACKETS // 20 < int(kept) < PACKETS


def test_other_threads_run_during_a_long_read(big_savefile):
    """A thread that ticks every 10 ms keeps ticking while readpkts() reads
    3,000,000 packets with the GIL: no gap between ticks of more than 0.2 s."""
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    t = threading.Thread(target=ticker)
    with pcap.pcap(big_savefile) as p:
        t.start()
        time.sleep(0.05)
        start = time.monotonic()
        pkts = p.readpkts()
        end = time.monotonic()
    stop.set()
    t.join()
    assert len(pkts) == PACKETS
    during = [x for x in ticks if start <= x <= end]
    gaps = [b - a for a, b in zip([start] + during, during + [end])]
    assert end - start > 0.3, "the read was too short to tell"
    assert max(gaps) < 0.2, f"another thread waited {max(gaps):.2f} s for the GIL"
