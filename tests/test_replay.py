"""pcap.replay(): the packets of a savefile, a handle, a batch or an Arrow
table sent onto one end of a veth pair and captured on the other end, in the
test session's network namespace: the exact bytes in order, the counts, the
pace (the gaps on the far end against the file's), Ctrl-C, close() and
breakloop() from another thread, the stop time, a frame over the MTU, and
the arguments refused before anything is opened."""
import ctypes
import math
import os
import signal
import statistics
import threading
import time

import pytest

import pcap

from support import need, notes_during, udp_frame, write_pcap

CLONE_NEWNET = 0x40000000


def open_in_netns(ns, dev, **kw):
    """A capture handle on ``dev`` of the network namespace ``ns``, opened
    by a thread that moved there (setns changes the calling thread only);
    the socket stays on that interface once the thread is gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    got = {}

    def run():
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                got["error"] = OSError(ctypes.get_errno(), "setns")
                return
        finally:
            os.close(fd)
        try:
            got["p"] = pcap.pcap(dev, **kw)
        except BaseException as e:      # handed to the test's thread
            got["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in got:
        raise got["error"]
    return got["p"]


MARK = 0xBEEF


def frames(n, size=0):
    """n distinct UDP frames to the far end (port MARK), i in each payload."""
    return [udp_frame(b"replay %06d " % i + b"x" * size, dport=MARK) for i in range(n)]


def savefile(tmp_path, gaps_us, size=0, name="replay.pcap"):
    """A savefile of len(gaps_us) + 1 frames, the i-th gap in microseconds."""
    t, pkts = 1_700_000_000 * 10**6, []
    fr = frames(len(gaps_us) + 1, size)
    for i, f in enumerate(fr):
        pkts.append((t // 10**6, t % 10**6, f))
        if i < len(gaps_us):
            t += gaps_us[i]
    return str(write_pcap(tmp_path / name, pkts)), fr


class FarEnd:
    """The capture on the veth's end in the namespace: the frames of port MARK."""

    def __init__(self, veth):
        self.p = open_in_netns(veth.ns, veth.ns_if, immediate=True, timeout_ms=100)
        self.p.setfilter(f"udp dst port {MARK}")

    def collect(self, n, limit=10.0):
        """(ns stamps, frames) of up to n frames, within limit seconds."""
        stamps, got = [], []
        end = time.monotonic() + limit
        while len(got) < n and time.monotonic() < end:
            for ts, buf in self.p.readpkts():
                stamps.append(ts)
                got.append(bytes(buf))
        return stamps, got

    def quiet(self, wait=0.3):
        """What else comes within wait seconds (nothing, when all came)."""
        end, more = time.monotonic() + wait, []
        while time.monotonic() < end:
            more += self.p.readpkts()
        return more

    def close(self):
        self.p.close()


@pytest.fixture
def far(veth):
    f = FarEnd(veth)
    yield f
    f.close()


# -- what arrives -------------------------------------------------------------

def test_savefile_at_top_speed_arrives_whole_in_order(veth, far, tmp_path):
    path, sent = savefile(tmp_path, [1000] * 299, size=100)
    r = pcap.replay(path, veth.root_if, topspeed=True)
    _, got = far.collect(len(sent))
    assert got == sent
    assert not far.quiet()
    assert (r.packets, r.bytes, r.failures, r.oversized, r.error, r.stopped) == \
           (300, sum(map(len, sent)), 0, 0, None, "end")
    assert r.seconds < 0.29, "top speed waited for the file's gaps"


def source_of(kind, path, tmp_path):
    if kind == "path":
        return path
    if kind == "pcapng":
        p = pcap.pcap(path)
        ng = str(tmp_path / "replay.pcapng")
        with p.dump_open(ng, format="pcapng") as d:
            p.loop(0, d)
        return ng
    if kind == "handle":
        return pcap.pcap(path)
    if kind == "next_batch":
        return pcap.pcap(path).next_batch()
    if kind == "next_batch_ng":
        return pcap.pcap(path).next_batch(interfaces=True)
    if kind == "readinto":
        records, data = bytearray(100 * pcap.BATCH_RECORD_SIZE), bytearray(1 << 20)
        n = pcap.pcap(path).readinto(records, data)
        return memoryview(records)[:n * pcap.BATCH_RECORD_SIZE], data
    if kind == "arrow":
        pytest.importorskip("pyarrow")
        return pcap.pcap(path).to_arrow()
    if kind == "arrow_batch":
        pytest.importorskip("pyarrow")
        return next(pcap.pcap(path).arrow_batches())
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["path", "pcapng", "handle", "next_batch", "next_batch_ng", "readinto", "arrow",
                                  "arrow_batch"])
def test_every_source_kind(veth, far, tmp_path, kind):
    path, sent = savefile(tmp_path, [200] * 49)
    r = pcap.replay(source_of(kind, path, tmp_path), veth.root_if, speed=4)
    _, got = far.collect(len(sent))
    assert got == sent
    assert (r.packets, r.bytes, r.failures) == (50, sum(map(len, sent)), 0)


def test_loop_sends_the_source_again(veth, far, tmp_path):
    path, sent = savefile(tmp_path, [100] * 9)
    r = pcap.replay(path, veth.root_if, rate=2000, loop=3)
    _, got = far.collect(30)
    assert got == sent * 3
    assert r.packets == 30
    assert r.seconds >= 29 / 2000, "the cadence of a rate goes on across passes"


def test_onto_an_open_handle(veth, far, tmp_path):
    path, sent = savefile(tmp_path, [100] * 9)
    with pcap.pcap(veth.root_if, promisc=False) as out:
        r = pcap.replay(path, out, topspeed=True)
        assert not out.closed
        assert out.stats() is not None      # the handle is free again
    _, got = far.collect(10)
    assert got == sent and r.packets == 10


def test_frame_over_the_mtu_is_reported_and_the_rest_sent(veth, far, tmp_path):
    fr = frames(5)
    fr[2] = udp_frame(b"replay 000002 " + b"y" * 3000, dport=MARK)
    path = str(write_pcap(tmp_path / "big.pcap", [(1_700_000_000, i, f) for i, f in enumerate(fr)]))
    r = pcap.replay(path, veth.root_if)
    _, got = far.collect(4)
    assert got == fr[:2] + fr[3:]
    assert (r.packets, r.failures, r.oversized) == (4, 1, 1)
    assert r.error.startswith(f"packet 2 ({len(fr[2])} bytes) not sent on '{veth.root_if}': ")
    assert "MTU, 1500" in r.error and "Message too long" in r.error


# -- the pace -------------------------------------------------------------------

def gap_errors(stamps, gaps_s, speed=1.0):
    got = [b - a for a, b in zip(stamps, stamps[1:])]
    return [abs(g - w / speed) for g, w in zip(got, gaps_s)]


def test_recorded_pace_on_the_far_end(veth, far, tmp_path):
    """The far end's gaps are the file's: the median off by at most 1 ms
    and the whole within 10% (a loaded 2-core machine delays some
    packets, which the next ones do not inherit)."""
    gaps_us = [2000, 10000, 5000, 30000, 1000] * 8
    path, sent = savefile(tmp_path, gaps_us)
    r = pcap.replay(path, veth.root_if)
    stamps, got = far.collect(len(sent))
    assert got == sent
    errors = gap_errors(stamps, [g / 1e6 for g in gaps_us])
    assert statistics.median(errors) < 0.001, sorted(errors)[-5:]
    whole = stamps[-1] - stamps[0]
    assert abs(whole - sum(gaps_us) / 1e6) < 0.1 * sum(gaps_us) / 1e6
    assert abs(r.seconds - sum(gaps_us) / 1e6) < 0.1 * sum(gaps_us) / 1e6


def test_speed_multiplies_the_pace(veth, far, tmp_path):
    gaps_us = [20000] * 20
    path, sent = savefile(tmp_path, gaps_us)
    pcap.replay(path, veth.root_if, speed=4)
    stamps, got = far.collect(len(sent))
    assert got == sent
    assert statistics.median(gap_errors(stamps, [0.02] * 20, speed=4)) < 0.001
    assert abs((stamps[-1] - stamps[0]) - 0.1) < 0.02


def test_rate_ignores_the_file_gaps(veth, far, tmp_path):
    path, sent = savefile(tmp_path, [1, 500000, 3, 200000] * 5)
    r = pcap.replay(path, veth.root_if, rate=200)
    stamps, got = far.collect(len(sent))
    assert got == sent
    assert statistics.median(gap_errors(stamps, [0.005] * 20)) < 0.001
    assert abs(r.seconds - 20 / 200) < 0.03


def test_gil_is_released_while_pacing(veth, far, tmp_path):
    path, _ = savefile(tmp_path, [20000] * 15)
    r, took, notes = notes_during(lambda: pcap.replay(path, veth.root_if))
    assert r.packets == 16
    assert len(notes) > 100, "another thread hardly ran during a 0.3 s replay"


# -- ending early -----------------------------------------------------------------

def test_ctrl_c_during_a_long_replay(veth, far, tmp_path, restore_alarm):
    """SIGINT during a replay with 1 s gaps is KeyboardInterrupt within a
    slice; it carries what was sent."""
    path, sent = savefile(tmp_path, [1_000_000] * 30)
    main = threading.get_ident()
    threading.Timer(1.5, signal.pthread_kill, (main, signal.SIGINT)).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as e:
        pcap.replay(path, veth.root_if)
    took = time.monotonic() - start
    assert 1.5 <= took < 2.5, took
    assert e.value.replayed.packets == 2
    assert e.value.replayed.stopped == "end"
    _, got = far.collect(2)
    assert got == sent[:2]


def test_custom_sigint_handler_is_called(veth, tmp_path):
    path, _ = savefile(tmp_path, [1_000_000] * 5)
    seen = []

    def handler(signum, frame):
        seen.append(signum)
        raise RuntimeError("handler ran")

    old = signal.signal(signal.SIGINT, handler)
    try:
        threading.Timer(0.3, signal.pthread_kill, (threading.get_ident(), signal.SIGINT)).start()
        with pytest.raises(RuntimeError, match="handler ran") as e:
            pcap.replay(path, veth.root_if)
    finally:
        signal.signal(signal.SIGINT, old)
    assert seen == [signal.SIGINT] and e.value.replayed.packets == 1


@pytest.mark.parametrize("how", ["close", "breakloop"])
def test_close_or_breakloop_from_another_thread(veth, tmp_path, how):
    path, _ = savefile(tmp_path, [1_000_000] * 30)
    out = pcap.pcap(veth.root_if, promisc=False)
    threading.Timer(0.5, getattr(out, how)).start()
    start = time.monotonic()
    r = pcap.replay(path, out)
    assert time.monotonic() - start < 1.5
    assert (r.packets, r.stopped) == (1, "closed" if how == "close" else "breakloop")
    assert out.closed == (how == "close")
    out.close()


def test_closed_handle_is_refused(veth, tmp_path):
    path, _ = savefile(tmp_path, [1])
    out = pcap.pcap(veth.root_if)
    out.close()
    with pytest.raises(ValueError, match="closed pcap handle"):
        pcap.replay(path, out)


def test_duration_stops_it(veth, tmp_path):
    path, _ = savefile(tmp_path, [100000] * 50)
    start = time.monotonic()
    r = pcap.replay(path, veth.root_if, duration=0.35)
    assert time.monotonic() - start < 1.0
    assert (r.packets, r.stopped) == (4, "duration")
    r = pcap.replay(path, veth.root_if, topspeed=True, loop=0, duration=0.2)
    assert r.stopped == "duration" and r.packets > 51


# -- arguments --------------------------------------------------------------------

@pytest.mark.parametrize("kw, error, match", [
    (dict(speed=-1), ValueError, r"speed must be a finite number above 0, not -1"),
    (dict(speed=0), ValueError, r"speed must be a finite number above 0, not 0"),
    (dict(speed=math.nan), ValueError, r"speed must be a finite number above 0, not nan"),
    (dict(speed=math.inf), ValueError, r"speed must be a finite number above 0, not inf"),
    (dict(speed="2"), TypeError, r"speed must be a number, not str"),
    (dict(rate=0), ValueError, r"rate must be a finite number above 0, not 0"),
    (dict(rate=True), TypeError, r"rate must be a number, not bool"),
    (dict(speed=2, rate=10), ValueError, r"give one of speed, rate and topspeed, not speed and rate"),
    (dict(rate=10, topspeed=True), ValueError, r"not rate and topspeed"),
    (dict(topspeed="yes"), TypeError, r"topspeed must be True or False, not str"),
    (dict(loop=-1), ValueError, r"loop must be 0 or more"),
    (dict(loop=1.5), TypeError, r"loop must be an int, not float"),
    (dict(duration=0), ValueError, r"duration must be a finite number above 0, not 0"),
])
def test_bad_pace_arguments(tmp_path, kw, error, match):
    path, _ = savefile(tmp_path, [1])
    with pytest.raises(error, match=match):
        pcap.replay(path, "lo", **kw)


def test_bad_sources_and_devices(tmp_path):
    path, _ = savefile(tmp_path, [1])
    with pytest.raises(TypeError, match="source must be a savefile path, a pcap handle, a .records, data. batch "
                                        "or an Arrow table, not list"):
        pcap.replay([path], "lo")
    with pytest.raises(ValueError, match="loop must be 1 for an open handle"):
        pcap.replay(pcap.pcap(path), "lo", loop=2)
    with pytest.raises(pcap.PcapError, match="it is a savefile: replay sends onto a live interface"):
        pcap.replay(path, pcap.pcap(path))


def test_bad_batches(veth, tmp_path):
    path, _ = savefile(tmp_path, [1] * 3)
    records, data = pcap.pcap(path).next_batch()
    with pytest.raises(ValueError, match="records must be a whole number of 24-byte records, not 23 bytes"):
        pcap.replay((records[:23], data), veth.root_if)
    r = pcap.replay((records, data[:10]), veth.root_if, topspeed=True)
    assert (r.packets, r.failures) == (0, 4)
    assert "not within the batch's data" in r.error


def test_bad_arrow_tables(live, tmp_path):
    pa = pytest.importorskip("pyarrow")
    with pytest.raises(ValueError, match=r"needs a 'data' column; it has \['timestamp'\]"):
        pcap.replay(pa.table({"timestamp": pa.array([1], pa.int64())}), "lo")
    with pytest.raises(TypeError, match="the 'data' column must be binary, not string"):
        pcap.replay(pa.table({"timestamp": pa.array([1], pa.int64()), "data": pa.array(["x"])}), "lo")


def test_handle_free_for_other_threads_between_packets(veth, tmp_path):
    """While the replay waits for a packet due later, another thread's
    stats() on the handle sent on goes through at once."""
    path, _ = savefile(tmp_path, [300_000] * 3)
    out = pcap.pcap(veth.root_if, promisc=False)
    took = []

    def ask():
        time.sleep(0.2)
        start = time.monotonic()
        out.stats()
        took.append(time.monotonic() - start)

    t = threading.Thread(target=ask)
    t.start()
    r = pcap.replay(path, out)
    t.join()
    out.close()
    assert r.packets == 4
    assert took[0] < 0.05, took


def test_breakloop_at_top_speed(veth, tmp_path):
    """breakloop() from another thread ends a replay that never waits."""
    path, _ = savefile(tmp_path, [1] * 999)
    out = pcap.pcap(veth.root_if, promisc=False)
    threading.Timer(0.3, out.breakloop).start()
    start = time.monotonic()
    r = pcap.replay(path, out, topspeed=True, loop=0)
    out.close()
    assert time.monotonic() - start < 1.5
    assert r.stopped == "breakloop" and r.packets > 1000


@pytest.mark.parametrize("kind", ["path", "next_batch", "arrow"])
def test_ctrl_c_at_top_speed_with_short_batches(veth, tmp_path, kind):
    """Ctrl-C ends a replay whose batches each take less than a slice."""
    path, _ = savefile(tmp_path, [1] * 99)
    src = source_of(kind, path, tmp_path)
    threading.Timer(0.3, signal.pthread_kill, (threading.get_ident(), signal.SIGINT)).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as e:
        pcap.replay(src, veth.root_if, topspeed=True, loop=0)
    assert time.monotonic() - start < 1.0
    assert e.value.replayed.packets > 100


def test_bench_replay_rows_smoke(tmp_path):
    """bench/replay.py runs (small sizes, one round) and prints its three
    tables with every frame received."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    need(os.geteuid() == 0, "the replay rows make a network namespace: root")
    need(shutil.which("tcpreplay") and shutil.which("tcpdump"), "tcpreplay or tcpdump is missing "
         "(apt-get install tcpreplay tcpdump)")
    bench = Path(__file__).resolve().parent.parent / "bench" / "replay.py"
    r = subprocess.run([sys.executable, str(bench), "--packets", "2000", "--rounds", "1", "--only", "ours,tcpreplay",
                        "--work-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    top = [line for line in lines if line.startswith("| pcap.replay() | ")]
    assert len(top) == 3, r.stdout
    assert top[0].split(" | ")[3] == "2,000", top[0]        # every frame reached the far end
    assert sum(line.startswith("| tcpreplay 4.") for line in lines) == 3, r.stdout
