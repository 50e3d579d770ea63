# --------------------------------------------------------------------------
# Savefiles from Python file objects, and compressed savefiles.
#
# pcap.pcap(f) reads any binary file object (io.BytesIO, gzip.open(...),
# bz2, lzma, zstandard readers, fsspec files); a path whose first bytes are
# gzip, bzip2, xz or zstd opens decompressed.  A feeder thread copies the
# object's bytes into a pipe, and the handle reads the other end as it reads
# any pipe (sources.pxi): every read path, the filter, the bounded and
# interruptible waits, pcapng through libpcap's own parser.  Whatever the
# object raises (a damaged gzip stream, a network error) is raised by the
# read that reaches that point, after the packets before it.

_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"),
               (b"\x28\xb5\x2f\xfd", "zstd"))


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
                        _time_sleep(0.001)
                        continue
                    chunk = view[:n]
                else:
                    chunk = f.read(1 << 16)
                    if chunk is None:
                        _time_sleep(0.001)
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


cdef object _feed_error(object error, str what):
    return PcapError(f"reading {what}: its file object raised {type(error).__name__}: {error}")


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
        raise PcapError(f"cannot read savefile {name!r}: it is zstd-compressed, which needs the "
                        f"'zstandard' package (pip install zstandard)") from None
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
