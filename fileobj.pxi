# --------------------------------------------------------------------------
# Opening savefiles: by path (plain or compressed), and from Python file
# objects.
#
# pcap.pcap(f) reads any binary file object (io.BytesIO, gzip.open(...),
# bz2, lzma, zstandard readers, fsspec files); a path whose first bytes are
# gzip, bzip2, xz or zstd opens decompressed.  A feeder thread copies the
# object's bytes into a pipe, and the handle reads the other end as it reads
# any pipe (sources.pxi): every read path, the filter, the bounded and
# interruptible waits, pcapng.  Whatever the
# object raises (a damaged gzip stream, a network error) is raised by the
# read that reaches that point, after the packets before it.

_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"),
               (b"\x28\xb5\x2f\xfd", "zstd"))


# How long the feeder waits before asking a nonblocking stream that had
# nothing again.
cdef double _FEEDER_PAUSE_S = 0.001


cdef class _Feeder:
    """Copies a file object into a pipe, in a thread of its own."""
    cdef object f
    cdef bint owns           # close f at the end (we opened it)
    cdef int wfd
    cdef public object error # what reading f raised, once the pipe is closed
    cdef object thread

    def start(self, f, int wfd, bint owns, str name):
        import threading
        self.f, self.wfd, self.owns = f, wfd, owns
        self.thread = threading.Thread(target=self._run, name=f"pcap feeder {name}", daemon=True)
        self.thread.start()

    def _run(self):
        cdef bytearray buf = bytearray(1 << 16)
        cdef object view = memoryview(buf)
        f = self.f
        readinto = getattr(f, "readinto", None)
        try:
            while True:
                if readinto is not None:
                    n = readinto(view)
                    if n is None:          # a nonblocking raw stream with nothing yet
                        _time_sleep(_FEEDER_PAUSE_S)
                        continue
                    chunk = view[:n]
                else:
                    chunk = f.read(1 << 16)
                    if chunk is None:
                        _time_sleep(_FEEDER_PAUSE_S)
                        continue
                    if not isinstance(chunk, (bytes, bytearray, memoryview)):
                        raise TypeError(f"a savefile must be a binary file object: read() gave "
                                        f"{type(chunk).__name__}, not bytes")
                    n = len(chunk)
                if not n:
                    break
                if not _write_all(self.wfd, chunk):
                    break                  # the handle was closed: stop
        except BaseException as e:
            self.error = e
        finally:
            _os.close(self.wfd)
            self.wfd = -1
            if self.owns:
                try:
                    f.close()
                except BaseException as e:
                    if self.error is None:
                        self.error = e


cdef object _time_sleep = None


cdef bint _write_all(int fd, chunk) except -1:
    """Write all of chunk to the pipe; False once its reader is gone."""
    view = memoryview(chunk)
    while len(view):
        try:
            written = _os.write(fd, view)
        except BrokenPipeError:
            return False
        except InterruptedError:
            continue
        view = view[written:]
    return True


cdef str _fileobj_name(object f):
    """The name a file object reports (gzip, fsspec and open() files have
    one), else what it is."""
    n = getattr(f, "name", None)
    if isinstance(n, (str, bytes)) and n:
        return _os.fsdecode(n)
    return f"<{type(f).__name__}>"


cdef bint _is_file_object(object name):
    return (not isinstance(name, (str, bytes, _os.PathLike))
            and (hasattr(name, "readinto") or hasattr(name, "read")))


cdef _SavefileSource _open_fileobj(object f, str name, bint owns=False):
    """A savefile source reading the binary file object ``f``."""
    global _time_sleep
    cdef _Feeder feeder
    import time
    _time_sleep = time.sleep
    if isinstance(f, _io.TextIOBase):
        raise TypeError(f"a savefile must be a binary file object, not a text one ({type(f).__name__}): "
                        f"open it with 'rb' (or use sys.stdin.buffer)")
    rfd, wfd = _os.pipe2(_os.O_CLOEXEC)
    _widen_pipe(wfd)
    feeder = _Feeder.__new__(_Feeder)
    try:
        feeder.start(f, wfd, owns, name)
    except BaseException:
        _os.close(rfd)
        _os.close(wfd)
        raise
    try:
        src = _savefile_from_fd(rfd, name, None, feeder)
    except PcapError as e:
        # An empty or foreign stream: say what reading the object raised, if anything.
        feeder.thread.join(1)
        if feeder.error is not None:
            raise _feed_error(feeder.error, f"savefile {name!r}") from feeder.error
        raise
    return src


class _GzipMembers:
    """A gzip file's decompressed bytes, member after member, for the
    feeder: one inflate call per 256 KiB read (at most 1 MiB out of it),
    zlib checking each member's CRC and length.  gzip.open() inflates
    8 KiB at a time, taking the GIL back from the reading thread after
    each: the bench's file took 603 ms that way, 483 this way (with the
    1 MiB pipe).  Raises as gzip.open() does, after
    every byte inflated before the damage: EOFError for a stream cut
    short, gzip.BadGzipFile for damage."""

    IN, OUT = 1 << 18, 1 << 20

    def __init__(self, path):
        import zlib
        self._zlib = zlib
        self._raw = open(path, "rb")
        self.name = self._raw.name
        self._inflate = zlib.decompressobj(31)
        self._pending = b""         # input not inflated yet
        self._fed = False           # the current member has had input, and no end yet
        self._error = None          # the damage found, raised by the read after the bytes before it

    def read(self, size=-1):
        if self._error is not None:
            raise self._error
        while True:
            if not self._pending:
                self._pending = self._raw.read(self.IN)
                if not self._pending:
                    if self._fed:
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                    return b""
            self._fed = True
            before = self._inflate.copy()
            try:
                out = self._inflate.decompress(self._pending, self.OUT)
            except self._zlib.error as e:
                import gzip
                self._error = gzip.BadGzipFile(str(e))
                out = self._before_damage(before, self._pending)
                if out:
                    return out
                raise self._error from None
            if self._inflate.eof:       # a member's end: the next one, if any, starts in unused_data
                self._pending = self._inflate.unused_data
                self._inflate = self._zlib.decompressobj(31)
                self._fed = False
            else:
                self._pending = self._inflate.unconsumed_tail
            if out:
                return out

    def _before_damage(self, inflate, data):
        """What ``inflate`` gives of ``data`` before the byte it fails on (a
        call that fails gives nothing): fed 4 KiB at a time, then byte by byte."""
        out = []
        for at in range(0, len(data), 4096):
            piece, again = data[at:at + 4096], inflate.copy()
            try:
                out.append(inflate.decompress(piece))
            except self._zlib.error:
                for i in range(len(piece)):
                    try:
                        out.append(again.decompress(piece[i:i + 1]))
                    except self._zlib.error:
                        break
                break
        return b"".join(out)

    def close(self):
        self._raw.close()


cdef int _PIPE_SIZE = 1 << 20


cdef void _widen_pipe(int fd):
    """A pipe of 1 MiB where Linux allows it (F_SETPIPE_SZ; the default is
    64 KiB): the feeder and the reader take turns a sixteenth as often
    (a gzip file read 3% faster than with 256 KiB).  Where it is refused
    (an unprivileged user whose pipes hold pipe-user-pages-soft, 64 MiB:
    some 60 handles on file objects open at once), the pipe stays as it
    is: only slower."""
    try:
        import fcntl
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


cdef object _open_compressed(bytes path, str name, str kind):
    """The decompressing file object for a compressed savefile."""
    if kind == "gzip":
        return _GzipMembers(path)
    if kind == "bzip2":
        import bz2
        return bz2.open(path, "rb")
    if kind == "xz":
        import lzma
        return lzma.open(path, "rb")
    import importlib
    try:
        zstandard = importlib.import_module("zstandard")
    except ImportError:
        raise _pcap_error(lp.PCAP_ERROR, f"cannot read savefile {name!r}", "it is zstd-compressed, which needs "
                          "the 'zstandard' package (pip install zstandard)", name) from None
    return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)


cdef str _compression_of(int fd):
    """gzip, bzip2, xz, zstd from a regular file's first bytes; None for others."""
    try:
        head = _os.pread(fd, 6, 0)
    except OSError:
        return None
    for magic, kind in _COMPRESSED:
        if head.startswith(magic):
            return kind
    return None


# -- one savefile in parallel: exact byte ranges ------------------------------
#
# A classic pcap file is a 24-byte header and records: a range of records
# is read as a file of its own behind that header.  A pcapng file is blocks
# whose meaning depends on blocks before them (the section header says the
# byte order, interface descriptions what each packet's interface is): a
# range is read behind the blocks that put the reader where a reader of the
# whole file stands at the range's start (pcapng_range_prefix() in
# savefile_split.c).  Both walks start at the file's start and are exact;
# the pcapng walk is the reader's own (pcapng_next_block()), so that it
# ends exactly where a read of the whole file fails.

_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"     # a section header's type: the same in both byte orders


def savefile_ranges(path, n):
    """savefile_ranges(path, n) -> list

    A list of ``n`` ``(start, end)`` pairs that split a classic pcap or a
    pcapng savefile into byte ranges for ``n`` workers, each read with
    open_range(path, start, end).  Each range starts on a record (classic)
    or block (pcapng) boundary, found by walking the file from its start
    (exact whatever the packets hold; never a guess from byte patterns),
    near an equal share of the file; they are contiguous and cover the
    whole file: the first starts at 24, after the classic file header, or
    at 0 for pcapng; each ends where the next starts; the last ends at the
    file's size.  The walk of a pcapng file is its reader's: it stops at
    the first block that reading the whole file refuses (damage, a block
    cut short), and that block stays in the range where it starts, which
    ends at the file's size (the ranges after it are empty), so that the
    ranges together give exactly the packets, and the error, of the whole
    file.  Ranges may be empty when the file has fewer records or blocks
    than ``n``.

    Raises ValueError when ``n`` < 1; PcapError for a file of neither
    format (a compressed savefile: split those by files), a path that is
    not a regular file, or a read that fails; PcapNotFoundError and the
    like when it cannot be opened.
    """
    cdef int parts = _int_arg(n, "n", 1, C_INT_MAX)
    cdef bytes bpath = _encode_name(path, "path")
    name = _os.fsdecode(bpath)
    cdef int fd
    try:
        fd = _os.open(bpath, _os.O_RDONLY | _os.O_CLOEXEC)
    except OSError as e:
        raise _os_error(e.errno, f"cannot open savefile {name!r}", name) from None
    cdef uint64_t *targets = NULL
    cdef uint64_t *out = NULL
    cdef uint64_t walked = 0
    cdef int rc, i, err = 0
    try:
        st = _os.fstat(fd)
        if not _stat.S_ISREG(st.st_mode):
            raise _pcap_error(lp.PCAP_ERROR, f"cannot split savefile {name!r}", "it is not a regular file (a pipe "
                              "or a device is read whole, from its start)", name)
        size = st.st_size
        pcapng = _os.pread(fd, 4, 0) == _PCAPNG_MAGIC
        first = 0 if pcapng else 24
        targets = <uint64_t *>malloc(parts * sizeof(uint64_t))
        out = <uint64_t *>malloc(parts * sizeof(uint64_t))
        if targets == NULL or out == NULL:
            raise MemoryError()
        body = max(size - first, 0)
        for i in range(parts - 1):
            # (No pcapng boundary at 0: an empty first range would be no file at all.)
            targets[i] = first + max(body * (i + 1) // parts, 1 if pcapng else 0)
        with nogil:
            rc = savefile_boundaries(fd, targets, parts - 1, out, &walked)
            err = errno
        if rc == -2:
            raise _pcap_error(lp.PCAP_ERROR, f"cannot split savefile {name!r}", "it is neither a classic pcap nor "
                              "a pcapng file (compressed savefiles are split by files)", name)
        if rc != 0:
            raise _os_error(err, f"cannot read savefile {name!r}", name)
        starts = [first] + [out[i] for i in range(parts - 1)]
    finally:
        free(targets)
        free(out)
        _os.close(fd)
    return [(starts[i], starts[i + 1] if i + 1 < parts else size) for i in range(parts)]


cdef bytes _pcapng_prefix(int fd, uint64_t start, str name):
    """The blocks a reader of the pcapng file on ``fd`` reads before the
    range from ``start``; ValueError when no block starts there."""
    cdef range_prefix prefix
    cdef int rc, err = 0
    with nogil:
        rc = pcapng_range_prefix(fd, start, &prefix)
        err = errno
    try:
        if rc == -3:
            raise ValueError(f"{start} is not where a block of the pcapng file {name!r} starts (walking its blocks "
                             f"from the start finds blocks at {prefix.block_before} and {prefix.block_after}): a "
                             f"range must start where savefile_ranges() says")
        if rc != 0:
            raise _os_error(err, f"cannot read savefile {name!r}", name)
        return PyBytes_FromStringAndSize(<char *>prefix.bytes, prefix.size)
    finally:
        range_prefix_free(&prefix)


class _RangeReader(_io.RawIOBase):
    """One range of savefile_ranges() as a savefile of its own: a classic
    file's 24-byte header, or the blocks that describe where a pcapng range
    starts (its section headers and interfaces), then the file's bytes from
    start to end."""

    def __init__(self, path, start, end):
        start = _int_arg(start, "start", 0, 1 << 62)
        end = _int_arg(end, "end", 0, 1 << 62)
        name = _os.fsdecode(path)
        self._fd = _os.open(path, _os.O_RDONLY | _os.O_CLOEXEC)
        try:
            size = _os.fstat(self._fd).st_size
            if _os.pread(self._fd, 4, 0) == _PCAPNG_MAGIC:
                if not 0 <= start <= end <= size:
                    raise ValueError(f"a range of a pcapng file must have 0 <= start <= end <= the file's size "
                                     f"({size}), not ({start}, {end})")
                self._head = _pcapng_prefix(self._fd, start, name)
            else:
                if not 24 <= start <= end <= size:
                    raise ValueError(f"a range must have 24 <= start <= end <= the file's size ({size}), "
                                     f"not ({start}, {end})")
                self._head = _os.pread(self._fd, 24, 0)
        except BaseException:
            _os.close(self._fd)
            self._fd = -1
            raise
        self._pos, self._end = start, end
        self.name = f"{name}[{start}:{end}]"

    def readable(self):
        return True

    def readinto(self, b):
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        want = min(len(b), self._end - self._pos)
        if want <= 0:
            return 0
        data = _os.pread(self._fd, want, self._pos)
        b[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self):
        if not self.closed and self._fd >= 0:
            _os.close(self._fd)
            self._fd = -1
        super().close()


def open_range(path, start, end, **options):
    """open_range(path, start, end, **options) -> pcap

    A handle reading one range of savefile_ranges(): the records of a
    classic savefile from byte ``start`` to ``end``, behind the file's
    header; or the blocks of a pcapng file from ``start`` to ``end``,
    behind the blocks that describe where the range starts (every section
    header and interface description before ``start``, and the last
    statistics block of each interface of the section in force), so that
    packets, time stamps, ``interface_id``, ``interfaces`` (with their
    ``section``) and errors are those of reading the whole file.
    ``options`` are pcap()'s (timestamp_in_ns...).

    A pcapng range's start is checked: open_range walks the file's blocks
    from its start up to ``start`` (reading the file that far, at about
    the speed of reading its packets) and raises ValueError when no block
    starts there.  A classic range is taken as given.  Raises
    ValueError for a range outside the file; PcapError and its subclasses
    when the file cannot be read.
    """
    reader = _RangeReader(_encode_name(path, "path"), start, end)
    return pcap(reader, **options)


cdef _SavefileSource _open_savefile(bytes path, str name):
    """Open a savefile (a regular file, a FIFO, /dev/stdin...) and choose its
    source.  A FIFO waits here, interruptibly, for its writer and header."""
    cdef const char *cpath = path
    cdef int fd, err
    what = f"savefile {name!r}"
    while True:
        with nogil:
            fd = open_readonly(cpath)
            err = errno
        if fd >= 0:
            break
        _sleep_on(-1, 0, what)
        if err != _errno.EINTR:
            raise _os_error(err, f"cannot open {what}", name)
    if is_directory(fd):
        close(fd)
        raise _os_error(_errno.EISDIR, f"cannot read {what}", name)
    kind = _compression_of(fd)
    if kind is not None:
        close(fd)
        return _open_fileobj(_open_compressed(path, name, kind), name, True)
    return _savefile_from_fd(fd, name, name, None)
