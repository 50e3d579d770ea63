# cython: language_level=3, embedsignature=True
"""Packet capture with libpcap: a drop-in for pypcap 1.3.

Open a live interface or a savefile with ``pcap.pcap(name)``, iterate over it
for ``(timestamp, packet)`` pairs, filter with BPF, write savefiles with
``pcap.dumper``.  Every wait for packets releases the GIL and keeps Python's
signal handlers in charge, so Ctrl-C always works.
"""

import errno as _errno
import os as _os
import types as _types
from _thread import get_ident as _current_thread

cimport libpcap as lp
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_CheckSignals
from cpython.float cimport PyFloat_FromDouble
from cpython.list cimport PyList_Append
from cpython.long cimport PyLong_FromLongLong
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.errno cimport errno
from libc.stdio cimport FILE, clearerr, fclose, ferror
from libc.string cimport memcpy, strerror
from posix.time cimport timeval

cdef extern from "pcap_ex.h" nogil:
    enum:
        WAIT_SLICE_MS
        BUFFER_TIMEOUT_MS
        IMMEDIATE_BUFFER_SIZE
    int wait_readable(int fd, int timeout_ms)
    double monotonic_ms()
    int sockaddr_to_text(const lp.sockaddr *sa, char *buf, size_t buflen)
    FILE *open_savefile_stream(const char *path)
    int is_stream(FILE *fp)
    int is_interface_name(const char *name)
    struct savefile_reader:
        unsigned char *buf
        int nano
    int savefile_reader_init(savefile_reader *r, lp.pcap_t *p, FILE *fp)
    int savefile_reader_next(savefile_reader *r, lp.pcap_pkthdr **hdr, const unsigned char **data,
                             char *errbuf)
    void savefile_reader_free(savefile_reader *r)

cdef extern from "pcap.h" nogil:
    FILE *pcap_dump_file(lp.pcap_dumper_t *p)
    FILE *pcap_file(lp.pcap_t *p)

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object op)

include "dlt.pxi"

__version__ = "2.0.0"

PCAP_D_INOUT = lp.PCAP_D_INOUT
PCAP_D_IN = lp.PCAP_D_IN
PCAP_D_OUT = lp.PCAP_D_OUT
PCAP_TSTAMP_PRECISION_MICRO = lp.PCAP_TSTAMP_PRECISION_MICRO
PCAP_TSTAMP_PRECISION_NANO = lp.PCAP_TSTAMP_PRECISION_NANO

# Length of the link-layer header for the link types pypcap knew about.
dltoff = {DLT_NULL: 4, DLT_EN10MB: 14, DLT_IEEE802: 22, DLT_ARCNET: 6,
          DLT_SLIP: 16, DLT_PPP: 4, DLT_FDDI: 21, DLT_PFLOG: 48, DLT_PFSYNC: 4,
          DLT_LOOP: 4, DLT_RAW: 0, DLT_LINUX_SLL: 16}


# --------------------------------------------------------------------------
# Errors: every libpcap failure goes through _error() below.

class PcapError(OSError):
    """Root of the errors raised by this module; a subclass of ``OSError``."""


class PcapPermissionError(PcapError, PermissionError):
    """Capture needs a privilege this process does not have."""


class PcapNotFoundError(PcapError, FileNotFoundError):
    """No savefile and no capture device has the name that was given."""


cdef str _text(const char *s):
    if s == NULL:
        return ""
    return (<bytes>s).decode("utf-8", "replace")


cdef object _error(int rc, str what, str detail):
    """Build the exception for libpcap status rc; detail is libpcap's text."""
    if not detail:
        detail = _text(lp.pcap_statustostr(rc))
    if rc == lp.PCAP_ERROR_PERM_DENIED or rc == lp.PCAP_ERROR_PROMISC_PERM_DENIED:
        return PcapPermissionError(
            f"{what}: {detail} (capture needs root or CAP_NET_RAW, and "
            f"CAP_NET_ADMIN for promiscuous mode)")
    if rc == lp.PCAP_ERROR_NO_SUCH_DEVICE:
        return PcapNotFoundError(f"{what}: {detail}")
    return PcapError(f"{what}: {detail}")


cdef bytes _encode_name(object name, str what):
    """str, bytes or os.PathLike -> bytes with no NUL."""
    cdef bytes b = _os.fsencode(name)
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL byte: {name!r}")
    return b


cdef bytes _encode_filter(object expr):
    cdef bytes b
    if isinstance(expr, str):
        b = (<str>expr).encode("utf-8")
    elif isinstance(expr, (bytes, bytearray)):
        b = bytes(expr)
    else:
        raise TypeError(f"a filter expression must be str or bytes, not {type(expr).__name__}")
    if b"\0" in b:
        raise ValueError("filter expression contains a NUL byte")
    return b


# --------------------------------------------------------------------------
# Module-level functions.

def findalldevs():
    """findalldevs() -> list of str

    Names of the capture devices libpcap can open (``pcap_findalldevs``).
    Raises PcapError when libpcap cannot list them.
    """
    return [dev.name for dev in interfaces()]


def lookupdev():
    """lookupdev() -> str

    The first capture device that is up and is not a loopback interface, in
    the order of ``pcap_findalldevs``.  Raises PcapError when there is none.
    """
    for dev in interfaces():
        if dev.is_up and not dev.is_loopback:
            return dev.name
    raise PcapError("lookupdev: no capture device is up apart from loopback")


def lookupnet(dev):
    """lookupnet(dev) -> (net, mask)

    The IPv4 network number and netmask of device ``dev`` (str or bytes),
    each as 4 bytes in network byte order, as pypcap returns them:
    ``socket.inet_ntoa(net)`` prints one.  Raises PcapError with libpcap's
    message when the device has no IPv4 address or does not exist.
    """
    cdef bytes bdev = _encode_name(dev, "device name")
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef lp.bpf_u_int32 net = 0, mask = 0
    errbuf[0] = 0
    if lp.pcap_lookupnet(bdev, &net, &mask, errbuf) < 0:
        raise _error(lp.PCAP_ERROR, f"lookupnet {_os.fsdecode(bdev)!r}", _text(errbuf))
    return (PyBytes_FromStringAndSize(<char *>&net, 4),
            PyBytes_FromStringAndSize(<char *>&mask, 4))


def ex_name(name):
    """ex_name(name) -> name

    The device name as libpcap wants it: unchanged on this platform (pypcap
    translated names only on Windows).
    """
    return name


def datalink_name(int dlt):
    """datalink_name(dlt) -> str: the name of a link type, e.g. 'EN10MB'.

    Raises ValueError for a value libpcap does not know.
    """
    cdef const char *s = lp.pcap_datalink_val_to_name(dlt)
    if s == NULL:
        raise ValueError(f"unknown link type {dlt}")
    return _text(s)


def datalink_description(int dlt):
    """datalink_description(dlt) -> str: a description such as 'Ethernet'.

    Raises ValueError for a value libpcap does not know.
    """
    cdef const char *s = lp.pcap_datalink_val_to_description(dlt)
    if s == NULL:
        raise ValueError(f"unknown link type {dlt}")
    return _text(s)


def datalink_value(name):
    """datalink_value(name) -> int: the DLT_ value of a link-type name.

    ``name`` is str, with or without the ``DLT_`` prefix, in any case.
    Raises ValueError for a name libpcap does not know.
    """
    cdef bytes b = str(name).encode("ascii", "replace")
    if b.upper().startswith(b"DLT_"):
        b = b[4:]
    cdef int v = lp.pcap_datalink_name_to_val(b)
    if v < 0:
        raise ValueError(f"unknown link-type name {name!r}")
    return v


def lib_version():
    """lib_version() -> str: libpcap's version string."""
    return _text(lp.pcap_lib_version())


class address:
    """One address of an interface: ``family`` (socket.AddressFamily) and
    ``addr``, ``netmask``, ``broadaddr``, ``dstaddr`` as printable str or None."""
    __slots__ = ("family", "addr", "netmask", "broadaddr", "dstaddr")

    def __init__(self, family, addr, netmask=None, broadaddr=None, dstaddr=None):
        self.family = family
        self.addr = addr
        self.netmask = netmask
        self.broadaddr = broadaddr
        self.dstaddr = dstaddr

    def __repr__(self):
        family = getattr(self.family, "name", self.family)
        return (f"address(family={family}, addr={self.addr!r}, netmask={self.netmask!r}, "
                f"broadaddr={self.broadaddr!r}, dstaddr={self.dstaddr!r})")


class interface:
    """A capture device from ``interfaces()``: ``name``, ``description``
    (str or None), ``addresses`` (list of ``address``) and the flags
    ``is_up``, ``is_running``, ``is_loopback``, ``is_wireless``."""
    __slots__ = ("name", "description", "addresses", "is_up", "is_running",
                 "is_loopback", "is_wireless")

    def __init__(self, name, description, addresses, flags):
        self.name = name
        self.description = description
        self.addresses = addresses
        self.is_up = bool(flags & lp.PCAP_IF_UP)
        self.is_running = bool(flags & lp.PCAP_IF_RUNNING)
        self.is_loopback = bool(flags & lp.PCAP_IF_LOOPBACK)
        self.is_wireless = bool(flags & lp.PCAP_IF_WIRELESS)

    def __repr__(self):
        flags = [f for f in ("up", "running", "loopback", "wireless") if getattr(self, "is_" + f)]
        return f"<pcap.interface {self.name!r} {' '.join(flags) or 'down'}, {len(self.addresses)} addresses>"


cdef object _sockaddr_text(const lp.sockaddr *sa):
    cdef char buf[64]
    if sockaddr_to_text(sa, buf, sizeof(buf)) < 0:
        return None
    return _text(buf)


def interfaces():
    """interfaces() -> list of interface

    Every capture device with its description, addresses and flags, from
    ``pcap_findalldevs``.  Raises PcapError when libpcap cannot list them.
    """
    cdef lp.pcap_if_t *devs = NULL
    cdef lp.pcap_if_t *d
    cdef lp.pcap_addr *a
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef int fam
    from socket import AddressFamily   # here: importing socket costs 1 MiB of memory
    errbuf[0] = 0
    if lp.pcap_findalldevs(&devs, errbuf) < 0:
        raise _error(lp.PCAP_ERROR, "findalldevs", _text(errbuf))
    result = []
    try:
        d = devs
        while d != NULL:
            addrs = []
            a = d.addresses
            while a != NULL:
                if a.addr != NULL:
                    fam = a.addr.sa_family
                    try:
                        family = AddressFamily(fam)
                    except ValueError:
                        family = fam
                    addrs.append(address(family, _sockaddr_text(a.addr), _sockaddr_text(a.netmask),
                                         _sockaddr_text(a.broadaddr), _sockaddr_text(a.dstaddr)))
                a = a.next
            desc = _text(d.description) if d.description != NULL else None
            result.append(interface(_text(d.name), desc, addrs, d.flags))
            d = d.next
    finally:
        lp.pcap_freealldevs(devs)
    return result


# --------------------------------------------------------------------------
# BPF programs compiled without a capture handle.

cdef class bpf:
    """bpf(expr, dlt=DLT_RAW, snaplen=65535, optimize=True)

    A BPF program compiled from the filter expression ``expr`` (str or bytes)
    for link type ``dlt``, with no capture handle and no temporary file
    (``pcap_open_dead`` + ``pcap_compile``).  ``filter(buf)`` runs it on one
    packet.  ``len(b)`` is its number of instructions and ``dump()`` lists them
    as ``tcpdump -d`` does.  Raises PcapError with libpcap's message when the
    expression does not compile.
    """
    cdef lp.bpf_program _prog
    cdef bint _compiled
    cdef str _expr
    cdef int _dlt
    cdef int _snaplen

    def __cinit__(self):
        self._compiled = False

    def __init__(self, expr, int dlt=DLT_RAW, int snaplen=65535, optimize=True):
        cdef bytes bexpr = _encode_filter(expr)
        cdef lp.pcap_t *dead = lp.pcap_open_dead(dlt, snaplen)
        if dead == NULL:
            raise PcapError(f"bpf: cannot make a handle for link type {dlt}")
        try:
            if self._compiled:
                lp.pcap_freecode(&self._prog)
                self._compiled = False
            if lp.pcap_compile(dead, &self._prog, bexpr, 1 if optimize else 0,
                               lp.PCAP_NETMASK_UNKNOWN) < 0:
                raise _error(lp.PCAP_ERROR, f"bpf {bexpr.decode('utf-8', 'replace')!r}",
                             _text(lp.pcap_geterr(dead)))
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
        """filter(buf) -> bool: whether the packet ``buf`` (any bytes-like
        object, starting at the link-layer header of ``dlt``) matches."""
        cdef Py_buffer view
        cdef unsigned int r
        if not self._compiled:
            raise ValueError("bpf object was not initialised")
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
        try:
            r = lp.bpf_filter(self._prog.bf_insns, <const unsigned char *>view.buf,
                              <unsigned int>view.len, <unsigned int>view.len)
        finally:
            PyBuffer_Release(&view)
        return r != 0

    def __len__(self):
        return self._prog.bf_len if self._compiled else 0

    def dump(self):
        """dump() -> list of str: the program, one instruction a line, as
        ``tcpdump -d`` prints it."""
        cdef unsigned int i
        if not self._compiled:
            return []
        return [_text(lp.bpf_image(&self._prog.bf_insns[i], i)) for i in range(self._prog.bf_len)]

    def __repr__(self):
        return f"bpf({self._expr!r}, dlt={self._dlt})"


# --------------------------------------------------------------------------
# Capture handles.

def _savefile_precision(path):
    """The timestamp precision a savefile was written with: from the magic
    number of a classic pcap file, from if_tsresol of the first interface of
    a pcapng file (microseconds when it has none)."""
    import struct
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] in (b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1"):
        return PCAP_TSTAMP_PRECISION_NANO
    if head[:4] != b"\x0a\x0d\x0d\x0a" or len(head) < 12:
        return PCAP_TSTAMP_PRECISION_MICRO
    order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    pos = 0
    while pos + 12 <= len(head):
        btype, blen = struct.unpack_from(order + "II", head, pos)
        if blen < 12:
            break
        if btype == 1:   # interface description block: options after 8 bytes of fields
            opt, end = pos + 16, pos + blen - 4
            while opt + 4 <= min(end, len(head)):
                code, olen = struct.unpack_from(order + "HH", head, opt)
                if code == 0:
                    break
                if code == 9 and olen >= 1 and opt + 4 < len(head):
                    resol = head[opt + 4]
                    digits = resol if resol < 128 else (resol & 0x7f) * 0.30103
                    return PCAP_TSTAMP_PRECISION_NANO if digits > 6 else PCAP_TSTAMP_PRECISION_MICRO
                opt += 4 + olen + (-olen % 4)
            break
        pos += blen
    return PCAP_TSTAMP_PRECISION_MICRO


_SAVEFILE_SUFFIXES = (b".pcap", b".pcapng", b".cap", b".dmp")

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
    """pcap.Stats, the named tuple of stats(), is made when first used."""
    if name == "Stats":
        return _stats_type()
    raise AttributeError(f"module 'pcap' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"Stats"})


cdef inline tuple _pair(object a, object b):
    # PyTuple_Pack, minus the reference counting Cython adds around a literal.
    cdef tuple t = PyTuple_New(2)
    Py_INCREF(a)
    PyTuple_SET_ITEM(t, 0, a)
    Py_INCREF(b)
    PyTuple_SET_ITEM(t, 1, b)
    return t


cdef object _reader_error(char *errbuf, str name):
    return PcapError(f"reading savefile {name!r}: {_text(errbuf)}")


cdef enum:
    _KIND_CALLBACK = 0
    _KIND_LIST = 1
    _KIND_COUNT = 2
    _KIND_BATCH = 3     # readbatch(): bytes in ctx.out, timestamps in ctx.stamps


cdef class _Dispatch:
    """State of one dispatch(), loop(), readpkts() or readbatch() call."""
    cdef pcap handle
    cdef int kind
    cdef object callback
    cdef tuple args
    cdef list out
    cdef object exc
    cdef Py_ssize_t count
    cdef bytearray stamps    # readbatch(): the timestamps' machine bytes


cdef int _add_to_batch(_Dispatch ctx, const lp.pcap_pkthdr *hdr, const unsigned char *data) except -1:
    cdef pcap h = ctx.handle
    cdef Py_ssize_t n = PyByteArray_GET_SIZE(ctx.stamps)
    cdef long long ns
    cdef double sec
    PyList_Append(ctx.out, PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
    PyByteArray_Resize(ctx.stamps, n + 8)
    if h._ns:
        ns = h._timestamp_ns(hdr)
        memcpy(PyByteArray_AS_STRING(ctx.stamps) + n, &ns, 8)
    else:
        sec = h._timestamp_seconds(hdr)
        memcpy(PyByteArray_AS_STRING(ctx.stamps) + n, &sec, 8)
    return 0


cdef void _on_packet(unsigned char *user, const lp.pcap_pkthdr *hdr,
                     const unsigned char *data) noexcept:
    # Called by pcap_dispatch() on a live handle (savefiles have their own
    # loops in _dispatch_file), with the GIL held: it is never released around
    # pcap_dispatch.  Exceptions are stored and end the dispatch at once.
    cdef _Dispatch ctx = <_Dispatch><void *>user
    cdef pcap h = ctx.handle
    if ctx.kind == _KIND_COUNT:
        ctx.count += 1
    elif ctx.exc is None:
        try:
            if ctx.kind == _KIND_BATCH:
                _add_to_batch(ctx, hdr, data)
            elif ctx.kind == _KIND_LIST:
                item = (h._timestamp(hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
                # Holds no containers: keep the collector from walking
                # millions of these in a long readpkts() list.
                PyObject_GC_UnTrack(item)
                PyList_Append(ctx.out, item)
            elif ctx.args:
                ctx.callback(h._timestamp(hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen), *ctx.args)
            else:
                ctx.callback(h._timestamp(hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
            ctx.count += 1
        except BaseException as e:
            ctx.exc = e
            lp.pcap_breakloop(h._p)
            return
    if h._break or h._closed:
        lp.pcap_breakloop(h._p)


cdef class pcap:
    """pcap(name=None, snaplen=65535, promisc=True, timeout_ms=0, immediate=False, rfmon=False, timestamp_in_ns=False, buffer_size=0)

    Open a capture handle on a live interface or a savefile.

    name -- interface name or savefile path (str, bytes or os.PathLike);
            None or '' opens ``lookupdev()``.  A name that is an interface of
            this machine opens the interface; otherwise an existing file is
            read as a savefile (pcap in any byte order or precision, pcapng).
    snaplen -- bytes kept of each packet (live only).
    promisc -- promiscuous mode (live only).
    timeout_ms -- for dispatch() and readpkts() on a blocking live handle:
            return 0 / [] when no packet came for this long; 0 waits for ever.
            Iteration always waits.  Packets reach Python at most 100 ms
            after they arrive (libpcap's buffer timeout), or at once with
            ``immediate``.
    immediate -- deliver each packet as soon as it arrives (no buffering).
    rfmon -- monitor mode (wireless interfaces only).
    timestamp_in_ns -- timestamps as int nanoseconds instead of float seconds.
    buffer_size -- kernel buffer size in bytes; 0 keeps libpcap's default
            (2 MiB), or 16 MiB with ``immediate``.

    Iterating yields ``(timestamp, packet)`` with ``packet`` as ``bytes``.
    Raises PcapNotFoundError (a FileNotFoundError) when no file or device has
    that name, PcapPermissionError (a PermissionError) without the privilege
    to capture, PcapError for any other libpcap failure, ValueError for a
    name that contains a NUL byte.
    """
    cdef lp.pcap_t *_p
    cdef bint _closed
    cdef bint _live
    cdef bint _nonblock
    cdef bint _ns
    cdef volatile bint _break
    cdef int _busy            # inside pcap_dispatch, whose callbacks run Python
    cdef object _busy_thread
    cdef int _fd
    cdef int _timeout_ms
    cdef double _divisor      # tv_usec units per second: 1e6 or 1e9
    cdef long long _ns_scale  # nanoseconds per tv_usec unit: 1000 or 1
    cdef int _precision
    cdef int _write_precision
    cdef int _dloff
    cdef str _name
    cdef str _filter
    cdef object _wake         # set while an ``async for`` waits: wakes it
    cdef object _pending      # a read error to raise at the next read
    cdef savefile_reader _reader   # reads classic savefiles without libpcap's per-packet costs
    cdef lp.bpf_program _prog      # the filter, applied by _read_file when _reader reads
    cdef bint _prog_set
    cdef bint _stream              # a savefile from a pipe: reads may block

    def __cinit__(self):
        self._p = NULL
        self._closed = True
        self._fd = -1
        self._filter = ""
        self._name = ""
        self._reader.buf = NULL
        self._prog_set = False

    def __init__(self, name=None, int snaplen=65535, promisc=True, int timeout_ms=0,
                 immediate=False, rfmon=False, timestamp_in_ns=False, int buffer_size=0):
        cdef bytes bname
        if self._p != NULL:
            raise RuntimeError("pcap handle is already open")
        if timeout_ms < 0:
            raise ValueError(f"timeout_ms must be 0 or more, not {timeout_ms}")
        if name is None or (isinstance(name, (str, bytes)) and len(name) == 0):
            name = lookupdev()
        bname = _encode_name(name, "name")
        self._name = _os.fsdecode(bname)
        self._ns = bool(timestamp_in_ns)
        self._timeout_ms = timeout_ms
        if self._is_savefile(bname):
            self._open_savefile(bname)
        elif b"/" in bname or bname.lower().endswith(_SAVEFILE_SUFFIXES):
            # Interface names never contain '/': this was meant as a file.
            e = PcapNotFoundError(f"cannot open savefile {self._name!r}: {_os.strerror(_errno.ENOENT)}")
            e.errno = _errno.ENOENT
            raise e
        else:
            self._open_live(bname, snaplen, promisc, timeout_ms, immediate, rfmon, buffer_size)
        self._precision = lp.pcap_get_tstamp_precision(self._p)
        if self._reader.buf != NULL:
            # Our reader hands over the file's own units, unscaled.
            self._divisor = 1e9 if self._reader.nano else 1e6
            self._ns_scale = 1 if self._reader.nano else 1000
        elif self._precision == lp.PCAP_TSTAMP_PRECISION_NANO:
            self._divisor = 1e9
            self._ns_scale = 1
        else:
            self._divisor = 1e6
            self._ns_scale = 1000
        # dump_open() copies a savefile with the precision it was written
        # with, though it is read in nanoseconds.
        # (A pipe cannot be read twice: its copies keep nanoseconds.)
        if self._live or self._stream:
            self._write_precision = self._precision
        else:
            self._write_precision = _savefile_precision(bname)
        self._dloff = dltoff.get(lp.pcap_datalink(self._p), 0)
        self._closed = False

    cdef bint _is_savefile(self, bytes bname) except -1:
        try:
            _os.stat(bname)
        except OSError:
            return False
        # An interface of this machine wins over a file of the same name.
        return not is_interface_name(bname)

    cdef _open_savefile(self, bytes bname):
        cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
        cdef const char *path = bname
        cdef FILE *fp
        cdef lp.pcap_t *p
        cdef int err
        # Without the GIL: a FIFO blocks here until its writer comes.
        with nogil:
            fp = open_savefile_stream(path)
            err = errno
        errbuf[0] = 0
        if fp == NULL:
            PyErr_CheckSignals()
            if err == _errno.EACCES or err == _errno.EPERM:
                raise PcapPermissionError(f"cannot read savefile {self._name!r}: {strerror(err).decode()}")
            if err == _errno.ENOENT:
                raise PcapNotFoundError(f"cannot open savefile {self._name!r}: {strerror(err).decode()}")
            raise PcapError(f"cannot read {self._name!r} as a savefile: {strerror(err).decode()}")
        # Once libpcap has opened it, pcap_close() closes fp; a failed open does not.
        with nogil:
            p = lp.pcap_fopen_offline_with_tstamp_precision(fp, lp.PCAP_TSTAMP_PRECISION_NANO, errbuf)
        self._p = p
        if self._p == NULL:
            fclose(fp)
            PyErr_CheckSignals()
            if not _os.access(bname, _os.R_OK):
                raise PcapPermissionError(f"cannot read savefile {self._name!r}: {_text(errbuf)}")
            raise _error(lp.PCAP_ERROR, f"cannot read {self._name!r} as a savefile", _text(errbuf))
        self._live = False
        if savefile_reader_init(&self._reader, self._p, fp) < 0:
            raise MemoryError()
        self._stream = is_stream(fp)

    cdef _open_live(self, bytes bname, int snaplen, promisc, int timeout_ms, immediate, rfmon,
                    int buffer_size):
        cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
        cdef int rc
        errbuf[0] = 0
        self._p = lp.pcap_create(bname, errbuf)
        if self._p == NULL:
            raise _error(lp.PCAP_ERROR, f"cannot open {self._name!r}", _text(errbuf))
        self._live = True
        self._check(lp.pcap_set_snaplen(self._p, snaplen), "set snaplen")
        self._check(lp.pcap_set_promisc(self._p, 1 if promisc else 0), "set promiscuous mode")
        # libpcap's timeout is the kernel's buffer timeout: with 0, Linux
        # (TPACKET_V3) hands a ring block over only once it is full, so a
        # quiet interface would never deliver; with a long one, a packet
        # could miss the deadline of the dispatch() that waits for it.  Our
        # own waits enforce timeout_ms; the buffer timeout only bounds the
        # delivery delay.
        self._check(lp.pcap_set_timeout(self._p, min(timeout_ms, BUFFER_TIMEOUT_MS) if timeout_ms > 0
                                        else BUFFER_TIMEOUT_MS), "set timeout")
        self._check(lp.pcap_set_immediate_mode(self._p, 1 if immediate else 0), "set immediate mode")
        if rfmon:
            self._check(lp.pcap_set_rfmon(self._p, 1), "set monitor mode")
        if buffer_size == 0 and immediate:
            # Immediate mode on Linux gives every packet a whole snaplen-sized
            # ring frame: libpcap's 2 MiB default holds some 30 packets.
            buffer_size = IMMEDIATE_BUFFER_SIZE
        if buffer_size > 0:
            self._check(lp.pcap_set_buffer_size(self._p, buffer_size), "set buffer size")
        # Nanosecond stamps where the platform has them; microseconds otherwise.
        lp.pcap_set_tstamp_precision(self._p, lp.PCAP_TSTAMP_PRECISION_NANO)
        rc = lp.pcap_activate(self._p)
        if rc < 0:
            detail = _text(lp.pcap_geterr(self._p))
            if rc == lp.PCAP_ERROR_NO_SUCH_DEVICE:
                detail = f"no capture device and no savefile of that name ({detail or _text(lp.pcap_statustostr(rc))})"
            lp.pcap_close(self._p)
            self._p = NULL
            raise _error(rc, f"cannot open {self._name!r}", detail)
        if rc > 0:
            import warnings
            warnings.warn(f"{self._name}: {_text(lp.pcap_statustostr(rc))} {_text(lp.pcap_geterr(self._p))}".strip(),
                           RuntimeWarning, stacklevel=3)
        # libpcap itself is always nonblocking: every wait is ours (see _wait),
        # so that it can be bounded, interrupted and timed out.
        if lp.pcap_setnonblock(self._p, 1, errbuf) < 0:
            raise _error(lp.PCAP_ERROR, f"cannot make {self._name!r} nonblocking", _text(errbuf))
        self._fd = lp.pcap_get_selectable_fd(self._p)

    def __dealloc__(self):
        self._release()

    cdef void _release(self) noexcept:
        if self._p != NULL:
            lp.pcap_close(self._p)
            self._p = NULL
        if self._reader.buf != NULL:
            savefile_reader_free(&self._reader)
        if self._prog_set:
            lp.pcap_freecode(&self._prog)
            self._prog_set = False

    # -- state checks -----------------------------------------------------

    cdef int _check(self, int rc, str what) except -1:
        if rc < 0:
            raise _error(rc, f"{what} on {self._name!r}", _text(lp.pcap_geterr(self._p)))
        return rc

    cdef inline int _ensure_open(self) except -1:
        if self._closed:
            raise ValueError("operation on a closed pcap handle")
        return 0

    cdef int _enter(self) except -1:
        """Check the handle before a libpcap read.  While a callback of
        another thread runs inside pcap_dispatch on this handle, wait: libpcap
        is in the middle of a buffer and a second read would corrupt it."""
        self._ensure_open()
        if self._pending is not None:
            exc = self._pending
            self._pending = None
            raise exc
        if self._busy:
            if self._busy_thread == _current_thread():
                raise RuntimeError("a pcap callback cannot read from the handle it was called by")
            while self._busy:
                with nogil:
                    wait_readable(-1, 1)
                PyErr_CheckSignals()
            self._ensure_open()
        return 0

    cdef void _finish_close(self) noexcept:
        if not self._busy:
            self._release()
            self._fd = -1

    # -- timestamps and packets -------------------------------------------

    cdef inline long long _seconds(self, const lp.pcap_pkthdr *hdr) noexcept:
        cdef long long sec = hdr.ts.tv_sec
        if sec < 0 and not self._live:
            # Savefiles store unsigned 32-bit seconds, which libpcap 1.10
            # sign-extends: 2038 and later would come out negative.
            sec += 1LL << 32
        return sec

    cdef inline long long _timestamp_ns(self, const lp.pcap_pkthdr *hdr) noexcept:
        return self._seconds(hdr) * 1000000000LL + <long long>hdr.ts.tv_usec * self._ns_scale

    cdef inline double _timestamp_seconds(self, const lp.pcap_pkthdr *hdr) noexcept:
        return <double>self._seconds(hdr) + <double>hdr.ts.tv_usec / self._divisor

    cdef inline object _timestamp(self, const lp.pcap_pkthdr *hdr):
        if self._ns:
            return PyLong_FromLongLong(self._timestamp_ns(hdr))
        return PyFloat_FromDouble(self._timestamp_seconds(hdr))

    cdef int _wait(self, double deadline) except -3:
        """Wait for the live handle to become readable, for one slice at most.
        Returns 1 to read again, 0 when the deadline (if any) has passed, -2
        when breakloop() was called."""
        cdef int fd = self._fd
        cdef int slice_ms = WAIT_SLICE_MS
        cdef int r
        cdef double now
        if deadline > 0:
            now = monotonic_ms()
            if now >= deadline:
                return 0
            if deadline - now < slice_ms:
                slice_ms = <int>(deadline - now) + 1
        with nogil:
            r = wait_readable(fd, slice_ms)
        if r < 0:
            raise OSError(errno, f"waiting for packets on {self._name!r}: {strerror(errno).decode()}")
        PyErr_CheckSignals()
        self._ensure_open()
        if self._break:
            self._break = False
            return -2
        return 1

    cdef int _next(self, lp.pcap_pkthdr **hdr, const unsigned char **data, bint may_wait) except -3:
        """One packet from a live handle: 1 with *hdr/*data set; 0 when none
        is pending and may_wait is false; -2 after breakloop()."""
        cdef int rc
        if self._closed or self._busy or self._pending is not None:
            self._enter()
        if self._break:
            self._break = False
            return -2
        while True:
            rc = lp.pcap_next_ex(self._p, hdr, data)
            if rc == 1:
                return 1
            if rc == lp.PCAP_ERROR_BREAK:
                return -2
            if rc < 0:
                self._raise_read_error(rc)
            if not may_wait:
                return 0
            rc = self._wait(0)
            if rc == -2:
                return -2
            self._enter()

    cdef int _raise_read_error(self, int rc) except -1:
        raise _error(rc, f"reading {'packets from' if self._live else 'savefile'} {self._name!r}",
                     _text(lp.pcap_geterr(self._p)))

    def __iter__(self):
        return self

    @classmethod
    def __class_getitem__(cls, item):
        # pcap.pyi makes pcap generic in the timestamp type: pcap[float], pcap[int].
        return _types.GenericAlias(cls, item)

    def __next__(self):
        cdef lp.pcap_pkthdr *hdr
        cdef const unsigned char *data
        cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
        cdef int rc
        if (self._reader.buf != NULL and not self._prog_set and not self._break
                and not self._closed and not self._busy and self._pending is None):
            # The common case of reading a savefile, without the checks below.
            rc = savefile_reader_next(&self._reader, &hdr, &data, errbuf)
            if rc == 1:
                # (Seconds from our reader are never negative: see _seconds.)
                if self._ns:
                    ts = PyLong_FromLongLong(<long long>hdr.ts.tv_sec * 1000000000LL
                                             + <long long>hdr.ts.tv_usec * self._ns_scale)
                else:
                    ts = PyFloat_FromDouble(<double>hdr.ts.tv_sec + <double>hdr.ts.tv_usec / self._divisor)
                return _pair(ts, PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
            if rc == 0:
                raise StopIteration
            raise _reader_error(errbuf, self._name)
        if not self._live:
            item = self._file_packet()
            if item is None:
                raise StopIteration
            return item
        if self._next(&hdr, &data, not self._nonblock) != 1:
            raise StopIteration
        return _pair(self._timestamp(hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))

    cdef object _file_packet(self):
        """The next packet of a savefile as a tuple, None at the end."""
        cdef lp.pcap_pkthdr *hdr
        cdef const unsigned char *data
        if self._closed or self._busy or self._pending is not None:
            self._enter()
        if self._break:
            self._break = False
            return None
        if self._read_file(&hdr, &data) != 1:
            return None
        return (self._timestamp(hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))

    cdef int _read_file(self, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        """The next packet of a savefile that passes the filter: 1 with *hdr
        and *data set, -2 at the end of the file."""
        cdef int rc
        cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
        if self._reader.buf != NULL:
            errbuf[0] = 0
            while True:
                rc = savefile_reader_next(&self._reader, hdr, data, errbuf)
                if rc == 1:
                    if self._prog_set and not lp.pcap_offline_filter(&self._prog, hdr[0], data[0]):
                        continue
                    return 1
                if rc == 0:
                    return -2
                raise _reader_error(errbuf, self._name)
        if self._stream:
            rc = self._read_stream(hdr, data)
        else:
            rc = lp.pcap_next_ex(self._p, hdr, data)
        if rc == 1:
            return 1
        if rc == lp.PCAP_ERROR_BREAK:
            return -2   # the end of the file
        self._raise_read_error(rc)

    cdef int _read_stream(self, lp.pcap_pkthdr **hdr, const unsigned char **data) except -3:
        # A pipe may keep us waiting: read without the GIL (other threads wait
        # for the handle, see _enter), and let Ctrl-C, which interrupts the
        # read, raise KeyboardInterrupt rather than a read error.
        cdef int rc
        cdef int busy = self._busy
        cdef lp.pcap_t *p = self._p
        cdef FILE *fp = pcap_file(p)
        cdef int err
        while True:
            self._busy = 1
            self._busy_thread = _current_thread()
            try:
                with nogil:
                    rc = lp.pcap_next_ex(p, hdr, data)
                    err = errno
            finally:
                self._busy = busy
                if not busy:
                    self._busy_thread = None
            if rc == 1:
                return 1
            # A signal that interrupted the wait for the next record fails
            # the read: run the handlers, and unless one raised, wait again.
            PyErr_CheckSignals()
            if not (ferror(fp) and err == _errno.EINTR):
                return rc
            clearerr(fp)

    cdef Py_ssize_t _dispatch_file(self, _Dispatch ctx, int cnt) except -3:
        """dispatch() on a savefile: up to cnt packets (all when cnt <= 0).
        Returns the number processed, or -2 at the end of the file or after
        breakloop(), which ends a loop()."""
        cdef lp.pcap_pkthdr *hdr
        cdef const unsigned char *data
        cdef Py_ssize_t n = 0
        self._enter()
        if self._break:
            self._break = False
            return -2
        self._busy = 1
        self._busy_thread = _current_thread()
        try:
            if ctx.kind == _KIND_COUNT:
                # Counting (with the filter, if any) stays in C.
                while cnt <= 0 or n < cnt:
                    if self._read_file(&hdr, &data) != 1:
                        ctx.count += n
                        return -2
                    n += 1
                    if self._break or self._closed:
                        self._break = False
                        ctx.count += n
                        return -2
                ctx.count += n
                return n
            # A callback's exception simply propagates from here.
            callback = ctx.callback
            args = ctx.args
            if ctx.kind == _KIND_BATCH:
                while cnt <= 0 or n < cnt:
                    if self._read_file(&hdr, &data) != 1:
                        return -2
                    _add_to_batch(ctx, hdr, data)
                    n += 1
                    ctx.count += 1
                    if self._break or self._closed:
                        self._break = False
                        return -2
                return n
            while cnt <= 0 or n < cnt:
                if self._read_file(&hdr, &data) != 1:
                    return -2
                ts = self._timestamp(hdr)
                buf = PyBytes_FromStringAndSize(<const char *>data, hdr.caplen)
                if ctx.kind == _KIND_LIST:
                    item = (ts, buf)
                    PyObject_GC_UnTrack(item)   # see _on_packet
                    PyList_Append(ctx.out, item)
                elif args:
                    callback(ts, buf, *args)
                else:
                    callback(ts, buf)
                n += 1
                ctx.count += 1
                if self._break or self._closed:
                    self._break = False
                    return -2
        finally:
            self._busy = 0
            self._busy_thread = None
            if self._closed:
                self._finish_close()
        return n

    cdef Py_ssize_t _dispatch(self, _Dispatch ctx, int cnt, double deadline, bint may_wait) except -3:
        """Run pcap_dispatch on a live handle until it processes packets (on
        a savefile: _dispatch_file).  Returns the number
        processed (also in ctx.count), 0 when nothing came in time, or -2 when
        the savefile ended or breakloop() was called, which ends a loop()."""
        cdef int rc, w
        if not self._live:
            return self._dispatch_file(ctx, cnt)
        while True:
            self._enter()
            if self._break:
                self._break = False
                return -2
            self._busy = 1
            self._busy_thread = _current_thread()
            try:
                rc = lp.pcap_dispatch(self._p, cnt, _on_packet, <unsigned char *><void *>ctx)
            finally:
                self._busy = 0
                self._busy_thread = None
            if ctx.exc is not None or self._break or self._closed:
                if self._closed:
                    self._finish_close()
                if ctx.exc is not None:
                    exc = ctx.exc
                    ctx.exc = None
                    raise exc
                self._break = False
                return -2
            if rc == lp.PCAP_ERROR_BREAK:
                return -2
            if rc < 0:
                self._raise_read_error(rc)
            if rc > 0:
                return ctx.count
            if not may_wait:
                return 0
            w = self._wait(deadline)
            if w <= 0:
                return w

    cdef _Dispatch _context(self, int kind, callback, tuple args):
        cdef _Dispatch ctx = _Dispatch.__new__(_Dispatch)
        ctx.handle = self
        ctx.kind = kind
        ctx.callback = callback
        ctx.args = args
        return ctx

    cdef double _deadline(self):
        if self._live and self._timeout_ms > 0:
            return monotonic_ms() + self._timeout_ms
        return 0

    def dispatch(self, int cnt, callback=None, *args):
        """dispatch(cnt, callback=None, *args) -> int

        Process up to ``cnt`` packets, calling ``callback(timestamp, packet,
        *args)`` for each, and return how many were processed.  On a savefile
        ``cnt`` of -1 or 0 means every packet; on a live handle it means the
        packets of one buffer.  A blocking live handle waits for the first
        packet (at most ``timeout_ms`` when that is not 0); a nonblocking one
        returns 0 at once when nothing is pending.  With ``callback`` None the
        packets are only counted, in C.  An exception raised by the callback
        ends the dispatch at once and propagates.
        """
        self._ensure_open()
        cdef _Dispatch ctx = self._context(_KIND_COUNT if callback is None else _KIND_CALLBACK,
                                           callback, args)
        if callback is None and not self._live and cnt <= 0:
            # Count a whole savefile in slices, so that Ctrl-C is seen.
            while self._dispatch(ctx, 1 << 16, 0, False) >= 0:
                PyErr_CheckSignals()
            return ctx.count
        self._dispatch(ctx, cnt, self._deadline(), not self._nonblock)
        return ctx.count

    def loop(self, int cnt, callback=None, *args):
        """loop(cnt, callback=None, *args) -> int

        Call ``callback(timestamp, packet, *args)`` for each packet until
        ``cnt`` packets were processed (``cnt`` <= 0: no limit), the savefile
        ends, ``breakloop()`` is called or the callback raises.  Waits for
        packets whatever the nonblocking mode and ``timeout_ms``.  Returns the
        number of packets processed.
        """
        self._ensure_open()
        cdef _Dispatch ctx = self._context(_KIND_COUNT if callback is None else _KIND_CALLBACK,
                                           callback, args)
        while cnt <= 0 or ctx.count < cnt:
            if self._dispatch(ctx, cnt - <int>ctx.count if cnt > 0 else -1, 0, True) == -2:
                break
            PyErr_CheckSignals()
        return ctx.count

    def readpkts(self, int cnt=-1):
        """readpkts(cnt=-1) -> list of (timestamp, packet)

        The packets of one dispatch(cnt): on a savefile every remaining packet
        (or the next ``cnt``), on a live handle those of one buffer, waiting
        for the first as dispatch() does.  Returns [] at the end of a
        savefile, after ``timeout_ms`` with no packet, or at once on a
        nonblocking handle with nothing pending.
        """
        self._ensure_open()
        cdef _Dispatch ctx = self._context(_KIND_LIST, None, ())
        self._collect(ctx, cnt)
        return ctx.out

    cdef int _collect(self, _Dispatch ctx, int cnt) except -1:
        """dispatch(cnt) into ctx.out, for readpkts() and readbatch().  The
        packets read before a damaged record are returned first; its error
        is raised by the next read."""
        ctx.out = []
        try:
            self._dispatch(ctx, cnt, self._deadline(), not self._nonblock)
        except PcapError as e:
            if not ctx.out:
                raise
            self._pending = e
        return 0

    def readbatch(self, int cnt=1024):
        """readbatch(cnt=1024) -> (timestamps, packets)

        Up to ``cnt`` packets in two columns, for bulk work: ``timestamps`` is
        an ``array.array`` of float seconds (typecode 'd'), or of int
        nanoseconds (typecode 'q') with ``timestamp_in_ns``; ``packets`` is a
        list of ``bytes``.  Reads what readpkts(cnt) would, without making a
        tuple and a timestamp object for every packet.  Both are empty at the
        end of a savefile, after ``timeout_ms`` with no packet, or at once on a
        nonblocking handle with nothing pending.
        """
        self._ensure_open()
        cdef _Dispatch ctx = self._context(_KIND_BATCH, None, ())
        ctx.stamps = bytearray()
        self._collect(ctx, cnt)
        # (array is imported here: importing it costs 0.7 MiB of memory.)
        from array import array
        stamps = array("q" if self._ns else "d")
        stamps.frombytes(ctx.stamps)
        return stamps, ctx.out

    def breakloop(self):
        """breakloop()

        Make the running loop() or dispatch() return and the running
        iteration end, within a fraction of a second.  Safe to call from
        another thread, a signal handler or a callback.  When nothing is
        running, the next read returns at once instead.  Raises ValueError
        on a closed handle.
        """
        self._ensure_open()
        self._break = True
        wake = self._wake
        if wake is not None:
            wake()

    # -- asyncio -------------------------------------------------------------

    def __aiter__(self):
        self._ensure_open()
        return _async_packets(self)

    cdef object _poll_packet(self):
        """The next packet without waiting: None when none is pending, False
        at the end of a savefile or after breakloop()."""
        cdef lp.pcap_pkthdr *hdr
        cdef const unsigned char *data
        cdef int rc
        if not self._live:
            item = self._file_packet()
            return False if item is None else item
        rc = self._next(&hdr, &data, False)
        if rc == 1:
            return (self._timestamp(hdr), PyBytes_FromStringAndSize(<const char *>data, hdr.caplen))
        if rc == 0:
            return None
        return False

    # -- settings ------------------------------------------------------------

    @property
    def name(self):
        """The interface name or savefile path, as given (str)."""
        return self._name

    @property
    def snaplen(self):
        """Bytes kept of each packet."""
        self._ensure_open()
        return lp.pcap_snapshot(self._p)

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
        return self._closed

    @property
    def fd(self):
        """The selectable file descriptor (see fileno())."""
        return self.fileno()

    @property
    def precision(self):
        """PCAP_TSTAMP_PRECISION_MICRO or PCAP_TSTAMP_PRECISION_NANO."""
        return self._precision

    @property
    def timestamp_in_ns(self):
        """True when timestamps are int nanoseconds, False for float seconds."""
        return self._ns

    @property
    def timeout_ms(self):
        """The timeout of dispatch() and readpkts() in milliseconds, 0 for none."""
        return self._timeout_ms

    def fileno(self):
        """fileno() -> int

        The descriptor to watch with select, selectors or asyncio's
        add_reader: it is readable when packets are waiting.
        """
        self._ensure_open()
        return lp.pcap_get_selectable_fd(self._p)

    def close(self):
        """close()

        Release the handle.  Every later call raises ValueError; closing twice
        does nothing.
        """
        self._closed = True
        self._finish_close()

    def __enter__(self):
        self._ensure_open()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __repr__(self):
        kind = "live" if self._live else "savefile"
        state = "closed " if self._closed else ""
        return f"<{state}pcap.pcap {kind} {self._name!r}>"

    def setfilter(self, expr, optimize=1):
        """setfilter(expr, optimize=1)

        Compile the filter expression ``expr`` (str or bytes) and apply it.
        Raises PcapError with libpcap's message when it does not compile;
        the filter in place stays.
        """
        cdef bytes bexpr = _encode_filter(expr)
        cdef lp.bpf_program prog
        self._ensure_open()
        self._check(lp.pcap_compile(self._p, &prog, bexpr, 1 if optimize else 0,
                                    lp.PCAP_NETMASK_UNKNOWN), f"compile filter {expr!r}")
        try:
            self._check(lp.pcap_setfilter(self._p, &prog), f"set filter {expr!r}")
        except BaseException:
            lp.pcap_freecode(&prog)
            raise
        if self._reader.buf != NULL:
            # Our savefile reader applies the program itself.
            if self._prog_set:
                lp.pcap_freecode(&self._prog)
            self._prog = prog
            self._prog_set = True
        else:
            lp.pcap_freecode(&prog)
        self._filter = bexpr.decode("utf-8", "replace")

    def setdirection(self, int direction):
        """setdirection(direction) -> bool

        Capture only packets received (PCAP_D_IN), sent (PCAP_D_OUT) or both
        (PCAP_D_INOUT).  Returns False when the handle cannot do it (a
        savefile, or a platform without support).
        """
        if direction not in (lp.PCAP_D_INOUT, lp.PCAP_D_IN, lp.PCAP_D_OUT):
            raise ValueError(f"direction must be PCAP_D_INOUT, PCAP_D_IN or PCAP_D_OUT, not {direction}")
        self._ensure_open()
        return lp.pcap_setdirection(self._p, <lp.pcap_direction_t>direction) == 0

    def setnonblock(self, nonblock=True):
        """setnonblock(nonblock=True)

        In nonblocking mode, reads never wait: next() and iteration stop with
        StopIteration, readpkts() returns [] and dispatch() returns 0 when no
        packet is pending.
        """
        # A live handle is always nonblocking inside libpcap (see _wait), and a
        # savefile never waits: the mode is ours to keep.
        self._ensure_open()
        self._nonblock = bool(nonblock)

    def getnonblock(self):
        """getnonblock() -> bool: whether the handle is in nonblocking mode."""
        self._ensure_open()
        return self._nonblock

    def datalink(self):
        """datalink() -> int: the link type, one of the DLT_ constants."""
        self._ensure_open()
        return lp.pcap_datalink(self._p)

    def datalinks(self):
        """datalinks() -> list of int: the link types the handle can use."""
        cdef int *dlts = NULL
        cdef int n, i
        self._ensure_open()
        n = self._check(lp.pcap_list_datalinks(self._p, &dlts), "list link types")
        try:
            return [dlts[i] for i in range(n)]
        finally:
            lp.pcap_free_datalinks(dlts)

    def setdatalink(self, int dlt):
        """setdatalink(dlt): switch the handle to link type ``dlt``."""
        self._ensure_open()
        self._check(lp.pcap_set_datalink(self._p, dlt), f"set link type {dlt}")
        self._dloff = dltoff.get(dlt, 0)

    def sendpacket(self, buf):
        """sendpacket(buf) -> int

        Send the raw packet ``buf`` (any bytes-like object, link-layer header
        included) on the interface and return its length.
        """
        cdef Py_buffer view
        cdef int rc
        self._ensure_open()
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
        try:
            if view.len > 0x7fffffff:
                raise ValueError("packet too large")
            rc = lp.pcap_sendpacket(self._p, <const unsigned char *>view.buf, <int>view.len)
            self._check(rc, "send packet")
            return view.len
        finally:
            PyBuffer_Release(&view)

    def geterr(self):
        """geterr() -> str: libpcap's last error message for this handle."""
        self._ensure_open()
        return _text(lp.pcap_geterr(self._p))

    def stats(self):
        """stats() -> Stats(received, dropped, ifdropped)

        libpcap's counters for a live handle; unpacks as a 3-tuple.  Raises
        PcapError on a savefile, which has none.
        """
        cdef lp.pcap_stat st
        self._ensure_open()
        self._check(lp.pcap_stats(self._p, &st), "stats")
        return _stats_type()(st.ps_recv, st.ps_drop, st.ps_ifdrop)

    def dump_open(self, path, append=False):
        """dump_open(path, append=False) -> dumper

        A savefile writer with this handle's link type, snaplen and timestamp
        unit, and the precision the packets came with (a microsecond savefile
        is copied as one), so that ``for ts, buf in p: d.write(ts, buf)``
        copies a capture exactly.
        """
        self._ensure_open()
        return dumper(path, lp.pcap_datalink(self._p), lp.pcap_snapshot(self._p),
                      nano=self._write_precision == lp.PCAP_TSTAMP_PRECISION_NANO,
                      append=append, timestamp_in_ns=self._ns)


async def _async_packets(pcap handle):
    """The packets of ``handle`` for ``async for``: never blocks the loop."""
    import asyncio as _asyncio     # here, not at the top: importing asyncio costs ~20 ms
    loop = _asyncio.get_running_loop()
    n = 0
    if not handle._live:
        while True:
            pkt = handle._poll_packet()
            if pkt is False:
                return
            yield pkt
            n += 1
            if n % 1024 == 0:
                await _asyncio.sleep(0)    # let other tasks run during a long file
    fd = handle.fileno()
    while True:
        pkt = handle._poll_packet()
        if pkt is False:
            return
        if pkt is not None:
            yield pkt
            continue
        ready = loop.create_future()
        def wake(ready=ready):
            if not ready.done():
                ready.set_result(None)
        def wake_threadsafe(wake=wake):
            loop.call_soon_threadsafe(wake)
        loop.add_reader(fd, wake)
        handle._wake = wake_threadsafe
        try:
            await ready
        finally:
            handle._wake = None
            loop.remove_reader(fd)


# --------------------------------------------------------------------------
# Writing savefiles.

cdef class dumper:
    """dumper(path, dlt=DLT_EN10MB, snaplen=65535, nano=False, append=False, timestamp_in_ns=False)

    A classic pcap savefile opened for writing (``pcap_dump_open``), or for
    appending to an existing one with ``append=True``.  ``nano=True`` writes
    nanosecond timestamps.  ``write(ts, buf)`` takes ``ts`` as seconds (int or
    float), or int nanoseconds when ``timestamp_in_ns`` is true.  Raises
    PcapError (an OSError) naming the path when it cannot be opened.
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

    def __init__(self, path, int dlt=DLT_EN10MB, int snaplen=65535, nano=False, append=False,
                 timestamp_in_ns=False):
        cdef bytes bpath = _encode_name(path, "path")
        if self._d != NULL:
            raise RuntimeError("dumper is already open")
        if snaplen <= 0:
            raise ValueError(f"snaplen must be positive, not {snaplen}")
        self._path = _os.fsdecode(bpath)
        self._snaplen = snaplen
        self._dlt = dlt
        self._nano = bool(nano)
        self._timestamp_in_ns = bool(timestamp_in_ns)
        self._dead = lp.pcap_open_dead_with_tstamp_precision(
            dlt, snaplen, lp.PCAP_TSTAMP_PRECISION_NANO if nano else lp.PCAP_TSTAMP_PRECISION_MICRO)
        if self._dead == NULL:
            raise PcapError(f"dumper: cannot make a handle for link type {dlt}")
        if append:
            self._d = lp.pcap_dump_open_append(self._dead, bpath)
        else:
            self._d = lp.pcap_dump_open(self._dead, bpath)
        if self._d == NULL:
            detail = _text(lp.pcap_geterr(self._dead))
            lp.pcap_close(self._dead)
            self._dead = NULL
            raise PcapError(f"cannot open {self._path!r} for writing: {detail}")

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
        if ferror(pcap_dump_file(self._d)):
            raise PcapError(f"{what} {self._path!r}: {strerror(errno).decode()}")
        return 0

    @classmethod
    def __class_getitem__(cls, item):
        return _types.GenericAlias(cls, item)

    def write(self, ts, buf, wirelen=None):
        """write(ts, buf, wirelen=None)

        Append one packet: ``buf`` (any bytes-like object) cut to the
        snaplen, with original length ``wirelen`` (default ``len(buf)``).
        """
        cdef lp.pcap_pkthdr hdr
        cdef Py_buffer view
        cdef long long sec, frac
        self._ensure_open()
        if self._timestamp_in_ns:
            if not isinstance(ts, int):
                raise TypeError(f"this dumper takes int nanoseconds, not {type(ts).__name__}")
            sec, frac = divmod(ts, 1000000000)
            if not self._nano:
                frac //= 1000
        else:
            sec, frac = _split_seconds(ts, 1000000000 if self._nano else 1000000)
        if sec < 0 or sec > 0xffffffff:
            raise ValueError(f"timestamp out of the range of a savefile (1970 to 2106): {ts!r}")
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
        try:
            hdr.ts.tv_sec = sec
            hdr.ts.tv_usec = frac
            hdr.caplen = <lp.bpf_u_int32>min(view.len, self._snaplen)
            if wirelen is None:
                hdr.len = <lp.bpf_u_int32>view.len
            else:
                if wirelen < view.len or wirelen > 0xffffffff:
                    raise ValueError(f"wirelen {wirelen} is less than the {view.len} bytes given")
                hdr.len = <lp.bpf_u_int32>wirelen
            lp.pcap_dump(<unsigned char *>self._d, &hdr, <const unsigned char *>view.buf)
        finally:
            PyBuffer_Release(&view)
        self._check_stream("writing")

    def flush(self):
        """flush(): make what was written readable by other processes."""
        self._ensure_open()
        if lp.pcap_dump_flush(self._d) < 0:
            raise PcapError(f"flushing {self._path!r}: {strerror(errno).decode()}")

    def close(self):
        """close(): flush and close the file; closing twice does nothing."""
        cdef int failed = 0
        if self._d != NULL:
            failed = lp.pcap_dump_flush(self._d) < 0
            lp.pcap_dump_close(self._d)
            self._d = NULL
            lp.pcap_close(self._dead)
            self._dead = NULL
            if failed:
                raise PcapError(f"writing {self._path!r}: {strerror(errno).decode()}")

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
    if isinstance(ts, int):
        return ts, 0
    t = float(ts)
    sec = <long long>(t // 1)
    frac = <long long>round((t - sec) * units)
    if frac >= units:
        sec += 1
        frac -= units
    return sec, frac
