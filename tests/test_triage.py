"""pcap.Triage: packets kept or dropped in C by address prefixes (longest
prefix match), port sets and flow heads, after the BPF filter, on every
source and through every read.  Each read is compared packet for packet
with a reference computed here in Python (ipaddress for the prefixes) over
the same packets."""
import io
import ipaddress
import os
import random
import socket
import struct
import time

import pytest

import pcap
from support import ETHER, SINKS, can_capture, free_port, need, open_lo, read_all, write_pcap

DLT_EN10MB, DLT_RAW = 1, 101       # (LINKTYPE_RAW is 101 in files; libpcap's DLT_RAW differs by platform)


# -- packets -----------------------------------------------------------------------

def ipv4(proto, l4, src, dst, frag=0):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 7, frag, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + l4


def ipv6(nh, l4, src, dst):
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), nh, 64, socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + l4


def transport(proto, sport, dport, payload):
    if proto == 17:
        return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if proto == 6:
        return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 8192, 0, 0) + payload
    return struct.pack("!BBHI", 8, 0, 0, 0) + payload     # ICMP echo request


V4 = ["10.0.0.5", "10.1.0.7", "10.1.2.3", "10.1.2.200", "10.2.3.4", "192.168.1.1", "8.8.8.8", "0.0.0.0"]
V6 = ["2001:db8::1", "2001:db8:1::5", "2001:db8:2::9", "fe80::1", "::ffff:10.1.2.3", "::1"]
PORTS = [53, 80, 443, 1234, 5000, 40000]


def make_packets(n=700, seed=22):
    """Ethernet frames (some 802.1Q-tagged): IPv4 UDP, TCP, ICMP, non-first
    fragments, IPv6 UDP and TCP, ARP; the flows repeat, some in the other
    direction, so that flow heads have something to cut."""
    rng = random.Random(seed)
    flows = []
    for _ in range(40):
        v6 = rng.random() < 0.3
        pool = V6 if v6 else V4
        flows.append((v6, rng.choice(pool), rng.choice(pool), rng.choice([6, 17, 17, 1] if not v6 else [6, 17]),
                      rng.choice(PORTS), rng.choice(PORTS)))
    frames = []
    for i in range(n):
        kind = rng.random()
        payload = bytes([i % 251]) * rng.randrange(0, 120)
        if kind < 0.05:
            frames.append(b"\xff" * 6 + ETHER[6:] + b"\x08\x06" + b"\0\x01\x08\x00\x06\x04\0\x01" + bytes(20) + payload)
            continue
        v6, src, dst, proto, sport, dport = rng.choice(flows)
        if rng.random() < 0.3:
            src, dst, sport, dport = dst, src, dport, sport
        l4 = transport(proto, sport, dport, payload)
        if v6:
            frame = ETHER + b"\x86\xdd" + ipv6(proto, l4, src, dst)
        elif kind < 0.1:
            frame = ETHER + b"\x08\x00" + ipv4(proto, l4, src, dst, frag=0x20 | 64)    # offset 512, no ports
        else:
            frame = ETHER + b"\x08\x00" + ipv4(proto, l4, src, dst)
        if rng.random() < 0.1:
            frame = frame[:12] + b"\x81\x00" + struct.pack("!H", 42) + frame[12:]
        frames.append(frame)
    return frames


def parse(dlt, frame):
    """The reference's own reading of a packet: (version, src, dst, protocol,
    sport, dport) with ports None when it has none; None when it is not IP."""
    if dlt == DLT_EN10MB:
        etype, at = struct.unpack_from("!H", frame, 12)[0], 14
        if etype == 0x8100:
            etype, at = struct.unpack_from("!H", frame, 16)[0], 18
    else:
        etype, at = {4: 0x0800, 6: 0x86DD}.get(frame[0] >> 4), 0
    if etype == 0x0800:
        ip = frame[at:]
        proto, frag = ip[9], struct.unpack_from("!H", ip, 6)[0]
        src, dst, l4 = ipaddress.ip_address(ip[12:16]), ipaddress.ip_address(ip[16:20]), ip[(ip[0] & 15) * 4:]
        first = frag & 0x1FFF == 0
    elif etype == 0x86DD:
        ip = frame[at:]
        proto, src, dst, l4, first = ip[6], ipaddress.ip_address(ip[8:24]), ipaddress.ip_address(ip[24:40]), ip[40:], True
    else:
        return None
    ports = struct.unpack_from("!HH", l4) if proto in (6, 17) and first else (None, None)
    return (src.version, src, dst, proto) + tuple(ports)


class Reference:
    """What a Triage of the same arguments keeps, computed with ipaddress."""

    def __init__(self, prefixes=None, *, prefix_action="keep", prefix_match="either", prefix_default=None,
                 ports=None, port_action="keep", port_match="either", flow_head_packets=None,
                 flow_head_bytes=None, flow_bidirectional=True, non_ip=None, **_):
        items = prefixes.items() if isinstance(prefixes, dict) else prefixes
        self.nets = None if prefixes is None else \
            [(ipaddress.ip_network(p[0]), p[1]) if isinstance(p, tuple) else (ipaddress.ip_network(p), prefix_action)
             for p in ([*items] if isinstance(prefixes, dict) else items)]
        if self.nets is not None and prefix_default is None:
            prefix_default = "drop" if any(a == "keep" for _, a in self.nets) else "keep"
        self.default, self.match = prefix_default, prefix_match
        self.ports, self.port_action, self.port_match = None if ports is None else set(ports), port_action, port_match
        self.head_packets, self.head_bytes = flow_head_packets or 0, flow_head_bytes or 0
        self.bidirectional, self.non_ip = flow_bidirectional, non_ip
        self.flows = {}

    def lookup(self, addr):
        best = None
        for net, action in self.nets:
            if net.version == addr.version and addr in net and (best is None or net.prefixlen > best[0].prefixlen):
                best = (net, action)
        return best and best[1]

    def keep(self, dlt, frame, wirelen):
        f = parse(dlt, frame)
        if f is None and self.non_ip is not None:
            return self.non_ip == "keep"
        if self.nets is not None:
            if f is None:
                if self.default == "drop":
                    return False
            else:
                acts = ([self.lookup(f[1])] if self.match in ("src", "either") else []) + \
                       ([self.lookup(f[2])] if self.match in ("dst", "either") else [])
                verdict = "drop" if "drop" in acts else "keep" if "keep" in acts else self.default
                if verdict == "drop":
                    return False
        if self.ports is not None:
            hit = f is not None and f[4] is not None and (
                (self.port_match in ("src", "either") and f[4] in self.ports)
                or (self.port_match in ("dst", "either") and f[5] in self.ports))
            if hit != (self.port_action == "keep"):
                return False
        if self.head_packets or self.head_bytes:
            if f is None:
                return False
            version, src, dst, proto, sport, dport = f
            a, b = (src, sport or 0), (dst, dport or 0)
            if self.bidirectional and (a[0].packed, a[1]) > (b[0].packed, b[1]):
                a, b = b, a
            key = (version, proto, a, b)
            packets, nbytes = self.flows.get(key, (0, 0))
            self.flows[key] = (packets + 1, nbytes + wirelen)
            if (self.head_packets and packets >= self.head_packets) or (self.head_bytes and nbytes >= self.head_bytes):
                return False
        return True

    def run(self, packets):
        """The frames kept of [(dlt, frame, wirelen), ...], in order."""
        return [frame for dlt, frame, wirelen in packets if self.keep(dlt, frame, wirelen)]


# -- sources ------------------------------------------------------------------------

FRAMES = make_packets()
STAMPED = [(1_700_000_000 + i, i, frame) for i, frame in enumerate(FRAMES)]


def ng_block(btype, body):
    pad = (-len(body)) % 4
    return struct.pack("<II", btype, 12 + len(body) + pad) + body + b"\0" * pad + struct.pack("<I", 12 + len(body) + pad)


def write_two_linktypes(path, stamped):
    """A pcapng file of two interfaces, Ethernet and raw IP: the IP packets
    alternate between them (the raw ones without their Ethernet header,
    untagged ones only); returns what it holds: [(dlt, frame, wirelen)]."""
    out = [ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
           ng_block(1, struct.pack("<HHI", 1, 0, 0)), ng_block(1, struct.pack("<HHI", 101, 0, 0))]
    held = []
    for k, (sec, usec, frame) in enumerate(stamped):
        iface = 1 if k % 2 and frame[12:14] in (b"\x08\x00", b"\x86\xdd") else 0
        data = frame[14:] if iface else frame
        ts = sec * 10**6 + usec
        out.append(ng_block(6, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data))
        held.append((DLT_RAW if iface else DLT_EN10MB, data, len(data)))
    with open(path, "wb") as f:
        f.write(b"".join(out))
    return held


def write_modified(path, stamped):
    """The modified pcap format (Alexey Kuznetsov's, magic 0xa1b2cd34), which libpcap reads for us."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1))
        for sec, usec, frame in stamped:
            f.write(struct.pack("<IIIIIHBB", sec, usec, len(frame), len(frame), 1, 0x0800, 0, 0) + frame)


SOURCES = ["pcap", "pcapng-2linktypes", "modified-pcap", "fileobj", "merged"]


@pytest.fixture(params=SOURCES)
def source(request, tmp_path):
    """(what pcap.pcap() opens, the packets it gives in order: [(dlt, frame, wirelen)])."""
    plain = [(DLT_EN10MB, frame, len(frame)) for frame in FRAMES]
    kind = request.param
    if kind == "pcap":
        return str(write_pcap(tmp_path / "t.pcap", STAMPED)), plain
    if kind == "pcapng-2linktypes":
        held = write_two_linktypes(tmp_path / "t.pcapng", STAMPED)
        return str(tmp_path / "t.pcapng"), held
    if kind == "modified-pcap":
        write_modified(tmp_path / "t.pcap", STAMPED)
        return str(tmp_path / "t.pcap"), plain
    if kind == "fileobj":
        return io.BytesIO(write_pcap(tmp_path / "t.pcap", STAMPED).read_bytes()), plain
    # Two savefiles merged by time stamp: the even packets in one, the odd in the other (pcapng).
    a = write_pcap(tmp_path / "even.pcap", STAMPED[0::2])
    b = tmp_path / "odd.pcapng"
    odd = iter(write_two_linktypes(b, STAMPED[1::2]))
    merged = [(DLT_EN10MB, f, len(f)) if k % 2 == 0 else next(odd) for k, f in enumerate(FRAMES)]
    return [str(a), str(b)], merged


MIXED = dict(prefixes={"10.0.0.0/8": "keep", "10.1.0.0/16": "drop", "10.1.2.0/24": "keep", "2001:db8::/32": "keep",
                       "2001:db8:1::/48": "drop", "::ffff:10.0.0.0/104": "keep"},
             ports=[443], port_action="drop", flow_head_packets=4)


def read_kept(opened, sink, tmp_path, **kwargs):
    t = pcap.Triage(**kwargs)
    with pcap.pcap(opened, timestamp_in_ns=True) as p:
        p.set_triage(t)
        got = read_all(p, sink, workdir=str(tmp_path))
    return t, got


@pytest.mark.parametrize("sink", SINKS)
def test_every_source_and_read_keeps_what_the_reference_keeps(source, sink, tmp_path):
    opened, packets = source
    if sink == "dumper" and isinstance(opened, list) or sink == "dumper" and "pcapng" in str(opened):
        # A classic copy of interfaces of several link types is refused, the
        # triage set or not, when the first packet of the other link type comes.
        with pytest.raises(pcap.PcapError, match=r"format='pcapng'"):
            read_kept(opened, sink, tmp_path, **MIXED)
        return
    want = Reference(**MIXED).run(packets)
    assert 0 < len(want) < len(packets) // 2
    t, got = read_kept(opened, sink, tmp_path, **MIXED)
    if sink.startswith("count-"):
        assert got == len(want)
    else:
        assert [buf for _, buf, _ in got] == want
    assert (t.kept, t.kept + t.dropped) == (len(want), len(packets))


@pytest.mark.parametrize("kwargs", [
    dict(prefixes=["10.1.0.0/16", "2001:db8::/32"], prefix_match="src"),
    dict(prefixes=["10.1.0.0/16", "2001:db8::/32"], prefix_match="dst", prefix_action="drop"),
    dict(prefixes=[("0.0.0.0/0", "drop"), ("10.1.2.3/32", "keep"), ("::/0", "keep"), ("::ffff:10.1.2.3/128", "drop")]),
    dict(prefixes=["10.0.0.0/8"], prefix_default="keep", non_ip="drop"),
    dict(ports=[53, 80], port_match="dst"),
    dict(ports=[53, 80], port_match="src", port_action="drop", non_ip="keep"),
    dict(flow_head_packets=2, flow_bidirectional=False),
    dict(flow_head_bytes=300),
    dict(flow_head_packets=3, flow_head_bytes=200, non_ip="keep"),
], ids=["src", "dst-drop", "slash0-32-128-mapped", "default-keep-non-ip-drop", "ports-dst", "ports-src-drop",
        "head-directional", "head-bytes", "head-both"])
@pytest.mark.parametrize("sink", ["iter", "next_batch"])
def test_each_stage_alone(kwargs, sink, tmp_path):
    path = str(write_pcap(tmp_path / "t.pcap", STAMPED))
    want = Reference(**kwargs).run([(DLT_EN10MB, f, len(f)) for f in FRAMES])
    t, got = read_kept(path, sink, tmp_path, **kwargs)
    assert [buf for _, buf, _ in got] == want
    assert t.kept == len(want) and t.dropped == len(FRAMES) - len(want)


def test_flow_heads_carry_across_batches_and_calls(tmp_path):
    """A batch of 7 records at a time, and the next read of the same handle,
    keep counting each flow where the last one stopped."""
    path = str(write_pcap(tmp_path / "t.pcap", STAMPED))
    t = pcap.Triage(flow_head_packets=5)
    got = []
    with pcap.pcap(path) as p:
        p.set_triage(t)
        got += [buf for _, buf, _ in read_all(p, "readinto", count=50, batch=7)]
        got += [buf for _, buf in p.readpkts(30)]
        got += [buf for _, buf, _ in read_all(p, "next_batch", batch=3)]
    assert got == Reference(flow_head_packets=5).run([(DLT_EN10MB, f, len(f)) for f in FRAMES])
    stats = t.stats()
    flows = set()
    for f in FRAMES:
        info = parse(DLT_EN10MB, f)
        if info:
            ends = sorted([(info[1].packed, info[4] or 0), (info[2].packed, info[5] or 0)])
            flows.add((info[0], info[3], *ends))
    assert stats["flows"] == len(flows)
    assert stats["flows_evicted"] == 0 and stats["dropped_flow_head"] == t.dropped


def test_a_full_flow_table_forgets_the_least_recent_flow(tmp_path):
    """4 flows fill the smallest table (one set of 4): a 5th evicts the one
    seen least recently, whose head then passes again."""
    frames = [ETHER + b"\x08\x00" + ipv4(17, transport(17, 1000 + k, 53, b"x"), "10.0.0.1", "10.0.0.2")
              for k in [0, 1, 2, 3, 1, 4, 1, 0]]
    path = str(write_pcap(tmp_path / "t.pcap", [(1000 + i, 0, f) for i, f in enumerate(frames)]))
    t = pcap.Triage(flow_head_packets=1, flow_table_size=1)
    with pcap.pcap(path) as p:
        p.set_triage(t)
        got = p.readpkts()
    # 0..3 fill the table; 1 is seen again (dropped), so 4 evicts 0, the least recent;
    # 1 is still known (dropped); 0 comes back as new (kept) and evicts 2
    assert [buf for _, buf in got] == frames[:4] + [frames[5], frames[7]]
    assert t.stats()["flows_evicted"] == 2 and t.stats()["flows"] == 4


def test_with_setfilter_the_triage_sees_only_what_the_filter_keeps(tmp_path):
    path = str(write_pcap(tmp_path / "t.pcap", STAMPED))
    kwargs = dict(prefixes=["10.0.0.0/8", "2001:db8::/32"], flow_head_packets=2)
    for sink in ("iter", "readinto", "count-dispatch"):
        t = pcap.Triage(**kwargs)
        with pcap.pcap(path) as p:
            p.setfilter("udp")
            p.set_triage(t)
            got = read_all(p, sink, batch=16)
        with pcap.pcap(path) as p:     # the filter's own choice of packets, without triage
            p.setfilter("udp")
            filtered = [(DLT_EN10MB, buf, len(buf)) for _, buf in p]
        want = Reference(**kwargs).run(filtered)
        assert (got if sink.startswith("count") else [buf for _, buf, _ in got]) == \
            (len(want) if sink.startswith("count") else want), sink
        assert t.kept + t.dropped == len(filtered)


def test_set_triage_none_removes_it_and_the_property_tells(tmp_path):
    path = str(write_pcap(tmp_path / "t.pcap", STAMPED))
    t = pcap.Triage(ports=[53])
    with pcap.pcap(path) as p:
        assert p.triage is None
        p.set_triage(t)
        assert p.triage is t
        first = p.readpkts(100)
        p.set_triage(None)
        assert p.triage is None
        rest = p.readpkts()
    assert len(first) == 100 and t.kept == 100
    assert len(rest) == len(FRAMES) - t.kept - t.dropped


# -- longest prefix match ---------------------------------------------------------

def test_lookup_nested_prefixes_with_opposite_actions():
    t = pcap.Triage({"10.0.0.0/8": "keep", "10.1.0.0/16": "drop", "10.1.2.0/24": "keep", "10.1.2.3/32": "drop",
                     "0.0.0.0/0": "drop", "2001:db8::/32": "keep", "2001:db8::1/128": "drop", "::/0": "keep",
                     "::ffff:10.0.0.0/104": "drop"})
    assert [t.lookup(a) for a in ["10.9.9.9", "10.1.9.9", "10.1.2.9", "10.1.2.3", "11.0.0.1", "0.0.0.0",
                                  "255.255.255.255", "10.255.255.255", "10.1.255.255", "10.2.0.0"]] == \
        ["keep", "drop", "keep", "drop", "drop", "drop", "drop", "keep", "drop", "keep"]
    assert [t.lookup(a) for a in ["2001:db8::2", "2001:db8::1", "2001:db9::", "::", "ffff::1",
                                  "::ffff:10.1.2.3", ipaddress.ip_address("::ffff:11.0.0.1")]] == \
        ["keep", "drop", "keep", "keep", "keep", "drop", "keep"]
    assert pcap.Triage(["10.0.0.0/8"]).lookup("::ffff:10.0.0.1") is None       # IPv4 prefixes hold IPv4 addresses
    assert pcap.Triage(["::ffff:10.0.0.0/104"]).lookup("10.0.0.1") is None     # and IPv6 prefixes IPv6 ones
    assert t.prefixes == (5, 4)


def test_mapped_prefix_keeps_ipv6_packets_with_mapped_addresses_not_ipv4_ones(tmp_path):
    frames = [ETHER + b"\x08\x00" + ipv4(17, transport(17, 1, 2, b"4"), "10.1.2.3", "10.1.2.4"),
              ETHER + b"\x86\xdd" + ipv6(17, transport(17, 1, 2, b"6"), "::ffff:10.1.2.3", "::ffff:10.1.2.4")]
    path = str(write_pcap(tmp_path / "t.pcap", [(1, 0, f) for f in frames]))
    with pcap.pcap(path) as p:
        p.set_triage(pcap.Triage(["::ffff:10.0.0.0/104"]))
        assert [buf for _, buf in p] == [frames[1]]


def reference_lpm(table, width, addr):
    """The longest of the prefixes (a dict (network int, length) -> action) holding addr, by each length."""
    for length in range(width, -1, -1):
        key = (addr >> (width - length) << (width - length) if length else 0, length)
        if key in table:
            return table[key]
    return None


@pytest.mark.parametrize("width", [32, 128])
def test_lookup_matches_a_reference_on_random_nested_prefixes(width):
    rng = random.Random(width)
    table = {}
    for _ in range(3000):
        length = rng.choice([0, 1, 8, 12, 16, 20, 24, 28, 31, width] if width == 32 else
                            [0, 3, 16, 32, 48, 56, 64, 96, 120, 127, width])
        base = rng.getrandbits(width) & ~((1 << (width - 8)) - 1) | rng.getrandbits(8) << (width - 16) \
            if width == 32 else rng.choice([0x20010DB8, 0x20010DB9, 0xFE80 << 16]) << 96 | rng.getrandbits(96)
        net = base >> (width - length) << (width - length) if length else 0
        table[(net, length)] = rng.choice(["keep", "drop"])
    cls = ipaddress.IPv4Network if width == 32 else ipaddress.IPv6Network
    t = pcap.Triage({str(cls((net, length))): action for (net, length), action in table.items()})
    probes = [net | rng.getrandbits(width - length) if length < width else net for net, length in table] + \
        [rng.getrandbits(width) for _ in range(2000)] + [0, (1 << width) - 1]
    addr_cls = ipaddress.IPv4Address if width == 32 else ipaddress.IPv6Address
    for a in probes:
        assert t.lookup(str(addr_cls(a))) == reference_lpm(table, width, a), str(addr_cls(a))


def test_a_million_prefixes_build_in_well_under_a_second_and_are_used(tmp_path):
    rng = random.Random(1)
    nets = {}
    while len(nets) < 1_000_000:
        length = rng.randrange(8, 33)
        a = rng.getrandbits(32) >> (32 - length) << (32 - length)
        nets[(a, length)] = "keep" if rng.random() < 0.5 else "drop"
    text = [f"{ipaddress.IPv4Address(a)}/{l}" for a, l in nets]
    actions = list(nets.values())
    start = time.perf_counter()
    t = pcap.Triage(zip(text, actions))
    elapsed = time.perf_counter() - start
    print(f"1,000,000 prefixes built in {elapsed:.3f} s")
    assert elapsed < 3, f"building a million prefixes took {elapsed:.2f} s"     # (about 0.5 s on a quiet machine)
    assert t.prefixes == (1_000_000, 0)
    for a in [rng.getrandbits(32) for _ in range(3000)] + [a | 1 for a, _ in list(nets)[:1000]]:
        assert t.lookup(str(ipaddress.IPv4Address(a))) == reference_lpm(nets, 32, a)
    # ... and used on a read: the file's addresses against the same million
    path = str(write_pcap(tmp_path / "t.pcap", STAMPED))
    with pcap.pcap(path) as p:
        p.set_triage(t)
        got = [buf for _, buf in p]
    want = []
    for f in FRAMES:
        info = parse(DLT_EN10MB, f)
        if info is None or info[0] == 6:
            continue        # (no IPv6 prefix, default drop: any keep prefix given)
        acts = [reference_lpm(nets, 32, int(info[1])), reference_lpm(nets, 32, int(info[2]))]
        if "drop" not in acts and "keep" in acts:
            want.append(f)
    assert got == want


# -- bad input --------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(prefixes=["10.0.0.0/8", "10.0.0.0/33"]), r"prefixes\[1\]: '10.0.0.0/33' has a prefix length out of range"),
    (dict(prefixes=["2001:db8::/129"]), r"prefix length out of range"),
    (dict(prefixes=["10.0.0.1/8"]), r"prefixes\[0\]: '10.0.0.1/8' has host bits set \(the network is 10.0.0.0/8\)"),
    (dict(prefixes=["10.0.0/8"]), r"prefixes\[0\]: '10.0.0/8' is not an IPv4 or IPv6 address or prefix"),
    (dict(prefixes=["10.0.0.0/x"]), r"is not an IPv4 or IPv6 address or prefix"),
    (dict(prefixes=["10.0.0.0/8x"]), r"is not an IPv4 or IPv6 address or prefix"),
    (dict(prefixes=["10.0.0.0/00033"]), r"has a prefix length out of range"),
    (dict(prefixes=["10.0.0.0/99999999999999999999999"]), r"has a prefix length out of range"),
    (dict(prefixes=["10.0.0.1/0008"]), r"has host bits set \(the network is 10.0.0.0/8\)"),
    (dict(prefixes=["10.0.0.0/"]), r"is not an IPv4 or IPv6 address or prefix"),
    (dict(prefixes=["fe80::1%eth0"]), r"is not an IPv4 or IPv6 address or prefix"),
    (dict(prefixes=["fe80::1\x00junk"]), r"prefixes\[0\]: 'fe80::1\\x00junk' is not an IPv4 or IPv6 address"),
    (dict(prefixes=["10.0.0.0\x00/8"]), r"is not an IPv4 or IPv6 address or prefix"),
    (dict(prefixes=[("10.0.0.0/8", "keep"), ("10.0.0.0/8", "drop")]), r"prefix 10.0.0.0/8 is given both to keep and to drop"),
    (dict(prefixes=[("192.0.2.7", "drop"), "10.0.0.0/8", "192.0.2.7/32"]),
     r"prefix 192.0.2.7/32 is given both to keep and to drop"),
    (dict(prefixes=[("0.0.0.0/0", "drop"), "10.0.0.0/8", ("0.0.0.0/0", "keep")]),
     r"prefix 0.0.0.0/0 is given both to keep and to drop"),
    (dict(prefixes=["10.0.0.0/8", ("2001:db8::/32", "drop"), "2001:db8::/32"]),
     r"prefix 2001:db8::/32 is given both to keep and to drop"),
    (dict(prefixes=[("10.0.0.0/8", "maybe")]), r"the action of prefixes\[0\] must be one of 'keep', 'drop', not 'maybe'"),
    (dict(prefixes=[("10.0.0.0/8",)]), r"prefixes\[0\]: a pair \(prefix, 'keep' or 'drop'\) was expected"),
    (dict(prefix_action="allow"), r"prefix_action must be one of 'keep', 'drop', not 'allow'"),
    (dict(prefix_match="both"), r"prefix_match must be one of 'src', 'dst', 'either', not 'both'"),
    (dict(prefix_default="yes"), r"prefix_default must be one of"),
    (dict(ports=[80, 65536]), r"ports\[1\] must be 0 to 65535, not 65536"),
    (dict(ports=[-1]), r"ports\[0\] must be 0 to 65535, not -1"),
    (dict(port_action="reject"), r"port_action must be one of"),
    (dict(port_match="any"), r"port_match must be one of"),
    (dict(flow_head_packets=-1), r"flow_head_packets must be 0 or more \(0 or None: no limit\), not -1"),
    (dict(flow_head_bytes=-5), r"flow_head_bytes must be 0 or more"),
    (dict(flow_head_packets=1, flow_table_size=0), r"flow_table_size must be 1 or more, not 0"),
    (dict(non_ip="pass"), r"non_ip must be one of 'keep', 'drop', not 'pass'"),
])
def test_bad_input_raises_value_error_naming_it(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pcap.Triage(**kwargs)


def test_wrong_types_raise_type_error(tmp_path):
    with pytest.raises(TypeError, match="prefixes must be an iterable of prefixes"):
        pcap.Triage("10.0.0.0/8")
    with pytest.raises(TypeError, match=r"prefixes\[0\] must be a str or an ipaddress network or address, not int"):
        pcap.Triage([167772160])
    with pytest.raises(TypeError, match=r"ports\[0\] must be an int, not str"):
        pcap.Triage(ports=["80"])
    with pytest.raises(TypeError, match="flow_head_packets must be an int, not float"):
        pcap.Triage(flow_head_packets=2.5)
    with pytest.raises(ValueError, match="'10.0.0.0/8' is not an IPv4 or IPv6 address"):
        pcap.Triage().lookup("10.0.0.0/8")
    with pcap.pcap(str(write_pcap(tmp_path / "t.pcap", STAMPED[:3]))) as p:
        with pytest.raises(TypeError, match="set_triage\\(\\) takes a pcap.Triage or None, not str"):
            p.set_triage("ports 80")
    with pytest.raises(RuntimeError, match="set up once"):
        pcap.Triage().__init__()


def test_ipaddress_objects_and_reset(tmp_path):
    t = pcap.Triage([ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_address("2001:db8::1")], flow_head_packets=1)
    assert (t.lookup("10.1.3.4"), t.lookup("2001:db8::1"), t.lookup("2001:db8::2")) == ("keep", "keep", None)
    path = str(write_pcap(tmp_path / "t.pcap", STAMPED))
    with pcap.pcap(path) as p:
        p.set_triage(t)
        first = p.readpkts()
    t.reset()
    assert t.stats() == dict.fromkeys(t.stats(), 0)
    with pcap.pcap(path) as p:
        p.set_triage(t)
        assert p.readpkts() == first


# -- live --------------------------------------------------------------------------

@pytest.mark.parametrize("read", ["iter", "next_batch"])
def test_live_on_lo_triage_after_the_filter(read):
    """Two senders to one port on lo: the filter takes both, the triage
    drops the second sender's port and keeps the first 3 of the first's."""
    need(can_capture(), "live capture needs root or CAP_NET_RAW")
    port = free_port()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", port))
    a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    try:
        p = open_lo(port, settled=True, immediate=True, timeout_ms=300, timestamp_in_ns=True)
        t = pcap.Triage(ports=[b.getsockname()[1]], port_match="src", port_action="drop", flow_head_packets=3)
        p.set_triage(t)
        sent = []
        for i in range(10):
            for s, name in ((a, b"a"), (b, b"b")):
                payload = b"triage %s %d" % (name, i)
                s.sendto(payload, ("127.0.0.1", port))
                sent.append(payload)
        got = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and t.kept + t.dropped < len(sent):
            if read == "iter":
                got += [buf for _, buf in p.readpkts()]
            else:
                records, data = p.next_batch(64)
                got += [buf for _, buf, _ in __import__("support").unpack_records(
                    records, data, len(records) // pcap.BATCH_RECORD_SIZE)]
        p.close()
    finally:
        for s in (rx, a, b):
            s.close()
    assert [buf[42:] for buf in got] == [b"triage a 0", b"triage a 1", b"triage a 2"]
    assert (t.kept, t.dropped) == (3, 17)
    assert t.stats()["dropped_port"] == 10 and t.stats()["dropped_flow_head"] == 7


def test_the_fields_of_a_batch_are_those_of_the_packets_kept(tmp_path):
    """One parse serves the triage and the fields: next_batch(fields=True)
    and to_arrow(fields=...) give the fields of exactly the packets kept."""
    np = pytest.importorskip("numpy")
    path = str(write_pcap(tmp_path / "t.pcap", STAMPED))
    want = Reference(**MIXED).run([(DLT_EN10MB, f, len(f)) for f in FRAMES])
    ports = [tuple(parse(DLT_EN10MB, f)[4:6]) for f in want]
    with pcap.pcap(path) as p:
        p.set_triage(pcap.Triage(**MIXED))
        got = []
        while True:
            records, data, fields = p.next_batch(64, fields=True)
            if not records:
                break
            got += [(int(r["src_port"]), int(r["dst_port"])) if r["present"] & 64 else (None, None)
                    for r in np.frombuffer(fields, np.dtype(pcap.FIELDS_DTYPE))]
    assert got == ports
    with pcap.pcap(path) as p:
        p.set_triage(pcap.Triage(**MIXED))
        table = p.to_arrow(50, fields="flow", data=False)
    assert list(zip(table.column("src_port").to_pylist(), table.column("dst_port").to_pylist())) == ports


@pytest.mark.parametrize("read", ["readpkts", "next_batch"])
def test_live_two_interfaces_in_one_handle(veth, read):
    """lo and a veth end in one handle: a prefix of the veth's addresses
    keeps its packets and drops lo's (127.0.0.1, no prefix: dropped)."""
    from support import settle, udp_frame, unpack_records
    port = free_port()
    p = pcap.pcap(["lo", veth.root_if], immediate=True, timeout_ms=300)
    p.setfilter(f"udp and dst port {port}")
    settle(p)
    t = pcap.Triage(["10.9.9.0/24"])
    p.set_triage(t)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((veth.root_if, 0))
    try:
        for i in range(5):
            udp.sendto(b"lo %d" % i, ("127.0.0.1", port))
            raw.send(udp_frame(b"veth %d" % i, dport=port, src="10.9.9.1", dst="10.9.9.2",
                               ether=b"\x02\x5c\xa9\x00\x00\x99\x02\x5c\xa9\x00\x00\x01"))
        got = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and t.kept + t.dropped < 10:
            if read == "readpkts":
                got += [buf for _, buf in p.readpkts()]
            else:
                records, data = p.next_batch(64)
                got += [buf for _, buf, _ in unpack_records(records, data, len(records) // pcap.BATCH_RECORD_SIZE)]
    finally:
        p.close()
        udp.close()
        raw.close()
    assert [buf[42:] for buf in got] == [b"veth %d" % i for i in range(5)]
    assert (t.kept, t.dropped, t.stats()["dropped_prefix"]) == (5, 5, 5)


def test_a_length_with_leading_zeros_is_read_as_ipaddress_reads_it():
    assert ipaddress.ip_network("10.0.0.0/008") == ipaddress.ip_network("10.0.0.0/8")
    assert pcap.Triage(["10.0.0.0/008", "2001:db8::/0032"]).prefixes == (1, 1)
