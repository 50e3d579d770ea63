# --------------------------------------------------------------------------
# Where packets go, and the one loop that takes them there.
#
# A sink receives packets: the (timestamp, packet) of next() and ``async
# for``, a Python callback, the readpkts() list, the readbatch() columns, a
# count, a dumper.  _deliver() moves packets from the handle's source to a
# sink; dispatch(), loop(), iteration, readpkts(), readbatch() and ``async
# for`` all go through it, so that the read turn, the waits, and the break,
# close, deadline and signal checks each exist once, here.

cdef enum:
    _WAIT_NEVER = 0     # what is there now: nonblocking reads, ``async for``
    _WAIT_FIRST = 1     # wait for a first packet, then take what is there (live dispatch)
    _WAIT_ALL = 2       # wait until cnt packets or the end (loop, iteration, savefiles)

cdef enum:
    # Why a delivery ended (pcap._stop).
    _STOP_COUNT = 0     # cnt packets delivered
    _STOP_IDLE = 1      # nothing there, and no (more) waiting: the mode, or the deadline
    _STOP_END = 2       # the savefile ended
    _STOP_BREAK = 3     # breakloop()
    _STOP_CLOSED = 4    # close()


cdef class _Sink:
    """Counts packets, in C (dispatch() and loop() without a callback)."""
    cdef Py_ssize_t count
    cdef bint counts_only      # the source may count for it: nothing per packet
    cdef bint keeps_packets    # a failure after some packets: return those, raise next time
    cdef bint bounded          # has_room() can end the delivery before cnt
    cdef bint fills            # a _FillSink: the source may fill it itself

    def __cinit__(self):
        self.counts_only = True

    cdef bint has_room(self):
        return True

    cdef int take(self, pcap h, const lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
        self.count += 1
        return 0


cdef class _ItemSink(_Sink):
    """One (timestamp, packet) pair: next(), ``async for``."""
    cdef object item

    def __cinit__(self):
        self.counts_only = False

    cdef int take(self, pcap h, const lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
        h._wirelen = hdr.len
        self.item = _pair(h._timestamp(hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
        self.count += 1
        return 0


cdef class _ListSink(_Sink):
    """The readpkts() list of (timestamp, packet) pairs."""
    cdef list out

    def __cinit__(self):
        self.counts_only = False
        self.keeps_packets = True
        self.out = []

    cdef int take(self, pcap h, const lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
        item = _pair(h._timestamp(hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
        # Holds no containers: keep the collector from walking millions of
        # these in a long readpkts() list.
        PyObject_GC_UnTrack(item)
        PyList_Append(self.out, item)
        self.count += 1
        return 0


cdef class _BatchSink(_Sink):
    """The readbatch() columns: time stamps as machine numbers, packets as bytes."""
    cdef list out
    cdef bytearray stamps
    cdef bytearray wirelens      # None: not asked for

    def __cinit__(self):
        self.counts_only = False
        self.keeps_packets = True
        self.out = []
        self.stamps = bytearray()

    cdef int take(self, pcap h, const lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
        cdef Py_ssize_t n = PyByteArray_GET_SIZE(self.stamps)
        cdef long long ns
        cdef double sec
        PyList_Append(self.out, PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
        PyByteArray_Resize(self.stamps, n + 8)
        if h._ns:
            ns = h._timestamp_ns(hdr)
            memcpy(PyByteArray_AS_STRING(self.stamps) + n, &ns, 8)
        else:
            sec = h._timestamp_seconds(hdr)
            memcpy(PyByteArray_AS_STRING(self.stamps) + n, &sec, 8)
        if self.wirelens is not None:
            n = PyByteArray_GET_SIZE(self.wirelens)
            PyByteArray_Resize(self.wirelens, n + 4)
            memcpy(PyByteArray_AS_STRING(self.wirelens) + n, &hdr.len, 4)
        self.count += 1
        return 0


cdef class _CallbackSink(_Sink):
    """callback(timestamp, packet, *args) for each packet: dispatch(), loop()."""
    cdef object callback
    cdef tuple args

    def __cinit__(self):
        self.counts_only = False

    cdef int take(self, pcap h, const lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
        h._wirelen = hdr.len
        ts = h._timestamp(hdr)
        buf = PyBytes_FromStringAndSize(<const char *>data, hdr.caplen)
        self.count += 1
        if self.args:
            self.callback(ts, buf, *self.args)
        else:
            self.callback(ts, buf)
        return 0


cdef class _DumpSink(_Sink):
    """Each packet written to a dumper as it came: time stamp, captured
    bytes and wire length (dispatch() and loop() given a dumper)."""
    cdef dumper d

    def __cinit__(self):
        self.counts_only = False

    cdef int take(self, pcap h, const lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
        cdef lp.pcap_pkthdr out
        cdef long long frac_ns = <long long>hdr.ts.tv_usec * h._src.ns_scale
        out.ts.tv_sec = hdr.ts.tv_sec
        out.ts.tv_usec = frac_ns if self.d._nano else frac_ns // 1000
        out.caplen = hdr.caplen
        out.len = hdr.len
        self.d._write_header(&out, data)
        self.count += 1
        return 0


cdef class _FillSink(_Sink):
    """readinto(): fixed records in one buffer, the packets' bytes one after
    the other in another, both the caller's (pcap_batch.h).  The sources
    fill it without the GIL where they can (fill()); take() is for the
    packets that come through next()."""
    cdef batch_fill f
    cdef Py_buffer records
    cdef Py_buffer data
    cdef bint have_records, have_data

    def __cinit__(self):
        self.counts_only = False
        self.keeps_packets = True
        self.bounded = True
        self.fills = True

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

    cdef int open(self, records, data, Py_ssize_t largest, long long ns_scale) except -1:
        _get_buffer(records, &self.records, PyBUF_WRITABLE, "records")
        self.have_records = True
        _get_buffer(data, &self.data, PyBUF_WRITABLE, "data")
        self.have_data = True
        if self.data.len < largest:
            raise ValueError(f"data must hold at least one packet of the snaplen, {largest} bytes, "
                             f"not {self.data.len}")
        self.f.records = <unsigned char *>self.records.buf
        self.f.capacity = self.records.len // sizeof(batch_record)
        self.f.data = <unsigned char *>self.data.buf
        self.f.size = self.data.len
        self.f.largest = largest
        self.f.ns_scale = ns_scale
        return 0

    cdef bint has_room(self):
        return batch_has_room(&self.f)

    cdef int take(self, pcap h, const lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
        batch_put(&self.f, hdr, data)
        self.synced()
        return 0

    cdef int synced(self) except -1:
        self.count = self.f.count
        if self.f.too_large:
            raise _pcap_error(lp.PCAP_ERROR, "filling a batch",
                              f"a packet of {self.f.too_large} bytes is longer than the snapshot length")
        return 0


cdef Py_ssize_t _deliver(pcap h, _Sink sink, Py_ssize_t cnt, int wait, double deadline,
                         bint idle=False) except -1:
    """Move up to ``cnt`` packets (no limit when cnt <= 0) from the source of
    ``h`` to ``sink``; return how many.  Ends early at the end of a
    savefile, on breakloop() or close(), when ``deadline`` (monotonic ms, 0
    for none) passes, and as ``wait`` says when nothing is there.  A source
    error after packets a keeping sink holds is raised by the next read.
    ``idle``: the caller just found nothing there; begin with the wait."""
    cdef _Source src
    cdef lp.pcap_pkthdr *hdr
    cdef const unsigned char *data
    cdef Py_ssize_t n = 0, m
    cdef _FillSink fs
    cdef int rc
    h._take_turn()
    src = h._src
    src.will_wait = wait != _WAIT_NEVER
    h._stop = _STOP_COUNT
    try:
        while cnt <= 0 or n < cnt:
            if h._break:
                h._break = False
                h._stop = _STOP_BREAK
                break
            if sink.bounded and not sink.has_room():
                break
            if idle:
                idle = False
                rc = _NOTHING_YET
            elif sink.counts_only:
                m = src.count(_SLICE if cnt <= 0 or cnt - n > _SLICE else cnt - n, &rc)
                n += m
                sink.count += m
            elif sink.fills:
                # Without the GIL, as far as the source can (pcap_batch.h).
                fs = <_FillSink>sink
                m = fs.f.count
                try:
                    rc = src.fill(&fs.f, _SLICE if cnt <= 0 or cnt - n > _SLICE else cnt - n)
                finally:
                    n += fs.f.count - m
                    fs.count = fs.f.count    # (also when fill() raised after packets)
                fs.synced()
                if rc == _SLOW:
                    rc = src.next(&hdr, &data)
                    if rc == _PACKET:
                        sink.take(h, hdr, data)
                        n += 1
                        rc = _SKIPPED   # (the checks below, then on)
            else:
                rc = src.next(&hdr, &data)
                if rc == _PACKET:
                    sink.take(h, hdr, data)
                    n += 1
                    if n % 1024 == 0:
                        PyErr_CheckSignals()
                    if h._closed:
                        h._stop = _STOP_CLOSED
                        break
                    continue
            if rc == _END:
                h._stop = _STOP_END
                src.at_end()
                break
            if rc == _PACKET or rc == _SKIPPED:
                # A slice of C work is done: run signal handlers, see close().
                PyErr_CheckSignals()
                if h._closed:
                    h._stop = _STOP_CLOSED
                    break
                continue
            if wait == _WAIT_NEVER or (wait == _WAIT_FIRST and n > 0):
                h._stop = _STOP_IDLE
                break
            if not h._wait(src.fd, deadline):
                h._stop = (_STOP_CLOSED if h._closed else
                           _STOP_IDLE if deadline > 0 and monotonic_ms() >= deadline else _STOP_BREAK)
                break
    except PcapError as e:
        if n == 0 or not sink.keeps_packets:
            raise
        h._pending = e
    finally:
        h._give_turn()
    return n
