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


cdef object _pcap_error(int rc, str what, str detail, object filename=None):
    """The exception for libpcap status ``rc`` while doing ``what``;
    ``detail`` is libpcap's text (pcap_geterr or an errbuf)."""
    if not detail:
        detail = _text(lp.pcap_statustostr(rc))
    if rc == lp.PCAP_ERROR_PERM_DENIED or rc == lp.PCAP_ERROR_PROMISC_PERM_DENIED:
        return _with_details(PcapPermissionError(
            f"{what}: {detail} (capture needs root or CAP_NET_RAW, and "
            f"CAP_NET_ADMIN for promiscuous mode)"), _errno.EPERM, detail, filename)
    if rc == lp.PCAP_ERROR_NO_SUCH_DEVICE:
        return _with_details(PcapNotFoundError(f"{what}: {detail}"), _errno.ENODEV, detail, filename)
    return _with_details(PcapError(f"{what}: {detail}"), None, detail, filename)


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
