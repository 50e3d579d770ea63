"""Handles (issue 3): closed handles, context manager, garbage collection,
threads, and resources (file descriptors, memory).

What could crash the interpreter runs in a child process, so that a crash is
a failed test and not a lost run.
"""
import asyncio
import os

import pytest

import pcap
from support import check_child, free_port, numbered_savefile, run_python, udp_frame, write_pcap, write_pcapng

pytestmark = pytest.mark.usefixtures("watchdog")


# -- closed handles --------------------------------------------------------------

CLOSED_CALLS = {
    "next": lambda p, tmp: next(p),
    "for": lambda p, tmp: [x for x in p],
    "dispatch": lambda p, tmp: p.dispatch(-1, lambda ts, pkt: None),
    "dispatch-count": lambda p, tmp: p.dispatch(-1),
    "loop": lambda p, tmp: p.loop(-1, lambda ts, pkt: None),
    "loop-count": lambda p, tmp: p.loop(0),
    "readpkts": lambda p, tmp: p.readpkts(),
    "breakloop": lambda p, tmp: p.breakloop(),
    "setfilter": lambda p, tmp: p.setfilter("udp"),
    "setfilter-invalid": lambda p, tmp: p.setfilter("no such filter ((("),
    "setdirection": lambda p, tmp: p.setdirection(pcap.PCAP_D_IN),
    "setnonblock": lambda p, tmp: p.setnonblock(True),
    "getnonblock": lambda p, tmp: p.getnonblock(),
    "datalink": lambda p, tmp: p.datalink(),
    "datalinks": lambda p, tmp: p.datalinks(),
    "setdatalink": lambda p, tmp: p.setdatalink(pcap.DLT_EN10MB),
    "sendpacket": lambda p, tmp: p.sendpacket(udp_frame(b"closed")),
    "geterr": lambda p, tmp: p.geterr(),
    "stats": lambda p, tmp: p.stats(),
    "dump_open": lambda p, tmp: p.dump_open(str(tmp / "out.pcap")),
    "fileno": lambda p, tmp: p.fileno(),
    "fd": lambda p, tmp: p.fd,
    "snaplen": lambda p, tmp: p.snaplen,
    "enter": lambda p, tmp: p.__enter__(),
    "with": lambda p, tmp: _with(p),
    "aiter": lambda p, tmp: asyncio.run(_anext(p)),
}


def _with(p):
    with p:
        pass


async def _anext(p):
    async for item in p:
        return item


@pytest.fixture(params=["savefile", "live"])
def closed_handle(request, tmp_path):
    if request.param == "live":
        request.getfixturevalue("live")
        p = pcap.pcap("lo", timeout_ms=50)
    else:
        p = pcap.pcap(numbered_savefile(tmp_path))
    p.close()
    return p


@pytest.mark.parametrize("call", sorted(CLOSED_CALLS))
def test_closed_handle_raises_valueerror(closed_handle, tmp_path, call):
    with pytest.raises(ValueError, match="closed"):
        CLOSED_CALLS[call](closed_handle, tmp_path)
    assert closed_handle.closed
    assert not (tmp_path / "out.pcap").exists()


def test_closed_handle_after_use(tmp_path):
    p = pcap.pcap(numbered_savefile(tmp_path))
    assert next(p)[0] == 1000.0
    p.close()
    with pytest.raises(ValueError, match="closed pcap handle"):
        next(p)
    with pytest.raises(ValueError, match="closed pcap handle"):
        p.readpkts()
    assert "closed" in repr(p)


def test_close_twice(tmp_path):
    p = pcap.pcap(numbered_savefile(tmp_path))
    assert p.closed is False
    p.close()
    assert p.close() is None
    assert p.closed is True


def test_close_twice_live(live):
    p = pcap.pcap("lo")
    fd = p.fileno()
    p.close()
    p.close()
    assert p.closed
    with pytest.raises(OSError):
        os.fstat(fd)


def test_context_manager_closes(tmp_path):
    with pcap.pcap(numbered_savefile(tmp_path)) as p:
        assert isinstance(p, pcap.pcap)
        assert not p.closed
        assert len(list(p)) == 5
    assert p.closed
    with pytest.raises(ValueError, match="closed"):
        p.readpkts()


def test_context_manager_closes_on_exception(tmp_path):
    class Boom(Exception):
        pass

    with pytest.raises(Boom, match="inside"):
        with pcap.pcap(numbered_savefile(tmp_path)) as p:
            next(p)
            raise Boom("inside")
    assert p.closed


def test_context_manager_releases_live_fd(live):
    with pcap.pcap("lo") as p:
        fd = p.fileno()
        os.fstat(fd)
    with pytest.raises(OSError):
        os.fstat(fd)


CLOSE_IN_CALLBACK = r"""
    import sys, pcap
    p = pcap.pcap(sys.argv[1])
    calls = []
    def cb(ts, pkt):
        calls.append(ts)
        p.close()
        # the handle is closed for Python from here, even inside the callback
        assert p.closed
        try:
            p.readpkts()
        except ValueError:
            calls.append("ValueError")
    try:
        r = getattr(p, sys.argv[2])(-1, cb)
        outcome = f"returned {r}"
    except ValueError as e:
        outcome = f"ValueError {e}"
    print(calls)
    print(p.closed)
    try:
        next(p)
    except ValueError as e:
        print("after:", e)
    import gc; gc.collect()
    print("OK")
"""


@pytest.mark.parametrize("method", ["loop", "dispatch"])
def test_close_inside_callback(tmp_path, method):
    out = check_child(run_python(CLOSE_IN_CALLBACK, numbered_savefile(tmp_path, 20), method)).splitlines()
    assert out[0] == "[1000.0, 'ValueError']", "more callbacks ran after close()"
    assert out[1:] == ["True", "after: operation on a closed pcap handle", "OK"]


CLOSE_WHILE_WAITING = r"""
    import sys, threading, time, pcap
    mode = sys.argv[2]
    p = pcap.pcap("lo")
    p.setfilter("udp dst port " + sys.argv[1])
    threading.Timer(0.3, p.close).start()
    t0 = time.monotonic()
    try:
        if mode == "next":
            next(p)
        elif mode == "loop":
            p.loop(-1, lambda ts, pkt: None)
        elif mode == "dispatch":
            p.dispatch(-1, lambda ts, pkt: None)
        else:
            p.readpkts()
        print("returned")
    except ValueError as e:
        print("ValueError", e)
    print(round(time.monotonic() - t0, 3))
    print(p.closed)
"""


@pytest.mark.parametrize("mode", ["next", "loop", "dispatch", "readpkts"])
def test_close_from_other_thread_while_waiting(live, mode):
    out = check_child(run_python(CLOSE_WHILE_WAITING, free_port(), mode, timeout=10)).splitlines()
    assert out[0] in ("returned", "ValueError operation on a closed pcap handle"), out
    assert float(out[1]) < 0.3 + 0.3, "the wait did not notice close()"
    assert out[2] == "True"


CLOSE_DURING_CALLBACK_OTHER_THREAD = r"""
    import os, sys, threading, time, pcap
    p = pcap.pcap(sys.argv[1])
    fd_before = len(os.listdir("/proc/self/fd"))
    calls = []
    def cb(ts, pkt):
        calls.append(ts)
        time.sleep(0.01)       # drops the GIL inside pcap_dispatch
    threading.Timer(0.1, p.close).start()
    try:
        r = p.loop(-1, cb)
    except ValueError as e:
        r = str(e)
    time.sleep(0.05)
    print(len(calls), p.closed, fd_before - len(os.listdir("/proc/self/fd")))
"""


def test_close_from_other_thread_during_callback(tmp_path):
    """close() from another thread while a callback runs inside
    pcap_dispatch: deferred until the dispatch is out, no crash, no further
    callbacks once closed, and the file is released."""
    out = check_child(run_python(CLOSE_DURING_CALLBACK_OTHER_THREAD, numbered_savefile(tmp_path, 300), timeout=20))
    ncalls, closed, released = out.split()
    assert 1 <= int(ncalls) < 100, "callbacks went on after close()"
    assert closed == "True"
    assert int(released) == 1, "the savefile was not closed"


# -- garbage collection ------------------------------------------------------------

GC_CHILD = r"""
    import gc, os, sys, pcap
    def nfd():
        return len(os.listdir("/proc/self/fd"))
    def open_some(n):
        for i in range(n):
            if sys.argv[1] == "live":
                p = pcap.pcap("lo", timeout_ms=10)
                p.setfilter("udp port 9")
            else:
                p = pcap.pcap(sys.argv[2])
                next(p)
            # no close(): dropped here
    open_some(3)        # warm up: lazy imports and the like
    gc.collect()
    before = nfd()
    open_some(int(sys.argv[3]))
    gc.collect()
    print(before, nfd())
"""


@pytest.mark.parametrize("kind, n", [("savefile", 2000), ("live", 30)])
def test_garbage_collected_handle_frees_fd(tmp_path, request, kind, n):
    if kind == "live":
        request.getfixturevalue("live")
    before, after = map(int, check_child(run_python(GC_CHILD, kind, numbered_savefile(tmp_path), n)).split())
    assert after == before


def test_garbage_collected_handle_in_cycle_frees_fd(tmp_path):
    code = r"""
        import gc, os, sys, pcap
        def nfd():
            return len(os.listdir("/proc/self/fd"))
        gc.collect()
        before = nfd()
        for i in range(500):
            p = pcap.pcap(sys.argv[1])
            holder = [p]
            holder.append(holder)      # a cycle that reaches the handle
            cb = lambda ts, pkt, h=holder: None
            holder.append(cb)
            p.dispatch(1, cb)
            del p, holder, cb
        gc.collect()
        print(before, nfd())
    """
    before, after = map(int, check_child(run_python(code, numbered_savefile(tmp_path))).split())
    assert after == before


# -- threads -----------------------------------------------------------------

SAVEFILE_THREADS = r"""
    import struct, sys, threading, pcap
    p = pcap.pcap(sys.argv[1])
    nthreads, how = int(sys.argv[2]), sys.argv[3]
    got = [[] for _ in range(nthreads)]
    errors = []
    start = threading.Barrier(nthreads)
    def worker(i):
        try:
            start.wait()
            if how == "iter":
                for ts, pkt in p:
                    got[i].append(pkt[-4:])
            elif how == "readpkts":
                while True:
                    r = p.readpkts(7)
                    if not r:
                        break
                    got[i].extend(pkt[-4:] for ts, pkt in r)
            elif how == "readinto":
                records, data = bytearray(24 * 5), bytearray(1 << 17)
                while True:
                    k = p.readinto(records, data)
                    if not k:
                        break
                    for j in range(k):
                        _, caplen, _, off = struct.unpack_from(pcap.BATCH_RECORD_FORMAT, records, 24 * j)
                        got[i].append(bytes(data[off + caplen - 4:off + caplen]))
            elif how == "mixed":
                if i % 4 == 3:
                    while True:
                        recs, data = p.next_batch(4)
                        if not recs:
                            break
                        for _, caplen, _, off in struct.iter_unpack(pcap.BATCH_RECORD_FORMAT, recs):
                            got[i].append(bytes(data[off + caplen - 4:off + caplen]))
                elif i % 3 == 0:
                    for ts, pkt in p:
                        got[i].append(pkt[-4:])
                elif i % 3 == 1:
                    while p.dispatch(5, lambda ts, pkt: got[i].append(pkt[-4:])) > 0:
                        pass
                else:
                    while True:
                        r = p.readpkts(3)
                        if not r:
                            break
                        got[i].extend(pkt[-4:] for ts, pkt in r)
        except BaseException as e:
            errors.append(repr(e))
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    for t in ts: t.start()
    for t in ts: t.join()
    allpk = [int.from_bytes(x, "big") for g in got for x in g]
    print(len(allpk), len(set(allpk)), min(allpk), max(allpk))
    print(" ".join(str(len(g)) for g in got))
    print(errors)
"""


@pytest.mark.parametrize("nthreads, how", [(2, "iter"), (4, "iter"), (2, "readpkts"), (3, "readinto"),
                                           (8, "mixed")])
def test_threads_share_savefile_each_packet_once(tmp_path, nthreads, how):
    n = 30000
    path = write_pcap(tmp_path / "many.pcap",
                      [(i // 1000, i % 1000, udp_frame(i.to_bytes(4, "big"))) for i in range(n)])
    out = check_child(run_python(SAVEFILE_THREADS, path, nthreads, how, timeout=60)).splitlines()
    assert out[2] == "[]", out
    assert out[0] == f"{n} {n} 0 {n - 1}", f"packets lost or duplicated: {out}"
    if how == "iter" and nthreads == 2:
        # both threads actually took part (iteration interleaves at least once)
        counts = list(map(int, out[1].split()))
        assert sum(counts) == n


SHARED_LIVE = r"""
    import os, random, socket, sys, threading, time, pcap
    port = int(sys.argv[1])
    p = pcap.pcap("lo", timeout_ms=20)
    p.setfilter(f"udp dst port {port}")
    records, data = bytearray(24 * 64), bytearray(1 << 20)
    stop = threading.Event()
    unexpected = []
    counts = {}
    def guard(name, fn):
        def run():
            n = 0
            while not stop.is_set():
                try:
                    fn()
                except ValueError as e:
                    if "closed" not in str(e):
                        unexpected.append((name, repr(e)))
                    if p.closed:
                        break
                except RuntimeError as e:
                    unexpected.append((name, repr(e)))
                except BaseException as e:
                    unexpected.append((name, repr(e)))
                n += 1
            counts[name] = n
        return threading.Thread(target=run, name=name)
    def iterate():
        for i, item in enumerate(p):
            if i > 3:
                break
    def nb_toggle():
        p.setnonblock(random.random() < 0.5)
    def send():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(20):
            s.sendto(b"t%d" % i, ("127.0.0.1", port))
        s.close()
        time.sleep(0.005)
    def refilter():
        p.setfilter(f"udp dst port {port}")
        time.sleep(0.01)
    def brk():
        p.breakloop()
        time.sleep(0.02)
    threads = [
        guard("iter", iterate),
        guard("dispatch", lambda: p.dispatch(-1, lambda ts, pkt: None)),
        guard("dispatch-count", lambda: p.dispatch(10)),
        guard("loop", lambda: p.loop(5, lambda ts, pkt: None)),
        guard("readpkts", lambda: p.readpkts()),
        guard("readinto", lambda: p.readinto(records, data)),
        guard("next_batch", lambda: p.next_batch(8)),
        guard("stats", lambda: (p.stats(), p.fileno(), p.getnonblock(), p.datalink(), p.snaplen)),
        guard("setnonblock", nb_toggle),
        guard("setfilter", refilter),
        guard("breakloop", brk),
        guard("send", send),
    ]
    for t in threads: t.start()
    time.sleep(1.5)
    p.close()            # while the others are still at it
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(5)
    alive = [t.name for t in threads if t.is_alive()]
    print("alive", alive)
    print("unexpected", unexpected[:5])
    print("counts", sorted(counts.items()))
    os._exit(0 if not alive else 1)
"""


def test_one_live_handle_many_threads_never_crashes(live):
    proc = run_python(SHARED_LIVE, free_port(), timeout=15)
    out = check_child(proc).splitlines()
    assert out[0] == "alive []", out
    assert out[1] == "unexpected []", out


SETNONBLOCK_DURING_LOOP = r"""
    import sys, threading, time, pcap
    p = pcap.pcap("lo")
    p.setfilter("udp dst port " + sys.argv[1])
    threading.Timer(0.2, p.setnonblock, (True,)).start()
    threading.Timer(0.5, p.breakloop).start()
    t0 = time.monotonic()
    n = getattr(p, sys.argv[2])(-1, lambda ts, pkt: None)
    print(n, round(time.monotonic() - t0, 3))
"""


@pytest.mark.parametrize("method", ["loop", "dispatch"])
def test_setnonblock_from_other_thread_during_wait(live, method):
    """Another thread switching the handle to nonblocking mode while loop() or
    dispatch() waits must not make the waiter spin with the GIL held (which
    freezes every other thread, breakloop() included)."""
    proc = run_python(SETNONBLOCK_DURING_LOOP, free_port(), method, timeout=10)
    n, elapsed = check_child(proc).split()
    assert int(n) == 0
    assert float(elapsed) < 1.5


SHARED_FILE = r"""
    import os, sys, threading, pcap
    if sys.argv[2] == "pipe":
        # The file through a pipe that a thread feeds; the writer stops when
        # close() lets go of the pipe.
        data = open(sys.argv[1], "rb").read()
        r, w = os.pipe()
        def feed():
            try:
                for at in range(0, len(data), 4096):
                    os.write(w, data[at:at + 4096])
            except BrokenPipeError:
                return
            finally:
                os.close(w)
        threading.Thread(target=feed, daemon=True).start()
        p = pcap.pcap(f"/dev/fd/{r}")
        os.close(r)
    else:
        p = pcap.pcap(sys.argv[1])
    stop = threading.Event()
    unexpected = []
    def guard(fn):
        def run():
            while not stop.is_set():
                try:
                    fn()
                except ValueError as e:
                    if "closed" not in str(e):
                        unexpected.append(repr(e))
                    break
                except BaseException as e:
                    unexpected.append(repr(e))
        return threading.Thread(target=run)
    fns = [
        lambda: next(p, None),
        lambda: p.readpkts(3),
        lambda: p.dispatch(2, lambda ts, pkt: None),
        lambda: p.loop(2, lambda ts, pkt: None),
        lambda: p.setfilter("udp"),
        lambda: p.breakloop(),
    ]
    threads = [guard(fn) for fn in fns]
    for t in threads: t.start()
    import time; time.sleep(0.5)
    p.close()
    stop.set()
    for t in threads: t.join(5)
    print([t.is_alive() for t in threads].count(True), unexpected[:5])
"""


@pytest.mark.parametrize("how, fmt", [("file", "pcap"), ("pipe", "pcap"), ("pipe", "pcapng")])
def test_one_savefile_handle_many_threads_never_crashes(tmp_path, how, fmt):
    packets = [(i, 0, udp_frame(b"%06d" % i)) for i in range(200000)]
    if fmt == "pcap":
        path = write_pcap(tmp_path / "big.pcap", packets)
    else:
        path = write_pcapng(tmp_path / "big.pcapng", packets)
    out = check_child(run_python(SHARED_FILE, path, how, timeout=30)).strip()
    assert out == "0 []"


# -- resources -----------------------------------------------------------------

RSS_CHILD = r"""
    import gc, sys, pcap
    def rss_kb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    path, how = sys.argv[1], sys.argv[2]
    out = []
    for rnd in range(3):
        p = pcap.pcap(path)
        n = 0
        if how == "iter":
            for ts, pkt in p:
                n += 1
        elif how == "readpkts":
            while True:
                r = p.readpkts(10000)
                if not r:
                    break
                n += len(r)
        elif how == "dispatch":
            def cb(ts, pkt):
                pass
            n = p.loop(-1, cb)
        p.close()
        del p
        gc.collect()
        out.append((n, rss_kb()))
    print(" ".join(f"{n}:{r}" for n, r in out))
"""

MILLION = 1_000_000


@pytest.fixture(scope="module")
def million_pcap(tmp_path_factory):
    """A savefile of a million 14-byte packets, written in one go."""
    import struct
    path = tmp_path_factory.mktemp("million") / "million.pcap"
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        rec = struct.pack("<IIII", 1, 0, 14, 14) + b"\x02" * 12 + b"\x08\x00"
        for _ in range(10):
            f.write(rec * (MILLION // 10))
    return str(path)


@pytest.mark.parametrize("how", ["iter", "dispatch"])
def test_million_packets_three_times_memory_flat(million_pcap, how):
    out = check_child(run_python(RSS_CHILD, million_pcap, how, timeout=120)).split()
    rounds = [tuple(map(int, x.split(":"))) for x in out]
    assert [n for n, rss in rounds] == [MILLION] * 3
    first, third = rounds[0][1], rounds[2][1]
    # a leak of one small object per packet would be >= 30 MB per round
    assert third - first < 8 * 1024, f"RSS grew from {first} kB to {third} kB"


FD_CHILD = r"""
    import os, sys, pcap
    def nfd():
        return len(os.listdir("/proc/self/fd"))
    path, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def one():
        if kind == "live":
            p = pcap.pcap("lo", timeout_ms=10)
        else:
            p = pcap.pcap(path)
        p.fileno() if kind == "live" else next(p)
        p.close()
    one()
    before = nfd()
    for i in range(n):
        one()
    print(before, nfd())
"""


def test_open_close_20000_savefile_handles_no_fd_left(tmp_path):
    before, after = map(int, check_child(run_python(FD_CHILD, numbered_savefile(tmp_path), "savefile", 20000,
                                                   timeout=60)).split())
    assert after == before


def test_open_close_live_handles_no_fd_left(live, tmp_path):
    # a live open costs tens of milliseconds (ring buffer set-up): fewer of them
    before, after = map(int, check_child(run_python(FD_CHILD, numbered_savefile(tmp_path), "live", 60,
                                                   timeout=60)).split())
    assert after == before


def test_open_failures_leave_no_fd(tmp_path):
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 3)
    code = r"""
        import os, sys, pcap
        def nfd():
            return len(os.listdir("/proc/self/fd"))
        def fail(name):
            try:
                pcap.pcap(name)
            except OSError:
                return
            raise SystemExit(f"{name} opened")
        for name in sys.argv[1:]:
            fail(name)
        before = nfd()
        for i in range(2000):
            for name in sys.argv[1:]:
                fail(name)
        print(before, nfd())
    """
    text = tmp_path / "text.pcap"
    text.write_text("not a savefile\n" * 10)
    before, after = map(int, check_child(run_python(code, garbage, text, tmp_path / "missing.pcap")).split())
    assert after == before
