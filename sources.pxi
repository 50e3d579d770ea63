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
#   _RecordSource    a classic pcap savefile (a file or a pipe), read from
#                    our own buffer by record_next() (pcap_stream.h); the
#                    odd record, libpcap reads from the same position
#   _PcapngSource    a pcapng savefile, read from our own buffer by
#                    pcapng_next() (pcapng_reader.h): every section and
#                    interface, and what the file says of each packet
#   _LibpcapSource   everything else libpcap reads (the old and modified
#                    pcap formats, link types whose pseudo-headers libpcap
#                    rewrites), through a FILE over that buffer
#
# Each source owns its clock: the unit of its time stamp fraction, and the
# handle's choice of float seconds or int nanoseconds.

cdef enum:
    _PACKET = 1         # next(): *hdr and *data are set (valid until the next call); fill(): packets were added
    _NOTHING_YET = 0    # nothing now: wait until fd is readable, then ask again
    _END = -1           # no more packets: the savefile has ended
    _SKIPPED = 2        # records were passed over (filter): ask again, after the checks
    _FULL = 3           # fill(): the next packet does not fit what is left of the batch; it waits for the next

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
    cdef str device         # a live handle's interface, else None
    cdef object filename    # a savefile's name, for OSError.filename; None when live
    cdef int direction      # what setdirection() chose (PCAP_D_*; PCAP_D_INOUT: both)
    cdef bint waits         # next() and fill() wait inside libpcap (rpcap, remote.pxi): the loop does not
    cdef object tstamp_type # a live handle's time stamp type (PCAP_TSTAMP_*) when one was chosen, else None
    cdef void *event        # Windows: a live handle's event (wait.h), waited on instead of fd; else NULL
    cdef int slice_ms       # the longest single wait, when libpcap requires one shorter than WAIT_SLICE_MS; else 0

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

    cdef int set_filter(self, lp.bpf_program *prog, bytes expr, bint optimize) except -1:
        """Apply ``prog``, the program of ``expr`` compiled for this
        handle; frees it."""
        cdef int rc = lp.pcap_setfilter(self.p, prog)
        lp.pcap_freecode(prog)
        return _check(self.p, rc, f"set filter on {self.what}")

    cdef int fileno(self):
        return self.fd

    cdef list interfaces(self):
        """The interfaces packets come from (pcapng.pxi): the handle's one."""
        return [interface_description(0, lp.pcap_datalink(self.p), lp.pcap_snapshot(self.p), 0,
                                      1000000000 if self.write_precision == lp.PCAP_TSTAMP_PRECISION_NANO
                                      else 1000000, 0, name=self.device,
                                      comments=() if self.tstamp_type is None else
                                      [_tstamp_comment(self.tstamp_type)])]

    cdef unsigned int packet_interface(self):
        """The interface index of the packet last read."""
        return 0

    cdef int packet_dlt(self):
        """The link type (DLT_) of the packet last read."""
        return lp.pcap_datalink(self.p)

    cdef dict packet_options(self):
        """{option code: [values]} of the packet last read (pcapng.pxi)."""
        return {}

    cdef pcapng_reader *packet_reader(self) noexcept:
        """The pcapng reader that read the packet last read (its options
        are copied from there); NULL when none did."""
        return NULL

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

    cdef int fileno(self):
        if self.fd < 0:
            raise _pcap_error(lp.PCAP_ERROR, f"fileno of {self.what}",
                              f"libpcap gives this handle no selectable descriptor on {PLATFORM_NAME.decode()}: "
                              f"read it in a thread of its own (each read waits with the GIL released)")
        return self.fd

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

    cdef int set_filter(self, lp.bpf_program *prog, bytes expr, bint optimize) except -1:
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
                            bint immediate, bint rfmon, int buffer_size, int tstamp_type=-1, int protocol=-1):
    """The live source of interface ``name``; ``tstamp_type`` (PCAP_TSTAMP_*)
    and ``protocol`` (an ethertype) are -1 when not chosen."""
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef _LiveSource src = _LiveSource.__new__(_LiveSource)
    cdef lp.pcap_t *p
    cdef int rc
    cdef live_wait w
    if protocol >= 0 and not PLATFORM_LINUX_FEATURES:
        raise _pcap_error(lp.PCAP_ERROR, f"capture only protocol {protocol:#06x} on {name!r}",
                          f"protocol= is pcap_set_protocol_linux(), Linux's: not on {_PLATFORM}; "
                          f"setfilter('ether proto {protocol:#06x}') keeps that protocol instead")
    if protocol >= 0 and not CAPTURE_PROTOCOL:
        raise _pcap_error(lp.PCAP_ERROR, f"capture only protocol {protocol:#06x} on {name!r}",
                          f"this module was built against a libpcap without pcap_set_protocol_linux() (libpcap "
                          f"1.9 and later have it, on Linux): setfilter('ether proto {protocol:#06x}') keeps "
                          f"that protocol instead")
    src.live = True
    src.what = f"packets from {name!r}"
    src.device = name
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
    if tstamp_type >= 0:
        src.tstamp_type = _set_tstamp_type(p, name, tstamp_type)
    if protocol >= 0:
        _check(p, capture_protocol(p, protocol), f"capture only protocol {protocol:#06x} {on}")
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
    if tstamp_type >= 0:
        _check(p, rc, f"cannot open {name!r} with time stamp type {_tstamp_name(tstamp_type)!r}")
        if rc == lp.PCAP_WARNING_TSTAMP_TYPE_NOTSUP:
            # (Linux: the driver refused hardware time stamps; libpcap stamps in software.)
            src.tstamp_type = lp.PCAP_TSTAMP_HOST
            _warn_tstamp_type(p, name, tstamp_type, rc)
            rc = 0
    _check(p, rc, f"cannot open {name!r}")
    if rc == lp.PCAP_WARNING and PLATFORM_LINUX_FEATURES and lp.pcap_fileno(p) < 0:
        # libpcap before 1.9 on Linux: a capture ring it could not map (a small buffer_size) fails
        # the activation, closes the socket, and returns PCAP_WARNING all the same.
        raise _pcap_error(lp.PCAP_ERROR, f"cannot open {name!r}",
                          f"{_text(lp.pcap_geterr(p))} ({_text(lp.pcap_lib_version())} closed the capture but "
                          f"called it a warning; a larger buffer_size opens it)")
    if rc > 0:
        import warnings
        warnings.warn(f"{name}: {_text(lp.pcap_statustostr(rc))} {_text(lp.pcap_geterr(p))}".strip(),
                      RuntimeWarning, stacklevel=3)
    # libpcap itself is always nonblocking: every wait is ours, so that it
    # can be bounded, interrupted and timed out.
    _check(p, lp.pcap_setnonblock(p, 1, errbuf), f"cannot make {name!r} nonblocking", None, errbuf)
    live_wait_init(p, &w)
    src.fd, src.event = w.fd, w.event
    src.slice_ms = w.slice_ms if w.slice_ms < WAIT_SLICE_MS else 0
    src.write_precision = lp.pcap_get_tstamp_precision(p)
    _clock_set(&src.clock, src.write_precision)
    return src


cdef object _set_tstamp_type(lp.pcap_t *p, str name, int tstamp_type):
    """Ask the created handle ``p`` for time stamps of ``tstamp_type``: the
    type it will stamp with, the default (PCAP_TSTAMP_HOST) after a
    warning when the interface does not offer that one."""
    cdef int rc = lp.pcap_set_tstamp_type(p, tstamp_type)
    _check(p, rc, f"set time stamp type {_tstamp_name(tstamp_type)!r} on {name!r}")
    if rc == lp.PCAP_WARNING_TSTAMP_TYPE_NOTSUP:
        _warn_tstamp_type(p, name, tstamp_type, rc)
        return lp.PCAP_TSTAMP_HOST
    return tstamp_type


cdef int _warn_tstamp_type(lp.pcap_t *p, str name, int tstamp_type, int rc) except -1:
    import warnings
    offers = ", ".join(_tstamp_name(t) for t in _tstamp_offers(p, name))
    warnings.warn(f"{name}: time stamp type {_tstamp_name(tstamp_type)!r}: {_text(lp.pcap_statustostr(rc))} "
                  f"({name} offers {offers}); capturing with host time stamps", RuntimeWarning)
    return 0


cdef list _tstamp_offers(lp.pcap_t *p, str name):
    """The time stamp types (PCAP_TSTAMP_*) the interface of the created
    handle ``p`` offers."""
    cdef int *types = NULL
    cdef int n = _check(p, lp.pcap_list_tstamp_types(p, &types), f"list time stamp types of {name!r}")
    try:
        # (No choice: host alone, which libpcap 1.8 says with an empty list.)
        return [types[i] for i in range(n)] if n > 0 else [lp.PCAP_TSTAMP_HOST]
    finally:
        if types != NULL:
            lp.pcap_free_tstamp_types(types)


cdef str _tstamp_name(int tstamp_type):
    cdef const char *s = lp.pcap_tstamp_type_val_to_name(tstamp_type)
    return _text(s) if s != NULL else str(tstamp_type)


cdef str _tstamp_comment(int tstamp_type):
    """The comment (if_comment) a pcapng copy gives a live interface whose
    time stamp type was chosen: no pcapng option says it."""
    cdef const char *d = lp.pcap_tstamp_type_val_to_description(tstamp_type)
    return f"tstamp_type={_tstamp_name(tstamp_type)} ({_text(d) if d != NULL else 'unknown'})"


cdef int _tstamp_type_arg(object value) except -2:
    """tstamp_type= of pcap(): -1 for None, else a PCAP_TSTAMP_* value, from
    one or from a name as libpcap spells it (any case)."""
    cdef int v
    if value is None:
        return -1
    if isinstance(value, str):
        v = -1 if "\0" in value else lp.pcap_tstamp_type_name_to_val(value.encode("ascii", "replace"))
        if v < 0:
            raise ValueError(f"tstamp_type must be one of {', '.join(map(repr, _tstamp_known()))} "
                             f"or a PCAP_TSTAMP_* value, not {value!r}")
        return v
    if not PyIndex_Check(value) or isinstance(value, bool):
        raise TypeError(f"tstamp_type must be a name (str) or a PCAP_TSTAMP_* value (int), "
                        f"not {type(value).__name__}")
    v = _int_arg(value, "tstamp_type", 0, C_INT_MAX)
    if lp.pcap_tstamp_type_val_to_name(v) == NULL:
        raise ValueError(f"tstamp_type must be a PCAP_TSTAMP_* value this libpcap knows "
                         f"({', '.join(map(repr, _tstamp_known()))}), not {value!r}")
    return v


cdef list _tstamp_known():
    """The names of the time stamp types this libpcap knows."""
    cdef int v
    return [_tstamp_name(v) for v in range(TSTAMP_HOST_HIPREC_UNSYNCED + 1)
            if lp.pcap_tstamp_type_val_to_name(v) != NULL]


cdef int _live_only(int tstamp_type, int protocol, str name) except -1:
    """Refuse the options of live capture (-1: not given) on savefile ``name``."""
    if tstamp_type >= 0:
        raise ValueError(f"tstamp_type is for live capture: {name!r} is a savefile, whose time stamps "
                         f"were taken when it was written")
    if protocol >= 0:
        raise ValueError(f"protocol is for live capture: {name!r} is a savefile (setfilter('ether proto "
                         f"...') keeps one protocol of it)")
    return 0


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
    """Classic pcap records read here, from our buffer (record_next); any
    record it does not read plainly, libpcap reads from the stream's
    position (_libpcap_record)."""
    cdef record_reader reader
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
        cdef int rc
        if self.ended:
            return RECORD_END    # (a record libpcap refused ended the file: what follows it is no record)
        rc = record_next(&self.reader, hdr, data)
        if rc == RECORD_LIBPCAP:
            rc = self._libpcap_record(hdr, data)
        return rc

    cdef int _libpcap_record(self, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        """libpcap reads the record at the stream's position: one that is
        cut short, longer than the snapshot length or impossible (the
        reader makes sure all of it has come)."""
        cdef int rc
        cdef char why[lp.PCAP_ERRBUF_SIZE]
        if self.ended:
            return RECORD_END
        if not STREAM_HAS_FILE:
            # No FILE for libpcap to read it from (Windows, the simulated
            # build): a record longer than the snapshot length is cut here
            # as libpcap cuts it; any other is refused, saying why.
            if record_cut(&self.reader, hdr, data):
                _unsigned_stamps(hdr[0])
                return RECORD_PACKET
            self.ended = True
            self.at_end()
            record_refusal(&self.reader, why)
            raise _pcap_error(lp.PCAP_ERROR, f"reading {self.what}", _text(why), self.filename)
        self.s.limit = self.s.end            # a pipe: all that has come
        clearerr(lp.pcap_file(self.p))
        rc = lp.pcap_next_ex(self.p, hdr, data)
        if rc == 1:
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
                looked = record_fill(&self.reader, f, prog, <size_t>limit)
        if looked:
            return _PACKET
        return _Source.fill(self, mode, f, 1)

    cdef int set_filter(self, lp.bpf_program *prog, bytes expr, bint optimize) except -1:
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


cdef class _PcapngSource(_SavefileSource):
    """pcapng read here, from our buffer (pcapng_reader.h): every section
    and interface; libpcap only opened the file.  A filter is compiled once
    for each link type and snapshot length among the interfaces, and each
    packet is tested with its own interface's program."""
    cdef pcapng_reader ng
    cdef bytes filter_expr         # None: no filter
    cdef bint filter_optimize
    cdef dict programs             # (dlt, snaplen) -> bpf, for the filter
    cdef object view               # the interfaces as Python sees them (pcapng.pxi), for ng.changes
    cdef unsigned int view_changes

    cdef lp.pcap_pkthdr *held_hdr  # a packet read that did not fit a batch: the next read's first
    cdef const unsigned char *held_data

    cdef int next(self, int mode, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        cdef int rc
        cdef int examined = 0
        if self.held_hdr != NULL:
            hdr[0], data[0] = self.held_hdr, self.held_data
            self.held_hdr = NULL
            return _PACKET
        if self.ended:
            return _END     # (after a damaged block, or an interface the filter does not compile for)
        while examined < _SLICE:
            rc = pcapng_next(&self.ng, hdr, data)
            if rc == RECORD_PACKET:
                if pcapng_passes(&self.ng, self.ng.packet_iface, hdr[0], data[0]):
                    return _PACKET
                examined += 1
                continue
            if rc == RECORD_INTERFACE:
                self._filter_interfaces()
                continue
            return self._not_a_packet(rc)
        return _SKIPPED

    cdef int _not_a_packet(self, int rc) except -3:
        if rc == RECORD_WAIT:
            return _NOTHING_YET
        self.ended = True
        if rc == RECORD_ERROR:
            self.at_end()
            raise _pcap_error(lp.PCAP_ERROR, f"reading {self.what}", _text(self.ng.err), self.filename)
        return _END

    cdef int fill(self, int mode, batch_fill *f, Py_ssize_t limit) except -3:
        cdef size_t looked = 0
        cdef lp.pcap_pkthdr *hdr
        cdef const unsigned char *data
        cdef int rc
        if self.held_hdr == NULL and not self.ended:
            with nogil:
                looked = pcapng_fill(&self.ng, f, <size_t>limit)
        if not looked:
            # What pcapng_fill() does not take (another block first, a
            # packet that must be waited for or does not fit): one packet
            # through next().
            rc = self.next(mode, &hdr, &data)
            if rc != _PACKET:
                return rc
            if not pcapng_put(&self.ng, f, hdr, data):
                self.held_hdr, self.held_data = hdr, data   # (nothing is read before it goes)
                return _FULL
        if f.comments_too_large:
            self.ended = True
            raise _pcap_error(lp.PCAP_ERROR, f"reading {self.what}", f"a packet's comments of "
                              f"{f.comments_too_large} bytes do not fit in the batch's {f.comments_size} bytes "
                              f"for comments: give the batch more room (max_bytes)", self.filename)
        return _PACKET

    cdef int set_filter(self, lp.bpf_program *prog, bytes expr, bint optimize) except -1:
        # The program compiled for the first interface's link type stays
        # unused: each interface gets one for its own.
        lp.pcap_freecode(prog)
        programs = {}
        self._compile_for(0, programs, expr, optimize)   # every interface so far, or raise
        self.programs, self.filter_expr, self.filter_optimize = programs, expr, optimize
        self._point_interfaces(0)
        self.ng.filtering = 1
        return 0

    cdef int _compile_for(self, unsigned int first, dict programs, bytes expr, bint optimize) except -1:
        cdef unsigned int k
        cdef pcapng_interface *i
        for k in range(first, self.ng.count):
            i = &self.ng.iface[k]
            key = (i.dlt, _compile_snaplen(i.snaplen))
            if key not in programs:
                try:
                    programs[key] = bpf(expr, key[0], key[1], optimize)
                except PcapError as e:
                    raise _pcap_error(lp.PCAP_ERROR, f"compile filter {expr.decode('utf-8', 'replace')!r} "
                                      f"for interface {k} of {self.what} (link type {i.linktype})",
                                      str(e), self.filename) from None
        return 0

    cdef void _point_interfaces(self, unsigned int first) noexcept:
        cdef unsigned int k
        cdef pcapng_interface *i
        cdef bpf b
        for k in range(first, self.ng.count):
            i = &self.ng.iface[k]
            b = <bpf>self.programs[(i.dlt, _compile_snaplen(i.snaplen))]
            i.prog = &b._prog
        self.ng.unfiltered = self.ng.count
        self.ng.ready = self.ng.count

    cdef int _filter_interfaces(self) except -1:
        """Interfaces described since the filter was set: their programs."""
        try:
            self._compile_for(self.ng.unfiltered, self.programs, self.filter_expr, self.filter_optimize)
        except PcapError:
            self.ended = True
            raise
        self._point_interfaces(self.ng.unfiltered)
        return 0

    cdef list interfaces(self):
        if self.held_hdr == NULL and not self.ended:
            pcapng_read_ahead(&self.ng)
        if self.view is None or self.view_changes != self.ng.changes:
            self.view = _pcapng_interfaces(&self.ng)
            self.view_changes = self.ng.changes
        return list(self.view)

    cdef unsigned int packet_interface(self):
        return self.ng.packet_iface

    cdef int packet_dlt(self):
        return self.ng.iface[self.ng.packet_iface].dlt if self.ng.packet_iface < self.ng.count else -1

    cdef dict packet_options(self):
        return _pcapng_packet_options(&self.ng)

    cdef pcapng_reader *packet_reader(self) noexcept:
        return &self.ng

    cdef void release(self) noexcept:
        pcapng_reader_free(&self.ng)    # (C only: this runs from __dealloc__ too)
        _SavefileSource.release(self)


cdef inline int _compile_snaplen(unsigned int snaplen) noexcept:
    """The snapshot length a filter is compiled with for an interface's."""
    return MAXIMUM_SNAPLEN if snaplen == 0 or snaplen > MAXIMUM_SNAPLEN else snaplen


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
    cdef _PcapngSource ngsrc = None
    cdef lp.pcap_t *p
    cdef FILE *fp
    cdef size_t start
    cdef bint dead = False
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
    if s.format == FORMAT_PCAPNG:
        ngsrc = _PcapngSource.__new__(_PcapngSource)
        pcapng_reader_init(&ngsrc.ng, s, lp.PCAP_TSTAMP_PRECISION_NANO)
    # The precision a copy is written with: the file's own.  Classic files
    # are opened in their own units, so that libpcap hands over their time
    # stamp fields as they are; pcapng in nanoseconds.
    precision = _savefile_precision(s, ngsrc)
    open_precision = precision if s.format == FORMAT_PCAP else lp.PCAP_TSTAMP_PRECISION_NANO
    s.serve_all = not s.is_pipe
    # libpcap opens every file, so that what it refuses at once it refuses
    # in its own words.  It reads pcapng's first blocks, which our reader
    # then reads again: the stream keeps them.
    # Where libpcap cannot read our buffer (STREAM_HAS_FILE 0: Windows, the
    # simulated build), the header is read here and libpcap gets a dead
    # handle of the file's link type; our readers read every record.
    start = s.pos
    fp = NULL
    errbuf[0] = 0
    if STREAM_HAS_FILE:
        s.hold = s.format == FORMAT_PCAPNG
        fp = stream_file(s, False)
        if fp == NULL:
            raise MemoryError()
        p = lp.pcap_fopen_offline_with_tstamp_precision(fp, open_precision, errbuf)
        s.hold = False
    else:
        p = stream_open_dead(s, open_precision, errbuf)
    if p == NULL:
        if fp != NULL:
            fclose(fp)
        # A pcapng file that libpcap refuses although it is sound, as
        # Wireshark reads it (interfaces of other link types or snapshot
        # lengths, odd options, no interface at all), is read here all the same.
        s.pos = start
        if ngsrc is not None and (not STREAM_HAS_FILE or _text(errbuf).startswith(_PCAPNG_SOUND_REFUSALS)):
            p = _pcapng_dead(&ngsrc.ng)
            dead = True
            if p == NULL and not STREAM_HAS_FILE:
                raise _pcap_error(lp.PCAP_ERROR, f"cannot read {name!r} as a savefile", _text(ngsrc.ng.err),
                                  filename)
        if p == NULL:
            raise _pcap_error(lp.PCAP_ERROR, f"cannot read {name!r} as a savefile", _text(errbuf), filename)
    holder.p = p
    stream_opened(s, p)
    if ngsrc is not None and (dead or not link_type_post_processed(lp.pcap_datalink(p), s.swapped)):
        s.pos = start       # our reader reads it all, from its section header
        pcapng_read_ahead(&ngsrc.ng)    # (so that p.interfaces is there at once)
        src = ngsrc
    else:
        rsrc = _RecordSource.__new__(_RecordSource)
        if s.format == FORMAT_PCAP and record_reader_init(&rsrc.reader, s, p):
            src = rsrc
        elif not STREAM_HAS_FILE:
            raise _pcap_error(lp.PCAP_ERROR, f"cannot read {name!r} as a savefile",
                              f"its link type ({_text(lp.pcap_datalink_val_to_name(lp.pcap_datalink(p))) or lp.pcap_datalink(p)}) "
                              f"is one whose records libpcap rewrites or limits as it reads them, and on "
                              f"{_PLATFORM} libpcap cannot read from the module's buffer", filename)
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


# What libpcap says when it refuses a pcapng file at once that is sound as
# Wireshark reads it (sf-pcapng.c, 1.8 to 1.10): a file with no interface,
# or with interface options it finds odd.
_PCAPNG_SOUND_REFUSALS = ("the capture file has no Interface Description Blocks",
                          "Interface Description Block has")


cdef lp.pcap_t *_pcapng_dead(pcapng_reader *r) noexcept:
    """The handle of a pcapng file that libpcap refused but our reader
    reads: the first interface's link type and snapshot length (DLT_NULL
    for a file with no interface, which has no packets); NULL when the file
    is damaged after all."""
    cdef int linktype
    cdef unsigned int snaplen
    cdef uint64_t tsresol
    if not pcapng_first_interface(r, &linktype, &snaplen, &tsresol):
        return NULL
    if linktype < 0:
        linktype, snaplen = lp.DLT_NULL, 0
    return lp.pcap_open_dead_with_tstamp_precision(dlt_of_linktype(linktype), _compile_snaplen(snaplen),
                                                   lp.PCAP_TSTAMP_PRECISION_NANO)


cdef int _savefile_precision(savefile_stream *s, _PcapngSource ngsrc):
    """The time stamp precision a savefile was written with: from the magic
    number of a classic file, the if_tsresol of a pcapng file's first
    interface (microseconds when it has none)."""
    cdef int linktype
    cdef unsigned int snaplen
    cdef uint64_t tsresol = 1000000
    cdef uint32_t magic = 0
    if ngsrc is not None:
        pcapng_first_interface(&ngsrc.ng, &linktype, &snaplen, &tsresol)
        ngsrc.ng.err[0] = 0
    elif s.end - s.pos >= 4:
        memcpy(&magic, s.buf + s.pos, 4)
    if tsresol > 1000000 or magic == PCAP_MAGIC_NANO or magic == swap32(PCAP_MAGIC_NANO):
        return lp.PCAP_TSTAMP_PRECISION_NANO
    return lp.PCAP_TSTAMP_PRECISION_MICRO
