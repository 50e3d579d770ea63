"""Live capture: on lo with UDP traffic the tests send, sendpacket seen by a
second handle, and on a veth pair whose other end lives in a network
namespace the tests create (Ethernet link type, promiscuous mode,
setdirection).  Every wait is bounded: handles have timeouts, iteration has a
breakloop timer, and a per-test alarm turns a hang into a failure."""
import errno
import faulthandler
import json
import os
import random
import signal
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
from support import (Veth, breakloop_after, can_capture, drain, free_port, need, open_lo, settle, udp_frame,
                     write_pcap)

IFF_PROMISC = 0x100
ETH_P_EXPERIMENTAL = 0x88B5      # IEEE 802 local experimental EtherType
TEST_ALARM_S = 15


@pytest.fixture(autouse=True)
def hard_cap():
    """A hang fails the test: SIGALRM raises in the main thread (the module's
    waits run Python signal handlers), and faulthandler ends the process as
    a last resort if even that is not seen."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"live test still running after {TEST_ALARM_S} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_ALARM_S)
    faulthandler.dump_traceback_later(TEST_ALARM_S * 4, exit=True)
    try:
        yield
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, old)


def marker(tag):
    return f"pcap-test {tag} {uuid.uuid4().hex}".encode()


# --------------------------------------------------------------------------
# Loopback with UDP traffic.

def parse_udp(frame, dloff):
    """(src ip, dst ip, sport, dport, payload) of an Ethernet/IPv4/UDP frame."""
    assert frame[dloff - 2:dloff] == b"\x08\x00", f"not IPv4: {frame[:dloff].hex()}"
    ip = frame[dloff:]
    ihl = (ip[0] & 0x0F) * 4
    assert ip[0] >> 4 == 4 and ip[9] == 17, "not IPv4/UDP"
    total = struct.unpack("!H", ip[2:4])[0]
    sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
    assert ulen == total - ihl
    return (socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), sport, dport,
            ip[ihl + 8:ihl + ulen])


class UdpTraffic:
    """A receiving socket on 127.0.0.1 at a free port and a sender to it."""
    def __init__(self):
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.bind(("127.0.0.1", 0))
        self.port = self.rx.getsockname()[1]
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.bind(("127.0.0.1", 0))
        self.sport = self.tx.getsockname()[1]
        self.filter = f"udp and dst port {self.port}"

    def send(self, n, tag="udp"):
        payloads = [marker(f"{tag} {i}") for i in range(n)]
        for p in payloads:
            self.tx.sendto(p, ("127.0.0.1", self.port))
        return payloads

    def close(self):
        self.rx.close()
        self.tx.close()


@pytest.fixture
def udp(live):
    t = UdpTraffic()
    yield t
    t.close()


def check_lo_packets(got, payloads, traffic, in_ns=False):
    assert [parse_udp(buf, 14)[4] for _, buf in got] == payloads
    now_ns = time.time_ns()
    for ts, buf in got:
        assert type(buf) is bytes
        src, dst, sport, dport, _ = parse_udp(buf, 14)
        assert (src, dst, sport, dport) == ("127.0.0.1", "127.0.0.1", traffic.sport, traffic.port)
        if in_ns:
            assert type(ts) is int
            assert abs(ts - now_ns) < 10 * 10**9, f"timestamp {ts} is far from now {now_ns}"
        else:
            assert type(ts) is float
            assert abs(ts - now_ns / 1e9) < 10, f"timestamp {ts} is far from now"


@pytest.mark.parametrize("immediate", [False, True], ids=["buffered", "immediate"])
@pytest.mark.parametrize("in_ns", [False, True], ids=["float", "ns"])
def test_lo_udp_iteration(udp, immediate, in_ns):
    p = open_lo(flt=udp.filter, settled=True, immediate=immediate, timestamp_in_ns=in_ns)
    assert p.datalink() == pcap.DLT_EN10MB
    assert p.dloff == 14
    assert p.name == "lo"
    payloads = udp.send(5, "iter")
    got = []
    with breakloop_after(p, 3):
        for ts, buf in p:
            got.append((ts, buf))
            if len(got) == len(payloads):
                break
    check_lo_packets(got, payloads, udp, in_ns)


@pytest.mark.parametrize("immediate", [False, True], ids=["buffered", "immediate"])
def test_lo_udp_dispatch(udp, immediate):
    p = open_lo(flt=udp.filter, settled=True, immediate=immediate, timeout_ms=500)
    payloads = udp.send(6, "dispatch")
    got = []
    extra = []
    deadline = time.monotonic() + 3
    while len(got) < len(payloads) and time.monotonic() < deadline:
        before = len(got)
        n = p.dispatch(-1, lambda ts, buf, tag: (got.append((ts, buf)), extra.append(tag)), "x")
        assert n == len(got) - before
    check_lo_packets(got, payloads, udp)
    assert extra == ["x"] * len(payloads)


def test_lo_udp_dispatch_returns_count(udp):
    p = open_lo(flt=udp.filter, settled=True, immediate=True, timeout_ms=500)
    payloads = udp.send(4, "count")
    total = 0
    got = []
    deadline = time.monotonic() + 3
    while total < len(payloads) and time.monotonic() < deadline:
        before = len(got)
        n = p.dispatch(-1, lambda ts, buf: got.append((ts, buf)))
        assert n == len(got) - before, "dispatch's return is not the number processed"
        total += n
    assert total == len(payloads)
    check_lo_packets(got, payloads, udp)


@pytest.mark.parametrize("immediate", [False, True], ids=["buffered", "immediate"])
def test_lo_udp_readpkts(udp, immediate):
    p = open_lo(flt=udp.filter, settled=True, immediate=immediate, timeout_ms=500, timestamp_in_ns=True)
    payloads = udp.send(5, "readpkts")
    got = []
    deadline = time.monotonic() + 3
    while len(got) < len(payloads) and time.monotonic() < deadline:
        batch = p.readpkts()
        assert type(batch) is list
        got.extend(batch)
    check_lo_packets(got, payloads, udp, in_ns=True)


def test_lo_udp_loop(udp):
    p = open_lo(flt=udp.filter, settled=True, immediate=True)
    payloads = udp.send(5, "loop")
    got = []
    with breakloop_after(p, 3):
        p.loop(len(payloads), lambda ts, buf, out: out.append((ts, buf)), got)
    check_lo_packets(got, payloads, udp)


def test_lo_stats_count_received(udp):
    p = open_lo(flt=udp.filter, settled=True, immediate=True, timeout_ms=300)
    st = p.stats()
    assert len(st) == 3 and all(type(v) is int for v in st)
    payloads = udp.send(8, "stats")
    got = []
    deadline = time.monotonic() + 3
    while len(got) < len(payloads) and time.monotonic() < deadline:
        got.extend(p.readpkts())
    check_lo_packets(got, payloads, udp)
    received, dropped, ifdropped = p.stats()
    assert received >= len(payloads)
    assert dropped == 0


def test_lo_default_handle_delivers_promptly(udp):
    # timeout_ms=0 and no immediate mode: the buffer timeout bounds the delay.
    p = open_lo(flt=udp.filter, settled=True)
    payloads = udp.send(1, "prompt")
    t0 = time.monotonic()
    with breakloop_after(p, 3):
        got = p.readpkts()
    elapsed = time.monotonic() - t0
    check_lo_packets(got, payloads, udp)
    assert elapsed < 1.0, f"the packet took {elapsed:.2f} s to arrive"


def test_lo_timeout_ms_bounds_dispatch_and_readpkts(udp):
    p = open_lo(flt=udp.filter, settled=True, timeout_ms=200)
    calls = []
    with breakloop_after(p, 5):
        t0 = time.monotonic()
        assert p.dispatch(-1, lambda *a: calls.append(a)) == 0
        t1 = time.monotonic()
        assert p.readpkts() == []
        t2 = time.monotonic()
    assert calls == []
    assert 0.1 < t1 - t0 < 2, f"dispatch returned after {t1 - t0:.2f} s"
    assert 0.1 < t2 - t1 < 2, f"readpkts returned after {t2 - t1:.2f} s"


def test_lo_buffers_stay_intact(udp):
    # A small snaplen, so that the ring holds all of them in immediate mode.
    p = open_lo(flt=udp.filter, settled=True, immediate=True, timeout_ms=300, snaplen=256)
    payloads = udp.send(40, "intact")
    got = []
    deadline = time.monotonic() + 3
    while len(got) < len(payloads) and time.monotonic() < deadline:
        p.dispatch(-1, lambda ts, buf: got.append((ts, buf)))
    check_lo_packets(got, payloads, udp)


@pytest.mark.parametrize("immediate", [False, True], ids=["buffered", "immediate"])
def test_lo_snaplen_cuts_packets(udp, immediate):
    p = open_lo(flt=udp.filter, settled=True, snaplen=100, immediate=immediate, timeout_ms=500)
    assert p.snaplen == 100
    payload = marker("snaplen") + bytes(range(256)) * 4
    udp.tx.sendto(payload, ("127.0.0.1", udp.port))
    got = collect(p, 1, 3)
    assert len(got) == 1
    buf = got[0][1]
    assert len(buf) == 100
    assert buf[42:] == payload[:58]


def ring_mib():
    """Sizes in MiB of this process's packet-socket rings (their mappings)."""
    sizes = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        if "socket:[" in line:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            sizes.append((end - start) / 2**20)
    return sizes


def burst_then_read(p, port, count):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(count):
            s.sendto(b"burst", ("127.0.0.1", port))
    time.sleep(0.3)
    p.setnonblock(True)
    got = 0
    while batch := p.readpkts():
        got += len(batch)
    return got


@pytest.mark.parametrize("snaplen, frames", [(65535, 1000), (256, 6000)])
def test_lo_immediate_ring_holds_a_thousand_frames(live, snaplen, frames):
    # Immediate mode gives each packet a frame of the snaplen (up to the
    # MTU); the default ring is sized for 1000 of them.  lo shows the kernel
    # each packet twice (leaving and arriving), so it holds half as many.
    port = free_port()
    before = ring_mib()
    with open_lo(flt=f"udp dst port {port}", settled=True, immediate=True, snaplen=snaplen) as p:
        rings = [m for m in ring_mib() if m not in before] or ring_mib()
        got = burst_then_read(p, port, 2000)
        st = p.stats()
    frame_mib = 128 / 1024 if snaplen == 65535 else 336 / 2**20   # a 64 KiB frame fills a 128 KiB block
    assert max(rings) >= frames * frame_mib * 0.99, rings
    assert got >= min(2000, frames // 2) - 5, (got, st)
    assert got <= 2000
    if got < 2000:
        assert st.dropped > 0, st


def test_lo_immediate_keeps_the_buffer_size_given(live):
    port = free_port()
    with open_lo(flt=f"udp dst port {port}", settled=True, immediate=True, buffer_size=4 << 20) as p:
        assert max(ring_mib()) <= 9, ring_mib()     # 64 frames of 64 KiB, in 128 KiB blocks
        got = burst_then_read(p, port, 1000)
        st = p.stats()
    assert got < 100, got
    assert st.dropped >= 1000 * 2 - 2 * got - 10, st


def test_lo_live_properties(live):
    p = pcap.pcap("lo", snaplen=1500, promisc=False, timeout_ms=100, timestamp_in_ns=True)
    assert p.name == "lo" and type(p.name) is str
    assert p.snaplen == 1500
    assert p.dloff == 14
    assert p.datalink() == pcap.DLT_EN10MB
    assert p.filter == ""
    assert p.timestamp_in_ns is True
    assert p.precision in (pcap.PCAP_TSTAMP_PRECISION_MICRO, pcap.PCAP_TSTAMP_PRECISION_NANO)
    assert type(p.fd) is int and p.fd >= 0
    assert p.fd == p.fileno()
    assert type(p.geterr()) is str
    p.setfilter(b"udp port 53")
    assert p.filter == "udp port 53"
    p.close()
    p = pcap.pcap(b"lo", timeout_ms=100)
    assert p.name == "lo" and type(p.name) is str
    p.close()


def test_lo_select_on_the_handle(udp):
    import select
    p = open_lo(flt=udp.filter, settled=True, immediate=True, timeout_ms=500)
    r, _, _ = select.select([p], [], [], 0)
    assert r == [], "readable before any packet was sent"
    payloads = udp.send(1, "select")
    r, _, _ = select.select([p], [], [], 2)
    assert r == [p], "not readable after a packet arrived"
    check_lo_packets(p.readpkts(), payloads, udp)


def test_lo_nonblocking(udp):
    p = open_lo(flt=udp.filter, settled=True, immediate=True, timeout_ms=2000)
    assert p.getnonblock() is False
    p.setnonblock()
    assert p.getnonblock() is True
    calls = []
    with breakloop_after(p, 3):
        t0 = time.monotonic()
        assert p.dispatch(-1, lambda *a: calls.append(a)) == 0
        assert p.readpkts() == []
        elapsed = time.monotonic() - t0
    assert calls == []
    assert elapsed < 0.5, f"nonblocking reads waited {elapsed:.2f} s"
    payloads = udp.send(3, "nonblock")
    got = []
    deadline = time.monotonic() + 3
    while len(got) < len(payloads) and time.monotonic() < deadline:
        got.extend(p.readpkts())
        time.sleep(0.01)
    check_lo_packets(got, payloads, udp)
    p.setnonblock(False)
    assert p.getnonblock() is False


@pytest.mark.parametrize("read", ["next", "dispatch", "readpkts", "next_batch"])
def test_lo_new_filter_applies_to_packets_already_taken(read):
    # A live read takes a batch from the kernel at a time; a filter set after
    # the first packet of a batch applies to the rest of it too.
    a, b = UdpTraffic(), UdpTraffic()
    try:
        p = open_lo(flt=f"udp and (dst port {a.port} or dst port {b.port})", settled=True, immediate=True,
                    timeout_ms=2000)
        sent_a, sent_b = [], []
        for i in range(20):
            sent_a += a.send(1, f"a{i}")
            sent_b += b.send(1, f"b{i}")
        time.sleep(0.2)
        first = next(p)[1]
        assert parse_udp(first, 14)[4] == sent_a[0]
        p.setfilter(f"udp and dst port {a.port}")
        p.setnonblock(True)
        got = []
        for _ in range(100):
            if read == "next":
                got.append(next(p)[1])
                if len(got) == 19:
                    break
                continue
            if read == "dispatch":
                batch = []
                p.dispatch(-1, lambda ts, buf: batch.append(buf))
            elif read == "readpkts":
                batch = [buf for _, buf in p.readpkts()]
            else:
                records, data = p.next_batch(64)
                batch = [bytes(data[o:o + c]) for _, c, _, o in struct.iter_unpack(pcap.BATCH_RECORD_FORMAT, records)]
            if not batch:
                break
            got += batch
        assert [parse_udp(buf, 14)[4] for buf in got] == sent_a[1:]
        p.close()
    finally:
        a.close()
        b.close()


def test_any_device_opens_despite_activate_warning(udp):
    # libpcap's activate returns PCAP_WARNING_PROMISC_NOTSUP for "any" with
    # promisc: a warning, the handle works.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = pcap.pcap("any", promisc=True, immediate=True, timeout_ms=300)
    assert p.datalink() in (pcap.DLT_LINUX_SLL, pcap.DLT_LINUX_SLL2)
    p.setfilter(udp.filter)
    settle(p)
    payloads = udp.send(3, "any")
    seen = set()
    deadline = time.monotonic() + 3
    while not set(payloads) <= seen and time.monotonic() < deadline:
        for _, buf in p.readpkts():
            seen.update(pl for pl in payloads if buf.endswith(pl))
    assert seen == set(payloads)


def test_default_name_is_lookupdev(live):
    dev = pcap.lookupdev()
    p = pcap.pcap(promisc=False, timeout_ms=100)
    assert p.name == dev
    p.close()
    p = pcap.pcap(None, promisc=False, timeout_ms=100)
    assert p.name == dev
    p.close()


def eth_frame(dst, src, payload, ethertype=ETH_P_EXPERIMENTAL):
    frame = bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) \
        + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def collect(p, want, seconds):
    """Packets from p (which has a timeout_ms) until `want` came or time is up."""
    got = []
    deadline = time.monotonic() + seconds
    while len(got) < want and time.monotonic() < deadline:
        got.extend(p.readpkts())
    return got


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_lo_sendpacket_seen_by_second_handle(live, kind):
    mark = marker("sendpacket")
    frame = eth_frame("00:00:00:00:00:00", "00:00:00:00:00:00", mark)
    rx = open_lo(flt=f"ether proto {ETH_P_EXPERIMENTAL}", settled=True, immediate=True, timeout_ms=200)
    tx = pcap.pcap("lo", immediate=True, timeout_ms=200)
    n = tx.sendpacket(kind(frame))
    assert n == len(frame)
    got = [buf for _, buf in collect(rx, 1, 2) if mark in buf]
    assert got == [frame]
    assert [buf for _, buf in drain(rx, 0.2) if mark in buf] == [], "the frame was seen twice"


# --------------------------------------------------------------------------
# A veth pair: one end in the root namespace, where the tests capture, the
# other in a network namespace of the tests, from which a child process sends.

# (SENDER and Veth are in support.py, the veth fixture in conftest.py.)


def open_veth(v, flt=None, **kw):
    kw.setdefault("immediate", True)
    kw.setdefault("timeout_ms", 200)
    p = pcap.pcap(v.root_if, **kw)
    if flt:
        p.setfilter(flt)
        settle(p)
    return p


def test_veth_udp_on_ethernet(veth):
    port = random.randrange(20000, 60000)
    p = open_veth(veth, f"udp and dst port {port}")
    assert p.datalink() == pcap.DLT_EN10MB
    assert p.dloff == 14
    payloads = [marker(f"veth udp {i}") for i in range(5)]
    veth.send_from_ns([("udp", port, pl) for pl in payloads])
    got = collect(p, len(payloads), 3)
    assert len(got) == len(payloads)
    for (ts, buf), payload in zip(got, payloads):
        assert buf[0:6] == bytes.fromhex(veth.foreign_mac.replace(":", ""))
        assert buf[6:12] == bytes.fromhex(veth.ns_mac.replace(":", ""))
        src, dst, _, dport, data = parse_udp(buf, 14)
        assert (src, dst, dport) == (veth.ns_ip, veth.peer_ip, port)
        assert data == payload
        assert abs(ts - time.time()) < 10
    received, dropped, ifdropped = p.stats()
    assert received >= len(payloads)


def test_veth_promiscuous_sees_frame_for_another_mac(veth):
    assert not veth.flags() & IFF_PROMISC, "promiscuous before any handle is open"
    plain = open_veth(veth, promisc=False)
    assert not veth.flags() & IFF_PROMISC, "promisc=False put the interface in promiscuous mode"
    p = open_veth(veth, f"ether proto {ETH_P_EXPERIMENTAL}", promisc=True)
    assert veth.flags() & IFF_PROMISC, "promisc=True did not put the interface in promiscuous mode"
    mark = marker("promisc")
    frame = eth_frame(veth.foreign_mac, veth.ns_mac, mark)
    veth.send_from_ns([("raw", frame)])
    got = [buf for _, buf in collect(p, 1, 2) if mark in buf]
    assert got == [frame]
    p.close()
    plain.close()
    assert not veth.flags() & IFF_PROMISC, "promiscuous mode stayed after close()"


@pytest.mark.parametrize("direction, want", [
    ("PCAP_D_IN", {"in"}),
    ("PCAP_D_OUT", {"out"}),
    ("PCAP_D_INOUT", {"in", "out"}),
])
def test_veth_setdirection(veth, direction, want):
    flt = f"ether proto {ETH_P_EXPERIMENTAL}"
    everything = open_veth(veth, flt)
    p = open_veth(veth, flt)
    assert p.setdirection(getattr(pcap, direction)) is True
    tx = open_veth(veth)
    marks = {"in": marker("incoming"), "out": marker("outgoing")}
    frame_out = eth_frame(veth.foreign_mac, veth.root_mac, marks["out"])
    frame_in = eth_frame(veth.foreign_mac, veth.ns_mac, marks["in"])
    assert tx.sendpacket(frame_out) == len(frame_out)
    veth.send_from_ns([("raw", frame_in)])
    both = collect(everything, 2, 3)
    assert sorted(buf for _, buf in both) == sorted([frame_in, frame_out]), \
        "the handle without direction did not see both frames"
    seen = {k for _, buf in drain(p, 0.3) for k, m in marks.items() if m in buf}
    assert seen == want


def test_veth_setdirection_in_drops_outgoing_udp(veth):
    # Kernel traffic from the root end outwards (sent with sendpacket) and
    # from the namespace inwards, with a UDP filter over both.
    port = random.randrange(20000, 60000)
    p = open_veth(veth, f"udp and dst port {port}")
    assert p.setdirection(pcap.PCAP_D_IN) is True
    tx = open_veth(veth)
    out_payload = marker("udp out")
    ip_hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(out_payload), 0, 0, 64, 17, 0,
                         socket.inet_aton(veth.peer_ip), socket.inet_aton(veth.ns_ip))
    udp_hdr = struct.pack("!HHHH", 4321, port, 8 + len(out_payload), 0)
    frame_out = eth_frame(veth.foreign_mac, veth.root_mac, ip_hdr + udp_hdr + out_payload, 0x0800)
    tx.sendpacket(frame_out)
    in_payloads = [marker(f"udp in {i}") for i in range(3)]
    veth.send_from_ns([("udp", port, pl) for pl in in_payloads])
    got = drain(p, 0.4)
    assert [parse_udp(buf, 14)[4] for _, buf in got] == in_payloads


def test_activate_error_has_libpcaps_words(live):
    with pytest.raises(OSError, match="doesn't support monitor mode") as info:
        pcap.pcap("lo", rfmon=True)
    msg = info.value.args[0]
    assert type(msg) is str and "lo" in msg


def test_missing_device_error(live):
    with pytest.raises(OSError, match="nosuchdev7q") as info:
        pcap.pcap("nosuchdev7q")
    msg = info.value.args[0]
    assert type(msg) is str
    assert "No such device" in msg        # libpcap's pcap_statustostr / errbuf words


# -- PACKET_FANOUT: several processes share one interface ------------------------

def test_fanout_workers_share_a_veth_each_packet_once_each_flow_to_one(veth):
    """examples/fanout.py with 3 workers on the veth: the datagrams of 12
    flows (flow k sends k + 1) reach the workers exactly once between them,
    every flow all in one worker, and more than one worker gets some."""
    port = free_port()
    child = subprocess.Popen([sys.executable, str(Path(__file__).parent.parent / "examples" / "fanout.py"),
                              "-i", veth.root_if, "-w", "3", "--seconds", "4", "--json",
                              "--filter", f"udp and dst port {port}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n", child.stderr.read() if child.poll() is not None else ""
        sent = {}
        items = []
        for k in range(12):
            sport = 40000 + k
            for j in range(k + 1):
                items.append(("udp", port, marker(f"fanout {k} {j}"), sport))
            sent[f"udp {veth.ns_ip}:{sport} > {veth.peer_ip}:{port}"] = k + 1
        veth.send_from_ns(items)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    workers = result["workers"]
    assert len(workers) == 3
    seen = {}
    for flows in workers.values():
        for key, (n, _) in flows.items():
            assert key not in seen, f"{key} reached two workers"
            seen[key] = n
    assert seen == sent, "a packet was lost or delivered twice"
    assert sum(1 for flows in workers.values() if flows) >= 2, workers


def test_fanout_refused_on_a_savefile_and_for_bad_arguments(tmp_path, live):
    path = write_pcap(tmp_path / "f.pcap", [(1, 0, udp_frame(b"x"))])
    with pcap.pcap(str(path)) as p:
        with pytest.raises(pcap.PcapError, match="fanout is for live Linux capture handles"):
            p.set_fanout(1)
    with pcap.pcap("lo") as p:
        with pytest.raises(ValueError, match="group must be 0 to 65535"):
            p.set_fanout(70000)
        with pytest.raises(ValueError, match="mode must be one of"):
            p.set_fanout(1, 99)
        with pytest.raises(ValueError, match="flags must be"):
            p.set_fanout(1, pcap.FANOUT_HASH, 0x1)
        group = os.getpid() & 0xFFFF
        p.set_fanout(group, pcap.FANOUT_LB)
        with pcap.pcap("lo") as q:
            with pytest.raises(pcap.PcapError, match=f"join fanout group {group}") as ei:
                q.set_fanout(group, pcap.FANOUT_HASH)     # another mode than the group's
            assert ei.value.errno == errno.EINVAL
