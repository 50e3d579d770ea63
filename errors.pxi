# --------------------------------------------------------------------------
# Errors: every failure reaches Python through _pcap_error() (a libpcap
# status code and libpcap's words) or _os_error() (an errno and a path).

class PcapError(OSError):
    """Root of the errors raised by this module; a subclass of ``OSError``.

    ``errno`` and ``filename`` are set where they are known, as on any
    ``OSError``; ``str(e)`` says what was being done, on what, in libpcap's
    own words.
    """

    def __str__(self):
        # OSError would print "[Errno N] strerror: filename" once errno and
        # filename are set; the message already says all of that.
        return str(self.args[0]) if self.args else ""


class PcapPermissionError(PcapError, PermissionError):
    """Capture needs a privilege this process does not have, or a savefile
    cannot be read."""


class PcapNotFoundError(PcapError, FileNotFoundError):
    """No savefile and no capture device has the name that was given."""


class PcapIsADirectoryError(PcapError, IsADirectoryError):
    """A directory was given where a savefile goes."""


cdef str _text(const char *s):
    if s == NULL:
        return ""
    return (<bytes>s).decode("utf-8", "replace")


cdef object _with_details(object e, object err, str strerror, object filename):
    e.errno = err
    e.strerror = strerror
    e.filename = filename
    return e


cdef int _get_buffer(object obj, Py_buffer *view, int flags, str name) except -1:
    """PyObject_GetBuffer, with errors that name the argument."""
    try:
        PyObject_GetBuffer(obj, view, flags)
    except TypeError:
        raise TypeError(f"{name} must be a bytes-like object, not {type(obj).__name__}") from None
    except BufferError:
        if flags & PyBUF_WRITABLE:
            raise TypeError(f"{name} must be a writable buffer (bytearray, mmap, a numpy array...), "
                            f"not a read-only {type(obj).__name__}") from None
        raise
    return 0


cdef str _PERM_TEXT = _os.strerror(_errno.EPERM)
cdef str _ACCES_TEXT = _os.strerror(_errno.EACCES)


cdef object _pcap_error(int rc, str what, str detail, object filename=None):
    """The exception for libpcap status ``rc`` while doing ``what``;
    ``detail`` is libpcap's text (pcap_geterr or an errbuf)."""
    cdef object err = None
    if not detail:
        detail = _text(lp.pcap_statustostr(rc))
    if rc == lp.PCAP_ERROR_PERM_DENIED or rc == lp.PCAP_ERROR_PROMISC_PERM_DENIED:
        err = _errno.EPERM
    elif rc == lp.PCAP_ERROR and detail.endswith((_PERM_TEXT, _ACCES_TEXT)):
        # A missing privilege that libpcap reports only in its text (nflog,
        # dbus, usbmon...).
        err = _errno.EPERM if detail.endswith(_PERM_TEXT) else _errno.EACCES
    if err is not None:
        return _with_details(PcapPermissionError(
            f"{what}: {detail} (capture needs root or CAP_NET_RAW, and "
            f"CAP_NET_ADMIN for promiscuous mode)"), err, detail, filename)
    if rc == lp.PCAP_ERROR_NO_SUCH_DEVICE:
        return _with_details(PcapNotFoundError(f"{what}: {detail}"), _errno.ENODEV, detail, filename)
    return _with_details(PcapError(f"{what}: {detail}"), None, detail, filename)


cdef int _check(lp.pcap_t *p, int rc, str action, object filename=None, const char *errbuf=NULL) except -1:
    """``rc``, a libpcap status code, when it is not a failure; else raise
    the exception for it while doing ``action``, in the words of errbuf or,
    without one, of pcap_geterr(p).  Warnings (positive codes) pass."""
    if rc >= 0:
        return rc
    raise _pcap_error(rc, action, _text(errbuf if errbuf != NULL else lp.pcap_geterr(p)), filename)


cdef object _too_long(str what, size_t caplen):
    """A packet longer than the snapshot length (only a libpcap that breaks
    its own limit gives one): never cut or dropped in silence."""
    size = f"a packet of {caplen} bytes" if caplen else "a packet"
    return _pcap_error(lp.PCAP_ERROR, f"reading {what}", f"libpcap gave {size}, longer than the snapshot length")


cdef object _os_error(int err, str what, object filename):
    """The exception for errno ``err`` while doing ``what`` on ``filename``."""
    cdef str strerror = _os.strerror(err)
    if err == _errno.EACCES or err == _errno.EPERM:
        cls = PcapPermissionError
    elif err == _errno.ENOENT:
        cls = PcapNotFoundError
    elif err == _errno.EISDIR:
        cls = PcapIsADirectoryError
    else:
        cls = PcapError
    return _with_details(cls(f"{what}: {strerror}"), err, strerror, filename)


cdef bytes _encode_name(object name, str what):
    """str, bytes or os.PathLike -> bytes with no NUL."""
    cdef bytes b
    try:
        b = _os.fsencode(name)
    except TypeError:
        raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type(name).__name__}") from None
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



# -- numeric arguments ---------------------------------------------------------
# One rule for every numeric argument: an int (or an object with __index__)
# within the argument's range, or TypeError / ValueError naming the argument
# and the range.  Nothing is clamped or wrapped silently.

cdef enum:
    C_INT_MAX = 2147483647
    MAXIMUM_SNAPLEN = 262144      # libpcap's largest snaplen (pcap-int.h)


cdef long long _int_arg(object value, str name, long long lo, long long hi,
                        str meaning=None) except? -1:
    """``value`` as a C integer in lo..hi; ``meaning`` is added to the range
    in the message ('0: no limit')."""
    cdef int overflow = 0
    cdef long long v
    if not PyIndex_Check(value):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    v = PyLong_AsLongLongAndOverflow(PyNumber_Index(value), &overflow)
    if overflow != 0 or v < lo or v > hi:
        too_small = overflow < 0 or (overflow == 0 and v < lo)
        limits = f"{lo} or more" if too_small and hi >= C_INT_MAX else f"{lo} to {hi}"
        if meaning:
            limits += f" ({meaning})"
        raise ValueError(f"{name} must be {limits}, not {value!r}")
    return v


cdef int _cnt_arg(object cnt) except? -2:
    """A packet count for dispatch() and the like: 0 or less is no limit."""
    if type(cnt) is int and -1 <= <object>cnt <= C_INT_MAX:
        return <int>cnt               # the common case, with no further call
    if not PyIndex_Check(cnt):
        raise TypeError(f"cnt must be an int, not {type(cnt).__name__}")
    cnt = PyNumber_Index(cnt)
    if cnt < 0:
        return -1
    if cnt <= C_INT_MAX:
        return <int>cnt
    raise ValueError(f"cnt must be at most {C_INT_MAX} (0 or less: no limit), not {cnt!r}")
