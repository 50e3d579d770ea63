# --------------------------------------------------------------------------
# Where packets go (sinks), and the one loop that takes them there.
#
# A sink receives packets: the (timestamp, packet) of iteration and ``async
# for``, a Python callback, the readpkts() list, the readbatch() columns, a
# dumper, one at a time through take(); or it is a batch (packet_batch.h) that
# the source fills itself: readinto(), next_batch() and Arrow, and counting
# (a batch with no buffers).  _deliver() moves packets from a source to a
# sink for every read there is; the turn (turn.pxi) guards it and does its
# waits, so that the break, close, deadline and signal checks each exist
# once.

cdef class _Sink:
    cdef batch_fill *batch      # not NULL: the source fills this batch (fill()); else take()

    cdef int take(self, const lp.pcap_pkthdr *hdr, const unsigned char *data, const _Clock *clock) except -1:
        raise NotImplementedError

    cdef object held(self):
        """The Python objects the read has made so far (None: none)."""
        return None


cdef class _ItemSink(_Sink):
    """One (timestamp, packet) pair: iteration, ``async for``."""
    cdef object item
    cdef _Turn turn             # where the packet's wire length is kept (pcap.wirelen)

    cdef int take(self, const lp.pcap_pkthdr *hdr, const unsigned char *data, const _Clock *clock) except -1:
        self.turn.wirelen = hdr.len
        self.item = _clock_pair(clock, hdr, data)
        return 0


cdef class _ListSink(_Sink):
    """The readpkts() list of (timestamp, packet) pairs."""
    cdef list out

    def __cinit__(self):
        self.out = []

    cdef int take(self, const lp.pcap_pkthdr *hdr, const unsigned char *data, const _Clock *clock) except -1:
        item = _clock_pair(clock, hdr, data)
        # Holds no containers: keep the collector from walking millions of
        # these in a long readpkts() list.
        PyObject_GC_UnTrack(item)
        PyList_Append(self.out, item)
        return 0

    cdef object held(self):
        return self.out


cdef class _BatchSink(_Sink):
    """The readbatch() columns: time stamps as machine numbers (int64
    nanoseconds clamped as in every fixed-width column), packets as bytes."""
    cdef list out
    cdef bytearray stamps
    cdef bytearray wirelens      # None: not asked for
    cdef bytearray ids           # the packets' interfaces; None: not asked for
    cdef _Source src

    def __cinit__(self):
        self.out = []
        self.stamps = bytearray()

    cdef int take(self, const lp.pcap_pkthdr *hdr, const unsigned char *data, const _Clock *clock) except -1:
        cdef Py_ssize_t n = PyByteArray_GET_SIZE(self.stamps)
        cdef long long ns
        cdef double sec
        PyList_Append(self.out, PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
        PyByteArray_Resize(self.stamps, n + 8)
        if clock.as_ns:
            ns = batch_stamp(hdr, clock.ns_scale)
            memcpy(PyByteArray_AS_STRING(self.stamps) + n, &ns, 8)
        else:
            sec = _clock_seconds(clock, hdr)
            memcpy(PyByteArray_AS_STRING(self.stamps) + n, &sec, 8)
        if self.wirelens is not None:
            n = PyByteArray_GET_SIZE(self.wirelens)
            PyByteArray_Resize(self.wirelens, n + 4)
            memcpy(PyByteArray_AS_STRING(self.wirelens) + n, &hdr.len, 4)
        if self.ids is not None:
            _append_u32(self.ids, self.src.packet_interface())
        return 0

    cdef object held(self):
        return self.out


cdef inline int _append_u32(bytearray out, uint32_t v) except -1:
    cdef Py_ssize_t n = PyByteArray_GET_SIZE(out)
    PyByteArray_Resize(out, n + 4)
    memcpy(PyByteArray_AS_STRING(out) + n, &v, 4)
    return 0


cdef class _CallbackSink(_Sink):
    """callback(timestamp, packet, *args) for each packet: dispatch(), loop()."""
    cdef object callback
    cdef tuple args
    cdef _Turn turn

    cdef int take(self, const lp.pcap_pkthdr *hdr, const unsigned char *data, const _Clock *clock) except -1:
        self.turn.wirelen = hdr.len
        ts = _clock_stamp(clock, hdr)
        buf = PyBytes_FromStringAndSize(<const char *>data, hdr.caplen)
        if self.args:
            self.callback(ts, buf, *self.args)
        else:
            self.callback(ts, buf)
        return 0


cdef class _DumpSink(_Sink):
    """Each packet written to a dumper as it came: time stamp, captured
    bytes and wire length, and its interface and (pcapng) options
    (dispatch() and loop() given a dumper)."""
    cdef dumper d
    cdef _Source src

    cdef int take(self, const lp.pcap_pkthdr *hdr, const unsigned char *data, const _Clock *clock) except -1:
        return self.d._write_from(self.src, hdr, data, clock)


cdef class _CountSink(_Sink):
    """Counts packets, in C: dispatch() and loop() without a callback.  A
    batch with no buffers, which the sources fill as any other."""
    cdef batch_fill f

    def __cinit__(self):
        self.f.capacity = <size_t>-1
        self.f.record_size = sizeof(batch_record)
        self.batch = &self.f


cdef class _FillSink(_Sink):
    """readinto(): fixed records in one buffer, the packets' bytes one after
    the other in another, both the caller's (packet_batch.h)."""
    cdef batch_fill f
    cdef Py_buffer records
    cdef Py_buffer data
    cdef Py_buffer comments
    cdef Py_buffer fields
    cdef bint have_records, have_data, have_comments, have_fields
    cdef _FieldsOut fields_out      # where the header fields go, or None

    def __cinit__(self):
        self.batch = &self.f
        self.f.record_size = sizeof(batch_record)

    def __dealloc__(self):
        self.release()

    cdef void release(self) noexcept:
        """Let go of the caller's buffers (a bytearray cannot be resized while held)."""
        if self.have_records:
            PyBuffer_Release(&self.records)
            self.have_records = False
        if self.have_data:
            PyBuffer_Release(&self.data)
            self.have_data = False
        if self.have_comments:
            PyBuffer_Release(&self.comments)
            self.have_comments = False
        if self.fields_out is not None:
            self.fields_out.finish()
        if self.have_fields:
            PyBuffer_Release(&self.fields)
            self.have_fields = False

    cdef int columns(self, bytearray stamps, bytearray caplens, bytearray wirelens, bytearray offsets,
                     Py_ssize_t capacity) except -1:
        """Instead of records (open() given None), the time stamps, caplens
        and wire lengths of up to capacity packets straight into these
        (Arrow's columns), and where each one's bytes end in data into
        offsets (None: no data column); the caller holds them, unresized,
        until the fill ends."""
        if self.f.records != NULL or self.f.record_size != sizeof(batch_record):
            raise ValueError("columns come instead of narrow records")
        self.f.columns.stamps = <int64_t *>PyByteArray_AS_STRING(stamps)
        self.f.columns.caplens = <uint32_t *>PyByteArray_AS_STRING(caplens)
        self.f.columns.wirelens = <uint32_t *>PyByteArray_AS_STRING(wirelens)
        self.f.columns.offsets = <int32_t *>PyByteArray_AS_STRING(offsets) if offsets is not None else NULL
        if offsets is not None:
            self.f.columns.offsets[0] = 0
        self.f.capacity = capacity
        return 0

    cdef int open(self, records, data, Py_ssize_t largest, const _Clock *clock, bint wide=False,
                  comments=None, fields=None, int dlt=0, int community_id=-1, _FieldsOut fields_out=None) except -1:
        """records None: columns() says where the packets go.  data None:
        the records only.  fields a buffer: each packet's
        header fields there, FIELDS_DTYPE records (packet_fields.h), of
        link type dlt, with its Community ID of the seed community_id
        (-1: none); or fields_out: where they go, for as many packets as
        the records hold."""
        if wide:
            self.f.record_size = sizeof(batch_record_ng)
        if comments is not None:
            if not wide:
                raise ValueError("comments come with interfaces=True")
            _get_buffer(comments, &self.comments, PyBUF_WRITABLE, "comments")
            self.have_comments = True
            self.f.comments = <unsigned char *>self.comments.buf
            self.f.comments_size = self.comments.len
        if records is not None:
            _get_buffer(records, &self.records, PyBUF_WRITABLE, "records")
            self.have_records = True
            self.f.records = <unsigned char *>self.records.buf
            self.f.capacity = self.records.len // self.f.record_size
        if data is not None:
            _get_buffer(data, &self.data, PyBUF_WRITABLE, "data")
            self.have_data = True
            if self.data.len < largest:
                raise ValueError(f"data must hold at least one packet of the snaplen, {largest} bytes, "
                                 f"not {self.data.len}")
            self.f.data = <unsigned char *>self.data.buf
            self.f.size = self.data.len
            self.f.largest = largest
        if fields is not None:
            _get_buffer(fields, &self.fields, PyBUF_WRITABLE, "fields")
            self.have_fields = True
            self.f.capacity = min(self.f.capacity, <size_t>self.fields.len // sizeof(packet_fields))
            fields_out = _FieldsOut.records(<unsigned char *>self.fields.buf, None, community_id)
        if fields_out is not None:
            self.fields_out = fields_out
            self.f.fields = &fields_out.plan
            self.f.dlt = dlt
        self.f.ns_scale = clock.ns_scale
        return 0


cdef Py_ssize_t _deliver(_Turn turn, _Sink sink, Py_ssize_t cnt, int wait, double deadline) except -1:
    """Move up to ``cnt`` packets (no limit when cnt <= 0) from the source
    of ``turn`` to ``sink``; return how many.  Ends early at the end of a
    savefile, on breakloop() or close(), when ``deadline`` (monotonic ms, 0
    for none) passes, when a batch is full, and as ``wait`` says when
    nothing is there; turn.stop says which, turn.moved how many packets
    went (also when it raised)."""
    cdef _Source src
    cdef batch_fill *f = sink.batch
    cdef lp.pcap_pkthdr *hdr
    cdef const unsigned char *data
    cdef Py_ssize_t n = 0, before, dropped = 0
    cdef int rc, why = _GO
    cdef Triage triage
    turn.moved = 0
    src = turn.take()
    try:
        while True:
            if turn.broken or turn.closed:
                why = turn.why()
                if why != _GO:
                    break
            if cnt > 0 and n >= cnt:
                why = _STOP_COUNT
                break
            triage = turn.triage      # (read each time: a callback may set another)
            if f == NULL:
                if src.waits:
                    # It waits inside libpcap: other calls wait for it, as for a fill.
                    if turn.waiting:
                        turn.let_in()
                    turn.in_fill = True
                    try:
                        rc = src.next(wait, &hdr, &data)
                    finally:
                        turn.in_fill = False
                else:
                    rc = src.next(wait, &hdr, &data)
                if rc == _PACKET:
                    if triage is not None and not triage_packet(&triage.t, data, hdr.caplen, hdr.len,
                                                                src.packet_dlt()):
                        dropped += 1
                        if dropped & 1023 == 0:
                            why = turn.checkpoint()
                            if why != _GO:
                                break
                        continue
                    sink.take(hdr, data, &src.clock)
                    n += 1
                    if n == cnt:
                        why = _STOP_COUNT
                        break
                    if n & 1023 == 0:
                        why = turn.checkpoint()
                        if why != _GO:
                            break
                    continue
            else:
                if not batch_has_room(f):
                    why = _STOP_COUNT
                    break
                before = f.count
                if turn.waiting and src.waits:
                    turn.let_in()
                f.triage = &triage.t if triage is not None else NULL
                f.dlt = src.packet_dlt()    # (a pcapng or merging source sets it per packet)
                turn.in_fill = True
                try:
                    rc = src.fill(wait, f, _SLICE if cnt <= 0 or cnt - n > _SLICE else cnt - n)
                finally:
                    turn.in_fill = False
                    n += f.count - before      # (also when fill() raised after packets)
                if f.too_large:
                    raise _too_long(src.what, f.too_large, f.size)
            if rc == _FULL:
                why = _STOP_COUNT
                break
            if rc == _END:
                why = _STOP_END
                src.at_end()
                break
            if rc == _PACKET or rc == _SKIPPED:
                # A slice of C work is done: run signal handlers, see close().
                why = turn.checkpoint()
                if why != _GO:
                    break
                continue
            if wait == _WAIT_NEVER or (wait == _WAIT_FIRST and n > 0):
                why = _STOP_IDLE
                break
            why = turn.wait(src.fd, deadline)
            if why != _GO:
                break
    finally:
        turn.stop = why
        turn.moved = n
        turn.give()
    return n


cdef Py_ssize_t _deliver_keeping(_Turn turn, _Sink sink, Py_ssize_t cnt, int wait, double deadline) except -1:
    """_deliver() for a sink that gives its packets back (a list, columns,
    a batch): a source error after some packets returns those, and the
    next read raises it.  An exception from elsewhere (Ctrl-C's
    KeyboardInterrupt, a signal handler's) ends the read at once and takes
    the packets made so far along as its ``packets_read``: freeing millions
    of them would hold it up for most of a second, and the code that
    catches it may want them."""
    try:
        return _deliver(turn, sink, cnt, wait, deadline)
    except PcapError as e:
        if turn.moved == 0:
            raise
        turn.pending = e
        return turn.moved
    except BaseException as e:
        held = sink.held()
        if held and hasattr(e, "__dict__"):
            e.packets_read = held
        raise
