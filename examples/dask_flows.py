#!/usr/bin/env python3
"""Bytes and packets per IPv4/IPv6 5-tuple, and the top talkers, over many
savefiles (or one big one split into exact byte ranges), on Dask.

Each part (a file, or a range of one from pcap.savefile_ranges()) is read
with p.next_batch(); the headers are parsed vectorized with numpy from the
batch's two buffers (no Python object per packet), aggregated per flow with
pandas, and Dask sums the parts.  By default a LocalCluster of --workers
processes runs it; --scheduler tcp://HOST:8786 uses a running cluster
(the files must then be readable by every worker: shared storage, or
fsspec paths opened as file objects), --scheduler synchronous runs it in
this process.  Ctrl-C, also while the cluster starts, shuts the
LocalCluster and its workers down and exits with status 130.

    dask_flows.py                                 examples/sample.pcap
    dask_flows.py captures/                       every savefile of a folder
    dask_flows.py big.pcap --split 8 --workers 4  one file in 8 byte ranges
    dask_flows.py captures/ --json                one line of JSON
"""
from __future__ import annotations

import signal
import sys

try:
    import argparse
    import contextlib
    import ipaddress
    import json
    import logging
    import multiprocessing.resource_tracker
    import os
    from typing import Any, Iterator

    import pcap
    from optional_packages import optional, require

    with optional():
        import numpy as np
except KeyboardInterrupt:               # Ctrl-C while importing: as at the end of this file
    print("interrupted", file=sys.stderr)
    sys.exit(130)

# The savefile shipped beside the examples.
SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcap")
SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")
COLUMNS = ["proto", "src", "sport", "dst", "dport", "packets", "bytes"]
Part = tuple[str, int, int]          # path, start, end (start -1: the whole file)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def gather(u8: Any, pos: Any, width: int) -> Any:
    """Bytes pos..pos+width of each packet, as one row per packet."""
    return u8[pos[:, None] + np.arange(width)]


def flows_of_batch(records: bytearray, data: bytearray) -> tuple[int, int, dict[str, Any] | None]:
    """(packets, wire bytes, per-packet flow columns of the IP packets)."""
    r = np.frombuffer(records, np.dtype(pcap.BATCH_RECORD_DTYPE))
    u8 = np.frombuffer(data, np.uint8)
    off = r["offset"].astype(np.int64)
    cap = r["caplen"].astype(np.int64)
    wire = r["wirelen"].astype(np.int64)
    total = (len(r), int(wire.sum()))
    if not len(u8):                    # no packet bytes at all (every caplen 0): nothing to parse
        return total[0], total[1], None
    last = len(u8) - 1

    def safe(k: Any) -> Any:           # offsets of byte k of each packet, kept inside data
        return np.minimum(off + k, last)

    etype = np.where(cap >= 14, u8[safe(12)].astype(np.int64) << 8 | u8[safe(13)], 0)
    v4 = (etype == 0x0800) & (cap >= 34)
    v6 = (etype == 0x86DD) & (cap >= 54)
    ihl = (u8[safe(14)] & 0x0F).astype(np.int64) * 4
    proto = np.where(v4, u8[safe(23)], np.where(v6, u8[safe(20)], 0)).astype(np.int64)
    l4 = np.where(v4, 14 + ihl, 54)
    ports = (v4 | v6) & ((proto == 6) | (proto == 17)) & (cap >= l4 + 4)
    sport = np.where(ports, u8[safe(l4)].astype(np.int64) << 8 | u8[safe(l4 + 1)], 0)
    dport = np.where(ports, u8[safe(l4 + 2)].astype(np.int64) << 8 | u8[safe(l4 + 3)], 0)
    ip = v4 | v6
    if not ip.any():
        return total[0], total[1], None
    # Addresses: 16 bytes a packet (IPv4 in the first 4, a 0/1 family byte apart).
    src = np.zeros((len(r), 16), np.uint8)
    dst = np.zeros((len(r), 16), np.uint8)
    i4, i6 = np.flatnonzero(v4), np.flatnonzero(v6)
    src[i4, :4] = gather(u8, off[i4] + 26, 4)
    dst[i4, :4] = gather(u8, off[i4] + 30, 4)
    src[i6] = gather(u8, off[i6] + 22, 16)
    dst[i6] = gather(u8, off[i6] + 38, 16)
    keep = np.flatnonzero(ip)
    cols = {"v6": v6[keep], "proto": proto[keep], "src": src[keep], "sport": sport[keep],
            "dst": dst[keep], "dport": dport[keep], "bytes": wire[keep]}
    return total[0], total[1], cols


def address(raw: bytes, v6: bool) -> str:
    return str(ipaddress.IPv6Address(raw) if v6 else ipaddress.IPv4Address(raw[:4]))


KEYS = ["v6", "proto", "src_hi", "src_lo", "sport", "dst_hi", "dst_lo", "dport"]


def read_part(part: Part) -> Any:
    """The per-flow sums of one part, as a pandas DataFrame of integers
    (addresses as two uint64 halves); the part's totals of all packets ride
    along in a row whose proto is -1."""
    import pandas as pd  # type: ignore[import-untyped]
    path, start, end = part
    handle = pcap.pcap(path) if start < 0 else pcap.open_range(path, start, end)
    packets = wire_bytes = 0
    frames = []
    with handle as p:
        ethernet = p.datalink() == pcap.DLT_EN10MB
        while True:
            records, data = p.next_batch(65536, 16 << 20)
            if not records:
                break
            n, b, cols = flows_of_batch(records, data)
            packets += n
            wire_bytes += b
            if ethernet and cols is not None:
                src = np.ascontiguousarray(cols["src"]).view(">u8").astype(np.uint64)
                dst = np.ascontiguousarray(cols["dst"]).view(">u8").astype(np.uint64)
                frame = pd.DataFrame({"v6": cols["v6"].astype(np.int64), "proto": cols["proto"],
                                      "src_hi": src[:, 0], "src_lo": src[:, 1], "sport": cols["sport"],
                                      "dst_hi": dst[:, 0], "dst_lo": dst[:, 1], "dport": cols["dport"],
                                      "packets": np.ones(len(src), np.int64), "bytes": cols["bytes"]})
                frames.append(frame.groupby(KEYS, as_index=False, sort=False).sum())
    zero = np.zeros(1, np.int64)
    frames.append(pd.DataFrame({k: zero for k in KEYS} | {"proto": zero - 1, "packets": zero + packets,
                                                          "bytes": zero + wire_bytes}))
    frames = [f.astype({k: np.uint64 if k.endswith(("_hi", "_lo")) else np.int64 for k in KEYS}) for f in frames]
    return pd.concat(frames, ignore_index=True).groupby(KEYS, as_index=False, sort=False).sum()


def flow_address(hi: int, lo: int, v6: bool) -> str:
    return address(int(hi).to_bytes(8, "big") + int(lo).to_bytes(8, "big"), v6)


def parts_of(paths: list[str], split: int) -> tuple[list[Part], int]:
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(SUFFIXES))
        else:
            files.append(path)
    parts: list[Part] = []
    for f in files:
        if split > 1:
            try:
                parts += [(f, s, e) for s, e in pcap.savefile_ranges(f, split)]
                continue
            except pcap.PcapError:
                pass                   # compressed: read whole
        parts.append((f, -1, -1))
    return parts, len(files)


def run(parts: list[Part], scheduler: str, workers: int) -> tuple[Any, str]:
    import dask
    import dask.dataframe as dd
    import pandas as pd
    meta = pd.DataFrame({k: pd.Series(dtype="uint64" if k.endswith(("_hi", "_lo")) else "int64")
                         for k in KEYS + ["packets", "bytes"]})
    with dask.config.set({"dataframe.convert-string": False}):
        frame = dd.from_map(read_part, parts, meta=meta)  # type: ignore[no-untyped-call]
        graph = frame.groupby(KEYS).sum(split_out=1).reset_index()
        if scheduler == "synchronous":
            return graph.compute(scheduler="synchronous"), "the synchronous scheduler"
        from dask.distributed import Client, LocalCluster
        if scheduler:
            with Client(scheduler) as client:  # type: ignore[no-untyped-call]
                return client.compute(graph).result(), f"the cluster at {scheduler}"
        # A terminal's Ctrl-C sends SIGINT to the worker processes too, which would print tracebacks.  New
        # threads and processes start with the signal mask of the thread that starts them: SIGINT blocked
        # while the cluster starts, the workers never get it.  Blocked also while the cluster shuts down,
        # so that a Ctrl-C cannot cut that short; a Ctrl-C meanwhile is raised when the block ends.
        multiprocessing.resource_tracker.ensure_running()    # (it unblocks SIGINT when it starts)
        # No dashboard; the scheduler's HTTP server (health, metrics) on a free port rather than on 8787,
        # which may be taken (a warning on stderr).  Worker logs silenced: a task's error is raised here.
        with ctrl_c(signal.SIG_BLOCK), \
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                             dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                             silence_logs=logging.CRITICAL) as cluster, \
                Client(cluster) as client:  # type: ignore[no-untyped-call]
            with ctrl_c(signal.SIG_UNBLOCK):
                return client.compute(graph).result(), f"a LocalCluster of {plural(workers, 'worker')}"


@contextlib.contextmanager
def ctrl_c(how: int) -> Iterator[None]:
    """with ctrl_c(signal.SIG_BLOCK): a Ctrl-C (SIGINT) during the block waits for its end, then
    raises KeyboardInterrupt as usual; with ctrl_c(signal.SIG_UNBLOCK) it interrupts at once again."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        signal.pthread_sigmask(how, [signal.SIGINT])
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}   # IP protocol numbers; others print as numbers


def proto_name(proto: int) -> str:
    return PROTOCOLS.get(proto, str(proto))


def endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Bytes and packets per 5-tuple over savefiles, on Dask.")
    ap.add_argument("paths", nargs="*", default=[SAMPLE],
                    help="savefiles, or folders of them (*.pcap, *.pcapng, *.cap, *.gz; "
                         "default: examples/sample.pcap)")
    ap.add_argument("--split", type=int, default=1, help="split each pcap or pcapng file into N byte ranges")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    ap.add_argument("--scheduler", default="", help="tcp://HOST:8786 for a running cluster, or synchronous")
    ap.add_argument("--top", type=int, default=10, help="how many flows to list (default 10)")
    ap.add_argument("--json", action="store_true", help="print one line of JSON")
    args = ap.parse_args(argv)
    if args.split < 1 or args.workers < 1 or args.top < 0:
        ap.error("--split and --workers must be at least 1, --top at least 0")
    require("numpy", "pandas", "pyarrow", "dask", *([] if args.scheduler == "synchronous" else ["distributed"]))

    parts, nfiles = parts_of(args.paths, args.split)
    if not parts:
        print(f"dask_flows: no savefiles ({', '.join('*' + s for s in SUFFIXES)}) in {' '.join(args.paths)}",
              file=sys.stderr)
        return 1
    try:
        flows, where = run(parts, args.scheduler, args.workers)
    except pcap.PcapError as e:
        print(f"dask_flows: {e}", file=sys.stderr)
        return 1
    totals = flows[flows["proto"] == -1]
    flows = flows[flows["proto"] != -1]
    packets, wire = int(totals["packets"].sum()), int(totals["bytes"].sum())
    # The top flows by bytes, ties in the order of the 5-tuple with its
    # addresses as text: only the flows that can be among them become text.
    ranked = flows.sort_values("bytes", ascending=False)
    cut = int(ranked["bytes"].iloc[args.top - 1]) if 0 < args.top <= len(ranked) else 0
    candidates = ranked[ranked["bytes"] >= cut] if args.top else ranked.head(0)
    rows: list[list[Any]] = [[int(r.proto), flow_address(r.src_hi, r.src_lo, bool(r.v6)), int(r.sport),
             flow_address(r.dst_hi, r.dst_lo, bool(r.v6)), int(r.dport), int(r.packets), int(r.bytes)]
            for r in candidates.itertuples()]
    top = sorted(rows, key=lambda r: (-r[6], r[0], r[1], r[2], r[3], r[4]))[:args.top]
    if args.json:
        print(json.dumps({"packets": packets, "bytes": wire, "flows": len(flows), "top": top}))
        return 0
    print(f"{plural(len(parts), 'part')} from {plural(nfiles, 'file')} on {where}")
    print(f"{plural(packets, 'packet')}, {plural(wire, 'byte')} on the wire, {plural(len(flows), 'IP flow')}")
    print(f"top {plural(args.top, 'flow')} by bytes:")
    for proto, src, sport, dst, dport, n, b in top:
        print(f"  {proto_name(proto)} {endpoint(src, sport)} > {endpoint(dst, dport)}  packets {n}  bytes {b}")
    return 0


if __name__ == "__main__":
    try:
        try:
            status = main()
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)   # done, or shutting down: no more Ctrl-C
    except KeyboardInterrupt:           # Ctrl-C: one line and status 130, not a traceback
        print("interrupted", file=sys.stderr)
        status = 130
    sys.exit(status)
