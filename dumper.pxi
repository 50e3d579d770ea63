# --------------------------------------------------------------------------
# Writing savefiles.

cdef class dumper:
    """dumper(path, dlt=DLT_EN10MB, snaplen=65535, nano=False, append=False, timestamp_in_ns=False)

    A classic pcap savefile opened for writing (``pcap_dump_open``), or for
    appending to an existing one with ``append=True``.  ``nano=True`` writes
    nanosecond timestamps.  ``write(ts, buf)`` takes ``ts`` as seconds (int or
    float), or int nanoseconds when ``timestamp_in_ns`` is true.  Raises
    PcapError (an OSError) naming the path when it cannot be opened.  The
    flags ``nano``, ``append`` and ``timestamp_in_ns`` are True or False (or
    1 or 0); anything else raises TypeError naming it.
    """
    cdef lp.pcap_t *_dead
    cdef lp.pcap_dumper_t *_d
    cdef str _path
    cdef int _snaplen
    cdef int _dlt
    cdef bint _nano
    cdef bint _timestamp_in_ns

    def __cinit__(self):
        self._dead = NULL
        self._d = NULL

    def __init__(self, path, dlt=lp.DLT_EN10MB, snaplen=65535, nano=False, append=False,
                 timestamp_in_ns=False):
        cdef bytes bpath = _encode_name(path, "path")
        if self._d != NULL:
            raise RuntimeError("dumper is already open")
        dlt = _int_arg(dlt, "dlt", 0, C_INT_MAX)
        snaplen = _int_arg(snaplen, "snaplen", 1, C_INT_MAX)
        self._path = _os.fsdecode(bpath)
        self._snaplen = snaplen
        self._dlt = dlt
        self._nano = _bool_arg(nano, "nano")
        self._timestamp_in_ns = _bool_arg(timestamp_in_ns, "timestamp_in_ns")
        append = _bool_arg(append, "append")
        self._dead = lp.pcap_open_dead_with_tstamp_precision(
            dlt, snaplen, lp.PCAP_TSTAMP_PRECISION_NANO if self._nano else lp.PCAP_TSTAMP_PRECISION_MICRO)
        if self._dead == NULL:
            raise _pcap_error(lp.PCAP_ERROR, f"dumper: cannot make a handle for link type {dlt}", "out of memory")
        errno_set(0)
        # (libpcap before 1.9 does not create a missing file to append to.)
        if append and _os.path.exists(bpath):
            self._d = lp.pcap_dump_open_append(self._dead, bpath)
        else:
            self._d = lp.pcap_dump_open(self._dead, bpath)
        err = errno
        if self._d == NULL:
            detail = _text(lp.pcap_geterr(self._dead))
            lp.pcap_close(self._dead)
            self._dead = NULL
            if err:
                raise _os_error(err, f"cannot open {self._path!r} for writing", self._path)
            raise _pcap_error(lp.PCAP_ERROR, f"cannot open {self._path!r} for writing", detail, self._path)

    def __dealloc__(self):
        if self._d != NULL:
            lp.pcap_dump_close(self._d)
        if self._dead != NULL:
            lp.pcap_close(self._dead)

    cdef inline int _ensure_open(self) except -1:
        if self._d == NULL:
            raise ValueError("operation on a closed dumper")
        return 0

    cdef int _check_stream(self, str what) except -1:
        if ferror(lp.pcap_dump_file(self._d)):
            raise _os_error(errno, f"{what} {self._path!r}", self._path)
        return 0

    @classmethod
    def __class_getitem__(cls, item):
        return _types.GenericAlias(cls, item)

    def write(self, ts, buf, wirelen=None):
        """Append one packet: ``buf`` (any bytes-like object) cut to the
        snaplen, with original length ``wirelen`` (default ``len(buf)``).
        """
        cdef lp.pcap_pkthdr hdr
        cdef Py_buffer view
        cdef long long sec, frac
        self._ensure_open()
        if self._timestamp_in_ns:
            if not PyIndex_Check(ts):
                raise TypeError(f"ts must be int nanoseconds for this dumper (timestamp_in_ns=True), "
                                f"not {type(ts).__name__}")
            sec, frac = divmod(PyNumber_Index(ts), 1000000000)
            if not self._nano:
                frac //= 1000
        else:
            sec, frac = _split_seconds(ts, 1000000000 if self._nano else 1000000)
        if sec < 0 or sec > 0xffffffff:
            raise ValueError(f"timestamp out of the range of a savefile (1970 to 2106): {ts!r}")
        _get_buffer(buf, &view, PyBUF_SIMPLE, "buf")
        try:
            hdr.ts.tv_sec = sec
            hdr.ts.tv_usec = frac
            hdr.caplen = <lp.bpf_u_int32>min(view.len, self._snaplen)
            if wirelen is None:
                hdr.len = <lp.bpf_u_int32>view.len
            else:
                hdr.len = <lp.bpf_u_int32>_int_arg(wirelen, "wirelen", view.len, 0xffffffff)
            self._write_header(&hdr, <const unsigned char *>view.buf)
        finally:
            PyBuffer_Release(&view)

    cdef int _write_header(self, lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
        """Write one record: ``hdr`` in this file's units, cut to the snaplen."""
        self._ensure_open()
        if hdr.caplen > <unsigned int>self._snaplen:
            hdr.caplen = self._snaplen
        lp.pcap_dump(<unsigned char *>self._d, hdr, data)
        self._check_stream("writing")
        return 0

    def flush(self):
        """Make what was written readable by other processes."""
        self._ensure_open()
        if lp.pcap_dump_flush(self._d) < 0:
            raise _os_error(errno, f"flushing {self._path!r}", self._path)

    def close(self):
        """Flush and close the file; closing twice does nothing."""
        cdef int err = -1
        if self._d != NULL:
            if lp.pcap_dump_flush(self._d) < 0:
                err = errno        # now: closing may change errno
            lp.pcap_dump_close(self._d)
            self._d = NULL
            lp.pcap_close(self._dead)
            self._dead = NULL
            if err >= 0:
                raise _os_error(err, f"writing {self._path!r}", self._path)

    @property
    def closed(self):
        """True once close() was called."""
        return self._d == NULL

    @property
    def path(self):
        """The savefile's path (str)."""
        return self._path

    @property
    def dlt(self):
        """The link type written in the file header."""
        return self._dlt

    @property
    def snaplen(self):
        """The snapshot length: packets are cut to this many bytes."""
        return self._snaplen

    @property
    def nano(self):
        """True for a nanosecond savefile, False for microseconds."""
        return self._nano

    @property
    def timestamp_in_ns(self):
        """True when write() takes int nanoseconds, False for seconds."""
        return self._timestamp_in_ns

    def __enter__(self):
        self._ensure_open()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __repr__(self):
        return f"<{'closed ' if self._d == NULL else ''}pcap.dumper {self._path!r}>"


cdef tuple _split_seconds(object ts, long long units):
    """Seconds (int or float) -> (whole seconds, fraction in units)."""
    cdef long long sec, frac
    if PyIndex_Check(ts):                 # int, numpy integers
        return PyNumber_Index(ts), 0
    if isinstance(ts, (str, bytes)):
        raise TypeError(f"ts must be a number of seconds, not {type(ts).__name__}")
    try:
        t = float(ts)                     # float, numpy floats, Decimal...
    except TypeError:
        raise TypeError(f"ts must be a number of seconds, not {type(ts).__name__}") from None
    sec = <long long>(t // 1)
    frac = <long long>round((t - sec) * units)
    if frac >= units:
        sec += 1
        frac -= units
    return sec, frac
