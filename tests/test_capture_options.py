"""Capture options of issue 24: time stamp types (tstamp_type=,
tstamp_types()), one protocol (protocol=, pcap_set_protocol_linux),
inject(), and the change of libpcap's counters with each batch
(batch_stats, Arrow metadata); on lo and on the veth pair of conftest.py,
and the snippets of docs/capture-options.md."""
import io
import json
import random
import socket
import struct
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest

import pcap
from support import can_capture, drain, numbered_savefile, run_python, run_unprivileged, settle
from test_readme import run_snippet, snippets

ETH_P_EXPERIMENTAL = 0x88B5      # IEEE 802 local experimental EtherTypes
ETH_P_EXPERIMENTAL_2 = 0x88B6
HOST = pcap.TstampType(pcap.PCAP_TSTAMP_HOST, "host", "Host")
DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "capture-options.md"
# libpcap 1.9 added pcap_set_protocol_linux() and DLT_LINUX_SLL2 to its header.
HAS_PROTOCOL = hasattr(pcap, "DLT_LINUX_SLL2") and sys.platform.startswith("linux")
NO_PROTOCOL = ("built against a libpcap without pcap_set_protocol_linux() (1.8): "
               "test_protocol_opens_or_says_which_libpcap_it_needs checks the error")


@pytest.fixture(autouse=True)
def watchdog(watchdog):
    """Every test here waits on capture handles: a hang ends the run with
    the threads' tracebacks."""
    yield


def marker(tag):
    return f"pcap-test {tag} {uuid.uuid4().hex}".encode()


def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def eth_frame(dst, src, payload, ethertype=ETH_P_EXPERIMENTAL):
    frame = mac(dst) + mac(src) + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def open_on(where, veth, **kw):
    kw.setdefault("immediate", True)
    kw.setdefault("timeout_ms", 200)
    return pcap.pcap("lo" if where == "lo" else veth.root_if, **kw)


@pytest.fixture(params=["lo", "veth"])
def where(request):
    """lo, or the root end of the test session's veth pair."""
    if request.param == "veth":
        request.getfixturevalue("veth")
    else:
        request.getfixturevalue("live")
    return request.param


@pytest.fixture
def veth_or_none(where, request):
    return request.getfixturevalue("veth") if where == "veth" else None


def send_marked(where, veth, payload, ethertype=ETH_P_EXPERIMENTAL):
    """A frame that arrives on the interface: on lo one sent there (lo gives
    it back as received), on the veth end one sent from the namespace."""
    if where == "lo":
        frame = eth_frame("00:00:00:00:00:00", "00:00:00:00:00:00", payload, ethertype)
        with pcap.pcap("lo") as tx:
            tx.sendpacket(frame)
    else:
        frame = eth_frame(veth.foreign_mac, veth.ns_mac, payload, ethertype)
        veth.send_from_ns([("raw", frame)])
    return frame


# -- time stamp types -------------------------------------------------------------

def test_tstamp_constants_are_libpcaps():
    assert [pcap.PCAP_TSTAMP_HOST, pcap.PCAP_TSTAMP_HOST_LOWPREC, pcap.PCAP_TSTAMP_HOST_HIPREC,
            pcap.PCAP_TSTAMP_ADAPTER, pcap.PCAP_TSTAMP_ADAPTER_UNSYNCED,
            pcap.PCAP_TSTAMP_HOST_HIPREC_UNSYNCED] == [0, 1, 2, 3, 4, 5]
    assert "TstampType" in dir(pcap)
    assert pcap.TstampType._fields == ("value", "name", "description")


def test_tstamp_types_of_lo_needs_no_privilege():
    assert pcap.tstamp_types("lo") == [HOST]
    assert pcap.tstamp_types(b"lo") == [HOST]
    code = "import pcap; print(pcap.tstamp_types('lo'))"
    if can_capture():
        out = run_unprivileged([sys.executable, "-c", code])
    else:
        out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[TstampType(value=0, name='host', description='Host')]"


def test_tstamp_types_of_the_veth_end(veth):
    """A veth pair offers host time stamps only."""
    assert pcap.tstamp_types(veth.root_if) == [HOST]


def test_tstamp_types_of_no_device():
    with pytest.raises(pcap.PcapNotFoundError, match=r"^list time stamp types of 'nosuchdev7q': ") as info:
        pcap.tstamp_types("nosuchdev7q")
    assert info.value.errno == 19       # ENODEV
    with pytest.raises(TypeError, match="device name"):
        pcap.tstamp_types(7)


@pytest.mark.parametrize("choice", ["host", "HOST", pcap.PCAP_TSTAMP_HOST], ids=repr)
def test_tstamp_type_the_interface_offers(where, veth_or_none, choice, tmp_path):
    """The choice is taken without a warning, kept in nanoseconds, and
    recorded: the handle, its interface's comment, Arrow metadata and a
    pcapng copy."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = open_on(where, veth_or_none, tstamp_type=choice, timestamp_in_ns=True)
    with p:
        assert p.tstamp_type == "host"
        assert p.precision == pcap.PCAP_TSTAMP_PRECISION_NANO
        assert p.interfaces[0].comments == ["tstamp_type=host (Host)"]
        p.setfilter(f"ether proto {ETH_P_EXPERIMENTAL}")
        assert p.setdirection(pcap.PCAP_D_IN)      # (lo shows a frame sent there twice: out, then in)
        settle(p)
        out = tmp_path / "copy.pcapng"
        marks = [marker(f"tstamp {i}") for i in range(5)]
        with p.dump_open(str(out), format="pcapng") as d:
            for m in marks:
                send_marked(where, veth_or_none, m)
            got = []
            deadline = time.monotonic() + 3
            while len(got) < len(marks) and time.monotonic() < deadline:
                got += [(ts, buf) for ts, buf in p.readpkts() if any(m in buf for m in marks)]
            for ts, buf in got:
                d.write(ts, buf)
        assert len(got) == len(marks)
        # Nanoseconds, not microseconds times 1000 (odds of a false failure: 1e-15).
        assert any(ts % 1000 for ts, _ in got), [ts for ts, _ in got]
        assert all(abs(ts / 1e9 - time.time()) < 10 for ts, _ in got)
    with pcap.pcap(str(out)) as back:
        assert back.interfaces[0].comments == ["tstamp_type=host (Host)"]
        assert back.interfaces[0].tsresol == 10**9
        assert back.tstamp_type is None         # (a savefile's handle chose none)
        assert len(back.readpkts()) == len(marks)


def test_tstamp_type_in_arrow_metadata(live):
    pytest.importorskip("pyarrow")
    port = random.randrange(20000, 60000)
    with pcap.pcap("lo", tstamp_type="host", immediate=True, timeout_ms=300) as p:
        p.setfilter(f"udp and dst port {port}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"arrow", ("127.0.0.1", port))
        batch = next(p.arrow_batches())
        assert batch.schema.metadata[b"pcap.tstamp_type"] == b"host"
    with pcap.pcap("lo", timeout_ms=300) as p:        # no choice: not recorded
        assert p.tstamp_type is None and p.interfaces[0].comments == []


@pytest.mark.parametrize("lacking", ["adapter", "adapter_unsynced", pcap.PCAP_TSTAMP_HOST_HIPREC], ids=repr)
def test_tstamp_type_the_interface_lacks_warns_and_captures_with_host(where, veth_or_none, lacking):
    name = "lo" if where == "lo" else veth_or_none.root_if
    wanted = lacking if isinstance(lacking, str) else "host_hiprec"
    with pytest.warns(RuntimeWarning, match=rf"^{name}: time stamp type '{wanted}': That type of time stamp is "
                                            rf"not supported by that device \({name} offers host\); capturing "
                                            rf"with host time stamps$"):
        p = open_on(where, veth_or_none, tstamp_type=lacking)
    with p:
        assert p.tstamp_type == "host"
        assert p.interfaces[0].comments == ["tstamp_type=host (Host)"]
        p.setfilter(f"ether proto {ETH_P_EXPERIMENTAL}")
        assert p.setdirection(pcap.PCAP_D_IN)
        settle(p)
        m = marker("lacking")
        frame = send_marked(where, veth_or_none, m)
        assert [buf for _, buf in drain(p) if m in buf] == [frame]


def test_tstamp_type_warning_can_be_an_error(live):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning, match="'adapter'"):
            pcap.pcap("lo", tstamp_type="adapter")


def test_a_failed_activation_names_the_type_and_the_interface(live):
    """lo has no monitor mode: with a time stamp type chosen the error names
    both, then libpcap's words (Linux refuses no time stamp type with an
    error that lo or a veth can show)."""
    with pytest.raises(pcap.PcapError, match=r"^cannot open 'lo' with time stamp type 'host': "):
        pcap.pcap("lo", tstamp_type="host", rfmon=True)


@pytest.mark.parametrize("value, error, match", [
    ("host\0", ValueError, r"^tstamp_type must be one of .*, not 'host\\x00'$"),
    ("nope", ValueError, r"^tstamp_type must be one of 'host', 'host_lowprec', .* or a PCAP_TSTAMP_\* value, "
                         r"not 'nope'$"),
    (99, ValueError, r"^tstamp_type must be a PCAP_TSTAMP_\* value this libpcap knows \('host', .*\), not 99$"),
    (-1, ValueError, r"^tstamp_type must be 0 or more, not -1$"),
    (True, TypeError, r"^tstamp_type must be a name \(str\) or a PCAP_TSTAMP_\* value \(int\), not bool$"),
    (1.0, TypeError, r"not float$"),
    (b"host", TypeError, r"not bytes$"),
])
def test_tstamp_type_bad_values(value, error, match):
    """Refused before anything is opened: no privilege needed."""
    with pytest.raises(error, match=match):
        pcap.pcap("lo", tstamp_type=value)


def test_tstamp_type_of_a_savefile_is_refused(tmp_path):
    path = str(numbered_savefile(tmp_path))
    msg = r"^tstamp_type is for live capture: '.*' is a savefile, whose time stamps were taken when it was written$"
    with pytest.raises(ValueError, match=msg):
        pcap.pcap(path, tstamp_type="host")
    with pytest.raises(ValueError, match=msg):
        pcap.pcap([path, path], tstamp_type="host")
    with open(path, "rb") as f, pytest.raises(ValueError, match=msg):
        pcap.pcap(io.BytesIO(f.read()), tstamp_type="adapter")
    with pcap.pcap(path) as p:
        assert p.tstamp_type is None


def test_tstamp_type_on_several_interfaces(veth):
    with pytest.warns(RuntimeWarning) as seen:
        p = pcap.pcap(["lo", veth.root_if], tstamp_type="adapter", timeout_ms=200)
    assert sorted(str(w.message).split(":")[0] for w in seen) == sorted(["lo", veth.root_if])
    with p:
        assert p.tstamp_type == "host"
        assert [i.comments for i in p.interfaces] == [["tstamp_type=host (Host)"]] * 2


# -- one protocol: pcap_set_protocol_linux ---------------------------------------

def test_protocol_opens_or_says_which_libpcap_it_needs(live):
    """Built against libpcap 1.9 or later on Linux, protocol= opens; against
    1.8 (the version matrix, tools/libpcap_matrix.py, runs this there) it
    is a PcapError that says why and what to do instead."""
    if HAS_PROTOCOL:
        with pcap.pcap("lo", protocol=ETH_P_EXPERIMENTAL, timeout_ms=100) as p:
            assert p.readpkts() == [] or p.stats().received >= 0
        return
    with pytest.raises(pcap.PcapError, match=r"^capture only protocol 0x88b5 on 'lo': this module was built "
                                             r"against a libpcap without pcap_set_protocol_linux\(\) \(libpcap "
                                             r"1\.9 and later have it, on Linux\): setfilter\('ether proto "
                                             r"0x88b5'\) keeps that protocol instead$"):
        pcap.pcap("lo", protocol=ETH_P_EXPERIMENTAL)


def test_protocol_only_that_ethertype_arrives(where, veth_or_none):
    if not HAS_PROTOCOL:
        pytest.skip(NO_PROTOCOL)
    with open_on(where, veth_or_none, protocol=ETH_P_EXPERIMENTAL) as p:
        settle(p)
        m = marker("protocol")
        wanted = send_marked(where, veth_or_none, m + b" wanted")
        send_marked(where, veth_or_none, m + b" other", ETH_P_EXPERIMENTAL_2)
        if where == "lo":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(m + b" udp", ("127.0.0.1", 9))
        else:
            veth_or_none.send_from_ns([("udp", 9, m + b" udp")])
        got = [buf for _, buf in drain(p, 0.4) if m in buf]
    assert got == [wanted]
    assert all(buf[12:14] == struct.pack("!H", ETH_P_EXPERIMENTAL) for buf in got)


# libpcap's 1.8.1 tag (it calls itself 1.9.0-PRE-GIT): a capture ring it cannot map (a small
# buffer) fails the activation, closes the socket, yet pcap_activate() returns PCAP_WARNING.
RING_FAILURE_AS_WARNING = pcap.lib_version().startswith("libpcap version 1.9.0-PRE")


def test_a_small_buffer_size_captures_or_says_why(live):
    """buffer_size=65536 on lo: a capture that works, or where libpcap closed it (1.8.1) an error
    that says so, not one about making a closed socket nonblocking."""
    if RING_FAILURE_AS_WARNING:
        with pytest.raises(pcap.PcapError, match=r"^cannot open 'lo': can't mmap rx ring: .*closed the capture but "
                                                 r"called it a warning; a larger buffer_size opens it\)$"):
            pcap.pcap("lo", buffer_size=65536, timeout_ms=200)
        return
    with pcap.pcap("lo", buffer_size=65536, snaplen=128, immediate=True, timeout_ms=200) as p:
        m = marker("small buffer")
        p.setfilter("udp and dst host 127.0.0.1 and dst port 9")
        settle(p)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(m, ("127.0.0.1", 9))
        got = [buf for _, buf in drain(p, 0.4) if m in buf]
    assert len(got) == 1 and got[0].endswith(m)


def test_protocol_sees_no_outgoing_frame(veth):
    """The kernel gives what the host sends only to handles of every
    protocol."""
    if not HAS_PROTOCOL:
        pytest.skip(NO_PROTOCOL)
    with pcap.pcap(veth.root_if, protocol=ETH_P_EXPERIMENTAL, immediate=True, timeout_ms=200) as p, \
            pcap.pcap(veth.root_if, immediate=True, timeout_ms=200) as every:
        every.setfilter(f"ether proto {ETH_P_EXPERIMENTAL}")
        settle(p)
        settle(every)
        m = marker("outgoing")
        out = eth_frame(veth.foreign_mac, veth.root_mac, m)
        assert p.inject(out) == len(out)
        assert [buf for _, buf in drain(every) if m in buf] == [out]
        assert [buf for _, buf in drain(p, 0.2) if m in buf] == []


@pytest.mark.parametrize("value, error, match", [
    (-1, ValueError, r"^protocol must be 0 to 65535 \(an ethertype; 0: every one\), not -1$"),
    (0x10000, ValueError, r"^protocol must be 0 to 65535 "),
    ("ip", TypeError, r"^protocol must be an int, not str$"),
])
def test_protocol_bad_values(value, error, match):
    with pytest.raises(error, match=match):
        pcap.pcap("lo", protocol=value)


def test_protocol_of_a_savefile_is_refused(tmp_path):
    path = str(numbered_savefile(tmp_path))
    with pytest.raises(ValueError, match=r"^protocol is for live capture: '.*' is a savefile \(setfilter"):
        pcap.pcap(path, protocol=0x0800)


# -- inject --------------------------------------------------------------------

INJECT_CHILD = r"""
import json, sys
import pcap
device, frames = json.load(sys.stdin)
kinds = [bytes, bytearray, memoryview]
with pcap.pcap(device) as p:
    print(json.dumps([p.inject(kinds[i % 3](bytes.fromhex(f))) for i, f in enumerate(frames)]))
"""


def test_inject_from_the_namespace_arrives_exactly(veth):
    """A handle in the namespace injects frames of every bytes-like kind; the
    other end receives exactly those bytes, and inject() said how many."""
    with pcap.pcap(veth.root_if, immediate=True, timeout_ms=200) as p:
        p.setfilter(f"ether proto {ETH_P_EXPERIMENTAL}")
        assert p.setdirection(pcap.PCAP_D_IN)
        settle(p)
        m = marker("inject")
        frames = [eth_frame(veth.foreign_mac, veth.ns_mac, m + b" %d" % i + bytes(range(256)) * i)
                  for i in range(3)]
        proc = subprocess.run(["ip", "netns", "exec", veth.ns, sys.executable, "-c", INJECT_CHILD],
                              input=json.dumps([veth.ns_if, [f.hex() for f in frames]]), capture_output=True,
                              text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == [len(f) for f in frames]
        got = [buf for _, buf in drain(p, 0.5) if m in buf]
    assert got == frames


def test_inject_on_lo_returns_the_bytes_written(live):
    with pcap.pcap("lo", immediate=True, timeout_ms=200) as rx, pcap.pcap("lo") as tx:
        rx.setfilter(f"ether proto {ETH_P_EXPERIMENTAL}")
        settle(rx)
        m = uuid.uuid4().hex.encode()
        frame = eth_frame("00:00:00:00:00:00", "00:00:00:00:00:00", m + b"\1" * 100)
        assert tx.inject(frame) == len(frame) == 146
        assert tx.inject(memoryview(frame)[:60]) == 60
        got = [buf for _, buf in drain(rx) if m in buf]
    assert got == [frame, frame[:60]]


def test_inject_refuses_as_sendpacket_does(live, tmp_path):
    with pcap.pcap("lo") as p:
        for send in (p.inject, p.sendpacket):
            with pytest.raises(ValueError, match=r"^buf must hold a packet, not 0 bytes$"):
                send(b"")
            with pytest.raises(TypeError, match="buf"):
                send("text")
    with pytest.raises(ValueError, match="closed"):
        p.inject(b"\0" * 60)
    with pcap.pcap(str(numbered_savefile(tmp_path))) as f:
        with pytest.raises(pcap.PcapError, match=r"^inject packet on '.*numbered.pcap': a savefile has no "
                                                 r"interface to send on"):
            f.inject(b"\0" * 60)
        with pytest.raises(pcap.PcapError, match=r"^send packet on .*: a savefile has no interface to send on"):
            f.sendpacket(b"\0" * 60)


def test_inject_on_several_interfaces_is_refused(veth):
    with pcap.pcap(["lo", veth.root_if], timeout_ms=200) as p:
        with pytest.raises(pcap.PcapError, match=r"^inject packet on 'lo,.*': a handle over several interfaces "
                                                 r"does not say which one to send on"):
            p.inject(b"\0" * 60)


# -- the counters' change with each batch ------------------------------------------

FLOOD = 3000     # frames a flood sends from the namespace: far more than the smallest ring holds


def flood(veth, tag, n=FLOOD):
    veth.send_from_ns([("raw", eth_frame(veth.foreign_mac, veth.ns_mac, b"%s %06d" % (tag, i) + b"\0" * 80))
                       for i in range(n)])


def read_batch(p, how, records, data):
    """One batch read of ``how``: the number of packets it gave, and the
    counters' change it carries (Arrow's in its metadata)."""
    if how == "next_batch":
        recs, _ = p.next_batch(100)
        return len(recs) // pcap.BATCH_RECORD_SIZE, p.batch_stats
    if how == "readinto":
        return p.readinto(records, data, 100), p.batch_stats
    if how == "readbatch":
        return len(p.readbatch(100)[1]), p.batch_stats
    batches = p.arrow_batches(100)
    batch = next(batches, None)
    if batch is None:
        return 0, p.batch_stats
    meta = batch.schema.metadata
    delta = pcap.Stats(*(int(meta[f"pcap.{k}_delta".encode()]) for k in ("received", "dropped", "ifdropped")))
    assert delta == p.batch_stats
    return batch.num_rows, delta


@pytest.mark.parametrize("how", ["next_batch", "readinto", "readbatch", "arrow"])
def test_batch_stats_sum_to_the_totals_with_drops(veth, how):
    """A ring of the least size, flooded twice while nobody reads: drops.
    Read in batches of 100 until one comes back empty: the changes the
    batches carry add up to stats(), drops included."""
    if how == "arrow":
        pytest.importorskip("pyarrow")
    records, data = bytearray(100 * pcap.BATCH_RECORD_SIZE), bytearray(1 << 20)
    with pcap.pcap(veth.root_if, buffer_size=1, snaplen=128, timeout_ms=300, batch_stats=True) as p:
        assert p.batch_stats is None
        p.setfilter(f"ether proto {ETH_P_EXPERIMENTAL}")
        deltas, packets = [], 0             # (the first batch's change counts from the opening)
        for round in range(2):
            flood(veth, b"round %d" % round)
            for _ in range(2 * FLOOD // 100 + 20):      # bounded: at most every packet, then empty
                n, delta = read_batch(p, how, records, data)
                assert isinstance(delta, pcap.Stats)
                deltas.append(delta)
                packets += n
                if n == 0:
                    break
            else:
                pytest.fail("the batches never came back empty")
        total = p.stats()
    summed = pcap.Stats(*map(sum, zip(*deltas)))
    assert summed == total
    assert total.received >= 2 * FLOOD and total.dropped > 0, total
    # (Packets that came before the filter are counted, and not delivered.)
    assert 2 * FLOOD - total.dropped <= packets <= total.received - total.dropped
    assert sum(d.dropped > 0 for d in deltas) >= 2, "drops of both floods, in two batches"


def test_batch_stats_are_asked_for(live):
    """Off by default (it costs a pcap_stats() a batch): None, and no
    metadata keys in Arrow."""
    with pcap.pcap("lo", timeout_ms=50) as p:
        p.setfilter("ether proto 0x88b5")
        p.next_batch()
        assert p.batch_stats is None
    with pcap.pcap("lo", timeout_ms=50, batch_stats=1) as p:
        p.setfilter("ether proto 0x88b5")
        p.next_batch()
        assert isinstance(p.batch_stats, pcap.Stats)
    with pytest.raises(TypeError, match="^batch_stats must be True or False, not str$"):
        pcap.pcap("lo", batch_stats="yes")


def test_batch_stats_of_a_savefile_are_none(tmp_path):
    with pcap.pcap(str(numbered_savefile(tmp_path)), batch_stats=True) as p:
        records, _ = p.next_batch()
        assert records and p.batch_stats is None
        assert p.readinto(bytearray(1000), bytearray(1 << 20)) == 0 and p.batch_stats is None


def test_batch_stats_on_several_interfaces(veth):
    with pcap.pcap(["lo", veth.root_if], timeout_ms=200, buffer_size=1, snaplen=128, batch_stats=True) as p:
        p.setfilter(f"ether proto {ETH_P_EXPERIMENTAL}")
        p.next_batch()
        deltas = [p.batch_stats]
        flood(veth, b"multi", 1000)
        while True:
            records, _ = p.next_batch(100)
            deltas.append(p.batch_stats)
            if not records:
                break
        assert pcap.Stats(*map(sum, zip(*deltas))) == p.stats()
        assert p.stats(interface=1).received >= 1000


def test_arrow_on_a_live_handle_leaves_the_counts_out_of_parquet(live, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    port = random.randrange(20000, 60000)
    with pcap.pcap("lo", immediate=True, timeout_ms=300, batch_stats=True) as p:
        p.setfilter(f"udp and dst port {port}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"parquet", ("127.0.0.1", port))
        assert pcap.to_parquet(p, str(tmp_path / "x.parquet")) == 1
    meta = pq.read_schema(str(tmp_path / "x.parquet")).metadata
    assert b"pcap.source" in meta and not any(k.endswith(b"_delta") for k in meta)


# -- the docs page ---------------------------------------------------------------

DOC_SNIPPETS = snippets(DOCS_PAGE.read_text())


def test_docs_page_has_snippets():
    assert len(DOC_SNIPPETS) >= 4 and all(s.label for s in DOC_SNIPPETS)


@pytest.mark.parametrize("snippet", DOC_SNIPPETS, ids=lambda s: s.id)
def test_docs_page_snippet(snippet, request):
    """Each snippet of docs/capture-options.md runs (as the README's do,
    tests/test_readme.py); "Output:" is compared exactly."""
    if snippet.live:
        request.getfixturevalue("live")
    proc = run_snippet(snippet)
    assert proc.returncode == 0, f"line {snippet.line} failed:\n{proc.stderr}"
    assert proc.stderr == "", f"line {snippet.line} wrote to stderr:\n{proc.stderr}"
    assert proc.stdout.strip()
    if snippet.exact:
        assert proc.stdout == snippet.output
