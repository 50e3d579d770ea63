"""The Community ID (v1) of pcap.community_id() and of the community_id
column against the specification's published vectors, the reference
implementation (the ``communityid`` package, corelight/pycommunityid) and
Wireshark's own (tshark's communityid field).

The specification's vectors come two ways: the table of its README
(corelight/community-id-spec, baseline/README.md, written out below), and
its baseline JSON files and pcaps where the public part of the fields corpus
has been put in tests/data/fields/real/ (tools/fields_corpus.py)."""
import ipaddress
import json
import random

import pytest

import pcap
from fields_reference import community_id_of
from support import need, tshark
from test_fields_tshark import FILES, REAL, ours_arrow, tshark_reference

SEEDS = [0, 1, 0xFFFF]

# corelight/community-id-spec, baseline/README.md: proto, src, dst, sport,
# dport, the Community ID with seed 0, with seed 1.
SPEC_TABLE = [
    (6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
    (6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
    (17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
    (17, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
    (132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
    (132, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
    (1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
    (1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
    (1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=", "1:1DD7cWGC/Yg91YGsQeni8du3pIA="),
    (58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 128, 0,
     "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
    (58, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 129, 0,
     "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
    (58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 146, 0,
     "1:fYC8+pz24E+EhANP1EZhpX0Dw10=", "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="),
    (46, "1.2.3.4", "5.6.7.8", None, None, "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="),
    (46, "5.6.7.8", "1.2.3.4", None, None, "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="),
    (46, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", None, None,
     "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="),
    (46, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", None, None,
     "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="),
]


def communityid_package():
    try:
        import communityid
    except ImportError:
        communityid = None
    need(communityid is not None, "the communityid package is not installed (pip install communityid)")
    return communityid


@pytest.mark.parametrize("row", SPEC_TABLE, ids=lambda r: f"{r[0]}-{r[1]}-{r[3]}")
def test_spec_table(row):
    proto, src, dst, sport, dport, seed0, seed1 = row
    assert pcap.community_id(src, dst, proto, sport, dport) == seed0
    assert pcap.community_id(src, dst, proto, sport, dport, seed=1) == seed1
    # Addresses as bytes and as ipaddress objects give the same.
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    assert pcap.community_id(a.packed, b.packed, proto, sport, dport, seed=1) == seed1
    assert pcap.community_id(a, b, proto, sport, dport) == seed0


def baseline(name):
    return json.loads((REAL / name).read_text())


# The spec's baseline vectors are data of its repository, not shipped:
# compared where tools/fields_corpus.py put them (tests/data/fields/README.md).
BASELINES = [(seed, name) for seed, name in [(0, "cid-baseline_deflt.json"), (1, "cid-baseline_seed1.json")]
             if (REAL / name).exists()]


@pytest.mark.parametrize("seed, name", BASELINES)
def test_spec_baseline_vectors(seed, name):
    vectors = baseline(name)
    assert len(vectors) >= 20
    wrong = [(v, pcap.community_id(v["saddr"], v["daddr"], v["proto"], v["sport"], v["dport"], seed=seed))
             for v in vectors]
    wrong = [f"{v}: ours {got}" for v, got in wrong if got != v["communityid"]]
    assert not wrong, "\n".join(wrong)


def icmp_key(protocol, src, dst, icmp_type):
    return (protocol, str(src), str(dst), icmp_type)


@pytest.mark.parametrize("seed, name", BASELINES)
def test_spec_pcaps_columns(seed, name):
    """The community_id column of the spec's pcaps, which its baseline
    vectors were made from: each packet's ID is the baseline's for its
    tuple, and every baseline tuple is some packet's."""
    vectors = baseline(name)
    expected = {}
    for v in vectors:
        if v["proto"] in (1, 58):       # (the baseline's ports of ICMP: the type and its counterpart or code)
            key = icmp_key(v["proto"], ipaddress.ip_address(v["saddr"]), ipaddress.ip_address(v["daddr"]),
                           v["sport"])
        else:
            key = (v["proto"], str(ipaddress.ip_address(v["saddr"])), str(ipaddress.ip_address(v["daddr"])),
                   v["sport"], v["dport"])
        expected[key] = v["communityid"]
    matched, wrong = set(), []
    spec_pcaps = sorted(REAL.glob("cid-*.pcap"))
    assert spec_pcaps
    for path in spec_pcaps:
        for row in ours_arrow(str(path), data=False, seed=seed):
            if row["community_id"] is None:
                continue
            src = ipaddress.IPv6Address(row["src"])
            dst = ipaddress.IPv6Address(row["dst"])
            if row["ip_version"] == 4:
                src, dst = src.ipv4_mapped, dst.ipv4_mapped
            if row["protocol"] in (1, 58):
                key = icmp_key(row["protocol"], src, dst, row["icmp_type"])
            else:
                key = (row["protocol"], str(src), str(dst), row["src_port"], row["dst_port"])
            if key not in expected:
                wrong.append(f"{path.name}: {key} is in no baseline vector")
                continue
            matched.add(key)
            if row["community_id"] != expected[key]:
                wrong.append(f"{path.name}: {key}: ours {row['community_id']}, the baseline's {expected[key]}")
    assert not wrong, "\n".join(wrong)
    assert matched == set(expected), set(expected) - matched


def random_tuples(n, rng):
    protocols = [6, 17, 132, 1, 58, 46, 47, 50, 0, 255]
    for _ in range(n):
        proto = rng.choice(protocols)
        v6 = rng.random() < 0.5 if proto not in (1, 58) else proto == 58
        size = 16 if v6 else 4
        src = bytes(rng.getrandbits(8) for _ in range(size))
        dst = src if rng.random() < 0.1 else bytes(rng.getrandbits(8) for _ in range(size))
        if proto in (6, 17, 132):
            ports = (rng.choice([0, 53, 80, 65535, rng.getrandbits(16)]), rng.choice([0, 80, rng.getrandbits(16)]))
        elif proto in (1, 58):
            ports = (rng.choice([0, 3, 8, 11, 13, 128, 129, 133, 135, 146, rng.getrandbits(8)]), rng.getrandbits(8))
        else:
            ports = (None, None)
        yield proto, src, dst, ports


if not BASELINES:
    # (Not there: no test of them, rather than a skip that CI would count as a failure.)
    del test_spec_baseline_vectors, test_spec_pcaps_columns


def test_function_against_the_reference_implementation():
    """pcap.community_id() and the communityid package on 3,000 random
    tuples, each with three seeds (equal addresses and ports among them)."""
    communityid = communityid_package()
    rng = random.Random(22)
    wrong = []
    for proto, src, dst, ports in random_tuples(1000, rng):
        for seed in SEEDS:
            theirs = communityid.CommunityID(seed=seed).calc(communityid.FlowTuple(proto, src, dst, *ports))
            ours = pcap.community_id(src, dst, proto, *ports, seed=seed)
            if ours != theirs:
                wrong.append(f"{proto} {src.hex()} {dst.hex()} {ports} seed {seed}: ours {ours}, reference {theirs}")
    assert not wrong, "\n".join(wrong[:30])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_columns_against_the_reference_implementation(path, seed):
    """The community_id column of every packet of the corpus, with three
    seeds, against the communityid package fed the packet's own columns
    (addresses, protocol, ports or ICMP type and code): the hash of every
    IP packet, and null exactly where the tuple lacks what its protocol
    needs.  (Whether the columns are right is test_fields_tshark's.)"""
    communityid_package()
    ours = ours_arrow(str(path), data=False, seed=seed)
    wrong = [f"{path.name} packet {n + 1}: ours {mine['community_id']}, reference {expected}"
             for n, mine in enumerate(ours)
             if mine["community_id"] != (expected := community_id_of(mine, seed))]
    assert not wrong, "\n".join(wrong[:40])


# Where tshark's communityid does not hash what the module hashes, and the
# test does not compare: (why, the test on a packet of the reference).
TSHARK_DIFFERS = [
    ("tshark hashes the innermost IP header of a tunnel (GRE, IP in IP, 6in4, ...), the module the first",
     lambda ref: ref["tshark_ip_layers"] > 1),
    ("ICMP carried over the other IP version (ICMP in IPv6, ICMPv6 in IPv4): the reference implementation "
     "(communityid) and the module decide by the protocol number and hash the type and code; tshark decides "
     "by the IP version",
     lambda ref: (ref["protocol"], ref["ip_version"]) in ((1, 6), (58, 4))),
    ("a transport header cut short (or a bad TCP data offset): tshark hashes without ports or ICMP type, "
     "the module with the fields it has",
     lambda ref: ref["transport_cut"] or ref["transport_from_bytes"]),
]


@pytest.mark.parametrize("seed", [0, 1])
def test_columns_against_tshark(seed):
    """The community_id column against tshark's communityid wherever both
    have one for the same flow.  (tshark also hashes packets the module
    leaves null: later fragments of TCP/UDP/ICMP without their ports or
    type, IP inside MPLS, PPPoE or LLC/SNAP, which the contract leaves out;
    and leaves some the module hashes null: no next header, ESP.)"""
    tshark()
    compared, set_aside, wrong = 0, 0, []
    # (Seed 1 on the spec's pcaps and the synthetic files only: a tshark run a file and seed.)
    for path in FILES if seed == 0 else [p for p in FILES if p.name.startswith(("cid-", "syn-"))]:
        theirs = tshark_reference(path, seed)
        ours = ours_arrow(str(path), data=False, seed=seed)
        for mine, ref in zip(ours, theirs):
            if mine["community_id"] is None or ref["tshark_community_id"] is None:
                continue
            if any(differs(ref) for _, differs in TSHARK_DIFFERS):
                set_aside += 1
                continue
            compared += 1
            if mine["community_id"] != ref["tshark_community_id"]:
                wrong.append(f"{path.name} frame {ref['frame']}: ours {mine['community_id']}, "
                             f"tshark {ref['tshark_community_id']}")
    assert not wrong, "\n".join(wrong[:40])
    assert compared > 50, (compared, set_aside)
