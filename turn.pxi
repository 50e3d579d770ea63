# --------------------------------------------------------------------------
# The read turn, the handle's only guard, and the one wait.
#
# A handle is read by one thread at a time: a read holds pointers into the
# source's buffer while it makes Python objects (which may run other
# threads' code), and it waits with the GIL released.  So a read takes the
# turn; another thread's read waits for it, in short pauses; a read from
# inside a read of the same thread (a callback, a signal handler) raises
# RuntimeError.  While a read is inside its source's fill() (C work without
# the GIL, or libpcap), every other call on the handle (stats(),
# setfilter(), sendpacket()...) waits for it to come out: no two threads
# are ever inside libpcap, or inside our reader, on one handle.  close()
# during a read closes the handle for Python at once and frees it when the
# read gives the turn back.
#
# _sleep_on() is the only place that sleeps or runs signal handlers; the
# turn's wait() is the only wait of a read, and says why it ended.

cdef enum:
    _GO = -1            # the read goes on
    # Why a read ended (_Turn.stop):
    _STOP_COUNT = 0     # cnt packets delivered, or the sink is full
    _STOP_IDLE = 1      # nothing there, and no (more) waiting: the mode, or the deadline
    _STOP_END = 2       # the savefile ended
    _STOP_BREAK = 3     # breakloop()
    _STOP_CLOSED = 4    # close()

cdef enum:
    # How long a call waits between two looks at a turn (or a fill) another
    # thread holds: the other thread holds it for a slice of C work at most.
    _TURN_PAUSE_MS = 1


cdef enum:
    # How often a long read that never waits (a savefile, a busy link) lets
    # go of the GIL for the other threads: less often than Python's switch
    # interval (5 ms), because a thread that wants the GIL asks for it only
    # once it has waited that long without the GIL changing hands.  Let go
    # of more often, the GIL changes hands back to the reader each time, the
    # request never comes, and the other thread waits for the whole read.
    _GIL_TURN_MS = 10

cdef double _gil_let_go = 0     # monotonic ms when a read last let go of the GIL


cdef bint _sleep_on(int fd, int ms, str what, void *event=NULL) except -1:
    """Wait up to ``ms`` milliseconds (0: not at all) for ``fd`` (-1: none)
    to be readable, or on Windows for a live handle's ``event`` (NULL:
    none) to be signalled, with the GIL released; then run Python's signal
    handlers, so that Ctrl-C raises KeyboardInterrupt here.  Returns
    whether ``fd`` is readable.  With ``ms`` 0 the GIL is let go of every
    _GIL_TURN_MS, so that a long read lets other threads run."""
    global _gil_let_go
    cdef int r = 0
    cdef double now
    if ms > 0:
        with nogil:
            r = wait_ready(fd, event, ms)
        if r < 0:
            raise _os_error(errno, f"waiting for {what}", None)
    else:
        now = monotonic_ms()
        if now - _gil_let_go >= _GIL_TURN_MS:
            with nogil:
                pass
            _gil_let_go = now
    PyErr_CheckSignals()
    return r > 0


cdef class _Turn:
    """The reading state of one handle: who reads, whether a fill runs,
    close() and breakloop(), why the last read ended."""
    cdef _Source src
    cdef const void *owner       # the thread (current_thread()) whose read holds the turn, NULL for none
    cdef volatile bint in_fill   # the reader is inside src.fill(): other calls wait
    cdef volatile bint closed
    cdef volatile bint broken    # breakloop(): the running or the next read ends
    cdef volatile int waiting    # calls waiting for a fill to come out: a source that waits lets them in
    cdef object pending          # a read error to raise at the next read
    cdef int stop                # why the last read ended: _STOP_*
    cdef unsigned int wirelen    # wire length of the packet last handed to Python
    cdef Py_ssize_t moved        # packets the last read delivered (also when it raised)
    cdef Triage triage           # set_triage(): keeps or drops packets after the filter; None: all go

    cdef inline lp.pcap_t *handle(self) except NULL:
        """libpcap's handle, for a call under the GIL; ValueError once closed."""
        if self.closed:
            raise ValueError("operation on a closed pcap handle")
        if self.in_fill:
            self.waiting += 1
            try:
                while self.in_fill:
                    _sleep_on(-1, _TURN_PAUSE_MS, self.src.what)
            finally:
                self.waiting -= 1
            if self.closed:
                raise ValueError("operation on a closed pcap handle")
        return self.src.p

    cdef inline _Source take(self):
        """Begin a read: the source, once the turn is this thread's."""
        if self.owner == NULL and not self.closed and not self.in_fill and self.pending is None:
            self.owner = current_thread()
            return self.src
        return self._take_waiting()

    cdef _Source _take_waiting(self):
        cdef const void *me = current_thread()
        self.handle()
        while self.owner != NULL:
            if self.owner == me:
                raise RuntimeError("a pcap handle cannot be read from inside one of its own reads "
                                   "(a callback, or a signal handler during a wait)")
            _sleep_on(-1, _TURN_PAUSE_MS, self.src.what)
            self.handle()
        if self.pending is not None:
            exc, self.pending = self.pending, None
            raise exc
        self.owner = me
        return self.src

    cdef inline void give(self) noexcept:
        self.in_fill = False
        self.owner = NULL
        if self.closed:
            self.src.release()      # a close() that came during the read

    cdef void close(self) noexcept:
        self.closed = True
        if self.owner == NULL and self.src is not None:
            self.src.release()

    cdef inline int checkpoint(self) except? -2:
        """Between two slices of work: run signal handlers, see close() and
        breakloop().  _GO, _STOP_CLOSED or _STOP_BREAK."""
        _sleep_on(-1, 0, None)
        return self.why()

    cdef inline int why(self) noexcept:
        if self.closed:
            return _STOP_CLOSED
        if self.broken:
            self.broken = False
            return _STOP_BREAK
        return _GO

    cdef int let_in(self) except -1:
        """Before a source that waits inside libpcap (rpcap) goes in again:
        let the calls that wait for it (stats(), setfilter()...) have the
        handle first, a few pauses at most."""
        cdef int pauses = 0
        while self.waiting and pauses < 20:
            _sleep_on(-1, _TURN_PAUSE_MS, None)
            pauses += 1
        return 0

    cdef int wait(self, int fd, double deadline) except? -2:
        """One bounded wait for ``fd`` to become readable: _GO to read
        again, or why the read ends (_STOP_IDLE once ``deadline``,
        monotonic ms, 0 for none, has passed)."""
        cdef int slice_ms = self.src.slice_ms or WAIT_SLICE_MS
        cdef double now
        if deadline > 0:
            now = monotonic_ms()
            if now >= deadline:
                return _STOP_IDLE
            if deadline - now < slice_ms:
                slice_ms = <int>(deadline - now) + 1
        if self.src.waits:
            # The source's own read has just waited (rpcap, remote.pxi): only the checks.
            _sleep_on(-1, 0, None)
        else:
            _sleep_on(fd, slice_ms, self.src.what, self.src.event)
        return self.why()
