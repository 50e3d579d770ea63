"""One handle over several live interfaces: ``lo`` and the root end of a
veth pair (conftest's ``veth``), and a tun device of another link type.

Every promise of a handle of one interface is checked on the handle of
two: packets of each with their interface (interface_id, readbatch,
next_batch records, Arrow), in time stamp order within the stated bound,
per-interface filters and link types, stats, Ctrl-C during a wait,
timeout_ms on quiet links, breakloop() and close() from another thread,
nonblocking mode, ``async for``, and other threads running while a batch
read waits.  Every wait is bounded (timeouts, breakloop timers, the
watchdog)."""
import asyncio
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pcap
from support import Later, free_port, need, raiser, settle, udp_frame, udp_payload

pytestmark = pytest.mark.usefixtures("watchdog")

ETHER_VETH = b"\x02\x5c\xa9\x00\x00\x99" + b"\x02\x5c\xa9\x00\x00\x01"    # to nobody, from the root end


class Two:
    """A handle over lo (interface 0) and the veth's root end (interface
    1), filtered on UDP to ``port``; sends to each from this process: UDP
    to 127.0.0.1 on lo, a raw Ethernet/IPv4/UDP frame out of the veth end
    (captured as it leaves)."""

    def __init__(self, veth, **kw):
        kw.setdefault("immediate", True)
        kw.setdefault("timeout_ms", 300)
        self.port = free_port()
        self.names = ["lo", veth.root_if]
        self.p = pcap.pcap(self.names, **kw)
        self.p.setfilter(f"udp and dst port {self.port}")
        settle(self.p)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.raw.bind((veth.root_if, 0))

    def send(self, interface, payload):
        if interface == 0:
            self.udp.sendto(payload, ("127.0.0.1", self.port))
        else:
            self.raw.send(udp_frame(payload, dport=self.port, src="10.9.9.1", dst="10.9.9.2", ether=ETHER_VETH))

    def close(self):
        self.p.close()
        self.udp.close()
        self.raw.close()


@pytest.fixture
def two(veth):
    t = Two(veth)
    yield t
    t.close()


def read_for(p, n, seconds):
    """Up to n (ts, payload, interface_id) by iteration, for at most ``seconds``."""
    got = []
    with Later(seconds, p.breakloop):
        for ts, buf in p:
            got.append((ts, udp_payload(buf), p.interface_id))
            if len(got) == n:
                break
    return got


def test_open_two_interfaces_describes_each(two, veth):
    p = two.p
    assert p.name == f"lo,{veth.root_if}"
    ifs = p.interfaces
    assert [(i.index, i.name, i.linktype) for i in ifs] == [(0, "lo", pcap.DLT_EN10MB),
                                                            (1, veth.root_if, pcap.DLT_EN10MB)]
    assert all(i.filter == f"udp and dst port {two.port}" for i in ifs)
    assert all(i.tsresol == 10**9 for i in ifs)
    assert all(i.os and i.os.startswith(os.uname().sysname) for i in ifs)
    assert p.datalink() == pcap.DLT_EN10MB
    assert p.fileno() >= 0 and p.fileno() == p.fd
    assert "live" in repr(p)


def test_packets_of_both_with_their_interface_in_time_order(two):
    """Alternating sends on the two interfaces, all in the kernel before
    the read begins (with ``immediate`` the kernel hands each over at
    once; 0.5 s is to spare): every datagram exactly once, on its
    interface, each interface's in the order sent, and, as the stated
    bound promises when nothing was still in the kernel, the whole merge
    in time stamp order."""
    n = 200
    sent = {0: [], 1: []}
    for i in range(n):
        k = i % 2
        payload = b"multi %d %d" % (k, i)
        two.send(k, payload)
        sent[k].append(payload)
    time.sleep(0.5)
    got = read_for(two.p, n, 5)
    assert len(got) == n
    for k in (0, 1):
        assert [pl for _, pl, i in got if i == k] == sent[k]
    stamps = [ts for ts, _, _ in got]
    assert stamps == sorted(stamps), "merged out of time stamp order"
    assert abs(stamps[0] - time.time()) < 60


def test_packets_while_they_come_keep_each_interfaces_order(two):
    """Sends while the handle reads: all arrive once, each interface's in
    order; across interfaces, a packet delivered after a later-stamped
    one of the other interface is one that came later from the kernel,
    within libpcap's buffer timeout (immediate here: well under 1 s)."""
    n = 60

    def sender():
        for i in range(n):
            two.send(i % 2, b"flow %d" % i)
            time.sleep(0.002)

    with Later(0.05, sender):
        got = read_for(two.p, n, 8)
    assert sorted(pl for _, pl, _ in got) == sorted(b"flow %d" % i for i in range(n))
    for k in (0, 1):
        mine = [int(pl.split()[1]) for _, pl, i in got if i == k]
        assert mine == sorted(mine) and all(x % 2 == k for x in mine)
    stamps = [ts for ts, _, _ in got]
    assert all(b > a - 1.0 for a, b in zip(stamps, stamps[1:]))


def test_readbatch_next_batch_and_arrow_carry_the_interface(two):
    p = two.p
    p.setnonblock(True)
    for k in (0, 1, 1, 0):
        two.send(k, b"col %d" % k)
    time.sleep(0.4)
    stamps, bufs, wirelens, ids = p.readbatch(10, wirelens=True, interfaces=True)
    assert sorted(zip([udp_payload(b) for b in bufs], ids)) == [(b"col 0", 0), (b"col 0", 0),
                                                                (b"col 1", 1), (b"col 1", 1)]
    assert list(wirelens) == [len(b) for b in bufs]
    for k in (1, 0, 1):
        two.send(k, b"rec %d" % k)
    time.sleep(0.4)
    records, data, comments = p.next_batch(10, interfaces=True)
    rows = list(struct.iter_unpack(pcap.BATCH_RECORD_NG_FORMAT, records))
    assert len(rows) == 3
    assert sorted((udp_payload(data[off:off + cap]), iface) for ts, cap, wire, off, iface, flags, clen in rows) == \
        [(b"rec 0", 0), (b"rec 1", 1), (b"rec 1", 1)]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    pa = pytest.importorskip("pyarrow")
    for k in (0, 1):
        two.send(k, b"arrow %d" % k)
    time.sleep(0.4)
    batch = next(p.arrow_batches())
    assert isinstance(batch, pa.RecordBatch)
    assert sorted(batch.column("interface_id").to_pylist()) == [0, 1]
    import json
    meta = json.loads(batch.schema.metadata[b"pcap.interfaces"])
    assert [(m["index"], m["name"]) for m in meta] == [(0, "lo"), (1, two.names[1])]


def test_stats_sums_and_each_interface(two):
    for i in range(6):
        two.send(i % 3 == 0, b"stat %d" % i)    # 2 on the veth, 4 on lo
    assert len(read_for(two.p, 6, 5)) == 6
    total = two.p.stats()
    lo, veth = two.p.stats(interface=0), two.p.stats(interface=1)
    assert isinstance(total, pcap.Stats)
    assert total == tuple(a + b for a, b in zip(lo, veth))
    assert veth.received >= 2 and lo.received >= 4
    with pytest.raises(IndexError, match="interface 2 out of range"):
        two.p.stats(interface=2)


def test_setdirection_on_each(two):
    assert two.p.setdirection(pcap.PCAP_D_IN) is True
    two.send(1, b"out on veth")         # leaves the veth end: not captured now
    two.send(0, b"on lo")               # lo: libpcap sees its packets as incoming
    got = read_for(two.p, 2, 1.5)
    assert [(pl, i) for _, pl, i in got] == [(b"on lo", 0)]


def test_written_to_pcapng_with_each_interface_and_its_statistics(two, tmp_path):
    out = tmp_path / "two.pcapng"
    d = two.p.dump_open(str(out), format="pcapng")
    for k in (0, 1, 1):
        two.send(k, b"dump %d" % k)
    with Later(3, two.p.breakloop):
        assert two.p.loop(3, d) == 3
    d.close()
    with pcap.pcap(str(out)) as p:
        got = sorted((udp_payload(buf), p.interface_id) for _, buf in p)
        ifs = p.interfaces
    assert got == [(b"dump 0", 0), (b"dump 1", 1), (b"dump 1", 1)]
    assert [(i.name, i.linktype, i.filter) for i in ifs] == [(n, pcap.DLT_EN10MB, f"udp and dst port {two.port}")
                                                             for n in two.names]
    assert ifs[1].statistics["received"] >= 2 and ifs[0].statistics["received"] >= 1


def test_what_a_multi_handle_refuses(two):
    with pytest.raises(pcap.PcapError, match="does not say which one to send on"):
        two.p.sendpacket(b"x" * 60)
    with pytest.raises(pcap.PcapError, match="fanout is for a handle of one interface"):
        two.p.set_fanout(7)


def test_a_mix_of_interfaces_and_savefiles_is_refused(veth, tmp_path):
    from support import numbered_savefile
    path = numbered_savefile(tmp_path)
    with pytest.raises(ValueError, match=r"either interfaces or savefiles, not both: \[.*numbered.pcap'\] is a "):
        pcap.pcap([path, veth.root_if])
    with pytest.raises(ValueError, match="at least one"):
        pcap.pcap([])
    with pytest.raises(TypeError, match="each name of a list"):
        pcap.pcap(["lo", 3])
    with pytest.raises(pcap.PcapError, match="nosuchif0"):
        pcap.pcap(["lo", "nosuchif0"])


# -- the waits -----------------------------------------------------------------

def test_timeout_ms_on_quiet_links(veth):
    port = free_port()
    with pcap.pcap(["lo", veth.root_if], timeout_ms=300) as p:
        p.setfilter(f"udp and dst port {port}")
        settle(p)
        for read in (lambda: p.dispatch(-1), p.readpkts, lambda: p.readbatch()[1]):
            t0 = time.monotonic()
            assert not read()
            took = time.monotonic() - t0
            assert 0.25 < took < 2.0, f"returned after {took:.3f} s, timeout_ms is 300"


@pytest.mark.parametrize("mode", ["iter", "loop", "dispatch", "readpkts"])
def test_breakloop_from_another_thread(veth, restore_alarm, mode):
    signal.signal(signal.SIGALRM, raiser("breakloop ignored"))
    signal.setitimer(signal.ITIMER_REAL, 4)
    with pcap.pcap(["lo", veth.root_if], timeout_ms=0) as p:
        p.setfilter(f"udp and dst port {free_port()}")     # nothing comes
        with Later(0.3, p.breakloop) as b:
            if mode == "iter":
                assert list(p) == []
            elif mode == "loop":
                assert p.loop(-1, lambda ts, buf: None) == 0
            elif mode == "dispatch":
                assert p.dispatch(-1, lambda ts, buf: None) == 0
            else:
                assert p.readpkts() == []
            t_end = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0)
    assert b.at is not None and t_end - b.at < 0.3, f"{mode} ended {t_end - b.at:.3f} s after breakloop()"


def test_close_from_another_thread_during_a_wait(veth):
    p = pcap.pcap(["lo", veth.root_if])
    p.setfilter(f"udp and dst port {free_port()}")
    with Later(0.3, p.close) as c:
        with pytest.raises(ValueError, match="closed"):
            next(p)
        t_end = time.monotonic()
    assert c.at is not None and t_end - c.at < 0.3
    assert p.closed
    p.close()


def test_nonblocking_mode(two):
    p = two.p
    p.setnonblock(True)
    assert p.getnonblock() is True
    t0 = time.monotonic()
    assert p.readpkts() == [] and p.dispatch(-1) == 0
    assert time.monotonic() - t0 < 0.2
    two.send(1, b"nb 1")
    two.send(0, b"nb 0")
    deadline = time.monotonic() + 3
    got = []
    while len(got) < 2 and time.monotonic() < deadline:
        _, bufs, ids = p.readbatch(interfaces=True)
        got += [(udp_payload(b), i) for b, i in zip(bufs, ids)]
        if len(got) < 2:
            select.select([p.fileno()], [], [], 0.1)     # the one descriptor: readable when either is
    assert sorted(got) == [(b"nb 0", 0), (b"nb 1", 1)]


def test_select_on_the_one_descriptor(two):
    p = two.p
    p.setnonblock(True)
    p.readpkts()
    assert select.select([p.fileno()], [], [], 0.2)[0] == []
    two.send(1, b"wake")
    assert select.select([p.fileno()], [], [], 3)[0] == [p.fileno()]
    assert [(udp_payload(b), p.interface_id) for _, b in p.readpkts()] == [(b"wake", 1)]


def test_async_for_on_two_interfaces(two):
    async def main():
        got = []
        ticks = []

        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.005)

        async def sender():
            for i in range(4):
                await asyncio.sleep(0.2)
                two.send(i % 2, b"async %d" % i)

        tick_task = asyncio.create_task(ticker())
        send_task = asyncio.create_task(sender())
        async for ts, buf in two.p:
            got.append((udp_payload(buf), two.p.interface_id))
            if len(got) == 4:
                break
        await send_task
        tick_task.cancel()
        return got, ticks

    got, ticks = asyncio.run(asyncio.wait_for(main(), 10))
    assert got == [(b"async %d" % i, i % 2) for i in range(4)]
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.15, "the event loop was blocked"


def test_next_batch_waits_without_the_gil(two):
    """While next_batch() waits on the quiet pair, another thread keeps
    counting; the batch then brings the packet of either interface."""
    count = 0
    stop = threading.Event()

    def spin():
        nonlocal count
        while not stop.is_set():
            count += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        with Later(0.15, lambda: two.send(1, b"late")):     # (timeout_ms is 300)
            t0 = time.monotonic()
            records, data = two.p.next_batch(8)
            took = time.monotonic() - t0
    finally:
        stop.set()
        t.join()
    assert len(records) == pcap.BATCH_RECORD_SIZE, took
    assert udp_payload(bytes(data)) == b"late"
    # (A wait that held the GIL would leave it at 0; a loaded machine may give it little time.)
    assert count > 1000, f"the other thread counted to {count} only in {took:.2f} s"


SIGINT_CHILD = textwrap.dedent(r"""
    import sys, pcap
    mode, port, other = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    p = pcap.pcap(["lo", other], timeout_ms=60000 if mode == "readpkts" else 0)
    p.setfilter(f"udp dst port {port}")
    print("READY", flush=True)
    try:
        if mode == "iter":
            for _ in p:
                pass
        elif mode == "loop":
            p.loop(-1)
        elif mode == "readpkts":
            p.readpkts()
        elif mode == "next_batch":
            p.next_batch()
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        sys.exit(0)
    print("RETURNED", flush=True)
    sys.exit(3)
""")


@pytest.mark.parametrize("mode", ["iter", "loop", "readpkts", "next_batch"])
def test_ctrl_c_during_a_wait(veth, mode):
    proc = subprocess.Popen([sys.executable, "-c", SIGINT_CHILD, mode, str(free_port()), veth.root_if],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        r, _, _ = select.select([proc.stdout], [], [], 15)
        assert r, "child did not start"
        line = proc.stdout.readline()
        assert line == b"READY\n", (line, proc.stderr.read() if proc.poll() is not None else b"")
        time.sleep(0.4)
        assert proc.poll() is None, "child did not wait: " + repr(proc.communicate(timeout=5))
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
        took = time.monotonic() - t0
        assert b"KeyboardInterrupt" in out and proc.returncode == 0, (out, err)
        assert took < 1.0, f"{mode}: exit took {took:.3f} s after SIGINT"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


# -- an interface of another link type ---------------------------------------------

@pytest.fixture
def tun():
    need(os.geteuid() == 0, "creating a tun device needs root")
    need(os.path.exists("/dev/net/tun"), "no /dev/net/tun on this machine")
    name = f"pct{os.getpid() % 100000:05d}"
    net = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
    subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tun"], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{net}.1/24", "dev", name], check=True, capture_output=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True, capture_output=True)
        # With no process attached the device is down for the kernel
        # (NO-CARRIER), and nothing leaves on it: attach one.
        import fcntl
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", name.encode(), 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN|IFF_NO_PI
        try:
            deadline = time.monotonic() + 3
            while "LOWER_UP" not in subprocess.run(["ip", "link", "show", name], capture_output=True,
                                                   text=True).stdout:
                assert time.monotonic() < deadline, f"{name} did not come up"
                time.sleep(0.02)
            yield name, f"{net}.2"
        finally:
            os.close(fd)
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_an_interface_of_another_link_type(tun, veth):
    name, peer = tun
    port = free_port()
    with pcap.pcap([veth.root_if, name], immediate=True, timeout_ms=300) as p:
        ifs = p.interfaces
        assert [(i.name, i.linktype) for i in ifs] == [(veth.root_if, pcap.DLT_EN10MB), (name, pcap.DLT_RAW)]
        with pytest.warns(RuntimeWarning, match="several link types"):
            assert p.datalink() == pcap.DLT_EN10MB
        # "ether" means nothing on a raw IP link: the filter names it.
        with pytest.raises(pcap.PcapError, match=rf"interface 1 \('{name}', link type {pcap.DLT_RAW}\)"):
            p.setfilter("ether broadcast")
        assert p.filter == ""
        p.setfilter(f"udp and dst port {port}")     # compiled for Ethernet and for raw IP
        settle(p)
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        raw.bind((veth.root_if, 0))
        with raw, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            raw.send(udp_frame(b"on ethernet", dport=port, ether=ETHER_VETH))
            s.sendto(b"on tun", (peer, port))       # routed out of the tun device
            got = []
            with Later(3, p.breakloop):
                for ts, buf in p:
                    got.append((p.interface_id, buf))
                    if len(got) == 2:
                        break
    got.sort(key=lambda x: x[0])
    assert [i for i, _ in got] == [0, 1]
    assert got[0][1].endswith(b"on ethernet") and got[0][1][12:14] == b"\x08\x00"
    assert got[1][1][0] >> 4 == 4 and got[1][1].endswith(b"on tun"), "raw IP, no link-layer header"
