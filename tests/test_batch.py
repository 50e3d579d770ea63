"""readinto() and next_batch(): packets into two buffers, no Python object
per packet, with every field iteration gives (and the wire length)."""
import importlib.util
import mmap
import os
import struct
import threading
import time
from multiprocessing import shared_memory

import pytest

import pcap
from support import (free_port, need, notes_during, numbered, open_lo, packets, read_source, send_udp, udp_frame,
                     unpack_records, write_pcap, write_pcapng, write_savefile)

pytestmark = pytest.mark.usefixtures("watchdog")


def cut_packets(n):
    """n packets, every 4th with a wire length over its length."""
    return packets(n, size=70, cut_every=4)


def write(path, pkts, byteorder="<", **kw):
    return write_savefile(path, {"<": "pcap-le-us", ">": "pcap-be-us"}[byteorder], pkts, **kw)


def test_record_layout_is_documented():
    assert struct.calcsize(pcap.BATCH_RECORD_FORMAT) == pcap.BATCH_RECORD_SIZE == 24
    assert [name for name, _ in pcap.BATCH_RECORD_DTYPE] == ["timestamp_ns", "caplen", "wirelen", "offset"]


@pytest.mark.parametrize("buffers", ["bytearray", "mmap", "shared_memory"])
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_readinto_gives_what_iteration_gives(tmp_path, buffers, byteorder):
    path = str(write(tmp_path / "f.pcap", cut_packets(3000), byteorder=byteorder, snaplen=2000))
    if buffers == "bytearray":
        records, data, keep = bytearray(24 * 100), bytearray(20000), None
    elif buffers == "mmap":
        records, data = mmap.mmap(-1, 24 * 100), mmap.mmap(-1, 20000)
        keep = None
    else:
        keep = [shared_memory.SharedMemory(create=True, size=24 * 100), shared_memory.SharedMemory(create=True, size=20000)]
        records, data = keep[0].buf, keep[1].buf
    got = []
    try:
        with pcap.pcap(path) as p:
            while True:
                n = p.readinto(records, data)
                if n == 0:
                    break
                assert n <= 100
                got += unpack_records(records, data, n)
    finally:
        if keep:
            del records, data
            for shm in keep:
                shm.close()
                shm.unlink()
    assert got == read_source(path)
    assert any(w > len(b) for _, b, w in got), "no record with a wire length over its bytes"


def test_numpy_views_the_records_without_copying(tmp_path):
    try:
        import numpy as np
    except ImportError:
        np = None
    need(np is not None, "numpy is not installed (the test extra installs it)")
    path = str(write(tmp_path / "f.pcap", cut_packets(500)))
    records = np.zeros(1000, dtype=np.dtype(pcap.BATCH_RECORD_DTYPE))
    data = np.zeros(1 << 20, dtype=np.uint8)
    with pcap.pcap(path) as p:
        n = p.readinto(records, data)
    view = records[:n]
    want = read_source(path)
    assert n == len(want) == 500
    assert view["timestamp_ns"].tolist() == [ts for ts, _, _ in want]
    assert view["wirelen"].tolist() == [w for _, _, w in want]
    last = view[-1]
    assert bytes(data[last["offset"]:last["offset"] + last["caplen"]]) == want[-1][1]


def test_next_batch_and_the_filter(tmp_path):
    pkts = cut_packets(200) + [(1800000000, 5000, b"\x02" * 12 + b"\x08\x06" + b"\0" * 28, None)]   # one ARP frame
    path = str(write(tmp_path / "f.pcap", pkts))
    with pcap.pcap(path) as p:
        p.setfilter("arp")
        records, data = p.next_batch()
        assert len(records) == 24 and len(data) == 42
        assert p.next_batch() == (bytearray(), bytearray())
    with pcap.pcap(path) as p:
        got = []
        while True:
            records, data = p.next_batch(cnt=7, max_bytes=1000)
            if not records:
                break
            assert len(records) <= 7 * 24
            got += unpack_records(records, data, len(records) // 24)
    assert got == read_source(path)


def test_pcapng_through_a_pipe(tmp_path):
    pkts = numbered(300, start=1700000000, payload=b"ng %d")
    path = write_pcapng(tmp_path / "f.pcapng", pkts)
    raw = path.read_bytes()
    r, w = os.pipe()

    def feed():
        for at in range(0, len(raw), 333):
            os.write(w, raw[at:at + 333])
            time.sleep(0.001)
        os.close(w)

    threading.Thread(target=feed).start()
    got = []
    with pcap.pcap(f"/dev/fd/{r}") as p:
        os.close(r)
        records, data = bytearray(24 * 50), bytearray(70000)
        while True:
            n = p.readinto(records, data)
            if n == 0:
                break
            got += unpack_records(records, data, n)
    assert [b for _, b, _ in got] == [d for _, _, d in pkts]


def test_damaged_file_returns_the_packets_before_then_raises(tmp_path):
    path = write(tmp_path / "f.pcap", cut_packets(10))
    path.write_bytes(path.read_bytes()[:-3])
    records, data = bytearray(24 * 100), bytearray(1 << 17)
    with pcap.pcap(str(path)) as p:
        assert p.readinto(records, data) == 9
        with pytest.raises(pcap.PcapError, match="truncated dump file"):
            p.readinto(records, data)


def test_bad_buffers(tmp_path):
    path = str(write(tmp_path / "f.pcap", cut_packets(3)))
    with pcap.pcap(path) as p:
        with pytest.raises((BufferError, TypeError)):
            p.readinto(b"\0" * 240, bytearray(1 << 17))
        with pytest.raises(ValueError, match="at least one packet of the snaplen, 65535 bytes"):
            p.readinto(bytearray(240), bytearray(100))
        with pytest.raises(ValueError, match="cnt must be 1 or more"):
            p.next_batch(0)
        assert p.readinto(bytearray(10), bytearray(1 << 17)) == 0      # no room for one record
        assert len(p.readpkts()) == 3, "a read with no room took packets"


def test_live_readinto_on_lo(live):
    port = free_port()
    with open_lo(port, timeout_ms=1000) as p:
        send_udp(port, [b"batch %d" % i for i in range(5)])
        records, data = bytearray(24 * 100), bytearray(1 << 18)
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 5 and time.monotonic() < deadline:
            n = p.readinto(records, data)
            got += unpack_records(records, data, n)
    assert [b[42:] for _, b, _ in got] == [b"batch %d" % i for i in range(5)]
    assert all(abs(ts - time.time_ns()) < 60 * 10**9 for ts, _, _ in got)


def test_readinto_lets_other_threads_run(tmp_path):
    # The fill runs without the GIL: a thread that notes the time in a loop
    # gets to run while one readinto() call fills 500,000 records (a fill
    # that held the GIL would leave it no note at all).
    # (Four fills, the notes of all counted: on a machine whose cores are
    # busy with other work, the noting thread may wait out one short fill.)
    n = 500_000
    path = write_pcap(tmp_path / "big.pcap", [(i // 1000, i % 1000, b"x" * 20) for i in range(n)])
    records, data = bytearray(24 * n), bytearray(20 * n + 65535)   # room for a snaplen at the end
    notes, fills = 0, 0.0
    for _ in range(4):
        with pcap.pcap(str(path)) as p:
            got, took, inside = notes_during(lambda: p.readinto(records, data))
        assert got == n
        notes += len(inside)
        fills += took
    assert fills > 0.02, "the fills were too quick to tell"
    assert notes > 10, f"{notes} notes in the {1e3 * fills:.1f} ms of four fills"


def test_setfilter_and_stats_from_another_thread_during_fills(tmp_path):
    # Calls from other threads wait while a fill runs without the GIL, then
    # take effect between two fills: each batch is filtered by one program.
    n = 200_000
    path = write_pcap(tmp_path / "f.pcap", [(i, 0, udp_frame(b"p", dport=1000 + i % 2)) for i in range(n)])
    records, data = bytearray(24 * 5000), bytearray(1 << 20)
    with pcap.pcap(str(path)) as p:
        stop = threading.Event()
        errors = []

        def flip():
            k = 0
            while not stop.is_set():
                try:
                    p.setfilter(f"udp dst port {1000 + k % 2}")
                    p.snaplen, p.datalink()
                except Exception as e:
                    errors.append(repr(e))
                k += 1

        t = threading.Thread(target=flip)
        t.start()
        total = 0
        try:
            while (k := p.readinto(records, data)):
                ports = {struct.unpack_from("!H", data, off + 36)[0]
                         for _, _, _, off in struct.iter_unpack(pcap.BATCH_RECORD_FORMAT, records[:24 * k])}
                assert len(ports) == 1, ports        # one filter for the whole fill
                total += k
        finally:
            stop.set()
            t.join()
    assert errors == []
    assert 0 < total < n


@pytest.mark.parametrize("in_ns", [False, True])
def test_readbatch_wirelens_column(tmp_path, in_ns):
    pkts = cut_packets(50)
    path = str(write(tmp_path / "f.pcap", pkts))
    want = read_source(path)
    with pcap.pcap(path, timestamp_in_ns=in_ns) as p:
        stamps, bufs, lengths = p.readbatch(30, wirelens=True)
        rest = p.readbatch(100, wirelens=True)
        assert p.readbatch(wirelens=True) == (stamps[:0], [], lengths[:0])
    assert lengths.typecode == "I" and lengths.itemsize == 4
    assert list(lengths) + list(rest[2]) == [w for _, _, w in want]
    assert bufs + rest[1] == [b for _, b, _ in want]
    assert any(w > len(b) for _, b, w in want)
    with pcap.pcap(path) as p:
        assert len(p.readbatch(10)) == 2       # as before, without the keyword


def records_of(records, count):
    return [struct.unpack_from(pcap.BATCH_RECORD_FORMAT, records, i * pcap.BATCH_RECORD_SIZE) for i in range(count)]


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_a_record_longer_than_the_snaplen_is_cut_as_iteration_cuts_it(tmp_path, byteorder):
    """A record whose caplen is over the file's snaplen (but within what
    libpcap accepts) comes cut to the snaplen, in batches as in iteration,
    with its bytes packed by the cut length."""
    path = str(write_pcap(tmp_path / "over.pcap", [(1, 0, bytes(range(200))), (2, 0, bytes(50) + b"\xff" * 10)],
                          byteorder=byteorder, snaplen=100))
    with pcap.pcap(path) as p:
        want = [(buf, p.wirelen) for _, buf in p]
    assert [(len(b), w) for b, w in want] == [(100, 200), (60, 60)]
    records, data = bytearray(10 * pcap.BATCH_RECORD_SIZE), bytearray(4096)
    with pcap.pcap(path) as p:
        n = p.readinto(records, data)
    assert n == 2
    got = records_of(records, n)
    assert [(caplen, wirelen, off) for _, caplen, wirelen, off in got] == [(100, 200, 0), (60, 60, 100)]
    assert [bytes(data[off:off + caplen]) for _, caplen, _, off in got] == [b for b, _ in want]
    with pcap.pcap(path) as p:
        records, data = p.next_batch()
    assert records_of(records, 2) == got and bytes(data) == b"".join(b for b, _ in want)


@pytest.mark.parametrize("seconds, tsresol, stamp", [(2 ** 64 - 10 ** 10, 0, -2 ** 63), (10 ** 10, 0, 2 ** 63 - 1),
                                                    (9_300_000_000, 9, 2 ** 63 - 1)],
                         ids=["before-1678", "after-2262", "after-2262-ns"])
def test_timestamps_beyond_int64_nanoseconds_one_rule(tmp_path, seconds, tsresol, stamp):
    """pcapng seconds past what int64 nanoseconds hold (if_tsresol 0, read by
    libpcap; if_tsresol 9, read by the module's own pcapng reader): every
    read that gives Python integers gives the exact time, every fixed-width
    int64 column (readbatch, readinto, next_batch, Arrow) the nearest int64."""
    path = str(write_pcapng(tmp_path / "far.pcapng", [(seconds, 0, udp_frame(b"far"))], tsresol=tsresol))
    exact = (seconds - 2 ** 64 if seconds >= 2 ** 63 else seconds) * 10 ** 9
    with pcap.pcap(path, timestamp_in_ns=True) as p:
        [(ts, _)] = list(p)
    assert ts == exact
    with pcap.pcap(path, timestamp_in_ns=True) as p:
        [(ts, _)] = p.readpkts()
    assert ts == exact
    got = []
    with pcap.pcap(path, timestamp_in_ns=True) as p:
        p.loop(0, lambda ts, buf: got.append(ts))
    assert got == [exact]
    with pcap.pcap(path, timestamp_in_ns=True) as p:
        stamps, _ = p.readbatch()
    assert stamps.typecode == "q" and list(stamps) == [stamp]
    with pcap.pcap(path) as p:
        records, _ = p.next_batch()
    assert records_of(records, 1)[0][0] == stamp
    records, data = bytearray(pcap.BATCH_RECORD_SIZE), bytearray(65536)
    with pcap.pcap(path) as p:
        assert p.readinto(records, data) == 1
    assert records_of(records, 1)[0][0] == stamp
    need(importlib.util.find_spec("pyarrow") is not None, "pyarrow is not installed (the test extra installs it)")
    import pyarrow as pa
    with pcap.pcap(path) as p:
        table = p.to_arrow()
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == [stamp]


@pytest.mark.parametrize("hold", ["pair", "records", "data", "memoryview", "numpy", "arrow"])
def test_next_batch_never_rewrites_a_batch_still_referred_to(tmp_path, hold):
    """next_batch() refills only buffers nothing else holds: a batch kept
    as the pair, one of its bytearrays, a memoryview, a numpy view or an
    Arrow batch stays as it was through many more calls."""
    path = str(write_pcap(tmp_path / "many.pcap", [(i, 0, udp_frame(b"%06d" % i)) for i in range(3000)]))
    with pcap.pcap(path) as p:
        records, data = p.next_batch(100)
        want_records, want_data = bytes(records), bytes(data)
        if hold == "pair":
            kept = (records, data)
        elif hold == "records":
            kept = records
        elif hold == "data":
            kept = data
        elif hold == "memoryview":
            kept = (memoryview(records), memoryview(data))
        elif hold == "numpy":
            need(importlib.util.find_spec("numpy") is not None, "numpy is not installed (the test extra installs it)")
            import numpy
            kept = (numpy.frombuffer(records, numpy.uint8), numpy.frombuffer(data, numpy.uint8))
        else:
            need(importlib.util.find_spec("pyarrow") is not None, "pyarrow is not installed (the test extra installs it)")
            import pyarrow as pa
            kept = (pa.py_buffer(records), pa.py_buffer(data))
        del records, data
        seen = 100
        while True:
            more, more_data = p.next_batch(100)
            if not more:
                break
            seen += len(more) // pcap.BATCH_RECORD_SIZE
        assert seen == 3000
    if hold in ("pair", "memoryview", "numpy", "arrow"):
        assert (bytes(kept[0]), bytes(kept[1])) == (want_records, want_data)
    else:
        assert bytes(kept) == (want_records if hold == "records" else want_data)
