# cython: language_level=3, auto_pickle=False
"""Packet capture with libpcap: a drop-in for pypcap 1.3.

Open a live interface or a savefile with ``pcap.pcap(name)``, iterate over it
for ``(timestamp, packet)`` pairs, filter with BPF, write savefiles with
``pcap.dumper``.  Every wait for packets releases the GIL and keeps Python's
signal handlers in charge, so Ctrl-C always works.
"""

# The module, one file a concern:
#   dlt_names.h    the DLT_* link-type names (tools/gen_dlt.py)
#   errors.pxi     the exceptions, and the two helpers every failure goes through
#   arguments.pxi  checks of what callers pass: names, filters, buffers, numbers, flags
#   devices.pxi    interfaces, lookupdev/lookupnet, link-type names
#   bpf.pxi        BPF programs compiled without a handle
#   triage.pxi     Triage: packets kept or dropped in C by prefixes, ports, flow heads
#   pcapng.pxi     what pcapng says of interfaces and packets, in Python
#   sources.pxi    where packets come from: live, our readers (classic, pcapng), libpcap's
#   fileobj.pxi    opening savefiles: paths, compressed files, Python file objects, ranges
#   multi_source.pxi  several interfaces in one capture, several savefiles merged by time stamp
#   remote.pxi     remote capture: rpcap:// through rpcapd, where libpcap has it
#   turn.pxi       the read turn (a handle's only guard) and the one wait
#   delivery.pxi   where packets go (sinks), and the one loop between the two
#   fields.pxi     header fields as columns: the numpy record, Arrow columns, the Community ID
#   handle.pxi     the pcap class: opening, the reads, settings
#   arrow.pxi      Arrow record batches and Parquet (with pyarrow)
#   aio.pxi        async for
#   dumper.pxi     writing savefiles: classic pcap and pcapng, to paths, compressors, file objects
#   replay.pxi     sending a source's packets onto an interface at its pace, a rate, or top speed
#   recorder.pxi   recording a source into files rotated by time, size or count
# C, declared to Cython in native.pxd:
#   savefile_format.h  the savefile formats' facts, and the one parser of a record header
#   pcap_stream.c      savefile bytes in our buffer, the FILE libpcap reads, the record reader
#   pcapng_reader.c    pcapng, read from that buffer: sections, interfaces, packets and their options
#   savefile_split.c   the byte ranges of a classic or pcapng savefile (savefile_ranges, open_range)
#   packet_batch.c     packets gathered without the GIL: batches, the live queue
#   packet_fields.c    header fields of a packet (link to transport) and its Community ID, parsed in the fill
#   triage.c           prefix tables (longest prefix match), port sets, the flow table, the keep-or-drop
#   platform.h         what differs by platform, decided once (and the simulated portable build)
#   wait.c             the bounded wait on a descriptor or (Windows) an event, the monotonic clock
#   multi_wait.c       one descriptor readable when any of several is (epoll), for multi_source.pxi
#   remote.c           libpcap's remote capture calls, or their refusal where it has none
#   netdev.c           interfaces: addresses as text, immediate mode's ring, fanout
#   files.c            opening a path for reading, errno
#   savefile_writer.c  classic pcap records and pcapng blocks, made whole in our buffer and written out
#   replay.c           the paced sending loop of replay.pxi (absolute deadlines on the monotonic clock)

import errno as _errno
import io as _io
import os as _os
import stat as _stat
import types as _types

cimport cython
cimport libpcap as lp
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport (PyByteArray_AS_STRING, PyByteArray_FromStringAndSize, PyByteArray_GET_SIZE,
                                 PyByteArray_Resize)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_DelItemString
from cpython.exc cimport PyErr_CheckSignals
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact, PyFloat_FromDouble
from cpython.list cimport PyList_Append, PyList_GET_ITEM
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact, PyLong_FromLongLong
from cpython.number cimport PyIndex_Check, PyNumber_Index
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_REFCNT
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.type cimport PyType_Modified
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.errno cimport errno
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdio cimport FILE, clearerr, fclose, ferror
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset
from native cimport *
from posix.unistd cimport close

# The DLT_* constants of the libpcap the module is built against: every
# name of libpcap 1.8.1 to 1.10.6 that its header defines, with its value.
cdef void _export_dlt_names(dict namespace):
    cdef size_t i
    for i in range(DLT_NAMES_COUNT):
        namespace[DLT_NAMES[i].name.decode("ascii")] = DLT_NAMES[i].value

_export_dlt_names(globals())

__version__ = "2.0.0"

# The platform the module was built for (platform.h), in the words its
# messages use; and whether it is the portable build simulated on Linux
# (PCAP_SIMULATE_PORTABLE), so that a test run can prove which branches it took.
_PLATFORM = PLATFORM_NAME.decode()
_SIMULATED_PLATFORM = bool(PLATFORM_SIMULATED)

PCAP_D_INOUT = lp.PCAP_D_INOUT
PCAP_D_IN = lp.PCAP_D_IN
PCAP_D_OUT = lp.PCAP_D_OUT
PCAP_TSTAMP_PRECISION_MICRO = lp.PCAP_TSTAMP_PRECISION_MICRO
PCAP_TSTAMP_PRECISION_NANO = lp.PCAP_TSTAMP_PRECISION_NANO
# Time stamp types, for pcap(name, tstamp_type=...) and tstamp_types()
# (HOST_HIPREC_UNSYNCED: libpcap 1.10's value, which an older one does not offer).
PCAP_TSTAMP_HOST = lp.PCAP_TSTAMP_HOST
PCAP_TSTAMP_HOST_LOWPREC = lp.PCAP_TSTAMP_HOST_LOWPREC
PCAP_TSTAMP_HOST_HIPREC = lp.PCAP_TSTAMP_HOST_HIPREC
PCAP_TSTAMP_ADAPTER = lp.PCAP_TSTAMP_ADAPTER
PCAP_TSTAMP_ADAPTER_UNSYNCED = lp.PCAP_TSTAMP_ADAPTER_UNSYNCED
PCAP_TSTAMP_HOST_HIPREC_UNSYNCED = TSTAMP_HOST_HIPREC_UNSYNCED

# Linux PACKET_FANOUT modes and flags, for pcap.set_fanout().
FANOUT_HASH = PACKET_FANOUT_HASH
FANOUT_LB = PACKET_FANOUT_LB
FANOUT_CPU = PACKET_FANOUT_CPU
FANOUT_ROLLOVER = PACKET_FANOUT_ROLLOVER
FANOUT_RND = PACKET_FANOUT_RND
FANOUT_QM = PACKET_FANOUT_QM
FANOUT_FLAG_ROLLOVER = PACKET_FANOUT_FLAG_ROLLOVER
FANOUT_FLAG_DEFRAG = PACKET_FANOUT_FLAG_DEFRAG

# The records of readinto() and next_batch(): one per packet, native byte
# order, no padding (struct.unpack_from(BATCH_RECORD_FORMAT, ...), or
# numpy.frombuffer(records, numpy.dtype(BATCH_RECORD_DTYPE))).
BATCH_RECORD_FORMAT = "=qIIQ"
BATCH_RECORD_SIZE = 24
BATCH_RECORD_DTYPE = [("timestamp_ns", "=i8"), ("caplen", "=u4"), ("wirelen", "=u4"), ("offset", "=u8")]
# The same with interfaces=True (readinto(), next_batch()): then the
# packet's interface (an index into pcap.interfaces), its pcapng flags and
# the length of its comments.
BATCH_RECORD_NG_FORMAT = "=qIIQIII4x"
BATCH_RECORD_NG_SIZE = 40
BATCH_RECORD_NG_DTYPE = BATCH_RECORD_DTYPE + [("interface_id", "=u4"), ("flags", "=u4"), ("comment_len", "=u4"),
                                              ("reserved", "=u4")]

# Length of the link-layer header for the link types pypcap knew about, by
# the values of this libpcap's header, and by pypcap 1.3's own values where
# they differ: its DLT_PFSYNC was 18 (OpenBSD's), libpcap's is 246 here.
dltoff = {lp.DLT_NULL: 4, lp.DLT_EN10MB: 14, lp.DLT_IEEE802: 22, lp.DLT_ARCNET: 6,
          lp.DLT_SLIP: 16, lp.DLT_PPP: 4, lp.DLT_FDDI: 21, lp.DLT_PFLOG: 48, lp.DLT_PFSYNC: 4,
          18: 4, lp.DLT_LOOP: 4, lp.DLT_RAW: 0, lp.DLT_LINUX_SLL: 16}

include "errors.pxi"
include "arguments.pxi"
include "devices.pxi"
include "bpf.pxi"
include "triage.pxi"
include "pcapng.pxi"
include "sources.pxi"
include "fileobj.pxi"
include "multi_source.pxi"
include "remote.pxi"
include "turn.pxi"
include "delivery.pxi"
include "fields.pxi"
include "handle.pxi"
include "arrow.pxi"
include "aio.pxi"
include "dumper.pxi"
include "replay.pxi"
include "recorder.pxi"

# help(pcap.pcap) lists what the type's dict holds, Cython's vtable capsule
# among it.  Only a module that cimports this one reads the capsule, and
# there is no pcap.pxd to cimport; instances and Python subclasses take the
# table from the module itself.
for _t in (pcap, dumper):
    if "__pyx_vtable__" in _t.__dict__:
        PyDict_DelItemString(<object>(<PyTypeObject *>_t).tp_dict, "__pyx_vtable__")
        PyType_Modified(_t)
del _t
