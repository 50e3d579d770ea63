# --------------------------------------------------------------------------
# Triage: packets kept or dropped in C before Python sees them (triage.h),
# by address prefixes, port sets and flow heads.  A handle applies its
# triage (set_triage()) after the BPF filter, in the one read loop
# (_deliver(), delivery.pxi) for the reads that take packets one at a time
# and in batch_put_meta() (packet_batch.h) for the batches the sources fill
# without the GIL: every source and every read sees it.

cdef dict _TRIAGE_ACTIONS = {"keep": TRIAGE_KEEP, "drop": TRIAGE_DROP}
cdef dict _TRIAGE_MATCHES = {"src": TRIAGE_SRC, "dst": TRIAGE_DST, "either": TRIAGE_EITHER}
cdef dict _TRIAGE_NAMES = {TRIAGE_KEEP: "keep", TRIAGE_DROP: "drop"}


cdef extern from *:
    void __builtin_prefetch(const void *addr) nogil

cdef enum:
    _PREFETCH_AHEAD = 16


cdef int _choice(object value, str name, dict choices) except -1:
    try:
        return choices[value]
    except (KeyError, TypeError):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, not {value!r}") from None


cdef class Triage:
    """Triage(prefixes=None, *, prefix_action='keep', prefix_match='either', prefix_default=None, ports=None, port_action='keep', port_match='either', flow_head_packets=None, flow_head_bytes=None, flow_bidirectional=True, flow_table_size=1048576, non_ip=None)

    Keep or drop packets in C, before Python sees them: set it on a
    handle with ``p.set_triage(t)``.  It applies after the BPF filter, to
    every source and every read.  A packet goes through three stages in
    turn, and the first that drops it drops it; a stage not asked for keeps
    everything:

    prefixes -- IPv4 and IPv6 prefixes (an iterable, or a mapping of prefix
            to action): each one a str ('10.0.0.0/8', '2001:db8::/32', an
            address alone is /32 or /128), an ipaddress network or address,
            or a pair (prefix, 'keep' or 'drop').  An address takes the
            action of the longest prefix that holds it (longest prefix
            match), ``prefix_action`` for those given without one.  IPv4
            prefixes hold the addresses of IPv4 packets, IPv6 prefixes those
            of IPv6 packets (an IPv4-mapped prefix, ::ffff:0:0/96, holds
            IPv6 packets' mapped addresses only, as in ``ipaddress``).
    prefix_match -- 'src', 'dst' or 'either' address.  With 'either', a
            packet is dropped when one of its addresses is in a 'drop'
            prefix, else kept when one is in a 'keep' prefix.
    prefix_default -- 'keep' or 'drop': for a packet whose addresses no
            prefix holds; None: 'drop' when any prefix is 'keep', else 'keep'.
    ports -- an iterable of ports 0 to 65535: TCP, UDP and SCTP.
    port_action -- 'keep': keep only the packets with a port in the set;
            'drop': drop those.  A packet without ports (ICMP, a fragment
            after the first) has no port in the set.
    port_match -- 'src', 'dst' or 'either' port.
    flow_head_packets, flow_head_bytes -- keep only the first packets of
            each flow: those that come while the flow has had fewer than
            this many packets before them, and fewer than this many bytes
            (wire lengths); None or 0: no limit of that kind.  A flow is a
            protocol, two addresses and two ports (0 without ports);
            ``flow_bidirectional`` (the default) makes both directions of
            a conversation one flow.  Only packets the earlier stages kept
            count in a flow.
    flow_table_size -- the most flows remembered at once (rounded up to a
            power of two; 16 bytes each).  Flows are told apart by a 64-bit
            hash of their key (two share one count with a chance of about
            2**-64 a pair).  A new flow that finds its part of the table
            full (4 flows share one) forgets the one of them seen least
            recently (``stats()`` counts them as evicted): should it come
            back, its head is kept again.
    non_ip -- what becomes of packets that are not IP (ARP, a cut-short
            header, a link type the parser does not read): 'keep', 'drop',
            or None, the stages decide: no prefix holds them, they have no
            ports, they are in no flow.

    Raises ValueError naming what is wrong: a malformed prefix, one with
    host bits set, one given with both actions, a port out of range, a
    negative count; TypeError for an argument of the wrong type.  A Triage
    may be set on several handles (one after the other): its counters and
    flows are then shared; two threads must not read through one Triage at
    the same time.
    """
    cdef triage t
    cdef bint ready
    cdef Py_ssize_t counts[2]       # prefixes, IPv4 and IPv6

    def __dealloc__(self):
        triage_free(&self.t)

    def __init__(self, prefixes=None, *, prefix_action="keep", prefix_match="either", prefix_default=None,
                 ports=None, port_action="keep", port_match="either", flow_head_packets=None,
                 flow_head_bytes=None, flow_bidirectional=True, flow_table_size=1 << 20, non_ip=None):
        cdef int action = _choice(prefix_action, "prefix_action", _TRIAGE_ACTIONS)
        cdef int match = _choice(prefix_match, "prefix_match", _TRIAGE_MATCHES)
        cdef long long packets = 0, nbytes = 0, table = 0
        if self.ready:
            raise RuntimeError("a Triage is set up once: make a new one")
        self.t.port_action = _choice(port_action, "port_action", _TRIAGE_ACTIONS)
        self.t.port_match = _choice(port_match, "port_match", _TRIAGE_MATCHES)
        self.t.non_ip = TRIAGE_NONE if non_ip is None else _choice(non_ip, "non_ip", _TRIAGE_ACTIONS)
        if flow_head_packets is not None:
            packets = _int_arg(flow_head_packets, "flow_head_packets", 0, 0xffffffff, "0 or None: no limit")
        if flow_head_bytes is not None:
            nbytes = _int_arg(flow_head_bytes, "flow_head_bytes", 0, 0xffffffff, "0 or None: no limit")
        table = _int_arg(flow_table_size, "flow_table_size", 1, 1 << 32)
        self.t.bidirectional = _bool_arg(flow_bidirectional, "flow_bidirectional")
        if prefixes is not None:
            any_keep = self._add_prefixes(prefixes, action)
            self.t.prefix_match = match
            self.t.prefix_default = (TRIAGE_DROP if any_keep else TRIAGE_KEEP) if prefix_default is None else \
                _choice(prefix_default, "prefix_default", _TRIAGE_ACTIONS)
        elif prefix_default is not None:
            _choice(prefix_default, "prefix_default", _TRIAGE_ACTIONS)
        if ports is not None:
            self._set_ports(ports)
        if packets or nbytes:
            self.t.head_packets, self.t.head_bytes, self.t.flow_heads = <uint32_t>packets, <uint32_t>nbytes, 1
            if flow_table_init(&self.t.flows, <size_t>table) < 0:
                raise MemoryError()
        self.ready = True

    cdef bint _add_prefixes(self, object prefixes, int action) except -1:
        """Parse and add each prefix; build the tables.  Whether any is 'keep'."""
        cdef Py_ssize_t i, n
        cdef int rc
        cdef bint any_keep = False
        cdef char conflict[64]
        cdef list items
        if isinstance(prefixes, (str, bytes)):
            raise TypeError("prefixes must be an iterable of prefixes (a list of str, ...), not one "
                            f"{type(prefixes).__name__}")
        if type(prefixes) is list:
            # A million str objects lie all over the heap: asking for the
            # ones ahead while this one is parsed hides the wait for memory.
            items = <list>prefixes
            n = len(items)
            for i in range(n):
                if i + _PREFETCH_AHEAD < n:
                    __builtin_prefetch(<void *>PyList_GET_ITEM(items, i + _PREFETCH_AHEAD))
                any_keep |= self._add_one(<object>PyList_GET_ITEM(items, i), i, action)
        else:
            i = 0
            for item in (prefixes.items() if hasattr(prefixes, "items") else prefixes):
                any_keep |= self._add_one(item, i, action)
                i += 1
        with nogil:
            rc = triage_build_prefixes(&self.t, conflict)
        if rc == -1:
            raise MemoryError()
        if rc == -2:
            raise ValueError(f"prefix {conflict.decode('ascii')} is given both to keep and to drop")
        return any_keep

    cdef inline bint _add_one(self, object item, Py_ssize_t i, int action) except -1:
        """Add prefixes[i]; whether it is a 'keep' one."""
        cdef const char *text
        cdef Py_ssize_t size
        cdef int rc
        if type(item) is not str:
            if isinstance(item, tuple):
                if len(<tuple>item) != 2:
                    raise ValueError(f"prefixes[{i}]: a pair (prefix, 'keep' or 'drop') was expected, not {item!r}")
                item, given = item
                action = _choice(given, f"the action of prefixes[{i}]", _TRIAGE_ACTIONS)
            if not isinstance(item, str):
                if not hasattr(item, "version") or isinstance(item, (bytes, bytearray)):
                    raise TypeError(f"prefixes[{i}] must be a str or an ipaddress network or address, "
                                    f"not {type(item).__name__}")
                item = str(item)
        text = PyUnicode_AsUTF8AndSize(item, &size)
        rc = triage_add_prefix(&self.t, text, <size_t>size, action)
        if rc <= 0:
            self._bad_prefix(i, item, rc)
        self.counts[rc == 6] += 1
        return action == TRIAGE_KEEP

    cdef int _bad_prefix(self, Py_ssize_t i, str item, int rc) except -1:
        if rc == -3:
            raise MemoryError()
        if rc == -1:
            raise ValueError(f"prefixes[{i}]: {item!r} has a prefix length out of range "
                             f"(IPv4: 0 to 32, IPv6: 0 to 128)")
        if rc == -2:
            import ipaddress
            raise ValueError(f"prefixes[{i}]: {item!r} has host bits set (the network is "
                             f"{ipaddress.ip_network(item, strict=False)})")
        raise ValueError(f"prefixes[{i}]: {item!r} is not an IPv4 or IPv6 address or prefix")

    cdef int _set_ports(self, object ports) except -1:
        cdef long long port
        cdef Py_ssize_t i = 0
        if isinstance(ports, (str, bytes)) or not hasattr(ports, "__iter__"):
            raise TypeError(f"ports must be an iterable of ints, not {type(ports).__name__}")
        self.t.ports = <unsigned char *>calloc(8192, 1)
        if self.t.ports == NULL:
            raise MemoryError()
        for p in ports:
            port = _int_arg(p, f"ports[{i}]", 0, 65535)
            self.t.ports[port >> 3] |= 1 << (port & 7)
            i += 1
        return 0

    def lookup(self, address):
        """lookup(address) -> 'keep', 'drop' or None

        The action of the longest prefix that holds ``address`` (a str or
        an ipaddress address); None when no prefix holds it (the packet
        then has ``prefix_default``).  ValueError when it is no address.
        """
        cdef const char *text
        cdef Py_ssize_t size
        cdef int rc
        s = address if isinstance(address, str) else str(address)
        text = PyUnicode_AsUTF8AndSize(s, &size)
        rc = triage_lookup(&self.t, text, <size_t>size)
        if rc < 0:
            raise ValueError(f"{address!r} is not an IPv4 or IPv6 address")
        return _TRIAGE_NAMES.get(rc)

    @property
    def kept(self):
        """Packets kept so far."""
        return self.t.kept

    @property
    def dropped(self):
        """Packets dropped so far."""
        return self.t.dropped

    @property
    def prefixes(self):
        """How many prefixes were given: (IPv4, IPv6)."""
        return (self.counts[0], self.counts[1])

    def stats(self):
        """stats() -> dict

        The counters: kept, dropped, and of the dropped how many by each
        stage (dropped_non_ip, dropped_prefix, dropped_port,
        dropped_flow_head); the flows remembered now (flows) and those
        forgotten for room (flows_evicted).
        """
        return {"kept": self.t.kept, "dropped": self.t.dropped, "dropped_non_ip": self.t.dropped_non_ip,
                "dropped_prefix": self.t.dropped_prefix, "dropped_port": self.t.dropped_port,
                "dropped_flow_head": self.t.dropped_flow, "flows": self.t.flows.flows,
                "flows_evicted": self.t.flows.evicted}

    def reset(self):
        """Set the counters to 0 and forget every flow (between reads)."""
        self.t.kept = self.t.dropped = 0
        self.t.dropped_non_ip = self.t.dropped_prefix = self.t.dropped_port = self.t.dropped_flow = 0
        flow_table_clear(&self.t.flows)

    def __repr__(self):
        return (f"<pcap.Triage prefixes={self.counts[0]}+{self.counts[1]} "
                f"ports={'yes' if self.t.ports != NULL else 'no'} "
                f"flow_head=({self.t.head_packets}, {self.t.head_bytes}) kept={self.t.kept} dropped={self.t.dropped}>")
