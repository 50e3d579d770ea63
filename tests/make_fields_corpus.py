"""Write the synthetic part of the header-fields corpus, tests/data/fields/
(``python tests/make_fields_corpus.py [DIR]``): the cases no public capture
in the real corpus has, or has only in fuzzed files, built byte by byte here
so that they can be rebuilt and read.  Each frame is correct as the RFCs say
unless its comment says what is wrong with it on purpose.

What each file holds is in tests/data/fields/README.md; the test
(tests/test_fields_tshark.py) compares what the module parses of every
packet with tshark's dissection of it, so nothing here states an expected
value.  The files are deterministic: running this again writes the same
bytes."""
import os
import pathlib
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import Pcapng, write_pcap  # noqa: E402

MAC_A = bytes.fromhex("001122334455")
MAC_B = bytes.fromhex("66778899aabb")
V4_A, V4_B = "192.0.2.10", "198.51.100.20"
V6_A, V6_B = "2001:db8::10", "2001:db8:1::20"


def a4(text):
    return socket.inet_pton(socket.AF_INET, text)


def a6(text):
    return socket.inet_pton(socket.AF_INET6, text)


# -- transport ------------------------------------------------------------------------

def tcp(sport, dport, flags, payload=b"", options=b"", seq=1000, ack=0):
    """A TCP header with ``flags`` (12 bits: the data-offset byte's low 4
    bits carry the top 4 flag bits, as tshark's tcp.flags counts them)."""
    options += b"\x01" * (-len(options) % 4)
    offset = (20 + len(options)) // 4
    return struct.pack("!HHIIHHHH", sport, dport, seq, ack, offset << 12 | flags & 0xFFF, 8192, 0, 0) \
        + options + payload


def udp(sport, dport, payload=b"", length=None):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def icmp(icmp_type, code, rest=b"\0\0\0\0", body=b""):
    return struct.pack("!BBH", icmp_type, code, 0) + rest + body


def sctp(sport, dport, chunks=b""):
    return struct.pack("!HHII", sport, dport, 0x11223344, 0) + chunks


SCTP_INIT = struct.pack("!BBHIIHHI", 1, 0, 20, 0xCAFE, 65536, 10, 10, 1)


# -- IP -----------------------------------------------------------------------------

def ip4(proto, payload, src=V4_A, dst=V4_B, ttl=64, flags=0, frag=0, options=b"", total=None, ident=1):
    """IPv4: ``flags`` the three bits (4 reserved, 2 DF, 1 MF), ``frag`` the
    offset in bytes (a multiple of 8)."""
    options += b"\x01" * (-len(options) % 4)
    ihl = (20 + len(options)) // 4
    length = ihl * 4 + len(payload) if total is None else total
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length, ident, flags << 13 | frag // 8, ttl, proto, 0,
                       a4(src), a4(dst)) + options + payload


def ip6(nxt, payload, src=V6_A, dst=V6_B, hlim=64, plen=None):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload) if plen is None else plen, nxt, hlim,
                       a6(src), a6(dst)) + payload


def ext(nxt, body):
    """A hop-by-hop, routing or destination options header: ``body`` padded
    to a multiple of 8 with the two-byte header (PadN)."""
    body = bytes(body)
    pad = -(len(body) + 2) % 8
    if pad == 1:
        body += b"\0"
    elif pad:
        body += bytes([1, pad - 2]) + b"\0" * (pad - 2)
    return bytes([nxt, (len(body) + 2) // 8 - 1]) + body


def frag6(nxt, offset, more, ident=0x1234):
    return struct.pack("!BBHI", nxt, 0, offset // 8 << 3 | (1 if more else 0), ident)


def ah(nxt, payload_words=4):
    """An Authentication Header: 12 bytes and an ICV to make (len + 2) * 4."""
    icv = b"\xaa" * ((payload_words + 2) * 4 - 12)
    return struct.pack("!BBHII", nxt, payload_words, 0, 0x100, 1) + icv


# -- link layers --------------------------------------------------------------------------

def eth(ethertype, payload, dst=MAC_B, src=MAC_A):
    return dst + src + struct.pack("!H", ethertype) + payload


def vlan(tpid, vid, pcp=0, dei=0):
    return struct.pack("!HH", tpid, pcp << 13 | dei << 12 | vid)


def tagged(tags, ethertype, payload, dst=MAC_B, src=MAC_A):
    """An Ethernet frame with ``tags`` ((tpid, vid, pcp, dei), ...) before ``ethertype``."""
    return dst + src + b"".join(vlan(*t) for t in tags) + struct.pack("!H", ethertype) + payload


def arp():
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, a4(V4_A), b"\0" * 6, a4(V4_B))


def sll(protocol, payload, pkttype=0, hatype=1):
    return struct.pack("!HHH8sH", pkttype, hatype, 6, MAC_A + b"\0\0", protocol) + payload


def sll2(protocol, payload, pkttype=0, hatype=1, ifindex=2):
    return struct.pack("!HHIHBB8s", protocol, 0, ifindex, hatype, pkttype, 6, MAC_A + b"\0\0") + payload


# -- the packets -------------------------------------------------------------------------

def ipv4_packets():
    """IPv4 over Ethernet: TCP, UDP, ICMP, SCTP and port-less protocols."""
    mss_sack_ts_ws = bytes.fromhex("020405b4 0402 080a0000000100000000 01 030307".replace(" ", ""))
    quoted_udp = ip4(17, udp(5353, 53, b"q" * 12), src=V4_B, dst=V4_A)
    quoted_tcp = ip4(6, tcp(40000, 443, 0x002)[:8], src=V4_B, dst="203.0.113.5", total=60)
    inner_tcp = ip4(6, tcp(1, 2, 0x010, b"inner"), src="10.1.1.1", dst="10.2.2.2")
    inner_udp = ip4(17, udp(3, 4, b"in"), src="10.3.3.3", dst="10.4.4.4")
    return [
        eth(0x0800, ip4(6, tcp(49152, 80, 0x002, options=mss_sack_ts_ws), flags=2)),      # SYN, options, DF
        eth(0x0800, ip4(6, tcp(80, 49152, 0x012, options=b"\x02\x04\x05\xb4"), src=V4_B, dst=V4_A, ttl=1)),
        eth(0x0800, ip4(6, tcp(49152, 80, 0x018, b"GET / HTTP/1.0\r\n\r\n"), ttl=255)),
        eth(0x0800, ip4(6, tcp(49152, 80, 0xFFF, b"x"))),               # every one of the 12 flag bits
        eth(0x0800, ip4(6, tcp(49152, 80, 0x1C2))),                     # AE (NS), CWR, ECE on a SYN... and a reserved bit
        eth(0x0800, ip4(6, tcp(49152, 80, 0x011))) + b"\0" * 6,         # FIN|ACK in a 60-byte frame: padding is no payload
        eth(0x0800, ip4(17, udp(33000, 53, b"\x12\x34" + b"d" * 28))),
        eth(0x0800, ip4(17, udp(68, 67))),                              # an empty UDP datagram
        eth(0x0800, ip4(17, udp(33001, 53, b"opt"), options=b"\x94\x04\0\0")),          # IHL 6 (router alert)
        eth(0x0800, ip4(17, udp(33002, 53, b"opts"), options=b"\x07\x0b\x04" + b"\0" * 8)),  # IHL 8 (record route)
        eth(0x0800, ip4(6, tcp(1, 2, 0x004), flags=4 | 2)),             # the reserved ("evil") bit and DF
        eth(0x0800, ip4(1, icmp(8, 0, b"\x00\x01\x00\x07", b"ping" * 8))),
        eth(0x0800, ip4(1, icmp(0, 0, b"\x00\x01\x00\x07", b"ping" * 8), src=V4_B, dst=V4_A)),
        eth(0x0800, ip4(1, icmp(3, 3, body=quoted_udp), src=V4_A, dst=V4_B)),       # quotes IPv4/UDP: not ours
        eth(0x0800, ip4(1, icmp(11, 0, body=quoted_tcp), src="203.0.113.1", dst=V4_B)),
        eth(0x0800, ip4(1, icmp(13, 0, b"\0\x09\0\x01", b"\0" * 12))),  # timestamp request
        eth(0x0800, ip4(132, sctp(2905, 2905, SCTP_INIT))),
        eth(0x0800, ip4(132, sctp(36412, 38412))),                      # SCTP, common header only
        eth(0x0800, ip4(2, struct.pack("!BBH4s", 0x11, 100, 0, a4("0.0.0.0")), dst="224.0.0.1", ttl=1,
                        options=b"\x94\x04\0\0")),                      # IGMP query
        eth(0x0800, ip4(47, struct.pack("!HH", 0, 0x0800) + inner_udp)),               # GRE: ports are the inner's
        eth(0x0800, ip4(4, inner_tcp)),                                  # IP in IP
        eth(0x0800, ip4(41, ip6(17, udp(7, 8, b"6in4")))),               # IPv6 in IPv4
        eth(0x0800, ip4(50, b"\0\0\x01\0\0\0\0\x01" + b"e" * 24)),       # ESP
        eth(0x0800, ip4(17, udp(5000, 5001, b"z" * 40), ttl=0)),         # TTL 0
    ]


def ipv4_fragment_packets():
    """One UDP datagram of 3,000 bytes in three fragments, an ICMP echo in
    two, TCP in two, and a fragment that comes first on the wire but is the
    last one."""
    datagram = udp(40001, 9999, (bytes(range(256)) * 12)[:2992])
    echo = icmp(8, 0, b"\x00\x02\x00\x01", b"E" * 1600)
    segment = tcp(40002, 8080, 0x018, b"T" * 1500)
    out = []
    for pieces, proto, ident in ((datagram, 17, 11), (echo, 1, 12), (segment, 6, 13)):
        at = 0
        while at < len(pieces):
            chunk = pieces[at:at + 1480]
            more = at + 1480 < len(pieces)
            out.append(eth(0x0800, ip4(proto, chunk, flags=1 if more else 0, frag=at, ident=ident)))
            at += 1480
    out.insert(0, out.pop(2))               # the datagram's last fragment first
    # A first fragment too short for the whole TCP header (8 bytes of it: a
    # tiny-fragment attack); and a DF datagram with an offset (bogus, but parsable).
    out.append(eth(0x0800, ip4(6, segment[:8], flags=1, ident=14)))
    out.append(eth(0x0800, ip4(17, b"\0" * 16, flags=2, frag=8, ident=15)))
    return out


def ipv6_packets():
    """IPv6 over Ethernet, with extension headers."""
    router_alert = b"\x05\x02\0\0"
    rh0 = struct.pack("!BBI", 0, 1, 0) + a6("2001:db8:2::1")
    srh = struct.pack("!BBBBHH", 4, 2, 0, 0, 0, 0) + a6("2001:db8:3::1") + a6(V6_B)   # RH type 4, 2 segments
    quoted = ip6(17, udp(5353, 53, b"quoted"), src=V6_B, dst=V6_A)
    mld = icmp(130, 0, b"\0\x0a\0\0", a6("::"))
    return [
        eth(0x86DD, ip6(6, tcp(49153, 443, 0x002, options=b"\x02\x04\x05\xa0"))),
        eth(0x86DD, ip6(17, udp(546, 547, b"dhcp6"), hlim=1)),
        eth(0x86DD, ip6(58, icmp(128, 0, b"\0\x01\0\x01", b"ping6"))),
        eth(0x86DD, ip6(58, icmp(129, 0, b"\0\x01\0\x01", b"ping6"), src=V6_B, dst=V6_A, hlim=255)),
        eth(0x86DD, ip6(58, icmp(135, 0, b"\0\0\0\0", a6(V6_B)), dst="ff02::1:ff00:20", hlim=255)),
        eth(0x86DD, ip6(0, ext(58, router_alert) + mld, dst="ff02::16", hlim=1)),      # hop-by-hop, MLD
        eth(0x86DD, ip6(0, ext(60, b"") + ext(43, b"") + ext(17, rh0) + udp(1, 2, b"chain"))),  # HBH, DST, RH0
        eth(0x86DD, ip6(43, ext(6, srh) + tcp(49154, 22, 0x010))),       # segment routing header
        eth(0x86DD, ip6(60, ext(6, b"\xc9\x10" + a6(V6_A)) + tcp(49155, 22, 0x018, b"ssh"))),   # home address option
        eth(0x86DD, ip6(44, frag6(17, 0, True) + udp(40003, 4789, b"F" * 64))),     # first fragment
        eth(0x86DD, ip6(44, frag6(17, 1232, False) + b"G" * 64)),                   # a later one
        eth(0x86DD, ip6(44, frag6(58, 0, False) + icmp(128, 0, b"\0\2\0\2"))),      # an atomic fragment
        eth(0x86DD, ip6(0, ext(44, b"") + frag6(6, 2048, True) + b"H" * 32)),       # HBH, then a later fragment
        eth(0x86DD, ip6(59, b"")),                                       # no next header
        eth(0x86DD, ip6(0, ext(6, b"") + tcp(1, 2, 0x002), plen=4)),     # a payload length shorter than its first header
        eth(0x86DD, ip6(60, ext(59, b"") + b"trailing")),                # destination options, then no next header
        eth(0x86DD, ip6(50, b"\0\0\x02\0\0\0\0\x01" + b"e" * 24)),       # ESP
        eth(0x86DD, ip6(51, ah(6) + tcp(49156, 179, 0x018, b"bgp"))),     # AH, then TCP
        eth(0x86DD, ip6(58, icmp(1, 4, body=quoted))),                   # unreachable, quoting IPv6/UDP: not ours
        eth(0x86DD, ip6(41, ip6(17, udp(9, 10, b"6in6"), src="2001:db8:9::1", dst="2001:db8:9::2"))),
        eth(0x86DD, ip6(4, ip4(17, udp(11, 12, b"4in6")))),
        eth(0x86DD, ip6(132, sctp(5060, 5060, SCTP_INIT))),
        eth(0x86DD, ip6(17, udp(123, 123, b"ntp"), src="::ffff:192.0.2.1", dst="::1")),   # a v4-mapped source
        eth(0x86DD, ip6(1, icmp(8, 0, b"\0\3\0\3", b"v4 echo in v6"))),  # ICMP (for IPv4) over IPv6: by number
        eth(0x0800, ip4(58, icmp(128, 0, b"\0\4\0\4", b"v6 echo in v4"))),  # and ICMPv6 over IPv4
    ]


def vlan_packets():
    """802.1Q, 802.1ad and stacked tags."""
    v4udp = ip4(17, udp(1111, 2222, b"vlan"))
    return [
        tagged([(0x8100, 100, 0, 0)], 0x0800, v4udp),
        tagged([(0x8100, 101, 5, 1)], 0x0800, ip4(6, tcp(3, 4, 0x002))),     # priority and DEI bits set
        tagged([(0x8100, 0, 3, 0)], 0x0800, v4udp),                             # a priority tag (VID 0)
        tagged([(0x8100, 4095, 0, 0)], 0x86DD, ip6(58, icmp(128, 0, b"\0\1\0\1"))),
        tagged([(0x88A8, 200, 0, 0), (0x8100, 300, 0, 0)], 0x0800, ip4(6, tcp(5, 6, 0x010, b"qinq"))),
        tagged([(0x8100, 10, 0, 0), (0x8100, 20, 7, 1)], 0x86DD, ip6(17, udp(7, 8, b"double 8100"))),
        tagged([(0x88A8, 30, 0, 0), (0x8100, 40, 0, 0), (0x8100, 50, 0, 0)], 0x0800, v4udp),   # three tags
        tagged([(0x9100, 60, 0, 0), (0x8100, 70, 0, 0)], 0x0800, v4udp),     # the old QinQ TPID
        tagged([(0x8100, 80, 0, 0)], 0x0806, arp()),
        tagged([(0x88A8, 90, 0, 0), (0x8100, 91, 0, 0)], 0x0806, arp()),
        tagged([(0x8100, 92, 0, 0)], 0x88CC, b"\x02\x07\x04" + MAC_A + b"\0\0"),   # LLDP in a VLAN
    ]


def non_ip_packets():
    """Ethernet frames that carry no IP."""
    llc_stp = b"\x42\x42\x03" + b"\0" * 35
    return [
        eth(0x0806, arp(), dst=b"\xff" * 6),
        eth(0x0806, arp()) + b"\0" * 18,                                  # padded to 60 bytes
        eth(0x88CC, b"\x02\x07\x04" + MAC_A + b"\x04\x03\x05ab\0\0", dst=bytes.fromhex("0180c200000e")),
        MAC_B + MAC_A + struct.pack("!H", len(llc_stp)) + llc_stp,       # 802.3 with an 802.2 LLC header
        eth(0x8863, b"\x11\x09\0\0\0\x04\x01\x01\0\0"),                  # PPPoE discovery
        eth(0x8864, b"\x11\0\x00\x01\0\x16\x00\x21" + ip4(17, udp(1, 2, b"ppp"))),   # PPPoE session, IPv4 in it
        eth(0x8847, b"\x00\x01\x01\x40" + ip4(17, udp(3, 4, b"mpls"))),   # MPLS, IPv4 under one label
        eth(0x0800, b"\x60" + b"\0" * 39),                               # ethertype IPv4, version 6 inside
        eth(0x86DD, ip4(17, udp(5, 6))),                                 # ethertype IPv6, an IPv4 packet inside
        eth(0x0800, b"\x44" + ip4(17, udp(7, 8))[1:]),                   # IHL 4: shorter than a header can be
        eth(0x0800, ip4(17, udp(9, 10, b"short"), total=24)),            # total length inside the header + 4
        eth(0x0800, ip4(6, tcp(11, 12, 0x010)[:12] + b"\x40\x10" + tcp(11, 12, 0x010)[14:])),   # TCP data offset 4
    ]


def truncated_packets():
    """Frames cut short (caplen < wirelen, as a small snaplen leaves them):
    ``(frame, caplen)``."""
    v4tcp = eth(0x0800, ip4(6, tcp(49152, 80, 0x018, b"p" * 100, options=b"\x01\x01\x08\x0a" + b"\0" * 8)))
    v4opt = eth(0x0800, ip4(17, udp(1, 2, b"p" * 50), options=b"\x94\x04\0\0"))
    v4udp = eth(0x0800, ip4(17, udp(33000, 53, b"p" * 50)))
    v4icmp = eth(0x0800, ip4(1, icmp(8, 0, b"\0\1\0\1", b"p" * 50)))
    v4sctp = eth(0x0800, ip4(132, sctp(1, 2, SCTP_INIT)))
    q = tagged([(0x88A8, 200, 0, 0), (0x8100, 300, 0, 0)], 0x0800, ip4(17, udp(3, 4, b"p" * 50)))
    v6ext = eth(0x86DD, ip6(0, ext(60, b"") + ext(6, b"\x01\x04" + b"\0" * 4) + tcp(5, 6, 0x002)))
    v6icmp = eth(0x86DD, ip6(58, icmp(128, 0, b"\0\1\0\1", b"p" * 50)))
    return [
        (v4tcp, 10),            # inside the Ethernet addresses
        (v4tcp, 13),            # inside the ethertype
        (v4tcp, 14),            # Ethernet whole, nothing else
        (q, 16),                # inside the first tag
        (q, 20),                # inside the second tag's ethertype... the tags whole, no ethertype after them
        (q, 22),                # both tags and the ethertype, no IP
        (v4tcp, 33),            # IPv4 header one byte short
        (v4tcp, 34),            # IPv4 header whole, no TCP
        (v4tcp, 37),            # TCP ports whole, not the header
        (v4tcp, 47),            # TCP flags there, not the header's end (data offset 8: 32 bytes)
        (v4tcp, 65),            # TCP header one byte short (options)
        (v4tcp, 66),            # TCP header whole, no payload
        (v4opt, 37),            # inside the IPv4 options
        (v4udp, 37),            # UDP ports whole, not the header
        (v4udp, 41),            # UDP header one byte short
        (v4udp, 42),
        (v4icmp, 35),           # ICMP type only
        (v4icmp, 36),           # ICMP type and code
        (v4icmp, 38),           # ICMP type, code, checksum
        (v4icmp, 41),
        (v4sctp, 45),           # SCTP common header one byte short
        (v4sctp, 46),
        (eth(0x86DD, b""), 14),
        (v6ext, 53),            # IPv6 header one byte short
        (v6ext, 54),            # IPv6 header whole, not the hop-by-hop header
        (v6ext, 61),            # hop-by-hop header one byte short
        (v6ext, 70),            # inside the destination options
        (v6ext, 80),            # TCP ports there, not the whole TCP header
        (v6icmp, 57),
        (v6icmp, 58),
    ]


def linktype_packets():
    """The same few packets under every link type the parser reads:
    ``{name: (linktype, [frame, ...], byteorder)}``."""
    v4 = ip4(17, udp(5000, 6000, b"link"))
    v6 = ip6(6, tcp(7000, 8000, 0x018, b"link"))
    v6icmp = ip6(58, icmp(128, 0, b"\0\1\0\1", b"link"))

    def null(af, order):
        return struct.pack(order + "I", af)
    return {
        "sll": (113, [sll(0x0800, v4), sll(0x86DD, v6, pkttype=4), sll(0x0806, arp(), pkttype=1),
                      sll(0x0004, b"\x42\x42\x03" + b"\0" * 35, pkttype=2),
                      sll(0x8100, vlan(0, 5)[2:] + struct.pack("!H", 0x0800) + v4),
                      sll(0x0800, v4, hatype=772),
                      sll(0x0000, struct.pack("=IHHII", 20, 16, 0, 1, 0), hatype=824)], "<"),   # netlink
        "sll2": (276, [sll2(0x0800, v4), sll2(0x86DD, v6, pkttype=4), sll2(0x0806, arp(), pkttype=1),
                       sll2(0x86DD, v6icmp, hatype=772, ifindex=1)], "<"),
        "null-le": (0, [null(2, "<") + v4, null(24, "<") + v6, null(28, "<") + v6icmp, null(30, "<") + v6,
                        null(7, "<") + b"\0" * 20], "<"),
        # A big-endian host's capture: the family in its order, the file too.
        "null-be": (0, [null(2, ">") + v4, null(24, ">") + v6, null(28, ">") + v6icmp, null(30, ">") + v6],
                    ">"),
        # A little-endian host's families read from a big-endian file (the family is the host's, not the file's).
        "null-le-in-be-file": (0, [null(2, "<") + v4, null(30, "<") + v6], ">"),
        "loop": (108, [null(2, ">") + v4, null(24, ">") + v6, null(28, ">") + v6icmp, null(30, ">") + v6],
                 "<"),
        "raw": (101, [v4, v6, v6icmp, ip4(1, icmp(8, 0, b"\0\1\0\1"))], "<"),
        "ipv4": (228, [v4, ip4(6, tcp(1, 2, 0x002))], "<"),
        "ipv6": (229, [v6, v6icmp], "<"),
        "ppp": (9, [b"\xff\x03\x00\x21" + v4, b"\xff\x03\x00\x57" + v6, b"\xff\x03\xc0\x21\x01\x01\x00\x04",
                    b"\x00\x21" + v4, b"\x21" + v4], "<"),     # no address and control; and a 1-byte protocol
    }


def write_all(directory):
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def classic(name, frames, *, linktype=1, byteorder="<", snaplen=65535):
        records = []
        for i, frame in enumerate(frames):
            data, caplen = (frame if isinstance(frame, tuple) else (frame, len(frame)))
            records.append((1_700_000_000 + i, i * 1000, data[:caplen], len(data)))
        path = directory / f"{name}.pcap"
        write_pcap(path, records, byteorder=byteorder, linktype=linktype, snaplen=snaplen)
        written.append(path)

    classic("syn-eth-ipv4", ipv4_packets())
    classic("syn-eth-ipv4-fragments", ipv4_fragment_packets())
    classic("syn-eth-ipv6", ipv6_packets())
    classic("syn-eth-vlan", vlan_packets())
    classic("syn-eth-non-ip", non_ip_packets())
    classic("syn-truncated", truncated_packets(), snaplen=96)
    for name, (linktype, frames, order) in linktype_packets().items():
        classic(f"syn-{name}", frames, linktype=linktype, byteorder=order)

    # pcapng: three interfaces of three link types in one section, the
    # packets of each interleaved (each packet is read with its own).  (The
    # Linux cooked one first: read in the other byte order, the module
    # takes that link type only on a file's first interface.)
    links = linktype_packets()
    ng = Pcapng("<").shb().idb(113, 0, name="any").idb(1, 0, name="eth0").idb(101, 0, name="tun0")
    frames = [(1, f) for f in ipv4_packets()[:6]] + [(0, f) for f in links["sll"][1]] \
        + [(2, f) for f in links["raw"][1]]
    frames = [frames[i] for i in sorted(range(len(frames)), key=lambda i: (i % 5, i))]
    for i, (iface, frame) in enumerate(frames):
        ng.epb(iface, (1_700_000_000 + i) * 10**6, frame)
    path = directory / "syn-multi-linktype.pcapng"
    path.write_bytes(bytes(ng))
    written.append(path)
    return written


if __name__ == "__main__":
    here = pathlib.Path(__file__).parent / "data" / "fields"
    for p in write_all(sys.argv[1] if len(sys.argv) > 1 else here):
        print(p, p.stat().st_size)
