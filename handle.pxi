# --------------------------------------------------------------------------
# The capture handle: a source (sources.pxi), its turn (turn.pxi), every
# read through _deliver() (delivery.pxi), and the settings of the handle.
#
# Threads.  No libpcap call waits.  Those outside a read (stats(),
# setfilter(), sendpacket()...) are made with the GIL held, from any
# thread, and wait for a running fill() to come out (_Turn.handle()); a
# fill() calls libpcap (pcap_dispatch) or our reader without the GIL.

cdef object _stats_class = None

cdef object _stats_type():
    # Made on first use: importing collections costs 0.7 MiB of memory, which
    # a program that only reads savefiles need not pay.
    global _stats_class
    if _stats_class is None:
        from collections import namedtuple
        _stats_class = namedtuple("Stats", "received dropped ifdropped", module="pcap")
        _stats_class.__doc__ = """Counters from ``pcap.stats()``: packets received, dropped by
libpcap for lack of buffer space, and dropped by the interface or driver."""
    return _stats_class


def __getattr__(name):
    """pcap.Stats, the named tuple of stats(), and pcap.TstampType, that of
    tstamp_types(), are made when first used."""
    if name == "Stats":
        return _stats_type()
    if name == "TstampType":
        return _tstamp_type_type()
    raise AttributeError(f"module 'pcap' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"Stats", "TstampType"})


_SAVEFILE_SUFFIXES = (b".pcap", b".pcapng", b".cap", b".dmp")

# Pairs of buffers next_batch() keeps to refill: a loop that holds one
# batch while it asks for the next (``records, data = p.next_batch()``)
# frees the one before, so that one of three is always free.
cdef Py_ssize_t _BATCH_POOL = 3
# The least room next_batch(interfaces=True) gives the packets' comments:
# one pcapng option's longest.
cdef Py_ssize_t _COMMENTS_ROOM = 65536


cdef inline tuple _pair(object a, object b):
    # PyTuple_Pack, minus the reference counting Cython adds around a literal.
    cdef tuple t = PyTuple_New(2)
    Py_INCREF(a)
    PyTuple_SET_ITEM(t, 0, a)
    Py_INCREF(b)
    PyTuple_SET_ITEM(t, 1, b)
    return t


cdef class pcap:
    """pcap(name=None, snaplen=65535, promisc=True, timeout_ms=0, immediate=False, rfmon=False, timestamp_in_ns=False, buffer_size=0, *, tstamp_type=None, protocol=None, batch_stats=False, auth=None)

    Open a capture handle on a live interface or a savefile.

    name -- interface name or savefile path (str, bytes or os.PathLike);
            None or '' opens ``lookupdev()``.  A name that is an interface of
            this machine opens the interface; otherwise an existing file is
            read as a savefile (pcap in any byte order or precision, pcapng),
            a regular file or a pipe (a FIFO, ``/dev/stdin``).  A savefile
            whose content is gzip, bzip2, xz or zstd (with the zstandard
            package) is read decompressed.  name may also be a binary file
            object (with readinto or read: io.BytesIO, gzip.open(...), an
            fsspec file), read in a thread of its own into a pipe; what it
            raises is raised as PcapError by the read that reaches it.
            name may also be a list or tuple of names, all interfaces or
            all savefiles (ValueError for a mix): one handle over them all
            (below).
    snaplen -- bytes kept of each packet (live only): 1 to 262144, or 0
            for 262144 (as tcpdump's -s 0).
    promisc -- promiscuous mode (live only).
    timeout_ms -- for dispatch(), readpkts() and readbatch() on a blocking
            live handle: return 0 / [] when no packet came for this long; 0
            (the default) waits for ever.  A packet that arrives meanwhile
            reaches Python within 100 ms (libpcap's buffer timeout, which is
            never longer here, whatever timeout_ms: pypcap passed timeout_ms
            on, and so returned timeout_ms worth of packets a call), or at
            once with ``immediate``.  Iteration always waits.
    immediate -- deliver each packet as soon as it arrives (no buffering).
            Each packet then takes a kernel ring frame as big as the snaplen
            (up to the MTU); with buffer_size 0 the ring is sized for 1000
            frames, within 64 MiB of buffer size.  On lo with the default
            snaplen that is 125 MiB of kernel memory, and 500 packets (lo
            shows the kernel each packet twice); give a small snaplen for
            bigger bursts.
    rfmon -- monitor mode (wireless interfaces only).
    timestamp_in_ns -- timestamps as int nanoseconds instead of float seconds.
    buffer_size -- kernel buffer size in bytes; 0 keeps libpcap's default
            (2 MiB), or with ``immediate`` room for 1000 frames (above).
    tstamp_type -- the source of the time stamps (live only): a name as
            libpcap spells it ("host", "host_lowprec", "host_hiprec",
            "adapter", "adapter_unsynced", "host_hiprec_unsynced"; any
            case) or a PCAP_TSTAMP_* constant; None keeps libpcap's default
            (host).  ``tstamp_types(name)`` lists what an interface offers.
            A type the interface does not offer, or one its driver refuses
            at activation, is a RuntimeWarning (libpcap's warning), and the
            capture goes on with host time stamps; a failure to set it
            raises PcapError naming the type and the interface.  The type
            in effect is ``tstamp_type`` of the handle, in the Arrow
            schema's metadata (``pcap.tstamp_type``) and in a pcapng copy
            (an ``if_comment`` of the interface: ``tstamp_type=NAME
            (Description)``).  Nanosecond precision stays as without it.
    protocol -- capture only the frames of this ethertype (live only, 0 to
            65535; 0 is every one): libpcap's pcap_set_protocol_linux(),
            which has the kernel deliver only that protocol, before any
            filter.  Linux with libpcap 1.9 or later: PcapError elsewhere.
            Frames the host sends are not seen (the kernel gives them only
            to handles of every protocol).
    batch_stats -- have each batch read of a live handle (readbatch(),
            readinto(), next_batch(), arrow_batches()) ask libpcap for its
            counters (one pcap_stats() per interface), so that
            ``batch_stats`` and the Arrow metadata say how they changed
            over the batch.  Off by default for its cost: about 3 us a
            batch, and on Linux in promiscuous mode two reads of sysfs
            files besides (50 us a batch on the machine of the tests).
    auth -- for remote capture: a (username, password) pair for rpcapd's
            password authentication; None (the default) for its null
            authentication.  ValueError for any other name.

    Remote capture: ``pcap("rpcap://host:port/device")`` captures
    ``device`` on a host running rpcapd (port 2002 when none is given),
    where the libpcap the module is built against has remote capture
    (``REMOTE_CAPTURE``; the self-contained wheel's has, Debian's has not:
    PcapError says so).  snaplen, promisc, timeout_ms and setfilter() act
    on the remote host; immediate, rfmon and buffer_size do not apply.
    Time stamps are in microseconds.  libpcap gives such a handle no
    descriptor: fileno() raises PcapError, ``async for`` cannot wait on
    it, and it cannot be one of a list; read it in a thread of its own
    (each read waits with the GIL released).  Reads come back at least
    every 50 ms (Ctrl-C, breakloop(), close(), timeout_ms are seen then),
    and a read that waits for the first packet returns up to 50 ms after
    the last one.  The session's own rpcap traffic is never captured.  See
    docs/remote-capture.md.

    A numeric argument out of its range raises ValueError naming it and the
    range (TypeError when it is not an int).  A flag (promisc, immediate,
    rfmon, timestamp_in_ns) is True or False, or pypcap's 1 or 0: anything
    else raises TypeError naming it (ValueError for another int).
    tstamp_type or protocol with a savefile raises ValueError.

    Several interfaces or savefiles in one handle: ``pcap(["lo", "eth0"])``
    captures on each (every other argument applies to each), and
    ``pcap(["a.pcap", "b.pcapng"])`` merges savefiles by time stamp as
    mergecap does (of equal time stamps, the later file's first).  Their
    interfaces are numbered one after the other in list order (a savefile
    brings all of its own): ``interfaces`` describes each, and each
    packet's ``interface_id`` (and readbatch(interfaces=True), the records of
    readinto()/next_batch() with interfaces=True, Arrow's ``interface_id``
    column) says where it came from.  setfilter() compiles the filter for
    each one's link type and snaplen; stats() sums their counters
    (stats(interface=i) gives one's); datalink() is the first one's, with
    a RuntimeWarning when their link types differ; fileno() is one
    descriptor, readable when any of theirs is.  Savefiles merge exactly;
    a pcapng file whose interfaces change after its first packets raises
    PcapError.  Live packets come in time stamp order but for this: a
    packet can come after one of another interface stamped later only if
    it was still in the kernel (not yet handed to libpcap) when that one
    was delivered; on Linux the kernel hands packets over within 100 ms
    (the buffer timeout), at once with ``immediate``.  Each interface's own
    packets keep their order.  sendpacket(), inject() and set_fanout() raise
    PcapError on such a handle (open the one interface on its own).

    Iterating yields ``(timestamp, packet)`` with ``packet`` as ``bytes``,
    waiting for each packet as pypcap does, in nonblocking mode too; it ends
    at the end of a savefile or after breakloop().  Raises PcapNotFoundError
    (a FileNotFoundError) when no file or device has that name,
    PcapPermissionError (a PermissionError) without the privilege to capture
    or to read the file, PcapError for any other failure, ValueError for a
    name that contains a NUL byte.
    """
    cdef _Source _src
    cdef _Turn _turn
    cdef _ItemSink _item         # iteration's sink, made once
    cdef bint _nonblock
    cdef bint _ns
    cdef int _timeout_ms
    cdef int _precision
    cdef int _dloff
    cdef str _name
    cdef str _filter
    cdef object _wake            # set while an ``async for`` waits: wakes it
    cdef list _batch_pool        # next_batch()'s last pairs of buffers: records, data, records, ...
    cdef bint _track_stats       # pcap(batch_stats=True)
    cdef object _batch_stats     # batch_stats: the counters' change over the last batch read (live)
    cdef list _stats_seen        # libpcap's counters of each interface at the last batch read

    def __cinit__(self):
        self._turn = _Turn.__new__(_Turn)
        self._turn.closed = True
        self._item = _ItemSink.__new__(_ItemSink)
        self._item.turn = self._turn
        self._filter = ""
        self._name = ""
        self._batch_pool = []

    def __init__(self, name=None, snaplen=65535, promisc=True, timeout_ms=0,
                 immediate=False, rfmon=False, timestamp_in_ns=False, buffer_size=0, *, tstamp_type=None,
                 protocol=None, batch_stats=False, auth=None):
        cdef bytes bname
        if self._src is not None:
            raise RuntimeError("pcap handle is already open")
        cdef int c_snaplen = _int_arg(snaplen, "snaplen", 0, MAXIMUM_SNAPLEN, f"0: {MAXIMUM_SNAPLEN}")
        timeout_ms = _int_arg(timeout_ms, "timeout_ms", 0, C_INT_MAX, "0: no limit")
        cdef int c_buffer_size = _int_arg(buffer_size, "buffer_size", 0, C_INT_MAX, "0: libpcap's default")
        cdef bint c_promisc = _bool_arg(promisc, "promisc")
        cdef bint c_immediate = _bool_arg(immediate, "immediate")
        cdef bint c_rfmon = _bool_arg(rfmon, "rfmon")
        cdef bint c_ns = _bool_arg(timestamp_in_ns, "timestamp_in_ns")
        cdef int c_tstamp = _tstamp_type_arg(tstamp_type)
        self._track_stats = _bool_arg(batch_stats, "batch_stats")
        cdef int c_protocol = -1 if protocol is None else _int_arg(protocol, "protocol", 0, 0xffff,
                                                                    "an ethertype; 0: every one")
        if auth is not None and not _is_remote_url(name):
            raise ValueError(f"auth is for remote capture (rpcap://host:port/device), not {name!r}")
        if _is_file_object(name):
            _live_only(c_tstamp, c_protocol, _fileobj_name(name))
            self._name = _fileobj_name(name)
            self._ns = c_ns
            self._timeout_ms = timeout_ms
            self._src = _open_fileobj(name, self._name)
            self._precision = lp.PCAP_TSTAMP_PRECISION_NANO
            self._finish_open()
            return
        if isinstance(name, (list, tuple)):
            self._open_several(name, c_snaplen, c_promisc, timeout_ms, c_immediate, c_rfmon, c_buffer_size,
                               c_ns, c_tstamp, c_protocol)
            return
        if name is None or (isinstance(name, (str, bytes)) and len(name) == 0):
            name = lookupdev()
        elif not isinstance(name, (str, bytes, _os.PathLike)):
            raise TypeError(f"name must be an interface name or a savefile path (str, bytes, os.PathLike) "
                            f"or a binary file object, not {type(name).__name__}")
        bname = _encode_name(name, "name")
        self._name = _os.fsdecode(bname)
        self._ns = c_ns
        self._timeout_ms = timeout_ms
        if _is_remote_url(bname):
            _remote_only_options(c_tstamp, c_protocol, self._name)
            self._src = _open_remote(bname, self._name, c_snaplen, c_promisc, timeout_ms, auth)
            self._precision = self._src.write_precision
        elif _is_savefile(bname):
            _live_only(c_tstamp, c_protocol, self._name)
            self._src = _open_savefile(bname, self._name)
            self._precision = lp.PCAP_TSTAMP_PRECISION_NANO
        elif b"/" in bname or bname.lower().endswith(_SAVEFILE_SUFFIXES):
            # Interface names never contain '/': this was meant as a file.
            raise _os_error(_errno.ENOENT, f"cannot open savefile {self._name!r}", self._name)
        else:
            self._src = _open_live(bname, self._name, c_snaplen, c_promisc, timeout_ms,
                                   c_immediate, c_rfmon, c_buffer_size, c_tstamp, c_protocol)
            self._precision = self._src.write_precision
        self._finish_open()

    cdef int _open_several(self, names, int snaplen, bint promisc, int timeout_ms, bint immediate, bint rfmon,
                           int buffer_size, bint ns, int tstamp_type, int protocol) except -1:
        if len(names) == 0:
            raise ValueError("name must list at least one interface or savefile, not none")
        bnames, texts = [], []
        for one in names:
            if not isinstance(one, (str, bytes, _os.PathLike)):
                raise TypeError(f"each name of a list must be an interface name or a savefile path "
                                f"(str, bytes, os.PathLike), not {type(one).__name__}")
            bnames.append(_encode_name(one, "name"))
            texts.append(_os.fsdecode(bnames[-1]))
            if _is_remote_url(bnames[-1]):
                raise _pcap_error(lp.PCAP_ERROR, f"cannot open {texts[-1]!r} with others", "a handle over "
                                  "several sources cannot take a remote one (libpcap's rpcap has no descriptor "
                                  "to wait on): open a pcap for each and read each in a thread of its own")
        self._name = ",".join(texts)
        self._ns = ns
        self._timeout_ms = timeout_ms
        self._src = _open_multi(bnames, texts, snaplen, promisc, timeout_ms, immediate, rfmon, buffer_size,
                                tstamp_type, protocol)
        self._precision = self._src.write_precision if self._src.live else lp.PCAP_TSTAMP_PRECISION_NANO
        self._finish_open()
        return 0

    cdef void _finish_open(self):
        self._src.clock.as_ns = self._ns
        self._turn.src = self._src
        self._dloff = dltoff.get(lp.pcap_datalink(self._src.p), 0)
        self._turn.closed = False

    def __dealloc__(self):
        if self._src is not None:
            self._src.release()

    cdef inline lp.pcap_t *_handle(self) except NULL:
        return self._turn.handle()

    # -- reading ---------------------------------------------------------------

    def __iter__(self):
        return self

    @classmethod
    def __class_getitem__(cls, item):
        # pcap.pyi makes pcap generic in the timestamp type: pcap[float], pcap[int].
        return _types.GenericAlias(cls, item)

    def __next__(self):
        """The next (timestamp, packet), waiting for it (also in nonblocking
        mode, as pypcap does); StopIteration at the end of a savefile or
        after breakloop()."""
        if _deliver(self._turn, self._item, 1, _WAIT_ALL, 0):
            item, self._item.item = self._item.item, None
            return item
        if self._turn.stop == _STOP_CLOSED:
            self._handle()     # ValueError: close() ended the wait
        raise StopIteration

    cdef int _read_mode(self):
        """How dispatch(), readpkts() and readbatch() wait: not at all in
        nonblocking mode; on a live handle for the first packet; on a
        savefile (which may be a pipe) until cnt packets or its end."""
        if self._nonblock:
            return _WAIT_NEVER
        return _WAIT_FIRST if self._src.live else _WAIT_ALL

    cdef double _deadline(self):
        if self._src.live and self._timeout_ms > 0 and not self._nonblock:
            return monotonic_ms() + self._timeout_ms
        return 0

    cdef _Sink _sink_for(self, callback, tuple args):
        cdef _CallbackSink cs
        cdef _DumpSink ds
        if callback is None:
            return _CountSink.__new__(_CountSink)
        if not callable(callback) and not isinstance(callback, dumper):
            raise TypeError(f"callback must be callable, a dumper or None, not {type(callback).__name__}")
        if isinstance(callback, dumper):
            ds = _DumpSink.__new__(_DumpSink)
            ds.d = callback
            ds.src = self._src
            return ds
        cs = _CallbackSink.__new__(_CallbackSink)
        cs.callback = callback
        cs.args = args
        cs.turn = self._turn
        return cs

    def dispatch(self, cnt, callback=None, *args):
        """dispatch(cnt, callback=None, *args) -> int

        Process up to ``cnt`` packets, calling ``callback(timestamp, packet,
        *args)`` for each, and return how many were processed.  ``cnt`` of
        -1 or 0 means every packet of a savefile, or every packet pending on
        a live handle.  A blocking live handle waits for the first packet (at
        most ``timeout_ms`` when that is not 0); a nonblocking one returns 0
        at once when nothing is pending.  With ``callback`` None the packets
        are only counted, in C; with a ``dumper`` each is written to it as it
        came (time stamp, bytes and wire length).  An exception raised by the
        callback ends the dispatch at once and propagates.
        """
        self._handle()
        return _deliver(self._turn, self._sink_for(callback, args), _cnt_arg(cnt), self._read_mode(), self._deadline())

    def loop(self, cnt, callback=None, *args):
        """loop(cnt, callback=None, *args) -> int

        Call ``callback(timestamp, packet, *args)`` for each packet until
        ``cnt`` packets were processed (``cnt`` <= 0: no limit), the savefile
        ends, ``breakloop()`` or ``close()`` is called or the callback
        raises.  Waits for packets whatever the nonblocking mode and
        ``timeout_ms``.  ``callback`` may be None (count) or a ``dumper``, as
        for dispatch().  Returns the number of packets processed.
        """
        self._handle()
        return _deliver(self._turn, self._sink_for(callback, args), _cnt_arg(cnt), _WAIT_ALL, 0)

    def readpkts(self, cnt=-1):
        """readpkts(cnt=-1) -> list

        A list of ``(timestamp, packet)`` tuples, the packets of dispatch(cnt): on a savefile every remaining packet
        (or the next ``cnt``), on a live handle those pending, waiting for
        the first as dispatch() does.  Returns [] at the end of a savefile,
        after ``timeout_ms`` with no packet, or at once on a nonblocking
        handle with nothing pending.  The packets read before a damaged
        record are returned first; its error is raised by the next read.
        Ctrl-C's KeyboardInterrupt carries the list read so far as its
        ``packets_read``.
        """
        cdef _ListSink sink = _ListSink.__new__(_ListSink)
        self._handle()
        _deliver_keeping(self._turn, sink, _cnt_arg(cnt), self._read_mode(), self._deadline())
        return sink.out

    def readbatch(self, cnt=1024, *, wirelens=False, interfaces=False):
        """readbatch(cnt=1024, *, wirelens=False, interfaces=False) -> tuple

        ``(timestamps, packets)``: up to ``cnt`` packets in two columns, for bulk work: ``timestamps`` is
        an ``array.array`` of float seconds (typecode 'd'), or of int
        nanoseconds (typecode 'q') with ``timestamp_in_ns``; ``packets`` is a
        list of ``bytes``.  With ``wirelens=True``, a third column: the
        packets' lengths on the wire, an ``array.array`` of typecode 'I';
        with ``interfaces=True``, another (the last): each packet's
        interface, an index into ``interfaces`` (typecode 'I').
        Reads what readpkts(cnt) would, without making a tuple and a
        timestamp object for every packet.  All are empty at the end of a
        savefile, after ``timeout_ms`` with no packet, or at once on a
        nonblocking handle with nothing pending.
        """
        cdef _BatchSink sink = _BatchSink.__new__(_BatchSink)
        self._handle()
        if _bool_arg(wirelens, "wirelens"):
            sink.wirelens = bytearray()
        if _bool_arg(interfaces, "interfaces"):
            sink.ids = bytearray()
            sink.src = self._src
        _deliver_keeping(self._turn, sink, _cnt_arg(cnt), self._read_mode(), self._deadline())
        self._note_batch_stats()
        # (array is imported here: importing it costs 0.7 MiB of memory.)
        from array import array
        stamps = array("q" if self._ns else "d")
        stamps.frombytes(sink.stamps)
        out = [stamps, sink.out]
        for column in (sink.wirelens, sink.ids):
            if column is not None:
                out.append(array("I"))
                out[-1].frombytes(column)
        return tuple(out)

    def readinto(self, records, data, cnt=-1, *, interfaces=False, comments=None, fields=None,
                 community_id_seed=None):
        """readinto(records, data, cnt=-1, *, interfaces=False, comments=None, fields=None, community_id_seed=None) -> int

        Read packets into two buffers of the caller's, for bulk work without
        a Python object per packet: ``records`` gets one fixed record per
        packet (BATCH_RECORD_FORMAT: time stamp in int64 nanoseconds, caplen,
        wire length, offset of the bytes in ``data``), ``data`` the packets'
        bytes one after the other.  Both are any writable buffer (bytearray,
        mmap, multiprocessing.shared_memory, a numpy array).  Reads up to
        ``cnt`` packets (-1: as many as fit), stopping before the room left
        in ``data`` is less than the snaplen, and waits as readpkts() does.
        Returns how many packets it wrote.  Raises ValueError when ``data``
        cannot hold one packet of the snaplen, TypeError naming the argument
        for one that is not a writable buffer.  With ``interfaces=True``
        the records are BATCH_RECORD_NG_FORMAT: the same, then the packet's
        interface (an index into ``interfaces``), its pcapng flags (0 when
        the file says none) and the length of its comments, 40 bytes a
        packet; with a writable buffer as ``comments`` too, the comments of
        the packets go there one after the other (several of one packet
        joined by a newline; a packet without has length 0), and a packet
        whose comments do not fit the room left waits for the next call.
        With a writable buffer as ``fields``, each packet's header fields
        go there too, FIELDS_SIZE bytes a packet (FIELDS_DTYPE; its
        Community ID when ``community_id_seed`` is a seed, 0 to 65535); then
        ``data`` may be None, and only the records and the fields are
        written.
        """
        cdef int c_cnt = _cnt_arg(cnt)
        cdef _FillSink sink = _FillSink.__new__(_FillSink)
        cdef lp.pcap_t *p = self._handle()
        cdef int seed = -1 if community_id_seed is None else _seed_arg(community_id_seed)
        if data is None and fields is None:
            raise TypeError("data must be a writable buffer (None only with fields)")
        sink.open(records, data, lp.pcap_snapshot(p), &self._src.clock, _bool_arg(interfaces, "interfaces"),
                  comments, fields, lp.pcap_datalink(p), seed)
        try:
            _deliver_keeping(self._turn, sink, c_cnt, self._read_mode(), self._deadline())
        finally:
            sink.release()
        self._note_batch_stats()
        return sink.f.count

    def next_batch(self, cnt=1024, max_bytes=1 << 20, *, interfaces=False, fields=False, data=True,
                   community_id_seed=None):
        """next_batch(cnt=1024, max_bytes=1048576, *, interfaces=False, fields=False, data=True, community_id_seed=None) -> tuple

        ``(records, data)``: readinto() with buffers made here: up to ``cnt`` packets, and about
        ``max_bytes`` of their bytes (at least one packet of the snaplen).
        Returns two bytearrays of what was written: ``records`` of
        BATCH_RECORD_SIZE bytes a packet, ``data`` their bytes.  A batch is
        never written again while anything refers to it (a variable, a
        numpy or Arrow view): the handle refills only a pair of its last
        few that nothing else holds any more, which saves the fresh,
        zeroed memory of a new pair.  With ``interfaces=True`` the records
        are BATCH_RECORD_NG_FORMAT, as readinto() makes them, and a third
        bytearray holds the packets' comments (``comment_len`` bytes each,
        one packet after the other).  With ``fields=True`` the last
        bytearray holds each packet's header fields, FIELDS_SIZE bytes a
        packet (``numpy.frombuffer(fields, pcap.FIELDS_DTYPE)``), and its
        Community ID when ``community_id_seed`` is a seed (0 to 65535);
        with ``data=False`` too the packets' bytes are not kept (``data``
        comes back empty), which is the fastest way to the fields.
        """
        cdef int c_cnt = _int_arg(cnt, "cnt", 1, C_INT_MAX)
        cdef Py_ssize_t c_max = _int_arg(max_bytes, "max_bytes", 1, PY_SSIZE_T_MAX)
        cdef bint wide = _bool_arg(interfaces, "interfaces")
        cdef bint with_fields = _bool_arg(fields, "fields")
        cdef bint keep_data = _bool_arg(data, "data")
        cdef int seed = -1 if community_id_seed is None else _seed_arg(community_id_seed)
        cdef bytearray fields_buf = None
        cdef _FieldsOut out = None
        if not keep_data and not with_fields:
            raise ValueError("data=False keeps only the records: ask for fields=True too")
        if seed >= 0 and not with_fields:
            raise ValueError("community_id_seed comes with fields=True")
        if with_fields:
            fields_buf = PyByteArray_FromStringAndSize(NULL, c_cnt * sizeof(packet_fields))
            out = _FieldsOut.records(<unsigned char *>PyByteArray_AS_STRING(fields_buf), fields_buf, seed)
        batch = self._next_batch(c_cnt, c_max, wide, keep_data, out)
        if with_fields:
            PyByteArray_Resize(fields_buf, (PyByteArray_GET_SIZE(batch[0]) //
                                            (sizeof(batch_record_ng) if wide else sizeof(batch_record)))
                                           * sizeof(packet_fields))
            return batch + (fields_buf,)
        return batch

    cdef tuple _next_batch(self, int c_cnt, Py_ssize_t c_max, bint wide, bint keep_data, _FieldsOut fields_out):
        """next_batch(), its header fields going where fields_out says (or nowhere)."""
        cdef size_t rsize = sizeof(batch_record_ng) if wide else sizeof(batch_record)
        cdef bytearray records, data_buf
        cdef bytearray comments = None
        records, data_buf = self._free_batch(c_cnt * rsize, self._data_room(c_max, keep_data))
        if wide:
            comments = PyByteArray_FromStringAndSize(NULL, max(c_max // 8, _COMMENTS_ROOM))
        self._fill(c_cnt, records, rsize, data_buf, keep_data, wide, comments, None, fields_out)
        return (records, data_buf, comments) if wide else (records, data_buf)

    cdef tuple _next_columns(self, int c_cnt, Py_ssize_t c_max, bint keep_data, _FieldsOut fields_out):
        """_next_batch() of narrow records for Arrow: the fill writes the
        time stamps, caplens, wire lengths and data offsets as columns
        itself (no records to split afterwards).  (n, stamps, caplens,
        wirelens, offsets or None, data)."""
        cdef bytearray unused, data_buf
        cdef bytearray stamps = PyByteArray_FromStringAndSize(NULL, c_cnt * 8)
        cdef bytearray caplens = PyByteArray_FromStringAndSize(NULL, c_cnt * 4)
        cdef bytearray wirelens = PyByteArray_FromStringAndSize(NULL, c_cnt * 4)
        cdef bytearray offsets = PyByteArray_FromStringAndSize(NULL, (c_cnt + 1) * 4) if keep_data else None
        cdef Py_ssize_t n
        unused, data_buf = self._free_batch(0, self._data_room(c_max, keep_data))
        if fields_out is not None:
            fields_out.prefault(stamps, 8)
            fields_out.prefault(caplens, 4)
            fields_out.prefault(wirelens, 4)
        n = self._fill(c_cnt, unused, 0, data_buf, keep_data, False, None, (stamps, caplens, wirelens, offsets),
                       fields_out)
        if n < c_cnt:
            PyByteArray_Resize(stamps, n * 8)
            PyByteArray_Resize(caplens, n * 4)
            PyByteArray_Resize(wirelens, n * 4)
            if keep_data:
                PyByteArray_Resize(offsets, (n + 1) * 4)
        return (n, stamps, caplens, wirelens, offsets, data_buf)

    cdef Py_ssize_t _data_room(self, Py_ssize_t c_max, bint keep_data):
        """The size of a batch's data buffer: max_bytes, at least one
        packet of the snaplen; none without the packets' bytes."""
        return max(c_max, lp.pcap_snapshot(self._handle())) if keep_data else 0

    cdef Py_ssize_t _fill(self, int c_cnt, bytearray records, size_t rsize, bytearray data_buf, bint keep_data,
                          bint wide, bytearray comments, tuple columns, _FieldsOut fields_out) except -1:
        """One fill of up to c_cnt packets from the pool's pair (records,
        data_buf): into the records (rsize bytes each; wide ones with
        their comments), or, with ``columns`` (stamps, caplens, wirelens,
        offsets or None), into those columns, records left as they are.
        The pair is cut to what was written and goes back to the pool;
        the number of packets."""
        cdef _FillSink sink = _FillSink.__new__(_FillSink)
        cdef lp.pcap_t *p = self._handle()
        sink.open(records if columns is None else None, data_buf if keep_data else None, lp.pcap_snapshot(p),
                  &self._src.clock, wide, comments, None, lp.pcap_datalink(p), -1, fields_out)
        if columns is not None:
            sink.columns(columns[0], columns[1], columns[2], columns[3], c_cnt)
        try:
            _deliver_keeping(self._turn, sink, c_cnt, self._read_mode(), self._deadline())
        finally:
            sink.release()
            if columns is None:
                PyByteArray_Resize(records, sink.f.count * rsize)
            PyByteArray_Resize(data_buf, sink.f.used)
            if comments is not None:
                PyByteArray_Resize(comments, sink.f.comments_used)
            self._batch_pool += (records, data_buf)
            if len(self._batch_pool) > 2 * _BATCH_POOL:
                del self._batch_pool[:2]
        self._note_batch_stats()
        return sink.f.count

    cdef int _note_batch_stats(self) except -1:
        """batch_stats after a batch read of a live handle opened with
        batch_stats=True: one pcap_stats() per interface.  A failure of it
        leaves batch_stats None, and the next batch's change counts from
        the last good one, so that the batch read never fails for it."""
        cdef lp.pcap_stat st
        cdef lp.pcap_t *p
        if not self._track_stats or not self._src.live:
            return 0
        p = self._handle()
        self._batch_stats = None
        if isinstance(self._src, _MultiSource):
            try:
                now = (<_MultiSource>self._src).stats_each(self._name)
            except PcapError:
                return 0
        elif lp.pcap_stats(p, &st) == 0:
            now = [(st.ps_recv, st.ps_drop, st.ps_ifdrop)]
        else:
            return 0
        seen = self._stats_seen or [(0, 0, 0)] * len(now)
        # (libpcap's counters are unsigned int: a change across their wrap is still right.)
        self._batch_stats = _stats_type()(*[sum((n[k] - s[k]) & 0xffffffff for n, s in zip(now, seen))
                                            for k in range(3)])
        self._stats_seen = now
        return 0

    cdef tuple _free_batch(self, Py_ssize_t rsize, Py_ssize_t dsize):
        """Two bytearrays of rsize and dsize bytes: a pair next_batch()
        returned before that only the pool still refers to, else new ones."""
        cdef list pool = self._batch_pool
        cdef Py_ssize_t i
        cdef bytearray records, data
        for i in range(0, len(pool), 2):
            if Py_REFCNT(<object>PyList_GET_ITEM(pool, i)) == 1 and Py_REFCNT(<object>PyList_GET_ITEM(pool, i + 1)) == 1:
                # Only the pool holds them: refill them.
                records, data = pool[i], pool[i + 1]
                del pool[i:i + 2]
                PyByteArray_Resize(records, rsize)
                PyByteArray_Resize(data, dsize)
                return records, data
        return PyByteArray_FromStringAndSize(NULL, rsize), PyByteArray_FromStringAndSize(NULL, dsize)

    def arrow_batches(self, cnt=65536, max_bytes=64 << 20, *, fields=None, data=True, addresses="binary",
                      community_id_seed=0):
        """arrow_batches(cnt=65536, max_bytes=67108864, *, fields=None, data=True, addresses="binary", community_id_seed=0) -> iterator of pyarrow.RecordBatch

        The packets as Arrow record batches of up to ``cnt`` packets (and
        about ``max_bytes`` of their bytes), with no Python object per
        packet: columns ``timestamp`` (timestamp[ns, tz=UTC]), ``caplen``
        and ``wirelen`` (uint32) and ``data`` (binary: the packet's bytes),
        and the link type, its name, the snaplen and the source in the
        schema's metadata (``pcap.linktype``...), with ``pcap.tstamp_type``
        when a time stamp type was chosen.  On a live handle opened with
        ``batch_stats=True`` each batch's metadata also says how libpcap's
        counters changed over it (``pcap.received_delta``,
        ``pcap.dropped_delta``, ``pcap.ifdropped_delta``, as batch_stats);
        the change over the read that found no more packets and ended the
        iterator is the handle's batch_stats then.  Ends at the end of a
        savefile, after breakloop() or close(), and on a live handle when a
        read gets no packet, as readpkts() returns []: after ``timeout_ms``,
        or at once in nonblocking mode when nothing is pending; a blocking
        handle without a timeout waits for packets.  Needs pyarrow (the
        arrow extra).

        ``fields`` adds header fields, parsed in C as the packets are read:
        a list of names of pcap.FIELDS, or "flow" (src, dst, protocol,
        src_port, dst_port) or "all" among them.  Each is null where the
        packet lacks it or does not hold it whole (a non-first fragment has
        no ports, a packet that is not IP no addresses).  ``src`` and
        ``dst`` are 16 bytes (fixed_size_binary(16): IPv6, and IPv4 as
        ::ffff:a.b.c.d), or text with ``addresses="text"``; ``eth_src`` and
        ``eth_dst`` 6 bytes; ``community_id`` the Community ID (v1) with
        ``community_id_seed``.  ``data=False`` leaves out the packets' bytes,
        the fastest way to the fields.
        """
        self._handle()
        options = _arrow_options(fields, data, addresses, community_id_seed)
        # (max_bytes: an Arrow binary column has 32-bit offsets.)
        return _arrow_batches(self, _int_arg(cnt, "cnt", 1, C_INT_MAX),
                              _int_arg(max_bytes, "max_bytes", 1, 0x7ffffffe), options)

    def to_arrow(self, cnt=65536, *, fields=None, data=True, addresses="binary", community_id_seed=0):
        """to_arrow(cnt=65536, *, fields=None, data=True, addresses="binary", community_id_seed=0) -> pyarrow.Table

        Every remaining packet of a savefile as one Arrow table, built from
        arrow_batches(cnt) with the same keywords.  Needs pyarrow.
        """
        pa = _pyarrow("to_arrow()")
        options = _arrow_options(fields, data, addresses, community_id_seed)
        batches = list(self.arrow_batches(cnt, fields=fields, data=data, addresses=addresses,
                                          community_id_seed=community_id_seed))
        schema = _arrow_schema(pa, self, options)     # (after reading: all of a pcapng file's interfaces)
        return pa.Table.from_batches([b.replace_schema_metadata(schema.metadata) for b in batches], schema=schema)

    def breakloop(self):
        """Make the running loop() or dispatch() return and the running
        iteration end, within a fraction of a second.  Safe to call from
        another thread, a signal handler or a callback.  When nothing is
        running, the next read returns at once instead.  Raises ValueError
        on a closed handle.
        """
        # (Only a flag: no waiting for a fill or a replay's slice to end.)
        if self._turn.closed:
            raise ValueError("operation on a closed pcap handle")
        self._turn.broken = True
        wake = self._wake
        if wake is not None:
            wake()

    def __aiter__(self):
        """``async for ts, pkt in p``: the packets of ``p`` without blocking
        the event loop, which waits on fileno() while nothing is there."""
        self._handle()
        return _async_packets(self)

    cdef object _poll_packet(self):
        """The next packet without waiting, for ``async for``: None when
        none is there yet, False when the read is over (the end of a
        savefile, breakloop(), close())."""
        if _deliver(self._turn, self._item, 1, _WAIT_NEVER, 0):
            item, self._item.item = self._item.item, None
            return item
        return None if self._turn.stop == _STOP_IDLE else False

    # -- settings ----------------------------------------------------------------

    @property
    def name(self):
        """The interface name or savefile path, as given (str); of a
        handle over several, their names joined by commas."""
        return self._name

    @property
    def snaplen(self):
        """Bytes kept of each packet."""
        return lp.pcap_snapshot(self._handle())

    @property
    def dloff(self):
        """Length of the link-layer header (from ``dltoff``), 0 when unknown."""
        return self._dloff

    @property
    def filter(self):
        """The filter expression last set with setfilter() (str)."""
        return self._filter

    @property
    def closed(self):
        """True once close() was called."""
        return self._turn.closed

    @property
    def fd(self):
        """The selectable file descriptor (see fileno())."""
        return self.fileno()

    @property
    def precision(self):
        """PCAP_TSTAMP_PRECISION_MICRO or PCAP_TSTAMP_PRECISION_NANO."""
        return self._precision

    @property
    def tstamp_type(self):
        """The name of the time stamp type of a live handle opened with
        ``tstamp_type`` ("host", "adapter"...): the one asked for, or
        "host" when the interface or its driver did not take it (a
        RuntimeWarning said so).  None when none was asked for (libpcap's
        default, host) and on savefiles.  On a handle over several
        interfaces, their types joined by commas when they differ."""
        if isinstance(self._src, _MultiSource):
            types = [(<_Source>c).tstamp_type for c in (<_MultiSource>self._src).children]
        else:
            types = [self._src.tstamp_type] if self._src is not None else [None]
        if types[0] is None:
            return None
        if all(t == types[0] for t in types):
            return _tstamp_name(types[0])
        return ",".join(_tstamp_name(t) for t in types)

    @property
    def batch_stats(self):
        """How libpcap's counters changed over the last batch read of a live
        handle opened with ``batch_stats=True``: ``Stats(received, dropped,
        ifdropped)``, as stats() counts them, from the previous batch read
        (or the opening) to the end of the last one.  The batch reads are
        readbatch(), readinto(), next_batch() and arrow_batches(); each one
        that returns (empty too) asks for the counters once (one
        pcap_stats() per interface), so the batch_stats of every call add
        up to stats() at the last.  None without ``batch_stats=True``,
        before the first batch read, on savefiles (which have no counters:
        a pcapng file says its drops in packet_dropcount and in
        interfaces[i].statistics), and when libpcap could not give the
        counters."""
        return self._batch_stats

    @property
    def timestamp_in_ns(self):
        """True when timestamps are int nanoseconds, False for float seconds."""
        return self._ns

    @property
    def timeout_ms(self):
        """The timeout of dispatch() and readpkts() in milliseconds, 0 for none."""
        return self._timeout_ms

    @property
    def wirelen(self):
        """The length on the wire of the packet last delivered by next(),
        iteration or a dispatch()/loop() callback (the packet's ``len`` in
        libpcap's header; more than ``len(packet)`` when it was cut to the
        snaplen).  0 before the first packet."""
        return self._turn.wirelen

    @property
    def interfaces(self):
        """The interfaces of the capture, each a pcap.interface_description:
        of a pcapng file, those of the section being read, as far as it has
        been read (index i is the ``interface_id`` of its packets); of a
        classic pcap file, one from its header; of a live handle, its
        device; of a handle over several interfaces or savefiles, theirs,
        one after the other in the order given (a live one with its name,
        link type, snaplen, time stamp resolution, the filter set and the
        OS)."""
        self._handle()
        return self._src.interfaces()

    @property
    def interface_id(self):
        """The interface (an index into ``interfaces``) of the packet last
        read, as ``wirelen`` is its wire length: 0 but in pcapng and on a
        handle over several interfaces or savefiles."""
        self._handle()
        return self._src.packet_interface()

    @property
    def packet_comments(self):
        """The comments (opt_comment) of the pcapng packet last read: a
        list of str, empty when it has none (and for other sources); each
        up to its first NUL, as Wireshark reads it, its bytes that are not
        UTF-8 as U+FFFD."""
        self._handle()
        return [_opt_text(v) for v in self._src.packet_options().get(_OPT_COMMENT, ())]

    @property
    def packet_flags(self):
        """The pcapng flags (epb_flags) of the packet last read, an int, or
        None when the file does not say: the direction is ``flags & 3``
        (PACKET_INBOUND, PACKET_OUTBOUND, 0 unknown), then the reception
        type, the FCS length and the link-layer errors, as the pcapng
        specification lays them out."""
        return self._packet_number(_EPB_FLAGS, 4)

    @property
    def packet_dropcount(self):
        """How many packets the capture lost between the previous packet of
        the interface and the packet last read (epb_dropcount), or None."""
        self._handle()
        opts = self._src.packet_options()
        if -_EPB_DROPCOUNT in opts:     # an obsolete Packet Block's field
            return opts[-_EPB_DROPCOUNT][0]
        return self._packet_number(_EPB_DROPCOUNT, 8)

    @property
    def packet_id(self):
        """The packet id (epb_packetid) of the packet last read, or None."""
        return self._packet_number(_EPB_PACKETID, 8)

    cdef object _packet_number(self, int code, int size):
        self._handle()
        opts = self._src.packet_options()
        for v in opts.get(code, ()):
            if len(v) == size:
                return _struct.unpack(opts["order"] + ("I" if size == 4 else "Q"), v)[0]
        return None

    def fileno(self):
        """fileno() -> int

        The descriptor to watch with select, selectors or asyncio's
        add_reader: it is readable when packets are waiting.  For a savefile,
        the file's own descriptor (a regular file is always readable).
        Raises PcapError where libpcap gives a live handle none (Windows,
        devices such as DAG, remote capture): read it in a thread instead.
        """
        self._handle()
        return self._src.fileno()

    def close(self):
        """Release the handle.  Every later call raises ValueError; closing twice
        does nothing.  A read running in another thread ends within a
        fraction of a second, and the handle is released then.
        """
        self._batch_pool = []
        self._turn.close()

    def __enter__(self):
        self._handle()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __repr__(self):
        kind = "live" if self._src is not None and self._src.live else "savefile"
        state = "closed " if self._turn.closed else ""
        return f"<{state}pcap.pcap {kind} {self._name!r}>"

    def setfilter(self, expr, optimize=True):
        """Compile the filter expression ``expr`` (str or bytes) and apply it,
        with libpcap's optimizer unless ``optimize`` is False (pypcap's 1 and
        0 mean the same; anything else raises TypeError); a read running in
        another thread sees it from its next packet.
        Raises PcapError with libpcap's message when it does not compile;
        the filter in place stays.  A handle over several interfaces or
        savefiles compiles it for each one's link type and snaplen, and
        raises naming the one it does not compile for (no filter changes).
        """
        cdef bytes bexpr = _encode_filter(expr)
        cdef lp.bpf_program prog
        cdef lp.pcap_t *p = self._handle()
        if isinstance(self._src, _MultiSource):
            # Each interface's own program (its link type, its snaplen).
            self._src.set_filter(NULL, bexpr, _bool_arg(optimize, "optimize"))
            self._filter = bexpr.decode("utf-8", "replace")
            return
        _check(p, lp.pcap_compile(p, &prog, bexpr, _bool_arg(optimize, "optimize"), lp.PCAP_NETMASK_UNKNOWN),
               f"compile filter {expr!r} on {self._name!r}")
        self._src.set_filter(&prog, bexpr, _bool_arg(optimize, "optimize"))
        self._filter = bexpr.decode("utf-8", "replace")

    def set_triage(self, triage):
        """set_triage(triage)

        Keep or drop packets in C with ``triage`` (a pcap.Triage), after
        the BPF filter, from the next packet of every read (iteration,
        dispatch(), loop(), readpkts(), readbatch(), readinto(),
        next_batch(), Arrow, a dumper, async for); None removes it.  The
        dropped packets never reach Python: no object is made for them, and
        the batch reads drop them without the GIL.  Its counters say how
        many were kept and dropped.  TypeError for anything else.
        """
        self._handle()
        if triage is not None and not isinstance(triage, Triage):
            raise TypeError(f"set_triage() takes a pcap.Triage or None, not {type(triage).__name__}")
        self._turn.triage = triage

    @property
    def triage(self):
        """The pcap.Triage set with set_triage(), or None."""
        return self._turn.triage

    def setdirection(self, direction):
        """setdirection(direction) -> bool

        Capture only packets received (PCAP_D_IN), sent (PCAP_D_OUT) or both
        (PCAP_D_INOUT).  Returns False when the handle cannot do it (a
        savefile, or a platform without support); on a handle over several
        interfaces it is set on each, and False says one refused.
        """
        cdef int d = _int_arg(direction, "direction", -C_INT_MAX, C_INT_MAX)
        if d not in (lp.PCAP_D_INOUT, lp.PCAP_D_IN, lp.PCAP_D_OUT):
            raise ValueError(f"direction must be PCAP_D_INOUT, PCAP_D_IN or PCAP_D_OUT, not {direction!r}")
        self._handle()
        if isinstance(self._src, _MultiSource):
            if not (<_MultiSource>self._src).set_direction(<lp.pcap_direction_t>d):
                return False
        elif lp.pcap_setdirection(self._handle(), <lp.pcap_direction_t>d) != 0:
            return False
        self._src.direction = d
        return True

    def setnonblock(self, nonblock=True):
        """In nonblocking mode readpkts(), readbatch() and dispatch() never
        wait: they return what is pending ([] or 0 when nothing is).
        Iteration, next() and loop() wait for packets in either mode, as
        pypcap's do.  ``nonblock`` is True or False (or 1 or 0); anything
        else raises TypeError, and the mode stays as it was.
        """
        # libpcap is always nonblocking for live handles (every wait is ours),
        # and a savefile never blocks inside libpcap: the mode is ours to keep.
        self._handle()
        self._nonblock = _bool_arg(nonblock, "nonblock")

    def getnonblock(self):
        """getnonblock() -> bool

        Whether the handle is in nonblocking mode.
        """
        self._handle()
        return self._nonblock

    def datalink(self):
        """datalink() -> int

        The link type, one of the DLT_ constants.  A pcapng file may have
        interfaces of several link types: this is the first interface's
        (a RuntimeWarning says so when the interfaces read so far differ);
        ``interfaces[i].linktype`` is each one's, and ``interface_id`` says
        which interface a packet came from.
        """
        cdef int dlt = lp.pcap_datalink(self._handle())
        linktypes = _linktypes(self._src.interfaces())
        if len(linktypes) > 1:
            import warnings
            warnings.warn(f"{self._name}: interfaces of several link types ({', '.join(map(str, linktypes))}): "
                          f"datalink() gives the first interface's, {dlt}; interfaces[i].linktype gives each",
                          RuntimeWarning, stacklevel=2)
        return dlt

    def datalinks(self):
        """datalinks() -> list of int

        The link types the handle can use.
        """
        cdef int *dlts = NULL
        cdef int n, i
        cdef lp.pcap_t *p = self._handle()
        n = _check(p, lp.pcap_list_datalinks(p, &dlts), f"list link types of {self._name!r}")
        try:
            return [dlts[i] for i in range(n)]
        finally:
            lp.pcap_free_datalinks(dlts)

    def setdatalink(self, dlt):
        """Switch the handle to link type ``dlt``."""
        dlt = _int_arg(dlt, "dlt", 0, C_INT_MAX)
        cdef lp.pcap_t *p = self._handle()
        _check(p, lp.pcap_set_datalink(p, dlt), f"set link type {dlt} on {self._name!r}")
        self._dloff = dltoff.get(dlt, 0)

    def sendpacket(self, buf):
        """sendpacket(buf) -> int

        Send the raw packet ``buf`` (any bytes-like object, link-layer header
        included) on the interface and return its length.  Raises ValueError
        for an empty ``buf``, TypeError for one that is not bytes-like, and
        PcapError with libpcap's message when the send fails, on a savefile
        and on a handle over several interfaces.
        """
        return self._send(buf, False)

    def inject(self, buf):
        """inject(buf) -> int

        Send the raw packet ``buf`` as sendpacket() does (pcap_inject), and
        return the number of bytes libpcap says it wrote: on Linux all of
        ``buf``.  Raises as sendpacket() does.
        """
        return self._send(buf, True)

    cdef Py_ssize_t _send(self, buf, bint inject) except -1:
        cdef Py_buffer view
        cdef lp.pcap_t *p = self._handle()
        action = f"{'inject' if inject else 'send'} packet on {self._name!r}"
        if isinstance(self._src, _MultiSource):
            raise _pcap_error(lp.PCAP_ERROR, action, "a handle over several interfaces does not say which "
                              "one to send on: open that one on its own")
        if not self._src.live:
            raise _pcap_error(lp.PCAP_ERROR, action, "a savefile has no interface to send on: open the "
                              "interface by its name")
        _get_buffer(buf, &view, PyBUF_SIMPLE, "buf")
        try:
            # (libpcap's own refusal of 0 bytes appends a stale errno's text.)
            if view.len == 0:
                raise ValueError("buf must hold a packet, not 0 bytes")
            if view.len > 0x7fffffff:
                raise ValueError(f"buf must be at most 2147483647 bytes, not {view.len}")
            if inject:
                return _check(p, lp.pcap_inject(p, view.buf, <size_t>view.len), action)
            _check(p, lp.pcap_sendpacket(p, <const unsigned char *>view.buf, <int>view.len), action)
            return view.len
        finally:
            PyBuffer_Release(&view)

    def geterr(self):
        """geterr() -> str

        libpcap's last error message for this handle.
        """
        return _text(lp.pcap_geterr(self._handle()))

    def stats(self, interface=None):
        """stats(interface=None) -> Stats

        ``Stats(received, dropped, ifdropped)``: libpcap's counters for a
        live handle, a named tuple that unpacks as pypcap's 3-tuple.  Raises
        PcapError on a savefile, which has none.  On a handle over several
        interfaces, the sums of their counters; ``interface`` (an index into
        ``interfaces``) gives that one's alone (IndexError when there is no
        such interface); on a handle of one interface it may only be 0.
        """
        cdef lp.pcap_stat st
        cdef lp.pcap_t *p = self._handle()
        if interface is not None:
            k = _int_arg(interface, "interface", 0, C_INT_MAX)
            count = (<_MultiSource>self._src).n if isinstance(self._src, _MultiSource) else 1
            if k >= count:
                raise IndexError(f"interface {k} out of range: {self._name!r} has {count}")
        if isinstance(self._src, _MultiSource):
            each = (<_MultiSource>self._src).stats_each(self._name)
            if interface is not None:
                return _stats_type()(*each[k])
            return _stats_type()(*[sum(column) for column in zip(*each)])
        _check(p, lp.pcap_stats(p, &st), f"stats on {self._name!r}")
        return _stats_type()(st.ps_recv, st.ps_drop, st.ps_ifdrop)

    def set_fanout(self, group, mode=PACKET_FANOUT_HASH, flags=0):
        """set_fanout(group, mode=FANOUT_HASH, flags=0)

        Join the Linux PACKET_FANOUT group ``group`` (0 to 65535) of this
        live handle's interface: the kernel then gives each packet of the
        interface to one of the handles, in this and other processes, that
        joined the same group, so that several workers share one
        interface's traffic.  ``mode`` says which one: FANOUT_HASH (by flow:
        every packet of a flow to the same member), FANOUT_LB (round robin),
        FANOUT_CPU (by the CPU that received it), FANOUT_ROLLOVER (to one
        member until it is full, then the next), FANOUT_RND (at random),
        FANOUT_QM (by the NIC's receive queue).  ``flags``:
        FANOUT_FLAG_DEFRAG (reassemble IP fragments first, so that they hash
        together), FANOUT_FLAG_ROLLOVER (move on to another member when one
        is full).  Every member of a group uses the same mode and flags.
        Raises ValueError for a group, mode or flags out of range, PcapError
        on a savefile or on a platform other than Linux (naming it), and
        PcapError with the kernel's errno when the kernel refuses (for
        instance a group of another mode: EINVAL).
        """
        cdef lp.pcap_t *p = self._handle()
        group = _int_arg(group, "group", 0, 0xffff)
        mode = _int_arg(mode, "mode", 0, 0xff)
        flags = _int_arg(flags, "flags", 0, 0xff00)
        if mode not in (PACKET_FANOUT_HASH, PACKET_FANOUT_LB, PACKET_FANOUT_CPU, PACKET_FANOUT_ROLLOVER,
                        PACKET_FANOUT_RND, PACKET_FANOUT_QM):
            raise ValueError(f"mode must be one of the FANOUT_ modes, not {mode}")
        if flags & ~(PACKET_FANOUT_FLAG_ROLLOVER | PACKET_FANOUT_FLAG_DEFRAG):
            raise ValueError(f"flags must be FANOUT_FLAG_DEFRAG and/or FANOUT_FLAG_ROLLOVER, not {flags:#x}")
        if not PLATFORM_LINUX_FEATURES:
            raise _pcap_error(lp.PCAP_ERROR, f"set fanout on {self._name!r}",
                              f"packet fanout is Linux's (PACKET_FANOUT): not on {_PLATFORM}")
        if not self._src.live:
            raise _pcap_error(lp.PCAP_ERROR, f"set fanout on {self._name!r}",
                              "fanout is for live Linux capture handles, not savefiles")
        if isinstance(self._src, _MultiSource):
            raise _pcap_error(lp.PCAP_ERROR, f"set fanout on {self._name!r}",
                              "fanout is for a handle of one interface: open one handle for each")
        if join_fanout(lp.pcap_fileno(p), group, mode | flags) < 0:
            raise _os_error(errno, f"join fanout group {group} on {self._name!r}", None)

    def dump_open(self, path, append=False, **options):
        """dump_open(path, append=False, *, format=None, compress=None, comment=None, hardware=None, os=None, application=None) -> dumper

        A savefile writer for this handle's packets.  Classic pcap (the
        default, unless the path ends in ``.pcapng``): this handle's link
        type, snaplen and the precision the packets came with (a
        microsecond savefile is copied as one).  pcapng
        (``format="pcapng"``): every interface of the handle, described as
        it says (a live one's name, link type, snaplen, filter and OS; a
        pcapng file's as the file does), nanosecond time stamps; each
        packet written by ``p.loop(0, d)`` keeps its interface and, from a
        pcapng file, its options (comments, flags...); a new section of the
        file starts a new section; at close the interfaces' statistics are
        written (a live handle's stats(), a file's last).  ``p.loop(0, d)``
        copies a capture exactly, wire lengths included.  See dumper for
        the other arguments.
        """
        cdef lp.pcap_t *p = self._handle()
        cdef dumper d
        fmt, _ = _format_of(_os.fsdecode(path) if isinstance(path, (str, bytes, _os.PathLike)) else "",
                            options.get("format"), options.get("compress"))
        interfaces = self._src.interfaces()
        if fmt == "pcap":
            linktypes = _linktypes(interfaces)
            if len(linktypes) > 1:
                raise _pcap_error(lp.PCAP_ERROR, f"cannot copy {self._name!r}", f"its interfaces have several "
                                  f"link types ({', '.join(map(str, linktypes))}), and a pcap savefile holds one: "
                                  f"write pcapng (format='pcapng'), or each interface's packets (interface_id) "
                                  f"to a dumper of its own")
            return dumper(path, lp.pcap_datalink(p), lp.pcap_snapshot(p),
                          nano=self._src.write_precision == lp.PCAP_TSTAMP_PRECISION_NANO,
                          append=append, timestamp_in_ns=self._ns, **options)
        if self._src.live:
            for i in interfaces:
                if i.filter is None and self._filter:
                    i.filter = self._filter
                if i.os is None:
                    i.os = _default_os()
        d = dumper(path, append=append, timestamp_in_ns=self._ns, interfaces=interfaces, **options)
        d._handle = self
        d._follow = self._src
        if isinstance(self._src, _PcapngSource):
            d._follow_section = (<_PcapngSource>self._src).ng.section
            d._follow_changes = (<_PcapngSource>self._src).ng.changes
        return d


cdef bint _is_savefile(bytes bname) except -1:
    try:
        _os.stat(bname)
    except PermissionError as e:
        if b"/" in bname:      # a path into a directory we may not search
            raise _os_error(e.errno, f"cannot open savefile {_os.fsdecode(bname)!r}",
                            _os.fsdecode(bname)) from None
        return False
    except OSError:
        return False
    # An interface of this machine wins over a file of the same name.
    return not is_interface_name(bname)
