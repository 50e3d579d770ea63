"""Several savefiles in one handle, merged by time stamp: checked against
Wireshark's mergecap (``-I none``: every input's interfaces copied, one
file's after the other's, which is this module's numbering) packet by
packet: time stamp in nanoseconds, captured and wire length, bytes and
interface; over classic and pcapng files of both byte orders, in
microseconds and nanoseconds, with ties, several interfaces in one file
and several link types.  Then every sink over a merge, filters, and what
a merge refuses."""
import shutil
import struct
import subprocess

import pytest

import pcap
from support import Pcapng, need, notes_during, udp_frame, write_pcap, write_pcapng


def frame(tag, i, size=0):
    return udp_frame(b"%s %d " % (tag, i) + bytes([i % 256]) * size, dport=1000 + i % 3)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("merge")
    out = {}
    # Classic, little-endian, microseconds; some packets cut (wire length larger).
    out["a_le_us.pcap"] = write_pcap(d / "a_le_us.pcap", [
        (1000 + i // 4, (i % 4) * 250000 + i, frame(b"a", i, i * 3), len(frame(b"a", i, i * 3)) + (40 if i % 5 == 0 else 0))
        for i in range(40)])
    # Classic, big-endian, nanoseconds; every 4th at the same instant as one of a's (a tie).
    out["b_be_ns.pcap"] = write_pcap(d / "b_be_ns.pcap", [
        (1000 + i // 4, (i % 4) * 250000000 + (i * 1000 if i % 4 == 0 else 123456 + i), frame(b"b", i, i))
        for i in range(40)], byteorder=">", nano=True)
    # pcapng, little-endian, nanoseconds.
    out["c_le_ns.pcapng"] = write_pcapng(d / "c_le_ns.pcapng", [
        (1000 + i // 3, (i % 3) * 333333333 + 7, frame(b"c", i, 2 * i)) for i in range(30)], tsresol=9)
    # pcapng, big-endian, two interfaces: microseconds and nanoseconds, other snaplens.
    ng = Pcapng(">").shb().idb(1, 9000, name="eth0", tsresol=6).idb(1, 262144, name="eth1", tsresol=9)
    for i in range(30):
        if i % 2:
            ng.epb(1, (1000 + i // 3) * 10**9 + (i % 3) * 300000000 + 5, frame(b"d1", i, i))
        else:
            ng.epb(0, (1000 + i // 3) * 10**6 + (i % 3) * 300000 + 1, frame(b"d0", i, i), comments=["d %d" % i])
    (d / "d_be_two.pcapng").write_bytes(bytes(ng))
    out["d_be_two.pcapng"] = d / "d_be_two.pcapng"
    # pcapng, little-endian: Ethernet and raw IP.
    ng = Pcapng("<").shb().idb(1, 65535, name="eth").idb(101, 65535, name="tun", tsresol=9)
    for i in range(20):
        f = frame(b"e", i)
        ng.epb(i % 2, (1000 + i // 2) * (10**6 if i % 2 == 0 else 10**9) + 17, f if i % 2 == 0 else f[14:])
    (d / "e_le_raw.pcapng").write_bytes(bytes(ng))
    out["e_le_raw.pcapng"] = d / "e_le_raw.pcapng"
    return {k: str(v) for k, v in out.items()}


def read_handle(p):
    """[(ts ns, caplen, wirelen, bytes, interface)] of every packet of p."""
    return [(ts, len(buf), p.wirelen, buf, p.interface_id) for ts, buf in p]


def mergecap(paths, out):
    need(shutil.which("mergecap"), "mergecap (wireshark-common) is missing")
    subprocess.run(["mergecap", "-I", "none", "-F", "pcapng", "-w", str(out), *paths], check=True,
                   capture_output=True, timeout=60)
    with pcap.pcap(str(out), timestamp_in_ns=True) as p:
        return read_handle(p), [(i.linktype, i.name) for i in p.interfaces]


CASES = [
    ["a_le_us.pcap", "b_be_ns.pcap"],
    ["b_be_ns.pcap", "a_le_us.pcap"],          # ties the other way round
    ["a_le_us.pcap", "c_le_ns.pcapng"],
    ["c_le_ns.pcapng", "d_be_two.pcapng", "a_le_us.pcap"],
    ["d_be_two.pcapng", "b_be_ns.pcap"],
    ["a_le_us.pcap", "b_be_ns.pcap", "c_le_ns.pcapng", "d_be_two.pcapng", "e_le_raw.pcapng"],
    ["e_le_raw.pcapng", "a_le_us.pcap"],
    ["a_le_us.pcap"],
]


@pytest.mark.parametrize("names", CASES, ids=["+".join(n.split("_")[0] for n in c) for c in CASES])
def test_merge_matches_mergecap(files, tmp_path, names):
    paths = [files[n] for n in names]
    want, want_ifs = mergecap(paths, tmp_path / "out.pcapng")
    with pcap.pcap(paths, timestamp_in_ns=True) as p:
        ifs = p.interfaces
        got = read_handle(p)
    assert len(got) == len(want) == sum(len(pcap.pcap(x).readpkts()) for x in paths)
    assert got == want
    assert [i.linktype for i in ifs] == [lt for lt, _ in want_ifs]
    assert [i.index for i in ifs] == list(range(len(ifs)))


def test_ties_go_to_the_later_file_as_with_mergecap(tmp_path):
    x = write_pcap(tmp_path / "x.pcap", [(5, 0, frame(b"x", i)) for i in range(3)])
    y = write_pcap(tmp_path / "y.pcap", [(5, 0, frame(b"y", i)) for i in range(3)])
    z = write_pcap(tmp_path / "z.pcap", [(5, 0, frame(b"z", 0))])
    for order, want in (([x, y], [(b"y", 1)] * 3 + [(b"x", 0)] * 3),
                        ([y, x], [(b"x", 1)] * 3 + [(b"y", 0)] * 3),
                        ([x, z, y], [(b"y", 2)] * 3 + [(b"z", 1)] + [(b"x", 0)] * 3)):
        with pcap.pcap([str(n) for n in order]) as p:
            got = [(buf[42:43], p.interface_id) for _, buf in p]
        assert got == want
        merged, _ = mergecap([str(n) for n in order], tmp_path / "ties.pcapng")
        assert [(buf[42:43], i) for *_, buf, i in merged] == want


def test_fileno_and_compressed_files_and_pipes(files, tmp_path):
    """Regular files have no descriptor to wait on: fileno() is the first
    one's, always readable.  A compressed file is read through a pipe,
    which the one descriptor waits on."""
    import gzip
    import select
    paths = [files["a_le_us.pcap"], files["c_le_ns.pcapng"]]
    with pcap.pcap(paths) as p:
        assert select.select([p.fileno()], [], [], 0)[0] == [p.fileno()]
        want = [(ts, buf, p.interface_id) for ts, buf in p]
    gz = tmp_path / "c.pcapng.gz"
    with open(files["c_le_ns.pcapng"], "rb") as f:
        gz.write_bytes(gzip.compress(f.read()))
    with pcap.pcap([files["a_le_us.pcap"], str(gz)]) as p:
        assert p.fileno() >= 0
        assert [(ts, buf, p.interface_id) for ts, buf in p] == want


def test_float_timestamps_and_precision(files):
    with pcap.pcap([files["a_le_us.pcap"], files["b_be_ns.pcap"]]) as p:
        assert p.precision == pcap.PCAP_TSTAMP_PRECISION_NANO
        got = [ts for ts, _ in p]
    with pcap.pcap([files["a_le_us.pcap"], files["b_be_ns.pcap"]], timestamp_in_ns=True) as p:
        ns = [ts for ts, _ in p]
    assert len(got) == 80
    assert all(abs(f - n / 1e9) < 1e-6 for f, n in zip(got, ns))


def every_sink(paths):
    """What iteration, readbatch, readinto (through next_batch, small
    batches) and Arrow give of a merge: [(ts, caplen, wirelen, bytes, interface)] each."""
    out = {}
    with pcap.pcap(paths, timestamp_in_ns=True) as p:
        out["iter"] = read_handle(p)
    with pcap.pcap(paths, timestamp_in_ns=True) as p:
        rows = []
        while True:
            stamps, bufs, wirelens, ids = p.readbatch(7, wirelens=True, interfaces=True)
            if not bufs:
                break
            rows += [(t, len(b), w, b, i) for t, b, w, i in zip(stamps, bufs, wirelens, ids)]
        out["readbatch"] = rows
    with pcap.pcap(paths) as p:
        rows, comments_seen = [], []
        while True:
            records, data, comments = p.next_batch(5, 300, interfaces=True)
            if not records:
                break
            at = 0
            for ts, cap, wire, off, iface, flags, clen in struct.iter_unpack(pcap.BATCH_RECORD_NG_FORMAT,
                                                                                    records):
                rows.append((ts, cap, wire, bytes(data[off:off + cap]), iface))
                comments_seen.append(bytes(comments[at:at + clen]))
                at += clen
        out["next_batch"] = rows
    return out, comments_seen


def test_every_sink_gives_the_merge(files):
    paths = [files[n] for n in ("d_be_two.pcapng", "a_le_us.pcap", "c_le_ns.pcapng")]
    out, comments = every_sink(paths)
    assert len(out["iter"]) == 100
    assert out["readbatch"] == out["iter"]
    assert out["next_batch"] == out["iter"]
    # The comments of d's interface-0 packets come along with them.
    assert sorted(c for c in comments if c) == sorted(b"d %d" % i for i in range(0, 30, 2))
    pa = pytest.importorskip("pyarrow")
    with pcap.pcap(paths) as p:
        table = p.to_arrow(16)
    assert isinstance(table, pa.Table)
    assert table.column("interface_id").to_pylist() == [i for *_, i in out["iter"]]
    assert table.column("data").to_pylist() == [b for _, _, _, b, _ in out["iter"]]
    import json
    meta = json.loads(table.schema.metadata[b"pcap.interfaces"])
    assert [(m["index"], m["name"]) for m in meta] == [(0, "eth0"), (1, "eth1"), (2, None), (3, None)]


def test_packet_options_follow_the_packet(files):
    with pcap.pcap([files["a_le_us.pcap"], files["d_be_two.pcapng"]]) as p:
        seen = []
        for _, buf in p:
            seen.append((p.interface_id, p.packet_comments))
    assert {i for i, _ in seen} == {0, 1, 2}
    assert all(c == [] for i, c in seen if i != 1)
    assert [c for i, c in seen if i == 1] == [["d %d" % i] for i in range(0, 30, 2)]


def test_filter_applies_to_each_file(files, tmp_path):
    paths = [files[n] for n in ("a_le_us.pcap", "d_be_two.pcapng", "e_le_raw.pcapng")]
    want, _ = mergecap(paths, tmp_path / "out.pcapng")
    flt = "udp dst port 1001"
    with pcap.pcap(str(tmp_path / "out.pcapng"), timestamp_in_ns=True) as p:
        p.setfilter(flt)
        want = read_handle(p)
    with pcap.pcap(paths, timestamp_in_ns=True) as p:
        p.setfilter(flt)
        assert p.filter == flt
        got = read_handle(p)
    assert got == want and len(got) > 10
    assert {i for *_, i in got} == {0, 1, 2, 3, 4}      # the raw-IP interface's packets pass too


def test_a_filter_that_does_not_compile_for_one_file_names_it(files):
    with pcap.pcap([files["a_le_us.pcap"], files["e_le_raw.pcapng"]]) as p:
        with pytest.raises(pcap.PcapError, match="e_le_raw.pcapng"):
            p.setfilter("ether broadcast")
        assert p.filter == ""
        assert len(p.readpkts()) == 40 + 20


def test_datalink_warns_on_several_link_types(files):
    with pcap.pcap([files["a_le_us.pcap"], files["e_le_raw.pcapng"]]) as p:
        with pytest.warns(RuntimeWarning, match="several link types"):
            assert p.datalink() == pcap.DLT_EN10MB
        assert [i.linktype for i in p.interfaces] == [pcap.DLT_EN10MB, pcap.DLT_EN10MB, pcap.DLT_RAW]
        with pytest.raises(pcap.PcapError, match="not on a savefile|savefile|stats"):
            p.stats()


def test_interfaces_that_change_mid_file_are_refused(files, tmp_path):
    ng = Pcapng("<").shb().idb(1, 65535)
    ng.epb(0, 1000 * 10**6, frame(b"late", 0))
    ng.idb(1, 65535, name="later")
    ng.epb(1, 1001 * 10**6, frame(b"late", 1))
    path = tmp_path / "late_idb.pcapng"
    path.write_bytes(bytes(ng))
    with pcap.pcap([str(path), files["a_le_us.pcap"]]) as p:
        with pytest.raises(pcap.PcapError, match=r"late_idb.pcapng.*interfaces change after its first packets"):
            list(p)


def test_merge_lets_other_threads_run(tmp_path):
    """A long merged read holds the GIL for a slice at most at a time:
    another thread keeps running during one readinto() (of about 40 ms
    here: the GIL changes hands every 10 ms of it)."""
    n = 500_000
    x = write_pcap(tmp_path / "x.pcap", [(i // 1000, i % 1000 * 2, b"x" * 20) for i in range(n)])
    y = write_pcap(tmp_path / "y.pcap", [(i // 1000, i % 1000 * 2 + 1, b"y" * 20) for i in range(n)])
    records, data = bytearray(24 * 2 * n), bytearray(20 * 2 * n + 65535)
    with pcap.pcap([str(x), str(y)]) as p:
        got, took, inside = notes_during(lambda: p.readinto(records, data))
    assert got == 2 * n
    assert bytes(data[:40]) == b"x" * 20 + b"y" * 20
    assert took > 0.02, "the read was too quick to tell"
    assert len(inside) > 10, f"{len(inside)} notes in the {1e3 * took:.1f} ms of the read"


def test_a_merge_written_to_pcapng_keeps_every_interface(files, tmp_path):
    paths = [files[n] for n in ("a_le_us.pcap", "e_le_raw.pcapng")]
    with pcap.pcap(paths, timestamp_in_ns=True) as p:
        want = read_handle(p)
        want_ifs = [(i.index, i.linktype, i.name) for i in p.interfaces]
    out = tmp_path / "merged.pcapng"
    with pcap.pcap(paths, timestamp_in_ns=True) as p:
        d = p.dump_open(str(out), format="pcapng")
        assert p.loop(0, d) == 60
        d.close()
    with pcap.pcap(str(out), timestamp_in_ns=True) as p:
        assert read_handle(p) == want
        assert [(i.index, i.linktype, i.name) for i in p.interfaces] == want_ifs == \
            [(0, pcap.DLT_EN10MB, None), (1, pcap.DLT_EN10MB, "eth"), (2, pcap.DLT_RAW, "tun")]


def test_a_merge_of_pcapng_files_written_to_pcapng_keeps_each_packets_options(tmp_path):
    """Comments, flags, drop counts and ids of each file's packets come
    through a merge into the copy, on the packets they belong to."""
    first = Pcapng(">").shb().idb(1, 0, name="a", tsresol=9)
    second = Pcapng("<").shb().idb(101, 0, name="b", tsresol=6)
    for i in range(30):
        first.epb(0, 1_700_000_000_000_000_000 + i * 2_000, udp_frame(b"a%d" % i), comments=[f"a{i}"] * (i % 3),
                  flags=1 + i % 2, dropcount=i, packet_id=1000 + i)
        second.epb(0, 1_700_000_000_000_000 + i * 2 + 1, b"\x45" + bytes([i]) * 19, comments=[f"b{i}"],
                   flags=2)
    paths = [tmp_path / "a.pcapng", tmp_path / "b.pcapng"]
    paths[0].write_bytes(bytes(first))
    paths[1].write_bytes(bytes(second))

    def described(p):
        return [(ts, buf, p.interface_id, p.packet_comments, p.packet_flags, p.packet_dropcount, p.packet_id)
                for ts, buf in p]
    with pcap.pcap([str(x) for x in paths], timestamp_in_ns=True) as p:
        want = described(p)
    out = tmp_path / "merged.pcapng"
    with pcap.pcap([str(x) for x in paths], timestamp_in_ns=True) as p, p.dump_open(out) as d:
        assert p.loop(0, d) == 60
    with pcap.pcap(str(out), timestamp_in_ns=True) as p:
        assert described(p) == want
    assert [w[2] for w in want] == [0, 1] * 30 and want[0][3:] == ([], 1, 0, 1000) and want[1][3] == ["b0"]
