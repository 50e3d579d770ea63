"""examples/flows_sql.py (DuckDB over the Arrow batches) and
examples/dask_flows.py (numpy on Dask) against the flows of the same
savefiles computed here packet by packet, with struct and hashlib alone:
the link layers the columns read (Ethernet with VLAN tags, Linux cooked,
raw IP), IPv6 extension headers, fragments, packets that are not IP."""
import base64
import hashlib
import importlib.util
import ipaddress
import json
import random
import struct
import sys
from pathlib import Path

import pytest

from support import need, run, write_pcap, write_pcapng

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MAC = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"


def ipv4(proto, l4, src, dst, frag=0):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 7, frag, 64, proto, 0,
                       ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed) + l4


def ipv6(nh, l4, src, dst):
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), nh, 64, ipaddress.IPv6Address(src).packed,
                       ipaddress.IPv6Address(dst).packed) + l4


def udp(sport, dport, body=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body


def tcp(sport, dport, flags=0x10, body=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 512, 0, 0) + body


def eth(payload, ethertype, vlans=()):
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in vlans)
    return MAC + tags + struct.pack("!H", ethertype) + payload


def ethernet_frames(seed, n):
    """Ethernet frames of every kind the flows tell apart."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        a, b = f"10.0.{rnd.randrange(3)}.1", f"10.0.{rnd.randrange(3)}.2"
        body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 80)))
        k = rnd.randrange(10)
        if k == 0:
            f = eth(ipv4(17, udp(1000 + rnd.randrange(3), 53, body), a, b), 0x0800)
        elif k == 1:
            f = eth(ipv4(6, tcp(40000 + rnd.randrange(2), 443, body=body), a, b), 0x0800)
        elif k == 2:                                                # one VLAN tag
            f = eth(ipv4(17, udp(5000, 5001, body), a, b), 0x0800, [(0x8100, 10)])
        elif k == 3:                                                # two (QinQ)
            f = eth(ipv6(6, tcp(5555, 80, body=body), f"2001:db8::{rnd.randrange(1, 3)}", "2001:db8::ff"),
                    0x86DD, [(0x88A8, 100), (0x8100, 20)])
        elif k == 4:                                                # IPv6, a hop-by-hop header before UDP
            f = eth(ipv6(0, bytes([17, 0]) + bytes(6) + udp(546, 547, body), "fe80::1", "ff02::1:2"), 0x86DD)
        elif k == 5:                                                # IPv4 fragments: the first has ports
            f = eth(ipv4(17, udp(7000, 7001, bytes(16)), a, b, frag=0x2000), 0x0800)
        elif k == 6:                                                # a later one has none
            f = eth(ipv4(17, bytes(24), a, b, frag=0x0003), 0x0800)
        elif k == 7:                                                # ICMP echo
            f = eth(ipv4(1, b"\x08\x00" + bytes(6) + body, a, b), 0x0800)
        elif k == 8:                                                # ARP: not IP
            f = eth(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(20), 0x0806)
        else:                                                       # GRE: a protocol without ports
            f = eth(ipv4(47, bytes(16), a, b), 0x0800)
        wire = len(f) + (rnd.randrange(1, 500) if i % 5 == 0 else 0)   # cut to a snaplen, after the headers
        out.append((1700000000 + i, i, f, wire))
    return out


def sll_frames(n):
    """Linux cooked (v1) frames: IPv4/UDP."""
    return [(1700000000 + i, 0, struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800)
             + ipv4(17, udp(9000 + i % 4, 53, bytes(i % 30)), "192.0.2.1", "192.0.2.53")) for i in range(n)]


def raw_frames(n):
    """Raw IP (LINKTYPE_RAW): IPv6/TCP and IPv4/UDP, alternating."""
    return [(1700000000 + i, 0, ipv6(6, tcp(443, 50000 + i % 3), "2001:db8::1", "2001:db8::2") if i % 2
             else ipv4(17, udp(123, 123), "198.51.100.1", "198.51.100.2")) for i in range(n)]


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    d = tmp_path_factory.mktemp("flows")
    write_pcap(d / "eth.pcap", ethernet_frames(1, 1500))
    write_pcap(d / "eth-be.pcap", ethernet_frames(2, 700), byteorder=">")
    write_pcapng(d / "eth.pcapng", [(s, f, fr) for s, f, fr, _ in ethernet_frames(3, 600)])
    write_pcap(d / "sll.pcap", sll_frames(200), linktype=113)
    write_pcap(d / "raw.pcap", raw_frames(150), linktype=101)
    return sorted(d.iterdir())


# -- the reference: each packet parsed here -------------------------------------------

def records(path):
    """(linktype, caplen bytes, wire length) of each packet of a classic pcap or a pcapng file."""
    data = Path(path).read_bytes()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        order = "<" if struct.unpack_from("<I", data, 8)[0] == 0x1A2B3C4D else ">"
        linktypes, at = [], 0
        while at < len(data):
            btype, length = struct.unpack_from(order + "II", data, at)
            if btype == 1:
                linktypes.append(struct.unpack_from(order + "H", data, at + 8)[0])
            elif btype == 6:
                iface, _, _, caplen, wire = struct.unpack_from(order + "IIIII", data, at + 8)
                yield linktypes[iface], data[at + 28:at + 28 + caplen], wire
            at += length
        return
    order = "<" if struct.unpack_from("<I", data)[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack_from(order + "I", data, 20)[0]
    at = 24
    while at < len(data):
        _, _, caplen, wire = struct.unpack_from(order + "IIII", data, at)
        yield linktype, data[at + 16:at + 16 + caplen], wire
        at += 16 + caplen


def five_tuple(linktype, buf):
    """(ip_version, protocol, src bytes, dst bytes, sport, dport) of a packet, or None."""
    if linktype == 1:
        et, at = struct.unpack_from("!H", buf, 12)[0], 14
        for _ in range(2):
            if et in (0x8100, 0x88A8):
                et, at = struct.unpack_from("!H", buf, at + 2)[0], at + 4
    elif linktype == 113:
        et, at = struct.unpack_from("!H", buf, 14)[0], 16
    elif linktype == 101:
        et, at = {4: 0x0800, 6: 0x86DD}[buf[0] >> 4], 0
    else:
        return None
    first_fragment = True
    if et == 0x0800:
        version, proto, src, dst = 4, buf[at + 9], buf[at + 12:at + 16], buf[at + 16:at + 20]
        first_fragment = struct.unpack_from("!H", buf, at + 6)[0] & 0x1FFF == 0
        at += (buf[at] & 15) * 4
    elif et == 0x86DD:
        version, proto, src, dst = 6, buf[at + 6], buf[at + 8:at + 24], buf[at + 24:at + 40]
        at += 40
        while proto in (0, 60, 43):                     # hop-by-hop, destination options, routing
            proto, at = buf[at], at + (buf[at + 1] + 1) * 8
    else:
        return None
    sport = dport = 0
    if proto in (6, 17) and first_fragment:
        sport, dport = struct.unpack_from("!HH", buf, at)
    return version, proto, src, dst, sport, dport


def text(address):
    return str(ipaddress.ip_address(address))


def community_id(proto, src, dst, sport, dport, seed=0):
    """The Community ID v1 as the specification's reference computes it (TCP and UDP)."""
    if (src, sport) > (dst, dport):
        src, dst, sport, dport = dst, src, dport, sport
    digest = hashlib.sha1(struct.pack("!H", seed) + src + dst + struct.pack("!BBHH", proto, 0, sport, dport))
    return "1:" + base64.b64encode(digest.digest()).decode()


def reference(paths):
    flows, packets, nbytes = {}, 0, 0
    for path in paths:
        for linktype, buf, wire in records(path):
            packets += 1
            nbytes += wire
            key = five_tuple(linktype, buf)
            if key is not None:
                n, b = flows.get(key, (0, 0))
                flows[key] = (n + 1, b + wire)
    rows = sorted(([proto, text(src), sport, text(dst), dport, n, b, src, dst]
                   for (_, proto, src, dst, sport, dport), (n, b) in flows.items()),
                  key=lambda r: (-r[6], r[0], r[1], r[2], r[3], r[4]))
    talkers = {}
    for proto, src, sport, dst, dport, n, b, *_ in rows:
        t = talkers.setdefault(src, [src, 0, 0, 0])
        t[1:] = [t[1] + n, t[2] + b, t[3] + 1]
    return {"packets": packets, "bytes": nbytes, "flows": len(flows), "rows": rows,
            "talkers": sorted(talkers.values(), key=lambda t: (-t[2], t[0]))}


def example(script, *args):
    proc = run([sys.executable, EXAMPLES / script, *map(str, args)], cwd=ROOT, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    return json.loads(proc.stdout)


# -- flows_sql.py ----------------------------------------------------------------------

@pytest.fixture
def duckdb_installed():
    for mod in ("duckdb", "pyarrow"):
        need(importlib.util.find_spec(mod) is not None, f"{mod} is not installed (the test extra has it)")


def test_the_reference_sees_every_kind(captures):
    want = reference(captures)
    protos = {r[0] for r in want["rows"]}
    assert {1, 6, 17, 47} <= protos
    assert any(":" in r[1] for r in want["rows"]) and want["packets"] - sum(r[5] for r in want["rows"]) > 100


def test_sql_flows_equal_the_reference(captures, duckdb_installed):
    want = reference(captures)
    got = example("flows_sql.py", *captures, "--top", 100000, "--json")
    assert (got["packets"], got["bytes"], got["flows"]) == (want["packets"], want["bytes"], want["flows"])
    assert got["top"] == [r[:7] for r in want["rows"]]
    assert got["talkers"] == want["talkers"]


def test_sql_community_ids_equal_the_specifications(captures, duckdb_installed):
    want = {tuple(r[:5]): r for r in reference(captures)["rows"]}
    got = example("flows_sql.py", *captures, "--top", 100000, "--community-id", "--json")
    checked = 0
    for *flow, n, b, cid in got["top"]:
        proto, src, sport, dst, dport, *_, src_b, dst_b = want[tuple(flow)]
        if proto in (6, 17) and sport:
            assert cid == community_id(proto, src_b, dst_b, sport, dport), flow
            checked += 1
    assert checked > 20


def test_sql_of_an_empty_file_is_zero_flows(tmp_path, duckdb_installed):
    path = write_pcap(tmp_path / "empty.pcap", [])
    assert example("flows_sql.py", path, "--json") == {"packets": 0, "bytes": 0, "flows": 0, "top": [],
                                                        "talkers": []}


# -- dask_flows.py on the same files ---------------------------------------------------

@pytest.mark.parametrize("split", [1, 3])
def test_dask_flows_equal_the_reference(captures, split):
    for mod in ("dask", "numpy", "pyarrow"):
        need(importlib.util.find_spec(mod) is not None, f"{mod} is not installed (the test extra has it)")
    want = reference(captures)
    got = example("dask_flows.py", *captures, "--scheduler", "synchronous", "--split", split, "--top", 100000,
                  "--json", "--time")
    assert got.pop("seconds") > 0
    assert got == {"packets": want["packets"], "bytes": want["bytes"], "flows": want["flows"],
                   "top": [r[:7] for r in want["rows"]]}


def test_dask_flows_adds_an_ipv4_flow_of_an_ipv4_file_to_the_same_of_a_mixed_one(tmp_path):
    """A part of IPv4 flows only keeps them in 16 bytes, a part with IPv6 in 40: the same IPv4 flow
    from both is one flow."""
    for mod in ("dask", "numpy", "pyarrow"):
        need(importlib.util.find_spec(mod) is not None, f"{mod} is not installed (the test extra has it)")
    flow = eth(ipv4(17, udp(4000, 53, b"q"), "192.0.2.7", "192.0.2.53"), 0x0800)
    v6 = eth(ipv6(17, udp(4000, 53, b"q"), "2001:db8::7", "2001:db8::53"), 0x86DD)
    paths = [write_pcap(tmp_path / "a-v4.pcap", [(1700000000, 0, flow)] * 3),
             write_pcap(tmp_path / "b-mixed.pcap", [(1700000000, 0, flow), (1700000001, 0, v6)])]
    want = reference(paths)
    assert want["flows"] == 2 and want["rows"][0][5] == 4
    for split in (1, 2):
        got = example("dask_flows.py", *paths, "--scheduler", "synchronous", "--split", split, "--json")
        assert got == {"packets": 5, "bytes": want["bytes"], "flows": 2, "top": [r[:7] for r in want["rows"]]}


@pytest.mark.parametrize("bad", ["missing", "cut"])
def test_sql_of_a_file_that_cannot_be_read_is_a_one_line_error(tmp_path, bad, duckdb_installed):
    """Also when it is not the first: the error of the module, not DuckDB's of its scan."""
    good = write_pcap(tmp_path / "good.pcap", ethernet_frames(4, 20))
    path = tmp_path / "bad.pcap"
    if bad == "cut":
        path.write_bytes(good.read_bytes()[:-7])
    proc = run([sys.executable, EXAMPLES / "flows_sql.py", good, path], cwd=ROOT, timeout=60)
    assert (proc.returncode, proc.stdout) == (1, ""), proc
    why = "No such file or directory" if bad == "missing" else "truncated dump file"
    assert proc.stderr.startswith("flows_sql: ") and why in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


@pytest.fixture
def dask_flows_module():
    need(importlib.util.find_spec("numpy") is not None, "numpy is not installed (the test extra has it)")
    sys.path.insert(0, str(EXAMPLES))
    try:
        import dask_flows
        yield dask_flows
    finally:
        sys.path.remove(str(EXAMPLES))


def test_dask_flows_radix_order_sorts_ties_of_the_top_bits(dask_flows_module, monkeypatch):
    import numpy as np
    rng = np.random.default_rng(5)
    top = rng.integers(0, 50, 5000, dtype=np.uint64) << np.uint64(32)          # many ties in the top 32 bits
    hashes = top | rng.integers(0, 1 << 32, 5000, dtype=np.uint64)
    little = hashes.astype("<u8")
    for digits, half, data in (((2, 3), 1, little), ((1, 0), 0, little.astype(">u8"))):   # either byte order's
        monkeypatch.setattr(dask_flows_module, "DIGITS", digits)
        monkeypatch.setattr(dask_flows_module, "TOP_HALF", half)
        order, in_order = dask_flows_module.radix_order(data)
        assert sorted(order.tolist()) == list(range(5000))
        assert (hashes[order][1:] >= hashes[order][:-1]).all()
        assert (in_order == hashes[order]).all()


def test_dask_flows_valid_reads_the_validity_bitmap(dask_flows_module):
    """valid() against pyarrow's own is_valid(), on columns with and without nulls, sliced at bit
    offsets that are not a byte's."""
    import numpy as np
    need(importlib.util.find_spec("pyarrow") is not None, "pyarrow is not installed (the test extra has it)")
    import pyarrow as pa
    rng = np.random.default_rng(7)
    values = rng.integers(0, 65536, 1000).tolist()
    column = pa.array([v if v % 3 else None for v in values], pa.uint16())
    for array in (column, pa.array(values, pa.uint16())):
        for start, length in ((0, 1000), (3, 500), (13, 1), (995, 5), (8, 0)):
            part = array.slice(start, length)
            assert dask_flows_module.valid(part).tolist() == part.is_valid().to_pylist()


def test_dask_flows_two_flows_of_one_fingerprint_stay_two(dask_flows_module):
    """A fingerprint shared by two 5-tuples (forced here): summed by the whole 5-tuple instead."""
    import numpy as np
    keys = np.array([[1, 7], [2, 7], [1, 7], [3, 8]], np.uint64)
    hashes = np.array([5, 5, 5, 9], np.uint64)
    for runs in (False, True):
        flows = dask_flows_module.sum_flows(keys, hashes, np.ones(4, np.int64), np.array([10, 20, 30, 40]), runs)
        got = sorted(zip(map(tuple, flows["keys"].tolist()), flows["packets"].tolist(), flows["bytes"].tolist()))
        assert got == [((1, 7), 2, 40), ((2, 7), 1, 20), ((3, 8), 1, 40)]
        assert (flows["hash"][1:] >= flows["hash"][:-1]).all()


def test_dask_flows_merge_adds_shared_flows_as_the_sort_of_all_does(dask_flows_module):
    """merge() adds a part into another where they share most flows (add_into), and sorts them all
    together where not: the same sums either way, narrow and wide parts alike."""
    import numpy as np
    d = dask_flows_module
    rng = np.random.default_rng(7)

    def part(keys):
        keys = np.array(keys, np.uint64)
        n = len(keys)
        return d.sum_flows(keys, d.fingerprint(keys), np.ones(n, np.int64), rng.integers(40, 1500, n)) \
            | {"total_packets": n, "total_bytes": 0}
    narrow = rng.integers(0, 1 << 40, (300, 2)).astype(np.uint64)
    narrow[:, 1] = narrow[:, 1] & np.uint64(0xFFFFFFFFFFFF) | np.uint64(4 << 48)     # ip_version 4
    wide = d.widen(narrow[:50]).copy()
    wide[:, 4] = wide[:, 4] & np.uint64(0xFFFFFFFFFFFF) | np.uint64(6 << 48)         # as IPv6 flows
    parts = [part(narrow[:250]), part(narrow[20:280]), part(np.concatenate([d.widen(narrow[100:300]), wide])),
             part(narrow[:10])]
    assert d.shared(parts[0], parts[1]) >= 0.5
    everything = d.sum_flows(d.concat_keys([p["keys"] for p in parts]),
                             *[np.concatenate([p[k] for p in parts]) for k in ("hash", "packets", "bytes")])
    for order in (parts, parts[::-1], parts[2:] + parts[:2]):
        merged = d.merge(order)
        assert merged["total_packets"] == 250 + 260 + 250 + 10
        for k in ("keys", "hash", "packets", "bytes"):
            assert np.array_equal(merged[k], everything[k]), k
