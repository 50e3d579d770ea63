"""pcap.record(): a source into files rotated by packet time, size or count.
Every packet lands in exactly one file (the files read back one after the
other are the source), names from the pattern, keep, a recorder killed with
SIGKILL, a full disk and a folder that cannot be written, Ctrl-C, the
statistics of a live capture, and examples/record.py."""
import errno
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import pcap

from support import need, udp_frame, write_pcap

ROOT = Path(__file__).resolve().parent.parent


def source(tmp_path, n=500, per_second=10, name="src.pcap"):
    """A nanosecond savefile of n packets, evenly per_second a second from
    1,700,000,000 s, of 42 to 131 bytes, every fifth cut short."""
    pkts = []
    for i in range(n):
        t = 1_700_000_000 * 10**9 + i * 10**9 // per_second
        frame = udp_frame(b"src %05d " % i + bytes([i % 256]) * (i % 80), dport=1000 + i % 3)
        pkts.append((t // 10**9, t % 10**9, frame, len(frame) + 100 * (i % 5 == 0)))
    return str(write_pcap(tmp_path / name, pkts, nano=True))


def read_all(path):
    """(ts_ns, bytes, wirelen) of every packet of a savefile."""
    p = pcap.pcap(path, timestamp_in_ns=True)
    out = []
    for ts, buf in p:
        out.append((ts, bytes(buf), p.wirelen))
    return out


def concatenated(files):
    return [pkt for f in files for pkt in read_all(f)]


# -- nothing lost, nothing twice -----------------------------------------------------

@pytest.mark.parametrize("pattern", ["part.pcap", "part.pcapng", "part.pcap.gz", "part.pcapng.zst"])
@pytest.mark.parametrize("rotate", [dict(rotate_packets=37), dict(rotate_bytes=3000), dict(rotate_seconds=2.5)])
def test_every_packet_once_across_rotations(tmp_path, pattern, rotate):
    if pattern.endswith(".zst"):
        pytest.importorskip("zstandard")
    src = source(tmp_path)
    files = pcap.record(src, str(tmp_path / pattern), **rotate)
    want = read_all(src)
    assert concatenated(files) == want
    assert len(files) > 3
    each = [read_all(f) for f in files]
    if "rotate_packets" in rotate:
        assert [len(e) for e in each] == [37] * 13 + [19]
    if "rotate_seconds" in rotate:
        for e in each:
            assert e[-1][0] - e[0][0] < 2.5e9
        for a, b in zip(each, each[1:]):
            assert b[0][0] - a[0][0] >= 2.5e9
    if "rotate_bytes" in rotate and not pattern.endswith((".gz", ".zst")):
        for f in files[:-1]:
            size = os.path.getsize(f)
            last = len(read_all(f)[-1][1])
            assert 3000 <= size < 3000 + last + 64, (f, size)       # ends with the packet that takes it past


def test_file_names_pattern_numbers_and_time(tmp_path):
    src = source(tmp_path, n=30, per_second=1)
    files = pcap.record(src, str(tmp_path / "cap-%Y%m%d-%H%M%S-{n:03d}.pcap"), rotate_seconds=10)
    t0 = 1_700_000_000
    want = [str(tmp_path / time.strftime(f"cap-%Y%m%d-%H%M%S-{i:03d}.pcap", time.localtime(t0 + 10 * i)))
            for i in range(3)]
    assert files == want
    files = pcap.record(src, str(tmp_path / "auto.pcapng.gz"), rotate_packets=20)
    assert [os.path.basename(f) for f in files] == ["auto_00000.pcapng.gz", "auto_00001.pcapng.gz"]
    assert pcap.record(src, str(tmp_path / "whole.pcap")) == [str(tmp_path / "whole.pcap")]
    with pytest.raises(ValueError, match=r"names '.*same\.pcap' again: give it a \{n\} field or a finer time"):
        pcap.record(src, str(tmp_path / "same.pcap{n!s:.0}"), rotate_packets=10)
    with pytest.raises(ValueError, match=r"pattern '.*bad-\{x\}\.pcap' cannot name a file: KeyError: 'x'"):
        pcap.record(src, str(tmp_path / "bad-{x}.pcap"))


def test_keep_deletes_the_oldest(tmp_path):
    src = source(tmp_path, n=100)
    seen = []
    files = pcap.record(src, str(tmp_path / "ring.pcap"), rotate_packets=10, keep=3, on_file=seen.append)
    assert [os.path.basename(f) for f in seen] == [f"ring_{i:05d}.pcap" for i in range(10)]
    assert files == seen[-3:]
    assert sorted(p.name for p in tmp_path.glob("ring_*")) == [os.path.basename(f) for f in files]
    assert concatenated(files) == read_all(src)[70:]


def test_count_and_filter(tmp_path):
    src = source(tmp_path, n=90)
    files = pcap.record(src, str(tmp_path / "c.pcap"), count=25, rotate_packets=10)
    assert concatenated(files) == read_all(src)[:25]
    files = pcap.record(src, str(tmp_path / "f.pcap"), filter="udp dst port 1001")
    assert concatenated(files) == read_all(src)[1::3]


def test_an_open_handle_is_left_open(tmp_path):
    src = source(tmp_path, n=20)
    with pcap.pcap(src) as p:
        p.setfilter("udp dst port 1000")
        files = pcap.record(p, str(tmp_path / "h.pcap"))
        assert not p.closed
    assert concatenated(files) == read_all(src)[::3]


# -- the arguments -------------------------------------------------------------------

@pytest.mark.parametrize("kw, error, match", [
    (dict(rotate_packets=0), ValueError, "rotate_packets must be 1 or more, not 0"),
    (dict(rotate_bytes=-5), ValueError, "rotate_bytes must be 1 or more, not -5"),
    (dict(rotate_seconds=0), ValueError, "rotate_seconds must be a finite number above 0, not 0"),
    (dict(rotate_seconds="1"), TypeError, "rotate_seconds must be a number, not str"),
    (dict(keep=0), ValueError, "keep must be 1 or more, not 0"),
    (dict(count=1.5), TypeError, "count must be an int, not float"),
    (dict(format="pcapx"), ValueError, "format must be 'pcap' or 'pcapng', not 'pcapx'"),
    (dict(compress="lz4"), ValueError, "compress must be 'gzip', 'zstd'"),
    (dict(on_file=3), TypeError, "on_file must be callable, not int"),
])
def test_bad_arguments(tmp_path, kw, error, match):
    src = source(tmp_path, n=3)
    with pytest.raises(error, match=match):
        pcap.record(src, str(tmp_path / "x.pcap"), **kw)
    assert not list(tmp_path.glob("x*"))


def test_bad_sources(tmp_path):
    with pytest.raises(TypeError, match="source must be an interface name, a savefile path or a pcap handle, "
                                        "not list"):
        pcap.record([1], str(tmp_path / "x.pcap"))
    with pytest.raises(TypeError, match="pattern must be a path"):
        pcap.record(source(tmp_path, n=3), 5)
    with pytest.raises(ValueError, match=r"filter is for a source opened here: set it on the handle"):
        pcap.record(pcap.pcap(source(tmp_path, n=3)), str(tmp_path / "x.pcap"), filter="udp")


# -- ends that are not the end ----------------------------------------------------------

def fifo_feeder(fifo, pkts, *, gap=0.0, stay_open=None):
    """Write a classic pcap header and pkts into the FIFO, one every gap s;
    then wait for stay_open (an Event) before closing, when given."""
    def run():
        try:
            feed()
        except BrokenPipeError:         # the reader was killed
            pass

    def feed():
        with open(fifo, "wb", buffering=0) as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for sec, usec, frame in pkts:
                f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
                if gap:
                    time.sleep(gap)
            if stay_open is not None:
                stay_open.wait(10)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def numbered(n):
    return [(1_700_000_000 + i, 0, udp_frame(b"rec %05d" % i)) for i in range(n)]


def test_ctrl_c_closes_the_open_file_whole(tmp_path):
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    done = threading.Event()
    pkts = numbered(25)
    fifo_feeder(fifo, pkts, stay_open=done)
    threading.Timer(0.5, signal.pthread_kill, (threading.get_ident(), signal.SIGINT)).start()
    try:
        with pytest.raises(KeyboardInterrupt) as e:
            pcap.record(str(fifo), str(tmp_path / "i.pcapng"), rotate_packets=10)
    finally:
        done.set()
    files = e.value.recorded
    assert [os.path.basename(f) for f in files] == ["i_00000.pcapng", "i_00001.pcapng", "i_00002.pcapng"]
    assert [pkt[1] for pkt in concatenated(files)] == [f for _, _, f in pkts]


def test_sigkill_leaves_finished_files_whole_and_the_open_one_valid(tmp_path):
    """A recorder killed while it writes: each finished file reads whole;
    the open one reads without error, a prefix of its packets."""
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    script = textwrap.dedent(f"""
        import pcap
        pcap.record({str(fifo)!r}, {str(tmp_path / 'k.pcapng')!r}, rotate_packets=10, flush_seconds=0)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    pkts = numbered(200)
    feeder = fifo_feeder(fifo, pkts, gap=0.002)
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "k_00004.pcapng").exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.005)
        time.sleep(0.013)
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    feeder.join(10)
    files = sorted(str(p) for p in tmp_path.glob("k_*.pcapng"))
    assert len(files) >= 5
    got = [read_all(f) for f in files]
    for g in got[:-1]:
        assert len(g) == 10
    assert len(got[-1]) <= 10
    assert [pkt[1] for g in got for pkt in g] == [f for _, _, f in pkts[:sum(map(len, got))]]


@pytest.fixture
def tmpfs(tmp_path):
    """A mount point for a tmpfs of the test's (root only), unmounted after."""
    need(os.geteuid() == 0, "mounting a tmpfs needs root")
    need(shutil.which("mount"), "the mount command is missing")
    point = tmp_path / "mnt"
    point.mkdir()
    mounted = []

    def mount(options):
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], check=True)
        mounted.append(point)
        return point
    yield mount
    for p in mounted:
        subprocess.run(["umount", str(p)], check=True)


@pytest.mark.parametrize("pattern", ["full.pcap", "full.pcapng"])
def test_disk_full_stops_and_keeps_what_was_written(tmp_path, tmpfs, pattern):
    mnt = tmpfs("size=96k")
    src = source(tmp_path, n=3000)
    with pytest.raises(OSError) as e:
        pcap.record(src, str(mnt / pattern), rotate_bytes=20000, flush_seconds=0)
    assert e.value.errno == errno.ENOSPC
    assert str(mnt) in str(e.value) and "No space left on device" in str(e.value)
    files = e.value.recorded
    assert len(files) >= 3
    assert sorted(files) == files == sorted(str(p) for p in mnt.iterdir())
    got = concatenated(files)               # every file reads whole
    assert got == read_all(src)[:len(got)]
    assert len(got) > 300


def test_unwritable_folder(tmp_path, tmpfs):
    src = source(tmp_path, n=30)
    ro = tmpfs("size=64k,ro")
    with pytest.raises(OSError, match=r"cannot open '.*/mnt/ro\.pcap' for writing: .*Read-only file system") as e:
        pcap.record(src, str(ro / "ro.pcap"))
    assert e.value.errno == errno.EROFS and e.value.recorded == []


def test_missing_folder_mid_recording(tmp_path):
    src = source(tmp_path, n=30)
    (tmp_path / "d0").mkdir()
    with pytest.raises(OSError, match=r"cannot open '.*d1/x\.pcap' for writing: .*No such file or directory") as e:
        pcap.record(src, str(tmp_path / "d{n}" / "x.pcap"), rotate_packets=12)
    assert e.value.errno == errno.ENOENT
    assert e.value.recorded == [str(tmp_path / "d0" / "x.pcap")]
    assert concatenated(e.value.recorded) == read_all(src)[:12]


# -- live ---------------------------------------------------------------------------------

def test_live_rotation_writes_statistics(live, tmp_path):
    """Each pcapng file of a live capture ends with the handle's statistics."""
    import socket
    from support import free_port
    port = free_port()
    p = pcap.pcap("lo", immediate=True, timeout_ms=100)
    p.setfilter(f"udp dst port {port}")

    def send():
        time.sleep(0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(9):
                s.sendto(b"live %d" % i, ("127.0.0.1", port))
    threading.Thread(target=send).start()
    files = pcap.record(p, str(tmp_path / "live.pcapng"), rotate_packets=3, count=9, duration=10)
    p.close()
    assert len(files) == 3
    for k, f in enumerate(files):
        r = pcap.pcap(f)
        assert [bytes(b)[-6:] for _, b in r] == [b"live %d" % i for i in range(3 * k, 3 * k + 3)]
        st = r.interfaces[0].statistics
        assert st["delivered"] == 3 and st["received"] >= 3 * k + 3, st


# -- examples/record.py ---------------------------------------------------------------------

def test_example_ctrl_c_on_a_live_interface(live, tmp_path):
    from test_examples import interrupt
    status, out, err = interrupt("record.py", ["-i", "lo", "-w", str(tmp_path / "lo.pcap"), "udp port 9"],
                                 ready="recording lo", after=0.3)
    assert status == 130, (out, err)
    assert err == "interrupted: 0 files kept\n", err


def test_example_reads_a_savefile_into_a_ring(tmp_path):
    src = source(tmp_path, n=100)
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "record.py"), "-r", src, "-w",
                           str(tmp_path / "ring-{n:02d}.pcapng.gz"), "-C", "0.002", "-W", "2"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "2 files kept"
    assert all(line.startswith("finished ") for line in lines[:-1])
    kept = sorted(str(p) for p in tmp_path.glob("ring-*"))
    assert len(kept) == 2 and concatenated(kept) == read_all(src)[-len(concatenated(kept)):]
