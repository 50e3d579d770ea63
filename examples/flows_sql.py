#!/usr/bin/env python3
"""Bytes and packets per IPv4/IPv6 5-tuple, and the top talkers, in SQL:
DuckDB over the module's Arrow batches.

The savefiles are read with p.arrow_batches(fields=[...], data=False,
addresses="text"): the module parses the headers in C as it reads and
hands over Arrow columns (addresses as text, protocol, ports, and with
--community-id the flow's Community ID), without the packets' bytes.
DuckDB scans those batches as they come, through a
pyarrow.RecordBatchReader: no copy of the columns in Python, and never
more than a batch in memory beside DuckDB's own.  One GROUP BY makes the
flows (a temporary table); the totals, the top flows and the top talkers
(source addresses by bytes sent) are queries of it.

    flows_sql.py                                  examples/sample.pcap
    flows_sql.py a.pcap b.pcapng --top 5          several savefiles, one query
    flows_sql.py capture.pcap --community-id      with each flow's Community ID
    flows_sql.py capture.pcap --json              one line of JSON
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from typing import Any, Iterator

import pcap
from optional_packages import optional, require

with optional():
    import pyarrow as pa  # type: ignore[import-untyped]
with optional():
    import duckdb

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcap")
FIELDS = ["ip_version", "protocol", "src", "dst", "src_port", "dst_port"]

# A flow is a packet with addresses and a protocol; its ports are 0 where
# it has none (not TCP, UDP or SCTP; a non-first fragment; cut short).
# Packets that are not IP stay in the totals, in the group of NULL protocol.
FLOWS = """
CREATE TEMP TABLE flows AS
SELECT ip_version, protocol, src, coalesce(src_port, 0) AS src_port, dst, coalesce(dst_port, 0) AS dst_port,
       {community_id} count(*) AS packets, sum(wirelen) AS bytes
FROM packets
GROUP BY ALL
"""
TOTALS = """
SELECT sum(packets), sum(bytes), count(*) FILTER (WHERE protocol IS NOT NULL) FROM flows
"""
TOP_FLOWS = """
SELECT protocol, src, src_port, dst, dst_port, packets, bytes {community_id}
FROM flows WHERE protocol IS NOT NULL
ORDER BY bytes DESC, protocol, src, src_port, dst, dst_port
LIMIT ?
"""
TOP_TALKERS = """
SELECT src, sum(packets) AS packets, sum(bytes) AS bytes, count(*) AS flows
FROM flows WHERE protocol IS NOT NULL
GROUP BY src
ORDER BY bytes DESC, src
LIMIT ?
"""

PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}   # IP protocol numbers; others print as numbers


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def packets_of(paths: list[str], community_id: bool, errors: list[pcap.PcapError]) -> Any:
    """One pyarrow.RecordBatchReader over the flow columns of every file:
    the wire length and the fields, selected (a pcapng file's batches
    have interface columns too) and without the schema's metadata, which
    names each file, so that the batches of every file are of one schema.
    A file that cannot be read ends the stream, its error in ``errors``
    (raised inside DuckDB's scan it would come out as DuckDB's error)."""
    fields = FIELDS + (["community_id"] if community_id else [])
    columns = ["wirelen", *fields]

    def batches() -> Iterator[Any]:
        try:
            for path in paths:
                with pcap.pcap(path) as p:
                    for batch in p.arrow_batches(fields=fields, data=False, addresses="text"):
                        yield batch.select(columns).replace_schema_metadata(None)
        except pcap.PcapError as e:
            errors.append(e)

    them = batches()
    first = next(them, None)
    if first is None:                   # no packet in any file: the columns of an empty table
        with pcap.pcap(paths[0]) as p:
            schema = p.to_arrow(fields=fields, data=False, addresses="text").select(columns).schema
        return pa.RecordBatchReader.from_batches(schema.remove_metadata(), [])
    return pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], them))


def flows(paths: list[str], top: int, community_id: bool) -> dict[str, Any]:
    """The totals, the top flows and the top talkers of the savefiles."""
    errors: list[pcap.PcapError] = []
    con = duckdb.connect()
    con.register("packets", packets_of(paths, community_id, errors))
    # (any_value: every packet of a flow has the same Community ID, or none.)
    con.execute(FLOWS.format(community_id="any_value(community_id) AS community_id," if community_id else ""))
    if errors:
        raise errors[0]
    packets, nbytes, nflows = con.execute(TOTALS).fetchone() or (0, 0, 0)
    top_flows = con.execute(TOP_FLOWS.format(community_id=", community_id" if community_id else ""),
                            [top]).fetchall()
    talkers = con.execute(TOP_TALKERS, [top]).fetchall()
    con.close()
    return {"packets": int(packets or 0), "bytes": int(nbytes or 0), "flows": int(nflows or 0),
            "top": [list(r) for r in top_flows], "talkers": [list(r) for r in talkers]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Bytes and packets per 5-tuple, and the top talkers, "
                                             "in SQL (DuckDB) over the Arrow batches of savefiles.")
    ap.add_argument("paths", nargs="*", default=[SAMPLE], help="savefiles (default: examples/sample.pcap)")
    ap.add_argument("--top", type=int, default=10, help="how many flows and talkers to list (default 10)")
    ap.add_argument("--community-id", action="store_true", help="each flow's Community ID (v1, seed 0) too")
    ap.add_argument("--json", action="store_true", help="print one line of JSON")
    args = ap.parse_args(argv)
    if args.top < 0:
        ap.error("--top must be at least 0")
    require("pyarrow", "duckdb")
    try:
        result = flows(args.paths, args.top, args.community_id)
    except pcap.PcapError as e:
        print(f"flows_sql: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{plural(len(args.paths), 'file')}: {plural(result['packets'], 'packet')}, "
          f"{plural(result['bytes'], 'byte')} on the wire, {plural(result['flows'], 'IP flow')}")
    print(f"top {plural(args.top, 'flow')} by bytes:")
    for proto, src, sport, dst, dport, n, b, *cid in result["top"]:
        print(f"  {PROTOCOLS.get(proto, str(proto))} {endpoint(src, sport)} > {endpoint(dst, dport)}  "
              f"packets {n}  bytes {b}" + (f"  {cid[0] or '-'}" if cid else ""))
    print(f"top {plural(args.top, 'talker')} by bytes sent:")
    for src, n, b, nflows in result["talkers"]:
        print(f"  {src}  packets {n}  bytes {b}  {plural(nflows, 'flow')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
