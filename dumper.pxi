# --------------------------------------------------------------------------
# Writing savefiles: classic pcap and pcapng, by our own writer
# (savefile_writer.h), to a path, a compressed path or a Python file object.

_FORMATS = ("pcap", "pcapng")
# The last second whose nanoseconds fit pcapng's 64-bit time stamps (2554).
cdef long long _PCAPNG_LAST_SECOND = 18446744072
# (C constants: the literal 0xffffffff, which does not fit a C int, would compare as a Python int.)
cdef long long _PCAP_LAST_SECOND = 0xffffffff
cdef long long _U32_MAX = 0xffffffff
cdef object _ZERO = 0        # write()'s default interface
_COMPRESSIONS = ("gzip", "zstd")

# The option codes of what is written (pcapng specification, section 4).
cdef enum:
    _SHB_HARDWARE = 2
    _SHB_OS = 3
    _SHB_USERAPPL = 4
    _EPB_HASH = 3
    _OPT_CUSTOM_STR = 2988


cdef bytes _opt(int code, bytes value):
    """One pcapng option, padded to 4 bytes, in our byte order."""
    if len(value) > 0xffff:
        raise ValueError(f"a pcapng option holds at most 65535 bytes, not {len(value)}")
    return _struct.pack("=HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


cdef bytes _opt_str(int code, object value, str name):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    return _opt(code, (<str>value).encode("utf-8"))


cdef object _u64_arg(object value, str name):
    """``value`` as an unsigned 64-bit number of pcapng (epb_dropcount,
    epb_packetid, the isb_ counters): the whole range, as readers give them."""
    if not PyIndex_Check(value):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    v = PyNumber_Index(value)
    if v < 0 or v > 0xffffffffffffffff:
        raise ValueError(f"{name} must be 0 to 18446744073709551615, not {value!r}")
    return v


cdef bytes _end_options(bytes options):
    return options + b"\0\0\0\0" if options else options


cdef list _comment_list(object comments, str name):
    """A str, or an iterable of str -> [str]."""
    if comments is None:
        return []
    if isinstance(comments, str):
        return [comments]
    if isinstance(comments, (bytes, bytearray)):
        raise TypeError(f"{name} must be str or a list of str, not {type(comments).__name__}")
    try:
        out = list(comments)
    except TypeError:
        raise TypeError(f"{name} must be str or a list of str, not {type(comments).__name__}") from None
    for c in out:
        if not isinstance(c, str):
            raise TypeError(f"{name} must be str or a list of str, not a list holding {type(c).__name__}")
    return out


def _default_os():
    """The host's "system release", a pcapng section's and interface's os
    by default.  (platform is imported here, not with the module: with the
    re and enum it imports it was 0.6 MiB and 6 ms of each `import pcap`,
    half its time.)"""
    import platform
    return f"{platform.system()} {platform.release()}".strip()


def _default_hardware():
    import platform
    return platform.machine()


cdef object _format_of(object name, object fmt, object compress):
    """(format, compression) from the arguments, else from the name's suffixes."""
    lower = name.lower() if isinstance(name, str) else ""
    if compress is None:
        compress = "gzip" if lower.endswith(".gz") else "zstd" if lower.endswith((".zst", ".zstd")) else None
    elif compress is False:
        compress = None
    elif compress not in _COMPRESSIONS:
        raise ValueError(f"compress must be 'gzip', 'zstd', False or None (from the name), not {compress!r}")
    if fmt is None:
        stem = lower[:lower.rindex(".")] if compress and "." in lower else lower
        fmt = "pcapng" if stem.endswith((".pcapng", ".ntar")) else "pcap"
    elif fmt not in _FORMATS:
        raise ValueError(f"format must be 'pcap' or 'pcapng', not {fmt!r}")
    return fmt, compress


cdef class dumper:
    """dumper(path, dlt=DLT_EN10MB, snaplen=65535, nano=None, append=False, timestamp_in_ns=False, *, format=None, compress=None, interfaces=None, comment=None, hardware=None, os=None, application=None)

    A savefile opened for writing: classic pcap, as pypcap wrote, or
    pcapng (``format="pcapng"``, or a path ending in ``.pcapng``): a
    section header, one interface description per interface, and each
    packet with its interface, comments, flags, drop count and id.

    path -- str, bytes or os.PathLike; or a binary file object (with
            ``write``), written through and left open.  A path ending in
            ``.gz`` or ``.zst`` (or ``compress="gzip"`` / ``"zstd"``, the
            latter with the zstandard package) is written compressed.
    dlt, snaplen -- the link type and snapshot length (of the first
            interface, in pcapng): packets are cut to the snaplen.
    nano -- nanosecond time stamps; the default is microseconds for
            classic pcap (as pypcap wrote), nanoseconds for pcapng.
    append -- add to an existing file (created when missing): classic
            records after its own, which must have the same link type,
            snaplen and precision; a pcapng file gets a new section.  A file
            that does not end on a whole record or block is refused.
    timestamp_in_ns -- write() takes int nanoseconds instead of seconds.
    interfaces -- pcapng: the interfaces, ``interface_description``
            objects (``p.interfaces`` of a handle); default one of ``dlt``
            and ``snaplen``.
    comment, hardware, os, application -- pcapng: the section header's
            options; hardware, os and application default to this machine's
            and this module's ("" leaves one out).

    Records and blocks go to the file whole, from a buffer of the dumper's
    own: a process killed between two writes leaves a file that is sound up
    to the last one written out (flush() writes out the buffer).  Killed
    inside a write of more than a page, it may leave part of the next one
    after them (Linux stops the write at a page boundary); append=True
    then says how many bytes to truncate the file to.  Raises PcapError (an
    OSError) naming the path when it cannot be opened.
    """
    cdef savefile_writer w
    cdef bint _open
    cdef bint _busy              # a batch is being written without the GIL
    cdef object _file            # the file object written to (fd -1), or None
    cdef bint _own_file          # opened here (a compressor): closed by close()
    cdef str _path
    cdef int _snaplen
    cdef int _dlt
    cdef bint _nano
    cdef bint _timestamp_in_ns
    cdef str _format
    cdef object _compress
    cdef bytes _shb_options
    cdef list _interfaces        # interface_description of each written, this section
    cdef list _dlts              # their link types (DLT_)
    cdef long long _opened_ns    # when opened: the statistics' start
    cdef object _handle          # the pcap handle of dump_open(): its stats() at close
    cdef _Source _follow         # its source: interfaces and sections followed as packets come
    cdef unsigned int _follow_changes
    cdef unsigned int _follow_section
    cdef bytearray _scratch      # a packet's options
    cdef bint _same_valid        # _write_from(): the last packet's interface had the source's link type:
    cdef unsigned int _same_iface    # this interface
    cdef int _same_dlt               # and this link type

    def __cinit__(self):
        self.w.fd = -1
        self._open = False

    def __init__(self, path, dlt=lp.DLT_EN10MB, snaplen=65535, nano=None, append=False,
                 timestamp_in_ns=False, *, format=None, compress=None, interfaces=None, comment=None,
                 hardware=None, os=None, application=None):
        if self._open:
            raise RuntimeError("dumper is already open")
        self._dlt = _int_arg(dlt, "dlt", 0, C_INT_MAX)
        self._snaplen = _int_arg(snaplen, "snaplen", 1, C_INT_MAX)
        self._timestamp_in_ns = _bool_arg(timestamp_in_ns, "timestamp_in_ns")
        append = _bool_arg(append, "append")
        is_file = hasattr(path, "write") and not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__")
        if is_file:
            name = _fileobj_name(path)
            self._path = name if isinstance(name, str) else repr(path)
        else:
            self._path = _os.fsdecode(_encode_name(path, "path"))
        self._format, self._compress = _format_of(self._path, format, compress)
        self._nano = (self._format == "pcapng") if nano is None else _bool_arg(nano, "nano")
        if self._format == "pcap":
            for k, v in (("interfaces", interfaces), ("comment", comment), ("hardware", hardware), ("os", os),
                         ("application", application)):
                if v is not None:
                    raise ValueError(f"{k} is written in pcapng only: give format='pcapng' (or a .pcapng path)")
            self._interfaces = [interface_description(0, self._dlt, self._snaplen)]
        else:
            self._shb_options = self._section_options(comment, hardware, os, application)
            if interfaces is None:
                interfaces = [interface_description(0, self._dlt, self._snaplen)]
            self._interfaces = []
            try:
                interfaces = list(interfaces)
            except TypeError:
                raise TypeError(f"interfaces must be a list of pcap.interface_description, "
                                f"not {type(interfaces).__name__}") from None
            for i in interfaces:
                if not isinstance(i, interface_description):
                    raise TypeError(f"interfaces must be pcap.interface_description objects, "
                                    f"not {type(i).__name__}")
            if not interfaces:
                raise ValueError("interfaces is empty: a pcapng file needs one interface or more")
            self._dlt = interfaces[0].linktype
            self._snaplen = interfaces[0].snaplen or MAXIMUM_SNAPLEN
        if append and (is_file or self._compress):
            raise ValueError("append=True appends to an uncompressed path, not to "
                             + ("a file object" if is_file else "a compressed file"))
        self._dlts = []
        self._scratch = bytearray(256)
        self._opened_ns = _time_ns()
        # What the file cannot say is refused before it is opened (and a file there truncated).
        if self._format == "pcap":
            self._classic_header()
        else:
            for i in interfaces:
                self._idb_body(i)
        self._open_output(path, is_file, append, interfaces)

    cdef bytes _section_options(self, comment, hardware, os, application):
        out = b""
        for c in _comment_list(comment, "comment"):
            out += _opt_str(_OPT_COMMENT, c, "comment")
        defaults = ((_SHB_HARDWARE, hardware, _default_hardware(), "hardware"),
                    (_SHB_OS, os, _default_os(), "os"),
                    (_SHB_USERAPPL, application, f"python pcap {__version__}", "application"))
        for code, value, default, name in defaults:
            value = default if value is None else value
            if value:
                out += _opt_str(code, value, name)
        return _end_options(out)

    cdef int _open_output(self, path, bint is_file, bint append, list interfaces) except -1:
        cdef int fd = -1
        cdef uint64_t units = 1000000000 if self._nano else 1000000
        cdef bint fresh = True
        if is_file:
            self._file = path
        elif self._compress:
            self._file = _compressor(path, self._path, self._compress)
            self._own_file = True
        else:
            bpath = _encode_name(path, "path")
            try:
                if append and _os.path.exists(bpath):
                    fd = _os.open(bpath, _os.O_RDWR | _os.O_APPEND | _os.O_CLOEXEC)
                    fresh = self._check_append(fd)
                else:
                    fd = _os.open(bpath, _os.O_WRONLY | _os.O_CREAT | _os.O_TRUNC | _os.O_CLOEXEC, 0o666)
            except OSError as e:
                if fd >= 0:
                    _os.close(fd)
                if isinstance(e, PcapError):
                    raise
                raise _os_error(e.errno or 0, f"cannot open {self._path!r} for writing", self._path) from None
        if writer_init(&self.w, fd, self._format == "pcapng", units, 256 * 1024) < 0:
            if fd >= 0:
                _os.close(fd)
            raise MemoryError()
        self._open = True
        try:
            if self._format == "pcap":
                if writer_add_interface(&self.w, self._snaplen) < 0:
                    raise MemoryError()
                self._dlts.append(self._dlt)
                if fresh:
                    self._raw(self._classic_header())
            else:
                self._new_section(interfaces)
            self._drain()
        except BaseException:
            self._shut(False)
            raise
        return 0

    cdef bytes _classic_header(self):
        cdef int linktype = linktype_of_dlt(self._dlt)
        if linktype < 0:
            raise _pcap_error(lp.PCAP_ERROR, f"cannot open {self._path!r} for writing",
                              f"link-layer type {self._dlt} isn't supported in savefiles", self._path)
        magic = PCAP_MAGIC_NANO if self._nano else PCAP_MAGIC_MICRO
        return _struct.pack("=IHHiIII", magic, 2, 4, 0, 0, self._snaplen, linktype)

    cdef bint _check_append(self, int fd) except -1:
        """Whether the file at fd is empty (so gets a header); else that
        appending to it is sound, or raise."""
        cdef uint64_t target, found, walked
        size = _os.fstat(fd).st_size
        if size == 0:
            return True
        head = _os.pread(fd, 24, 0)
        what = f"cannot append to {self._path!r}"
        if len(head) >= 4 and head[:4] == b"\x0a\x0d\x0d\x0a":
            kind = "pcapng"
        elif len(head) >= 24 and _struct.unpack_from("=I", head)[0] in (PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO):
            kind = "pcap"
        elif len(head) >= 4 and swap32(_struct.unpack_from("=I", head)[0]) in (PCAP_MAGIC_MICRO,
                                                                               PCAP_MAGIC_NANO):
            raise _pcap_error(lp.PCAP_ERROR, what, "the file is in the other byte order, cannot append to it",
                              self._path)
        else:
            raise _pcap_error(lp.PCAP_ERROR, what, "not a pcap file" if self._format == "pcap"
                              else "not a pcapng file", self._path)
        if kind != self._format:
            raise _pcap_error(lp.PCAP_ERROR, what, f"it is a {kind} file, and this dumper writes "
                              f"{self._format} (format={kind!r})", self._path)
        if kind == "pcap":
            magic, _, _, _, _, snaplen, linktype = _struct.unpack_from("=IHHiIII", head)
            if (magic == PCAP_MAGIC_NANO) != self._nano:
                raise _pcap_error(lp.PCAP_ERROR, what, "different time stamp precision, cannot append",
                                  self._path)
            if linktype != linktype_of_dlt(self._dlt):
                raise _pcap_error(lp.PCAP_ERROR, what, f"different linktype ({linktype}, not "
                                  f"{linktype_of_dlt(self._dlt)}), cannot append", self._path)
            if snaplen != self._snaplen:
                raise _pcap_error(lp.PCAP_ERROR, what, f"different snaplen ({snaplen}, not {self._snaplen}), "
                                  f"cannot append", self._path)
        target = size
        if savefile_boundaries(fd, &target, 1, &found, &walked) != 0:
            raise _os_error(errno, f"cannot append to {self._path!r}", self._path)
        if walked != <uint64_t>size:
            raise _pcap_error(lp.PCAP_ERROR, what, f"it does not end on a whole "
                              f"{'record' if kind == 'pcap' else 'block'}: {size - walked} bytes at offset "
                              f"{walked} are not one (a writer killed while it wrote?); truncate the file to "
                              f"{walked} bytes to append to it", self._path)
        return False

    def __del__(self):
        # A dumper dropped unclosed is closed as close() does: what it holds
        # goes to a file object too (and a copy's statistics are written),
        # which __dealloc__, with no Python left to call, could not do.
        if self._open and not self._busy:
            self._shut(True)

    def __dealloc__(self):
        if self._open:
            writer_flush(&self.w)
            if self.w.fd >= 0:
                close(self.w.fd)
        writer_free(&self.w)

    cdef inline int _ensure_open(self) except -1:
        if not self._open:
            raise ValueError("operation on a closed dumper")
        if self._busy:
            raise RuntimeError("the dumper is writing a batch in another thread")
        return 0

    # -- bytes out ---------------------------------------------------------

    cdef int _failed(self, str what) except -1:
        raise _os_error(self.w.err, f"{what} {self._path!r}", self._path)

    cdef int _raw(self, bytes b) except -1:
        if writer_raw(&self.w, <const char *>b, len(b)) < 0:
            self._failed("writing")
        return 0

    cdef int _block(self, uint32_t type, bytes body) except -1:
        if writer_block(&self.w, type, <const char *>body, len(body)) < 0:
            self._failed("writing")
        return 0

    cdef int _drain(self) except -1:
        """With a file object: hand it what the buffer holds."""
        if self._file is not None and self.w.used:
            data = PyBytes_FromStringAndSize(<const char *>self.w.buf, self.w.used)
            self.w.used = 0
            self._file.write(data)
        return 0

    cdef inline int _drain_if_due(self) except -1:
        if self._file is not None and self.w.used >= self.w.drain_at:
            self._drain()
        return 0

    # -- pcapng blocks -------------------------------------------------------

    cdef int _new_section(self, list interfaces) except -1:
        """A section header, then the interfaces' descriptions."""
        body = _struct.pack("=IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + self._shb_options
        self._block(BT_SHB, body)
        self.w.count = 0
        self._interfaces = []
        self._dlts = []
        self._same_valid = False
        for i in interfaces:
            self._add_interface(i)
        return 0

    cdef int _add_interface(self, object i) except -1:
        body = self._idb_body(i)
        snaplen = i.snaplen
        self._block(BT_IDB, body)
        if writer_add_interface(&self.w, snaplen if snaplen else 0xffffffff) < 0:
            raise MemoryError()
        index = len(self._interfaces)
        self._interfaces.append(interface_description(
            index, i.linktype, snaplen, 0, 1000000000 if self._nano else 1000000, 0, name=i.name,
            description=i.description, filter=i.filter, os=i.os, hardware=i.hardware, fcslen=i.fcslen,
            speed=i.speed, comments=_comment_list(i.comments, "comments")))
        self._dlts.append(i.linktype)
        return index

    cdef bytes _idb_body(self, object i):
        """The Interface Description Block of i (what lies between its
        lengths), or the error for what it cannot say."""
        if not PyIndex_Check(i.linktype):
            raise TypeError(f"an interface's linktype must be an int, not {type(i.linktype).__name__}")
        cdef int linktype = linktype_of_dlt(_int_arg(i.linktype, "linktype", 0, C_INT_MAX))
        if linktype < 0:
            raise _pcap_error(lp.PCAP_ERROR, f"cannot write {self._path!r}",
                              f"link-layer type {i.linktype} isn't supported in savefiles", self._path)
        snaplen = _int_arg(i.snaplen, "snaplen", 0, 0xffffffff)
        opts = b""
        for c in _comment_list(i.comments, "comments"):
            opts += _opt_str(_OPT_COMMENT, c, "comments")
        for code, value, name in ((_IF_NAME, i.name, "name"), (_IF_DESCRIPTION, i.description, "description")):
            if value is not None:
                opts += _opt_str(code, value, name)
        if i.speed is not None:
            opts += _opt(_IF_SPEED, _struct.pack("=Q", _u64_arg(i.speed, "speed")))
        opts += _opt(_IF_TSRESOL, bytes([9 if self._nano else 6]))
        if i.filter is not None:
            opts += _opt(_IF_FILTER, b"\0" + _opt_str(0, i.filter, "filter")[4:].rstrip(b"\0"))
        if i.os is not None:
            opts += _opt_str(_IF_OS, i.os, "os")
        if i.fcslen is not None:
            opts += _opt(_IF_FCSLEN, bytes([_int_arg(i.fcslen, "fcslen", 0, 255)]))
        if i.hardware is not None:
            opts += _opt_str(_IF_HARDWARE, i.hardware, "hardware")
        return _struct.pack("=HHI", linktype, 0, snaplen) + _end_options(opts)

    cdef int _need_pcapng(self, str what) except -1:
        if self._format != "pcapng":
            raise ValueError(f"{what} is written in pcapng only: this dumper writes classic pcap "
                             f"(format='pcapng', or a .pcapng path)")
        return 0

    def add_interface(self, linktype, snaplen=65535, **options):
        """add_interface(linktype, snaplen=65535, *, name=None, description=None, filter=None, os=None, hardware=None, fcslen=None, speed=None, comments=()) -> int

        pcapng: describe one more interface, and return its index, the
        ``interface`` its packets are written with.  ``linktype`` may also
        be an ``interface_description`` (an element of ``p.interfaces``),
        whose fields are taken.
        """
        self._ensure_open()
        self._need_pcapng("add_interface()")
        if isinstance(linktype, interface_description):
            if options:
                raise TypeError("add_interface() takes an interface_description, or a linktype and options")
            i = linktype
        else:
            known = ("name", "description", "filter", "os", "hardware", "fcslen", "speed", "comments")
            for k in options:
                if k not in known:
                    raise TypeError(f"add_interface() got an unexpected keyword argument {k!r}")
            i = interface_description(0, _int_arg(linktype, "linktype", 0, C_INT_MAX),
                                      _int_arg(snaplen, "snaplen", 0, 0xffffffff), **options)
        index = self._add_interface(i)
        self._drain_if_due()
        return index

    def write_statistics(self, interface=None, **counters):
        """write_statistics(interface=None, *, received=None, dropped_by_interface=None, accepted_by_filter=None, dropped_by_os=None, delivered=None, start=None, end=None)

        pcapng: write an Interface Statistics Block now.  With counters
        (ints; ``start`` and ``end`` in nanoseconds since the epoch), for
        ``interface`` (default 0).  Without, for every interface: of a
        live handle (``p.dump_open()``), its ``stats()`` (received,
        dropped by the OS, dropped by the interface), the packets written
        and the time since the dumper opened; of a copied savefile, the
        last statistics it held.  ``close()`` does the latter by itself.
        """
        self._ensure_open()
        self._need_pcapng("write_statistics()")
        if counters or interface is not None:
            names = ("received", "dropped_by_interface", "accepted_by_filter", "dropped_by_os", "delivered",
                     "start", "end")
            for k in counters:
                if k not in names:
                    raise TypeError(f"write_statistics() got an unexpected keyword argument {k!r}")
            k = _int_arg(0 if interface is None else interface, "interface", 0, len(self._interfaces) - 1)
            self._statistics(k, {n: v for n, v in counters.items() if v is not None})
        else:
            self._all_statistics()
        self._drain_if_due()

    cdef int _statistics(self, int k, dict st) except -1:
        opts = b""
        codes = (("start", _ISB_STARTTIME), ("end", _ISB_ENDTIME))
        for name, code in codes:
            if name in st:
                t = self._units_of_ns(_int_arg(st[name], name, 0, 0x7fffffffffffffff))
                opts += _opt(code, _struct.pack("=II", t >> 32, t & 0xffffffff))
        codes = (("received", _ISB_IFRECV), ("dropped_by_interface", _ISB_IFDROP),
                 ("accepted_by_filter", _ISB_FILTERACCEPT), ("dropped_by_os", _ISB_OSDROP),
                 ("delivered", _ISB_USRDELIV))
        for name, code in codes:
            if name in st:
                opts += _opt(code, _struct.pack("=Q", _u64_arg(st[name], name)))
        t = self._units_of_ns(_time_ns())
        self._block(BT_ISB, _struct.pack("=III", k, t >> 32, t & 0xffffffff) + _end_options(opts))
        return 0

    cdef object _units_of_ns(self, object ns):
        return ns if self._nano else ns // 1000

    cdef int _all_statistics(self) except -1:
        cdef Py_ssize_t k
        h = self._handle
        per = None
        if h is not None and not h.closed and self._follow is not None and self._follow.live:
            # (The handle's interfaces: those added here since have only what was given.)
            per = _interface_stats(h, min(len(self._interfaces), len(self._follow.interfaces())))
        for k in range(len(self._interfaces)):
            if per is not None and k < len(per):
                recv, drop, ifdrop = per[k]
                st = dict(received=recv, dropped_by_os=drop, dropped_by_interface=ifdrop,
                          delivered=self.w.packets[k], start=self._opened_ns, end=_time_ns())
            else:
                st = self._interfaces[k].statistics
            if st:
                self._statistics(k, st)
        return 0

    # -- packets -----------------------------------------------------------

    cdef int _meta_options(self, object comments, object flags, object dropcount, object packet_id) except -1:
        """The options of one packet into _scratch: their length."""
        opts = b""
        for c in _comment_list(comments, "comments"):
            opts += _opt_str(_OPT_COMMENT, c, "comments")
        if flags is not None:
            opts += _opt(_EPB_FLAGS, _struct.pack("=I", _int_arg(flags, "flags", 0, 0xffffffff)))
        if dropcount is not None:
            opts += _opt(_EPB_DROPCOUNT, _struct.pack("=Q", _u64_arg(dropcount, "dropcount")))
        if packet_id is not None:
            opts += _opt(_EPB_PACKETID, _struct.pack("=Q", _u64_arg(packet_id, "packet_id")))
        opts = _end_options(opts)
        self._scratch[:] = opts
        return len(opts)

    def write(self, ts, buf, wirelen=None, *, interface=0, comments=None, flags=None, dropcount=None,
              packet_id=None):
        """write(ts, buf, wirelen=None, *, interface=0, comments=None, flags=None, dropcount=None, packet_id=None)

        Append one packet: ``buf`` (any bytes-like object) cut to the
        snaplen, with original length ``wirelen`` (default ``len(buf)``).
        pcapng also takes the packet's ``interface`` (an index of
        ``interfaces``), ``comments`` (str, or a list of str), ``flags``
        (``PACKET_INBOUND``/``PACKET_OUTBOUND`` in the low two bits), its
        ``dropcount`` and ``packet_id``.
        """
        cdef Py_buffer view
        cdef const unsigned char *data
        cdef Py_ssize_t length
        cdef bint have_view = False
        cdef uint32_t c_wirelen
        cdef int n_opts = 0
        cdef long long iface = 0, sec = 0, nsec = 0
        self._ensure_open()
        if <PyObject *>interface != <PyObject *>_ZERO and interface != 0:     # (the default: 0 itself)
            iface = _int_arg(interface, "interface", 0, len(self._interfaces) - 1,
                             "an index of the dumper's interfaces")
        if comments is not None or flags is not None or dropcount is not None or packet_id is not None:
            self._need_pcapng("a packet's comments, flags, dropcount and packet_id")
            n_opts = self._meta_options(comments, flags, dropcount, packet_id)
        self._stamp(ts, &sec, &nsec)
        if PyBytes_CheckExact(buf):         # (the usual case: no buffer to get and release)
            data = <const unsigned char *>PyBytes_AS_STRING(buf)
            length = PyBytes_GET_SIZE(buf)
        else:
            _get_buffer(buf, &view, PyBUF_SIMPLE, "buf")
            have_view = True
            data = <const unsigned char *>view.buf
            length = view.len
        try:
            if length > _U32_MAX:
                raise ValueError(f"buf of {length} bytes is longer than a savefile's packets can be")
            c_wirelen = <uint32_t>length if wirelen is None else \
                <uint32_t>_int_arg(wirelen, "wirelen", length, 0xffffffff)
            if writer_packet(&self.w, <uint32_t>iface, sec, <uint32_t>nsec, <uint32_t>length, c_wirelen, data,
                             <const unsigned char *>PyByteArray_AS_STRING(self._scratch), n_opts, 0) < 0:
                self._failed("writing")
        finally:
            if have_view:
                PyBuffer_Release(&view)
        self._drain_if_due()

    @cython.cdivision(True)
    cdef inline int _stamp(self, object ts, long long *sec, long long *nsec) except -1:
        """write()'s ts: whole seconds and nanoseconds, in the range of the
        format.  Floats, ints (and int nanoseconds) in C; anything else
        (numpy numbers, Decimal...), and what is out of range, through
        _stamp_any()."""
        cdef double t, whole
        cdef long long s, f
        cdef int overflow = 0
        cdef long long units = 1000000000 if self._nano else 1000000
        if self._timestamp_in_ns:
            if PyLong_CheckExact(ts):
                f = PyLong_AsLongLongAndOverflow(ts, &overflow)
                if not overflow and f >= 0:
                    s = f // 1000000000
                    return self._in_range(ts, s, f - s * 1000000000, sec, nsec)
        elif PyFloat_CheckExact(ts):
            t = PyFloat_AS_DOUBLE(ts)
            if 0.0 <= t < 4294967296.0:
                # As _split_seconds(): floor (the truncation of t >= 0), and the fraction rounded half
                # to even as round() does.
                s = <long long>t
                whole = <double>s
                f = writer_round_even((t - whole) * <double>units)
                if f >= units:
                    s += 1
                    f -= units
                return self._in_range(ts, s, f if self._nano else f * 1000, sec, nsec)
        elif PyLong_CheckExact(ts):
            s = PyLong_AsLongLongAndOverflow(ts, &overflow)
            if not overflow and s >= 0:
                return self._in_range(ts, s, 0, sec, nsec)
        return self._stamp_any(ts, sec, nsec)

    cdef inline int _in_range(self, object ts, long long s, long long f, long long *sec,
                              long long *nsec) except -1:
        if s > (_PCAPNG_LAST_SECOND if self.w.pcapng else _PCAP_LAST_SECOND):
            return self._stamp_any(ts, sec, nsec)     # (raises)
        sec[0] = s
        nsec[0] = f
        return 0

    cdef int _stamp_any(self, object ts, long long *sec, long long *nsec) except -1:
        """_stamp() of any number, in Python."""
        if self._timestamp_in_ns:
            if not PyIndex_Check(ts):
                raise TypeError(f"ts must be int nanoseconds for this dumper (timestamp_in_ns=True), "
                                f"not {type(ts).__name__}")
            s, frac = divmod(PyNumber_Index(ts), 1000000000)
        else:
            s, frac = _split_seconds(ts, 1000000000 if self._nano else 1000000)
            if not self._nano:
                frac *= 1000
        if s < 0 or s > (0xffffffff if self._format == "pcap" else _PCAPNG_LAST_SECOND):
            raise ValueError(f"timestamp out of the range of a savefile "
                             f"({'1970 to 2106' if self._format == 'pcap' else '1970 to 2554'}): {ts!r}")
        sec[0] = s
        nsec[0] = frac
        return 0

    cdef int _write_from(self, _Source src, const lp.pcap_pkthdr *hdr, const unsigned char *data,
                         const _Clock *clock) except -1:
        """One packet of a read (dispatch() and loop() given the dumper),
        with what its source says of it: interface, and in pcapng the
        packet's options."""
        cdef unsigned int iface = src.packet_interface()
        cdef long long sec = hdr.ts.tv_sec
        cdef uint32_t nsec = <uint32_t>(<long long>hdr.ts.tv_usec * clock.ns_scale)
        cdef size_t n_opts = 0
        cdef uint32_t flags = 0
        cdef int dlt
        cdef _PcapngSource ng = None
        cdef pcapng_reader *reader
        self._ensure_open()
        if isinstance(src, _PcapngSource):
            ng = <_PcapngSource>src
            if self._follow is src and self._follow_changes != ng.ng.changes:
                self._follow_source(ng)
        dlt = src.packet_dlt()
        if not self.w.pcapng:
            if dlt != self._dlt:
                self._refuse(src, iface)
            iface = 0       # (any interface of the link type: classic pcap has one)
        elif not (self._same_valid and iface == self._same_iface and dlt == self._same_dlt):
            # (Checked in the list when the interface or link type changes, not each packet.)
            if iface >= self.w.count or self._dlts[iface] != dlt:
                self._refuse(src, iface)
            self._same_iface, self._same_dlt, self._same_valid = iface, dlt, True
        if sec < 0 or sec > (_PCAPNG_LAST_SECOND if self.w.pcapng else _PCAP_LAST_SECOND):
            raise ValueError(f"a packet of {src.what} has a time stamp out of the range of a savefile: "
                             f"{sec} s")
        reader = src.packet_reader()      # (a pcapng file's, also inside a merge)
        if reader != NULL and self.w.pcapng:
            n_opts = pcapng_packet_options_native(reader, NULL, 0)
            if n_opts > <size_t>PyByteArray_GET_SIZE(self._scratch):
                PyByteArray_Resize(self._scratch, n_opts)
            if n_opts:
                pcapng_packet_options_native(reader, <unsigned char *>PyByteArray_AS_STRING(self._scratch),
                                             n_opts)
        elif src.direction == lp.PCAP_D_IN:
            flags = PCAPNG_INBOUND
        elif src.direction == lp.PCAP_D_OUT:
            flags = PCAPNG_OUTBOUND
        else:
            flags = direction_of(dlt, data, hdr.caplen)
        if writer_packet(&self.w, iface, sec, nsec, hdr.caplen, hdr.len, data,
                         <const unsigned char *>PyByteArray_AS_STRING(self._scratch), n_opts, flags) < 0:
            self._failed("writing")
        if ng is not None and self._follow is src:
            self._catch_up(ng)
        self._drain_if_due()
        return 0

    cdef int _catch_up(self, _PcapngSource src) except -1:
        """What the source read after its last packet, within its section
        (statistics, interfaces), followed now: once it reads the next
        section's header, it forgets this section's."""
        if src.held_hdr == NULL and not src.ended:
            pcapng_read_ahead(&src.ng)      # (blocks whole in its buffer: the packet's bytes stay)
        if self._follow_changes != src.ng.changes and src.ng.section == self._follow_section:
            self._follow_source(src)
        return 0

    cdef int _follow_source(self, _PcapngSource src) except -1:
        """The source's interfaces and sections, followed: a new section
        of the source starts one here; an interface described since is
        described here too, and each interface's last statistics kept for
        the end of the section."""
        ifaces = src.interfaces()
        section = src.ng.section
        if section != self._follow_section:
            self._all_statistics()
            self._new_section(ifaces)
            self._follow_section = section
        for i in ifaces:
            if i.index >= len(self._interfaces):
                self._add_interface(i)
            if i.statistics is not None:
                self._interfaces[i.index].statistics = i.statistics
        self._follow_changes = src.ng.changes
        return 0

    cdef int _refuse(self, _Source src, unsigned int iface) except -1:
        if self._format == "pcap":
            raise _pcap_error(lp.PCAP_ERROR, f"copying {src.what}", f"a packet of interface {iface} has link "
                              f"type {src.packet_dlt()}, and the dumper writes link type {self._dlt}: write "
                              f"each interface's packets (interface_id) to a dumper of its own, or write "
                              f"pcapng (format='pcapng')")
        if iface >= self.w.count:
            raise _pcap_error(lp.PCAP_ERROR, f"copying {src.what}", f"a packet of interface {iface}, and the "
                              f"dumper has {self.w.count} interface{'s' if self.w.count != 1 else ''}: open it "
                              f"with p.dump_open(), or give it interfaces=p.interfaces")
        raise _pcap_error(lp.PCAP_ERROR, f"copying {src.what}", f"a packet of interface {iface} has link type "
                          f"{src.packet_dlt()}, and the dumper's interface {iface} link type "
                          f"{self._dlts[iface]}: open it with p.dump_open(), or give it interfaces=p.interfaces")

    def write_batch(self, records, data, comments=None, *, count=None, interfaces=None):
        """write_batch(records, data, comments=None, *, count=None, interfaces=None)

        Write the packets of a batch as ``readinto()`` and ``next_batch()``
        make them, in C without the GIL: ``d.write_batch(*p.next_batch())``.
        ``records`` are BATCH_RECORD_FORMAT, or BATCH_RECORD_NG_FORMAT with
        ``interfaces=True`` (the default when ``comments`` is given), whose
        interface ids must be the dumper's and whose comments (each
        packet's ``comment_len`` bytes of ``comments``, in order) are
        written as one comment a packet, with its flags (pcapng).
        ``count`` is how many records to write (default: all of
        ``records``).  Returns it.
        """
        cdef Py_buffer rv, dv, cv
        cdef bint have_c = False
        cdef bint wide = (comments is not None) if interfaces is None else _bool_arg(interfaces, "interfaces")
        cdef size_t rsize = sizeof(batch_record_ng) if wide else sizeof(batch_record)
        cdef size_t n, nxt = 0, c_at = 0
        cdef int rc = BATCH_DRAIN
        self._ensure_open()
        if comments is not None and not wide:
            raise ValueError("comments come with interfaces=True records")
        _get_buffer(records, &rv, PyBUF_SIMPLE, "records")
        try:
            _get_buffer(data, &dv, PyBUF_SIMPLE, "data")
            try:
                if comments is not None:
                    _get_buffer(comments, &cv, PyBUF_SIMPLE, "comments")
                    have_c = True
                if count is None:
                    if rv.len % rsize:
                        raise ValueError(f"records of {rv.len} bytes are not a whole number of "
                                         f"{rsize}-byte records{' (interfaces=True?)' if not wide else ''}")
                    n = rv.len // rsize
                else:
                    n = _int_arg(count, "count", 0, rv.len // rsize, "records that records holds")
                self._busy = True
                try:
                    while rc == BATCH_DRAIN:
                        with nogil:
                            rc = writer_batch(&self.w, <const unsigned char *>rv.buf, rsize, n, &nxt,
                                              <const unsigned char *>dv.buf, dv.len,
                                              <const unsigned char *>cv.buf if have_c else NULL,
                                              cv.len if have_c else 0, &c_at)
                        self._busy = False
                        self._drain()
                        self._busy = True
                finally:
                    self._busy = False
            finally:
                if have_c:
                    PyBuffer_Release(&cv)
                PyBuffer_Release(&dv)
        finally:
            PyBuffer_Release(&rv)
        if rc != BATCH_WRITTEN:
            self._batch_error(rc, nxt)
        return n

    cdef int _batch_error(self, int rc, size_t k, str unit="record", str of="of the batch") except -1:
        where = f"{unit} {k} {of}"
        if rc == BATCH_WRITE_ERROR:
            self._failed("writing")
        if rc == BATCH_NO_MEMORY:
            raise MemoryError()
        if rc == BATCH_BAD_OFFSET:
            raise ValueError(f"{where}: its bytes (offset and caplen) lie outside data")
        if rc == BATCH_BAD_INTERFACE:
            raise ValueError(f"{where}: its interface_id is not one of the dumper's {self.w.count} interfaces")
        if rc == BATCH_BAD_TIME:
            raise ValueError(f"{where}: its time stamp is out of the range of a savefile")
        raise ValueError(f"{where}: its comment_len goes past the end of comments")

    def write_table(self, table):
        """write_table(table)

        Write the packets of an Arrow table or record batch with the
        columns ``to_arrow()`` makes: ``timestamp`` (timestamp or int64
        nanoseconds), ``wirelen`` and ``data``, and where present
        ``interface_id``, ``flags`` and ``comment`` (pcapng).  Rows with
        a null ``data`` raise.  Returns the number of packets written.
        """
        self._ensure_open()
        batches = table.to_batches() if hasattr(table, "to_batches") else [table]
        total = 0
        for b in batches:
            total += self._write_arrow_batch(b)
        return total

    cdef Py_ssize_t _write_arrow_batch(self, batch) except -1:
        """One record batch, its columns read in C (writer_columns)."""
        cdef packet_columns c
        cdef size_t nxt = 0
        cdef int rc = BATCH_DRAIN
        cdef list held = []
        import pyarrow as pa
        names = batch.schema.names
        for col in ("timestamp", "data"):
            if col not in names:
                raise ValueError(f"an Arrow table to write needs a {col!r} column; it has {names}")
        memset(&c, 0, sizeof(c))
        c.n = batch.num_rows
        if c.n == 0:
            return 0

        stamps = batch.column("timestamp")
        if stamps.null_count:
            raise ValueError("an Arrow table to write has nulls in its 'timestamp' column")
        if pa.types.is_timestamp(stamps.type):
            stamps = stamps.cast(pa.timestamp("ns", tz=stamps.type.tz))
        stamps = stamps.cast(pa.int64())
        c.stamps = <const int64_t *>_column_buffer(stamps, 1, 8, held)
        data = _arrow_column(batch, "data", None)
        if pa.types.is_large_binary(data.type):
            c.wide_offsets = 1
        elif not pa.types.is_binary(data.type):
            raise TypeError(f"the 'data' column must be binary, not {data.type}")
        c.offsets = <const void *>_column_buffer(data, 1, 8 if c.wide_offsets else 4, held)
        c.data = <const unsigned char *>_column_buffer(data, 2, 0, held)
        c.data_len = len(held[-1])
        if "wirelen" in names:
            wirelens = _arrow_column(batch, "wirelen", pa.uint32())
            c.wirelens = <const uint32_t *>_column_buffer(wirelens, 1, 4, held)
        if "interface_id" in names:
            ids = _arrow_column(batch, "interface_id", pa.uint32())
            c.interface_ids = <const uint32_t *>_column_buffer(ids, 1, 4, held)
        if self._format == "pcapng":
            if "flags" in names:
                flags = _arrow_column(batch, "flags", pa.uint32())
                c.flags = <const uint32_t *>_column_buffer(flags, 1, 4, held)
            if "comment" in names:
                comments = batch.column("comment")
                if pa.types.is_large_string(comments.type) or pa.types.is_large_binary(comments.type):
                    c.wide_comment_offsets = 1
                elif not (pa.types.is_string(comments.type) or pa.types.is_binary(comments.type)):
                    raise TypeError(f"the 'comment' column must be strings, not {comments.type}")
                c.comment_offsets = <const void *>_column_buffer(comments, 1, 8 if c.wide_comment_offsets else 4,
                                                                 held)
                c.comments = <const unsigned char *>_column_buffer(comments, 2, 0, held)
                c.comments_len = len(held[-1])
                if comments.null_count:
                    c.comment_valid = <const unsigned char *>_column_buffer(comments, 0, 0, held)
                    c.comment_bit = comments.offset
        self._busy = True
        try:
            while rc == BATCH_DRAIN:
                with nogil:
                    rc = writer_columns(&self.w, &c, &nxt)
                self._busy = False
                self._drain()
                self._busy = True
        finally:
            self._busy = False
        if rc != BATCH_WRITTEN:
            self._batch_error(rc, nxt, "row", "of the table")
        return c.n

    def flush(self):
        """Write out what the dumper holds, so that other processes read it."""
        self._ensure_open()
        if writer_flush(&self.w) < 0:
            self._failed("flushing")
        self._drain()
        if self._file is not None and hasattr(self._file, "flush"):
            self._file.flush()

    def close(self):
        """Write the statistics (pcapng, of a live handle or a copied
        file), flush and close the file; closing twice does nothing."""
        if not self._open:
            return
        if self._busy:
            raise RuntimeError("the dumper is writing a batch in another thread")
        self._shut(True)

    cdef int _shut(self, bint finish) except -1:
        cdef int err = 0
        error = None
        try:
            if finish and self._format == "pcapng":
                h = self._handle
                if isinstance(self._follow, _PcapngSource) and h is not None and not h.closed:
                    self._catch_up(<_PcapngSource>self._follow)
                self._all_statistics()
        except BaseException as e:
            error = e
        if writer_flush(&self.w) < 0:
            err = self.w.err
        try:
            self._drain()
            if self._own_file:
                self._file.close()
            elif self._file is not None and hasattr(self._file, "flush"):
                self._file.flush()
        except BaseException as e:
            error = error or e
        if self.w.fd >= 0:
            if close(self.w.fd) < 0 and not err:
                err = errno
        self.w.fd = -1
        self._open = False
        self._file = None
        self._handle = None
        self._follow = None
        writer_free(&self.w)
        if error is not None:
            raise error
        if err and finish:
            raise _os_error(err, f"writing {self._path!r}", self._path)
        return 0

    @property
    def closed(self):
        """True once close() was called."""
        return not self._open

    @property
    def path(self):
        """The savefile's path (str), or a file object's name."""
        return self._path

    @property
    def format(self):
        """'pcap' or 'pcapng'."""
        return self._format

    @property
    def dlt(self):
        """The link type written in the file header (pcapng: of the first interface)."""
        return self._dlt

    @property
    def snaplen(self):
        """The snapshot length: packets are cut to this many bytes (pcapng: the first interface's)."""
        return self._snaplen

    @property
    def nano(self):
        """True for nanosecond time stamps, False for microseconds."""
        return self._nano

    @property
    def timestamp_in_ns(self):
        """True when write() takes int nanoseconds, False for seconds."""
        return self._timestamp_in_ns

    @property
    def interfaces(self):
        """The interfaces of the section being written: a list of
        interface_description (classic pcap: its one)."""
        return list(self._interfaces)

    @property
    def bytes_written(self):
        """Bytes written out to the file so far (not those still held)."""
        return self.w.written

    def __enter__(self):
        self._ensure_open()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __repr__(self):
        fmt = " pcapng" if self._format == "pcapng" else ""
        return f"<{'' if self._open else 'closed '}pcap.dumper {self._path!r}{fmt}>"

    @classmethod
    def __class_getitem__(cls, item):
        return _types.GenericAlias(cls, item)


cdef object _compressor(path, str name, str kind):
    """The compressing file object a compressed path is written through."""
    if kind == "gzip":
        import gzip
        return gzip.open(path, "wb", compresslevel=6)   # (gzip(1)'s default; 9 is four times slower for 2% less)
    import importlib
    try:
        zstandard = importlib.import_module("zstandard")
    except ImportError:
        raise _pcap_error(lp.PCAP_ERROR, f"cannot open {name!r} for writing", "zstd compression needs the "
                          "'zstandard' package (pip install zstandard)", name) from None
    return zstandard.ZstdCompressor().stream_writer(open(path, "wb"), closefd=True)


def _arrow_column(batch, name, typ):
    """A column of a batch to write, of type typ (None: as it is); nulls
    only in flags (0)."""
    arr = batch.column(name)
    if arr.null_count and name != "flags":
        raise ValueError(f"an Arrow table to write has nulls in its {name!r} column")
    if arr.null_count:
        arr = arr.fill_null(0)
    if typ is not None and arr.type != typ:
        arr = arr.cast(typ)
    return arr


cdef const char *_column_buffer(arr, int i, int width, list held) except NULL:
    """Where element 0 of buffer i of the Arrow array arr is (width: bytes
    an element, 0 for a data buffer, whose offsets say where), the buffer
    kept alive in held."""
    cdef const unsigned char[::1] m
    cdef Py_ssize_t skip = arr.offset * width
    buf = arr.buffers()[i]
    if buf is None and width == 0:
        held.append(b"")
        return <const char *>_EMPTY
    if buf is None:
        raise ValueError(f"an Arrow column of {arr.type} has no buffer {i}")
    view = memoryview(buf).cast("B")
    held.append(view)
    m = view
    if m.shape[0] == 0:
        return <const char *>_EMPTY
    return <const char *>&m[0] + skip


cdef char _EMPTY[8]


cdef list _interface_stats(h, Py_ssize_t n):
    """(received, dropped, ifdropped) of each of the first n interfaces of a live handle."""
    return [tuple(h.stats(interface=k)) for k in range(n)]


cdef object _time_ns():
    import time
    return time.time_ns()


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
