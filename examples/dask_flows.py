#!/usr/bin/env python3
"""Bytes and packets per IPv4/IPv6 5-tuple, and the top talkers, over many
savefiles (or one big one split into exact byte ranges), on Dask.

Each part (a file, or a range of one from pcap.savefile_ranges()) is read
with p.arrow_batches(fields=[...], data=False): the module parses the
headers in C as it reads and hands over Arrow columns of addresses,
protocol and ports, no packet bytes and no Python object per packet.  The
part's packets are summed per flow with numpy (a 64-bit fingerprint of the
5-tuple, sorted; every group's 5-tuples checked equal), and Dask adds the
parts up in a tree of merges of those sorted sums.  By default a
LocalCluster of --workers threads of this process runs it: the reads and
numpy's sorts and sums release the GIL, and the sums pass between workers
without a copy (--processes starts worker processes instead).  --scheduler
tcp://HOST:8786 uses a running cluster (the files must then be readable by
every worker: shared storage, or fsspec paths opened as file objects),
--scheduler synchronous runs it in this process.  Ctrl-C, also while the
cluster starts, ends the run with status 130: worker processes are shut
down, and the tasks that worker threads are running are not waited for
(nor after a task's error).

    dask_flows.py                                 examples/sample.pcap
    dask_flows.py captures/                       every savefile of a folder
    dask_flows.py big.pcap --split 8 --workers 4  one file in 8 byte ranges
    dask_flows.py captures/ --json                one line of JSON
"""
from __future__ import annotations

import sys

# Every Ctrl-C is noted here as it raises KeyboardInterrupt: some code swallows that exception
# (numpy's start-up turns it into an ImportError with a long message about a broken installation,
# and an import may catch it), and then interrupted_meanwhile() raises it again.
_ctrl_c: list[int] = []


def _note_ctrl_c(signum: int, frame: object) -> None:
    _ctrl_c.append(signum)
    raise KeyboardInterrupt


def interrupted_meanwhile() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C came and something swallowed it."""
    if _ctrl_c:
        raise KeyboardInterrupt


try:
    import signal
    # (Run as a script only, not imported; and not where Ctrl-C is ignored, as in a shell's `&`.)
    if __name__ == "__main__" and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _note_ctrl_c)
    import argparse
    import asyncio
    import contextlib
    import gc
    import ipaddress
    import json
    import logging
    import multiprocessing.resource_tracker
    import os
    import socket
    import time
    from typing import Any, Iterator

    import pcap
    from optional_packages import optional, require

    with optional():
        import numpy as np
    interrupted_meanwhile()
except (KeyboardInterrupt, ImportError) as e:    # Ctrl-C while importing: as at the end of this file
    if isinstance(e, ImportError) and not _ctrl_c:
        raise
    print("interrupted", file=sys.stderr)
    sys.exit(130)

# The savefile shipped beside the examples.
SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcap")
SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")
Part = tuple[str, int, int]          # path, start, end (start -1: the whole file)
# The columns a part reads: a flow is a packet with addresses and a protocol
# (IPv4, or IPv6 past its extension headers); its ports are null (0 here)
# where it has none: not TCP, UDP or SCTP, a non-first fragment, cut short.
FIELDS = ["ip_version", "protocol", "src", "dst", "src_port", "dst_port"]
BATCH = 1 << 18                      # packets an Arrow batch
MERGE_FAN_IN = 8                     # parts' sums merged by one task


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# A part's flows, and the merge of several, are a dict of numpy arrays, one
# row a flow, sorted by "hash": "keys", the 5-tuples as rows of uint64
# words, "hash" their fingerprints, "packets" and "bytes" (wire lengths)
# int64; and the part's totals of every packet, IP or not.  A 5-tuple is
# 40 bytes, five words ("wide"): the source address (16 bytes: IPv6, or
# IPv4 as ::ffff:a.b.c.d, as the module gives them), the destination, then
# four uint16: dst_port, src_port, protocol, ip_version; or, where every
# flow is IPv4, 16 bytes, two words ("narrow"): the two IPv4 addresses, then
# the same four uint16.  Narrow rows are cheaper to sort, move and merge by
# 2.5 times; a flow's fingerprint is that of its narrow form if it is IPv4,
# so that narrow and wide parts merge (the narrow ones widened).
Flows = dict[str, Any]
WIDE, NARROW = 5, 2


def values(column: Any, dtype: Any, width: int = 1) -> Any:
    """The values buffer of an Arrow column of fixed width, as numpy (no copy)."""
    v = np.frombuffer(column.buffers()[1], dtype)
    return v.reshape(-1, width)[column.offset:column.offset + len(column)] if width > 1 else \
        v[column.offset:column.offset + len(column)]


def valid(column: Any) -> Any:
    """Where an Arrow column has values, as numpy bools, from its validity
    bitmap (column.is_valid() would import pyarrow.compute, and its
    to_numpy() pandas: 0.25 s in a worker's first batch with a null)."""
    bitmap = column.buffers()[0]
    if bitmap is None:
        return np.ones(len(column), bool)
    bits = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little")
    return bits[column.offset:column.offset + len(column)].view(bool)


def key_words(batch: Any) -> tuple[Any, Any]:
    """The 5-tuples of a batch's IP packets, narrow where they are all
    IPv4, and their wire lengths."""
    n = batch.num_rows
    # (Read off the values buffer, nulls' slots included: those hold no 6, or make the rows wide for nothing.)
    width = WIDE if (values(batch.column("ip_version"), np.uint8) == 6).any() else NARROW
    keys = np.empty((n, width), np.uint64)
    as_u16 = keys.view(np.uint16).reshape(n, 4 * width)
    if width == NARROW:                 # (copied as whole uint32 or uint64, not byte by byte)
        as_u32 = keys.view(np.uint32).reshape(n, 4)
        as_u32[:, 0] = values(batch.column("src"), np.uint32, 4)[:, 3]
        as_u32[:, 1] = values(batch.column("dst"), np.uint32, 4)[:, 3]
    else:
        keys[:, 0:2] = values(batch.column("src"), np.uint64, 2)
        keys[:, 2:4] = values(batch.column("dst"), np.uint64, 2)
    for slot, name, dtype in ((0, "dst_port", np.uint16), (1, "src_port", np.uint16),
                              (2, "protocol", np.uint8), (3, "ip_version", np.uint8)):
        column = batch.column(name)
        v = values(column, dtype)
        as_u16[:, 4 * width - 4 + slot] = v if not column.null_count else \
            np.where(valid(column), v, 0)
    wire = values(batch.column("wirelen"), np.uint32).copy()     # (the batch's buffers are let go)
    protocol = batch.column("protocol")
    if protocol.null_count:             # not IP (or IPv6 cut short in its extension headers): no flow
        ip = valid(protocol)
        return np.compress(ip, keys, axis=0), wire[ip]
    return keys, wire


def widen(keys: Any) -> Any:
    """Narrow rows (IPv4) as wide ones."""
    if keys.shape[1] == WIDE:
        return keys
    n = len(keys)
    wide = np.zeros((n, WIDE), np.uint64)
    w, k = wide.view(np.uint8).reshape(n, 40), keys.view(np.uint8).reshape(n, 16)
    w[:, 10:12] = w[:, 26:28] = 0xFF
    w[:, 12:16], w[:, 28:32], w[:, 32:40] = k[:, 0:4], k[:, 4:8], k[:, 8:16]
    return wide


_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)   # splitmix64's


def fingerprint(keys: Any) -> Any:
    """A 64-bit hash of each 5-tuple (multiply and xor-shift over its
    words): of the narrow form of an IPv4 flow, whatever its rows' width."""
    if keys.shape[1] == WIDE:
        ipv4 = keys.view(np.uint16)[:, 4 * WIDE - 1] == 4
        if ipv4.any():
            n = len(keys)
            narrow = np.empty((n, NARROW), np.uint64)
            k, w = narrow.view(np.uint8).reshape(n, 16), keys.view(np.uint8).reshape(n, 40)
            k[:, 0:4], k[:, 4:8], k[:, 8:16] = w[:, 12:16], w[:, 28:32], w[:, 32:40]
            return np.where(ipv4, _words_hash(narrow), _words_hash(keys))
    return _words_hash(keys)


def _words_hash(keys: Any) -> Any:
    mix = [np.uint64(m) for m in _MIX]
    h = keys[:, 0] * mix[0]
    for j in range(1, keys.shape[1]):
        h ^= h >> np.uint64(31)
        h = (h ^ keys[:, j]) * mix[1 + j % 2]
    return h ^ (h >> np.uint64(29))


# The 16-bit digits of a fingerprint's top 32 bits, in a uint16 view of it: bits 32-47, then 48-63;
# and its top 32 bits in a uint32 view.
DIGITS, TOP_HALF = ((2, 3), 1) if sys.byteorder == "little" else ((1, 0), 0)


def radix_order(hashes: Any) -> tuple[Any, Any]:
    """The order that sorts fingerprints in no order, and the fingerprints
    in it: two passes of numpy's radix sort (its stable sort of 16-bit
    numbers) on the top 32 bits, then the rows whose top 32 bits tie sorted
    by all 64 (about a hundred in a million rows).  Half the time of
    argsort() of the 64 bits."""
    digits = hashes.view(np.uint16).reshape(-1, 4)
    order = np.argsort(digits[:, DIGITS[0]], kind="stable")
    order = order[np.argsort(digits[:, DIGITS[1]][order], kind="stable")]
    in_order = hashes[order]
    top = in_order.view(np.uint32)[TOP_HALF::2]       # (the top 32 bits, compared without a shifted copy)
    tie = top[1:] == top[:-1]
    if tie.any():
        rows = np.flatnonzero(np.concatenate(([False], tie)) | np.concatenate((tie, [False])))
        within = np.argsort(in_order[rows], kind="stable")
        order[rows], in_order[rows] = order[rows][within], in_order[rows][within]
    return order, in_order


def sum_flows(keys: Any, hashes: Any, packets: Any | None, nbytes: Any, runs: bool = False) -> Flows:
    """Rows of 5-tuples summed per 5-tuple, sorted by fingerprint (packets
    None: a packet a row).  Rows that are sorted runs (``runs``: the parts'
    sums a merge concatenates) are sorted by numpy's stable sort, a timsort,
    which merges runs in a fraction of the time of a sort; others by
    radix_order().  The rows of each fingerprint are checked to be one
    5-tuple."""
    if runs:
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
    else:
        order, hashes = radix_order(hashes)
    sorted_keys = np.take(keys, order, axis=0)     # (rows gathered by np.take: 5 times faster than keys[order])
    same = hashes[1:] == hashes[:-1]              # row i + 1 in the group of row i
    if not same.any():                            # a flow a row: nothing to add up
        return {"keys": sorted_keys, "hash": hashes, "bytes": nbytes[order].astype(np.int64, copy=False),
                "packets": np.ones(len(hashes), np.int64) if packets is None else packets[order]}
    for j in range(keys.shape[1]):                # ... and holding the same 5-tuple?
        if not (sorted_keys[1:, j] == sorted_keys[:-1, j])[same].all():
            return sum_flows_exactly(keys, hashes[np.argsort(order)],
                                     np.ones(len(hashes), np.int64) if packets is None else packets, nbytes)
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    return {"keys": np.take(sorted_keys, starts, axis=0), "hash": hashes[starts],
            "packets": np.diff(starts, append=len(hashes)) if packets is None else np.add.reduceat(packets[order], starts),
            "bytes": np.add.reduceat(nbytes[order], starts, dtype=np.int64)}


def sum_flows_exactly(keys: Any, hashes: Any, packets: Any, nbytes: Any) -> Flows:
    """sum_flows() for rows where two 5-tuples share a fingerprint (about
    once in 10**7 runs of ten million flows): grouped by the whole 5-tuple."""
    rows = np.ascontiguousarray(keys).view([(f"w{j}", np.uint64) for j in range(keys.shape[1])]).ravel()
    uniq, inverse = np.unique(rows, return_inverse=True)
    inverse = inverse.ravel()
    first = np.zeros(len(uniq), np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    out_hash = hashes[first]
    order = np.argsort(out_hash, kind="stable")
    return {"keys": np.take(keys, first[order], axis=0), "hash": out_hash[order],
            "packets": np.bincount(inverse, packets, len(uniq)).astype(np.int64)[order],
            "bytes": np.bincount(inverse, nbytes, len(uniq)).astype(np.int64)[order]}


def concat_keys(keys: list[Any]) -> Any:
    """Rows of 5-tuples one after the other: narrow if all are."""
    if len({k.shape[1] for k in keys}) > 1:
        keys = [widen(k) for k in keys]
    return np.concatenate(keys) if keys else np.zeros((0, NARROW), np.uint64)


def read_part(part: Part) -> Flows:
    """The flows of one part, and its totals ("total_packets",
    "total_bytes": every packet, IP or not)."""
    path, start, end = part
    handle = pcap.pcap(path) if start < 0 else pcap.open_range(path, start, end)
    keys, nbytes = [], []
    packets = wire_bytes = 0
    with handle as p:
        for batch in p.arrow_batches(BATCH, fields=FIELDS, data=False):
            wire = values(batch.column("wirelen"), np.uint32)
            packets += len(wire)
            wire_bytes += int(wire.sum(dtype=np.int64))
            k, w = key_words(batch)
            keys.append(k)
            nbytes.append(w)
    all_keys = concat_keys(keys)
    all_bytes = np.concatenate(nbytes) if nbytes else np.zeros(0, np.uint32)
    flows = sum_flows(all_keys, fingerprint(all_keys), None, all_bytes)
    return flows | {"total_packets": packets, "total_bytes": wire_bytes}


def merge(parts: list[Flows]) -> Flows:
    """The sums of several parts as one: by adding one part's sums into
    another's where most of their flows are the same (captures of the same
    long flows, one file after the other), else by sorting them all
    together."""
    totals = {"total_packets": sum(p["total_packets"] for p in parts),
              "total_bytes": sum(p["total_bytes"] for p in parts)}
    if len(parts) > 1 and shared(parts[0], parts[1]) >= 0.5:
        while len(parts) > 1:
            parts = [add_into(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                     for i in range(0, len(parts), 2)]
        return parts[0] | totals
    hashes, packets, nbytes = (np.concatenate([p[k] for p in parts]) for k in ("hash", "packets", "bytes"))
    return sum_flows(concat_keys([p["keys"] for p in parts]), hashes, packets, nbytes, runs=True) | totals


def shared(a: Flows, b: Flows) -> float:
    """About which fraction of b's flows a has too (from up to 1,000 of them)."""
    sample = b["hash"][::max(1, len(b["hash"]) // 1000)]
    if not len(sample) or not len(a["hash"]):
        return 0.0
    at = np.minimum(np.searchsorted(a["hash"], sample), len(a["hash"]) - 1)
    return float((a["hash"][at] == sample).mean())


def add_into(a: Flows, b: Flows) -> Flows:
    """The sums of two parts: b's flows found in a (np.searchsorted of the
    sorted fingerprints, the 5-tuples checked) added to a's, the others
    inserted where they sort."""
    at: Any = np.searchsorted(a["hash"], b["hash"])
    found: Any = at < len(a["hash"])
    found[found] = a["hash"][at[found]] == b["hash"][found]
    a_keys, b_keys = (widen(a["keys"]), widen(b["keys"])) if a["keys"].shape[1] != b["keys"].shape[1] \
        else (a["keys"], b["keys"])
    everywhere = bool(found.all())       # (b's flows all in a: no gather of b's rows, nothing to insert)
    ia: Any = at if everywhere else at[found]
    ib: Any = slice(None) if everywhere else np.flatnonzero(found)
    b_found = b_keys if everywhere else np.take(b_keys, ib, axis=0)
    if not (np.take(a_keys, ia, axis=0) == b_found).all():      # a fingerprint of two 5-tuples: sum them all again
        return sum_flows(concat_keys([a_keys, b_keys]), np.concatenate([a["hash"], b["hash"]]),
                         np.concatenate([a["packets"], b["packets"]]), np.concatenate([a["bytes"], b["bytes"]]))
    packets, nbytes = a["packets"].copy(), a["bytes"].copy()
    packets[ia] += b["packets"][ib]
    nbytes[ia] += b["bytes"][ib]
    if everywhere:
        return {"keys": a_keys, "hash": a["hash"], "packets": packets, "bytes": nbytes}
    new, where = ~found, at[~found]
    return {"keys": np.insert(a_keys, where, np.compress(new, b_keys, axis=0), axis=0), "hash": np.insert(a["hash"], where, b["hash"][new]),
            "packets": np.insert(packets, where, b["packets"][new]), "bytes": np.insert(nbytes, where, b["bytes"][new])}


def top_flows(flows: Flows, top: int) -> list[tuple[int, str, int, str, int, int, int]]:
    """The top flows by bytes (of summary()'s candidates), ties in the
    order of the 5-tuple with its addresses as text; only those flows
    become text where the rows are IPv4 (thousands may tie for the last
    places: every flow of the bench's files is as big as the next)."""
    keys, packets, nbytes = flows["keys"], flows["packets"], flows["bytes"]
    if keys.shape[1] == NARROW and len(keys) > top:
        # Each octet's rank in the order of octets as text ("1" < "10" < "100" < "2"): IPv4
        # addresses ordered by their octets' ranks, octet after octet, are in the order of their text.
        rank = np.argsort(np.argsort(np.array([str(i) for i in range(256)])))
        octets = rank[keys.view(np.uint8).reshape(-1, 16)[:, 0:8]]
        dport, sport, proto = (keys.view(np.uint16).reshape(-1, 8)[:, i] for i in (4, 5, 6))
        # (np.lexsort sorts by its last key first)
        order = np.lexsort((dport, *octets[:, 7:3:-1].T, sport, *octets[:, 3::-1].T, proto, -nbytes))[:top]
        keys, packets, nbytes = keys[order], packets[order], nbytes[order]
    rows = [(*t, n, b) for t, n, b in zip(five_tuples(keys), packets.tolist(), nbytes.tolist())]
    return sorted(rows, key=lambda r: (-r[6], r[0], r[1], r[2], r[3], r[4]))[:top]


def five_tuples(keys: Any) -> list[tuple[int, str, int, str, int]]:
    """(protocol, source, source port, destination, destination port) of
    each row of keys, the addresses as text (IPv4 and IPv4-mapped IPv6 as
    dotted quads, by socket.inet_ntoa: ten times quicker than ipaddress for
    the thousands of flows that can tie for the last places of the top)."""
    ports = keys[:, -1:].view(np.uint16).tolist()          # dst_port, src_port, protocol, ip_version
    raw = keys.tobytes()
    size = keys.shape[1] * 8
    out = []
    for i, (dport, sport, proto, _) in enumerate(ports):
        row = raw[i * size:(i + 1) * size]
        if size == 8 * NARROW:
            out.append((proto, socket.inet_ntoa(row[0:4]), sport, socket.inet_ntoa(row[4:8]), dport))
        else:
            out.append((proto, address_text(row[0:16]), sport, address_text(row[16:32]), dport))
    return out


def address_text(raw: bytes) -> str:
    """A 16-byte address as text: dotted where it is IPv4 (::ffff:a.b.c.d)."""
    return socket.inet_ntoa(raw[12:16]) if raw[:12] == IPV4_MAPPED else str(ipaddress.IPv6Address(raw))


IPV4_MAPPED = bytes(10) + b"\xff\xff"


def parts_of(paths: list[str], split: int) -> tuple[list[Part], int]:
    """The parts of the files and folders given; OSError for a path that
    is not there."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(SUFFIXES))
        else:
            os.stat(path)               # (not there: said before a part is read, also with --split)
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


def read_group(parts: list[Part]) -> Flows:
    """The flows of several parts, read one after the other and merged
    here: no part's sums go to another process."""
    flows = read_part(parts[0])
    for part in parts[1:]:
        flows = merge([flows, read_part(part)])
    return flows


def groups_of(parts: list[Part], workers: int) -> list[list[Part]]:
    """The parts in about two groups a worker (one task each, so that a
    worker that finishes early takes another), the largest parts first to
    the group with the fewest bytes."""
    def size(part: Part) -> int:
        return part[2] - part[1] if part[1] >= 0 else os.path.getsize(part[0])
    count = min(len(parts), 2 * workers)
    groups: list[list[Part]] = [[] for _ in range(count)]
    load = [0] * count
    for part in sorted(parts, key=size, reverse=True):
        i = load.index(min(load))
        groups[i].append(part)
        load[i] += size(part)
    return groups


def summary(flows: Flows, top: int) -> Flows:
    """What the report needs of the merged flows, made where they are: the
    totals, how many flows, and the flows that can be among the top ones
    by bytes (not the million others)."""
    nbytes = flows["bytes"]
    cut = int(np.partition(nbytes, len(nbytes) - top)[len(nbytes) - top]) if 0 < top <= len(nbytes) else 0
    candidates = np.flatnonzero(nbytes >= cut) if top else np.zeros(0, np.int64)
    return {"total_packets": flows["total_packets"], "total_bytes": flows["total_bytes"], "flows": len(nbytes),
            "keys": flows["keys"][candidates], "packets": flows["packets"][candidates], "bytes": nbytes[candidates]}


def run(parts: list[Part], scheduler: str, workers: int, top: int,
        processes: bool = False) -> tuple[Flows, str, float]:
    """The summary() of the merged flows of every part, where they were
    computed, and the seconds the computation took (the cluster started)."""
    from dask import delayed  # type: ignore[attr-defined]
    interrupted_meanwhile()
    tasks = [delayed(read_group)(group) for group in groups_of(parts, workers)]
    # A tree of merges, MERGE_FAN_IN groups' sums a task; two a task where the workers are threads
    # here: sums pass to them by reference, and both threads merge at once.
    fan_in = 2 if not scheduler and not processes else MERGE_FAN_IN
    while len(tasks) > 1:
        tasks = [delayed(merge)(tasks[i:i + fan_in]) if len(tasks[i:i + fan_in]) > 1 else tasks[i]
                 for i in range(0, len(tasks), fan_in)]
    graph = delayed(summary)(tasks[0], top)
    if scheduler == "synchronous":
        t0 = time.perf_counter()
        return graph.compute(scheduler="synchronous"), "the synchronous scheduler", time.perf_counter() - t0
    from dask.distributed import Client, LocalCluster
    interrupted_meanwhile()
    if scheduler:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            t0 = time.perf_counter()
            return client.compute(graph).result(), f"the cluster at {scheduler}", time.perf_counter() - t0
    # A terminal's Ctrl-C sends SIGINT to the worker processes too, which would print tracebacks.  New
    # threads and processes start with the signal mask of the thread that starts them: SIGINT blocked
    # while the cluster starts, the workers never get it.  Blocked also while the cluster shuts down,
    # so that a Ctrl-C cannot cut that short; a Ctrl-C meanwhile is raised when the block ends.
    import dask
    options: dict[str, Any] = {}
    if processes:
        multiprocessing.resource_tracker.ensure_running()    # (it unblocks SIGINT when it starts)
        # Dask starts its workers with MALLOC_TRIM_THRESHOLD_ set, and setting it turns glibc's dynamic
        # mmap threshold off: every batch's buffers (over 128 KiB) are then mapped afresh and their pages
        # faulted in one by one, which made a worker 40% slower than the same tasks here.  Our workers
        # keep glibc's default.  They import what the tasks need as they start (preload), not in their
        # first task.
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        options = {"distributed.nanny.pre-spawn-environ": environ}
    # No dashboard; the scheduler's HTTP server (health, metrics) on a free port rather than on 8787,
    # which may be taken (a warning on stderr).  Worker logs silenced: a task's error is raised here.
    with ctrl_c(signal.SIG_BLOCK), dask.config.set(options), quiet("distributed"), contextlib.ExitStack() as stack:
        cluster = stack.enter_context(LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.CRITICAL,
            preload=["numpy", "pyarrow", "pcap"] if processes else []))
        client = stack.enter_context(Client(cluster))  # type: ignore[no-untyped-call]
        if not processes:
            stack.callback(close_without_waiting, cluster)
        with ctrl_c(signal.SIG_UNBLOCK):
            t0 = time.perf_counter()
            where = f"a LocalCluster of {plural(workers, 'worker process' if processes else 'worker thread')}"
            return client.compute(graph).result(), where, time.perf_counter() - t0


@contextlib.contextmanager
def quiet(logger: str) -> Iterator[None]:
    """A logger's records dropped until the block ends, the cluster's shutdown included (a worker
    thread closed under a running task logs its closed connection after LocalCluster's
    silence_logs has ended)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        log.setLevel(level)


def close_without_waiting(cluster: Any) -> None:
    """Close a LocalCluster's worker threads without waiting for the tasks
    they run: after a Ctrl-C or a task's error the others may run on for
    long, or for ever (one reading a FIFO that nobody writes to), and a
    thread cannot be stopped.  (Worker processes are ended by their nanny.)"""
    async def close() -> None:
        await asyncio.gather(*(w.close(executor_wait=False) for w in list(cluster.workers.values())))
    cluster.sync(close)


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
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster workers (default 2)")
    ap.add_argument("--processes", action="store_true",
                    help="the LocalCluster's workers in processes of their own, not threads of this one")
    ap.add_argument("--scheduler", default="", help="tcp://HOST:8786 for a running cluster, or synchronous")
    ap.add_argument("--top", type=int, default=10, help="how many flows to list (default 10)")
    ap.add_argument("--json", action="store_true", help="print one line of JSON")
    ap.add_argument("--time", action="store_true",
                    help="with --json: also the seconds of the computation, the cluster started (\"seconds\")")
    args = ap.parse_args(argv)
    if args.split < 1 or args.workers < 1 or args.top < 0:
        ap.error("--split and --workers must be at least 1, --top at least 0")
    require("numpy", "pyarrow", "dask", *([] if args.scheduler == "synchronous" else ["distributed"]))

    try:
        parts, nfiles = parts_of(args.paths, args.split)
        if not parts:
            print(f"dask_flows: no savefiles ({', '.join('*' + s for s in SUFFIXES)}) in {' '.join(args.paths)}",
                  file=sys.stderr)
            return 1
        flows, where, seconds = run(parts, args.scheduler, args.workers, args.top, args.processes)
    except pcap.PcapError as e:
        print(f"dask_flows: {e}", file=sys.stderr)
        return 1
    except OSError as e:                # a path that is not there or cannot be read (here or on a worker)
        if e.filename is None:          # (not a file's: a connection of the cluster, say)
            raise
        print(f"dask_flows: cannot open '{e.filename}': {e.strerror}", file=sys.stderr)
        return 1
    packets, wire, count = flows["total_packets"], flows["total_bytes"], flows["flows"]
    top = top_flows(flows, args.top)
    if args.json:
        out = {"packets": packets, "bytes": wire, "flows": count, "top": top}
        if args.time:
            out["seconds"] = round(seconds, 4)
        print(json.dumps(out))
        return 0
    print(f"{plural(len(parts), 'part')} from {plural(nfiles, 'file')} on {where}")
    print(f"{plural(packets, 'packet')}, {plural(wire, 'byte')} on the wire, {plural(count, 'IP flow')}")
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
    # Every object the collector tracks (some 68,000: most of them the modules, classes and functions
    # of Dask, distributed, numpy and pyarrow) moved out of its sight: the interpreter's exit, whose
    # collections walked them all for little garbage, took 80-250 ms after the report of the
    # 2-worker command (of 2-2.7 s), and 20-60 ms with this.  (Nothing here needs a finalizer at exit.)
    gc.freeze()
    sys.exit(status)
