"""The Python side of the benchmark: one reader or idiom per process.

    python bench/readers.py READER FILE [FILTER]
    python bench/readers.py live PORT COUNT IMMEDIATE [snaplen=N] [fanout=GROUP]
    python bench/readers.py live_multi PORT COUNT IFACE...

bench/run.py starts this file with the interpreter of the virtual environment
that holds the package a reader needs (ours: the project's .venv; each peer:
its own under bench/.work/venvs/).  A reader imports its package, then times
(time.perf_counter) the opening of FILE and the reading of every packet, and
prints one JSON line: {"packets": N, "bytes": B or null, "elapsed": S,
"hwm_kib": peak RSS}, and from the readers that see each packet's pcapng
interface "interfaces": [packets of interface 0, of 1...].
Every reader that sees the packets adds up len(packet), so that a wrong or
short read shows in the byte sum; the readers that count in C report null.

`live` opens the loopback interface with the default options (or
immediate=True when IMMEDIATE is 1), keeps the datagrams sent to PORT, prints
"ready", reads until COUNT datagrams arrived or a line comes on stdin, and
prints what it received, the handle's stats() and the CPU seconds this
process spent meanwhile.  snaplen=N opens it with that snaplen; fanout=GROUP
joins it to that PACKET_FANOUT group (FANOUT_HASH; ours only).

Only the standard library is imported here besides the package measured.
"""
import json
import sys
import time


# --------------------------------------------------------------------------
# Each reader: prepare() imports what it needs and returns run(path, filter),
# which returns (packets, bytes), or (packets, bytes, packets per interface).
# Only run() is timed.

def _iterate(packets):
    """(count, byte sum) of ``for ts, buf in packets``."""
    n = nb = 0
    for ts, buf in packets:
        n += 1
        nb += len(buf)
    return n, nb


def ours_iter(ns=False):
    """`for ts, buf in p` over whatever FILE is: classic pcap, pcapng, the
    modified format, gzip-compressed... (the module tells them by content)."""
    import pcap

    def run(path, _):
        return _iterate(pcap.pcap(path, timestamp_in_ns=ns))
    return run


def ours_iter_ns():
    return ours_iter(ns=True)


def ours_pipe_iter():
    """Iteration over the same file arriving through a pipe (`cat file |`)."""
    import subprocess

    import pcap

    def run(path, _):
        with subprocess.Popen(["cat", path], stdout=subprocess.PIPE) as cat:
            return _iterate(pcap.pcap(f"/dev/fd/{cat.stdout.fileno()}"))
    return run


def ours_fileobj():
    """Iteration over a Python file object: pcap.pcap(open(FILE, 'rb'))."""
    import pcap

    def run(path, _):
        with open(path, "rb") as f:
            return _iterate(pcap.pcap(f))
    return run


def ours_ranges():
    """savefile_ranges(FILE, 2), then iteration over open_range() of each,
    one after the other: the byte-range reader."""
    import pcap

    def run(path, _):
        n = nb = 0
        for start, end in pcap.savefile_ranges(path, 2):
            k, kb = _iterate(pcap.open_range(path, start, end))
            n, nb = n + k, nb + kb
        return n, nb
    return run


def ours_async():
    """`async for ts, buf in p` in asyncio.run()."""
    import asyncio

    import pcap

    async def count(path):
        n = nb = 0
        async for ts, buf in pcap.pcap(path):
            n += 1
            nb += len(buf)
        return n, nb

    def run(path, _):
        return asyncio.run(count(path))
    return run


def _callback_reader(mod, method):
    def run(path, _):
        n = nb = 0

        def cb(ts, buf):
            nonlocal n, nb
            n += 1
            nb += len(buf)
        p = mod.pcap(path)
        if method == "dispatch":
            p.dispatch(-1, cb)
        else:
            p.loop(0, cb)
        return n, nb
    return run


def _readpkts_reader(mod):
    def run(path, _):
        pkts = mod.pcap(path).readpkts()
        nb = 0
        for ts, buf in pkts:
            nb += len(buf)
        return len(pkts), nb
    return run


def ours_dispatch():
    import pcap
    return _callback_reader(pcap, "dispatch")


def ours_loop():
    import pcap
    return _callback_reader(pcap, "loop")


def ours_readpkts():
    import pcap
    return _readpkts_reader(pcap)


def ours_batch():
    import pcap

    def run(path, _):
        n = nb = 0
        p = pcap.pcap(path)
        while True:
            batch = p.readpkts(1024)
            if not batch:
                break
            for ts, buf in batch:
                n += 1
                nb += len(buf)
        return n, nb
    return run


def ours_readbatch():
    import pcap

    def run(path, _):
        n = nb = 0
        p = pcap.pcap(path)
        while True:
            stamps, bufs = p.readbatch(1024)
            if not bufs:
                break
            n += len(bufs)
            nb += sum(map(len, bufs))
        return n, nb
    return run


def ours_next_batch():
    """next_batch(1024): records and one data buffer, no object per packet."""
    import pcap

    def run(path, _):
        n = nb = 0
        p = pcap.pcap(path)
        while True:
            records, data = p.next_batch(1024)
            if not records:
                return n, nb
            n += len(records) // pcap.BATCH_RECORD_SIZE
            nb += len(data)
    return run


def ours_next_batch_np():
    """next_batch(4096) seen through a numpy view: count, and caplen summed
    by numpy, without a Python object per packet."""
    import numpy as np
    import pcap
    dtype = np.dtype(pcap.BATCH_RECORD_DTYPE)

    def run(path, _):
        n = nb = 0
        p = pcap.pcap(path)
        while True:
            records, data = p.next_batch(4096)
            if not records:
                return n, nb
            r = np.frombuffer(records, dtype)
            n += len(r)
            nb += int(r["caplen"].sum())
    return run


def ours_next_batch_np_interfaces():
    """next_batch(4096, interfaces=True): the 40-byte records of a pcapng
    source (BATCH_RECORD_NG_DTYPE) seen through a numpy view: count, caplen
    summed, and the packets of each interface counted (numpy.bincount of
    the interface_id column)."""
    import numpy as np
    import pcap
    dtype = np.dtype(pcap.BATCH_RECORD_NG_DTYPE)

    def run(path, _):
        n = nb = 0
        per = np.zeros(0, np.int64)
        p = pcap.pcap(path)
        while True:
            records, data, _comments = p.next_batch(4096, interfaces=True)
            if not records:
                return n, nb, per.tolist()
            r = np.frombuffer(records, dtype)
            n += len(r)
            nb += int(r["caplen"].sum())
            counts = np.bincount(r["interface_id"])
            if len(counts) > len(per):
                per = np.pad(per, (0, len(counts) - len(per)))
            per[:len(counts)] += counts
    return run


def ours_readinto_np():
    """readinto() into the same two buffers each time (records for 4096
    packets, 4 MiB of data), seen through one numpy view."""
    import numpy as np
    import pcap
    dtype = np.dtype(pcap.BATCH_RECORD_DTYPE)

    def run(path, _):
        records, data = bytearray(4096 * pcap.BATCH_RECORD_SIZE), bytearray(4 << 20)
        view = np.frombuffer(records, dtype)
        n = nb = 0
        p = pcap.pcap(path)
        while k := p.readinto(records, data):
            n += k
            nb += int(view["caplen"][:k].sum())
        return n, nb
    return run


def ours_per_second_np():
    """Bytes per second of capture time, vectorized: next_batch(4096),
    numpy.bincount of the wire lengths by second."""
    import numpy as np
    import pcap
    dtype = np.dtype(pcap.BATCH_RECORD_DTYPE)

    def run(path, _):
        per = {}
        n = 0
        p = pcap.pcap(path)
        while True:
            records, data = p.next_batch(4096)
            if not records:
                break
            r = np.frombuffer(records, dtype)
            sec = r["timestamp_ns"] // 1_000_000_000
            first = int(sec[0])
            sums = np.bincount(sec - first, weights=r["wirelen"])
            for i in np.flatnonzero(sums):
                per[first + int(i)] = per.get(first + int(i), 0) + int(sums[i])
            n += len(r)
        return n, sum(per.values())
    return run


def ours_per_second_iter():
    """The same bytes per second with `for ts, buf in p` and p.wirelen."""
    import pcap

    def run(path, _):
        per = {}
        n = 0
        p = pcap.pcap(path)
        for ts, buf in p:
            sec = int(ts)
            per[sec] = per.get(sec, 0) + p.wirelen
            n += 1
        return n, sum(per.values())
    return run


def ours_gunzip_then_read():
    """gunzip FILE (a .gz) to a temporary file, then iterate over that: both timed."""
    import os
    import subprocess
    import tempfile
    import pcap

    def run(path, _):
        fd, tmp = tempfile.mkstemp(suffix=".pcap")
        try:
            with os.fdopen(fd, "wb") as out:
                subprocess.run(["gunzip", "-c", path], stdout=out, check=True)
            return _iterate(pcap.pcap(tmp))
        finally:
            os.unlink(tmp)
    return run


def zcat_tcpdump():
    """zcat FILE | tcpdump -r - -w /dev/null (FILE a .gz), for reference: C
    reading the compressed file.  tcpdump prints no count with -w: the
    packets reported are the file's (from the generator's facts beside it,
    small-N.json for small-N.pcap.gz), and the row is correct when tcpdump
    exits 0."""
    import os
    import subprocess

    def run(path, _):
        subprocess.run(f"zcat {path} | tcpdump -r - -w /dev/null", shell=True, check=True,
                       stderr=subprocess.DEVNULL)
        facts = os.path.join(os.path.dirname(path), os.path.basename(path).split(".")[0] + ".json")
        with open(facts) as f:
            return json.load(f)["packets"], None
    return run


def ours_count():
    import pcap

    def run(path, _):
        return pcap.pcap(path).dispatch(-1), None
    return run


def ours_filter_count():
    import pcap

    def run(path, expr):
        p = pcap.pcap(path)
        p.setfilter(expr)
        return p.dispatch(-1), None
    return run


def _import_only(name):
    def prepare():
        __import__(name)
        return lambda path, _: (0, 0)
    return prepare


ours_import = _import_only("pcap")
pypcap_import = _import_only("pcap")


def pypcap_iter():
    import pcap

    def run(path, _):
        return _iterate(pcap.pcap(path))
    return run


def pypcap_dispatch():
    import pcap
    return _callback_reader(pcap, "dispatch")


def pypcap_loop():
    import pcap
    return _callback_reader(pcap, "loop")


def pypcap_readpkts():
    import pcap
    return _readpkts_reader(pcap)


# -- triage (issue 22): the tasks of triage_tasks.py, ours and pcapy-ng's loop_filtered

def _ours_triage(task, how):
    """pcap.Triage of the task set on the handle, the packets kept read
    by iteration (count and len summed in Python, as every reader here) or
    by next_batch(4096) + numpy (caplen summed)."""
    import pcap
    import triage_tasks
    addrs = triage_tasks.addresses() if task == "addrset" else None

    def make():
        if task == "addrset":
            return pcap.Triage(addrs, prefix_match="either")
        return pcap.Triage(flow_head_packets=triage_tasks.FLOW_HEAD, flow_bidirectional=False)

    def run(path, _):
        p = pcap.pcap(path)
        p.set_triage(make())
        if how == "iter":
            return _iterate(p)
        import numpy as np
        dtype = np.dtype(pcap.BATCH_RECORD_DTYPE)
        n = nb = 0
        while True:
            records, data = p.next_batch(4096)
            if not records:
                return n, nb
            r = np.frombuffer(records, dtype)
            n += len(r)
            nb += int(r["caplen"].sum())
    return run


def ours_triage_addrset_iter():
    return _ours_triage("addrset", "iter")


def ours_triage_addrset_np():
    return _ours_triage("addrset", "np")


def ours_triage_flowhead_iter():
    return _ours_triage("flowhead", "iter")


def ours_triage_flowhead_np():
    return _ours_triage("flowhead", "np")


def _pcapy_loop_filtered(task):
    """pcapy-ng 2.1's loop_filtered(0, cb, admit_mask, addr_set, flow_cutoff):
    the task's class only admitted, cb(hdr, data, cls) counting and summing
    len(data) for each packet admitted."""
    import pcapy
    import triage_tasks
    addr_set = triage_tasks.packed(triage_tasks.addresses()) if task == "addrset" else b""

    def run(path, _):
        n = nb = 0

        def cb(hdr, buf, cls):
            nonlocal n, nb
            n += 1
            nb += len(buf)
        r = pcapy.open_offline(path)
        if not hasattr(r, "loop_filtered"):
            raise RuntimeError("this pcapy-ng has no loop_filtered")
        if task == "addrset":
            r.loop_filtered(0, cb, 1 << 2, addr_set, 0)
        else:
            r.loop_filtered(0, cb, 1 << 1, b"", triage_tasks.FLOW_HEAD)
        return n, nb
    return run


def pcapy_loop_filtered_addrset():
    return _pcapy_loop_filtered("addrset")


def pcapy_loop_filtered_flowhead():
    return _pcapy_loop_filtered("flowhead")


def _pcapy_callback(method):
    import pcapy

    def run(path, _):
        n = nb = 0

        def cb(hdr, buf):
            nonlocal n, nb
            n += 1
            nb += len(buf)
        r = pcapy.open_offline(path)
        getattr(r, method)(-1 if method == "dispatch" else 0, cb)
        return n, nb
    return run


def pcapy_dispatch():
    return _pcapy_callback("dispatch")


def pcapy_loop():
    return _pcapy_callback("loop")


def pcapy_next_batch():
    import struct
    import pcapy
    records = struct.Struct("=IIII").iter_unpack

    def run(path, _):
        r = pcapy.open_offline(path)
        if not hasattr(r, "next_batch"):
            raise RuntimeError("this pcapy-ng has no next_batch")
        n = nb = 0
        while True:
            data, meta = r.next_batch(1024)
            if not meta:
                break
            # unpack every packet as the other readers give it: (ts, bytes)
            for sec, usec, off, caplen in records(meta):
                ts = sec + usec * 1e-6
                buf = data[off:off + caplen]
                n += 1
                nb += len(buf)
        return n, nb
    return run


def pcapy_next_batch_np():
    """pcapy-ng's next_batch(4096) consumed as ours above: a numpy view of
    its records (four uint32: sec, usec, offset, caplen), caplen summed."""
    import numpy as np
    import pcapy

    def run(path, _):
        r = pcapy.open_offline(path)
        n = nb = 0
        while True:
            data, meta = r.next_batch(4096)
            if not meta:
                return n, nb
            m = np.frombuffer(meta, dtype="=u4").reshape(-1, 4)
            n += len(m)
            nb += int(m[:, 3].sum())
    return run


def pcapy_loop_to_buffer():
    """pcapy-ng's loop_to_buffer(4096, buf) into one 4 MiB buffer each time
    (records [u32 caplen][u8 class][bytes], GIL released); counts and bytes
    from what it returns."""
    import pcapy

    def run(path, _):
        r = pcapy.open_offline(path)
        buf = bytearray(4 << 20)
        n = nb = 0
        while True:
            written, dropped, overflow, used = r.loop_to_buffer(4096, buf)[:4]
            if not written and not dropped and not overflow:
                return n, nb
            if dropped or overflow:
                raise RuntimeError(f"loop_to_buffer dropped {dropped}, overflowed {overflow}")
            n += written
            nb += used - 5 * written
    return run


def pcapy_next():
    import pcapy

    def run(path, _):
        r = pcapy.open_offline(path)
        n = nb = 0
        while True:
            hdr, buf = r.next()
            if hdr is None:
                break
            n += 1
            nb += len(buf)
        return n, nb
    return run


def libpcap_iter():
    from pylibpcap.pcap import rpcap

    def run(path, _):
        n = nb = 0                          # (not _iterate: a generator between would slow it)
        for length, ts, buf in rpcap(path):
            n += 1
            nb += len(buf)
        return n, nb
    return run


pcapct_iter = pypcap_iter       # the same API, and both install a module named pcap


def scapy_raw():
    from scapy.utils import RawPcapReader

    def run(path, _):
        n = nb = 0
        with RawPcapReader(path) as r:      # a pcapng file too: it picks its pcapng reader
            for buf, meta in r:
                n += 1
                nb += len(buf)
        return n, nb
    return run


def dpkt_reader():
    """dpkt.pcap.Reader, or for a .pcapng file dpkt.pcapng.Reader (dpkt
    does not tell the formats apart by itself)."""
    import dpkt
    import dpkt.pcapng

    def run(path, _):
        with open(path, "rb") as f:
            return _iterate((dpkt.pcapng if path.endswith(".pcapng") else dpkt.pcap).Reader(f))
    return run


# The savefile as an Arrow table: timestamp (ns, UTC), caplen, wire length,
# the packet's bytes, and for pcapng the interface id.  Each returns (rows,
# sum of caplen from the table), and the rows of each interface when the
# table has interface ids.

def _table_result(table):
    import pyarrow.compute as pc     # (imported by each reader's prepare, before the clock)
    result = (table.num_rows, pc.sum(table.column("caplen")).as_py() or 0)
    if "interface_id" not in table.column_names:
        return result
    counts = pc.value_counts(table.column("interface_id")).to_pylist()
    per = [0] * (max((c["values"] for c in counts), default=-1) + 1)
    for c in counts:
        per[c["values"]] = c["counts"]
    return result + (per,)


def ours_to_arrow():
    import pcap
    import pyarrow.compute  # noqa: F401  (imported before the clock starts, as the peers' are)

    def run(path, _):
        with pcap.pcap(path) as p:
            return _table_result(p.to_arrow())
    return run


def _arrow_columns(stamps, caplens, wirelens, datas, interface_ids=None):
    import pyarrow as pa
    columns = {"timestamp": pa.array(stamps, pa.timestamp("ns", tz="UTC")),
               "caplen": pa.array(caplens, pa.uint32()), "wirelen": pa.array(wirelens, pa.uint32()),
               "data": pa.array(datas, pa.binary())}
    if interface_ids is not None:
        columns["interface_id"] = pa.array(interface_ids, pa.uint32())
    return pa.table(columns)


def scapy_to_arrow():
    """scapy's RawPcapReader, the columns gathered in lists, then pyarrow."""
    import pyarrow.compute  # noqa: F401
    from scapy.utils import RawPcapReader

    def run(path, _):
        stamps, caplens, wirelens, datas = [], [], [], []
        with RawPcapReader(path) as r:
            for buf, meta in r:
                stamps.append(meta.sec * 1_000_000_000 + meta.usec * 1000)
                caplens.append(meta.caplen)
                wirelens.append(meta.wirelen)
                datas.append(buf)
        return _table_result(_arrow_columns(stamps, caplens, wirelens, datas))
    return run


def scapy_pcapng_to_arrow():
    """scapy's pcapng reader (RawPcapNgReader, which RawPcapReader picks
    for a pcapng file), the columns of ours_to_arrow on pcapng gathered in
    lists, then pyarrow.  Its packets carry the interface's time stamp
    resolution and name but not its index: the index is the first interface
    of that name (reader.interfaces, in the order of the file; the
    generator names each interface, editcap's one has no name)."""
    import pyarrow.compute  # noqa: F401
    from scapy.utils import RawPcapNgReader, RawPcapReader

    def run(path, _):
        stamps, caplens, wirelens, datas, ids = [], [], [], [], []
        index = {}
        with RawPcapReader(path) as r:
            if not isinstance(r, RawPcapNgReader):
                raise RuntimeError(f"{path}: not read by scapy's pcapng reader")
            for buf, meta in r:
                i = index.get(meta.ifname)
                if i is None:
                    for k, (_, _, opts) in reversed(list(enumerate(r.interfaces))):
                        index[opts.get("name")] = k
                    i = index[meta.ifname]
                stamps.append((meta.tshigh << 32 | meta.tslow) * 1_000_000_000 // meta.tsresol)
                caplens.append(len(buf))
                wirelens.append(meta.wirelen)
                datas.append(buf)
                ids.append(i)
        return _table_result(_arrow_columns(stamps, caplens, wirelens, datas, ids))
    return run


def dpkt_to_arrow():
    """dpkt's pcap.Reader (which gives no wire length: its record header
    is read again with struct for it), the columns in lists, then pyarrow."""
    import pyarrow.compute  # noqa: F401
    import dpkt

    def run(path, _):
        stamps, caplens, wirelens, datas = [], [], [], []
        with open(path, "rb") as f:
            r = dpkt.pcap.Reader(f)
            for hdr, buf in _dpkt_records(r):
                stamps.append(hdr.tv_sec * 1_000_000_000 + hdr.tv_usec * 1000)
                caplens.append(hdr.caplen)
                wirelens.append(hdr.len)
                datas.append(buf)
        return _table_result(_arrow_columns(stamps, caplens, wirelens, datas))
    return run


def _dpkt_records(r):
    # dpkt.pcap.Reader.__iter__ yields (ts, buf); its record headers are in
    # the same loop: read them as it does, keeping every field.
    import dpkt
    f, hdr_cls, hdrlen = r._Reader__f, r._Reader__ph, dpkt.pcap.PktHdr.__hdr_len__
    while True:
        head = f.read(hdrlen)
        if len(head) < hdrlen:
            return
        hdr = hdr_cls(head)
        yield hdr, f.read(hdr.caplen)


# --------------------------------------------------------------------------
# Header fields (issue 22): the 5-tuple (addresses, protocol, ports) and the
# TCP flags of every packet, with or without its Community ID (v1, seed 0),
# as each reader gives them: ours as Arrow columns parsed in C, tshark as
# the lines of `-T fields`, dpkt as Python values appended to lists.  A
# reader is run(path) timed, and check() after the clock stops, which
# reduces what run() made to the sums of gen.field_sums(), compared by the
# report with the generator's: {"ip": packets with addresses, "src", "dst":
# IPv4 addresses summed as numbers, "protocol", "src_port", "dst_port": sums,
# "tcp_flags": [packets that have them, sum], "community_id": [count, least,
# greatest]}.

FIELD_COLUMNS = ["src", "dst", "protocol", "src_port", "dst_port", "tcp_flags"]


class _FieldsReader:
    """run(path, _) timed; check(_) reduces its result to the field sums."""

    def __init__(self, read, sums):
        self.read, self.sums, self.result = read, sums, None

    def __call__(self, path, _):
        self.result = self.read(path)
        return self.result[0], None

    def check(self, _):
        return self.result[0], None, None, self.sums(self.result)


def ours_fields(community_id=False):
    """arrow_batches(fields=[5-tuple, tcp_flags(, community_id)], data=False): the columns only."""
    import pcap
    import pyarrow as pa
    import pyarrow.compute as pc
    fields = FIELD_COLUMNS + (["community_id"] if community_id else [])

    def read(path):
        with pcap.pcap(path) as p:
            batches = list(p.arrow_batches(fields=fields, data=False))
        return sum(b.num_rows for b in batches), batches

    def sums(result):
        import numpy as np
        table = pa.Table.from_batches(result[1])
        out = {}
        for name in ("src", "dst"):
            col = table.column(name).combine_chunks()
            ok = col.is_valid().to_numpy(zero_copy_only=False)
            words = np.frombuffer(col.buffers()[1], np.uint8).reshape(-1, 16)[col.offset:col.offset + len(col)]
            out["ip"] = int(ok.sum())
            out[name] = int(words[ok, 12:16].copy().view(">u4").astype(np.uint64).sum())
        for name in ("protocol", "src_port", "dst_port"):
            out[name] = pc.sum(table.column(name)).as_py() or 0
        flags = table.column("tcp_flags")
        out["tcp_flags"] = [len(flags) - flags.null_count, pc.sum(flags).as_py() or 0]
        if community_id:
            cid = table.column("community_id")
            mm = pc.min_max(cid).as_py()
            out["community_id"] = [len(cid) - cid.null_count, mm["min"], mm["max"]]
        return out
    return _FieldsReader(read, sums)


def ours_fields_cid():
    return ours_fields(community_id=True)


def _python_field_sums(community_id):
    """The sums of lists of per-packet values (the rows of tshark and dpkt)."""
    def sums(result):
        _, src, dst, proto, sport, dport, flags, cids = result
        out = {"ip": len(src), "src": sum(src), "dst": sum(dst), "protocol": sum(proto),
               "src_port": sum(x for x in sport if x is not None), "dst_port": sum(x for x in dport if x is not None),
               "tcp_flags": [sum(1 for x in flags if x is not None), sum(x for x in flags if x is not None)]}
        if community_id:
            have = [c for c in cids if c]
            out["community_id"] = [len(have), min(have, default=None), max(have, default=None)]
        return out
    return sums


def tshark_fields(community_id=False):
    """`tshark -r FILE -T fields -e ip.src -e ip.dst -e ip.proto -e udp.srcport ...` (with
    `--enable-protocol communityid -e communityid`; `-E occurrence=f`: the outer header's, where a
    payload holds another IP header): the time of tshark's run, its output
    read from its pipe into memory; the lines are split into values after the clock."""
    import subprocess
    cmd = ["tshark", "-n", "-r", None, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in ("ip.src", "ip.dst", "ip.proto", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport",
              "tcp.flags") + (("communityid",) if community_id else ()):
        cmd += ["-e", f]
    if community_id:
        cmd += ["--enable-protocol", "communityid", "-o", "communityid.seed:0"]
    # Not IPX: tshark's heuristics took the random UDP payload of one packet of the bench's file
    # (646,729: eth:ethertype:ip:udp:llc:ipx) for IPX, and its communityid then gave none.
    cmd += ["--disable-protocol", "ipx"]

    def read(path):
        cmd[3] = path
        out = subprocess.run(cmd, check=True, capture_output=True).stdout
        return out.count(b"\n"), out

    def sums(result):
        import ipaddress
        src, dst, proto, sport, dport, flags, cids = [], [], [], [], [], [], []
        for line in result[1].decode().splitlines():
            v = line.split("\t")
            if not v[0]:
                continue
            src.append(int(ipaddress.IPv4Address(v[0])))
            dst.append(int(ipaddress.IPv4Address(v[1])))
            proto.append(int(v[2]))
            sport.append(int(v[3] or v[5]) if (v[3] or v[5]) else None)
            dport.append(int(v[4] or v[6]) if (v[4] or v[6]) else None)
            flags.append(int(v[7], 16) if v[7] else None)
            cids.append(v[8] if community_id else None)
        return _python_field_sums(community_id)((result[0], src, dst, proto, sport, dport, flags, cids))
    return _FieldsReader(read, sums)


def tshark_fields_cid():
    return tshark_fields(community_id=True)


def dpkt_fields(community_id=False):
    """dpkt.pcap.Reader, each packet parsed with dpkt.ethernet.Ethernet (IP, then UDP or
    TCP), the fields appended to lists; with the Community ID computed by hashlib as the
    specification's reference does (the smaller endpoint first, SHA-1, base64)."""
    import base64
    import hashlib
    import struct

    import dpkt
    ip_class, udp_class, tcp_class = dpkt.ip.IP, dpkt.udp.UDP, dpkt.tcp.TCP
    pack_tail = struct.Struct("!BBHH").pack
    seed = struct.pack("!H", 0)

    def read(path):
        n = 0
        src, dst, proto, sport, dport, flags, cids = [], [], [], [], [], [], []
        with open(path, "rb") as f:
            for ts, buf in dpkt.pcap.Reader(f):
                n += 1
                ip = dpkt.ethernet.Ethernet(buf).data
                if not isinstance(ip, ip_class):
                    continue
                l4 = ip.data
                src.append(ip.src)
                dst.append(ip.dst)
                proto.append(ip.p)
                if isinstance(l4, (udp_class, tcp_class)):
                    sp, dp = l4.sport, l4.dport
                    flags.append(l4.flags if isinstance(l4, tcp_class) else None)
                else:
                    sp = dp = None
                    flags.append(None)
                sport.append(sp)
                dport.append(dp)
                if community_id:
                    a, b, pa, pb = ip.src, ip.dst, sp or 0, dp or 0
                    if (a, pa) > (b, pb):
                        a, b, pa, pb = b, a, pb, pa
                    digest = hashlib.sha1(seed + a + b + pack_tail(ip.p, 0, pa, pb)).digest()
                    cids.append("1:" + base64.b64encode(digest).decode())
        return n, src, dst, proto, sport, dport, flags, cids

    def sums(result):
        n, src, dst, *rest = result
        return _python_field_sums(community_id)((n, [int.from_bytes(a, "big") for a in src],
                                                 [int.from_bytes(a, "big") for a in dst], *rest))
    return _FieldsReader(read, sums)


def dpkt_fields_cid():
    return dpkt_fields(community_id=True)


# --------------------------------------------------------------------------
# Writers: each writes the packets of FILE to OUT (the second argument,
# a path in the work folder that bench/run.py names after the row).  A
# writer is run(path, out) with two more methods: load(path), which reads
# FILE before the clock starts (the rows "from memory": the packets are in
# a list, the batches or the Arrow table in memory, as each writer takes
# them), and check(out), after the clock stops, which reads OUT back and
# deletes it: the packets and bytes reported are those found in the file
# written, so that a writer that wrote nothing, or less, shows as wrong.
# The read-back is _read_back() below (standard library only: it checks
# every writer, ours too, with code of neither), or libpcap for the C
# baseline.

class _Writer:
    """run(path, out) timed, load(path) and check(out) not."""

    def __init__(self, write, load=None):
        self.write, self._load, self.data = write, load, None

    def load(self, path):
        if self._load is not None:
            self.data = self._load(path)

    def __call__(self, path, out):
        self.write(path, out, self.data)
        return None, None

    def check(self, out):
        try:
            return _read_back(out)
        finally:
            import os
            os.unlink(out)


def _read_back(path):
    """(packets, sum of captured lengths) of a classic pcap or pcapng file
    (either byte order; gzip-compressed too), walked record by record or
    block by block with struct: Enhanced and Simple Packet Blocks count."""
    import gzip
    import struct
    with open(path, "rb") as f:
        head = f.read(2)
    with (gzip.open if head == b"\x1f\x8b" else open)(path, "rb") as f:
        data = f.read()
    n = nb = 0
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        at, end = 0, len(data)
        bo = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        head = struct.Struct(bo + "II").unpack_from
        caplen_of = struct.Struct(bo + "I").unpack_from
        while at + 12 <= end:
            btype, blen = head(data, at)
            if blen < 12 or blen % 4 or at + blen > end:
                raise ValueError(f"{path}: a block of {blen} bytes at offset {at}")
            if btype == 0x0A0D0D0A:
                bo = "<" if data[at + 8:at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                head = struct.Struct(bo + "II").unpack_from
                caplen_of = struct.Struct(bo + "I").unpack_from
            elif btype == 6:
                n += 1
                nb += caplen_of(data, at + 20)[0]
            elif btype == 3:
                n += 1
                nb += blen - 16     # (a Simple Packet Block: the data, padded; not written here)
            at += blen
        if at != end:
            raise ValueError(f"{path}: {end - at} bytes after the last whole block")
        return n, nb
    for bo in "<>":
        if struct.unpack_from(bo + "I", data)[0] in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise ValueError(f"{path}: neither pcap nor pcapng")
    rec = struct.Struct(bo + "8xI4x").unpack_from
    at, end = 24, len(data)
    while at + 16 <= end:
        caplen = rec(data, at)[0]
        n += 1
        nb += caplen
        at += 16 + caplen
    if at != end:
        raise ValueError(f"{path}: {end - at} bytes after the last whole record")
    return n, nb


def _ours_packets(path):
    import pcap
    return list(pcap.pcap(path))


def _ours_batches(path):
    import pcap
    p, out = pcap.pcap(path), []
    while True:
        records, data = p.next_batch(4096)
        if not records:
            return out
        out.append((records, data))


def _ours_write(fmt, suffix=""):
    """d.write(ts, buf) of each packet of a list read before the clock."""
    import pcap

    def write(path, out, packets):
        with pcap.dumper(out, format=fmt) as d:
            w = d.write
            for ts, buf in packets:
                w(ts, buf)
    return _Writer(write, _ours_packets)


def ours_write_ng():
    return _ours_write("pcapng")


def ours_write_pcap():
    return _ours_write("pcap")


def ours_write_ng_gz():
    """The same as ours_write_ng to a .pcapng.gz path (gzip.open's level, 9)."""
    return _ours_write("pcapng")


def _ours_write_batch(fmt):
    """d.write_batch(records, data) of next_batch(4096)'s batches, read before the clock."""
    import pcap

    def write(path, out, batches):
        with pcap.dumper(out, format=fmt) as d:
            for records, data in batches:
                d.write_batch(records, data)
    return _Writer(write, _ours_batches)


def ours_write_batch_ng():
    return _ours_write_batch("pcapng")


def ours_write_batch_pcap():
    return _ours_write_batch("pcap")


def ours_write_table_ng():
    """d.write_table(table) of the file's p.to_arrow(), made before the clock."""
    import pcap
    import pyarrow  # noqa: F401

    def load(path):
        with pcap.pcap(path) as p:
            return p.to_arrow()

    def write(path, out, table):
        with pcap.dumper(out, format="pcapng") as d:
            d.write_table(table)
    return _Writer(write, load)


def _ours_copy(fmt, how):
    """Read FILE and write it (both timed): p.dispatch(-1, d), p.loop(0, d),
    iteration + d.write, next_batch + write_batch, readinto + write_batch."""
    import pcap

    def write(path, out, _):
        p = pcap.pcap(path)
        with pcap.dumper(out, format=fmt) as d:
            if how == "dispatch":
                p.dispatch(-1, d)
            elif how == "loop":
                p.loop(0, d)
            elif how == "iter":
                w = d.write
                for ts, buf in p:
                    w(ts, buf)
            elif how == "next_batch":
                while True:
                    records, data = p.next_batch(4096)
                    if not records:
                        break
                    d.write_batch(records, data)
            elif how == "readinto":
                records, data = bytearray(4096 * pcap.BATCH_RECORD_SIZE), bytearray(4 << 20)
                while k := p.readinto(records, data):
                    d.write_batch(records, data, count=k)
        p.close()
    return _Writer(write)


def ours_copy_dispatch_ng():
    return _ours_copy("pcapng", "dispatch")


def ours_copy_dump_open_ng():
    """A pcapng file copied as dump_open() copies one: the dumper follows
    the file's sections and interfaces, and each packet's options are
    copied, in C (p.dispatch(-1, d))."""
    import pcap

    def write(path, out, _):
        with pcap.pcap(path) as p, p.dump_open(out, format="pcapng") as d:
            p.dispatch(-1, d)
    return _Writer(write)


def ours_copy_loop_ng():
    return _ours_copy("pcapng", "loop")


def ours_copy_iter_ng():
    return _ours_copy("pcapng", "iter")


def ours_copy_next_batch_ng():
    return _ours_copy("pcapng", "next_batch")


def ours_copy_readinto_ng():
    return _ours_copy("pcapng", "readinto")


def ours_copy_dispatch_pcap():
    return _ours_copy("pcap", "dispatch")


def ours_copy_iter_pcap():
    return _ours_copy("pcap", "iter")


def scapy_write_ng():
    """scapy's PcapNgWriter, write_packet(buf, sec=ts) of each packet of a
    list of (ts, bytes) read before the clock (RawPcapReader); the
    header first (the link type set: raw bytes name none)."""
    from scapy.utils import PcapNgWriter, RawPcapReader

    def load(path):
        with RawPcapReader(path) as r:
            return [(meta.sec + meta.usec / 1e6, buf) for buf, meta in r]

    def write(path, out, packets):
        w = PcapNgWriter(out)
        w.linktype = 1
        w.write_header(None)
        wp = w.write_packet
        for ts, buf in packets:
            wp(buf, sec=ts)
        w.close()
    return _Writer(write, load)


def dpkt_write_ng():
    """dpkt's pcapng.Writer, writepkts() (its fastest: one Python loop
    inside) of a list of (ts, bytes) read before the clock."""
    import dpkt
    import dpkt.pcapng

    def load(path):
        with open(path, "rb") as f:
            return list(dpkt.pcap.Reader(f))

    def write(path, out, packets):
        with open(out, "wb") as f:
            w = dpkt.pcapng.Writer(f, snaplen=65535)
            w.writepkts(packets)
    return _Writer(write, load)


def pcapy_dump_pcap():
    """pcapy-ng's Dumper (libpcap's pcap_dump), dump(hdr, data) of each
    packet of a list of (header, bytes) read before the clock."""
    import pcapy

    def load(path):
        r = pcapy.open_offline(path)
        out = []
        while True:
            hdr, buf = r.next()
            if hdr is None:
                return r, out
            out.append((hdr, buf))

    def write(path, out, loaded):
        r, packets = loaded
        d = r.dump_open(out)
        dump = d.dump
        for hdr, buf in packets:
            dump(hdr, buf)
        d.close()
    return _Writer(write, load)


def pcapy_copy_loop_pcap():
    """pcapy-ng: loop(0, dumper.dump) from the file to its Dumper."""
    import pcapy

    def write(path, out, _):
        r = pcapy.open_offline(path)
        d = r.dump_open(out)
        r.loop(0, d.dump)
        d.close()
    return _Writer(write)


# --------------------------------------------------------------------------
# Live capture on lo.

def live(port, count, immediate, snaplen=None, fanout=None):
    """Capture on lo the UDP datagrams sent to ``port`` until ``count`` came
    or a line (or end of file) arrives on stdin, then report.

    The capture loop runs in a thread: pypcap's iteration with its default
    options cannot be interrupted (libpcap retries the poll after EINTR, and
    the last partly filled ring block is only delivered when more traffic
    comes), so the main thread waits for the count or for the bench's word,
    reports, and ends the process with os._exit."""
    import os
    import resource
    import threading
    import pcap      # ours or pypcap: the same API for what is used here

    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)   # every thread of this process
        return ru.ru_utime + ru.ru_stime

    p = pcap.pcap("lo", immediate=immediate, **({"snaplen": snaplen} if snaplen else {}))
    if fanout is not None:
        p.set_fanout(fanout & 0xffff, pcap.FANOUT_HASH)
    p.setfilter(f"udp and dst host 127.0.0.1 and dst port {port}")
    state = {"n": 0, "bytes": 0, "error": None}
    done = threading.Event()

    def capture():
        n = nb = 0
        try:
            for ts, buf in p:
                n += 1
                nb += len(buf)
                if n >= count:
                    break
        except BaseException as e:   # report it rather than hang
            state["error"] = repr(e)
        finally:
            state["n"], state["bytes"] = n, nb
            done.set()

    c0 = cpu()
    t0 = time.perf_counter()
    worker = threading.Thread(target=capture, daemon=True)
    worker.start()
    print("ready", flush=True)

    def wait_stdin():
        sys.stdin.readline()
        done.set()
    threading.Thread(target=wait_stdin, daemon=True).start()
    done.wait()
    t1 = time.perf_counter()
    c1 = cpu()
    if not state["n"] and worker.is_alive():
        # stopped by the bench while the loop waits (GIL released) for more
        state["n"], state["bytes"] = _loop_counters(worker, capture.__code__)
    st = p.stats()
    print(json.dumps({"received": state["n"], "bytes": state["bytes"], "ps_recv": st[0],
                      "ps_drop": st[1], "ps_ifdrop": st[2], "cpu": c1 - c0,
                      "elapsed": t1 - t0, "complete": state["n"] >= count,
                      "error": state["error"], "module": pcap.__file__,
                      "hwm_kib": peak_rss_kib()}), flush=True)
    os._exit(0)


def live_multi(port, count, interfaces):
    """One handle over several interfaces (``pcap.pcap([a, b])``, issue
    21), the frames to ``port`` that the C sender sends out of the other
    ends of veth pairs (``count`` of each: 60-byte frames into the first
    interface, 68-byte ones into the second), read with
    ``next_batch(4096, interfaces=True)``: the packets of each interface
    index, and of them those of the frame length sent into it (so, on the
    right interface), until all came or a line arrives on stdin; then each
    interface's ``stats(interface=k)`` and the CPU seconds.  When this
    build's pcap.pcap takes no list, prints {"skip": why} at once (and
    never "ready")."""
    import os
    import resource
    import threading
    import numpy as np
    import pcap

    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    try:
        p = pcap.pcap(list(interfaces))
    except (TypeError, ValueError) as e:
        print(json.dumps({"skip": f"pcap.pcap() takes no list of interfaces in this build "
                                  f"({type(e).__name__}: {e})"}), flush=True)
        os._exit(0)
    p.setfilter(f"udp dst port {port}")
    dtype = np.dtype(pcap.BATCH_RECORD_NG_DTYPE)
    want = [60 + 8 * k for k in range(len(interfaces))]
    state = {"per": [0] * len(interfaces), "right": [0] * len(interfaces), "error": None}
    done = threading.Event()

    def capture():
        per, right = state["per"], state["right"]
        try:
            while sum(per) < count * len(interfaces):
                records, data, _ = p.next_batch(4096, interfaces=True)
                if not records:
                    continue
                r = np.frombuffer(records, dtype)
                ids = r["interface_id"]
                for k in range(len(interfaces)):
                    mine = ids == k
                    per[k] += int(mine.sum())
                    right[k] += int((r["caplen"][mine] == want[k]).sum())
        except BaseException as e:
            state["error"] = repr(e)
        finally:
            done.set()

    c0 = cpu()
    threading.Thread(target=capture, daemon=True).start()
    print("ready", flush=True)

    def wait_stdin():
        sys.stdin.readline()
        done.set()
    threading.Thread(target=wait_stdin, daemon=True).start()
    done.wait()
    c1 = cpu()
    per = list(state["per"])
    stats = []
    for k in range(len(interfaces)):
        try:
            stats.append(list(p.stats(interface=k)))
        except TypeError:
            stats.append(None)
    total = list(p.stats())
    print(json.dumps({"received": sum(per), "each": per, "right": list(state["right"]),
                      "ps_recv": total[0], "ps_drop": total[1], "ps_ifdrop": total[2],
                      "stats_each": stats, "cpu": c1 - c0, "complete": sum(per) >= count * len(interfaces),
                      "error": state["error"], "hwm_kib": peak_rss_kib()}), flush=True)
    os._exit(0)


def _loop_counters(thread, code):
    """(n, nb) of the running ``code`` in ``thread``, read from its frame,
    so that the capture loop itself stays the same as in the file readers."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None and frame.f_code is not code:
        frame = frame.f_back
    return (frame.f_locals["n"], frame.f_locals["nb"]) if frame is not None else (0, 0)


def peak_rss_kib():
    """VmHWM: the peak resident set of this process since it was exec'd.
    (ru_maxrss would also count the image of the forked parent, which Linux
    carries over exec.)"""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main(argv):
    if argv[0] == "live_multi":
        live_multi(int(argv[1]), int(argv[2]), argv[3:])
        return
    if argv[0] == "live":
        opts = dict(a.split("=", 1) for a in argv[4:])
        live(int(argv[1]), int(argv[2]), argv[3] == "1",
             snaplen=int(opts["snaplen"]) if "snaplen" in opts else None,
             fanout=int(opts["fanout"]) if "fanout" in opts else None)
        return
    name, path = argv[0], argv[1]
    expr = argv[2] if len(argv) > 2 else None
    run = globals()[name]()
    if hasattr(run, "load"):
        run.load(path)          # a writer's input, in memory before the clock
    t0 = time.perf_counter()
    result = run(path, expr)
    t1 = time.perf_counter()
    hwm = peak_rss_kib()
    if hasattr(run, "check"):
        result = run.check(expr)    # what the writer's file holds, read back; a fields reader's sums
    out = {"packets": result[0], "bytes": result[1], "elapsed": t1 - t0, "hwm_kib": hwm}
    if len(result) > 2 and result[2] is not None:
        out["interfaces"] = result[2]
    if len(result) > 3:
        out["fields"] = result[3]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
