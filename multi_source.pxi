# --------------------------------------------------------------------------
# Several sources as one: live interfaces captured together, or savefiles
# merged by time stamp (what mergecap does).
#
# _MultiSource is a source like the others (sources.pxi): next() and fill()
# never wait, and ``fd`` is one descriptor, readable when any child's is
# (multi_wait.h: an epoll set on Linux), so that the read loop and its one
# wait (delivery.pxi, turn.pxi) stay as they are.
#
# Each child keeps the packet it handed out last as this source's "head"
# for that child (its pointers stay valid until the child's next call,
# which comes only after the head was delivered).  Each read first asks
# every child with no head for one, without waiting, then delivers the head
# with the earliest time stamp (of equal ones, the child later in the
# list first: mergecap's order):
#
#   savefiles   an exact merge: a packet goes only once every child that
#               has not ended has a head (a pipe that has nothing yet is
#               waited for).
#   live        the earliest of the heads there are: a packet can come
#               after one of another interface stamped later only if it was
#               still in the kernel (not yet handed to libpcap's ring) when
#               that one was delivered.  On Linux the kernel hands packets
#               over within the buffer timeout (BUFFER_TIMEOUT_MS, 100 ms),
#               at once with ``immediate``.  Each interface's own packets
#               keep the kernel's order.
#
# Interfaces are numbered one after the other in list order: a live
# interface is one; a savefile brings all of its own (a pcapng file may
# have several), and its packets' interface ids are shifted by the number
# of those before it.

cdef enum:
    _HEAD_EMPTY = 0      # ask the child
    _HEAD_HELD = 1       # hdr/data: the child's packet, not yet delivered
    _HEAD_ENDED = 2      # the child's savefile has ended


cdef struct _Head:
    lp.pcap_pkthdr *hdr
    const unsigned char *data
    int64_t stamp             # nanoseconds, for the order
    unsigned int iface        # the child's own interface id of the packet
    int state


cdef class _MultiSource(_Source):
    """Packets of several children (live interfaces, or savefiles), merged
    by time stamp; ``p`` is a dead handle of the first child's link type and
    the largest snapshot length, for what asks the handle as a whole."""
    cdef list children           # the _Source of each name, in order
    cdef list names              # the names, as given
    cdef _Head *heads
    cdef Py_ssize_t n
    cdef list bases              # the first interface id of each child
    cdef list counts             # a savefile's interface count and section when opened: (count, section)
    cdef Py_ssize_t last         # the child of the packet last delivered (-1: none yet)
    cdef lp.pcap_pkthdr out      # the packet last delivered, in this source's clock
    cdef str filter_text         # the filter set, for interfaces(); None: none

    def __cinit__(self):
        self.last = -1

    def __dealloc__(self):
        self.release()

    cdef int _pick(self, int mode, Py_ssize_t *best) except -3:
        """Fill the heads of the children that have none, without waiting;
        _PACKET with *best the child whose head goes next, or why none
        goes now (_NOTHING_YET, _SKIPPED, _END)."""
        cdef Py_ssize_t i, b = -1
        cdef _Head *h
        cdef _Source child
        cdef int rc
        cdef bint waiting = False, skipped = False
        for i in range(self.n):
            h = &self.heads[i]
            if h.state == _HEAD_EMPTY:
                child = <_Source>self.children[i]
                rc = child.next(_WAIT_NEVER if self.live else mode, &h.hdr, &h.data)
                if rc == _PACKET:
                    h.state = _HEAD_HELD
                    h.stamp = batch_stamp(h.hdr, child.clock.ns_scale)
                    h.iface = child.packet_interface()
                    if not self.live:
                        self._same_interfaces(i)
                elif rc == _END:
                    h.state = _HEAD_ENDED
                    child.at_end()
                elif rc == _SKIPPED:
                    skipped = True
                else:
                    waiting = True
            # (<=: of equal time stamps the later child's goes first, as
            # mergecap has it, whose is_earlier() says so of equal ones.)
            if h.state == _HEAD_HELD and (b < 0 or h.stamp <= self.heads[b].stamp):
                b = i
        if not self.live and (skipped or waiting):
            # An exact merge: every child that goes on must show its next packet first.
            return _SKIPPED if skipped else _NOTHING_YET
        if b < 0:
            return _NOTHING_YET if self.live else _END
        best[0] = b
        return _PACKET

    cdef void _consume(self, Py_ssize_t i) noexcept:
        """Deliver child i's head: it becomes ``out``, in this clock."""
        cdef _Head *h = &self.heads[i]
        cdef long long scale = (<_Source>self.children[i]).clock.ns_scale // self.clock.ns_scale
        self.out = h.hdr[0]
        self.out.ts.tv_usec = h.hdr.ts.tv_usec * scale
        h.state = _HEAD_EMPTY
        self.last = i

    cdef int next(self, int mode, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        cdef Py_ssize_t best
        cdef int rc = self._pick(mode, &best)
        if rc != _PACKET:
            return rc
        data[0] = self.heads[best].data
        self._consume(best)
        hdr[0] = &self.out
        return _PACKET

    cdef int fill(self, int mode, batch_fill *f, Py_ssize_t limit) except -3:
        # The merge takes the packets one by one, with the GIL (a slice at
        # most: the loop lets other threads run between two); each child's
        # reader does its own work.
        cdef Py_ssize_t best, added = 0
        cdef size_t before
        cdef int rc = _PACKET
        cdef _Head *h
        cdef _Source child
        cdef lp.pcap_pkthdr one
        cdef long long scale
        while added < limit and batch_has_room(f) and not f.too_large:
            rc = self._pick(mode, &best)
            if rc != _PACKET:
                break
            h = &self.heads[best]
            child = <_Source>self.children[best]
            scale = child.clock.ns_scale // self.clock.ns_scale
            one = h.hdr[0]
            one.ts.tv_usec = h.hdr.ts.tv_usec * scale
            if isinstance(child, _PcapngSource):
                # Its flags and comments too; the packet is its reader's last.
                before = f.count
                if not pcapng_put(&(<_PcapngSource>child).ng, f, &one, h.data):
                    return _PACKET if added else _FULL    # it stays the head, for the next batch
                if f.count != before:   # (not when the triage dropped it)
                    batch_relabel_last(f, <uint32_t>(<Py_ssize_t>self.bases[best] + h.iface))
            else:
                f.dlt = child.packet_dlt()
                batch_put_meta(f, &one, h.data, <uint32_t>(<Py_ssize_t>self.bases[best] + h.iface), 0)
            self._consume(best)
            added += 1
        if added:
            return _PACKET
        return rc

    cdef int _same_interfaces(self, Py_ssize_t i) except -1:
        """A savefile whose interfaces change after the merge began (a
        later Interface Description Block, a new pcapng section) would
        shift every later file's interface ids: refused."""
        cdef _PcapngSource ng
        child = self.children[i]
        if not isinstance(child, _PcapngSource):
            return 0
        ng = <_PcapngSource>child
        if (ng.ng.count, ng.ng.section) != self.counts[i]:
            raise _pcap_error(lp.PCAP_ERROR, f"merging {ng.what}", f"its interfaces change after its first "
                              f"packets (an interface described later, or a new section), which would "
                              f"renumber the interfaces of the files after it: merging such a file is not "
                              f"supported; read it on its own", ng.filename)
        return 0

    cdef int set_filter(self, lp.bpf_program *prog, bytes expr, bint optimize) except -1:
        """Compile ``expr`` for each child's own handle (its link type and
        snapshot length) and apply it to each; raises naming the interface
        or file a program does not compile for, with no filter changed."""
        cdef lp.bpf_program *progs
        cdef _Source child
        cdef Py_ssize_t i, made = 0
        if prog != NULL:
            lp.pcap_freecode(prog)
        progs = <lp.bpf_program *>calloc(self.n, sizeof(lp.bpf_program))
        if progs == NULL:
            raise MemoryError()
        text = expr.decode("utf-8", "replace")
        try:
            for i in range(self.n):
                child = <_Source>self.children[i]
                if lp.pcap_compile(child.p, &progs[i], expr, optimize, lp.PCAP_NETMASK_UNKNOWN) < 0:
                    raise _pcap_error(lp.PCAP_ERROR, f"compile filter {text!r} for interface {self.bases[i]} "
                                      f"({self.names[i]!r}, link type {lp.pcap_datalink(child.p)})",
                                      _text(lp.pcap_geterr(child.p)), child.filename)
                made += 1
            while made > 0:
                made -= 1
                child = <_Source>self.children[made]
                child.set_filter(&progs[made], expr, optimize)      # (takes the program)
        finally:
            for i in range(made):
                lp.pcap_freecode(&progs[i])
            free(progs)
        self.filter_text = text
        return 0

    cdef list interfaces(self):
        import copy
        out = []
        uname = None
        for i in range(self.n):
            child = self.children[i]
            if isinstance(child, _PcapngSource):
                own = _pcapng_interfaces(&(<_PcapngSource>child).ng)    # (no read ahead: the heads stay valid)
            else:
                own = (<_Source>child).interfaces()
            for d in own:
                d = copy.copy(d)
                d.index += self.bases[i]
                if (<_Source>child).live:
                    if uname is None:
                        u = _os.uname()
                        uname = f"{u.sysname} {u.release}"
                    d.filter, d.os = self.filter_text, uname
                out.append(d)
        return out

    cdef int fileno(self):
        # Savefiles that are all regular files have no descriptor to wait
        # on, and are always readable: the first one's, as a single
        # savefile handle gives its file's.
        if self.fd >= 0 or self.n == 0:
            return self.fd
        return (<_Source>self.children[0]).fileno()

    cdef unsigned int packet_interface(self):
        if self.last < 0:
            return 0
        return <Py_ssize_t>self.bases[self.last] + self.heads[self.last].iface

    cdef int packet_dlt(self):
        if self.last < 0:
            return lp.pcap_datalink(self.p)
        return (<_Source>self.children[self.last]).packet_dlt()

    cdef dict packet_options(self):
        if self.last < 0:
            return {}
        return (<_Source>self.children[self.last]).packet_options()

    cdef pcapng_reader *packet_reader(self) noexcept:
        if self.last < 0:
            return NULL
        return (<_Source>self.children[self.last]).packet_reader()

    cdef list stats_each(self, str name):
        """libpcap's counters of each child: (received, dropped, ifdropped)."""
        cdef lp.pcap_stat st
        cdef _Source child
        out = []
        for i in range(self.n):
            child = <_Source>self.children[i]
            _check(child.p, lp.pcap_stats(child.p, &st), f"stats on {self.names[i]!r} of {name!r}")
            out.append((st.ps_recv, st.ps_drop, st.ps_ifdrop))
        return out

    cdef bint set_direction(self, lp.pcap_direction_t d):
        cdef _Source child
        cdef bint ok = True
        for child in self.children:
            if lp.pcap_setdirection(child.p, d) == 0:
                child.direction = d
            else:
                ok = False
        return ok

    cdef void release(self) noexcept:
        cdef _Source child
        cdef Py_ssize_t i
        # (n, not the list: from __dealloc__, _Source's runs after Cython
        # has cleared this class's fields.)
        for i in range(self.n):
            child = <_Source>self.children[i]
            child.release()
        if self.fd >= 0:
            close(self.fd)
        free(self.heads)
        self.heads = NULL
        self.n = 0
        _Source.release(self)       # the dead handle, and fd = -1


cdef _MultiSource _open_multi(list bnames, list names, int snaplen, bint promisc, int timeout_ms,
                              bint immediate, bint rfmon, int buffer_size, int tstamp_type=-1, int protocol=-1):
    """The source over several interfaces or savefiles (all one or all the
    other, as ``pcap(name)`` tells them apart)."""
    cdef _MultiSource m = _MultiSource.__new__(_MultiSource)
    cdef _Source child
    cdef Py_ssize_t i
    cdef int largest = 0, rc
    kinds = [_is_savefile(b) for b in bnames]
    if any(kinds) and not all(kinds):
        files = [n for n, k in zip(names, kinds) if k]
        others = [n for n, k in zip(names, kinds) if not k]
        raise ValueError(f"name lists either interfaces or savefiles, not both: {files!r} "
                         f"{'is a savefile' if len(files) == 1 else 'are savefiles'}, {others!r} not")
    m.live = not kinds[0]
    if not m.live:
        _live_only(tstamp_type, protocol, names[0])
    m.names = names
    m.children = []
    m.bases, m.counts = [], []
    m.what = f"packets from {', '.join(map(repr, names))}"
    m.device = None
    m.fd = -1
    m.heads = <_Head *>calloc(len(bnames), sizeof(_Head))
    if m.heads == NULL:
        raise MemoryError()
    # m.n counts the children m owns, for release(), as they open.
    for i in range(len(bnames)):
        if m.live:
            if b"/" in bnames[i] or bnames[i].lower().endswith(_SAVEFILE_SUFFIXES):
                raise _os_error(_errno.ENOENT, f"cannot open savefile {names[i]!r}", names[i])
            child = _open_live(bnames[i], names[i], snaplen, promisc, timeout_ms, immediate, rfmon, buffer_size,
                               tstamp_type, protocol)
        else:
            child = _open_savefile(bnames[i], names[i])
        m.children.append(child)
        m.n += 1
    precision = lp.PCAP_TSTAMP_PRECISION_MICRO
    base = 0
    for child in m.children:
        own = child.interfaces() if not isinstance(child, _PcapngSource) else \
            _pcapng_interfaces(&(<_PcapngSource>child).ng)
        m.bases.append(base)
        if isinstance(child, _PcapngSource):
            m.counts.append(((<_PcapngSource>child).ng.count, (<_PcapngSource>child).ng.section))
        else:
            m.counts.append(None)
        base += len(own)
        for d in own:
            largest = max(largest, _compile_snaplen(d.snaplen))
        if child.write_precision == lp.PCAP_TSTAMP_PRECISION_NANO:
            precision = lp.PCAP_TSTAMP_PRECISION_NANO
    # The merge's time stamps are in nanoseconds whatever each child's.
    _clock_set(&m.clock, lp.PCAP_TSTAMP_PRECISION_NANO)
    m.write_precision = precision
    first = <_Source>m.children[0]
    m.p = lp.pcap_open_dead_with_tstamp_precision(lp.pcap_datalink(first.p), largest or MAXIMUM_SNAPLEN,
                                                  lp.PCAP_TSTAMP_PRECISION_NANO)
    if m.p == NULL:
        raise MemoryError()
    for child in m.children:
        if child.slice_ms and (m.slice_ms == 0 or child.slice_ms < m.slice_ms):
            m.slice_ms = child.slice_ms     # (a child that needs shorter waits: all wait so)
        if child.fd < 0:
            # A regular file: never waited for.  A live interface without
            # a descriptor (Windows, the simulated build): the merge waits
            # in slices and reads every child after each.
            continue
        if m.fd < 0:
            m.fd = ready_set_new()
            if m.fd < 0:
                raise _os_error(errno, f"cannot wait for {m.what}", None)
        if ready_set_add(m.fd, child.fd) < 0:
            raise _os_error(errno, f"cannot wait for {child.what}", None)
    return m
