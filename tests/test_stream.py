"""Savefiles read from a pipe (a FIFO, or tcpdump -w - into stdin): reads
that wait release the GIL and give way to Ctrl-C."""
import os
import signal
import subprocess
import sys
import threading
import time

import pcap
from support import numbered, write_pcap

PACKETS = numbered(50, start=1700000000, payload=b"pipe %d")


def test_fifo_delivers_every_packet_as_it_comes(tmp_path):
    data = write_pcap(tmp_path / "src.pcap", PACKETS).read_bytes()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    ticks = []

    def writer():
        with open(fifo, "wb") as f:
            f.write(data[:24 + 100])       # header and part of the packets
            f.flush()
            time.sleep(0.3)
            f.write(data[24 + 100:])

    def ticker():
        while len(ticks) < 10:
            ticks.append(time.monotonic())
            time.sleep(0.02)

    threading.Thread(target=writer, daemon=True).start()
    p = pcap.pcap(str(fifo))
    threading.Thread(target=ticker, daemon=True).start()
    got = [(ts, buf) for ts, buf in p]
    assert [buf for _, buf in got] == [pk[2] for pk in PACKETS]
    assert got[7][0] == 1700000007.000007
    assert len(ticks) >= 10, "another thread could not run while the read waited"


def test_ctrl_c_while_a_pipe_is_quiet(tmp_path):
    data = write_pcap(tmp_path / "src.pcap", PACKETS).read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, pcap\n"
         "p = pcap.pcap('/dev/stdin')\n"
         "print('first', next(p)[1][-6:], flush=True)\n"
         "try:\n"
         "    next(p)\n"
         "except KeyboardInterrupt:\n"
         "    print('KeyboardInterrupt', flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    try:
        child.stdin.write(data[:24 + 16 + len(PACKETS[0][2])])   # the header and one packet, then quiet
        child.stdin.flush()
        assert child.stdout.readline().startswith(b"first")
        time.sleep(0.2)
        t0 = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=5)
        assert time.monotonic() - t0 < 0.5
        assert out.strip() == b"KeyboardInterrupt"
    finally:
        child.kill()
        child.wait()


def test_a_handler_that_returns_lets_the_pipe_read_go_on(tmp_path):
    data = write_pcap(tmp_path / "src.pcap", PACKETS).read_bytes()
    first = 24 + 16 + len(PACKETS[0][2])
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import signal, pcap\n"
         "signal.signal(signal.SIGINT, lambda *a: print('handler', flush=True))\n"
         "p = pcap.pcap('/dev/stdin')\n"
         "print('first', flush=True)\n"
         "next(p)\n"
         "print('rest', len(list(p)), flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        child.stdin.write(data[:first])
        child.stdin.flush()
        assert child.stdout.readline() == b"first\n"
        time.sleep(0.3)                      # blocked in the read of the second record
        child.send_signal(signal.SIGINT)
        time.sleep(0.2)
        child.stdin.write(data[first:])
        child.stdin.close()
        assert child.wait(5) == 0
        assert child.stdout.read().split(b"\n")[-3:] == [b"handler", b"rest %d" % (len(PACKETS) - 1), b""]
    finally:
        child.kill()
        child.wait()
