"""Header fields as columns (packet_fields.c, fields.pxi): what each read
path gives for packets built here, field by field; packets cut at every
length; the Community ID against a reference written here from the
specification (hashlib); the SHA-1 both ways against hashlib; the
arguments.  tests/test_fields_tshark.py compares real captures with
Wireshark, tests/test_community_id.py with the reference implementation."""
import base64
import io
import hashlib
import importlib
import ipaddress
import random
import socket
import struct
import threading

import pytest

import pcap
import support

np = pytest.importorskip("numpy") if not support.IN_CI else __import__("numpy")
pa = pytest.importorskip("pyarrow") if not support.IN_CI else __import__("pyarrow")

FIELDS = [name for name, *_ in pcap.FIELDS_DTYPE if name != "present"]
BITS = {"eth_dst": pcap.FIELD_ETH, "eth_src": pcap.FIELD_ETH, "ethertype": pcap.FIELD_ETHERTYPE,
        "vlan_id": pcap.FIELD_VLAN, "vlan_id_inner": pcap.FIELD_VLAN_INNER, "ip_version": pcap.FIELD_IP,
        "protocol": pcap.FIELD_PROTOCOL, "src": pcap.FIELD_IP, "dst": pcap.FIELD_IP, "ttl": pcap.FIELD_IP,
        "frag_flags": pcap.FIELD_IP, "frag_offset": pcap.FIELD_IP, "ip_len": pcap.FIELD_IP_LEN,
        "src_port": pcap.FIELD_PORTS, "dst_port": pcap.FIELD_PORTS, "tcp_flags": pcap.FIELD_TCP_FLAGS,
        "icmp_type": pcap.FIELD_ICMP, "icmp_code": pcap.FIELD_ICMP, "payload_offset": pcap.FIELD_PAYLOAD,
        "payload_len": pcap.FIELD_PAYLOAD, "community_id": pcap.FIELD_COMMUNITY_ID}

# -- packets ---------------------------------------------------------------------------

MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("0200000000fe")


def eth(ethertype, body, tags=()):
    head = MAC_B + MAC_A
    for tpid, vid in tags:
        head += struct.pack("!HH", tpid, vid)
    return head + struct.pack("!H", ethertype) + body


def ip4(proto, body, src="10.0.0.1", dst="10.9.8.7", ttl=61, frag=0, options=b""):
    ihl = 5 + len(options) // 4
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(body), 7, frag, ttl, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + options + body


def ip6(nxt, body, src="2001:db8::1", dst="2001:db8:0:1::ff", hlim=17, exts=b""):
    return (struct.pack("!IHBB", 6 << 28, len(exts) + len(body), nxt, hlim) + ipaddress.ip_address(src).packed
            + ipaddress.ip_address(dst).packed + exts + body)


def tcp(sport=40000, dport=443, flags=0x018, payload=b"hello", doff=5):
    word = (doff << 12) | flags
    return struct.pack("!HHIIHHH", sport, dport, 1, 2, word, 512, 0) + b"\0" * (4 * (doff - 5)) + b"\0\0" + payload


def udp(sport=5353, dport=53, payload=b"query"):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(type_=8, code=0, payload=b"ping"):
    return struct.pack("!BBHHH", type_, code, 0, 1, 1) + payload


# -- reading ---------------------------------------------------------------------------

def savefile(tmp_path, frames, linktype=1, name="f.pcap", fmt="pcap"):
    packets = [(1_700_000_000 + i, i, frame) for i, frame in enumerate(frames)]
    path = tmp_path / name
    if fmt == "pcapng":
        support.write_pcapng(path, packets, linktype=linktype)
    else:
        support.write_pcap(path, packets, linktype=linktype)
    return path


def records(source, seed=None, **kw):
    """The FIELDS_DTYPE records of every packet of source, by next_batch()."""
    p = source if isinstance(source, pcap.pcap) else pcap.pcap(str(source), **kw)
    out = []
    while True:
        batch = p.next_batch(3, fields=True, data=False, community_id_seed=seed)
        if not batch[0]:
            return np.concatenate(out) if out else np.zeros(0, pcap.FIELDS_DTYPE)
        out.append(np.frombuffer(batch[-1], pcap.FIELDS_DTYPE).copy())


def as_dicts(recs):
    """Each record as {field: value or None where its bit is clear}."""
    out = []
    for r in recs:
        d = {}
        for name in FIELDS:
            if not r["present"] & BITS[name]:
                d[name] = None
            elif name in ("src", "dst"):
                b = bytes(r[name])
                d[name] = (socket.inet_ntop(socket.AF_INET, b[12:]) if r["ip_version"] == 4
                           else socket.inet_ntop(socket.AF_INET6, b))
            elif name in ("eth_src", "eth_dst"):
                d[name] = bytes(r[name]).hex()
            elif name == "community_id":
                d[name] = r[name].decode()
            else:
                d[name] = int(r[name])
        out.append(d)
    return out


def arrow_dicts(path, **kw):
    t = pcap.pcap(str(path)).to_arrow(fields="all", data=False, addresses="text", **kw)
    rows = t.to_pylist()
    for row in rows:
        for name in ("eth_src", "eth_dst"):
            if row[name] is not None:
                row[name] = row[name].hex()
    return [{name: row[name] for name in FIELDS} for row in rows]


def fields_of(tmp_path, frame, linktype=1, seed=0):
    return as_dicts(records(savefile(tmp_path, [frame], linktype), seed))[0]


# -- the fields, one protocol at a time ------------------------------------------------

def test_ethernet_ipv4_tcp(tmp_path):
    f = fields_of(tmp_path, eth(0x0800, ip4(6, tcp(flags=0x1D2))))
    assert f["eth_src"] == MAC_A.hex() and f["eth_dst"] == MAC_B.hex() and f["ethertype"] == 0x0800
    assert (f["ip_version"], f["src"], f["dst"], f["protocol"], f["ttl"]) == (4, "10.0.0.1", "10.9.8.7", 6, 61)
    assert (f["src_port"], f["dst_port"], f["tcp_flags"]) == (40000, 443, 0x1D2)
    assert (f["payload_offset"], f["payload_len"], f["ip_len"]) == (14 + 20 + 20, 5, 20 + 20 + 5)
    assert f["vlan_id"] is None and f["icmp_type"] is None and f["frag_offset"] == 0 and f["frag_flags"] == 0
    assert f["community_id"] == reference_community_id("10.0.0.1", "10.9.8.7", 6, 40000, 443)


def test_tcp_options_move_the_payload(tmp_path):
    f = fields_of(tmp_path, eth(0x0800, ip4(6, tcp(doff=8, payload=b"xyz"))))
    assert (f["payload_offset"], f["payload_len"]) == (14 + 20 + 32, 3)


def test_ethernet_padding_is_not_payload(tmp_path):
    """A short datagram padded to Ethernet's 60 bytes: lengths from the IP header."""
    frame = eth(0x0800, ip4(17, udp(payload=b"")))
    frame += b"\0" * (60 - len(frame))
    f = fields_of(tmp_path, frame)
    assert (f["ip_len"], f["payload_offset"], f["payload_len"]) == (28, 42, 0)


def test_two_vlan_tags_then_ipv6_udp(tmp_path):
    f = fields_of(tmp_path, eth(0x86DD, ip6(17, udp()), tags=((0x88A8, 0x2000 | 100), (0x8100, 0xE000 | 7))))
    assert (f["vlan_id"], f["vlan_id_inner"], f["ethertype"]) == (100, 7, 0x86DD)
    assert (f["ip_version"], f["src"], f["dst"], f["ttl"], f["protocol"]) == (6, "2001:db8::1", "2001:db8:0:1::ff",
                                                                               17, 17)
    assert (f["src_port"], f["dst_port"], f["ip_len"], f["payload_offset"], f["payload_len"]) == (
        5353, 53, 40 + 13, 14 + 8 + 40 + 8, 5)


def test_a_third_vlan_tag_is_not_read_past(tmp_path):
    f = fields_of(tmp_path, eth(0x0800, ip4(17, udp()), tags=((0x8100, 1), (0x8100, 2), (0x8100, 3))))
    assert (f["vlan_id"], f["vlan_id_inner"], f["ethertype"], f["ip_version"]) == (1, 2, None, None)


def test_ipv6_extension_headers_lead_to_the_protocol(tmp_path):
    hop = bytes([43, 0]) + b"\x01\x04\0\0\0\0"                   # hop-by-hop, next: routing
    routing = bytes([51, 2, 0, 0]) + b"\0" * 20                 # routing, 24 bytes, next: AH
    ah = bytes([60, 2, 0, 0]) + b"\0" * 12                       # AH, (2 + 2) * 4 = 16 bytes, next: dest opts
    dest = bytes([6, 0]) + b"\x01\x04\0\0\0\0"                   # destination options, next: TCP
    exts = hop + routing + ah + dest
    f = fields_of(tmp_path, eth(0x86DD, ip6(0, tcp(), exts=exts)))
    assert (f["protocol"], f["src_port"], f["dst_port"]) == (6, 40000, 443)
    assert f["payload_offset"] == 14 + 40 + len(exts) + 20 and f["payload_len"] == 5


def test_ipv6_fragments(tmp_path):
    first = bytes([17, 0]) + struct.pack("!HI", 0 | 1, 99)      # offset 0, M
    later = bytes([17, 0]) + struct.pack("!HI", 1448 | 0, 99)   # offset 1448 bytes (181 * 8), last
    a = fields_of(tmp_path, eth(0x86DD, ip6(44, udp(), exts=first)))
    b = fields_of(tmp_path, eth(0x86DD, ip6(44, b"middle of a datagram", exts=later)))
    assert (a["frag_offset"], a["frag_flags"], a["protocol"], a["src_port"]) == (0, 1, 17, 5353)
    assert a["community_id"] is not None
    assert (b["frag_offset"], b["frag_flags"], b["protocol"], b["src_port"], b["community_id"]) == (
        1448, 0, 17, None, None)
    assert (b["payload_offset"], b["payload_len"]) == (14 + 48, 20)


def test_ipv4_fragments(tmp_path):
    first = fields_of(tmp_path, eth(0x0800, ip4(17, udp(), frag=0x2000)))
    later = fields_of(tmp_path, eth(0x0800, ip4(17, b"rest of it", frag=0x2000 | 185)))
    last_gre = fields_of(tmp_path, eth(0x0800, ip4(47, b"gre bytes", frag=3)))
    assert (first["frag_flags"], first["frag_offset"], first["src_port"]) == (1, 0, 5353)
    assert (later["frag_flags"], later["frag_offset"], later["src_port"], later["community_id"]) == (
        1, 185 * 8, None, None)
    assert (later["payload_offset"], later["payload_len"]) == (34, 10)
    # A protocol without ports: hashed without them, fragment or not.
    assert last_gre["community_id"] == reference_community_id("10.0.0.1", "10.9.8.7", 47)


def test_dont_fragment_and_ip_options(tmp_path):
    f = fields_of(tmp_path, eth(0x0800, ip4(17, udp(), frag=0x4000, options=b"\x94\x04\0\0")))
    assert (f["frag_flags"], f["ip_len"], f["payload_offset"], f["src_port"]) == (2, 24 + 13, 14 + 24 + 8, 5353)


@pytest.mark.parametrize("type_, code, mapped", [(8, 0, 0), (0, 0, 8), (3, 1, None), (11, 0, None), (13, 0, 14)])
def test_icmp(tmp_path, type_, code, mapped):
    f = fields_of(tmp_path, eth(0x0800, ip4(1, icmp(type_, code))))
    assert (f["icmp_type"], f["icmp_code"], f["src_port"], f["tcp_flags"]) == (type_, code, None, None)
    assert f["payload_offset"] == 14 + 20 + 8
    assert f["community_id"] == reference_community_id("10.0.0.1", "10.9.8.7", 1, type_, code)


def test_icmpv6(tmp_path):
    f = fields_of(tmp_path, eth(0x86DD, ip6(58, icmp(135, 0))))
    assert (f["protocol"], f["icmp_type"], f["icmp_code"]) == (58, 135, 0)
    assert f["community_id"] == reference_community_id("2001:db8::1", "2001:db8:0:1::ff", 58, 135, 0)


def test_sctp(tmp_path):
    sctp = struct.pack("!HHII", 2905, 2906, 1, 0) + b"chunk"
    f = fields_of(tmp_path, eth(0x0800, ip4(132, sctp)))
    assert (f["src_port"], f["dst_port"], f["payload_offset"], f["payload_len"]) == (2905, 2906, 14 + 20 + 12, 5)


def test_not_ip(tmp_path):
    f = fields_of(tmp_path, support.arp_frame(b"m"))
    assert f["ethertype"] == 0x0806 and f["eth_dst"] == "ff" * 6
    assert all(f[name] is None for name in FIELDS if name not in ("eth_src", "eth_dst", "ethertype"))


def test_an_802_3_length_is_no_ethertype(tmp_path):
    f = fields_of(tmp_path, MAC_B + MAC_A + struct.pack("!H", 38) + b"\xaa\xaa\x03" + b"\0" * 35)
    assert f["eth_src"] == MAC_A.hex() and f["ethertype"] is None and f["ip_version"] is None


# -- link types --------------------------------------------------------------------------

V4 = ip4(17, udp())
V6 = ip6(6, tcp())


@pytest.mark.parametrize("linktype, frame, version", [
    (113, struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", 0x0800) + V4, 4),            # Linux cooked
    (113, struct.pack("!HHH8sH", 4, 1, 6, MAC_A + b"\0\0", 0x8100) + struct.pack("!HH", 42, 0x86DD) + V6, 6),
    (276, struct.pack("!HHIHBB8s", 0x86DD, 0, 3, 1, 0, 6, MAC_A + b"\0\0") + V6, 6),     # Linux cooked v2
    (101, V4, 4), (101, V6, 6),                                                        # raw IP
    (228, V4, 4), (229, V6, 6),                                                        # IPv4, IPv6
    (0, struct.pack("<I", 2) + V4, 4), (0, struct.pack(">I", 2) + V4, 4),             # BSD loopback, both orders
    (0, struct.pack("<I", 24) + V6, 6), (0, struct.pack("<I", 28) + V6, 6), (0, struct.pack(">I", 30) + V6, 6),
    (108, struct.pack("!I", 2) + V4, 4), (108, struct.pack("!I", 24) + V6, 6),       # OpenBSD loopback
    (9, b"\xff\x03\x00\x21" + V4, 4), (9, b"\x00\x57" + V6, 6), (9, b"\x21" + V4, 4),  # PPP
    (50, b"\xff\x03\x00\x57" + V6, 6),                                                 # PPP in HDLC framing
    (104, b"\x0f\x00\x08\x00" + V4, 4),                                                # Cisco HDLC
])
def test_link_types(tmp_path, linktype, frame, version):
    f = fields_of(tmp_path, frame, linktype)
    assert f["ip_version"] == version
    if version == 4:
        assert (f["src"], f["protocol"], f["src_port"], f["dst_port"]) == ("10.0.0.1", 17, 5353, 53)
    else:
        assert (f["src"], f["protocol"], f["src_port"], f["dst_port"]) == ("2001:db8::1", 6, 40000, 443)
    assert f["payload_offset"] == len(frame) - 5 and f["payload_len"] == 5
    assert f["eth_src"] is None


def test_a_link_type_not_parsed_gives_nulls(tmp_path):
    assert 105 not in pcap.FIELDS_LINKTYPES and 1 in pcap.FIELDS_LINKTYPES
    f = fields_of(tmp_path, b"\x08\x02" + b"\0" * 40, 105)       # 802.11
    assert all(v is None for v in f.values())


def test_netlink_over_linux_cooked_is_not_ip(tmp_path):
    f = fields_of(tmp_path, struct.pack("!HHH8sH", 4, 824, 0, b"\0" * 8, 0x0800) + V4, 113)
    assert all(v is None for v in f.values())


# -- cut short -----------------------------------------------------------------------------

@pytest.mark.parametrize("frame, linktype", [
    (eth(0x0800, ip4(6, tcp(doff=6))), 1),
    (eth(0x86DD, ip6(0, udp(), exts=bytes([17, 0]) + b"\x01\x04\0\0\0\0"), tags=((0x8100, 5),)), 1),
    (eth(0x0800, ip4(1, icmp())), 1),
    (struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, b"\0" * 8) + ip4(132, struct.pack("!HHII", 1, 2, 3, 4)), 276),
])
def test_a_packet_cut_at_every_length(tmp_path, frame, linktype):
    """Each field is there exactly when its bytes are, and then as in the
    whole packet: never a number read from bytes that are not there."""
    whole = fields_of(tmp_path, frame, linktype)
    cuts = [frame[:n] for n in range(len(frame) + 1)]
    path = savefile(tmp_path, cuts, linktype, name="cuts.pcap")
    seen = as_dicts(records(path, seed=0))
    assert len(seen) == len(cuts)
    need = minimum_lengths(frame, linktype)
    for n, f in enumerate(seen):
        for name in FIELDS:
            if f[name] is not None:
                assert f[name] == whole[name], (n, name, f[name], whole[name])
            present = f[name] is not None
            if name in need:
                assert present == (n >= need[name]), (n, name, need[name])


def minimum_lengths(frame, linktype):
    """The caplen from which each field is there, from the layout of the
    frames above (written out by hand, not by the module's rules)."""
    if linktype == 276:
        return {"src": 20 + 20, "protocol": 20 + 20, "src_port": 20 + 20 + 4, "payload_offset": 20 + 20 + 12,
                "community_id": 20 + 20 + 4}
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0800:
        ihl = 20
        proto = frame[14 + 9]
        at = 14 + ihl
        if proto == 6:
            doff = (frame[at + 12] >> 4) * 4
            return {"eth_src": 14, "ethertype": 14, "src": at, "protocol": at, "src_port": at + 4,
                    "tcp_flags": at + 14, "payload_offset": at + doff, "community_id": at + 4}
        return {"eth_src": 14, "src": at, "icmp_type": at + 2, "payload_offset": at + 8, "community_id": at + 2}
    # VLAN, IPv6, a destination options header of 8 bytes, UDP
    return {"vlan_id": 18, "ethertype": 18, "src": 18 + 40, "protocol": 18 + 48, "src_port": 18 + 48 + 4,
            "payload_offset": 18 + 48 + 8, "community_id": 18 + 48 + 4}


# -- every way in gives the same ---------------------------------------------------------

def mixed_frames(rng, n=300):
    frames = []
    for i in range(n):
        kind = rng.randrange(6)
        src4 = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        dst4 = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        src6 = str(ipaddress.IPv6Address(rng.getrandbits(128) if rng.random() < .5 else rng.getrandbits(16)))
        dst6 = str(ipaddress.IPv6Address((0xFFFF << 32) | rng.getrandbits(32) if rng.random() < .3
                                         else rng.getrandbits(128)))
        sport, dport = rng.randrange(65536), rng.randrange(65536)
        if kind == 0:
            frame = eth(0x0800, ip4(6, tcp(sport, dport, rng.randrange(4096)), src4, dst4))
        elif kind == 1:
            frame = eth(0x0800, ip4(17, udp(sport, dport), src4, dst4))
        elif kind == 2:
            frame = eth(0x86DD, ip6(17, udp(sport, dport), src6, dst6), tags=((0x8100, rng.randrange(4096)),))
        elif kind == 3:
            frame = eth(0x86DD, ip6(58, icmp(rng.choice([128, 129, 133, 1]), rng.randrange(4)), src6, dst6))
        elif kind == 4:
            frame = eth(0x0800, ip4(1, icmp(rng.choice([8, 0, 3, 17]), rng.randrange(4)), src4, dst4))
        else:
            frame = support.arp_frame(b"%d" % i)
        frames.append(frame[:rng.randrange(14, len(frame) + 1)] if rng.random() < .1 else frame)
    return frames


def test_numpy_arrow_readinto_and_a_pipe_agree(tmp_path):
    rng = random.Random(7)
    frames = mixed_frames(rng)
    path = savefile(tmp_path, frames)
    by_records = as_dicts(records(path, seed=5))
    assert len(by_records) == len(frames)
    assert arrow_dicts(path, community_id_seed=5) == by_records
    # readinto(), its buffers ours, data=None
    p = pcap.pcap(str(path))
    recs, flds = bytearray(24 * 1000), bytearray(pcap.FIELDS_SIZE * 1000)
    n = p.readinto(recs, None, fields=flds, community_id_seed=5)
    assert n == len(frames)
    assert as_dicts(np.frombuffer(flds, pcap.FIELDS_DTYPE)[:n]) == by_records
    # with the bytes kept, and through a pipe
    with open(path, "rb") as f:
        q = pcap.pcap(f)
        t = q.to_arrow(cnt=64, fields="all", addresses="text", community_id_seed=5)
    assert t.column("data").to_pylist() == frames
    rows = t.to_pylist()
    for row in rows:
        for name in ("eth_src", "eth_dst"):
            row[name] = row[name].hex() if row[name] is not None else None
    assert [{k: r[k] for k in FIELDS} for r in rows] == by_records


def test_binary_addresses_are_ipv6_or_ipv4_mapped(tmp_path):
    path = savefile(tmp_path, [eth(0x0800, V4), eth(0x86DD, V6), support.arp_frame(b"x")])
    t = pcap.pcap(str(path)).to_arrow(fields="flow", data=False)
    assert t.schema.field("src").type == pa.binary(16)
    src = t.column("src").to_pylist()
    assert src[0] == ipaddress.IPv6Address("::ffff:10.0.0.1").packed
    assert src[1] == ipaddress.IPv6Address("2001:db8::1").packed
    assert src[2] is None
    assert t.column_names == ["timestamp", "caplen", "wirelen", "protocol", "src", "dst", "src_port", "dst_port"]
    assert t.schema.metadata[b"pcap.fields_addresses"].startswith(b"ipv6")


def test_text_addresses_are_inet_ntop(tmp_path):
    rng = random.Random(3)
    addresses = ["::", "::1", "::ffff:1.2.3.4", "::1.2.3.4", "1::", "1:0:0:2::3", "1:0:0:2:0:0:0:3", "fe80::1:0:0:1",
                 "2001:db8:0:0:1:0:0:1", "0:0:1::", "ff02::1:ff00:1"]
    addresses += [str(ipaddress.IPv6Address(bytes(rng.choice([0, 0, 0, 1, 255]) for _ in range(16))))
                  for _ in range(300)]
    frames = [eth(0x86DD, ip6(17, udp(), src=a, dst=a)) for a in addresses]
    t = pcap.pcap(str(savefile(tmp_path, frames))).to_arrow(fields=["src", "dst"], data=False, addresses="text")
    want = [socket.inet_ntop(socket.AF_INET6, ipaddress.IPv6Address(a).packed) for a in addresses]
    assert t.column("src").to_pylist() == want
    assert t.column("dst").to_pylist() == want


def test_pcapng_interfaces_of_two_link_types(tmp_path):
    """Each packet parsed with its own interface's link type, in a file
    and in a merge with a classic file."""
    path = tmp_path / "two.pcapng"
    with pcap.dumper(str(path), pcap.DLT_EN10MB, format="pcapng") as d:
        raw = d.add_interface(pcap.DLT_RAW)
        for i in range(10):
            d.write(1_700_000_000 + i, eth(0x0800, V4))
            d.write(1_700_000_000 + i + 0.5, V6, interface=raw)
    t = pcap.pcap(str(path)).to_arrow(fields=["ip_version", "src_port"])
    assert t.column("interface_id").to_pylist() == [0, 1] * 10
    assert t.column("ip_version").to_pylist() == [4, 6] * 10
    assert t.column("src_port").to_pylist() == [5353, 40000] * 10
    classic = savefile(tmp_path, [struct.pack("<I", 2) + V4] * 3, linktype=0, name="null.pcap")
    merged = pcap.pcap([str(path), str(classic)]).to_arrow(fields=["ip_version", "dst_port"])
    assert sorted(merged.column("dst_port").to_pylist()) == sorted([53, 443] * 10 + [53] * 3)
    assert merged.column("ip_version").null_count == 0


def test_a_filter_and_the_fields(tmp_path):
    """The fields of the packets the filter keeps, and only those: BPF
    also keeps a UDP packet cut inside its IPv6 header, whose fields are
    null."""
    rng = random.Random(11)
    frames = mixed_frames(rng, 200)
    path = savefile(tmp_path, frames)
    p = pcap.pcap(str(path))
    p.setfilter("udp")
    t = p.to_arrow(fields=["protocol", "src_port"])
    assert set(t.column("protocol").to_pylist()) - {None} == {17}
    kept = set(t.column("data").to_pylist())
    everything = as_dicts(records(path))
    assert t.column("src_port").to_pylist() == [f["src_port"] for f, frame in zip(everything, frames)
                                                if frame in kept]
    assert len(kept) > 20


def test_to_parquet_with_fields(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet") if not support.IN_CI else importlib.import_module("pyarrow.parquet")
    path = savefile(tmp_path, mixed_frames(random.Random(2), 50))
    n = pcap.to_parquet(str(path), str(tmp_path / "f.parquet"), fields=["src", "community_id"], data=False,
                        addresses="text", community_id_seed=9)
    t = pq.read_table(str(tmp_path / "f.parquet"))
    assert n == 50 and t.column_names == ["timestamp", "caplen", "wirelen", "src", "community_id"]
    assert t.column("community_id").to_pylist() == [f["community_id"] for f in as_dicts(records(path, seed=9))]


# -- the Community ID --------------------------------------------------------------------

ICMP4 = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6 = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 139: 140, 140: 139,
         144: 145, 145: 144}


def reference_community_id(src, dst, proto, sport=None, dport=None, seed=0):
    """The specification's algorithm (corelight/community-id-spec README),
    written here with hashlib."""
    a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    one_way = False
    if sport is not None and proto in (1, 58):
        table = ICMP4 if proto == 1 else ICMP6
        if sport in table:
            dport = table[sport]
        else:
            one_way = True
    if not one_way and (a, sport or 0) > (b, dport or 0):
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack("!H", seed) + a + b + bytes([proto, 0])
    if sport is not None:
        data += struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def test_community_id_function_against_the_reference():
    rng = random.Random(1)
    for _ in range(3000):
        v6 = rng.random() < .5
        bits = 128 if v6 else 32
        src = ipaddress.ip_address(rng.getrandbits(bits) if v6 else rng.getrandbits(bits))
        dst = src if rng.random() < .05 else ipaddress.ip_address(rng.getrandbits(bits))
        if not v6:
            src, dst = ipaddress.IPv4Address(int(src) & 0xFFFFFFFF), ipaddress.IPv4Address(int(dst) & 0xFFFFFFFF)
        proto = rng.choice([6, 17, 132, 1 if not v6 else 58, 47, 50])
        seed = rng.choice([0, 1, rng.randrange(65536)])
        if proto in (47, 50):
            want = reference_community_id(str(src), str(dst), proto, seed=seed)
            assert pcap.community_id(src, dst, proto, seed=seed) == want
        else:
            sport = rng.choice(list(ICMP4 if proto == 1 else ICMP6)) if proto in (1, 58) and rng.random() < .5 \
                else rng.randrange(256 if proto in (1, 58) else 65536)
            dport = rng.randrange(256 if proto in (1, 58) else 65536)
            want = reference_community_id(str(src), str(dst), proto, sport, dport, seed)
            assert pcap.community_id(str(src), dst.packed, proto, sport, dport, seed=seed) == want


def test_community_id_of_the_specification_examples():
    # The README of corelight/community-id-spec and its baseline (seed 0).
    assert pcap.community_id("192.168.1.52", "8.8.8.8", 17, 54585, 53) == "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
    assert pcap.community_id("8.8.8.8", "192.168.1.52", 17, 53, 54585) == "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
    assert pcap.community_id("10.1.12.1", "10.1.12.2", 46) == "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="
    assert pcap.community_id("10.0.0.1", "10.0.0.2", 1, 11, 0) == "1:YHxtAirCG//0OzkcVAukqKQN9xM="


def test_community_id_arguments():
    with pytest.raises(ValueError, match="one family"):
        pcap.community_id("10.0.0.1", "::1", 6, 1, 2)
    with pytest.raises(ValueError, match="both ports"):
        pcap.community_id("10.0.0.1", "10.0.0.2", 6, 1)
    with pytest.raises(ValueError, match="not an IP address"):
        pcap.community_id("10.0.0.300", "10.0.0.2", 6, 1, 2)
    with pytest.raises(ValueError, match="4 or 16 bytes"):
        pcap.community_id(b"\0" * 5, b"\0" * 5, 6, 1, 2)
    with pytest.raises(ValueError, match="src_port"):
        pcap.community_id("10.0.0.1", "10.0.0.2", 6, 70000, 2)
    with pytest.raises(ValueError, match="seed"):
        pcap.community_id("10.0.0.1", "10.0.0.2", 6, 1, 2, seed=-1)
    with pytest.raises(TypeError, match="address"):
        pcap.community_id(1.5, "10.0.0.2", 6, 1, 2)


def test_community_ids_of_a_batch_hashed_in_pairs(tmp_path):
    """Two at a time, and the odd one at the end of a batch: each as alone."""
    rng = random.Random(5)
    frames = [eth(0x0800, ip4(17, udp(rng.randrange(65536), rng.randrange(65536)))) for _ in range(31)]
    path = savefile(tmp_path, frames)
    p = pcap.pcap(str(path))
    seen = []
    for cnt in (1, 2, 3, 5, 7):
        batch = next(p.arrow_batches(cnt, fields=["community_id"], data=False))
        assert batch.num_rows == cnt
        seen += batch.column("community_id").to_pylist()
    seen += p.to_arrow(cnt=13, fields=["community_id"], data=False).column("community_id").to_pylist()
    want = [reference_community_id("10.0.0.1", "10.9.8.7", 17, *struct.unpack_from("!HH", f, 34)) for f in frames]
    assert seen == want


@pytest.fixture
def worker_mode():
    """Set how the Community IDs are hashed (pcap._community_id_worker),
    and put it back."""
    before = pcap._community_id_worker(-1)
    pcap._community_id_worker(before)
    yield pcap._community_id_worker
    pcap._community_id_worker(before)


def one_at_a_time(path, seed):
    """The Community IDs of each packet in a batch of its own, hashed by the
    filler (no worker, no ring to fill)."""
    p = pcap.pcap(str(path))
    return [b.column("community_id")[0].as_py() for b in p.arrow_batches(1, fields=["community_id"], data=False,
                                                                            community_id_seed=seed)]


@pytest.mark.parametrize("mode", [-1, 0, 1, 2])
def test_community_ids_of_large_batches_whoever_hashes_them(tmp_path, worker_mode, mode):
    """Batches larger than the hasher's ring (4096) and than where its worker
    starts: the same IDs whether the filler hashes them all (0), a worker
    from the first packet (1), a worker that starts only at the batch's end
    so that the ring fills and the filler hashes the rest as it goes (2),
    or as the machine allows (-1); in Arrow columns, next_batch() records
    and readinto(), in batches that end anywhere."""
    frames = mixed_frames(random.Random(11), 10000)
    path = savefile(tmp_path, frames)
    worker_mode(0)
    want = one_at_a_time(path, 9)
    assert sum(x is not None for x in want) > 7000
    have = [r for r in as_dicts(records(path, seed=9)) if r["community_id"] is not None]
    assert [r["community_id"] for r in have] == [x for x in want if x is not None]
    assert [r["community_id"] for r in have[:500]] == [
        reference_community_id(r["src"], r["dst"], r["protocol"],
                               *((r["src_port"], r["dst_port"]) if r["src_port"] is not None else
                                 (r["icmp_type"], r["icmp_code"]) if r["icmp_type"] is not None else ()), seed=9)
        for r in have[:500]]
    worker_mode(mode)
    for cnt in (10000, 6000, 257):
        t = pcap.pcap(str(path)).to_arrow(cnt=cnt, fields=["src", "community_id"], data=False, community_id_seed=9)
        assert t.column("community_id").to_pylist() == want, cnt
    p = pcap.pcap(str(path))
    got = []
    while True:
        batch = p.next_batch(7000, fields=True, data=False, community_id_seed=9)
        if not batch[0]:
            break
        got += [r["community_id"].decode() or None for r in np.frombuffer(batch[-1], pcap.FIELDS_DTYPE)]
    assert got == want
    recs, flds = bytearray(24 * 10000), bytearray(pcap.FIELDS_SIZE * 10000)
    n = pcap.pcap(str(path)).readinto(recs, None, fields=flds, community_id_seed=9)
    assert n == 10000
    assert [r["community_id"].decode() or None for r in np.frombuffer(flds, pcap.FIELDS_DTYPE)] == want


def test_community_ids_in_threads_each_with_its_worker(tmp_path, worker_mode):
    """Four threads reading at once, each fill with its own worker thread."""
    paths = [savefile(tmp_path, mixed_frames(random.Random(k), 5000), name=f"t{k}.pcap") for k in range(4)]
    worker_mode(0)
    want = [one_at_a_time(path, 0) for path in paths]
    worker_mode(1)
    got = [None] * 4

    def read(k):
        got[k] = pcap.pcap(str(paths[k])).to_arrow(fields=["community_id"], data=False).column(
            "community_id").to_pylist()
    threads = [threading.Thread(target=read, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert got == want


def test_a_fill_that_fails_waits_for_its_worker(tmp_path, worker_mode):
    """The file object raises in the middle of a batch whose worker is
    hashing: the packets before are given, then the error; nothing writes
    to the batch's memory after it is gone (run under the sanitizers by the
    fuzz harness; here: no crash, and the right IDs)."""
    frames = mixed_frames(random.Random(3), 6000)
    path = savefile(tmp_path, frames)
    worker_mode(0)
    want = one_at_a_time(path, 0)
    data = path.read_bytes()

    class Failing:
        def __init__(self):
            self.f = io.BytesIO(data)

        def read(self, n=-1):
            if self.f.tell() > len(data) // 2:
                raise ConnectionResetError("gone")
            return self.f.read(min(n, 4096) if n > 0 else 4096)
    worker_mode(1)
    p = pcap.pcap(Failing())
    got = []
    with pytest.raises(pcap.PcapError, match="ConnectionResetError"):
        for batch in p.arrow_batches(6000, fields=["community_id"], data=False):
            got += batch.column("community_id").to_pylist()
    assert 1000 < len(got) < 6000
    assert got == want[:len(got)]


def test_community_id_worker_argument():
    with pytest.raises(ValueError):
        pcap._community_id_worker(3)
    with pytest.raises(TypeError):
        pcap._community_id_worker("1")


@pytest.mark.parametrize("hardware", [0, 1])
def test_sha1_both_ways_against_hashlib(hardware):
    rng = random.Random(hardware)
    try:
        pcap._fields_sha1(b"", hardware)
    except ValueError as e:
        assert hardware == 1 and "no SHA instructions" in str(e)
        with open("/proc/cpuinfo") as f:
            assert " sha_ni" not in f.read(), "the CPU has SHA instructions, and the module did not use them"
        return
    for n in range(56):
        for _ in range(40):
            data = rng.randbytes(n)
            digest, used = pcap._fields_sha1(data, hardware)
            assert (digest, used) == (hashlib.sha1(data).digest(), bool(hardware))
    with pytest.raises(ValueError, match="55"):
        pcap._fields_sha1(b"x" * 56)


# -- arguments --------------------------------------------------------------------------------

def test_arguments(tmp_path):
    path = str(savefile(tmp_path, [eth(0x0800, V4)]))
    p = pcap.pcap(path)
    with pytest.raises(ValueError, match="no field 'sport'.*src_port"):
        p.arrow_batches(fields=["sport"])
    with pytest.raises(TypeError, match="column names"):
        p.arrow_batches(fields=[1])
    with pytest.raises(ValueError, match="'binary' or 'text'"):
        p.arrow_batches(fields="flow", addresses="hex")
    with pytest.raises(ValueError, match="ask for fields"):
        p.arrow_batches(data=False)
    with pytest.raises(ValueError, match="community_id_seed"):
        p.arrow_batches(fields="flow", community_id_seed=65536)
    with pytest.raises(ValueError, match="fields=True"):
        p.next_batch(data=False)
    with pytest.raises(ValueError, match="comes with fields=True"):
        p.next_batch(community_id_seed=1)
    with pytest.raises(TypeError, match="None only with fields"):
        p.readinto(bytearray(100), None)
    with pytest.raises(TypeError, match="fields"):
        p.readinto(bytearray(100), None, fields=b"read-only")
    # Nothing was read by the refusals.
    assert len(p.to_arrow(fields=["src_port"])) == 1


def test_readinto_stops_when_the_fields_buffer_is_full(tmp_path):
    path = str(savefile(tmp_path, [eth(0x0800, V4)] * 10))
    p = pcap.pcap(path)
    flds = bytearray(pcap.FIELDS_SIZE * 4 + 10)
    assert p.readinto(bytearray(24 * 100), bytearray(1 << 17), fields=flds) == 4
    assert p.readinto(bytearray(24 * 100), bytearray(1 << 17), fields=flds) == 4
    assert p.readinto(bytearray(24 * 100), bytearray(1 << 17), fields=flds) == 2
    assert np.frombuffer(flds, pcap.FIELDS_DTYPE, 2)["dst_port"].tolist() == [53, 53]


def test_dtype_matches_the_record():
    dt = np.dtype(pcap.FIELDS_DTYPE)
    assert dt.itemsize == pcap.FIELDS_SIZE == 112
    assert [dt.fields[n][1] for n in ("present", "eth_dst", "src", "ip_len", "src_port", "payload_len",
                                      "community_id")] == [0, 4, 24, 60, 64, 76, 80]
    assert set(pcap.FIELDS) == set(FIELDS) and pcap.FIELD_SETS["all"] == pcap.FIELDS
