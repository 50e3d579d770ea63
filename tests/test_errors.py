"""Errors (issue 3): damaged savefiles, how names are opened, what the
errors say, and the exception hierarchy."""
import errno
import os
import random
import struct
import subprocess
import sys
import textwrap

import pytest

import pcap
from support import need, numbered, read_all, run_async, run_unprivileged, write_pcap, write_pcapng


pytestmark = pytest.mark.usefixtures("watchdog")


def damaged_packets(n):
    """Packet i holds b"damaged-%02d" % i, at 2000 + i + i * 1e-6 s."""
    return numbered(n, start=2000, payload=b"damaged-%02d")


# how -> (sink of support.read_all, the cnt of its calls)
SINK_OF = {"iter": ("iter", 7), "next": ("next", 7), "readpkts": ("readpkts", -1), "readpkts-2": ("readpkts", 2),
           "dispatch": ("dispatch", -1), "dispatch-2": ("dispatch", 2), "dispatch-count": ("count-dispatch", -1),
           "loop": ("loop", 7), "loop-count": ("count-loop", 7)}


def read_until_error(p, how):
    """Read p through one sink until it ends or raises OSError; returns
    (the timestamps read, or None for each packet counted; the exception)."""
    sink, batch = SINK_OF[how]
    got = []
    try:
        n = read_all(p, sink, batch=batch, into=got)
    except OSError as e:
        return [ts for ts, _, _ in got], e
    if sink.startswith("count-"):
        return [None] * n, None
    return [ts for ts, _, _ in got], None


HOWS = ["iter", "next", "readpkts", "readpkts-2", "dispatch", "dispatch-2", "loop"]
EXPECTED_TS = [2000 + i + i / 1e6 for i in range(5)]


# -- damaged savefiles -------------------------------------------------------------

@pytest.mark.parametrize("cut", [1, 5, 20])
@pytest.mark.parametrize("how", HOWS)
def test_truncated_last_record_data(tmp_path, how, cut):
    path = write_pcap(tmp_path / "t.pcap", damaged_packets(5))
    data = path.read_bytes()
    path.write_bytes(data[:-cut])
    with pcap.pcap(str(path)) as p:
        got, exc = read_until_error(p, how)
    assert got == EXPECTED_TS[:4], "the packets before the damage were not all delivered"
    assert exc is not None, "a truncated savefile ended silently"
    assert isinstance(exc, pcap.PcapError)
    assert "truncated dump file" in str(exc)      # libpcap's own message
    assert "t.pcap" in str(exc)


@pytest.mark.parametrize("how", ["iter", "readpkts", "dispatch", "loop"])
def test_truncated_record_header(tmp_path, how):
    path = write_pcap(tmp_path / "h.pcap", damaged_packets(3))
    with open(path, "ab") as f:
        f.write(struct.pack("<II", 5000, 0))     # half a record header
    with pcap.pcap(str(path)) as p:
        got, exc = read_until_error(p, how)
    assert len(got) == 3
    assert exc is not None, "a truncated record header ended silently"
    assert "truncated dump file" in str(exc) and "header" in str(exc)


@pytest.mark.parametrize("how", ["dispatch-count", "loop-count"])
def test_truncated_last_record_counting(tmp_path, how):
    """Counting without a callback (done in C) reports the damage too."""
    path = write_pcap(tmp_path / "c.pcap", damaged_packets(5))
    path.write_bytes(path.read_bytes()[:-3])
    with pcap.pcap(str(path)) as p:
        got, exc = read_until_error(p, how)
    assert exc is not None, "a truncated savefile ended silently"
    assert "truncated dump file" in str(exc)


def test_truncated_last_record_async_for(tmp_path):
    path = write_pcap(tmp_path / "a.pcap", damaged_packets(5))
    path.write_bytes(path.read_bytes()[:-3])

    async def main(got):
        async for ts, pkt in pcap.pcap(str(path)):
            got.append(ts)

    got = []
    with pytest.raises(pcap.PcapError, match="truncated dump file"):
        run_async(main(got), 10)
    assert got == EXPECTED_TS[:4]


def test_truncated_error_is_raised_once_then_end(tmp_path):
    """After the error the handle is at the end: it does not repeat packets."""
    path = write_pcap(tmp_path / "t.pcap", damaged_packets(5))
    path.write_bytes(path.read_bytes()[:-3])
    with pcap.pcap(str(path)) as p:
        got, exc = read_until_error(p, "iter")
        assert len(got) == 4 and exc is not None
        again, exc2 = read_until_error(p, "iter")
    assert not (set(again) & set(got)), "packets delivered twice"


@pytest.mark.parametrize("how", ["iter", "readpkts", "dispatch", "loop"])
def test_truncated_pcapng_block(tmp_path, how):
    path = write_pcapng(tmp_path / "t.pcapng", damaged_packets(4))
    path.write_bytes(path.read_bytes()[:-6])
    with pcap.pcap(str(path)) as p:
        got, exc = read_until_error(p, how)
    assert len(got) == 3
    assert exc is not None, "a truncated pcapng file ended silently"
    assert isinstance(exc, pcap.PcapError)


def test_bad_record_length(tmp_path):
    """A record whose caplen is absurd: earlier packets, then libpcap's message."""
    path = write_pcap(tmp_path / "big.pcap", damaged_packets(2))
    with open(path, "ab") as f:
        f.write(struct.pack("<IIII", 3000, 0, 0x7FFFFFF0, 0x7FFFFFF0) + b"x" * 64)
    with pcap.pcap(str(path)) as p:
        got, exc = read_until_error(p, "iter")
    assert len(got) == 2
    assert exc is not None and isinstance(exc, pcap.PcapError)
    assert "bigger than" in str(exc) or "invalid" in str(exc), str(exc)


@pytest.mark.parametrize("size", [0, 3, 10, 23])
def test_truncated_file_header(tmp_path, size):
    full = write_pcap(tmp_path / "full.pcap", damaged_packets(1)).read_bytes()
    path = tmp_path / "head.pcap"
    path.write_bytes(full[:size])
    with pytest.raises(pcap.PcapError, match="head.pcap") as ei:
        pcap.pcap(str(path))
    msg = str(ei.value)
    assert "truncated" in msg or "unknown file format" in msg, msg
    assert "No such device" not in msg
    assert not isinstance(ei.value, FileNotFoundError)


@pytest.mark.parametrize("seed", range(12))
def test_random_garbage_file(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / f"garbage{seed}.pcap"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.choice([1, 30, 500, 4096]))))
    with pytest.raises(pcap.PcapError, match="(?i)unknown file format|truncated|format") as ei:
        pcap.pcap(str(path))
    assert "No such device" not in str(ei.value)
    assert f"garbage{seed}.pcap" in str(ei.value)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("how", ["iter", "readpkts", "loop"])
def test_random_records_after_valid_header(tmp_path, seed, how):
    """A good header, then garbage: an error, never a silent end or a crash."""
    rng = random.Random(1000 + seed)
    path = tmp_path / "g.pcap"
    good = write_pcap(tmp_path / "good.pcap", damaged_packets(2)).read_bytes()
    path.write_bytes(good + bytes(rng.randrange(256) for _ in range(rng.randrange(17, 3000))))
    with pcap.pcap(str(path)) as p:
        got, exc = read_until_error(p, how)
    assert len(got) >= 2 and got[:2] == EXPECTED_TS[:2]
    assert exc is not None, f"garbage after {len(got)} packets ended silently"


# -- opening --------------------------------------------------------------------

def test_interface_wins_over_file_of_same_name(live, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_pcap(tmp_path / "lo", damaged_packets(2), linktype=101)   # LINKTYPE_RAW
    with pcap.pcap("lo", timeout_ms=10) as p:
        assert p.datalink() == pcap.DLT_EN10MB
        assert "live" in repr(p)
        p.stats()     # a savefile has none
    # an explicit path to that file still opens the file
    with pcap.pcap("./lo") as p:
        assert p.datalink() == pcap.DLT_RAW
        assert len(list(p)) == 2


def test_relative_savefile_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_pcap(tmp_path / "capture", damaged_packets(3))
    with pcap.pcap("capture") as p:
        assert len(list(p)) == 3
    with pcap.pcap(b"capture") as p:
        assert len(p.readpkts()) == 3


def test_pathlike_name(tmp_path):
    path = write_pcap(tmp_path / "pl.pcap", damaged_packets(2))
    with pcap.pcap(path) as p:
        assert len(list(p)) == 2
        assert p.name == str(path)


@pytest.mark.parametrize("name", [None, "", b""])
def test_none_and_empty_mean_lookupdev(live, name):
    dev = pcap.lookupdev()
    with pcap.pcap(name, timeout_ms=10) as p:
        assert p.name == dev


def test_default_argument_means_lookupdev(live):
    with pcap.pcap(timeout_ms=10) as p:
        assert p.name == pcap.lookupdev()


# -- what errors say -----------------------------------------------------------

@pytest.mark.parametrize("rel", ["missing.pcap", "sub/dir/missing.pcap", "missing"])
def test_missing_path_filenotfound(tmp_path, rel):
    path = tmp_path / rel
    with pytest.raises(FileNotFoundError) as ei:
        pcap.pcap(str(path))
    assert str(path) in str(ei.value)
    assert isinstance(ei.value, pcap.PcapError)


def test_missing_relative_savefile_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="nothere.pcap") as ei:
        pcap.pcap("nothere.pcap")
    assert (ei.value.errno, ei.value.filename) == (errno.ENOENT, "nothere.pcap")
    assert ei.value.strerror == os.strerror(errno.ENOENT)


def test_missing_device_names_it(live):
    with pytest.raises(FileNotFoundError, match="nosuchdev7") as ei:
        pcap.pcap("nosuchdev7")
    assert isinstance(ei.value, pcap.PcapError)
    assert ei.value.errno == errno.ENODEV


def test_errors_keep_their_message_with_errno_and_filename(tmp_path):
    """errno and filename are set as on any OSError, and str(e) stays the
    module's sentence (not "[Errno 2] ...")."""
    path = str(tmp_path / "gone.pcap")
    with pytest.raises(pcap.PcapNotFoundError) as ei:
        pcap.pcap(path)
    assert str(ei.value) == f"cannot open savefile {path!r}: No such file or directory"
    assert ei.value.filename == path


def test_read_error_names_the_file(tmp_path):
    path = write_pcap(tmp_path / "cut.pcap", damaged_packets(3))
    path.write_bytes(path.read_bytes()[:-5])
    with pcap.pcap(str(path)) as p:
        next(p), next(p)
        with pytest.raises(pcap.PcapError, match="truncated dump file") as ei:
            next(p)
    assert ei.value.filename == str(path)


def test_dumper_error_has_errno_and_filename(tmp_path):
    path = str(tmp_path / "no" / "such" / "dir.pcap")
    with pytest.raises(pcap.PcapNotFoundError) as ei:
        pcap.dumper(path)
    assert (ei.value.errno, ei.value.filename) == (errno.ENOENT, path)


@pytest.mark.parametrize("content", [
    b"hello, this is a text file and not a capture\n" * 4,
    b"\x00" * 64,
    b"GIF89a" + b"\x01" * 100,
])
def test_not_a_savefile_says_so(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(pcap.PcapError, match="notes.txt") as ei:
        pcap.pcap(str(path))
    msg = str(ei.value)
    assert "No such device" not in msg
    assert "savefile" in msg or "file format" in msg, msg
    assert not isinstance(ei.value, FileNotFoundError)


def test_directory_is_not_a_savefile(tmp_path):
    d = tmp_path / "adir"
    d.mkdir()
    with pytest.raises(IsADirectoryError, match="adir") as ei:
        pcap.pcap(str(d))
    assert "No such device" not in str(ei.value)
    assert isinstance(ei.value, pcap.PcapError)
    assert (ei.value.errno, ei.value.filename) == (errno.EISDIR, str(d))


def test_unreadable_file_names_it(nobody, public_dir):
    path = write_pcap(public_dir / "secret.pcap", damaged_packets(1))
    code = textwrap.dedent("""
        import sys, pcap
        try:
            pcap.pcap(sys.argv[1])
        except OSError as e:
            print(type(e).__name__, isinstance(e, PermissionError), e.errno, e.filename == sys.argv[1], e)
    """)
    os.chmod(path, 0o600)
    proc = run_unprivileged([sys.executable, "-c", code, str(path)])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    assert "secret.pcap" in out
    assert "Permission denied" in out, out
    assert out.startswith(f"PcapPermissionError True {errno.EACCES} True "), out
    assert "CAP_NET_RAW" not in out, "a file that cannot be read is not a capture privilege problem"


@pytest.mark.parametrize("name", ["lo\0", "l\0o", b"lo\x00x", "/tmp/a\0b.pcap"])
def test_nul_byte_in_name(name):
    with pytest.raises(ValueError, match="NUL"):
        pcap.pcap(name)


@pytest.mark.parametrize("bad", ["udp port", "no such thing", "tcp and (", "port 99999999", "ether host zz:zz"])
def test_invalid_filter_keeps_old(tmp_path, bad):
    with pcap.pcap(str(write_pcap(tmp_path / "f.pcap", damaged_packets(3)))) as p:
        p.setfilter("udp port 5678")
        with pytest.raises(pcap.PcapError) as ei:
            p.setfilter(bad)
        assert isinstance(ei.value, OSError)
        assert p.filter == "udp port 5678"
        assert bad in str(ei.value) or repr(bad) in str(ei.value)
        # still filtering with the old program
        assert len(list(p)) == 3


def test_invalid_filter_message_is_libpcaps(tmp_path):
    with pcap.pcap(str(write_pcap(tmp_path / "f.pcap", damaged_packets(1)))) as p:
        with pytest.raises(OSError, match="syntax error"):
            p.setfilter("tcp and (")
        with pytest.raises(OSError, match="illegal port number"):
            p.setfilter("port 99999999")
        assert p.filter == ""


def test_invalid_filter_live(live):
    with pcap.pcap("lo", timeout_ms=10) as p:
        p.setfilter("udp dst port 9")
        with pytest.raises(pcap.PcapError, match="syntax error"):
            p.setfilter("udp dst port")
        assert p.filter == "udp dst port 9"


# -- unprivileged ----------------------------------------------------------------

@pytest.fixture
def public_dir():
    """A directory user 65534 can enter (pytest's tmp_path is root-only)."""
    import pathlib
    import shutil
    import tempfile
    d = pathlib.Path(tempfile.mkdtemp(prefix="pcap-test-errors-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


@pytest.fixture(scope="module")
def nobody():
    """Whether an unprivileged child can run this interpreter and import pcap."""
    need(os.geteuid() == 0, "dropping privileges needs root")
    need(subprocess.run(["which", "setpriv"], capture_output=True).returncode == 0, "setpriv missing")
    proc = run_unprivileged([sys.executable, "-c", "import pcap; print(pcap.__file__)"])
    need(proc.returncode == 0,
         f"user 65534 cannot import pcap (the repo and .venv must be readable): {proc.stderr[-300:]}")


@pytest.mark.parametrize("name", ["lo", "any"])
def test_unprivileged_open_live_permissionerror(nobody, name):
    code = textwrap.dedent("""
        import os, sys, pcap
        assert os.geteuid() == 65534
        try:
            pcap.pcap(sys.argv[1])
        except PermissionError as e:
            print("PermissionError", isinstance(e, pcap.PcapError), e)
        except BaseException as e:
            print("other", type(e).__name__, e)
        else:
            print("opened")
    """)
    proc = run_unprivileged([sys.executable, "-c", code, name])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    assert out.startswith("PermissionError True"), out
    assert "root" in out or "CAP_NET_RAW" in out, out
    assert repr(name) in out or name in out


def test_unprivileged_errors_say_errno_and_the_real_cause(nobody, public_dir):
    """Without the privilege: EPERM on a PcapPermissionError; a mistyped
    interface name is 'no such device' (ENODEV), not a permission error; a
    path through a directory the user cannot enter is EACCES, not ENOENT."""
    closed = public_dir / "closed"
    closed.mkdir(mode=0o700)
    names = ["lo", "eht0", "nosuch0", str(closed / "x.pcap")]
    if "nflog" in pcap.findalldevs():
        names.append("nflog")        # libpcap says EPERM only in its text there
    code = textwrap.dedent("""
        import sys, pcap
        for name in sys.argv[1:]:
            try:
                pcap.pcap(name)
            except OSError as e:
                print(type(e).__name__, e.errno, e)
            else:
                print("opened", name)
    """)
    proc = run_unprivileged([sys.executable, "-c", code, *names])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(names), lines
    assert lines[0].startswith(f"PcapPermissionError {errno.EPERM} cannot open 'lo'"), lines[0]
    for line, name in zip(lines[1:3], names[1:3]):
        assert line.startswith(f"PcapNotFoundError {errno.ENODEV} cannot open '{name}': no capture device"), line
    assert lines[3].startswith(f"PcapPermissionError {errno.EACCES} cannot open savefile"), lines[3]
    assert "Permission denied" in lines[3], lines[3]
    if len(names) == 5:
        assert lines[4].startswith(f"PcapPermissionError {errno.EPERM} cannot open 'nflog'"), lines[4]


def test_unprivileged_missing_file_is_filenotfound(nobody, public_dir):
    code = textwrap.dedent("""
        import sys, pcap
        for name in sys.argv[1:]:
            try:
                pcap.pcap(name)
            except FileNotFoundError as e:
                print("FileNotFoundError", e)
            except BaseException as e:
                print("other", type(e).__name__, e)
    """)
    proc = run_unprivileged([sys.executable, "-c", code, str(public_dir / "gone.pcap"), "/nonexistent/x"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("FileNotFoundError") and "gone.pcap" in lines[0], lines
    assert lines[1].startswith("FileNotFoundError") and "/nonexistent/x" in lines[1], lines


def test_unprivileged_can_read_savefile(nobody, public_dir):
    path = write_pcap(public_dir / "open.pcap", damaged_packets(3))
    os.chmod(path, 0o644)
    proc = run_unprivileged([sys.executable, "-c",
                         "import sys, pcap; print(len(list(pcap.pcap(sys.argv[1]))))", str(path)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3"


# -- the exception hierarchy ----------------------------------------------------------

def test_pcaperror_is_oserror():
    assert issubclass(pcap.PcapError, OSError)


def test_all_module_errors_derive_from_pcaperror():
    errors = [obj for name, obj in vars(pcap).items()
              if isinstance(obj, type) and issubclass(obj, BaseException)]
    assert pcap.PcapError in errors
    for cls in errors:
        assert issubclass(cls, pcap.PcapError), f"pcap.{cls.__name__} is not a PcapError"
    names = {cls.__name__ for cls in errors}
    assert len(names) >= 2      # PcapError and at least one subclass


def test_raised_errors_are_pcaperrors(tmp_path):
    garbage = tmp_path / "x.pcap"
    garbage.write_bytes(b"nope" * 10)
    cases = [
        lambda: pcap.pcap(str(garbage)),
        lambda: pcap.pcap(str(tmp_path / "missing.pcap")),
        lambda: pcap.bpf("tcp and ("),
        lambda: pcap.pcap(str(write_pcap(tmp_path / "ok.pcap", damaged_packets(1)))).setfilter("tcp and ("),
        lambda: pcap.pcap(str(write_pcap(tmp_path / "ok2.pcap", damaged_packets(1)))).stats(),
        lambda: pcap.lookupnet("nosuchdev7"),
        lambda: pcap.dumper(str(tmp_path / "no" / "dir" / "out.pcap")),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(pcap.PcapError):
            case()


def test_read_error_is_pcaperror(tmp_path):
    path = write_pcap(tmp_path / "t.pcap", damaged_packets(2))
    path.write_bytes(path.read_bytes()[:-1])
    with pcap.pcap(str(path)) as p:
        next(p)
        with pytest.raises(pcap.PcapError, match="truncated dump file"):
            next(p)


def test_permission_and_notfound_classes():
    assert issubclass(pcap.PcapPermissionError, pcap.PcapError)
    assert issubclass(pcap.PcapPermissionError, PermissionError)
    assert issubclass(pcap.PcapNotFoundError, pcap.PcapError)
    assert issubclass(pcap.PcapNotFoundError, FileNotFoundError)
