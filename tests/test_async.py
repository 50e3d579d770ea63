"""``async for ts, buf in p``: savefiles, and live capture on lo that never
blocks the event loop.

Every wait is bounded: asyncio.wait_for around each coroutine, and a timer
that calls breakloop() around each blocking read, so a broken module fails
instead of hanging.
"""
import asyncio
import threading
import time

import pytest

import pcap
from support import breakloop_after, open_lo, run_async, send_udp, udp_frame, udp_payload, write_pcap

LIMIT = 5.0   # seconds any one wait may take before the test fails


# -- savefiles -----------------------------------------------------------------

def test_async_savefile_all_packets(tmp_path):
    pkts = [(1_700_000_000 + i // 1000, (i * 37) % 10**6, udp_frame(b"%d" % i)) for i in range(3000)]
    path = write_pcap(tmp_path / "s.pcap", pkts)

    async def main():
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.create_task(ticker())
        got = []
        with pcap.pcap(str(path), timestamp_in_ns=True) as p:
            async for ts, buf in p:
                got.append((ts, buf))
        done = True
        await t
        return got, ticks

    got, ticks = run_async(main(), LIMIT)
    assert got == [(sec * 10**9 + usec * 1000, data) for sec, usec, data in pkts]
    assert ticks >= 2, "a long savefile never let another task run"


def test_async_savefile_float_timestamps(tmp_path):
    path = write_pcap(tmp_path / "s.pcap", [(1, 500000, b"a"), (2, 250000, b"b")])

    async def main():
        with pcap.pcap(str(path)) as p:
            return [x async for x in p]

    assert run_async(main(), LIMIT) == [(1.5, b"a"), (2.25, b"b")]


def test_async_empty_savefile(tmp_path):
    path = write_pcap(tmp_path / "empty.pcap", [])

    async def main():
        with pcap.pcap(str(path)) as p:
            return [x async for x in p]

    assert run_async(main(), LIMIT) == []


def test_async_savefile_then_sync_iteration_is_exhausted(tmp_path):
    path = write_pcap(tmp_path / "s.pcap", [(1, 0, b"a"), (2, 0, b"b"), (3, 0, b"c")])

    async def first_two(p):
        out = []
        async for ts, buf in p:
            out.append(buf)
            if len(out) == 2:
                break
        return out

    with pcap.pcap(str(path)) as p:
        assert run_async(first_two(p), LIMIT) == [b"a", b"b"]
        assert [buf for _, buf in p] == [b"c"]      # the handle goes on where async for left it


def test_async_savefile_filter(tmp_path):
    path = write_pcap(tmp_path / "s.pcap", [(1, 0, udp_frame(b"x", dport=53)), (2, 0, udp_frame(b"y", dport=54))])

    async def main():
        with pcap.pcap(str(path)) as p:
            p.setfilter("udp dst port 54")
            return [buf async for _, buf in p]

    assert [udp_payload(b) for b in run_async(main(), LIMIT)] == [b"y"]


def test_breakloop_ends_async_for_on_savefile(tmp_path):
    path = write_pcap(tmp_path / "s.pcap", [(i, 0, b"%d" % i) for i in range(10)])

    async def main():
        out = []
        with pcap.pcap(str(path)) as p:
            async for _, buf in p:
                out.append(buf)
                if len(out) == 3:
                    p.breakloop()
        return out

    assert run_async(main(), LIMIT) == [b"0", b"1", b"2"]


def test_aiter_on_closed_handle(tmp_path):
    p = pcap.pcap(str(write_pcap(tmp_path / "s.pcap", [(1, 0, b"a")])))
    p.close()
    with pytest.raises(ValueError, match="closed"):
        p.__aiter__()


# -- live on lo ----------------------------------------------------------------

def test_async_lo_other_tasks_keep_running(live):
    """Packets come 0.25 s apart; a task ticking every 5 ms keeps ticking
    while ``async for`` waits, with no gap anywhere near the wait (a blocking
    read would freeze it for 0.25 s each time)."""
    port = 47701
    payloads = [b"async %d" % i for i in range(4)]

    async def main(p):
        stamps = []
        stop = False

        async def ticker():
            while not stop:
                stamps.append(time.monotonic())
                await asyncio.sleep(0.005)

        async def sender():
            for pl in payloads:
                await asyncio.sleep(0.25)
                send_udp(port, [pl])

        tick_task = asyncio.create_task(ticker())
        send_task = asyncio.create_task(sender())
        got = []
        ticks_at_packet = []
        async for ts, buf in p:
            got.append((ts, udp_payload(buf)))
            ticks_at_packet.append(len(stamps))
            if len(got) == len(payloads):
                break
        stop = True
        await send_task
        await tick_task
        return got, stamps, ticks_at_packet

    with open_lo(port, immediate=True, timestamp_in_ns=True) as p:
        assert p.getnonblock() is False
        got, stamps, ticks_at_packet = run_async(main(p), LIMIT)
        assert p.getnonblock() is False
    assert [pl for _, pl in got] == payloads
    assert all(isinstance(ts, int) for ts, _ in got)
    now_ns = time.time_ns()
    assert all(abs(now_ns - ts) < 60 * 10**9 for ts, _ in got)
    gaps = [b - a for a, b in zip(ticks_at_packet, ticks_at_packet[1:])]
    assert min(gaps) >= 10, f"too few ticks while waiting for packets: {gaps}"
    longest = max(b - a for a, b in zip(stamps, stamps[1:]))
    assert longest < 0.15, f"the event loop was blocked for {longest:.3f} s"


def test_async_lo_nonblocking_handle_keeps_mode(live):
    port = 47702

    async def main(p):
        async def sender():
            await asyncio.sleep(0.05)
            send_udp(port, [b"one", b"two"])
        t = asyncio.create_task(sender())
        out = []
        async for _, buf in p:
            out.append(udp_payload(buf))
            if len(out) == 2:
                break
        await t
        return out

    with open_lo(port, immediate=True, timestamp_in_ns=True) as p:
        p.setnonblock(True)
        assert run_async(main(p), LIMIT) == [b"one", b"two"]
        assert p.getnonblock() is True
        assert p.readpkts() == []             # still nonblocking: nothing pending, no wait


@pytest.mark.parametrize("nonblock", [False, True])
def test_cancel_leaves_handle_usable(live, nonblock):
    port = 47703

    async def main(p):
        loop = asyncio.get_running_loop()
        entered = asyncio.Event()
        got = []

        async def reader():
            entered.set()
            async for _, buf in p:
                got.append(buf)

        task = asyncio.create_task(reader())
        await entered.wait()
        await asyncio.sleep(0.2)           # the reader is now waiting on the fd
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert got == []
        # the fd is no longer watched by the loop
        assert loop.remove_reader(p.fileno()) is False

    with open_lo(port, immediate=True, timestamp_in_ns=True) as p:
        p.setnonblock(nonblock)
        run_async(main(p), LIMIT)
        assert p.getnonblock() is nonblock
        p.setnonblock(False)
        send_udp(port, [b"after cancel"])
        with breakloop_after(p, LIMIT):
            ts, buf = next(p)
        assert udp_payload(buf) == b"after cancel"
        # and async for works again on the same handle
        send_udp(port, [b"again"])

        async def again():
            async for _, buf in p:
                return udp_payload(buf)

        assert run_async(again(), LIMIT) == b"again"


def test_break_out_of_async_for_then_sync_read(live):
    port = 47704
    with open_lo(port, immediate=True, timestamp_in_ns=True) as p:
        send_udp(port, [b"a", b"b"])

        async def one():
            async for _, buf in p:
                return udp_payload(buf)

        assert run_async(one(), LIMIT) == b"a"
        with breakloop_after(p, LIMIT):
            assert udp_payload(next(p)[1]) == b"b"


def test_breakloop_ends_async_for(live):
    """breakloop() from another task while ``async for`` waits ends it."""
    port = 47705

    async def main(p):
        async def stopper():
            await asyncio.sleep(0.2)
            p.breakloop()
        t = asyncio.create_task(stopper())
        start = time.monotonic()
        got = [buf async for _, buf in p]
        await t
        return got, time.monotonic() - start

    with open_lo(port, immediate=True, timestamp_in_ns=True) as p:
        got, took = run_async(main(p), LIMIT)
        assert got == []
        assert 0.15 < took < 2
        # the handle stays usable after that
        send_udp(port, [b"next"])
        with breakloop_after(p, LIMIT):
            assert udp_payload(next(p)[1]) == b"next"


def test_breakloop_from_thread_ends_async_for(live):
    port = 47706

    async def main(p):
        threading.Timer(0.2, p.breakloop).start()
        start = time.monotonic()
        got = [buf async for _, buf in p]
        return got, time.monotonic() - start

    with open_lo(port, immediate=True, timestamp_in_ns=True) as p:
        got, took = run_async(main(p), LIMIT)
    assert got == []
    assert 0.15 < took < 2


def test_breakloop_in_body_ends_async_for(live):
    port = 47707

    async def main(p):
        send_udp(port, [b"1", b"2", b"3"])
        out = []
        async for _, buf in p:
            out.append(udp_payload(buf))
            p.breakloop()
        return out

    with open_lo(port, immediate=True, timestamp_in_ns=True) as p:
        assert run_async(main(p), LIMIT) == [b"1"]
        with breakloop_after(p, LIMIT):
            assert udp_payload(next(p)[1]) == b"2"
