# --------------------------------------------------------------------------
# Remote capture: rpcap://host:port/device through rpcapd on the sensor
# (libpcap's pcap_open() and pcap_findalldevs_ex(), remote.h), where the
# libpcap the module is built against has it; PcapError naming the cause
# where it has not (Debian's libpcap has not).
#
# An rpcap handle differs from a local one in what libpcap gives:
#   - no descriptor: the data connection is libpcap's own, so neither our
#     wait nor a multi-source epoll nor asyncio can watch it.  The read
#     waits inside libpcap instead (its select(), for half the open
#     timeout), with the GIL released and the handle's turn marked as in a
#     fill, and comes back at least every _REMOTE_SLICE_MS to run signal
#     handlers and see breakloop(), close() and the deadline.
#   - no nonblocking mode: a nonblocking read waits up to that slice.
#   - pcap_dispatch() on rpcap reads until cnt packets or a silent slice:
#     one packet a call, so that a packet reaches Python as it comes.
#   - the capture starts at the first read: the open starts it (below).
#   - active mode (rpcapd -a): remote_accept() takes the sensor's
#     connection (pcap_remoteact_accept()); its rpcap:// URLs use it.
#   - libpcap PR #1577 (open in 1.10.6): the start-capture message has the
#     wrong length when no filter is set, and the first read fails with
#     "Message payload is too short".  A match-all filter goes in at open,
#     before the capture starts (at the first read); setfilter() replaces it.

cdef enum:
    # libpcap's select() on the data connection waits this long, and rpcapd
    # opens the remote interface with it as its buffer timeout (libpcap
    # halves the open timeout, giving half to each side).
    _REMOTE_SLICE_MS = WAIT_SLICE_MS

REMOTE_CAPTURE = bool(remote_supported)


cdef bint _is_remote_url(object name):
    """Whether ``name`` (str or bytes) is an rpcap:// or rpcaps:// source."""
    if isinstance(name, str):
        name = name.encode("utf-8", "surrogateescape")
    if not isinstance(name, bytes):
        return False
    scheme = name[:9].lower()
    return scheme.startswith(b"rpcap://") or scheme.startswith(b"rpcaps://")


cdef tuple _auth_arg(object auth):
    """(username, password) as bytes, or (None, None) for null authentication."""
    if auth is None:
        return None, None
    if not isinstance(auth, (tuple, list)) or len(auth) != 2:
        raise TypeError(f"auth must be a (username, password) pair of str, or None, not {auth!r}")
    user, password = auth
    if not isinstance(user, (str, bytes)) or not isinstance(password, (str, bytes)):
        raise TypeError(f"auth must be a (username, password) pair of str, not ({type(user).__name__}, "
                        f"{type(password).__name__})")
    user = user.encode("utf-8") if isinstance(user, str) else user
    password = password.encode("utf-8") if isinstance(password, str) else password
    if b"\0" in user or b"\0" in password:
        raise ValueError("auth must not contain NUL bytes")
    return user, password


cdef int _remote_only_options(int tstamp_type, int protocol, str name) except -1:
    """Refuse the options of local capture (-1: not given) on an rpcap:// ``name``."""
    if tstamp_type >= 0:
        raise ValueError(f"tstamp_type is for local capture: rpcap carries no time stamp type ({name!r})")
    if protocol >= 0:
        raise ValueError(f"protocol is for local capture: rpcapd opens {name!r} for every protocol "
                         f"(setfilter('ether proto ...') keeps one)")
    return 0


cdef object _remote_error(str what, str detail):
    """The PcapError of a failed remote call: libpcap's words, and where the
    module has no remote capture, why."""
    if not remote_supported:
        return _pcap_error(lp.PCAP_ERROR, what, f"remote capture is not available: {detail} "
                           f"(linked: {_text(lp.pcap_lib_version())})")
    # rpcapd sends its libpcap's text, not the status: the two that have
    # an exception of their own are known by their words.
    if "No such device exists" in detail:
        return _pcap_error(lp.PCAP_ERROR_NO_SUCH_DEVICE, what, detail)
    if "You don't have permission" in detail:
        return _pcap_error(lp.PCAP_ERROR_PERM_DENIED, what, f"{detail}; on the remote host")
    return _pcap_error(lp.PCAP_ERROR, what, detail)


cdef class _RemoteSource(_LiveSource):
    """Packets from rpcapd: _LiveSource's queue, filled one packet a
    pcap_dispatch() that waits inside libpcap (above).  The filter is
    applied here too: rpcapd keeps sending what it captured before a new
    filter reached it (libpcap says so of pcap_setfilter() on rpcap), and
    a local handle gives none of those."""
    cdef lp.bpf_program prog
    cdef bint prog_set

    cdef int next(self, int mode, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        cdef queued_packet *qp
        while True:
            while self.q.next < self.q.count:
                qp = &self.q.packets[self.q.next]
                self.q.next += 1
                if self.prog_set and not lp.pcap_offline_filter(&self.prog, &qp.hdr, self.q.data + qp.offset):
                    continue
                hdr[0] = &qp.hdr
                data[0] = self.q.data + qp.offset
                return _PACKET
            if self._refill() == 0:
                return _NOTHING_YET

    cdef int _refill(self) except -1:
        cdef int rc
        if self.q.packets == NULL:
            if queue_init(&self.q, lp.pcap_snapshot(self.p)) < 0:
                raise MemoryError()
            self.q.batch = 1
        with nogil:
            rc = queue_dispatch(self.p, &self.q)
        if rc != lp.PCAP_ERROR_BREAK:
            self.read_error(rc)
        if self.q.too_large:
            self.q.too_large = 0
            raise _too_long(self.what, 0)
        return self.q.count

    cdef int fill(self, int mode, batch_fill *f, Py_ssize_t limit) except -3:
        return _Source.fill(self, mode, f, limit)     # through next(): filtered

    cdef int set_filter(self, lp.bpf_program *prog, bytes expr, bint optimize) except -1:
        cdef int rc = lp.pcap_setfilter(self.p, prog)
        if rc == 0:
            self._forget_filter()
            self.prog = prog[0]
            self.prog_set = True
        else:
            lp.pcap_freecode(prog)
        return _check(self.p, rc, f"set filter on {self.what}")

    cdef void _forget_filter(self) noexcept:
        if self.prog_set:
            lp.pcap_freecode(&self.prog)
            self.prog_set = False

    cdef int fileno(self):
        raise _pcap_error(lp.PCAP_ERROR, f"fileno of {self.what}", "libpcap gives remote capture (rpcap) no "
                          "selectable descriptor: read the handle in a thread of its own instead of waiting "
                          "on it with select, selectors or asyncio")

    cdef void release(self) noexcept:
        self._forget_filter()
        _LiveSource.release(self)


cdef _RemoteSource _open_remote(bytes bname, str name, int snaplen, bint promisc, int timeout_ms, object auth):
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef _RemoteSource src = _RemoteSource.__new__(_RemoteSource)
    cdef lp.bpf_program prog
    cdef lp.pcap_t *p
    cdef const char *c_name = bname
    cdef const char *c_user = NULL
    cdef const char *c_password = NULL
    user, password = _auth_arg(auth)
    if user is not None:
        c_user, c_password = user, password
    cdef int flags = REMOTE_OPEN_NOCAPTURE_RPCAP | (REMOTE_OPEN_PROMISCUOUS if promisc else 0)
    cdef int c_snaplen = snaplen if snaplen > 0 else MAXIMUM_SNAPLEN
    cdef int read_timeout = 2 * (min(timeout_ms, _REMOTE_SLICE_MS) if timeout_ms > 0 else _REMOTE_SLICE_MS)
    src.live = True
    src.waits = True
    src.what = f"packets from {name!r}"
    src.device = name
    src.fd = -1
    errbuf[0] = 0
    with nogil:     # connecting and authenticating: the network's time
        p = remote_open(c_name, c_snaplen, flags, read_timeout, c_user, c_password, errbuf)
    if p == NULL:
        raise _remote_error(f"cannot open {name!r}", _text(errbuf))
    src.p = p
    # libpcap PR #1577: a filter must be in place before the capture starts.
    _check(p, lp.pcap_compile(p, &prog, b"", 1, lp.PCAP_NETMASK_UNKNOWN), f"compile the match-all filter for {name!r}")
    rc = lp.pcap_setfilter(p, &prog)
    lp.pcap_freecode(&prog)
    _check(p, rc, f"set the match-all filter on {name!r}")
    src.write_precision = lp.PCAP_TSTAMP_PRECISION_MICRO
    _clock_set(&src.clock, src.write_precision)
    # libpcap starts the remote capture at the first read: start it now (a
    # wait of one slice at most, what comes is queued), so that, as on a
    # local handle, the packets from the open on are captured.
    src._refill()
    return src


cdef list _remote_interfaces(object source, object auth):
    """interfaces(source): pcap_findalldevs_ex() of an rpcap:// source."""
    cdef lp.pcap_if_t *devs = NULL
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef const char *c_user = NULL
    cdef const char *c_password = NULL
    cdef bytes bsource = _encode_name(source, "source")
    cdef const char *c_source = bsource
    cdef int rc
    name = _os.fsdecode(bsource)
    if not _is_remote_url(bsource):
        raise ValueError(f"source must be an rpcap://host:port/ URL, not {name!r}")
    user, password = _auth_arg(auth)
    if user is not None:
        c_user, c_password = user, password
    errbuf[0] = 0
    with nogil:
        rc = remote_findalldevs(c_source, c_user, c_password, &devs, errbuf)
    if rc != 0:
        raise _remote_error(f"findalldevs {name!r}", _text(errbuf))
    try:
        return _interface_objects(devs)
    finally:
        lp.pcap_freealldevs(devs)


def remote_accept(address="0.0.0.0", port=2003, *, hosts=None, auth=None):
    """remote_accept(address="0.0.0.0", port=2003, *, hosts=None, auth=None) -> str

    Active mode: wait on ``address``:``port`` for an rpcapd started with
    ``-a this-host,port`` to connect, authenticate to it with ``auth`` (as
    pcap() does) and return its numeric address: ``pcap("rpcap://ADDRESS/
    device")`` and ``findalldevs("rpcap://ADDRESS/")`` then go over this
    connection (libpcap's pcap_remoteact_accept()).  ``hosts``: the
    addresses accepted (a list of str; None: any).  Waits with the GIL
    released, for as long as it takes: Ctrl-C (a signal to the main
    thread) ends the wait with KeyboardInterrupt.  remote_close(address)
    ends the connection.  Raises PcapError when the port cannot be
    listened on, the sensor is not among ``hosts``, authentication fails,
    or this module's libpcap has no remote capture.
    """
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef char host[REMOTE_HOST_SIZE]
    cdef const char *c_user = NULL
    cdef const char *c_password = NULL
    cdef const char *c_hosts = NULL
    cdef int rc
    cdef bytes baddress = _encode_name(address, "address")
    cdef bytes bport = str(_int_arg(port, "port", 1, 65535)).encode()
    cdef const char *c_address = baddress
    cdef const char *c_port = bport
    cdef bytes bhosts
    if hosts is not None:
        if isinstance(hosts, (str, bytes)):
            raise TypeError("hosts must be a list of addresses, not one string")
        bhosts = b",".join(_encode_name(h, "hosts") for h in hosts)
        c_hosts = bhosts
    user, password = _auth_arg(auth)
    if user is not None:
        c_user, c_password = user, password
    errbuf[0] = 0
    host[0] = 0
    with nogil:
        rc = remote_act_accept(c_address, c_port, c_hosts, host, c_user, c_password, errbuf)
    PyErr_CheckSignals()
    if rc != 0:
        raise _remote_error(f"accept an active rpcapd on {_os.fsdecode(baddress)}:{port}", _text(errbuf))
    return _text(host)


def remote_close(host):
    """remote_close(host)

    Close the active-mode connection of ``host`` (what remote_accept()
    returned; its open handles first).  Raises PcapError when there is
    none.
    """
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef bytes bhost = _encode_name(host, "host")
    errbuf[0] = 0
    if remote_close_active(bhost, errbuf) != 0:
        raise _remote_error(f"close the active connection of {_os.fsdecode(bhost)}", _text(errbuf))
