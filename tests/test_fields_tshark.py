"""Every header field of every packet of the fields corpus, as the module
parses it, against tshark's dissection of the same packet
(tests/fields_reference.py says how tshark's fields map to ours).

Each file is read through the Arrow path (to_arrow), through next_batch()
and through readinto(fields=) with numpy, with and without the packets' bytes, from the file and from a
pipe, in its own byte order and in the other one.  A failure lists each
difference: the file, the frame number (tshark's, from 1), the field, ours
and tshark's.

The corpus: the synthetic files in tests/data/fields/ (tests/make_fields_corpus.py),
and the public captures listed in tests/data/fields/real-corpus.tsv where
they have been put in tests/data/fields/real/ (tools/fields_corpus.py; see
tests/data/fields/README.md for why they are not in the repository)."""
import ipaddress
import os
import pathlib
import random
import socket
import struct

import pytest

import pcap
from fields_reference import FIELD_NAMES, reference
from support import PipeFeeder, need, pcapng_blocks, pcapng_other_order, tshark

HERE = pathlib.Path(__file__).parent
SYNTHETIC = HERE / "data" / "fields"
REAL = pathlib.Path(os.environ.get("PCAP_FIELDS_CORPUS", SYNTHETIC / "real"))


def corpus_files():
    files = sorted(p for p in SYNTHETIC.glob("*.pcap*"))
    if REAL.is_dir():
        files += sorted(p for p in REAL.glob("*.pcap*"))
    return files


FILES = corpus_files()

# Where the module and tshark differ on purpose, packet by packet: (file
# name, frame): (the fields, why).  Each was looked at; the module's value
# is the one the contract (packet_fields.h) asks for.
KNOWN_DIFFERENCES = {
    ("td-ipv4_tcp_http_xml_tso.pcap", 1): (
        {"ip_version", "protocol", "src", "dst", "ttl", "frag_flags", "frag_offset", "ip_len", "community_id"},
        "an IPv4 total length of 0 (TCP segmentation offload): tshark either stops at the bogus length "
        "(ip.tso_support off) or shows the captured length instead of it (on); the module has the fields "
        "of the whole 20-byte header, ip_len 0, and no transport (the length is shorter than the header)"),
    ("td-ipv6_missing_jumbo_payload_option.pcap", 1): (
        {"protocol", "community_id"},
        "payload length 0 and a hop-by-hop header without a Jumbo Payload option: tshark calls it malformed "
        "and stops; the module takes it for a jumbogram (length unknown) and walks the hop-by-hop header to "
        "the protocol after it"),
    ("zk-ipv6-mobility-dst-opts.pcap", 1): (
        {"src_port", "dst_port", "community_id"},
        "a destination options header whose last option claims 144 bytes in a header of 24: tshark stops "
        "inside the options; the module skips the header by its own length and reads the UDP header after it"),
}

# Which FIELD_* bit says that a field of a record is there.
FIELD_BITS = {
    "eth_dst": "FIELD_ETH", "eth_src": "FIELD_ETH", "ethertype": "FIELD_ETHERTYPE", "vlan_id": "FIELD_VLAN",
    "vlan_id_inner": "FIELD_VLAN_INNER", "ip_version": "FIELD_IP", "protocol": "FIELD_PROTOCOL",
    "src": "FIELD_IP", "dst": "FIELD_IP", "ttl": "FIELD_IP", "frag_flags": "FIELD_IP", "frag_offset": "FIELD_IP",
    "ip_len": "FIELD_IP_LEN", "src_port": "FIELD_PORTS", "dst_port": "FIELD_PORTS",
    "tcp_flags": "FIELD_TCP_FLAGS", "icmp_type": "FIELD_ICMP", "icmp_code": "FIELD_ICMP",
    "payload_offset": "FIELD_PAYLOAD", "payload_len": "FIELD_PAYLOAD", "community_id": "FIELD_COMMUNITY_ID",
}


# -- the reference, once a file ------------------------------------------------------

_REFERENCE = {}


def tshark_reference(path, seed=0):
    """tshark's view of ``path`` in our fields (cached: one tshark run a
    file and seed)."""
    key = (str(path), seed)
    if key not in _REFERENCE:
        _REFERENCE[key] = reference(tshark(), path, seed=seed)
    return _REFERENCE[key]


# -- the module's view --------------------------------------------------------------

def numpy_module():
    try:
        import numpy
    except ImportError:
        numpy = None
    need(numpy is not None, "numpy is not installed (pip install numpy)")
    return numpy


def pyarrow_module():
    try:
        import pyarrow
    except ImportError:
        pyarrow = None
    need(pyarrow is not None, "pyarrow is not installed (pip install pyarrow)")
    return pyarrow


def records_to_dicts(records):
    """Our fields of each FIELDS_DTYPE record, None where its bit is clear."""
    out = []
    for r in records:
        present = int(r["present"])
        row = {}
        for name in FIELD_NAMES:
            if not present & getattr(pcap, FIELD_BITS[name]):
                row[name] = None
            elif name in ("eth_dst", "eth_src", "src", "dst"):
                row[name] = bytes(r[name])
            elif name == "community_id":
                row[name] = bytes(r[name]).rstrip(b"\0").decode("ascii")
            else:
                row[name] = int(r[name])
        out.append(row)
    return out


def ours_numpy(source, *, data, seed=0, batch=7):
    """Every packet's fields through next_batch(fields=True) in batches of
    ``batch`` and numpy."""
    numpy = numpy_module()
    dtype = numpy.dtype(pcap.FIELDS_DTYPE)
    rows = []
    with pcap.pcap(source) as p:
        while True:
            got = p.next_batch(batch, 1 << 20, fields=True, data=data, community_id_seed=seed)
            fields = numpy.frombuffer(got[-1], dtype)
            if not len(fields):
                break
            rows += records_to_dicts(fields)
    return rows


def ours_readinto(source, *, data, seed=0, batch=7):
    """Every packet's fields through readinto(fields=) into buffers of
    ``batch`` records, and numpy."""
    numpy = numpy_module()
    dtype = numpy.dtype(pcap.FIELDS_DTYPE)
    records = bytearray(pcap.BATCH_RECORD_SIZE * batch)
    fields = bytearray(pcap.FIELDS_SIZE * batch)
    rows = []
    with pcap.pcap(source) as p:
        packets = bytearray(max(p.snaplen, 1 << 16) * 2) if data else None
        while True:
            n = p.readinto(records, packets, batch, fields=fields, community_id_seed=seed)
            if not n:
                break
            rows += records_to_dicts(numpy.frombuffer(fields, dtype, n))
    return rows


def ours_arrow(source, *, data, seed=0, addresses="binary"):
    """Every packet's fields through to_arrow(fields="all")."""
    pyarrow_module()
    with pcap.pcap(source) as p:
        table = p.to_arrow(7, fields="all", data=data, addresses=addresses, community_id_seed=seed)
    assert ("data" in table.column_names) == data
    return [{name: row[name] for name in FIELD_NAMES} for row in table.to_pylist()]


# -- byte orders and pipes ------------------------------------------------------------

def other_byte_order(data):
    """A savefile's bytes in the other byte order: a classic file's header
    and record headers swapped (the packets as they are), a pcapng file's
    blocks re-encoded (support.pcapng_other_order)."""
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return pcapng_other_order(data)
    order = "<" if struct.unpack_from("<I", data)[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    other = ">" if order == "<" else "<"
    out = [struct.pack(other + "IHHiIII", *struct.unpack_from(order + "IHHiIII", data))]
    at = 24
    while at + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from(order + "IIII", data, at)
        out.append(struct.pack(other + "IIII", sec, frac, incl, orig) + data[at + 16:at + 16 + incl])
        at += 16 + incl
    return b"".join(out)


def linktypes_of(raw):
    """The link types of a pcapng file's interfaces (a classic file's one)."""
    if raw[:4] != b"\x0a\x0d\x0d\x0a":
        order = "<" if struct.unpack_from("<I", raw)[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        return {struct.unpack_from(order + "I", raw, 20)[0]}
    return {struct.unpack_from(order + "H", body)[0] for order, btype, body in pcapng_blocks(raw) if btype == 1}


def read_fields(path, tmp_path, *, via, source, order, data, seed=0):
    raw = pathlib.Path(path).read_bytes()
    if order == "swapped":
        raw = other_byte_order(raw)
    read = {"arrow": ours_arrow, "numpy": ours_numpy, "readinto": ours_readinto}[via]
    if source == "file":
        copy = pathlib.Path(tmp_path) / pathlib.Path(path).name
        copy.write_bytes(raw)
        return read(str(copy), data=data, seed=seed)
    feeder = PipeFeeder(raw, random.Random(len(raw)))
    with feeder as fd_path:
        try:
            return read(fd_path, data=data, seed=seed)
        finally:
            feeder.opened()


# -- the comparison -----------------------------------------------------------------------

def shown(name, value):
    if value is None:
        return "null"
    if name in ("eth_dst", "eth_src"):
        return value.hex(":")
    if name in ("src", "dst"):
        return str(ipaddress.IPv6Address(value))
    if name in ("ethertype", "tcp_flags"):
        return hex(value)
    return repr(value)


def differences(path, ours, theirs):
    """Each difference in words: file, frame, field, ours, tshark."""
    name = pathlib.Path(path).name
    out = []
    if len(ours) != len(theirs):
        out.append(f"{name}: {len(ours)} packets, tshark {len(theirs)}")
    for mine, ref in zip(ours, theirs):
        known_fields, _ = KNOWN_DIFFERENCES.get((name, ref["frame"]), (set(), None))
        for field in FIELD_NAMES:
            if field in known_fields:
                continue
            if mine[field] != ref[field]:
                out.append(f"{name} frame {ref['frame']} {field}: ours {shown(field, mine[field])}, "
                           f"tshark {shown(field, ref[field])}")
    return out


def check(path, ours, theirs):
    found = differences(path, ours, theirs)
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:60])


def ids(path):
    return path.name


def readable(source, orders):
    """(path, order) of every file, but those of interfaces of several
    link types in the other byte order or through a pipe: the module's own
    pcapng reader reads those from a file in its own byte order; a pipe,
    or a section in the other byte order holding a link type whose packets
    libpcap rewrites, goes to libpcap's reader, which refuses them
    (tests/test_pcapng.py has those cases)."""
    return [pytest.param(path, order, id=f"{path.name}-{order}") for path in FILES for order in orders
            if len(linktypes_of(path.read_bytes())) == 1 or (source == "file" and order == "native")]


@pytest.mark.parametrize("data", [True, False], ids=["data", "nodata"])
@pytest.mark.parametrize("via", ["arrow", "numpy", "readinto"])
@pytest.mark.parametrize("path, order", readable("file", ["native", "swapped"]))
def test_file_against_tshark(path, via, data, order, tmp_path):
    theirs = tshark_reference(path)
    check(path, read_fields(path, tmp_path, via=via, source="file", order=order, data=data), theirs)


@pytest.mark.parametrize("via", ["arrow", "numpy"])
@pytest.mark.parametrize("path, order", readable("pipe", ["native", "swapped"]))
def test_pipe_against_tshark(path, via, order, tmp_path):
    theirs = tshark_reference(path)
    check(path, read_fields(path, tmp_path, via=via, source="pipe", order=order, data=True), theirs)


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_addresses_as_text(path):
    """addresses="text": inet_ntop's text of the same addresses (IPv4 dotted)."""
    theirs = tshark_reference(path)
    ours = ours_arrow(str(path), data=False, addresses="text")
    found = []
    for mine, ref in zip(ours, theirs):
        for field in ("src", "dst"):
            if field in KNOWN_DIFFERENCES.get((path.name, ref["frame"]), ((),))[0]:
                continue
            expected = None
            if ref[field] is not None:
                expected = socket.inet_ntop(socket.AF_INET, ref[field][12:]) if ref["ip_version"] == 4 \
                    else socket.inet_ntop(socket.AF_INET6, ref[field])
            if mine[field] != expected:
                found.append(f"{path.name} frame {ref['frame']} {field}: ours {mine[field]!r}, tshark {expected!r}")
    assert not found, "\n".join(found[:60])


def test_the_corpus_covers_what_it_should():
    """Every link type the parser reads, and every field, appears in the
    corpus with a value somewhere (so that no column goes untested)."""
    seen_fields = set()
    linktypes = set()
    for path in FILES:
        linktypes |= linktypes_of(path.read_bytes())
        for row in tshark_reference(path):
            seen_fields.update(f for f in FIELD_NAMES if row[f] is not None)
    assert seen_fields == set(FIELD_NAMES), set(FIELD_NAMES) - seen_fields
    # LINKTYPE_ values, as files hold them: Ethernet, Linux cooked v1 and v2,
    # BSD loopback (NULL and LOOP), PPP, raw IP, IPv4, IPv6.
    assert {1, 113, 276, 0, 108, 9, 101, 228, 229} <= linktypes


def test_a_difference_fails(tmp_path):
    """The comparison can fail: a field changed in tshark's view is reported
    with its file, frame and values."""
    path = SYNTHETIC / "syn-eth-ipv4.pcap"
    theirs = [dict(row) for row in tshark_reference(path)]
    theirs[2]["dst_port"] = 81
    ours = read_fields(path, tmp_path, via="numpy", source="file", order="native", data=False)
    assert differences(path, ours, theirs) == ["syn-eth-ipv4.pcap frame 3 dst_port: ours 80, tshark 81"]
