# --------------------------------------------------------------------------
# What a pcapng file says of its interfaces and packets, in Python.
#
# The reader (pcapng_reader.c) keeps a copy of each interface's description
# block and of its last statistics block, and the place of the packet last
# read; their options are read here, in Python, only when asked for, so that
# iterating costs nothing more.

import struct as _struct
from sys import byteorder as _sys_byteorder

# Option codes (pcapng specification, section 4).
cdef enum:
    _OPT_COMMENT = 1
    _IF_NAME = 2
    _IF_DESCRIPTION = 3
    _IF_SPEED = 8
    _IF_TSRESOL = 9
    _IF_FILTER = 11
    _IF_OS = 12
    _IF_FCSLEN = 13
    _IF_TSOFFSET = 14
    _IF_HARDWARE = 15
    _EPB_FLAGS = 2
    _EPB_DROPCOUNT = 4
    _EPB_PACKETID = 5
    _ISB_STARTTIME = 2
    _ISB_ENDTIME = 3
    _ISB_IFRECV = 4
    _ISB_IFDROP = 5
    _ISB_FILTERACCEPT = 6
    _ISB_OSDROP = 7
    _ISB_USRDELIV = 8

# pcapng packet flags (epb_flags): the direction in the low two bits.
PACKET_INBOUND = 1
PACKET_OUTBOUND = 2


def _block_options(bytes block, Py_ssize_t start, bint swapped):
    """[(code, value bytes)] of the options of ``block`` from ``start`` to
    its trailer; an option cut short ends the list."""
    cdef Py_ssize_t at = start, end = len(block) - 4
    order = ">" if (swapped != (_sys_byteorder == "big")) else "<"
    out = []
    while at + 4 <= end:
        code, length = _struct.unpack_from(order + "HH", block, at)
        if code == 0 or at + 4 + length > end:
            break
        out.append((code, block[at + 4:at + 4 + length]))
        at += 4 + length + (-length % 4)
    return out, order


cdef str _opt_text(bytes value):
    # Up to the first NUL, as Wireshark reads it: writers that pad a string
    # option with a NUL have been seen to leave garbage after it.
    return value.split(b"\0", 1)[0].decode("utf-8", "replace")


class interface_description:
    """One interface of a savefile, as its pcapng Interface Description
    Block says (a classic pcap file has one, from its header; a live handle
    one, its device).

    ``index`` is the interface id packets carry (``pcap.interface_id``,
    the ``interface_id`` of batch records and Arrow); ``section`` the pcapng
    section it belongs to (0 for the first).  ``linktype`` is the DLT_
    value, ``snaplen`` the snapshot length, ``tsresol`` the time stamp units
    a second and ``tsoffset`` the seconds added to every time stamp.  The
    text options (``name``, ``description``, ``filter``, ``os``,
    ``hardware``) are None when the file does not say; ``fcslen`` and
    ``speed`` likewise; ``comments`` is a list.  ``statistics`` is None
    until an Interface Statistics Block for the interface has been read,
    then a dict of what it says: ``received``, ``dropped_by_interface``,
    ``accepted_by_filter``, ``dropped_by_os``, ``delivered``, and
    ``start``/``end`` time stamps in nanoseconds, each present only when
    the block has it.
    """
    __slots__ = ("index", "section", "linktype", "snaplen", "tsresol", "tsoffset", "name", "description",
                 "filter", "os", "hardware", "fcslen", "speed", "comments", "statistics")

    def __init__(self, index, linktype, snaplen, section=0, tsresol=1000000, tsoffset=0, name=None,
                 description=None, filter=None, os=None, hardware=None, fcslen=None, speed=None,
                 comments=(), statistics=None):
        self.index, self.section, self.linktype, self.snaplen = index, section, linktype, snaplen
        self.tsresol, self.tsoffset, self.name, self.description = tsresol, tsoffset, name, description
        self.filter, self.os, self.hardware, self.fcslen = filter, os, hardware, fcslen
        self.speed, self.comments, self.statistics = speed, list(comments), statistics

    @property
    def linktype_name(self):
        """The link type's name without ``DLT_`` (``EN10MB``), or None."""
        return _dlt_short_name(self.linktype)

    def __repr__(self):
        said = [f"{k}={getattr(self, k)!r}" for k in ("name", "description", "os", "hardware", "filter")
                if getattr(self, k) is not None]
        return (f"<pcap.interface_description {self.index} linktype={self.linktype} ({self.linktype_name}) "
                f"snaplen={self.snaplen}{' ' if said else ''}{' '.join(said)}>")

    def __eq__(self, other):
        if not isinstance(other, interface_description):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None


cdef object _dlt_short_name(int dlt):
    cdef const char *n = lp.pcap_datalink_val_to_name(dlt)
    return None if n == NULL else _text(n)


cdef object _describe(const pcapng_interface *i, unsigned int index, unsigned int section, bint swapped):
    """The interface_description of interface ``i`` of the reader."""
    idb = PyBytes_FromStringAndSize(<const char *>i.idb, i.idb_len)
    options, order = _block_options(idb, 16, swapped)
    d = interface_description(index, i.dlt, i.snaplen, section, i.tsresol, i.tsoffset)
    for code, value in options:
        if code == _OPT_COMMENT:
            d.comments.append(_opt_text(value))
        elif code == _IF_NAME and d.name is None:
            d.name = _opt_text(value)
        elif code == _IF_DESCRIPTION and d.description is None:
            d.description = _opt_text(value)
        elif code == _IF_FILTER and d.filter is None and len(value) >= 1:
            d.filter = _opt_text(value[1:])     # (a first byte of 0: libpcap's filter string)
        elif code == _IF_OS and d.os is None:
            d.os = _opt_text(value)
        elif code == _IF_HARDWARE and d.hardware is None:
            d.hardware = _opt_text(value)
        elif code == _IF_FCSLEN and d.fcslen is None and len(value) == 1:
            d.fcslen = value[0]
        elif code == _IF_SPEED and d.speed is None and len(value) == 8:
            d.speed = _struct.unpack(order + "Q", value)[0]
    if i.isb != NULL:
        d.statistics = _statistics(PyBytes_FromStringAndSize(<const char *>i.isb, i.isb_len), i, swapped)
    return d


cdef dict _statistics(bytes isb, const pcapng_interface *i, bint swapped):
    options, order = _block_options(isb, 20, swapped)
    names = {_ISB_IFRECV: "received", _ISB_IFDROP: "dropped_by_interface",
             _ISB_FILTERACCEPT: "accepted_by_filter", _ISB_OSDROP: "dropped_by_os", _ISB_USRDELIV: "delivered"}
    out = {}
    for code, value in options:
        if len(value) != 8:
            continue
        v = _struct.unpack(order + "Q", value)[0]
        if code in names:
            out.setdefault(names[code], v)
        elif code in (_ISB_STARTTIME, _ISB_ENDTIME):
            hi, lo = _struct.unpack(order + "II", value)    # high word first, as in packet blocks
            t = hi << 32 | lo
            out.setdefault("start" if code == _ISB_STARTTIME else "end",
                           (t // i.tsresol + i.tsoffset) * 1000000000 + t % i.tsresol * 1000000000 // i.tsresol)
    return out


cdef list _pcapng_interfaces(pcapng_reader *r):
    return [_describe(&r.iface[k], k, r.section - 1 if r.section else 0, r.swapped) for k in range(r.count)]


cdef dict _pcapng_packet_options(pcapng_reader *r):
    """{code: [values]} of the options of the packet last read."""
    out = {}
    if r.packet_type == 0:
        return out
    block = PyBytes_FromStringAndSize(<const char *>r.packet_block, r.packet_len)
    options, order = _block_options(block, r.packet_options, r.swapped)
    for code, value in options:
        out.setdefault(code, []).append(value)
    if r.packet_type == BT_PB:
        drops = _struct.unpack_from(order + "H", block, 10)[0]
        if drops != 0xFFFF:
            out.setdefault(-_EPB_DROPCOUNT, [drops])
    out["order"] = order
    return out


cdef list _linktypes(list interfaces):
    """The link types of ``interfaces``, each once, in order of appearance."""
    out = []
    for i in interfaces:
        if i.linktype not in out:
            out.append(i.linktype)
    return out
