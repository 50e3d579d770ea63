"""What Wireshark says of each packet's header fields, in the module's
field names and units (pcap.FIELDS_DTYPE, packet_fields.h): the reference
that tests/test_fields_tshark.py and tests/test_community_id.py compare the
module's columns with.

tshark dissects each file once (``tshark -T json -x``: every field with the
offset and length of its bytes, the layers in the order they were
dissected), with the preferences that keep it from reassembling anything,
so that each packet is dissected alone, as the module parses it:
ip.defragment, ipv6.defragment, tcp.desegment_tcp_streams,
udp/sctp reassembly off; ip.tso_support off (with it, tshark replaces an
IPv4 total length of 0 by the captured length; the module reports the
header's 0).  The Community ID dissector is enabled with the seed asked for.

How tshark's fields map to ours, and where the meanings differ (each
difference is mapped here, so that the test compares like with like):

- Layers: the module parses the link layer, up to two VLAN tags, then IPv4
  or IPv6 if the link layer says so, then the transport header after it.
  tshark goes on through tunnels (GRE, IP in IP, MPLS, PPPoE, VXLAN...) and
  into the headers an ICMP error quotes.  Here only the FIRST ip/ipv6 layer
  counts, and only when it comes right after the link layers (an IP packet
  inside PPPoE or MPLS is not the module's: no IP fields); and only the
  transport layer right after that IP layer (and its extension headers)
  counts: a quoted header nested in tshark's icmp/icmpv6 layer, or the inner
  packet of a tunnel, is ignored.
- eth_dst, eth_src: eth.dst, eth.src, only when the whole 14-byte Ethernet
  header was captured (tshark shows the destination of a frame cut inside
  the source address; the module shows neither).
- ethertype: eth.type, or the vlan.etype / ieee8021ad.etype of the last
  tag when the frame is tagged; sll.etype for Linux cooked captures (v1
  and v2); null for an 802.3 length (tshark's eth.len), a Linux protocol
  number below 0x600 (sll.ltype), a tag cut short, a third tag (the module
  has columns for two: it stops there) and the link types whose header has
  no ethertype (BSD loopback, raw IP, PPP: their IP version comes from the
  address family, the version nibble, the PPP protocol).
- vlan_id, vlan_id_inner: vlan.id / ieee8021ad.id of the first and second
  tag (TPIDs 0x8100, 0x88a8, 0x9100), each only when its 4 bytes are whole.
- ip_version, src, dst, ttl: ip.version / ipv6 layer, ip.src / ipv6.src
  (IPv4 as ::ffff:a.b.c.d, 16 bytes), ip.ttl / ipv6.hlim; only when the
  fixed header (20 or 40 bytes) was captured whole and its version nibble
  agrees with the link layer (tshark shows the first fields of an IPv4
  header cut short; the module shows none).  An IPv4 header whose IHL is
  below 5 has none of its fields (tshark shows a few before it gives up).
- protocol: ip.proto; for IPv6, the next header after the extension headers
  the module walks (hop-by-hop, routing, destination options, fragment,
  AH, mobility): the .nxt of the last one tshark shows (ah.next_header,
  mip6.proto), ipv6.nxt when there are none.  Null when an extension header
  is cut short (the protocol after it is unknown).
- frag_offset: ip.frag_offset and ipv6.fraghdr.offset are in units of 8
  bytes in tshark 4; ours is in bytes (x 8).  0 without a fragment header.
- frag_flags: tshark 4's ip.flags is already the three bits (0x4 reserved,
  0x2 DF, 0x1 MF); IPv6: ipv6.fraghdr.more, 0 without a fragment header.
- ip_len: ip.len; IPv6: 40 + ipv6.plen, null for a jumbogram (payload
  length 0 and a hop-by-hop header next).
- src_port, dst_port: tcp/udp/sctp .srcport/.dstport, when that layer comes
  right after the first IP layer of the first fragment (tshark, not
  reassembling, dissects the first fragment's transport header and not the
  later ones'), and the 4 bytes are captured.  Field by field, as tshark
  shows them: ports whole but the rest of the header cut still has ports.
- tcp_flags: tcp.flags (12 bits), when its 2 bytes are captured.
- icmp_type, icmp_code: icmp.type/.code (IPv4, protocol 1),
  icmpv6.type/.code (IPv6, next header 58).
- payload_offset, payload_len: not tshark fields: the first byte after the
  last header parsed (the transport layer's offset in tshark's dissection,
  plus tcp.hdr_len, 8 for UDP and ICMP, 12 for SCTP, nothing for other
  protocols), and the datagram's bytes from there as the IP header says
  (ip.len or 40 + ipv6.plen, less what comes before): tshark's tcp.len for
  TCP; for UDP, what the IP header says, which is udp.length - 8 when the
  two agree.  Null when that header is not whole within the capture (or a
  TCP data offset below 5), and for a jumbogram.  For a fragment other than
  the first: right after the IP header (IPv6: after the fragment header).
- community_id: computed with the reference implementation (the
  ``communityid`` package) from this reference's own 5-tuple; null where
  TCP/UDP/SCTP lack ports or ICMP its type (a later fragment, a header cut
  short), and for packets without IP.  tshark's own communityid field is
  returned apart (``tshark_community_id``) for the test that compares it.
"""
import functools
import ipaddress
import json
import subprocess

from support import need

FIELD_NAMES = ("eth_dst", "eth_src", "ethertype", "vlan_id", "vlan_id_inner", "ip_version", "protocol", "src",
               "dst", "ttl", "frag_flags", "frag_offset", "ip_len", "src_port", "dst_port", "tcp_flags",
               "icmp_type", "icmp_code", "payload_offset", "payload_len", "community_id")

TSHARK_PREFS = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-o", "tcp.desegment_tcp_streams:FALSE",
                "-o", "sctp.reassembly:FALSE", "-o", "ip.tso_support:FALSE", "-o", "ipv6.tso_support:FALSE",
                "-o", "tcp.analyze_sequence_numbers:FALSE", "-o", "tcp.calculate_timestamps:FALSE"]

LINK_LAYERS = {"eth", "vlan", "ieee8021ad", "sll", "null", "raw", "ppp", "chdlc"}
VLAN_LAYERS = {"vlan": "vlan", "ieee8021ad": "ieee8021ad"}
# The IPv6 extension headers the module walks, as tshark shows them inside
# its ipv6 layer: (next header field, length field, unit, added to the
# length): the header's length is (length + added) * unit bytes.
IPV6_EXTENSIONS = {
    "ipv6.hopopts": ("ipv6.hopopts.nxt", "ipv6.hopopts.len", 8, 1),
    "ipv6.routing": ("ipv6.routing.nxt", "ipv6.routing.len", 8, 1),
    "ipv6.dstopts": ("ipv6.dstopts.nxt", "ipv6.dstopts.len", 8, 1),
    "ipv6.fraghdr": ("ipv6.fraghdr.nxt", None, 8, 1),
    "ah": ("ah.next_header", "ah.length", 4, 2),
    "mipv6": ("mip6.proto", "mip6.hlen", 8, 1),
}
# tshark's frame.encap_type (Wireshark's WTAP_ENCAP_*) of LINKTYPE_IPV4
# (228) and LINKTYPE_IPV6 (229): tshark dissects by the version nibble,
# the module by the link type.
WTAP_ENCAP_FAMILY = {129: 4, 130: 6}
TRANSPORTS = {6: "tcp", 17: "udp", 132: "sctp", 1: "icmp", 58: "icmpv6"}


def tshark_json(tshark, path, *, seed=0, timeout=300):
    """tshark's JSON of every packet of ``path``: a list of the layers of
    each packet, as ``[(name, value), ...]`` in dissection order (duplicate
    names kept)."""
    proc = subprocess.run([tshark, "-n", "-r", str(path), *TSHARK_PREFS, "--enable-protocol", "communityid",
                           "-o", f"communityid.seed:{seed}", "-T", "json", "-x"],
                          capture_output=True, timeout=timeout)
    assert proc.returncode == 0, f"tshark on {path}: {proc.stderr.decode(errors='replace')}"
    packets = json.loads(proc.stdout.decode("utf-8", "surrogateescape") or "[]", object_pairs_hook=lambda p: p)
    return [dict(dict(packet)["_source"])["layers"] for packet in packets]


def _get(pairs, key):
    """The first value of ``key`` in a layer's (key, value) pairs, or None."""
    for k, v in pairs:
        if k == key:
            return v
    return None


def _int(text):
    return None if text is None else int(text, 0)


def _mac(text):
    return bytes.fromhex(text.replace(":", ""))


def _address(text):
    address = ipaddress.ip_address(text)
    if address.version == 4:
        return b"\0" * 10 + b"\xff\xff" + address.packed
    return address.packed


def reference_packet(layers):
    """Our fields of one packet from tshark's layers (a dict of
    FIELD_NAMES, None where absent, plus "frame" and "tshark_community_id")."""
    out = dict.fromkeys(FIELD_NAMES)
    top = [(k, v) for k, v in layers if not k.endswith("_raw")]
    raw = {}
    for k, v in layers:
        if k.endswith("_raw"):
            raw.setdefault(k[:-4], []).append(v)
    frame = dict(top[0][1])
    caplen = int(frame["frame.cap_len"])
    out["frame"] = int(frame["frame.number"])
    out["tshark_community_id"] = None
    # How many IP layers tshark dissected (more than one: a tunnel, whose
    # inner flow is what tshark's communityid hashes), and whether the
    # transport fields had to be read from the bytes (tshark showed none).
    out["tshark_ip_layers"] = sum(1 for k, _ in top if k in ("ip", "ipv6"))
    out["transport_from_bytes"] = False
    out["transport_cut"] = False
    for k, v in top:
        if k == "communityid":
            out["tshark_community_id"] = v if isinstance(v, str) else _get(v, "communityid")
    raw_seen = {}

    def layer_offset(name):
        n = raw_seen.get(name, 0)
        raw_seen[name] = n + 1
        offsets = raw.get(name, [])
        return int(offsets[n][1]) if n < len(offsets) else None

    i = 1
    family = None           # the IP version the link layer announces
    ethertype = None
    tags = []
    link_ok = True
    # -- link layer --------------------------------------------------------
    while i < len(top) and top[i][0] in LINK_LAYERS:
        name, pairs = top[i]
        start = layer_offset(name)
        if name == "eth":
            if caplen >= 14:
                out["eth_dst"], out["eth_src"] = _mac(_get(pairs, "eth.dst")), _mac(_get(pairs, "eth.src"))
                ethertype = _int(_get(pairs, "eth.type"))        # None for an 802.3 length (eth.len)
            else:
                link_ok = False
        elif name in VLAN_LAYERS:
            prefix = VLAN_LAYERS[name]
            if not link_ok or start is None or start + 4 > caplen or len(tags) >= 2:
                link_ok = False         # cut short, or a third tag: the module stops
            else:
                tags.append(_int(_get(pairs, prefix + ".id")))
                # (tshark 4.0 names the 802.1ad tag's type ieee8021ah.etype.)
                ethertype = _int(_get(pairs, prefix + ".etype") or _get(pairs, "ieee8021ah.etype"))
        elif name == "sll":
            if int(_get(pairs, "sll.hatype") or 0) == 824:
                link_ok = False         # netlink
            else:
                # None where tshark shows sll.ltype (a Linux protocol number
                # below 0x600); for ARPHRD_IPGRE it names the field
                # sll.gretype, an ethertype all the same.
                ethertype = _int(_get(pairs, "sll.etype") or _get(pairs, "sll.gretype"))
        elif name == "null":
            fam = _int(_get(pairs, "null.family"))
            family = 4 if fam == 2 else 6 if fam in (24, 28, 30) else None
        elif name == "ppp":
            proto = _int(_get(pairs, "ppp.protocol"))
            family = 4 if proto == 0x21 else 6 if proto == 0x57 else None
        elif name == "chdlc":
            ethertype = _int(_get(pairs, "chdlc.protocol"))
        i += 1
    if tags:
        out["vlan_id"] = tags[0]
    if len(tags) > 1:
        out["vlan_id_inner"] = tags[1]
    if link_ok and ethertype is not None and ethertype >= 0x600:
        out["ethertype"] = ethertype
        family = 4 if ethertype == 0x0800 else 6 if ethertype == 0x86DD else None
    if not link_ok or i >= len(top) or top[i][0] not in ("ip", "ipv6"):
        return out
    # -- IP ------------------------------------------------------------------
    name, ip = top[i]
    ip_at = layer_offset(name)
    version = 4 if name == "ip" else 6
    encap = int(frame.get("frame.encap_type", -1))
    if encap in WTAP_ENCAP_FAMILY:
        family = WTAP_ENCAP_FAMILY[encap]   # LINKTYPE_IPV4/IPV6: the link type says it, whatever the nibble
    elif family is None and (top[1][0] == "raw" or i == 1):
        family = version        # raw IP: the version nibble
    if family != version or ip_at is None:
        return out
    if _int(_get(ip, "ip.version" if version == 4 else "ipv6.version")) != version:
        return out              # (tshark dissects a bogus version as far as it can; the module stops)
    if _get(ip, "ip.dst" if version == 4 else "ipv6.dst") is None:
        return out              # tshark gave up before the addresses (a bogus header length)
    fixed = 20 if version == 4 else 40
    if ip_at + fixed > caplen:
        return out
    i += 1
    if version == 4:
        ihl = _int(_get(ip, "ip.hdr_len"))
        if ihl is None or ihl < 20:
            return out
        total = _int(_get(ip, "ip.len"))
        out.update(ip_version=4, src=_address(_get(ip, "ip.src")), dst=_address(_get(ip, "ip.dst")),
                   ttl=_int(_get(ip, "ip.ttl")), protocol=_int(_get(ip, "ip.proto")),
                   frag_flags=_int(_get(ip, "ip.flags")), frag_offset=_int(_get(ip, "ip.frag_offset")) * 8,
                   ip_len=total)
        if total < ihl or ip_at + ihl > caplen:
            return _with_community_id(out)
        end = ip_at + total
        t = ip_at + ihl
        if out["frag_offset"]:
            out["payload_offset"], out["payload_len"] = t, total - ihl
            return _with_community_id(out)
    else:
        plen = _int(_get(ip, "ipv6.plen"))
        nxt = _int(_get(ip, "ipv6.nxt"))
        out.update(ip_version=6, src=_address(_get(ip, "ipv6.src")), dst=_address(_get(ip, "ipv6.dst")),
                   ttl=_int(_get(ip, "ipv6.hlim")), frag_flags=0, frag_offset=0)
        known = plen != 0 or nxt != 0
        if known:
            out["ip_len"] = 40 + plen
        end = ip_at + 40 + plen if known else caplen
        t = ip_at + 40
        # The extension headers tshark shows inside its ipv6 layer, in order
        # (AH and the mobility header among them, as layers of their own).
        for key, value in ip:
            if key not in IPV6_EXTENSIONS:
                continue
            nxt_key, length_key, unit, extra = IPV6_EXTENSIONS[key]
            nxt_raw = _get(value, nxt_key + "_raw")
            length = 0 if length_key is None else _int(_get(value, length_key))
            if nxt_raw is None or _get(value, nxt_key) is None or length is None:
                return out              # cut short: the protocol after it is unknown
            hlen = (length + extra) * unit
            if int(nxt_raw[1]) + hlen > min(caplen, end):
                return out
            t = int(nxt_raw[1]) + hlen
            nxt = _int(_get(value, nxt_key))
            if key == "ipv6.fraghdr":
                out["frag_offset"] = _int(_get(value, "ipv6.fraghdr.offset")) * 8
                out["frag_flags"] = 1 if _get(value, "ipv6.fraghdr.more") in ("1", "True", "true") else 0
                if out["frag_offset"]:
                    out["protocol"] = nxt
                    if known:
                        out["payload_offset"], out["payload_len"] = t, end - t
                    return _with_community_id(out)
        if nxt in (0, 43, 44, 51, 60, 135, 139, 140):
            return out                  # an extension header tshark did not show: cut short before it
        out["protocol"] = nxt
        if not known:
            return _with_community_id(out)
    # -- transport -------------------------------------------------------------
    protocol = out["protocol"]
    have = min(end, caplen) - t
    hlen = 0
    layer = TRANSPORTS.get(protocol)      # (by the number, whatever the IP version, as tshark does)
    pairs = top[i][1] if layer is not None and i < len(top) and top[i][0] == layer else None
    if layer is not None and pairs is None and i < len(top) and top[i][0] == "_ws.short" and have >= 2:
        # The capture ends inside the transport header and tshark's ICMP and
        # SCTP dissectors show nothing then (they check the whole header
        # first); the module has the fields whose bytes were captured: read
        # them from the frame's bytes at the offset the IP header gives.
        pairs = _fields_from_bytes(layer, bytes.fromhex(raw["frame"][0][0])[t:t + have])
        out["transport_from_bytes"] = True
    if layer == "tcp":
        if pairs is not None:
            if have >= 4:
                out["src_port"], out["dst_port"] = _int(_get(pairs, "tcp.srcport")), _int(_get(pairs, "tcp.dstport"))
            if have >= 14:
                flags = _get(pairs, "tcp.flags")
                if flags is None:
                    # A data offset below 5: tshark stops before the flags.
                    # They are there all the same: the two bytes at 12.
                    frame_raw = bytes.fromhex(raw["frame"][0][0])
                    flags = hex(int.from_bytes(frame_raw[t + 12:t + 14], "big"))
                out["tcp_flags"] = _int(flags) & 0xFFF
        hlen = _int(_get(pairs, "tcp.hdr_len")) if pairs is not None and have >= 14 else None
        if hlen is None or hlen < 20:
            out["transport_cut"] = True
            return _with_community_id(out)
    elif layer in ("udp", "sctp"):
        if pairs is not None and have >= 4:
            out["src_port"] = _int(_get(pairs, layer + ".srcport"))
            out["dst_port"] = _int(_get(pairs, layer + ".dstport"))
        hlen = 8 if layer == "udp" else 12
    elif layer in ("icmp", "icmpv6"):
        if pairs is not None and have >= 2:
            out["icmp_type"], out["icmp_code"] = _int(_get(pairs, layer + ".type")), _int(_get(pairs, layer + ".code"))
        hlen = 8
    if hlen <= have:
        out["payload_offset"], out["payload_len"] = t + hlen, end - t - hlen
    else:
        out["transport_cut"] = True
    return _with_community_id(out)


def _fields_from_bytes(layer, header):
    """A transport header's first fields, as tshark would name them, from
    its captured bytes (``header``, cut short)."""
    pairs = []
    if layer in ("icmp", "icmpv6"):
        pairs += [(layer + ".type", str(header[0])), (layer + ".code", str(header[1]))]
    elif len(header) >= 4:
        pairs += [(layer + ".srcport", str(int.from_bytes(header[0:2], "big"))),
                  (layer + ".dstport", str(int.from_bytes(header[2:4], "big")))]
        if layer == "tcp" and len(header) >= 14:
            pairs += [("tcp.hdr_len", str(header[12] >> 4 << 2)),
                      ("tcp.flags", hex(int.from_bytes(header[12:14], "big") & 0xFFF))]
    return pairs


@functools.lru_cache(maxsize=None)
def _communityid(seed):
    try:
        import communityid
    except ImportError:
        communityid = None
    need(communityid is not None, "the communityid package is not installed (pip install communityid)")
    return communityid, communityid.CommunityID(seed=seed)


def community_id_of(fields, seed=0):
    """The reference implementation's Community ID of a packet's fields
    (the ``communityid`` package), or None where the packet has none."""
    if fields["protocol"] is None or fields["src"] is None:
        return None
    communityid, cid = _communityid(seed)
    protocol = fields["protocol"]
    src, dst = ipaddress.ip_address(fields["src"]), ipaddress.ip_address(fields["dst"])
    if fields["ip_version"] == 4:
        src, dst = src.ipv4_mapped, dst.ipv4_mapped
    # (ICMP and ICMPv6 by the protocol number, whatever the IP version, as the
    # reference implementation maps them.)
    icmp = protocol in (1, 58)
    if protocol in (6, 17, 132):
        if fields["src_port"] is None:
            return None
        ports = (fields["src_port"], fields["dst_port"])
    elif icmp:
        if fields["icmp_type"] is None:
            return None
        ports = (fields["icmp_type"], fields["icmp_code"])
    else:
        ports = (None, None)
    return cid.calc(communityid.FlowTuple(protocol, str(src), str(dst), *ports))


def _with_community_id(out, seed=0):
    out["community_id"] = community_id_of(out, seed)
    return out


def reference(tshark, path, *, seed=0):
    """Our fields of every packet of ``path`` as tshark dissects it (a list
    of dicts, one a packet in file order; see the module's docstring)."""
    packets = [reference_packet(layers) for layers in tshark_json(tshark, path, seed=seed)]
    if seed:
        for p in packets:
            p["community_id"] = community_id_of(p, seed)
    return packets
