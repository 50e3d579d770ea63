# --------------------------------------------------------------------------
# A rotating recorder: a source's packets into files that follow one
# another by time, size or packet count (tcpdump -G/-C/-W, dumpcap -b),
# each written by a dumper of the handle's (dump_open), so every packet is
# copied in C by the read loop of delivery.pxi; only the check of the
# limits is added to each packet, and a rotation (rare) is Python.

import time as _time

# The suffixes a sequence number goes in front of when the pattern has no {n}.
_RECORD_SUFFIXES = (".pcapng", ".pcap", ".ntar", ".cap", ".gz", ".zst", ".zstd")
# Packets one read of the recorder takes before it looks at the flush, count and stop time.
cdef int _RECORD_CHUNK = 65536


cdef class _RecordSink(_Sink):
    """Each packet into the open file of the recording, a new file first
    when the open one is full (rotate_*)."""
    cdef dumper d
    cdef _Source src
    cdef object rec                 # the _Recording: opens and closes the files
    cdef long long rotate_packets   # 0: no limit
    cdef long long rotate_bytes
    cdef int64_t rotate_ns
    cdef long long file_packets     # packets in the open file
    cdef int64_t file_start_ns      # the time stamp of its first packet
    cdef uint64_t drained           # bytes handed to a file object (compressed output)
    cdef long long total

    cdef inline uint64_t file_bytes(self):
        """Bytes of the open file so far (before compression), held ones too."""
        return self.d.w.written + self.d.w.used + self.drained

    cdef int take(self, const lp.pcap_pkthdr *hdr, const unsigned char *data, const _Clock *clock) except -1:
        cdef int64_t ts = batch_stamp(hdr, clock.ns_scale)
        if self.d is None or (self.file_packets and (
                (self.rotate_packets and self.file_packets >= self.rotate_packets)
                or (self.rotate_bytes and self.file_bytes() >= <uint64_t>self.rotate_bytes)
                or (self.rotate_ns and ts - self.file_start_ns >= self.rotate_ns))):
            self.rec._next_file(ts)
            self.file_packets = 0
            self.file_start_ns = ts
            self.drained = 0
        if self.d._file is not None and self.d.w.used + hdr.caplen + 65600 >= self.d.w.drain_at:
            # (Drained here, not inside the write, so that file_bytes() counts it.)
            self.drained += self.d.w.used
            self.d._drain()
        self.d._write_from(self.src, hdr, data, clock)
        self.file_packets += 1
        self.total += 1
        return 0


class _Recording:
    """The files of one record() call: names, opening, closing, keep."""

    def __init__(self, handle, pattern, fmt, compress, keep, on_file, numbered):
        self.handle = handle
        self.pattern = pattern
        self.format = fmt
        self.compress = compress
        self.keep = keep
        self.on_file = on_file
        self.numbered = numbered
        self.seq = 0
        self.open_path = None
        self.files = []
        self.sink = None

    def name(self, int64_t ts):
        pattern = self.pattern
        if self.numbered and "{n" not in pattern:
            stem, suffix = pattern, ""
            while stem.lower().endswith(_RECORD_SUFFIXES):
                cut = stem.rindex(".")
                stem, suffix = stem[:cut], stem[cut:] + suffix
            pattern = stem + "_{n:05d}" + suffix
        return _time.strftime(pattern, _time.localtime(ts // 1000000000)).format(n=self.seq)

    def _next_file(self, int64_t ts):
        cdef _RecordSink sink = self.sink
        self.close_file()
        path = self.name(ts)
        if path in self.files or path == self.open_path:
            raise ValueError(f"the pattern {self.pattern!r} names {path!r} again: give it a {{n}} field "
                             f"or a finer time")
        sink.d = self.handle.dump_open(path, format=self.format, compress=self.compress)
        self.open_path = path
        self.seq += 1

    def close_file(self):
        """Close the open file (its statistics, flushed whole), and let keep
        delete the oldest."""
        cdef _RecordSink sink = self.sink
        if sink.d is None:
            return
        d, sink.d = sink.d, None
        path, self.open_path = self.open_path, None
        try:
            d.close()
        except OSError:
            _cut_to_whole(path, d)      # (a full disk: the flush at close failed)
            raise
        finally:
            self.files.append(path)
            if self.on_file is not None:
                self.on_file(path)
            while self.keep and len(self.files) > self.keep:
                old = self.files.pop(0)
                try:
                    _os.unlink(old)
                except FileNotFoundError:
                    pass

    def flush(self):
        cdef _RecordSink sink = self.sink
        if sink.d is not None:
            sink.drained += sink.d.w.used if sink.d._file is not None else 0
            sink.d.flush()

    def salvage(self):
        """After a write failed (a full disk): close the open file without
        writing more, and cut it to its last whole record, so that it holds
        every packet that reached the disk whole."""
        cdef _RecordSink sink = self.sink
        cdef dumper d = sink.d
        if d is None:
            return None
        sink.d = None
        path, self.open_path = self.open_path, None
        d._shut(False)
        _cut_to_whole(path, d)
        self.files.append(path)
        if self.on_file is not None:
            self.on_file(path)
        return path


cdef int _cut_to_whole(str path, dumper d) except -1:
    """Truncate an uncompressed savefile to its last whole record or block."""
    cdef uint64_t target, found, walked
    cdef int fd
    if d._compress is not None:
        return 0
    fd = _os.open(path, _os.O_RDWR | _os.O_CLOEXEC)
    try:
        target = _os.fstat(fd).st_size
        if savefile_boundaries(fd, &target, 1, &found, &walked) == 0 and walked < target:
            _os.ftruncate(fd, walked)
    finally:
        _os.close(fd)
    return 0


def record(source, pattern, *, rotate_seconds=None, rotate_bytes=None, rotate_packets=None, keep=None,
           format=None, compress=None, count=None, duration=None, filter=None, flush_seconds=1.0,
           on_file=None):
    """record(source, pattern, *, rotate_seconds=None, rotate_bytes=None, rotate_packets=None, keep=None, format=None, compress=None, count=None, duration=None, filter=None, flush_seconds=1.0, on_file=None) -> list of str

    Record the packets of ``source`` into files named by ``pattern``,
    starting a new file when the open one spans ``rotate_seconds`` of
    packet time, holds ``rotate_bytes`` or more, or holds
    ``rotate_packets`` packets (tcpdump's -G, -C and -c per file, dumpcap's
    -b), and return the paths of the finished files that are kept, oldest
    first.

    source -- an interface name or a savefile path (opened with pcap.pcap,
            then closed), or an open pcap handle (left open).
    pattern -- a file name, through time.strftime() with the local time of
            the file's first packet, then str.format() with ``n``, the
            file's sequence number from 0 (``"cap-%Y%m%d-%H%M%S-{n:03d}.pcap"``;
            other braces doubled).  A pattern without an ``{n}`` field
            gets ``_{n:05d}`` in front of its suffixes (.pcap, .pcapng.gz
            and the like) when a rotation is asked for.
    keep -- keep only the last ``keep`` files (the open one included):
            the oldest finished one is deleted when a new one would make
            more (tcpdump -W, dumpcap -b files:N).
    format, compress -- as dump_open(): "pcap" or "pcapng" (the default
            from the pattern's suffix), "gzip" or "zstd".  pcapng files of a
            live capture end with its statistics (stats()) as each closes.
    count -- stop after this many packets; duration -- after this many
            seconds; filter -- a BPF filter set on a source opened here.
    flush_seconds -- write out what the open file holds at least this
            often (0: after every read), so that a recorder killed with
            SIGKILL leaves it whole up to a packet that recent.
    on_file -- called with each path as its file is finished, before keep
            deletes any.

    Each packet goes into exactly one file: a rotation closes the open
    file whole (flushed, statistics written) before the next one opens.
    A file opens with its first packet: no packet, no file; and a file of
    a live capture that goes quiet stays open until the next packet.  It
    ends at the end of a savefile, after count packets or duration
    seconds, on breakloop() or close() of the handle: then the open file
    is closed whole and its path is the last of the list.  Ctrl-C (or any
    exception) closes it the same way and propagates, with the finished
    files as its ``recorded`` attribute.  A failed write (a full disk) or
    a file that cannot be opened (an unwritable directory) stops the
    recording with that OSError (``recorded`` as well): the open file is
    cut to its last whole packet, every packet that reached the disk kept.
    """
    cdef _RecordSink sink = _RecordSink.__new__(_RecordSink)
    cdef pcap h
    cdef bint own = False
    cdef long long c_count = 0, n
    cdef double deadline = 0, last_flush, flush_ms
    if not isinstance(pattern, (str, bytes, _os.PathLike)):
        raise TypeError(f"pattern must be a path (str, bytes or os.PathLike), not {type(pattern).__name__}")
    pattern = _os.fsdecode(pattern)
    if rotate_seconds is not None:
        sink.rotate_ns = <int64_t>(_positive_number(rotate_seconds, "rotate_seconds") * 1e9)
    if rotate_bytes is not None:
        sink.rotate_bytes = _int_arg(rotate_bytes, "rotate_bytes", 1, 0x7fffffffffffffff)
    if rotate_packets is not None:
        sink.rotate_packets = _int_arg(rotate_packets, "rotate_packets", 1, 0x7fffffffffffffff)
    c_keep = None if keep is None else _int_arg(keep, "keep", 1, 0x7fffffffffffffff)
    if count is not None:
        c_count = _int_arg(count, "count", 1, 0x7fffffffffffffff)
    flush_ms = 0 if flush_seconds == 0 else _positive_number(flush_seconds, "flush_seconds") * 1e3
    c_duration = None if duration is None else _positive_number(duration, "duration")
    if on_file is not None and not callable(on_file):
        raise TypeError(f"on_file must be callable, not {type(on_file).__name__}")
    fmt, compress = _format_of(pattern, format, compress)
    if isinstance(source, pcap):
        h = <pcap>source
        h._handle()
        if filter is not None:
            raise ValueError("filter is for a source opened here: set it on the handle (setfilter())")
    elif isinstance(source, (str, bytes, _os.PathLike)):
        h = pcap(source, timeout_ms=0)
        own = True
        if filter is not None:
            h.setfilter(filter)
    else:
        raise TypeError(f"source must be an interface name, a savefile path or a pcap handle, "
                        f"not {type(source).__name__}")
    numbered = bool(sink.rotate_ns or sink.rotate_bytes or sink.rotate_packets)
    rec = _Recording(h, pattern, fmt, compress, c_keep, on_file, numbered)
    rec.sink = sink
    sink.rec = rec
    try:
        rec.name(0)
    except (KeyError, IndexError, ValueError, AttributeError) as e:
        if own:
            h.close()
        raise ValueError(f"pattern {pattern!r} cannot name a file: {type(e).__name__}: {e}") from None
    sink.src = h._src
    try:
        try:
            if c_duration is not None:
                deadline = monotonic_ms() + c_duration * 1e3
            last_flush = monotonic_ms()
            while True:
                n = _RECORD_CHUNK
                if c_count:
                    n = min(n, c_count - sink.total)
                wait_until = monotonic_ms() + (flush_ms if flush_ms else 1000)
                if deadline and deadline < wait_until:
                    wait_until = deadline
                _deliver(h._turn, sink, n, _WAIT_FIRST, wait_until if h._src.live else 0)
                stop = h._turn.stop
                if monotonic_ms() - last_flush >= flush_ms:
                    rec.flush()
                    last_flush = monotonic_ms()
                if stop in (_STOP_END, _STOP_BREAK, _STOP_CLOSED):
                    break
                if c_count and sink.total >= c_count:
                    break
                if deadline and monotonic_ms() >= deadline:
                    break
            rec.close_file()
        except OSError:
            if sink.d is None:      # a file that could not be opened: the one before is whole
                raise
            # A write that failed: what reached the disk stays, whole.
            rec.salvage()
            raise
        except BaseException:
            rec.close_file()
            raise
    except BaseException as e:
        if hasattr(e, "__dict__"):
            e.recorded = list(rec.files)
        raise
    finally:
        if own:
            h.close()
    return list(rec.files)
