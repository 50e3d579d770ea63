# --------------------------------------------------------------------------
# Header fields as columns (packet_fields.c): the fixed record numpy views,
# the Arrow columns gathered out of it, and the Community ID.
#
# The fill parses each packet as it takes it (batch_put_meta), into one
# struct packet_fields a record; nothing here runs once a packet in Python.

FIELDS_SIZE = sizeof(packet_fields)
# numpy.frombuffer(fields, numpy.dtype(pcap.FIELDS_DTYPE)): one record a
# packet, no padding, numbers in native byte order, addresses and MAC
# addresses as bytes in network order (IPv4 as ::ffff:a.b.c.d).
FIELDS_DTYPE = [("present", "=u4"), ("eth_dst", "u1", (6,)), ("eth_src", "u1", (6,)), ("ethertype", "=u2"),
                ("vlan_id", "=u2"), ("vlan_id_inner", "=u2"), ("ip_version", "u1"), ("protocol", "u1"),
                ("src", "u1", (16,)), ("dst", "u1", (16,)), ("ttl", "u1"), ("frag_flags", "u1"),
                ("frag_offset", "=u2"), ("ip_len", "=u4"), ("src_port", "=u2"), ("dst_port", "=u2"),
                ("tcp_flags", "=u2"), ("icmp_type", "u1"), ("icmp_code", "u1"), ("payload_offset", "=u4"),
                ("payload_len", "=u4"), ("community_id", "S32")]
# Which of a record's fields hold something: bits of its ``present``.
FIELD_ETH = PF_ETH
FIELD_ETHERTYPE = PF_ETHERTYPE
FIELD_VLAN = PF_VLAN
FIELD_VLAN_INNER = PF_VLAN_INNER
FIELD_IP = PF_IP
FIELD_PROTOCOL = PF_PROTOCOL
FIELD_IP_LEN = PF_IP_LEN
FIELD_PORTS = PF_PORTS
FIELD_TCP_FLAGS = PF_TCP_FLAGS
FIELD_ICMP = PF_ICMP
FIELD_PAYLOAD = PF_PAYLOAD
FIELD_COMMUNITY_ID = PF_COMMUNITY_ID
FIELD_FRAGMENT = PF_FRAGMENT

# The SHA-1 of the Community ID chosen once, here, for every thread.
fields_sha1_hardware(-1)

# name: (offset in the record, bytes, Arrow type name, the bit that says it is there)
cdef dict _FIELD_COLUMNS = {
    "eth_dst": (4, 6, "mac", PF_ETH), "eth_src": (10, 6, "mac", PF_ETH),
    "ethertype": (16, 2, "uint16", PF_ETHERTYPE), "vlan_id": (18, 2, "uint16", PF_VLAN),
    "vlan_id_inner": (20, 2, "uint16", PF_VLAN_INNER), "ip_version": (22, 1, "uint8", PF_IP),
    "protocol": (23, 1, "uint8", PF_PROTOCOL), "src": (24, 16, "address", PF_IP),
    "dst": (40, 16, "address", PF_IP), "ttl": (56, 1, "uint8", PF_IP),
    "frag_flags": (57, 1, "uint8", PF_IP), "frag_offset": (58, 2, "uint16", PF_IP),
    "ip_len": (60, 4, "uint32", PF_IP_LEN), "src_port": (64, 2, "uint16", PF_PORTS),
    "dst_port": (66, 2, "uint16", PF_PORTS), "tcp_flags": (68, 2, "uint16", PF_TCP_FLAGS),
    "icmp_type": (70, 1, "uint8", PF_ICMP), "icmp_code": (71, 1, "uint8", PF_ICMP),
    "payload_offset": (72, 4, "uint32", PF_PAYLOAD), "payload_len": (76, 4, "uint32", PF_PAYLOAD),
    "community_id": (80, 30, "string", PF_COMMUNITY_ID),
}
# Every column arrow_batches(fields=...) can add, in their order there.
FIELDS = tuple(_FIELD_COLUMNS)
# Names that stand for several.
FIELD_SETS = {"flow": ("src", "dst", "protocol", "src_port", "dst_port"), "all": FIELDS}
# The link types whose packets are parsed (DLT_ values); others' fields are null.
FIELDS_LINKTYPES = tuple(d for d in range(300) if packet_fields_linktype(d))


cdef tuple _fields_arg(object fields):
    """The column names fields= asks for, in FIELDS' order, or None."""
    if fields is None or fields is False:
        return None
    if isinstance(fields, str):
        fields = [fields]
    try:
        names = list(fields)
    except TypeError:
        raise TypeError(f"fields must be a list of column names or one of {sorted(FIELD_SETS)}, "
                        f"not {type(fields).__name__}") from None
    wanted = set()
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"fields holds column names (str), not {type(name).__name__}")
        if name in FIELD_SETS:
            wanted.update(FIELD_SETS[name])
        elif name in _FIELD_COLUMNS:
            wanted.add(name)
        else:
            raise ValueError(f"no field {name!r}: the fields are {', '.join(FIELDS)}, "
                             f"and {', '.join(repr(s) for s in FIELD_SETS)} for several")
    if not wanted:
        raise ValueError("fields names no column")
    return tuple(n for n in FIELDS if n in wanted)


cdef int _seed_arg(object seed) except -1:
    return _int_arg(seed, "community_id_seed", 0, 0xFFFF)


cdef object _fields_arrow_type(pa, str kind, str addresses):
    if kind == "mac":
        return pa.binary(6)
    if kind == "address":
        return pa.string() if addresses == "text" else pa.binary(16)
    if kind == "string":
        return pa.string()
    return getattr(pa, kind)()


cdef list _fields_arrow_fields(pa, tuple names, str addresses):
    return [(name, _fields_arrow_type(pa, _FIELD_COLUMNS[name][2], addresses)) for name in names]


cdef class _FieldsOut:
    """Where the header fields of one batch go: the plan the fill follows
    (packet_fields.h), and the buffers it writes: one column a field
    (Arrow's layout), or one record a packet (FIELDS_DTYPE)."""
    cdef fields_plan plan
    cdef field_column *cols
    cdef tuple names            # the columns' fields; None: records
    cdef str addresses
    cdef list buffers           # a column's (values, valid, offsets); records: (bytearray or None,)
    cdef bytearray present      # each packet's present bits, for the columns' bitmaps

    def __dealloc__(self):
        # (A worker thread may be writing the Community IDs of a fill that
        # failed before finish(): wait for it before the buffers go.)
        community_id_hasher_finish(&self.plan.hasher)
        free(self.cols)

    cdef int _alloc(self, Py_ssize_t ncolumns, int seed) except -1:
        self.cols = <field_column *>calloc(ncolumns, sizeof(field_column))
        if self.cols == NULL:
            raise MemoryError()
        self.plan.columns = self.cols
        self.plan.ncolumns = ncolumns
        self.plan.options.community_id = seed >= 0
        self.plan.options.seed = <unsigned short>(seed if seed >= 0 else 0)
        return 0

    @staticmethod
    cdef _FieldsOut records(unsigned char *buf, bytearray owner, int seed):
        """Whole records into buf (owner: the bytearray it is, if ours)."""
        cdef _FieldsOut out = _FieldsOut.__new__(_FieldsOut)
        out._alloc(1, seed)
        out.cols[0].kind = COLUMN_RECORD
        out.cols[0].values = buf
        out.buffers = [(owner,)]
        return out

    @staticmethod
    cdef _FieldsOut columns(tuple names, str addresses, Py_ssize_t capacity, int seed):
        cdef _FieldsOut out = _FieldsOut.__new__(_FieldsOut)
        cdef field_column *c
        cdef Py_ssize_t i, width
        cdef bytearray values, valid, offsets
        out._alloc(len(names), seed)
        out.present = PyByteArray_FromStringAndSize(NULL, capacity * 4)
        out.plan.present = <uint32_t *>PyByteArray_AS_STRING(out.present)
        out.prefault(out.present, 4)
        out.names = names
        out.addresses = addresses
        out.buffers = []
        for i, name in enumerate(names):
            offset, width, kind, mask = _FIELD_COLUMNS[name]
            c = &out.cols[i]
            c.offset = offset
            c.width = width
            c.mask = mask
            offsets = None
            if kind == "string":
                c.kind = COLUMN_COMMUNITY_ID
                values = PyByteArray_FromStringAndSize(NULL, capacity * 30)
            elif kind == "address" and addresses == "text":
                c.kind = COLUMN_ADDRESS_TEXT
                values = PyByteArray_FromStringAndSize(NULL, capacity * 46 + 64)
                offsets = PyByteArray_FromStringAndSize(NULL, (capacity + 1) * 4)
                c.offsets = <int32_t *>PyByteArray_AS_STRING(offsets)
                c.offsets[0] = 0
            else:
                c.kind = COLUMN_FIXED
                values = PyByteArray_FromStringAndSize(NULL, capacity * width + FIELD_COLUMN_SLACK)
            valid = PyByteArray_FromStringAndSize(NULL, (capacity + 7) // 8)
            c.values = <unsigned char *>PyByteArray_AS_STRING(values)
            c.valid = <unsigned char *>PyByteArray_AS_STRING(valid)
            out.buffers.append((values, valid, offsets))
            if c.kind != COLUMN_ADDRESS_TEXT:
                out.prefault(values, 30 if c.kind == COLUMN_COMMUNITY_ID else c.width)
        out.plan.hasher.capacity = capacity
        return out

    cdef int prefault(self, bytearray column, size_t per_packet) except -1:
        """Let a Community ID worker map in the pages of this column (per_packet
        bytes a packet, for the plan's capacity) ahead of the fill."""
        if self.plan.hasher.nregions < COMMUNITY_ID_PREFAULT_REGIONS:
            self.plan.hasher.regions[self.plan.hasher.nregions].base = <unsigned char *>PyByteArray_AS_STRING(column)
            self.plan.hasher.regions[self.plan.hasher.nregions].per_packet = per_packet
            self.plan.hasher.nregions += 1
        return 0

    cdef void finish(self) noexcept:
        """Hash what waits: before anything reads the fields."""
        fields_plan_finish(&self.plan)

    cdef list arrow_columns(self, pa, Py_ssize_t n):
        """The Arrow arrays of the first n packets' columns."""
        cdef Py_ssize_t i
        cdef field_column *c
        cdef bytearray cid_offsets = None
        buf = pa.py_buffer
        arrays = []
        for i, name in enumerate(self.names):
            c = &self.cols[i]
            values, valid, offsets = self.buffers[i]
            nulls = n - <Py_ssize_t>c.valid_count
            if c.kind == COLUMN_FIXED:
                arrays.append(pa.Array.from_buffers(_fields_arrow_type(pa, _FIELD_COLUMNS[name][2], self.addresses),
                                                    n, [buf(valid), buf(values)], null_count=nulls))
            elif c.kind == COLUMN_ADDRESS_TEXT:
                arrays.append(pa.Array.from_buffers(pa.string(), n, [buf(valid), buf(offsets), buf(values)],
                                                    null_count=nulls))
            else:
                if cid_offsets is None:
                    cid_offsets = _community_id_offsets(n)
                arrays.append(pa.Array.from_buffers(pa.string(), n, [buf(valid), buf(cid_offsets), buf(values)],
                                                    null_count=nulls))
        return arrays


cdef bytearray _cid_offsets = bytearray(4)


cdef bytearray _community_id_offsets(Py_ssize_t n):
    """The n + 1 offsets of a Community ID column: one buffer shared by the
    batches (Arrow's buffers are not written once made), so that a table of
    a million packets does not hold 4 MB of the same numbers."""
    global _cid_offsets
    if PyByteArray_GET_SIZE(_cid_offsets) < (n + 1) * 4:
        _cid_offsets = _fixed_offsets(max(n, 65536), 30)
    return _cid_offsets


cdef bytearray _fixed_offsets(Py_ssize_t n, int32_t width):
    """n + 1 Arrow offsets of values of one width."""
    cdef bytearray out = PyByteArray_FromStringAndSize(NULL, (n + 1) * 4)
    cdef int32_t *p = <int32_t *>PyByteArray_AS_STRING(out)
    cdef Py_ssize_t i
    for i in range(n + 1):
        p[i] = <int32_t>(i * width)
    return out


cdef bytes _address_bytes(object address, str what):
    if isinstance(address, (bytes, bytearray, memoryview)):
        b = bytes(address)
        if len(b) not in (4, 16):
            raise ValueError(f"{what} must be 4 or 16 bytes, not {len(b)}")
        return b
    if isinstance(address, str):
        import ipaddress
        try:
            return ipaddress.ip_address(address).packed
        except ValueError:
            raise ValueError(f"{what} is not an IP address: {address!r}") from None
    import ipaddress
    if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return address.packed
    raise TypeError(f"{what} must be an address as text, bytes or an ipaddress object, "
                    f"not {type(address).__name__}")


def community_id(src, dst, protocol, src_port=None, dst_port=None, seed=0):
    """community_id(src, dst, protocol, src_port=None, dst_port=None, seed=0) -> str

    The Community ID (v1) of a flow, as the columns compute it:
    ``"1:"`` and the base64 of a SHA-1 of the seed, the addresses, the
    protocol and the ports, the smaller endpoint first.  ``src`` and
    ``dst``: text, 4 or 16 bytes, or ``ipaddress`` objects of one family;
    ``protocol``: the IP protocol number; the ports None for a protocol
    without (for ICMP and ICMPv6: the type and the code, mapped as the
    specification maps request and reply).
    """
    cdef bytes a = _address_bytes(src, "src"), b = _address_bytes(dst, "dst")
    cdef char out[32]
    cdef int proto = _int_arg(protocol, "protocol", 0, 255)
    cdef int sport = 0, dport = 0
    cdef int c_seed = _seed_arg(seed)
    if len(a) != len(b):
        raise ValueError("src and dst must be of one family (both IPv4 or both IPv6)")
    if (src_port is None) != (dst_port is None):
        raise ValueError("give both ports, or neither")
    if src_port is not None:
        sport = _int_arg(src_port, "src_port", 0, 0xFFFF)
        dport = _int_arg(dst_port, "dst_port", 0, 0xFFFF)
    community_id_v1(<unsigned short>c_seed, <const unsigned char *>PyBytes_AS_STRING(a),
                    <const unsigned char *>PyBytes_AS_STRING(b), len(a), <unsigned char>proto,
                    src_port is not None, <unsigned short>sport, <unsigned short>dport, out)
    return out[:30].decode("ascii")


def _fields_sha1(data, hardware=-1):
    """SHA-1 of at most 55 bytes as the Community ID computes it, with the
    CPU's SHA instructions (hardware=1), without (0), or as chosen by
    itself (-1); for the tests.  Returns (digest, whether the instructions
    were used)."""
    cdef bytes b = bytes(data)
    cdef unsigned char digest[20]
    cdef int used
    if len(b) > 55:
        raise ValueError("at most 55 bytes")
    used = fields_sha1_hardware(hardware)
    if used < 0:
        fields_sha1_hardware(-1)
        raise ValueError("this CPU has no SHA instructions")
    fields_sha1(<const unsigned char *>PyBytes_AS_STRING(b), len(b), digest)
    fields_sha1_hardware(-1)
    return digest[:20], bool(used)


def _community_id_worker(mode):
    """How the Community IDs of a batch are hashed (community_id.h): -1 on
    a worker thread where the machine has a second CPU (the default), 0
    always by the filler, 1 on a worker from a batch's first packet, 2 on
    a worker that waits for the fill's end (the ring fills up); for the
    tests and the bench.  Returns the mode before."""
    cdef int m = _int_arg(mode, "mode", -1, 2)
    return community_id_worker_mode(m)
