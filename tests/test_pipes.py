"""Savefiles from pipes keep every promise a regular file or a live handle
makes: other threads' calls during a read, signals in the middle of a
record, breakloop() and close() from another thread, ``async for``, and
nonblocking reads.  Each test runs on a classic pcap stream (our record
reader) and on a pcapng one (libpcap's reader, fed whole blocks)."""
import asyncio
import os
import pathlib
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pcap
from support import numbered_savefile, run_python

pytestmark = pytest.mark.usefixtures("watchdog")

FORMATS = ["pcap", "pcapng"]


# Packet i holds b"%07d" % i (seq() reads it back) and has timestamp
# 1700000000 + i + (i % 1000) * 1e-6.
SEQUENCE = dict(start=1700000000, payload=b"%07d", wrap=1000)


def sequence_bytes(tmp_path, fmt, n):
    return pathlib.Path(numbered_savefile(tmp_path, n, f"s.{fmt}", fmt=fmt, **SEQUENCE)).read_bytes()


def split(data, fmt):
    """The file header (pcapng: through the interface block) and the rest."""
    if fmt == "pcap":
        head = 24
    else:
        shb = int.from_bytes(data[4:8], "little")
        head = shb + int.from_bytes(data[shb + 4:shb + 8], "little")
    return data[:head], data[head:]


def seq(buf):
    return int(buf[-7:])


# -- another thread's setfilter() during a pipe read --------------------------------

SETFILTER_RACE = r"""
    import os, sys, threading, pcap
    data = open(sys.argv[1], "rb").read()
    expected = int(sys.argv[2])
    for attempt in range(int(sys.argv[3])):
        r, w = os.pipe()
        def writer():
            view = memoryview(data)
            for at in range(0, len(data), 4093):
                os.write(w, view[at:at + 4093])
            os.close(w)
        threading.Thread(target=writer).start()
        p = pcap.pcap(f"/dev/fd/{r}")
        os.close(r)
        done = threading.Event()
        changes = [0]
        def refilter():
            # Every one of these matches every packet of the file.
            while not done.is_set():
                p.setfilter(("udp", "ip", "ether proto 0x0800")[changes[0] % 3])
                changes[0] += 1
        t = threading.Thread(target=refilter)
        t.start()
        got = [int(buf[-7:]) for ts, buf in p]
        done.set()
        t.join()
        p.close()
        assert got == list(range(expected)), (attempt, len(got), got[:3], got[-3:])
        assert changes[0] > 10, changes
    print("OK")
"""


@pytest.mark.parametrize("fmt", FORMATS)
def test_setfilter_racing_a_pipe_read_never_crashes_or_loses_a_packet(tmp_path, fmt):
    path = numbered_savefile(tmp_path, 100000, f"s.{fmt}", fmt=fmt, **SEQUENCE)
    proc = run_python(SETFILTER_RACE, path, 100000, 5, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "OK"


# -- a signal whose handler returns, in the middle of a record ----------------------

SIGNAL_MID_RECORD = r"""
    import signal, sys, time, pcap
    handled = []
    signal.signal(signal.SIGUSR1, lambda *a: handled.append(1))
    p = pcap.pcap("/dev/stdin")
    ts, buf = next(p)
    print("first", int(buf[-7:]), flush=True)
    if sys.argv[1] == "timer":
        signal.signal(signal.SIGALRM, lambda *a: handled.append(1))
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    rest = [(ts, int(buf[-7:])) for ts, buf in p]
    signal.setitimer(signal.ITIMER_REAL, 0)
    print("rest", len(rest), [s for _, s in rest] == list(range(1, len(rest) + 1)),
          all(ts == 1700000000 + s + (s % 1000) / 1e6 for ts, s in rest), len(handled) > 0, flush=True)
"""


def signal_child(tmp_path, fmt, n, mode, feed):
    """Run SIGNAL_MID_RECORD on a savefile of ``n`` packets: the header and
    the first record, then ``feed(child, rest, record_size)`` writes the rest.
    Returns what the child printed after its first packet."""
    data = sequence_bytes(tmp_path, fmt, n)
    head, body = split(data, fmt)
    record = len(body) // n
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SIGNAL_MID_RECORD), mode],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    try:
        child.stdin.write(head + body[:record])
        child.stdin.flush()
        assert child.stdout.readline() == b"first 0\n"
        feed(child, body[record:], record)
        child.stdin.close()
        out = child.stdout.read()
        assert child.wait(10) == 0
        return out
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("fmt", FORMATS)
def test_signal_in_the_middle_of_a_record_leaves_the_stream_intact(tmp_path, fmt):
    def feed(child, rest, record):
        child.stdin.write(rest[:record // 2])      # half of the second record
        child.stdin.flush()
        for _ in range(5):
            time.sleep(0.05)                       # the child waits in the half record
            child.send_signal(signal.SIGUSR1)
        child.stdin.write(rest[record // 2:])

    assert signal_child(tmp_path, fmt, 50, "usr1", feed) == b"rest 49 True True True\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_signal_every_millisecond_while_records_trickle_in(tmp_path, fmt):
    def feed(child, rest, record):
        for at in range(0, len(rest), 7):          # pieces that split every record
            child.stdin.write(rest[at:at + 7])
            child.stdin.flush()
            if at % 700 == 0:
                time.sleep(0.002)

    assert signal_child(tmp_path, fmt, 400, "timer", feed) == b"rest 399 True True True\n"


# -- breakloop() and close() from another thread -----------------------------------

class QuietPipe:
    """A pipe that carries a savefile's header and first packets, then goes
    quiet; .more() sends more packets, and reports whether the reader had
    let go of the pipe (EPIPE)."""

    def __init__(self, tmp_path, fmt, n=3):
        data = sequence_bytes(tmp_path, fmt, 200)
        self.head, body = split(data, fmt)
        self.record = len(body) // 200
        self.body = body
        self.r, self.w = os.pipe()
        os.write(self.w, self.head + body[:n * self.record])
        self.sent = n

    def open(self, **kw):
        p = pcap.pcap(f"/dev/fd/{self.r}", **kw)
        os.close(self.r)
        return p

    def more(self, n=1):
        try:
            os.write(self.w, self.body[self.sent * self.record:(self.sent + n) * self.record])
        except BrokenPipeError:
            return "EPIPE"
        self.sent += n
        return "written"

    def close(self):
        os.close(self.w)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("how", ["loop", "iteration", "dispatch", "readpkts", "count"])
@pytest.mark.parametrize("stop", ["breakloop", "close"])
def test_breakloop_and_close_end_a_pipe_read_at_once(tmp_path, fmt, how, stop):
    pipe = QuietPipe(tmp_path, fmt)
    p = pipe.open()
    seen = []
    threading.Timer(0.2, getattr(p, stop)).start()
    t0 = time.monotonic()
    try:
        if how == "loop":
            p.loop(0, lambda ts, buf: seen.append(seq(buf)))
        elif how == "iteration":
            seen.extend(seq(buf) for ts, buf in p)
        elif how == "dispatch":
            p.dispatch(-1, lambda ts, buf: seen.append(seq(buf)))
        elif how == "readpkts":
            seen.extend(seq(buf) for ts, buf in p.readpkts())
        else:
            p.loop(0)
        outcome = "returned"
    except ValueError as e:
        outcome = str(e)
    elapsed = time.monotonic() - t0
    assert elapsed < 0.2 + 0.3, f"{how} went on {elapsed:.2f} s after {stop}()"
    if stop == "breakloop":
        assert outcome == "returned"
        assert pipe.more(2) == "written"
        p.setnonblock(True)
        assert [seq(buf) for ts, buf in p.readpkts()] == [3, 4], "packets after breakloop() were lost"
        p.close()
    else:
        assert outcome in ("returned", "operation on a closed pcap handle")
        assert p.closed
    # Once closed, the module has let go of the pipe: the writer sees EPIPE.
    assert pipe.more() == "EPIPE"
    pipe.close()
    if how in ("loop", "iteration", "dispatch"):
        assert seen == [0, 1, 2]


# -- async for over a FIFO -----------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_async_for_over_a_fifo_keeps_the_event_loop_ticking(tmp_path, fmt):
    data = sequence_bytes(tmp_path, fmt, 20000)
    head, body = split(data, fmt)
    record = len(body) // 20000
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb", buffering=0) as f:
            f.write(head)
            for i in range(10):            # ten packets, 30 ms apart: the reader waits between them
                f.write(body[i * record:(i + 1) * record])
                time.sleep(0.03)
            f.write(body[10 * record:])    # then a burst of the rest

    threading.Thread(target=writer, daemon=True).start()
    p = pcap.pcap(str(fifo))

    async def main():
        ticks = []
        stop = False

        async def ticker():
            while not stop:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        got = []
        async for ts, buf in p:
            got.append(seq(buf))
        stop = True
        await task
        return got, ticks

    got, ticks = asyncio.run(main())
    p.close()
    assert got == list(range(20000))
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 20
    assert max(gaps) < 0.06, f"the event loop was blocked for {max(gaps):.3f} s"


# -- nonblocking reads on a pipe -------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_nonblocking_reads_on_a_pipe_return_what_has_come(tmp_path, fmt):
    pipe = QuietPipe(tmp_path, fmt, n=3)
    with pipe.open() as p:
        p.setnonblock(True)
        t0 = time.monotonic()
        assert [seq(buf) for ts, buf in p.readpkts()] == [0, 1, 2]
        assert p.readpkts() == []
        assert p.dispatch(-1, lambda ts, buf: None) == 0
        assert p.readbatch()[1] == []
        assert time.monotonic() - t0 < 0.1, "a nonblocking read waited"
        assert select.select([p], [], [], 0)[0] == []
        assert pipe.more(2) == "written"
        assert select.select([p], [], [], 2)[0] == [p]
        assert [seq(buf) for ts, buf in p.readpkts()] == [3, 4]
        # half a record has come: not a packet yet, and nothing lost
        os.write(pipe.w, pipe.body[5 * pipe.record:5 * pipe.record + 10])
        assert p.readpkts() == []
        os.write(pipe.w, pipe.body[5 * pipe.record + 10:6 * pipe.record])
        pipe.sent = 6
        select.select([p], [], [], 2)
        assert [seq(buf) for ts, buf in p.readpkts()] == [5]
        # blocking iteration waits for the next, in nonblocking mode too
        threading.Timer(0.2, pipe.more).start()
        t0 = time.monotonic()
        assert seq(next(p)[1]) == 6
        assert time.monotonic() - t0 > 0.15
        pipe.close()
        assert list(p) == []      # the writer is gone: the end of the file
