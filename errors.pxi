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


cdef object _too_long(str what, size_t caplen, size_t room=0):
    """A packet longer than the snapshot length (only a libpcap that breaks
    its own limit gives one), or than all of a batch's data buffer (``room``
    bytes; a pcapng interface may have a larger snapshot length than the
    first): never cut or dropped in silence."""
    size = f"a packet of {caplen} bytes" if caplen else "a packet"
    if room and caplen > room:
        return _pcap_error(lp.PCAP_ERROR, f"reading {what}", f"{size} does not fit in the batch's {room} bytes "
                           f"of data: an interface of the file has a larger snapshot length than the first; "
                           f"give the batch more data room")
    return _pcap_error(lp.PCAP_ERROR, f"reading {what}", f"libpcap gave {size}, longer than the snapshot length")


cdef object _os_error(int err, str what, object filename):
    """The exception for errno ``err`` while doing ``what`` on ``filename``."""
    if err == 0:
        err = _errno.EIO    # a failure whose call left no errno: never say "Success"
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
