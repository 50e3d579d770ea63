"""Savefiles from Python file objects, and compressed savefiles (by their
first bytes): the same packets as from the file itself, on every read path;
what the object raises is raised, after the packets before it."""
import bz2
import importlib.util
import gzip
import io
import lzma
import os
import random
import struct
import textwrap
import time
import zlib

import pytest

import pcap
from support import need, packets, read_source, run_python, savefile_fixture, write_savefile

pytestmark = pytest.mark.usefixtures("watchdog")


savefile = savefile_fixture(packets(3000), ["pcap-le-us", "pcap-be-ns", "pcapng-le-us"])


class ReadOnly:
    """A file object with read() only (no readinto)."""
    def __init__(self, data, chunk=1000):
        self.f, self.chunk = io.BytesIO(data), chunk

    def read(self, n=-1):
        return self.f.read(min(n, self.chunk) if n > 0 else self.chunk)


OPENERS = {
    "BytesIO": lambda path: io.BytesIO(path.read_bytes()),
    "open": lambda path: open(path, "rb"),
    "read-only": lambda path: ReadOnly(path.read_bytes()),
    "gzip": lambda path: gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(path.read_bytes()))),
    "bz2": lambda path: bz2.BZ2File(io.BytesIO(bz2.compress(path.read_bytes()))),
    "lzma": lambda path: lzma.LZMAFile(io.BytesIO(lzma.compress(path.read_bytes()))),
}


@pytest.mark.parametrize("opener", sorted(OPENERS))
def test_file_objects_give_the_file_packets(savefile, opener):
    want = read_source(str(savefile))
    assert len(want) == 3000
    assert read_source(OPENERS[opener](savefile)) == want


def test_every_read_path_and_the_filter(savefile):
    want = [w for w in read_source(str(savefile)) if struct.unpack_from("!H", w[1], 36)[0] == 1001]
    f = lambda: io.BytesIO(savefile.read_bytes())
    with pcap.pcap(f(), timestamp_in_ns=True) as p:
        p.setfilter("udp dst port 1001")
        got = []
        while batch := p.readpkts(100):
            got += batch
    assert [(ts, b) for ts, b, _ in want] == got
    with pcap.pcap(f()) as p:
        p.setfilter("udp dst port 1001")
        assert p.dispatch(-1) == len(want)
    with pcap.pcap(f()) as p:
        p.setfilter("udp dst port 1001")
        n = 0
        while True:
            records, data = p.next_batch(64)
            if not records:
                break
            n += len(records) // pcap.BATCH_RECORD_SIZE
        assert n == len(want)
    with pcap.pcap(f()) as p:
        seen = []
        p.loop(0, lambda ts, buf: seen.append(buf))
        assert len(seen) == 3000
        assert p.name == "<BytesIO>"


@pytest.mark.parametrize("kind, compress, suffix", [
    ("gzip", gzip.compress, ".pcap.gz"), ("bzip2", bz2.compress, ".pcap.bz2"),
    ("xz", lzma.compress, ".pcap.xz"), ("gzip", gzip.compress, ".pcap")])
def test_compressed_paths_open_decompressed(savefile, tmp_path, kind, compress, suffix):
    want = read_source(str(savefile))
    path = tmp_path / ("c" + suffix)          # the content decides, not the name
    path.write_bytes(compress(savefile.read_bytes()))
    assert read_source(str(path)) == want
    with pcap.pcap(path) as p:
        assert p.name == str(path)


def test_zstd_path(savefile, tmp_path):
    need(importlib.util.find_spec("zstandard") is not None, "zstandard is not installed (the test extra has it)")
    import zstandard
    path = tmp_path / "c.pcap.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(savefile.read_bytes()))
    assert read_source(str(path)) == read_source(str(savefile))


def test_zstd_without_the_package_says_which_package(tmp_path):
    path = tmp_path / "c.pcap.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 60)
    code = textwrap.dedent(f"""
        import sys
        sys.modules["zstandard"] = None      # as if it were not installed
        import pcap
        try:
            pcap.pcap({str(path)!r})
        except pcap.PcapError as e:
            print(e)
    """)
    out = run_python(code, timeout=30)
    assert "zstd-compressed, which needs the 'zstandard' package (pip install zstandard)" in out.stdout, out


def packets_then_error(path, match):
    """Iterate the savefile at ``path`` until it raises PcapError matching
    ``match``: the packets (ts in ns, bytes, wirelen) before, and the error."""
    got = []
    with pytest.raises(pcap.PcapError, match=match) as info:
        with pcap.pcap(str(path), timestamp_in_ns=True) as p:
            for ts, buf in p:
                got.append((ts, buf, p.wirelen))
    return got, info.value


@pytest.mark.parametrize("cut", [1, 500, "half"])
def test_a_damaged_gzip_stream_is_raised_after_the_packets_before(savefile, tmp_path, cut):
    data = gzip.compress(savefile.read_bytes())
    cut = len(data) // 2 if cut == "half" else cut
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(data[:-cut])
    want = read_source(str(savefile))
    got, error = packets_then_error(path, "file object raised (EOFError|BadGzipFile)")
    assert isinstance(error.__cause__, (EOFError, gzip.BadGzipFile, OSError))
    assert got == want[:len(got)]
    # readpkts() returns the packets before, then raises
    with pcap.pcap(str(path), timestamp_in_ns=True) as p:
        if cut > 500 and savefile.suffix == ".pcap":
            first = p.readpkts()
            assert [(ts, b) for ts, b, _ in want[:len(first)]] == first
        with pytest.raises(pcap.PcapError, match="file object raised"):
            while p.readpkts():
                pass


@pytest.mark.parametrize("fmt", ["pcap-le-us", "pcap-be-ns", "pcapng-le-us"])
@pytest.mark.parametrize("level", [0, 6], ids=["stored", "deflated"])
def test_gzip_members_one_after_another_read_as_one_file(tmp_path, fmt, level):
    """A .gz of several members (as `cat a.gz b.gz > c.gz` makes), cut at random bytes, an empty
    member among them: the packets of the whole file.  Stored (level 0), the members span several
    of the reader's 256 KiB reads, and their ends fall inside those reads."""
    savefile = write_savefile(tmp_path / f"whole.{fmt[:6]}", fmt, packets(12000))
    raw = savefile.read_bytes()
    rnd = random.Random(f"{fmt} {level}")
    cuts = sorted(rnd.sample(range(1, len(raw)), 5))
    pieces = [raw[a:b] for a, b in zip([0] + cuts, cuts + [len(raw)])]
    pieces.insert(2, b"")
    path = tmp_path / "members.pcap.gz"
    path.write_bytes(b"".join(gzip.compress(piece, compresslevel=level) for piece in pieces))
    assert gzip.decompress(path.read_bytes()) == raw
    if level == 0:
        assert path.stat().st_size > 3 * (1 << 18)
    assert read_source(str(path)) == read_source(str(savefile))


@pytest.mark.parametrize("damage", ["garbage after", "crc", "length", "deflate"])
def test_gzip_damage_is_raised_after_every_packet_before_it(savefile, tmp_path, damage):
    """Bytes after the last member that are not gzip, a CRC or a length in the trailer that does
    not match: gzip.decompress() refuses the file too; every packet comes first, then PcapError
    from BadGzipFile.  Damage inside the deflate data: the packets before it, then the error."""
    data = bytearray(gzip.compress(savefile.read_bytes(), compresslevel=0 if damage == "deflate" else 6))
    if damage == "garbage after":
        data += b"not gzip"
    elif damage == "crc":
        data[-8] ^= 0xFF
    elif damage == "length":
        data[-4] ^= 0xFF
    else:                   # a stored block's length, near the middle: zlib sees the lengths disagree
        at = data.index(b"\x00\xff\xff\x00\x00", len(data) // 2)
        data[at + 1] ^= 0xFF
    with pytest.raises((gzip.BadGzipFile, zlib.error)):
        gzip.decompress(bytes(data))
    path = tmp_path / "damaged.pcap.gz"
    path.write_bytes(data)
    want = read_source(str(savefile))
    got, error = packets_then_error(path, "file object raised BadGzipFile")
    assert isinstance(error.__cause__, gzip.BadGzipFile)
    if damage == "deflate":
        assert 0 < len(got) < len(want) and got == want[:len(got)]
    else:
        assert got == want


def test_a_gzip_bomb_is_inflated_a_megabyte_at_a_time(tmp_path):
    """40 MB of zero-filled packets gzip to some 40 KB, one 256 KiB read: inflated at most 1 MiB a
    call, the reader's peak stays a few MiB (tracemalloc sees the feeder thread's bytes too)."""
    import tracemalloc
    frame = bytes(20000)
    path = tmp_path / "zeros.pcap.gz"
    raw = write_savefile(tmp_path / "zeros.pcap", "pcap-le-us", [(i, 0, frame, len(frame)) for i in range(2000)])
    path.write_bytes(gzip.compress(raw.read_bytes()))
    assert path.stat().st_size < 1 << 18
    tracemalloc.start()
    try:
        count = 0
        with pcap.pcap(str(path)) as p:
            for _, buf in p:
                count += buf == frame
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2000
    assert peak < 8 << 20, peak


class Failing(io.RawIOBase):
    def __init__(self, data, at):
        self.data, self.at, self.pos = data, at, 0

    def readable(self):
        return True

    def readinto(self, b):
        if self.pos >= self.at:
            raise ConnectionResetError("the server went away")
        n = min(len(b), self.at - self.pos, 4096)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


def test_an_exception_of_the_object_is_raised_not_an_end(savefile):
    data = savefile.read_bytes()
    with pcap.pcap(Failing(data, len(data) // 2)) as p:
        n = 0
        with pytest.raises(pcap.PcapError, match="ConnectionResetError: the server went away") as info:
            for _ in p:
                n += 1
    assert isinstance(info.value.__cause__, ConnectionResetError)
    assert 0 < n < 3000
    with pytest.raises(pcap.PcapError, match="ConnectionResetError"):
        pcap.pcap(Failing(data, 0))


@pytest.mark.parametrize("header_only", [False, True])
def test_a_failure_right_after_the_header_loses_no_packet(header_only):
    """The object gives the header and 7 packets at once, then raises: the
    handle opens, the 7 packets come, then the error; never the error
    alone from the constructor (the feeder thread may fail before the
    constructor has looked), 100 times."""
    with open(os.path.join(os.path.dirname(__file__), os.pardir, "examples", "sample.pcap"), "rb") as f:
        raw = f.read()
    upto = 24 if header_only else len(raw)
    for _ in range(100):
        got = []
        with pcap.pcap(Failing(raw, upto)) as p:
            with pytest.raises(pcap.PcapError, match="ConnectionResetError"):
                for ts, buf in p:
                    got.append(buf)
        assert len(got) == (0 if header_only else 7)


def test_bad_objects():
    with pytest.raises(TypeError, match="binary file object, not a text one"):
        pcap.pcap(io.StringIO("abc"))
    with pytest.raises(pcap.PcapError, match="as a savefile"):
        pcap.pcap(io.BytesIO(b"not a savefile at all, not at all"))
    with pytest.raises(pcap.PcapError):
        pcap.pcap(io.BytesIO(b""))


def test_closing_the_handle_stops_the_feeder(savefile):
    # A big stream read partly: close() ends the feeding thread too.
    import threading
    data = savefile.read_bytes() * 1
    before = threading.active_count()
    p = pcap.pcap(io.BytesIO(data + data[24:] * 50))
    next(p)
    p.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


BLOCKING = r"""
    import signal, socket, sys, time, pcap
    a, b = socket.socketpair()
    if sys.argv[1] == "header":
        f = a.makefile("rb")                  # nothing comes at all
    else:
        b.sendall(open(sys.argv[2], "rb").read()[:24 + 16 + 10])   # a header, then half a record
        f = a.makefile("rb")
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    t0 = time.monotonic()
    try:
        p = pcap.pcap(f)
        for _ in p:
            pass
    except KeyboardInterrupt:
        print("interrupted after %.2f s" % (time.monotonic() - t0))
"""


@pytest.mark.parametrize("where", ["header", "record"])
def test_a_blocking_object_does_not_block_ctrl_c(tmp_path, where):
    path = write_savefile(tmp_path / "f.pcap", "pcap-le-us", packets(3))
    out = run_python(BLOCKING, where, path, timeout=30)
    assert out.stdout.startswith("interrupted after"), out
    assert float(out.stdout.split()[2]) < 0.5 + 0.2, out.stdout
