"""readbatch(): packets in two columns, an array of timestamps and a list of bytes."""
import array
import socket
import threading
import time

import pytest

import pcap
from support import free_port, open_lo, packets, read_all, savefile_fixture, write_pcap, write_savefile

PACKETS = packets(2500)   # to ports 1000, 1001, 1002 in turn


savefile = savefile_fixture(PACKETS, ["pcap-le-us", "pcap-le-ns", "pcap-be-us", "pcapng-le-us"])


@pytest.mark.parametrize("cnt", [1, 7, 1024, 5000])
def test_columns_match_iteration(savefile, cnt):
    expected = list(pcap.pcap(savefile))
    got = read_all(pcap.pcap(savefile), "readbatch", batch=cnt)
    stamps, bufs = [t for t, _, _ in got], [b for _, b, _ in got]
    assert bufs == [b for _, b in expected]
    assert stamps == [t for t, _ in expected]
    assert bufs[5] == PACKETS[5][2]


def test_typecodes_and_exact_nanoseconds(savefile):
    ts, bufs = pcap.pcap(savefile).readbatch(3)
    assert isinstance(ts, array.array) and ts.typecode == "d"
    ns, _ = pcap.pcap(savefile, timestamp_in_ns=True).readbatch(3)
    assert ns.typecode == "q"
    assert list(ns) == [t for t, _ in pcap.pcap(savefile, timestamp_in_ns=True).readpkts(3)]
    assert all(type(b) is bytes for b in bufs)


def test_exact_ns_values(tmp_path):
    path = write_pcap(tmp_path / "n.pcap", [(1700000000, 999999999, b"a"), (4000000000, 1, b"b")], nano=True)
    ns, bufs = pcap.pcap(path, timestamp_in_ns=True).readbatch()
    assert list(ns) == [1700000000999999999, 4000000000000000001]
    assert bufs == [b"a", b"b"]


def test_filter_and_mixing_with_other_reads(savefile):
    p = pcap.pcap(savefile)
    p.setfilter("udp dst port 1001")
    first = next(p)
    ts, bufs = p.readbatch(10)
    rest = p.readpkts()
    wanted = [pk[2] for i, pk in enumerate(PACKETS) if i % 3 == 1]
    assert [first[1]] + bufs + [b for _, b in rest] == wanted


def test_damaged_file_gives_packets_then_error(tmp_path):
    path = write_savefile(tmp_path / "t.pcap", "pcap-le-us", PACKETS[:10])
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    p = pcap.pcap(path)
    ts, bufs = p.readbatch(100)
    assert bufs == [pk[2] for pk in PACKETS[:9]]
    with pytest.raises(pcap.PcapError, match="truncated dump file"):
        p.readbatch(100)
    assert p.readbatch(100) == (array.array("d"), [])


def test_closed_handle(savefile):
    p = pcap.pcap(savefile)
    p.close()
    with pytest.raises(ValueError, match="closed"):
        p.readbatch()


def test_live_nonblocking_timeout_and_packets(live):
    port = free_port()
    with open_lo(port, timeout_ms=200) as p:
        p.setnonblock(True)
        t0 = time.monotonic()
        assert p.readbatch() == (array.array("d"), [])
        assert time.monotonic() - t0 < 0.1
        p.setnonblock(False)
        t0 = time.monotonic()
        assert p.readbatch() == (array.array("d"), [])        # timeout_ms with no packet
        assert 0.15 < time.monotonic() - t0 < 1.5
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            timer = threading.Timer(0.1, lambda: [s.sendto(b"batch %d" % i, ("127.0.0.1", port)) for i in range(5)])
            timer.start()
            got = []
            deadline = time.monotonic() + 3
            while len(got) < 5 and time.monotonic() < deadline:
                ts, bufs = p.readbatch(100)
                assert len(ts) == len(bufs)
                assert all(abs(t - time.time()) < 60 for t in ts)
                got += [b[-7:] for b in bufs]
            timer.join()
        assert got == [b"batch %d" % i for i in range(5)]
