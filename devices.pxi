# --------------------------------------------------------------------------
# Module-level functions.

def findalldevs(source=None, *, auth=None):
    """findalldevs(source=None, *, auth=None) -> list of str

    Names of the capture devices libpcap can open (``pcap_findalldevs``).
    Raises PcapError when libpcap cannot list them.  With ``source``, an
    ``rpcap://host:port/`` URL, the devices of rpcapd on that host, as the
    rpcap:// URLs that ``pcap(name, auth=auth)`` opens (see interfaces()).
    """
    return [dev.name for dev in interfaces(source, auth=auth)]


def lookupdev():
    """lookupdev() -> str

    The first capture device that is up and is not a loopback interface, in
    the order of ``pcap_findalldevs``: on Linux ``any`` when only loopback
    interfaces are up, as C's pcap_lookupdev() returns.  Raises PcapError when
    there is none.
    """
    for dev in interfaces():
        if dev.is_up and not dev.is_loopback:
            return dev.name
    raise _pcap_error(lp.PCAP_ERROR, "lookupdev", "no capture device is up apart from loopback")


def lookupnet(dev):
    """lookupnet(dev) -> tuple

    ``(net, mask)``: the IPv4 network number and netmask of device ``dev``
    (str, bytes or os.PathLike), each as 4 bytes in network byte order, as
    pypcap returns them: ``socket.inet_ntoa(net)`` prints one.  Both are
    0.0.0.0 for every device ``findalldevs()`` lists that is not a network
    interface (any, nflog, dbus-system, bluetooth-monitor...): such a device
    has no address to look up.  Raises PcapError with libpcap's message for
    a network interface with no IPv4 address, PcapNotFoundError (errno
    ENODEV) for a name that is no device.
    """
    cdef bytes bdev = _encode_name(dev, "device name")
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef lp.bpf_u_int32 net = 0, mask = 0
    errbuf[0] = 0
    cdef int rc = lp.pcap_lookupnet(bdev, &net, &mask, errbuf)
    name = _os.fsdecode(bdev)
    if rc != 0 and not is_interface_name(bdev):
        # libpcap answers 0.0.0.0 itself for any, bluetooth and usbmon
        # only; its other devices (nflog, nfqueue, dbus...) get
        # SIOCGIFADDR's "No such device".
        if name not in findalldevs():
            raise _pcap_error(lp.PCAP_ERROR_NO_SUCH_DEVICE, f"lookupnet {name!r}", _text(errbuf))
        rc = net = mask = 0
    _check(NULL, rc, f"lookupnet {name!r}", None, errbuf)
    return (PyBytes_FromStringAndSize(<char *>&net, 4),
            PyBytes_FromStringAndSize(<char *>&mask, 4))


def ex_name(name):
    """ex_name(name) -> name

    The device name as libpcap wants it: unchanged on this platform (pypcap
    translated names only on Windows).
    """
    return name


def datalink_name(dlt):
    """datalink_name(dlt) -> str

    The name of a link type, e.g. 'EN10MB'.

    Raises ValueError for a value libpcap does not know.
    """
    cdef const char *s = lp.pcap_datalink_val_to_name(_int_arg(dlt, "dlt", -C_INT_MAX - 1, C_INT_MAX))
    if s == NULL:
        raise ValueError(f"unknown link type {dlt}")
    return _text(s)


def datalink_description(dlt):
    """datalink_description(dlt) -> str

    A description such as 'Ethernet'.

    Raises ValueError for a value libpcap does not know.
    """
    cdef const char *s = lp.pcap_datalink_val_to_description(_int_arg(dlt, "dlt", -C_INT_MAX - 1, C_INT_MAX))
    if s == NULL:
        raise ValueError(f"unknown link type {dlt}")
    return _text(s)


def datalink_value(name):
    """datalink_value(name) -> int

    The DLT_ value of a link-type name.

    ``name`` is str, with or without the ``DLT_`` prefix, in any case.
    Raises ValueError for a name libpcap does not know.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be str, not {type(name).__name__}")
    cdef bytes b = name.encode("ascii", "replace")
    if b.upper().startswith(b"DLT_"):
        b = b[4:]
    cdef int v = lp.pcap_datalink_name_to_val(b)
    if v < 0:
        raise ValueError(f"unknown link-type name {name!r}")
    return v


def lib_version():
    """lib_version() -> str

    libpcap's version string.
    """
    return _text(lp.pcap_lib_version())


cdef object _tstamp_type_class = None

cdef object _tstamp_type_type():
    # Made on first use, as Stats is (handle.pxi).
    global _tstamp_type_class
    if _tstamp_type_class is None:
        from collections import namedtuple
        _tstamp_type_class = namedtuple("TstampType", "value name description", module="pcap")
        _tstamp_type_class.__doc__ = """A time stamp type from ``pcap.tstamp_types()``: its value (one of
the ``PCAP_TSTAMP_`` constants), its name ("host", "adapter"...) and
libpcap's description of it."""
    return _tstamp_type_class


def tstamp_types(device):
    """tstamp_types(device) -> list of TstampType

    The time stamp types the interface ``device`` (str, bytes or
    os.PathLike) offers, as libpcap lists them (pcap_list_tstamp_types):
    ``TstampType(value, name, description)``, ``value`` a PCAP_TSTAMP_*
    constant; any of them is a ``tstamp_type`` of ``pcap(device)``.  An
    interface without a choice offers host time stamps alone.  Needs no
    privilege.  Raises PcapNotFoundError (errno ENODEV) for a name that is
    no capture device.
    """
    cdef bytes bdev = _encode_name(device, "device name")
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    cdef lp.pcap_t *p
    name = _os.fsdecode(bdev)
    if not _is_device(bdev):
        raise _pcap_error(lp.PCAP_ERROR_NO_SUCH_DEVICE, f"list time stamp types of {name!r}",
                          "no capture device of that name")
    errbuf[0] = 0
    p = lp.pcap_create(bdev, errbuf)
    if p == NULL:
        raise _pcap_error(lp.PCAP_ERROR, f"list time stamp types of {name!r}", _text(errbuf))
    try:
        offers = _tstamp_offers(p, name)
    finally:
        lp.pcap_close(p)
    kind = _tstamp_type_type()
    return [kind(t, _tstamp_name(t), _text(lp.pcap_tstamp_type_val_to_description(t))) for t in offers]


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


def interfaces(source=None, *, auth=None):
    """interfaces(source=None, *, auth=None) -> list of interface

    Every capture device with its description, addresses and flags, from
    ``pcap_findalldevs``.  Raises PcapError when libpcap cannot list them.
    With ``source``, an ``rpcap://host:port/`` URL, those of rpcapd on that
    host (``pcap_findalldevs_ex``), authenticated with ``auth`` (a
    (username, password) pair; None: null authentication), each named by
    the URL that ``pcap(name)`` opens; PcapError, naming the cause, when
    the host cannot be reached or refuses, or when this module's libpcap
    has no remote capture (see REMOTE_CAPTURE and docs/remote-capture.md).
    """
    cdef lp.pcap_if_t *devs = NULL
    cdef char errbuf[lp.PCAP_ERRBUF_SIZE]
    if source is not None:
        return _remote_interfaces(source, auth)
    errbuf[0] = 0
    _check(NULL, lp.pcap_findalldevs(&devs, errbuf), "findalldevs", None, errbuf)
    try:
        return _interface_objects(devs)
    finally:
        lp.pcap_freealldevs(devs)


cdef list _interface_objects(lp.pcap_if_t *devs):
    """The interface objects of libpcap's list."""
    cdef lp.pcap_if_t *d
    cdef lp.pcap_addr *a
    cdef int fam
    from socket import AddressFamily   # here: importing socket costs 1 MiB of memory
    result = []
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
    return result


