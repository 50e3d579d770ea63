"""Arrow record batches and Parquet: every value the same as iteration's."""
import importlib.util
import textwrap

import pytest

import pcap
from support import (free_port, need, open_lo, packets, read_all, run_python, savefile_fixture, send_udp, write_pcap,
                     write_savefile)

pytestmark = pytest.mark.usefixtures("watchdog")


@pytest.fixture(autouse=True)
def pyarrow():
    need(importlib.util.find_spec("pyarrow") is not None, "pyarrow is not installed (the test extra has it)")


# 5,000 packets, every 5th with a wire length over its length; in
# pcap-snaplen, cut to a snaplen of 100.
savefile = savefile_fixture(packets(5000, per_second=10, size=200, cut_every=5),
                            ["pcap-le-us", "pcap-be-ns", "pcapng-le-us"], {"pcap-snaplen": ("pcap-le-us", 100)})


def by_iteration(path, flt=None):
    with pcap.pcap(str(path), timestamp_in_ns=True) as p:
        if flt:
            p.setfilter(flt)
        return read_all(p, "iter")


@pytest.mark.parametrize("cnt", [1, 777, 65536])
def test_batches_hold_what_iteration_gives(savefile, cnt):
    import pyarrow as pa
    want = by_iteration(savefile)
    got = []
    with pcap.pcap(str(savefile)) as p:
        for batch in p.arrow_batches(cnt, max_bytes=1 << 16):
            assert batch.num_rows <= cnt
            assert batch.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
            stamps = batch.column("timestamp").cast(pa.int64()).to_pylist()
            got += zip(stamps, batch.column("data").to_pylist(), batch.column("wirelen").to_pylist())
            assert batch.column("caplen").to_pylist() == [len(b) for b in batch.column("data").to_pylist()]
    assert got == want


def test_table_filter_metadata_and_parquet(savefile, tmp_path):
    import pyarrow.parquet as pq
    want = by_iteration(savefile, "udp dst port 1002")
    with pcap.pcap(str(savefile)) as p:
        p.setfilter("udp dst port 1002")
        table = p.to_arrow()
    assert table.column("data").to_pylist() == [b for _, b, _ in want]
    meta = table.schema.metadata
    assert meta[b"pcap.linktype"] == b"1" and meta[b"pcap.linktype_name"] == b"EN10MB"
    assert meta[b"pcap.snaplen"] == (b"100" if b"snaplen" in str(savefile).encode() else meta[b"pcap.snaplen"])
    out = tmp_path / "f.parquet"
    assert pcap.to_parquet(str(savefile), out, cnt=1000, compression="zstd") == 5000
    back = pq.read_table(out)
    assert back.num_rows == 5000
    assert back.column("data").to_pylist() == [b for _, b, _ in by_iteration(savefile)]
    assert pq.ParquetFile(out).metadata.num_row_groups == 5
    assert back.schema.metadata[b"pcap.linktype"] == b"1"


def test_empty_savefile_gives_an_empty_table(tmp_path):
    path = write_pcap(tmp_path / "empty.pcap", [])
    with pcap.pcap(str(path)) as p:
        assert p.to_arrow().num_rows == 0
    assert pcap.to_parquet(str(path), tmp_path / "e.parquet") == 0


def test_damaged_file_gives_the_batches_before_then_raises(tmp_path):
    path = write_savefile(tmp_path / "f.pcap", "pcap-le-us", packets(100))
    path.write_bytes(path.read_bytes()[:-5])
    rows = 0
    with pytest.raises(pcap.PcapError, match="truncated"):
        with pcap.pcap(str(path)) as p:
            for batch in p.arrow_batches(30):
                rows += batch.num_rows
    assert rows == 99


def test_bad_arguments(savefile):
    with pcap.pcap(str(savefile)) as p:
        with pytest.raises(ValueError, match="cnt must be 1 or more"):
            next(p.arrow_batches(0))
        with pytest.raises(ValueError, match="max_bytes"):
            next(p.arrow_batches(10, 1 << 40))


def test_without_pyarrow_the_error_names_the_package(tmp_path):
    code = textwrap.dedent("""
        import sys
        sys.modules["pyarrow"] = None
        import pcap
        p = pcap.pcap("examples/sample.pcap")
        try:
            p.to_arrow()
        except ImportError as e:
            print(type(e).__name__, e)
    """)
    out = run_python(code, timeout=30)
    assert "ModuleNotFoundError to_arrow() needs the 'pyarrow' package (pip install pyarrow" in out.stdout, out


# -- live handles ---------------------------------------------------------------

@pytest.mark.usefixtures("live")
def test_live_nonblocking_batches_end_when_nothing_is_pending():
    """No spin: in nonblocking mode the iterator yields what is pending and
    ends, as readpkts() returns []; with nothing pending it ends at once."""
    import time
    port = free_port()
    with open_lo(port) as p:
        p.setnonblock(True)
        t0 = time.monotonic()
        assert list(p.arrow_batches()) == []
        assert time.monotonic() - t0 < 0.5
        send_udp(port, [b"arrow %d" % i for i in range(5)])
        time.sleep(0.3)               # past the buffer timeout: the kernel has handed them over
        batches = list(p.arrow_batches())
        assert sum(b.num_rows for b in batches) == 5
        assert [bytes(x)[42:] for b in batches for x in b.column("data").to_pylist()] == \
            [b"arrow %d" % i for i in range(5)]


@pytest.mark.usefixtures("live")
def test_live_batches_end_after_timeout_or_breakloop():
    import threading
    import time
    with open_lo(free_port(), timeout_ms=200) as p:
        t0 = time.monotonic()
        assert list(p.arrow_batches()) == []
        assert 0.15 < time.monotonic() - t0 < 1.0
    with open_lo(free_port()) as p:            # no timeout: waits until breakloop()
        timer = threading.Timer(0.3, p.breakloop)
        timer.start()
        t0 = time.monotonic()
        assert list(p.arrow_batches()) == []
        assert 0.25 < time.monotonic() - t0 < 2.0
        timer.cancel()
