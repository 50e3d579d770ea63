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


cdef object _open_compressed(bytes path, str name, str kind):
    """The decompressing file object for a compressed savefile."""
    if kind == "gzip":
        import gzip
        return gzip.open(path, "rb")
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

def savefile_ranges(path, n):
    """savefile_ranges(path, n) -> list

    A list of ``(start, end)`` pairs that split a classic pcap savefile
    into ``n`` byte ranges for ``n`` workers:
    each starts on a record boundary, found by walking the records' headers
    from the first (exact whatever the packets hold; never a guess from
    byte patterns), and together they are the whole file after its 24-byte
    header: the first starts at 24, each ends where the next starts, the
    last ends at the file's size (a record cut short, or damage, stays in
    the range where it starts).  Ranges may be empty when the file has
    fewer records than ``n``.  Read one with open_range(path, start, end).
    Raises ValueError when ``n`` < 1, PcapError for a file that is not
    classic pcap (pcapng, a compressed file: split those by files).
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
    cdef int rc, i
    try:
        size = _os.fstat(fd).st_size
        targets = <uint64_t *>malloc(parts * sizeof(uint64_t))
        out = <uint64_t *>malloc(parts * sizeof(uint64_t))
        if targets == NULL or out == NULL:
            raise MemoryError()
        body = max(size - 24, 0)
        for i in range(parts - 1):
            targets[i] = 24 + body * (i + 1) // parts
        with nogil:
            rc = savefile_boundaries(fd, targets, parts - 1, out, &walked)
        if rc == -2:
            raise _pcap_error(lp.PCAP_ERROR, f"cannot split savefile {name!r}", "it is not a classic pcap file "
                              "(pcapng and compressed savefiles are split by files)", name)
        if rc != 0:
            raise _os_error(errno, f"cannot read savefile {name!r}", name)
        starts = [24] + [out[i] for i in range(parts - 1)]
    finally:
        free(targets)
        free(out)
        _os.close(fd)
    return [(starts[i], starts[i + 1] if i + 1 < parts else size) for i in range(parts)]


class _RangeReader(_io.RawIOBase):
    """The 24-byte file header of a classic savefile, then its bytes from
    start to end: one range of savefile_ranges() as a savefile of its own."""

    def __init__(self, path, start, end):
        start = _int_arg(start, "start", 0, 1 << 62)
        end = _int_arg(end, "end", 0, 1 << 62)
        self._fd = _os.open(path, _os.O_RDONLY | _os.O_CLOEXEC)
        size = _os.fstat(self._fd).st_size
        if not 24 <= start <= end <= size:
            _os.close(self._fd)
            raise ValueError(f"a range must have 24 <= start <= end <= the file's size ({size}), "
                             f"not ({start}, {end})")
        self._head = _os.pread(self._fd, 24, 0)
        self._pos, self._end = start, end
        self.name = f"{_os.fsdecode(path)}[{start}:{end}]"

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

    A handle reading the records of a classic savefile from byte ``start``
    to ``end`` (a range of savefile_ranges()), as a savefile of its own with
    the file's header; ``options`` are pcap()'s (timestamp_in_ns...).
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
