# --------------------------------------------------------------------------
# BPF programs compiled without a capture handle.

cdef class bpf:
    """bpf(expr, dlt=DLT_RAW, snaplen=65535, optimize=True)

    A BPF program compiled from the filter expression ``expr`` (str or bytes)
    for link type ``dlt``, with no capture handle and no temporary file
    (``pcap_open_dead`` + ``pcap_compile``).  ``filter(buf)`` runs it on one
    packet.  ``len(b)`` is its number of instructions and ``dump()`` lists them
    as ``tcpdump -d`` does.  Raises PcapError with libpcap's message when the
    expression does not compile.  ``optimize`` is True or False (or 1 or 0);
    anything else raises TypeError.
    """
    cdef lp.bpf_program _prog
    cdef bint _compiled
    cdef str _expr
    cdef int _dlt
    cdef int _snaplen

    def __cinit__(self):
        self._compiled = False

    def __init__(self, expr, dlt=lp.DLT_RAW, snaplen=65535, optimize=True):
        cdef bytes bexpr = _encode_filter(expr)
        dlt = _int_arg(dlt, "dlt", 0, C_INT_MAX)
        snaplen = _int_arg(snaplen, "snaplen", 1, MAXIMUM_SNAPLEN)
        cdef bint c_optimize = _bool_arg(optimize, "optimize")
        cdef lp.pcap_t *dead = lp.pcap_open_dead(dlt, snaplen)
        if dead == NULL:
            raise _pcap_error(lp.PCAP_ERROR, f"bpf: cannot make a handle for link type {dlt}", "out of memory")
        try:
            if self._compiled:
                lp.pcap_freecode(&self._prog)
                self._compiled = False
            _check(dead, lp.pcap_compile(dead, &self._prog, bexpr, c_optimize, lp.PCAP_NETMASK_UNKNOWN),
                   f"bpf {bexpr.decode('utf-8', 'replace')!r}")
            self._compiled = True
        finally:
            lp.pcap_close(dead)
        self._expr = bexpr.decode("utf-8", "replace")
        self._dlt = dlt
        self._snaplen = snaplen

    @property
    def expr(self):
        """The filter expression (str)."""
        return self._expr

    @property
    def dlt(self):
        """The link type the program was compiled for."""
        return self._dlt

    @property
    def snaplen(self):
        """The snapshot length the program was compiled for."""
        return self._snaplen

    def __dealloc__(self):
        if self._compiled:
            lp.pcap_freecode(&self._prog)

    def filter(self, buf):
        """filter(buf) -> bool

        Whether the packet ``buf`` (any bytes-like object, starting at the
        link-layer header of ``dlt``) matches.
        """
        cdef Py_buffer view
        cdef unsigned int r
        if not self._compiled:
            raise ValueError("bpf object was not initialised")
        _get_buffer(buf, &view, PyBUF_SIMPLE, "buf")
        try:
            r = lp.bpf_filter(self._prog.bf_insns, <const unsigned char *>view.buf,
                              <unsigned int>view.len, <unsigned int>view.len)
        finally:
            PyBuffer_Release(&view)
        return r != 0

    def __len__(self):
        return self._prog.bf_len if self._compiled else 0

    def dump(self):
        """dump() -> list of str

        The program, one instruction a line, as ``tcpdump -d`` prints it.
        """
        cdef unsigned int i
        if not self._compiled:
            return []
        return [_text(lp.bpf_image(&self._prog.bf_insns[i], i)) for i in range(self._prog.bf_len)]

    def __repr__(self):
        return f"bpf({self._expr!r}, dlt={self._dlt})"


