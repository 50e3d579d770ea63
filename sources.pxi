# --------------------------------------------------------------------------
# Where packets come from.
#
# A source is two methods, and never waits: the read loop (delivery.pxi)
# does every wait, on the source's descriptor, through the handle's turn
# (turn.pxi).
#
#   next(mode, &hdr, &data)   the next packet, or why there is none now
#   fill(mode, batch, limit)  up to ``limit`` packets into a batch
#                             (packet_batch.h), without the GIL where the
#                             source can; a source that cannot falls back
#                             on its own next()
#
# ``mode`` is how the running read waits (_WAIT_*): a live source that has
# just emptied the kernel's ring does not ask it again for a read that
# waits next anyway.  One source per way of reading, chosen once at open:
#
#   _LiveSource      a live interface: pcap_dispatch() copies what the ring
#                    holds into a queue (or straight into a batch)
#   _RecordSource    a classic pcap or pcapng savefile (a file or a pipe),
#                    read from our own buffer by record_next() (pcap_stream.h)
#                    or pcapng_next() (pcapng_records.h); the odd record or
#                    block, libpcap reads from the same position
#   _LibpcapSource   everything else libpcap reads (the old and modified
#                    pcap formats, pcapng of interfaces our reader cannot
#                    follow, link types whose pseudo-headers libpcap
#                    rewrites), through a FILE over that buffer
#
# Each source owns its clock: the unit of its time stamp fraction, and the
# handle's choice of float seconds or int nanoseconds.

cdef enum:
    _PACKET = 1         # next(): *hdr and *data are set (valid until the next call); fill(): packets were added
    _NOTHING_YET = 0    # nothing now: wait until fd is readable, then ask again
    _END = -1           # no more packets: the savefile has ended
    _SKIPPED = 2        # records were passed over (filter): ask again, after the checks

cdef enum:
    _WAIT_NEVER = 0     # what is there now: nonblocking reads, ``async for``
    _WAIT_FIRST = 1     # wait for a first packet, then take what is there (live dispatch)
    _WAIT_ALL = 2       # wait until cnt packets or the end (loop, iteration, savefiles)

cdef enum:
    # How many records one call may pass over or add to a batch before it
    # returns, so that the loop checks signals, breakloop() and close().
    _SLICE = 65536


cdef struct _Clock:
    long long ns_scale      # nanoseconds per unit of the time stamp fraction (tv_usec)
    double divisor          # units of the fraction per second
    bint as_ns              # timestamps as int nanoseconds (timestamp_in_ns)

cdef inline void _clock_set(_Clock *c, int precision) noexcept:
    if precision == lp.PCAP_TSTAMP_PRECISION_NANO:
        c.ns_scale, c.divisor = 1, 1e9
    else:
        c.ns_scale, c.divisor = 1000, 1e6

@cython.cdivision(True)
cdef inline double _clock_seconds(const _Clock *c, const lp.pcap_pkthdr *hdr) noexcept:
    return <double>hdr.ts.tv_sec + <double>hdr.ts.tv_usec / c.divisor

cdef inline object _clock_pair(const _Clock *c, const lp.pcap_pkthdr *hdr, const unsigned char *data):
    """(timestamp, packet), the timestamp as _clock_stamp() makes it."""
    cdef long long sec = hdr.ts.tv_sec
    if not c.as_ns:
        return packet_pair_seconds(_clock_seconds(c, hdr), data, hdr.caplen)
    if -NS_SAFE_SECONDS < sec < NS_SAFE_SECONDS:
        return packet_pair_ns(batch_stamp(hdr, c.ns_scale), data, hdr.caplen)
    return _pair(_clock_stamp(c, hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))

cdef inline object _clock_stamp(const _Clock *c, const lp.pcap_pkthdr *hdr):
    """The time stamp as Python gets it one packet at a time: float seconds,
    or int nanoseconds, exact also past 2262 (pcapng seconds are 64-bit).
    Fixed-width int64 columns (readbatch(), readinto(), Arrow) clamp
    instead: batch_stamp()."""
    cdef long long sec = hdr.ts.tv_sec
    if not c.as_ns:
        return PyFloat_FromDouble(_clock_seconds(c, hdr))
    if -NS_SAFE_SECONDS < sec < NS_SAFE_SECONDS:
        return PyLong_FromLongLong(batch_stamp(hdr, c.ns_scale))
    return <object>sec * 1000000000 + <object>(<long long>hdr.ts.tv_usec * c.ns_scale)


cdef class _Source:
    cdef lp.pcap_t *p       # libpcap's handle: the live one, or the savefile libpcap opened
    cdef int fd             # readable when packets may be waiting; -1 when reads never wait
    cdef bint live
    cdef _Clock clock
    cdef int write_precision   # the precision a copy of this capture is written with
    cdef str what           # "packets from 'eth0'", "savefile 'x.pcap'": for messages
    cdef object filename    # a savefile's name, for OSError.filename; None when live

    cdef int next(self, int mode, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        raise NotImplementedError

    cdef int fill(self, int mode, batch_fill *f, Py_ssize_t limit) except -3:
        """Add up to ``limit`` packets to ``f``, which has room for one:
        _PACKET when it added some or passed records over, else what next()
        said.  This one takes them from next(), with the GIL."""
        cdef lp.pcap_pkthdr *hdr
        cdef const unsigned char *data
        cdef Py_ssize_t n = 0
        cdef int rc = _PACKET
        while n < limit and batch_has_room(f) and not f.too_large:
            rc = self.next(mode, &hdr, &data)
            if rc != _PACKET:
                break
            batch_put(f, hdr, data)
            n += 1
        return _PACKET if n else rc

    cdef int set_filter(self, lp.bpf_program *prog) except -1:
        """Apply ``prog``, a program compiled for this handle; frees it."""
        cdef int rc = lp.pcap_setfilter(self.p, prog)
        lp.pcap_freecode(prog)
        return _check(self.p, rc, f"set filter on {self.what}")

    cdef int fileno(self):
        return self.fd

    cdef int at_end(self) except -1:
        """At the end of the packets: raise what ended them early, if anything."""
        return 0

    cdef int read_error(self, int rc) except -1:
        return _check(self.p, rc, f"reading {self.what}", self.filename)

    cdef void release(self) noexcept:
        if self.p != NULL:
            lp.pcap_close(self.p)
            self.p = NULL
        self.fd = -1

    def __dealloc__(self):
        self.release()


cdef class _LiveSource(_Source):
    """Packets from the kernel.  next() hands out a queue that one
    pcap_dispatch() fills with what the ring holds (at most one batch);
    fill() has pcap_dispatch() copy straight into the caller's batch."""
    cdef packet_queue q
    cdef lp.bpf_program qprog   # a filter set while packets were queued: applied to them
    cdef bint qprog_set
    cdef bint drained           # the last dispatch took all there was: wait before asking

    cdef int next(self, int mode, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        cdef queued_packet *qp
        while True:
            while self.q.next < self.q.count:
                qp = &self.q.packets[self.q.next]
                self.q.next += 1
                if self.qprog_set and not lp.pcap_offline_filter(&self.qprog, &qp.hdr, self.q.data + qp.offset):
                    continue
                hdr[0] = &qp.hdr
                data[0] = self.q.data + qp.offset
                return _PACKET
            if self.drained and mode != _WAIT_NEVER:
                # The read waits next, and poll() says when more has come;
                # libpcap would first ask the kernel again, for nothing.
                self.drained = False
                return _NOTHING_YET
            if self._refill() == 0:
                return _NOTHING_YET

    cdef int _refill(self) except -1:
        cdef int rc
        self._forget_queue_filter()
        if self.q.packets == NULL and queue_init(&self.q, lp.pcap_snapshot(self.p)) < 0:
            raise MemoryError()
        rc = queue_dispatch(self.p, &self.q)
        if rc != lp.PCAP_ERROR_BREAK:
            self.read_error(rc)
        if self.q.too_large:
            self.q.too_large = 0
            raise _too_long(self.what, 0)
        self.drained = <size_t>rc < self.q.batch
        return self.q.count

    cdef int fill(self, int mode, batch_fill *f, Py_ssize_t limit) except -3:
        cdef int cnt, rc
        if self.q.next < self.q.count:
            return _Source.fill(self, mode, f, limit)   # the queued packets first, in order
        cnt = <int>min(<Py_ssize_t>batch_room(f), limit, 0x7fffffff)
        with nogil:
            rc = batch_dispatch(self.p, cnt, f)
        if rc != lp.PCAP_ERROR_BREAK:
            self.read_error(rc)
        return _PACKET if rc == cnt else _NOTHING_YET

    cdef int set_filter(self, lp.bpf_program *prog) except -1:
        cdef int rc = lp.pcap_setfilter(self.p, prog)
        if rc == 0:
            self._forget_queue_filter()
        if rc == 0 and self.q.next < self.q.count:
            # Packets the kernel gave before: they are read with the new filter too.
            self.qprog = prog[0]
            self.qprog_set = True
        else:
            lp.pcap_freecode(prog)
        return _check(self.p, rc, f"set filter on {self.what}")

    cdef void _forget_queue_filter(self) noexcept:
        if self.qprog_set:
            lp.pcap_freecode(&self.qprog)
            self.qprog_set = False

    cdef void release(self) noexcept:
        self._forget_queue_filter()
        queue_free(&self.q)
        _Source.release(self)


cdef _LiveSource _open_live(bytes bname, str name, int snaplen, bint promisc, int timeout_ms,
                            bint immediate, bint rfmon, int buffer_size):
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef _LiveSource src = _LiveSource.__new__(_LiveSource)
    cdef lp.pcap_t *p
    cdef int rc
    src.live = True
    src.what = f"packets from {name!r}"
    errbuf[0] = 0
    p = lp.pcap_create(bname, errbuf)
    if p == NULL:
        raise _pcap_error(lp.PCAP_ERROR, f"cannot open {name!r}", _text(errbuf))
    src.p = p      # closed by src from here on
    on = f"on {name!r}"
    _check(p, lp.pcap_set_snaplen(p, snaplen), f"set snaplen {on}")
    _check(p, lp.pcap_set_promisc(p, 1 if promisc else 0), f"set promiscuous mode {on}")
    _check(p, lp.pcap_set_timeout(p, _buffer_timeout(timeout_ms)), f"set timeout {on}")
    _check(p, lp.pcap_set_immediate_mode(p, 1 if immediate else 0), f"set immediate mode {on}")
    if rfmon:
        _check(p, lp.pcap_set_rfmon(p, 1), f"set monitor mode {on}")
    if buffer_size == 0 and immediate:
        buffer_size = _immediate_buffer_size(bname, snaplen)
    if buffer_size > 0:
        _check(p, lp.pcap_set_buffer_size(p, buffer_size), f"set buffer size {on}")
    # Nanosecond stamps where the platform has them; microseconds otherwise.
    lp.pcap_set_tstamp_precision(p, lp.PCAP_TSTAMP_PRECISION_NANO)
    rc = lp.pcap_activate(p)
    if rc == lp.PCAP_ERROR_PERM_DENIED and not _is_device(bname):
        # Without the privilege libpcap fails before it looks at the name:
        # a mistyped one is the error to report, not the privilege.
        rc = lp.PCAP_ERROR_NO_SUCH_DEVICE
        lp.pcap_geterr(p)[0] = 0
    if rc == lp.PCAP_ERROR_NO_SUCH_DEVICE:
        detail = _text(lp.pcap_geterr(p)) or _text(lp.pcap_statustostr(rc))
        raise _pcap_error(rc, f"cannot open {name!r}", f"no capture device and no savefile of that name ({detail})")
    _check(p, rc, f"cannot open {name!r}")
    if rc > 0:
        import warnings
        warnings.warn(f"{name}: {_text(lp.pcap_statustostr(rc))} {_text(lp.pcap_geterr(p))}".strip(),
                      RuntimeWarning, stacklevel=3)
    # libpcap itself is always nonblocking: every wait is ours, so that it
    # can be bounded, interrupted and timed out.
    _check(p, lp.pcap_setnonblock(p, 1, errbuf), f"cannot make {name!r} nonblocking", None, errbuf)
    src.fd = lp.pcap_get_selectable_fd(p)
    src.write_precision = lp.pcap_get_tstamp_precision(p)
    _clock_set(&src.clock, src.write_precision)
    return src


cdef int _buffer_timeout(int timeout_ms):
    """libpcap's timeout for a handle of ``timeout_ms``.  It is the kernel's
    buffer timeout: Linux (TPACKET_V3) hands a ring block of packets over
    when it is full or when this timer, which ticks from activation, fires.
    pypcap passes timeout_ms on, so that a call returns about timeout_ms
    worth of packets, up to timeout_ms late, and a packet that arrives
    within a call's timeout_ms may still miss it.  Here our own clock
    enforces timeout_ms as a deadline, and the buffer timeout is at most
    BUFFER_TIMEOUT_MS: a packet reaches Python within that, and the call
    that is waiting when it arrives returns it."""
    if timeout_ms <= 0:
        return BUFFER_TIMEOUT_MS
    return min(timeout_ms, BUFFER_TIMEOUT_MS)


cdef bint _is_device(bytes bname) except -1:
    """Whether libpcap could open ``bname``: a network interface, or one of
    its other devices (any, nflog, usbmon1, ...); needs no privilege."""
    return is_interface_name(bname) or _os.fsdecode(bname) in findalldevs()


cdef int _immediate_buffer_size(bytes device, int snaplen):
    """Immediate mode on Linux gives every packet a ring frame of its own,
    as big as the snaplen up to the MTU: libpcap's 2 MiB default holds 31
    of lo's.  Room for IMMEDIATE_FRAMES of them, within IMMEDIATE_BUDGET."""
    cdef size_t frame = immediate_frame_size(device, snaplen)
    if frame == 0:
        return 0
    return <int>max(LIBPCAP_DEFAULT_BUFFER, min(IMMEDIATE_FRAMES * frame, IMMEDIATE_BUDGET))


cdef class _SavefileSource(_Source):
    """A savefile's descriptor and our buffer of its bytes (pcap_stream.h)."""
    cdef savefile_stream *s
    cdef bint ended          # the file ended, or a damaged record ended it
    cdef object feeder       # what feeds a file object's pipe (fileobj.pxi), else None

    cdef int at_end(self) except -1:
        if self.feeder is not None and self.feeder.error is not None:
            raise _feed_error(self.feeder.error, self.what) from self.feeder.error
        return 0

    cdef int read_error(self, int rc) except -1:
        # (Called with a failure only.)  What the file object raised
        # explains a stream cut short.
        self.at_end()
        return _Source.read_error(self, rc)

    cdef int fileno(self):
        return self.s.fd if self.s != NULL else -1

    cdef void release(self) noexcept:
        _Source.release(self)        # libpcap closes its FILE, which leaves s alone
        if self.s != NULL:
            if self.s.fd >= 0:
                close(self.s.fd)
            stream_free(self.s)
            free(self.s)
            self.s = NULL


cdef object _feed_error(object error, str what):
    return _pcap_error(lp.PCAP_ERROR, f"reading {what}", f"its file object raised {type(error).__name__}: {error}")


cdef inline void _unsigned_stamps(lp.pcap_pkthdr *hdr) noexcept:
    # Classic pcap time stamp fields are unsigned 32-bit (the format, and
    # libpcap from 1.10.5); earlier libpcaps sign-extend them.
    hdr.ts.tv_sec = <uint32_t>hdr.ts.tv_sec
    hdr.ts.tv_usec = <uint32_t>hdr.ts.tv_usec


cdef class _RecordSource(_SavefileSource):
    """Records read here, from our buffer: classic pcap (record_next) or
    pcapng (pcapng_next); any record they do not read plainly, libpcap
    reads from the stream's position (_libpcap_record)."""
    cdef record_reader reader
    cdef pcapng_reader ng
    cdef bint is_ng
    cdef lp.bpf_program prog     # the filter, applied here: libpcap never sees these records
    cdef bint prog_set

    cdef int next(self, int mode, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        cdef int rc = self._record(hdr, data)
        if rc == RECORD_PACKET:
            if not self.prog_set or lp.pcap_offline_filter(&self.prog, hdr[0], data[0]):
                return _PACKET
            return self._next_matching(hdr, data)
        return _NOTHING_YET if rc == RECORD_WAIT else _END

    cdef inline int _record(self, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        cdef int rc = pcapng_next(&self.ng, hdr, data) if self.is_ng else record_next(&self.reader, hdr, data)
        if rc == RECORD_LIBPCAP:
            rc = self._libpcap_record(hdr, data)
        return rc

    cdef int _libpcap_record(self, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        """libpcap reads the record at the stream's position: one that is
        cut short, longer than the snapshot length or impossible; in pcapng,
        the blocks up to the next packet that is not plain (the readers
        make sure they have all come)."""
        cdef int rc
        if self.ended:
            return RECORD_END
        self.s.limit = self.s.end            # a pipe: all that has come
        clearerr(lp.pcap_file(self.p))
        rc = lp.pcap_next_ex(self.p, hdr, data)
        if rc == 1:
            if not self.is_ng:
                _unsigned_stamps(hdr[0])
            return RECORD_PACKET
        self.ended = True                    # a damaged record ends the file, as with libpcap
        if rc == lp.PCAP_ERROR_BREAK:
            return RECORD_END
        self.read_error(rc)

    cdef int _next_matching(self, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        cdef int rc
        cdef int examined = 1
        while examined < _SLICE:
            rc = self._record(hdr, data)
            if rc != RECORD_PACKET:
                return _NOTHING_YET if rc == RECORD_WAIT else _END
            if lp.pcap_offline_filter(&self.prog, hdr[0], data[0]):
                return _PACKET
            examined += 1
        return _SKIPPED

    cdef int fill(self, int mode, batch_fill *f, Py_ssize_t limit) except -3:
        # The plain records without the GIL; a record that needs more (a
        # pipe to wait for, libpcap's reading, the end) through next().
        cdef const lp.bpf_program *prog = &self.prog if self.prog_set else NULL
        cdef size_t looked = 0
        if not self.ended:
            with nogil:
                if self.is_ng:
                    looked = pcapng_fill(&self.ng, f, prog, <size_t>limit)
                else:
                    looked = record_fill(&self.reader, f, prog, <size_t>limit)
        if looked:
            return _PACKET
        return _Source.fill(self, mode, f, 1)

    cdef int set_filter(self, lp.bpf_program *prog) except -1:
        if self.prog_set:
            lp.pcap_freecode(&self.prog)
        self.prog = prog[0]
        self.prog_set = True
        return 0

    cdef void release(self) noexcept:
        if self.prog_set:
            lp.pcap_freecode(&self.prog)
            self.prog_set = False
        _SavefileSource.release(self)


cdef class _LibpcapSource(_SavefileSource):
    cdef bint classic        # a classic pcap file: time stamp fields are unsigned

    cdef int next(self, int mode, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        cdef savefile_stream *s = self.s
        cdef int rc
        if self.ended:
            return _END
        while True:
            clearerr(lp.pcap_file(self.p))      # its end may have been only the end of what had come
            rc = lp.pcap_next_ex(self.p, hdr, data)
            if rc == 1:
                if self.classic:
                    _unsigned_stamps(hdr[0])
                return _PACKET
            if rc != lp.PCAP_ERROR_BREAK:
                self.ended = True
                self.read_error(rc)
            # The end of a unit, and of what libpcap was shown.  A pipe may
            # have brought more: show libpcap the units now whole (it would
            # block in fread() in the middle of one).
            if not _show_more(s):
                if stream_may_grow(s):
                    return _NOTHING_YET
                self.ended = True
                return _END


cdef bint _show_more(savefile_stream *s) noexcept:
    """Once libpcap has read all it was shown of a pipe: show it the units
    that have come whole since (all of it once the pipe has ended); whether
    there are any."""
    cdef size_t need
    if not s.is_pipe:
        return False             # a regular file: libpcap is shown all of it
    need = stream_frame(s)
    if s.limit <= s.pos and stream_may_grow(s):
        stream_fill(s, max(need, s.end - s.pos + 1))     # (may move pos and limit)
        stream_frame(s)
    return s.limit > s.pos


cdef _SavefileSource _savefile_from_fd(int fd, str name, object filename, object feeder):
    """The source for the savefile open on ``fd`` (which it owns from here)."""
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef savefile_stream *s
    cdef _SavefileSource src, holder
    cdef _RecordSource rsrc
    cdef lp.pcap_t *p
    cdef FILE *fp
    cdef int ng_plain
    what = f"savefile {name!r}"
    s = <savefile_stream *>calloc(1, sizeof(savefile_stream))
    if s == NULL or stream_init(s, fd) < 0:
        close(fd)
        free(s)
        raise MemoryError()
    # Until the source is chosen, `holder` owns the stream, its descriptor
    # and libpcap's handle, and frees them if anything fails.
    holder = _SavefileSource.__new__(_SavefileSource)
    holder.s = s
    holder.feeder = feeder
    holder.filename = filename
    holder.what = what
    while not stream_open_ready(s):
        _sleep_on(fd, WAIT_SLICE_MS, what)
    if s.err:
        raise _os_error(s.err, f"cannot read {what}", filename)
    # A file object that failed: not here, where its header and packets may
    # still be in the pipe, but when a read reaches the point of failure
    # (at_end()), or when the header is cut short (in _open_fileobj()).
    head = PyBytes_FromStringAndSize(<char *>s.buf + s.pos, min(s.limit - s.pos, 65536))
    # Classic files are opened in their own units, so that libpcap hands
    # over their time stamp fields as they are; pcapng in nanoseconds.
    precision = _savefile_precision(head)
    open_precision = precision if s.format == FORMAT_PCAP else lp.PCAP_TSTAMP_PRECISION_NANO
    s.serve_all = not s.is_pipe
    # pcapng whose first interface we can read is read here, else libpcap
    # reads it all, through a buffer.
    rsrc = _RecordSource.__new__(_RecordSource)
    ng_plain = pcapng_reader_scan(&rsrc.ng, s)
    fp = stream_file(s, s.format == FORMAT_PCAPNG and not ng_plain)
    if fp == NULL:
        raise MemoryError()
    errbuf[0] = 0
    p = lp.pcap_fopen_offline_with_tstamp_precision(fp, open_precision, errbuf)
    if p == NULL:
        fclose(fp)
        raise _pcap_error(lp.PCAP_ERROR, f"cannot read {name!r} as a savefile", _text(errbuf), filename)
    holder.p = p
    stream_opened(s, p)
    rsrc.is_ng = s.format == FORMAT_PCAPNG
    if (pcapng_reader_init(&rsrc.ng, p) if rsrc.is_ng and ng_plain else record_reader_init(&rsrc.reader, s, p)):
        src = rsrc
    else:
        src = _LibpcapSource.__new__(_LibpcapSource)
        (<_LibpcapSource>src).classic = s.format == FORMAT_PCAP
    src.s, src.p = holder.s, holder.p
    holder.s, holder.p = NULL, NULL
    src.feeder = feeder
    src.fd = fd if s.is_pipe else -1
    src.what = what
    src.filename = filename
    _clock_set(&src.clock, open_precision)
    src.write_precision = precision
    return src


def _savefile_precision(bytes head):
    """The time stamp precision a savefile was written with, from its first
    bytes: the magic number of a classic pcap file, if_tsresol of the first
    interface of a pcapng file (microseconds when it has none)."""
    import struct
    if head[:4] in (b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1"):
        return PCAP_TSTAMP_PRECISION_NANO
    if head[:4] != b"\x0a\x0d\x0d\x0a" or len(head) < 12:
        return PCAP_TSTAMP_PRECISION_MICRO
    order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    pos = 0
    while pos + 12 <= len(head):
        btype, blen = struct.unpack_from(order + "II", head, pos)
        if blen < 12:
            break
        if btype == 1:   # interface description block: options after 8 bytes of fields
            opt, end = pos + 16, pos + blen - 4
            while opt + 4 <= min(end, len(head)):
                code, olen = struct.unpack_from(order + "HH", head, opt)
                if code == 0:
                    break
                if code == 9 and olen >= 1 and opt + 4 < len(head):
                    resol = head[opt + 4]
                    digits = resol if resol < 128 else (resol & 0x7f) * 0.30103
                    return PCAP_TSTAMP_PRECISION_NANO if digits > 6 else PCAP_TSTAMP_PRECISION_MICRO
                opt += 4 + olen + (-olen % 4)
            break
        pos += blen
    return PCAP_TSTAMP_PRECISION_MICRO
