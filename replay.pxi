# --------------------------------------------------------------------------
# Paced replay: the packets of a savefile, an open handle, a batch or an
# Arrow table sent onto an interface at the file's pace (or a multiple of
# it), at a packet rate, or as fast as the interface takes them.
#
# The sending and the waiting are C (replay.c), without the GIL, a slice of
# at most WAIT_SLICE_MS at a time; between two slices Python's signal
# handlers run and close() and breakloop() of the handle sent on are seen,
# as a read's wait does (turn.pxi).  The handle sent on is taken as a read
# takes it, so no other thread is inside libpcap on it meanwhile.

cdef extern from "replay.h" nogil:
    enum:
        REPLAY_TOP
        REPLAY_SPEED
        REPLAY_RATE
        REPLAY_BATCH_DONE
        REPLAY_SLICE_END
        REPLAY_STOP_TIME
        REPLAY_IDLE
        REPLAY_SPIN_NS
    struct replay_batch:
        size_t n
        const unsigned char *records
        size_t record_size
        const int64_t *stamps
        const void *offsets
        int wide_offsets
        const unsigned char *data
        size_t data_len
    struct replay_state:
        int mode
        int64_t spin_ns
        uint64_t packets
        uint64_t bytes
        uint64_t failures
        uint64_t oversized
        uint64_t retries
        uint64_t handled
        uint64_t first_failed
        uint32_t first_failed_len
        int first_errno
        char first_error[]
        int64_t late_ns
        int64_t due_ns
    void replay_init(replay_state *st, int mode, double speed, int64_t interval_ns)
    void replay_restart(replay_state *st)
    int replay_slice(lp.pcap_t *p, replay_state *st, const replay_batch *b, size_t *next,
                     int64_t slice_end_ns, int64_t stop_ns)
    int64_t replay_now_ns()


# Packets a slice of a handle's packets holds: read with readinto(), then sent.
cdef Py_ssize_t _REPLAY_BATCH = 1024

# The spin at the end of each wait (replay.h), in nanoseconds: a knob for
# the bench, which measures the pace with and without it.
_replay_spin_ns = REPLAY_SPIN_NS


class Replayed:
    """What ``pcap.replay()`` sent: ``packets`` and ``bytes`` sent,
    ``failures`` (packets the interface refused, passed over), of those
    ``oversized`` (longer than the interface's MTU allows), ``error`` (the
    first failure's message, naming the packet, or None), ``retries``
    (sends tried again because the interface's queue was full), ``seconds``
    (from the first packet to the end), ``max_late`` (seconds: the most a
    paced packet went out after its time; 0 at top speed) and ``stopped``:
    why it ended, ``"end"`` (every packet, every pass), ``"duration"``,
    ``"closed"`` (the handle sent on was closed) or ``"breakloop"``.
    A ``KeyboardInterrupt`` (or any exception) raised during a replay
    carries what was sent until then as its ``replayed`` attribute."""

    __slots__ = ("packets", "bytes", "failures", "oversized", "retries", "error", "seconds", "max_late",
                 "stopped")

    def __init__(self, packets=0, bytes=0, failures=0, oversized=0, retries=0, error=None, seconds=0.0,
                 max_late=0.0, stopped="end"):
        self.packets = packets
        self.bytes = bytes
        self.failures = failures
        self.oversized = oversized
        self.retries = retries
        self.error = error
        self.seconds = seconds
        self.max_late = max_late
        self.stopped = stopped

    def __repr__(self):
        return (f"Replayed(packets={self.packets}, bytes={self.bytes}, failures={self.failures}, "
                f"oversized={self.oversized}, retries={self.retries}, error={self.error!r}, "
                f"seconds={self.seconds:.3f}, max_late={self.max_late:.6f}, stopped={self.stopped!r})")

    def __eq__(self, other):
        if not isinstance(other, Replayed):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None


cdef class _Replay:
    """One replay: its pace and counts (replay.c), the handle it sends on."""
    cdef replay_state st
    cdef _Turn turn
    cdef lp.pcap_t *p
    cdef str device
    cdef str what
    cdef int64_t stop_ns
    cdef int64_t began_ns
    cdef int64_t ended_ns
    cdef str stopped

    cdef bint send(self, const replay_batch *b) except -1:
        """Every packet of ``b``, slice by slice: False when the replay
        ends before (self.stopped says why)."""
        cdef size_t nxt = 0
        cdef int rc
        cdef int64_t slice_end, now
        cdef int ms
        if self.began_ns == 0 and b.n:
            self.began_ns = replay_now_ns()
        while True:
            slice_end = replay_now_ns() + <int64_t>WAIT_SLICE_MS * 1000000
            if self.stop_ns and slice_end > self.stop_ns:
                slice_end = self.stop_ns
            self.turn.in_fill = True
            with nogil:
                rc = replay_slice(self.p, &self.st, b, &nxt, slice_end, self.stop_ns)
            self.turn.in_fill = False
            if rc == REPLAY_STOP_TIME:
                self.stopped = "duration"
                return False
            if rc == REPLAY_IDLE:
                # Sleep to about a millisecond before the packet is due (at
                # most a slice), the handle free; replay_slice() does the rest.
                now = replay_now_ns()
                ms = <int>min((self.st.due_ns - now) // 1000000 - 1, <int64_t>WAIT_SLICE_MS)
                _sleep_on(-1, ms if ms > 0 else 0, self.what)
            else:
                _sleep_on(-1, 0, None)      # signal handlers: Ctrl-C raises here
            if self.turn.closed:
                self.stopped = "closed"
                return False
            if self.turn.broken:
                self.turn.broken = False
                self.stopped = "breakloop"
                return False
            if self.stop_ns and replay_now_ns() >= self.stop_ns:
                self.stopped = "duration"
                return False
            if rc == REPLAY_BATCH_DONE:
                return True

    cdef bint over(self):
        """Whether the stop time has passed (between two batches)."""
        if self.stop_ns and replay_now_ns() >= self.stop_ns:
            self.stopped = "duration"
            return True
        return False

    cdef object result(self):
        error = None
        if self.st.failures:
            error = (f"packet {self.st.first_failed} ({self.st.first_failed_len} bytes) not sent on "
                     f"{self.device!r}: {_text(self.st.first_error)}")
            if self.st.first_errno == _errno.EMSGSIZE:
                mtu = _interface_mtu(self.device)
                error += (f" (longer than the interface's MTU, {mtu}, and its link-layer header allow)"
                          if mtu else " (longer than the interface's MTU allows)")
        if self.ended_ns == 0:
            self.ended_ns = replay_now_ns()
        seconds = (self.ended_ns - self.began_ns) / 1e9 if self.began_ns else 0.0
        return Replayed(self.st.packets, self.st.bytes, self.st.failures, self.st.oversized, self.st.retries,
                        error, seconds, self.st.late_ns / 1e9, self.stopped)


cdef object _interface_mtu(str device):
    try:
        with open(f"/sys/class/net/{device}/mtu") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


cdef double _positive_number(object value, str name) except -1:
    cdef double v
    if isinstance(value, (bool, str, bytes)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    try:
        v = float(value)
    except TypeError:
        raise TypeError(f"{name} must be a number, not {type(value).__name__}") from None
    if not (v > 0 and v < float("inf")):
        raise ValueError(f"{name} must be a finite number above 0, not {value!r}")
    return v


def replay(source, device, *, speed=None, rate=None, topspeed=False, loop=1, duration=None):
    """replay(source, device, *, speed=None, rate=None, topspeed=False, loop=1, duration=None) -> Replayed

    Send the packets of ``source`` out of the interface ``device``, each as
    it was captured (link-layer header included), and return what was sent
    (``pcap.Replayed``).

    source -- a savefile path (str, bytes, os.PathLike: any file pcap.pcap
            opens); an open pcap handle (a savefile's, or a live one's:
            packets are sent on as they come); a batch of
            ``next_batch()``, ``(records, data)`` or with
            ``interfaces=True`` ``(records, data, comments)`` (of readinto()'s
            buffers, the records of the packets it wrote:
            ``(memoryview(records)[:n * BATCH_RECORD_SIZE], data)``); or a
            pyarrow Table or RecordBatch with the ``timestamp`` and ``data``
            columns of arrow_batches().
    device -- an interface name, or a live pcap handle open on it (the
            handle is used as a read uses it: another thread's read of it
            waits until the replay ends; its close() or breakloop() ends
            the replay).
    speed -- the file's pace times ``speed`` (2.0: twice as fast; the
            default is 1.0, the pace it was captured at).  Each packet is
            due at the first one's send time plus its time stamp's distance
            from the first one's, divided by ``speed``: a packet sent late
            (a busy machine) does not delay the ones after it.
    rate -- instead, ``rate`` packets a second, evenly spaced.
    topspeed -- instead, as fast as the interface takes them.
    loop -- send the source this many times (0: until stopped); at the
            file's pace each pass starts as the last one's last packet
            went, at a rate the cadence goes on; a source that cannot be
            read again (an open handle) allows only 1.
    duration -- stop after this many seconds (the packet due after it is
            not sent).

    The waits are absolute deadlines on the monotonic clock, the last
    tens of microseconds of each spent spinning.  The sending runs without
    the GIL, in slices of at most 50 ms: Ctrl-C raises KeyboardInterrupt
    within one (with what was sent as its ``replayed`` attribute).  A packet
    the interface refuses (longer than its MTU, say) is counted in
    ``failures``, the first one's message kept in ``error``, and the replay
    goes on; a full queue (ENOBUFS, EAGAIN) is waited out and the packet
    sent again (``retries``).  Raises TypeError for a source of another
    kind, ValueError for a bad pace or count (or more than one of speed,
    rate and topspeed), PcapError when the device cannot be opened or is
    not a live interface.
    """
    cdef _Replay r = _Replay.__new__(_Replay)
    cdef int mode = REPLAY_SPEED
    cdef double c_speed = 1.0
    cdef int64_t interval = 0
    cdef pcap out
    cdef bint own = False
    cdef long long passes = 0, c_loop
    chosen = [k for k, v in (("speed", speed), ("rate", rate), ("topspeed", topspeed or None)) if v is not None]
    if len(chosen) > 1:
        raise ValueError(f"give one of speed, rate and topspeed, not {' and '.join(chosen)}")
    if _bool_arg(topspeed, "topspeed"):
        mode = REPLAY_TOP
    elif rate is not None:
        mode = REPLAY_RATE
        interval = max(1, <int64_t>(1e9 / _positive_number(rate, "rate") + 0.5))
    elif speed is not None:
        c_speed = _positive_number(speed, "speed")
    c_loop = _int_arg(loop, "loop", 0, 0x7fffffffffffffff, "0: until stopped")
    c_duration = None if duration is None else _positive_number(duration, "duration")
    kind = _replay_kind(source)
    if kind == "handle" and c_loop != 1:
        raise ValueError("loop must be 1 for an open handle, which cannot be read again: "
                         "give its path, a batch or a table")
    if isinstance(device, pcap):
        out = <pcap>device
        out._handle()
    else:
        out = pcap(device, promisc=False, buffer_size=1 << 16)
        own = True
    try:
        if own:
            # The handle only sends: a filter that takes no packet keeps the
            # kernel from copying the interface's traffic into its ring.
            out.setfilter("len < 0")
        if not out._src.live:
            raise _pcap_error(lp.PCAP_ERROR, f"replay onto {out._name!r}", "it is a savefile: "
                              "replay sends onto a live interface")
        if isinstance(out._src, _MultiSource):
            raise _pcap_error(lp.PCAP_ERROR, f"replay onto {out._name!r}", "a handle over several "
                              "interfaces does not say which one to send on: open that one on its own")
        replay_init(&r.st, mode, c_speed, interval)
        r.st.spin_ns = _int_arg(_replay_spin_ns, "_replay_spin_ns", 0, 1000000000)
        r.device = out._name
        r.what = f"the next packet to send on {out._name!r}"
        r.stopped = "end"
        r.turn = out._turn
        r.p = r.turn.take().p
        try:
            if c_duration is not None:
                r.stop_ns = replay_now_ns() + <int64_t>(c_duration * 1e9)
            while c_loop == 0 or passes < c_loop:
                if passes:
                    replay_restart(&r.st)
                if not _replay_pass(r, source, kind):
                    break
                passes += 1
                if r.over():
                    break
            r.ended_ns = replay_now_ns()
        except BaseException as e:
            if hasattr(e, "__dict__"):
                e.replayed = r.result()
            raise
        finally:
            r.turn.give()
    finally:
        if own:
            out.close()
    return r.result()


cdef str _replay_kind(source):
    if isinstance(source, pcap):
        return "handle"
    if isinstance(source, (str, bytes, _os.PathLike)):
        return "path"
    if isinstance(source, tuple) and len(source) in (2, 3):
        return "batch"
    if hasattr(source, "schema") and (hasattr(source, "to_batches") or hasattr(source, "column")):
        return "arrow"
    raise TypeError(f"source must be a savefile path, a pcap handle, a (records, data) batch or an Arrow "
                    f"table, not {type(source).__name__}")


cdef bint _replay_pass(_Replay r, source, str kind) except -1:
    """One pass over the source: False when the replay ended before its end."""
    if kind == "path":
        with pcap(source) as h:
            return _replay_handle(r, h)
    if kind == "handle":
        return _replay_handle(r, source)
    if kind == "batch":
        return _replay_records(r, source)
    batches = source.to_batches() if hasattr(source, "to_batches") else [source]
    for b in batches:
        if not _replay_arrow(r, b):
            return False
    return True


cdef bint _replay_handle(_Replay r, pcap h) except -1:
    """The packets of h, read a batch at a time into buffers of ours."""
    cdef bytearray records = bytearray(_REPLAY_BATCH * sizeof(batch_record))
    cdef bytearray data = bytearray(max(1 << 20, 2 * lp.pcap_snapshot(h._handle())))
    cdef replay_batch b
    cdef Py_ssize_t n
    memset(&b, 0, sizeof(b))
    b.record_size = sizeof(batch_record)
    while True:
        n = h.readinto(records, data, _REPLAY_BATCH)
        if n == 0:
            if h._turn.stop == _STOP_IDLE and not r.over():
                continue        # a live source's timeout: wait on
            return h._turn.stop == _STOP_END
        b.n = n
        b.records = <const unsigned char *>PyByteArray_AS_STRING(records)
        b.data = <const unsigned char *>PyByteArray_AS_STRING(data)
        b.data_len = PyByteArray_GET_SIZE(data)
        if not r.send(&b) or r.over():
            return False


cdef bint _replay_records(_Replay r, tuple batch) except -1:
    cdef Py_buffer rv, dv
    cdef replay_batch b
    cdef bint have_r = False, have_d = False
    memset(&b, 0, sizeof(b))
    b.record_size = sizeof(batch_record_ng) if len(batch) == 3 else sizeof(batch_record)
    try:
        _get_buffer(batch[0], &rv, PyBUF_SIMPLE, "records")
        have_r = True
        _get_buffer(batch[1], &dv, PyBUF_SIMPLE, "data")
        have_d = True
        if rv.len % b.record_size:
            raise ValueError(f"records must be a whole number of {b.record_size}-byte records, "
                             f"not {rv.len} bytes")
        b.n = rv.len // b.record_size
        b.records = <const unsigned char *>rv.buf
        b.data = <const unsigned char *>dv.buf
        b.data_len = dv.len
        return r.send(&b)
    finally:
        if have_r:
            PyBuffer_Release(&rv)
        if have_d:
            PyBuffer_Release(&dv)


cdef bint _replay_arrow(_Replay r, batch) except -1:
    cdef replay_batch b
    cdef list held = []
    import pyarrow as pa
    names = batch.schema.names
    for col in ("timestamp", "data"):
        if col not in names:
            raise ValueError(f"an Arrow table to replay needs a {col!r} column; it has {names}")
    memset(&b, 0, sizeof(b))
    b.n = batch.num_rows
    if b.n == 0:
        return True
    stamps = batch.column("timestamp")
    if stamps.null_count:
        raise ValueError("an Arrow table to replay has nulls in its 'timestamp' column")
    if pa.types.is_timestamp(stamps.type):
        stamps = stamps.cast(pa.timestamp("ns", tz=stamps.type.tz))
    stamps = stamps.cast(pa.int64())
    b.stamps = <const int64_t *>_column_buffer(stamps, 1, 8, held)
    data = batch.column("data")
    if data.null_count:
        raise ValueError("an Arrow table to replay has nulls in its 'data' column")
    if pa.types.is_large_binary(data.type):
        b.wide_offsets = 1
    elif not pa.types.is_binary(data.type):
        raise TypeError(f"the 'data' column must be binary, not {data.type}")
    b.offsets = <const void *>_column_buffer(data, 1, 8 if b.wide_offsets else 4, held)
    b.data = <const unsigned char *>_column_buffer(data, 2, 0, held)
    b.data_len = len(held[-1])
    return r.send(&b)
