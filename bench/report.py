"""The report of the benchmark (bench/README.md): summaries of the rounds,
the Markdown tables, the targets, and the head of RESULTS.md.  Every figure
comes from the measurements of the same run (measure.py)."""
import datetime
import json
import statistics

import gen
import triage_tasks
from environment import PEERS
from measure import DASK_FILES, LIVE_PAYLOAD
from rows import (FIELDS_READERS, FORMAT_READERS, LARGE_READERS, LIVE_CONFIGS, PCAPNG_READERS, SMALL_READERS,
                  TRIAGE_READERS, WRITE_READERS)


def fmt_rate(r):
    if r is None:
        return "–"
    if r >= 1e6:
        return f"{r / 1e6:.2f} M"
    return f"{r / 1e3:.0f} k"


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}"


def fmt_mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f}"


def median(xs):
    return statistics.median(xs) if xs else None


def peak_rss(res):
    """Peak RSS in KiB: the child's VmHWM.  ru_maxrss from wait4 is the
    fallback only: Linux carries the high-water mark of the forked image of
    this (bench) process over exec, so it never reads below our own RSS."""
    hwm = res.get("hwm_kib")
    return hwm if isinstance(hwm, int) and hwm > 0 else res["maxrss_kib"]


class Summary:
    """Medians and checks of one reader over the rounds."""

    def __init__(self, reader, runs, meta):
        self.reader = reader
        self.runs = runs
        self.errors = [r["error"] for r in runs if "error" in r]
        ok_runs = [r for r in runs if "error" not in r]
        file_packets = meta["packets"]
        self.rates = [file_packets / r["elapsed"] for r in ok_runs if reader.rate and r["elapsed"] > 0]
        self.rate = median(self.rates)
        self.rss = median([peak_rss(r) for r in runs])
        want = ((meta["filter_packets"], meta["filter_bytes"]) if reader.filtered
                else tuple(meta["triage"][reader.task]) if reader.task
                else (meta["packets"], meta["bytes"]))
        bad = []
        for r in ok_runs:
            got_bytes = r.get("bytes")
            if reader.rate and (r["packets"] != want[0] or (got_bytes is not None and got_bytes != want[1])):
                bad.append(f"{r['packets']:,} packets / "
                           f"{'–' if got_bytes is None else format(got_bytes, ',')} bytes")
            # Packets per pcapng interface, from the readers that see them.
            if reader.rate and "interfaces" in r and r["interfaces"] != meta.get("interfaces"):
                bad.append(f"packets per interface {r['interfaces']} (the file has {meta.get('interfaces')})")
            # The sums of the header fields, from the fields readers.
            if reader.fields:
                want_fields = {k: (meta.get("fields") or {}).get(k) for k in reader.fields}
                got_fields = {k: (r.get("fields") or {}).get(k) for k in reader.fields}
                for k in reader.fields:
                    if got_fields[k] != want_fields[k]:
                        bad.append(f"{k} {got_fields[k]} (the file's: {want_fields[k]})")
        self.bad = bad
        self.count_only = any(r.get("bytes") is None for r in ok_runs)

    @property
    def ok(self):
        return not self.errors and not self.bad and bool(self.runs)

    def correctness(self):
        if not self.runs:
            return "not run"
        if self.errors:
            return "FAILED: " + self.errors[0].splitlines()[-1][:120]
        if not self.reader.rate:
            return "–"
        if self.bad:
            return "MISMATCH: " + "; ".join(sorted(set(self.bad)))
        what = "matches" if self.reader.filtered or self.reader.task else "ok"
        if any("interfaces" in r for r in self.runs):
            what += " (and per interface)"
        if self.reader.fields:
            return what + " (every field's sum)"
        return what + (" (count; no byte sum)" if self.count_only else "")


def memory_table(summaries, missing):
    rows = [("ours", "small:ours_import", "small:ours_iter", "small:ours_readpkts"),
            ("pypcap", "small:pypcap_import", "small:pypcap_iter", "small:pypcap_readpkts")]
    lines = ["| module | import only (interpreter's own) MiB | iteration MiB | iteration over import | `readpkts()` MiB |",
             "|---|---:|---:|---:|---:|"]
    for name, imp, it, rp in rows:
        if name in missing:
            lines.append(f"| {name} | – | – | – | – |")
            continue
        a, b, c = summaries.get(imp), summaries.get(it), summaries.get(rp)
        if a is None or b is None:
            continue
        lines.append(f"| {name} | {fmt_mib(a.rss)} | {fmt_mib(b.rss)} | {(b.rss - a.rss) / 1024:+.1f} | "
                     f"{fmt_mib(c.rss) if c else '–'} |")
    return "\n".join(lines)


class LiveSummary:
    def __init__(self, runs):
        self.runs = runs
        self.skips = [r["skip"] for r in runs if "skip" in r]
        self.errors = [r["error"] for r in runs if "error" in r]
        ok = [r for r in runs if "error" not in r and "skip" not in r]
        self.ok_runs = ok
        self.received = [r["received"] for r in ok]
        self.sent = [r["sent"] for r in ok]
        self.drops = [r["ps_drop"] for r in ok]
        self.cpu_per_pkt = [r["cpu"] / r["received"] for r in ok if r["received"]]
        self.send_rate = [r["sent"] / r["send_elapsed"] for r in ok if r.get("send_elapsed")]


def fmt_list(xs, f=lambda x: f"{x:,}"):
    return ", ".join(f(x) for x in xs) if xs else "–"


def live_table(live, missing):
    lines = ["| capture on lo | sent | received (median; each round) | kernel drops (median; each round) | "
             "CPU µs per packet (median; min–max) | sender datagrams/s (median) |",
             "|---|---:|---|---|---|---:|"]
    for key, label, impl, _, opts in LIVE_CONFIGS:
        if opts.get("multi"):
            continue
        if impl in missing:
            lines.append(f"| {label} | – | not installed | – | – | – |")
            continue
        s = live.get(key)
        if s is None:
            continue
        if not s.ok_runs:
            lines.append(f"| {label} | – | FAILED: {s.errors[0].splitlines()[-1][:100] if s.errors else '?'} | – | – | – |")
            continue
        cpu = [x * 1e6 for x in s.cpu_per_pkt]
        lines.append(
            f"| {label} | {median(s.sent):,.0f} | {median(s.received):,.0f} ({fmt_list(s.received)}) | "
            f"{median(s.drops):,.0f} ({fmt_list(s.drops)}) | "
            f"{median(cpu):.3f} ({min(cpu):.3f}–{max(cpu):.3f}) | {fmt_rate(median(s.send_rate))} |"
            + (f" {len(s.errors)} round(s) failed: {s.errors[0][:80]}" if s.errors else ""))
    return "\n".join(lines)


def dask_table(dask, packets):
    lines = ["| run | files × packets | wall s (median; each round) | packets/s | computation s (median) | "
             "packets/s of the computation, per worker | same result |", "|---|---:|---|---:|---:|---:|---|"]
    by_files = {}
    for label, rec in dask.items():
        for r in rec["results"]:
            by_files.setdefault(rec["files"], []).append(json.dumps(r, sort_keys=True))
    one = [json.loads(x) for x in by_files.get(1, [])]
    for label, rec in dask.items():
        if not rec["walls"]:
            lines.append(f"| {label} | – | FAILED: {rec['errors'][0][:100] if rec['errors'] else '?'} | – | – | – | – |")
            continue
        same = len(set(by_files[rec["files"]])) == 1
        if rec["files"] > 1 and one:
            same = same and all(r["packets"] == rec["files"] * one[0]["packets"] and
                                r["bytes"] == rec["files"] * one[0]["bytes"] for r in rec["results"])
        w = median(rec["walls"])
        c = median(rec.get("seconds") or [])
        per_worker = fmt_rate(rec["files"] * packets / c / rec.get("workers", 1)) if c else "–"
        lines.append(f"| {label} | {rec['files']} × {packets:,} | {w:.2f} ({', '.join(f'{x:.2f}' for x in rec['walls'])}) | "
                     f"{fmt_rate(rec['files'] * packets / w)} | {f'{c:.2f}' if c else '–'} | {per_worker} | "
                     f"{'yes' if same else 'NO'} |")
    lines.append("")
    lines.append("Wall time of the whole command, from its start (imports, the LocalCluster's start-up included) to "
                 "its report; the computation: from the graph's submission to its result (the cluster started), "
                 "as the example reports it (`--time`); \"same result\": every run of a variant printed the same "
                 f"totals and top flows, and the {DASK_FILES}-file runs {DASK_FILES} times the packets and bytes of "
                 "the one file. The workers are threads of the example's process, as it runs by default, but in "
                 "the `--processes` row; the targets' rows are the default's.")
    return "\n".join(lines)


def dask_target_rows(dask, packets):
    """dask_flows.py: at least 3 M packets/s per worker (issue 22), by the wall time of the whole
    command and by that of the computation."""
    rows = []
    for label, rec in (dask or {}).items():
        if rec["files"] != DASK_FILES or not rec["walls"] or not rec.get("target", True):
            continue
        n, workers = rec["files"] * packets, rec.get("workers", 1)
        for what, t in (("whole command", median(rec["walls"])), ("computation", median(rec.get("seconds") or []))):
            if not t:
                continue
            r = n / t / workers
            rows.append((f"`dask_flows.py`, {label}, {what}", f"{fmt_rate(r)} packets/s per worker",
                         "≥ 3 M packets/s per worker", "met" if r >= 3e6 else "MISSED"))
    return rows


def escape_cell_pipes(markdown):
    """A '|' inside `code` in a table row ends the cell (on GitHub and in
    Sphinx alike): write it as '\\|' there."""
    def row(line):
        if not line.startswith("|"):
            return line
        parts = line.split("`")
        return "`".join(p.replace("|", "\\|") if i % 2 else p for i, p in enumerate(parts))
    return "\n".join(row(line) for line in markdown.split("\n"))


def file_table(readers, summaries, ratios, missing, no_file):
    """A table of readers of files: packets/s, one column per ``ratios``
    entry (header, function of a Reader giving the id of the row it is
    compared with), peak RSS, correctness.  ``no_file``: the ids of the
    readers that did not run because their file could not be made."""
    lines = ["| reader | median packets/s | min | max | " + " | ".join(h for h, _ in ratios)
             + " | peak RSS MiB | correct |",
             "|---|---:|---:|---:|" + "---:|" * len(ratios) + "---:|---|"]
    for rd in (r for r in readers if r.rate):
        s = summaries.get(rd.id)
        why = ("not installed (see below)" if rd.impl in missing else
               "file not made (see below)" if rd.id in no_file else None)
        if why:
            lines.append(f"| {rd.label} | – | – | – |" + " – |" * len(ratios) + f" – | {why} |")
            continue
        if s is None:
            continue
        cells = [fmt_ratio(rate_ratio(s, summaries.get(base(rd)))) for _, base in ratios]
        lines.append(f"| {rd.label} | {fmt_rate(s.rate)} | {fmt_rate(min(s.rates) if s.rates else None)} | "
                     f"{fmt_rate(max(s.rates) if s.rates else None)} | {' | '.join(cells)} | "
                     f"{fmt_mib(s.rss)} | {s.correctness()} |")
    return "\n".join(lines)


def rate_ratio(s, base):
    return s.rate / base.rate if s.rate and base and base.rate else None


# The file whose C loop a reader is compared with: its own, but for the
# two-interface pcapng, which libpcap refuses.
C_LOOP_FILE = {"small.pcapng2": "small.pcapng"}


def instructions_table(per, files, missing):
    """Tables of instructions per packet (measure.instructions_per_packet)."""
    out = []
    for kind, title, rows in (("small", "small-packet file", SMALL_READERS + FORMAT_READERS + PCAPNG_READERS),
                              ("large", "large-packet file", LARGE_READERS)):
        if kind not in files:
            continue
        n = files[kind][1]["packets"]
        out.append(f"## Instructions per packet (callgrind), {title}, {n:,} packets\n")
        out.append("Fewer is faster; × C loop (on the same file) and × pypcap iteration are ratios of speed "
                   "(their instructions over the reader's).\n")
        out.append("| reader | instructions per packet | × C loop | × pypcap iteration |")
        out.append("|---|---:|---:|---:|")
        py = per.get(f"{kind}:pypcap_iter")
        for rd in (r for r in rows if r.rate):
            v = per.get(rd.id)
            if rd.impl in missing:
                out.append(f"| {rd.label} | not installed | – | – |")
            elif isinstance(v, str):
                out.append(f"| {rd.label} | FAILED: {v.splitlines()[-1][:80]} | – | – |")
            elif v is not None:
                c = per.get(f"{C_LOOP_FILE.get(rd.file, rd.file)}:next_ex")
                to_c = c / v if isinstance(c, float) and v > 0 else None
                to_py = py / v if isinstance(py, float) and v > 0 else None
                out.append(f"| {rd.label} | {v:,.0f} | {fmt_ratio(to_c)} | {fmt_ratio(to_py)} |")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------
# Targets: (target, measured, required, verdict) rows, every figure from the
# medians of the same run.

# Speed of a reader of ours over another reader's: (target, ours, other,
# least ratio, the other in words); a ratio of 1 with ">" must be exceeded.
RATIO_TARGETS = [
    ("triage, address set: iteration vs pcapy-ng `loop_filtered`", "small:ours_triage_addrset_iter",
     "small:pcapy_loop_filtered_addrset", 1, "pcapy-ng `loop_filtered` on the same task"),
    ("triage, flow heads: iteration vs pcapy-ng `loop_filtered`", "small:ours_triage_flowhead_iter",
     "small:pcapy_loop_filtered_flowhead", 1, "pcapy-ng `loop_filtered` on the same task"),
    ("iteration `for ts, buf in p`", "small:ours_iter", "small:pypcap_iter", 1.76, "pypcap iteration"),
    ("iteration, `timestamp_in_ns=True`", "small:ours_iter_ns", "small:pypcap_iter", 1.6, "pypcap iteration"),
    ("`dispatch(-1, cb)` vs pypcap's", "small:ours_dispatch", "small:pypcap_dispatch", 1.3,
     "pypcap `dispatch(-1, cb)`"),
    ("`dispatch(-1, cb)` vs pcapy-ng `dispatch`", "small:ours_dispatch", "small:pcapy_dispatch", ">",
     "pcapy-ng `dispatch`"),
    ("`loop(0, cb)` vs pypcap's", "small:ours_loop", "small:pypcap_loop", 1.3, "pypcap `loop(0, cb)`"),
    ("`loop(0, cb)` vs pcapy-ng `dispatch`", "small:ours_loop", "small:pcapy_dispatch", ">",
     "pcapy-ng `dispatch`"),
    ("`readpkts()` rate", "small:ours_readpkts", "small:pypcap_readpkts", 2, "pypcap `readpkts()`"),
    ("batch read `readbatch(1024)`", "small:ours_readbatch", "small:pypcap_iter", 2, "pypcap iteration"),
    ("iteration from a pipe", "small:ours_pipe_iter", "small:ours_iter", 0.5,
     "ours: iteration of the file (at most 2× slower)"),
    ("large packets: iteration", "large:ours_iter", "large:next_ex", 1.0, "C loop"),
    ("batch: `next_batch` + numpy view", "small:ours_next_batch_np", "small:next_ex", 1.5, "C loop"),
    ("batch: `next_batch` + numpy view vs pcapy-ng's", "small:ours_next_batch_np",
     "small:pcapy_next_batch_np", 2, "pcapy-ng `next_batch` + numpy view"),
    ("caller's buffers: `readinto` + numpy view vs pcapy-ng's `loop_to_buffer`", "small:ours_readinto_np",
     "small:pcapy_loop_to_buffer", 1, "pcapy-ng `loop_to_buffer`"),
    ("bytes per second: numpy vs `for ts, buf in p`", "small:ours_per_second_np",
     "small:ours_per_second_iter", 1, "the same with iteration"),
    ("pcapng iteration", "small.pcapng:ours_iter", "small.pcapng:next_ex", 0.8,
     "C loop on the same pcapng file"),
    ("pcapng iteration vs classic pcap", "small.pcapng:ours_iter", "small:ours_iter", 0.9,
     "ours: iteration of the classic file"),
    ("pcapng, two interfaces: iteration vs classic pcap", "small.pcapng2:ours_iter", "small:ours_iter", 0.9,
     "ours: iteration of the classic file"),
    ("pcapng: `next_batch` + numpy view", "small.pcapng:ours_next_batch_np", "small.pcapng:next_ex", 1.5,
     "C loop on the same pcapng file"),
    ("pcapng: `next_batch(interfaces=True)` + numpy view", "small.pcapng:ours_next_batch_np_interfaces",
     "small.pcapng:next_ex", 1.5, "C loop on the same pcapng file"),
    ("pcapng, two interfaces: `next_batch` + numpy view", "small.pcapng2:ours_next_batch_np",
     "small.pcapng:next_ex", 1.5, "C loop on the one-interface pcapng (libpcap refuses two link types)"),
    ("pcapng, two interfaces: `next_batch(interfaces=True)` + numpy view",
     "small.pcapng2:ours_next_batch_np_interfaces", "small.pcapng:next_ex", 1.5,
     "C loop on the one-interface pcapng (libpcap refuses two link types)"),
    ("pcapng to an Arrow table", "small.pcapng:ours_to_arrow", "small.pcapng:scapy_pcapng_to_arrow", 10,
     "scapy's pcapng reader building the same columns"),
    ("pcapng, two interfaces, to an Arrow table", "small.pcapng2:ours_to_arrow",
     "small.pcapng2:scapy_pcapng_to_arrow", 10, "scapy's pcapng reader building the same columns"),
    ("gzip-compressed file vs `zcat | tcpdump -r - -w /dev/null`", "small.gz:ours_iter",
     "small.gz:zcat_tcpdump", 1, "`zcat | tcpdump`"),
    ("gzip-compressed file vs gunzip to a file, then read", "small.gz:ours_iter",
     "small.gz:ours_gunzip_then_read", 1, "gunzip, then read"),
    # Writing (issue 21): the small file's packets.
    ("write pcapng: `d.write(ts, buf)` per packet vs scapy", "small:ours_write_ng", "small:scapy_write_ng", 10,
     "scapy's `PcapNgWriter`, from memory both"),
    ("write pcapng: `d.write(ts, buf)` per packet vs dpkt", "small:ours_write_ng", "small:dpkt_write_ng", 10,
     "dpkt's `pcapng.Writer`, from memory both"),
    ("write pcapng: `dispatch(-1, d)` vs scapy", "small:ours_copy_dispatch_ng", "small:scapy_write_ng", 10,
     "scapy's `PcapNgWriter` (ours reads the file too, scapy writes from memory)"),
    ("write pcapng: `dispatch(-1, d)` vs dpkt", "small:ours_copy_dispatch_ng", "small:dpkt_write_ng", 10,
     "dpkt's `pcapng.Writer` (ours reads the file too, dpkt writes from memory)"),
    ("write pcapng: `d.write(ts, buf)` per packet vs libpcap's `pcap_dump`", "small:ours_write_ng",
     "small:dump_mem", 1, "C `pcap_dump` of each packet, classic pcap, from memory both"),
    ("write pcapng: `dispatch(-1, d)` vs libpcap's `pcap_dump`", "small:ours_copy_dispatch_ng", "small:dump", 1,
     "C `pcap_loop(p, -1, pcap_dump, d)`, classic pcap, a copy of the file both"),
    ("write pcapng: whole batches vs per packet", "small:ours_write_batch_ng", "small:ours_write_ng", 3,
     "ours `d.write(ts, buf)` per packet, from memory both"),
    ("write pcapng, copy: `next_batch` + `write_batch` vs per packet", "small:ours_copy_next_batch_ng",
     "small:ours_copy_iter_ng", 3, "ours `for ts, buf in p: d.write(ts, buf)`"),
]

# Time of a count of ours over the C loop's: (target, ours, C, most ratio, the C loop in words).
TIME_TARGETS = [
    ("count in C: `dispatch(-1)` no callback", "small:ours_count", "small:next_ex", 0.4, "C loop"),
    ("BPF-filtered count", "small:ours_filter_count", "small:next_ex_filter", 1.5,
     "C loop with the same filter"),
    # (Bounds as on the classic file; libpcap cannot read the two-interface file.)
    ("pcapng, two interfaces: count in C, `dispatch(-1)`", "small.pcapng2:ours_count", "small.pcapng:next_ex",
     0.4, "C loop on the one-interface pcapng"),
    ("pcapng, two interfaces: BPF-filtered count (a program per link type)", "small.pcapng2:ours_filter_count",
     "small.pcapng:next_ex_filter", 1.5, "C loop with the same filter on the one-interface pcapng"),
]


def file_target_rows(sm, packets):
    """The targets on savefiles: speed and time ratios, memory, Arrow."""
    def rate(key):
        s = sm.get(key)
        return s.rate if s and s.ok and s.rate else None

    rows = []
    for name, a, b, need, what in RATIO_TARGETS:
        ra, rb = rate(a), rate(b)
        required = f"> 1× {what}" if need == ">" else f"≥ {need}× {what}"
        if ra is None or rb is None:
            rows.append((name, "n/a", required, "not measured"))
        else:
            ok = ra > rb if need == ">" else ra / rb >= need
            rows.append((name, f"{ra / rb:.2f}×", required, "met" if ok else "MISSED"))
    for name, a, b, limit, what in TIME_TARGETS:
        ra, rb = rate(a), rate(b)
        required = f"≤ {limit}× the time of the {what}"
        if ra is None or rb is None:
            rows.append((name, "n/a", required, "not measured"))
        else:
            rows.append((name, f"{rb / ra:.2f}× the time", required, "met" if rb / ra <= limit else "MISSED"))
    return rows + memory_target_rows(sm, packets) + [arrow_target_row(rate)] + fields_target_rows(rate)


def memory_target_rows(sm, packets):
    rows = []
    a, b = sm.get("small:ours_readpkts"), sm.get("small:pypcap_readpkts")
    if a and b and a.ok and b.ok:
        rows.append(("`readpkts()` peak RSS", f"{fmt_mib(a.rss)} MiB vs {fmt_mib(b.rss)} MiB",
                     "≤ pypcap's", "met" if a.rss <= b.rss else "MISSED"))
    else:
        rows.append(("`readpkts()` peak RSS", "n/a", "≤ pypcap's", "not measured"))
    a, b = sm.get("small:ours_iter"), sm.get("small:ours_import")
    if a and b and a.ok and b.ok:
        d = (a.rss - b.rss) / 1024
        rows.append((f"memory: iterating {packets:,} packets", f"{d:+.1f} MiB over import only",
                     "≤ 5 MiB over the interpreter's own", "met" if d <= 5 else "MISSED"))
    return rows


def arrow_target_row(rate):
    ra = rate("small:ours_to_arrow")
    peers = [r for r in (rate("small:scapy_to_arrow"), rate("small:dpkt_to_arrow")) if r]
    if not (ra and peers):
        return ("savefile to an Arrow table", "n/a", "≥ 10× scapy and dpkt", "not measured")
    return ("savefile to an Arrow table", f"{ra / max(peers):.1f}× the faster peer",
            "≥ 10× the faster of scapy and dpkt building the same columns",
            "met" if ra / max(peers) >= 10 else "MISSED")


def fields_target_rows(rate):
    """Issue 22: the 5-tuple + TCP flags + Community ID columns at least 10 M packets/s, at
    least 20× tshark and 30× dpkt extracting the same fields."""
    ours = rate("small:ours_fields_cid")
    if not ours:
        return [("header fields: 5-tuple + TCP flags + Community ID", "n/a", "≥ 10 M packets/s", "not measured")]
    rows = [("header fields: 5-tuple + TCP flags + Community ID", f"{fmt_rate(ours)} packets/s",
             "≥ 10 M packets/s", "met" if ours >= 10e6 else "MISSED")]
    for key, need, name, what in (("small:tshark_fields_cid", 20, "tshark", "`tshark -T fields` of the same fields"),
                                  ("small:dpkt_fields_cid", 30, "dpkt", "dpkt parsing the same fields, the "
                                                                        "Community ID with hashlib")):
        other = rate(key)
        rows.append((f"header fields vs {name}", f"{ours / other:.1f}×" if other else "n/a",
                     f"≥ {need}× {what}", ("met" if ours / other >= need else "MISSED") if other else "not measured"))
    return rows


# ours' CPU per packet over pypcap's, default options, before live reads
# took batches (0.177 µs vs 0.202 µs, on the same machine and run): the
# ratio to keep.
LIVE_CPU_BEFORE_BATCHES = 0.88


def live_target_rows(live, missing, live_ran):
    """The targets of the live captures on lo."""
    if not live_ran:
        return [("live capture on lo", "not run", "", "not measured")]
    rows = []
    od, pd = live.get("ours_default"), live.get("pypcap_default")
    oi, pi = live.get("ours_immediate"), live.get("pypcap_immediate")
    if od and od.ok_runs:
        lost = [s - r for s, r in zip(od.sent, od.received)]
        rows.append(("live, default options: no packet dropped",
                     f"kernel drops {fmt_list(od.drops)}; not received {fmt_list(lost)}",
                     "0 in every round", "met" if max(od.drops) == 0 and max(lost) == 0 else "MISSED"))
    if od and pd and od.cpu_per_pkt and pd.cpu_per_pkt:
        a, b = median(od.cpu_per_pkt) * 1e6, median(pd.cpu_per_pkt) * 1e6
        rows.append(("live, default options: CPU per packet", f"{a:.3f} µs vs pypcap {b:.3f} µs",
                     "≤ pypcap's", "met" if a <= b else "MISSED"))
        rows.append(("live, default options: CPU per packet, as before live reads took batches",
                     f"{a / b:.2f}× pypcap's", f"≤ {LIVE_CPU_BEFORE_BATCHES}× pypcap's",
                     "met" if a / b <= LIVE_CPU_BEFORE_BATCHES else "MISSED"))
    elif "pypcap" in missing:
        rows.append(("live, default options: CPU per packet", "n/a", "≤ pypcap's", "pypcap not installed"))
    if oi and pi and oi.ok_runs and pi.ok_runs:
        a, b = median(oi.drops), median(pi.drops)
        verdict = "met" if a < b else ("met (both 0)" if a == b == 0 else "MISSED")
        rows.append(("live, `immediate=True`: kernel drops", f"median {a:,.0f} vs pypcap {b:,.0f}",
                     "fewer than pypcap", verdict))
    if oi and pi and oi.cpu_per_pkt and pi.cpu_per_pkt:
        a, b = median(oi.cpu_per_pkt) * 1e6, median(pi.cpu_per_pkt) * 1e6
        rows.append(("live, `immediate=True`: CPU per packet", f"{a:.3f} µs vs pypcap {b:.3f} µs",
                     "< pypcap's", "met" if a < b else "MISSED"))
    return rows + fanout_and_burst_rows(live) + multi_target_rows(live)


def fanout_and_burst_rows(live):
    """Fanout over 2 processes: each packet once; bursts of 2,000: how many lost."""
    rows = []
    fo = live.get("ours_fanout")
    if fo and fo.ok_runs:
        each = [r.get("each", []) for r in fo.ok_runs]
        once = all(r["received"] == r["sent"] and r["ps_drop"] == 0 and min(r.get("each") or [0]) > 0
                   for r in fo.ok_runs)
        rows.append(("fanout over 2 processes: every packet counted once",
                     "; ".join(f"{sum(e):,} of {r['sent']:,} ({' + '.join(f'{x:,}' for x in e)})"
                               for e, r in zip(each, fo.ok_runs)),
                     "all sent, none twice, both processes share", "met" if once else "MISSED"))
    for key, need in (("ours_burst", "fewer than 50% lost"), ("ours_burst_snaplen", "0 lost in every round")):
        b = live.get(key)
        if not (b and b.ok_runs):
            continue
        lost = [r["sent"] - r["received"] for r in b.ok_runs]
        frac = median(lost) / median(b.sent)
        ok = frac < 0.5 if key == "ours_burst" else max(lost) == 0
        rows.append((f"burst of {median(b.sent):,.0f} on lo, {'defaults' if key == 'ours_burst' else '`snaplen=256`'}: lost",
                     f"{fmt_list(lost)} ({100 * frac:.0f}% median)", need, "met" if ok else "MISSED"))
    return rows


def targets_table(rows):
    lines = ["| target | measured | required | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# The report: every table of a run, and the head of RESULTS.md.

def savefile_sections(sm, files, no_file, missing, rounds):
    """The tables of the small file, of its copies and ways in, and of the
    large file."""
    meta = files["small"][1]
    c_loop, pypcap = ("× C loop", "× pypcap iteration")
    out = [f"## Small packets: {meta['packets']:,} packets of {gen.SMALL[0]}-{gen.SMALL[1]} bytes "
           f"({meta['bytes']:,} bytes; {meta['filter_packets']:,} match `{gen.FILTER}`)\n",
           f"Packets/s are packets of the file over the time taken from opening it to the last packet; "
           f"{rounds} interleaved round(s).\n",
           file_table(SMALL_READERS, sm, [(c_loop, lambda rd: "small:next_ex"),
                                          (pypcap, lambda rd: "small:pypcap_iter")], missing, no_file),
           f"\n## The same {meta['packets']:,} packets in other formats and through other ways in\n",
           "Copies of the small file made by `bench/gen.py`: nanosecond and big-endian classic pcap "
           "(generated), the modified pcap format (`editcap -F modpcap`), gzip (level 6); pcapng has the "
           "next table. × C loop: over the C `pcap_next_ex` loop on the same file.\n",
           file_table(FORMAT_READERS, sm, [("× C loop, same file", lambda rd: f"{rd.file}:next_ex"),
                                           ("× ours `for ts, buf in p`, classic file",
                                            lambda rd: "small:ours_iter")], missing, no_file)]
    out += pcapng_section(sm, files, no_file, missing)
    out += write_section(sm, files, no_file, missing)
    out += triage_section(sm, files, no_file, missing)
    out += fields_section(sm, files, no_file, missing)
    if "large" in files:
        lm = files["large"][1]
        out.append(f"\n## Large packets: {lm['packets']:,} packets of {gen.LARGE[0]}-{gen.LARGE[1]} bytes "
                   f"({lm['bytes']:,} bytes)\n")
        out.append(file_table(LARGE_READERS, sm, [(c_loop, lambda rd: "large:next_ex"),
                                                  (pypcap, lambda rd: "large:pypcap_iter")], missing, no_file))
    return out


def pcapng_section(sm, files, no_file, missing):
    """The table of pcapng: one interface (editcap's copy) and two of
    different link types (gen.py's), beside the C loop on the first."""
    meta = files["small"][1]
    two = files.get("small.pcapng2", (None, None))[1]
    out = [f"\n## pcapng: the same {meta['packets']:,} packets with one interface, and with two of different "
           f"link types\n",
           "One interface: editcap's copy of the small file (`editcap -F pcapng`). Two interfaces "
           "(`bench/gen.py`, `small-N.2if.pcapng`): interface 0 Ethernet, interface 1 raw IPv4 "
           "(`LINKTYPE_RAW`), the packets alternating, starting on interface 0: the same IPv4 packets, "
           "every other one without its Ethernet header"
           + (f" ({two['bytes']:,} bytes; {two['filter_packets']:,} match `{gen.FILTER}`, as in the classic "
              f"file, with a filter program for each link type)" if two else "")
           + ". libpcap refuses that file (\"an interface has a type 101 different from the type of the "
           "first interface\"), so it has no C loop: × C loop compares every row with the C `pcap_next_ex` "
           "loop on the one-interface copy. \"per interface\": the reader also counted the packets of each "
           "interface, and found the file's.\n",
           file_table(PCAPNG_READERS, sm, [("× C loop, one-interface pcapng", lambda rd: "small.pcapng:next_ex"),
                                           ("× ours `for ts, buf in p`, classic file",
                                            lambda rd: "small:ours_iter")], missing, no_file)]
    return out


def triage_section(sm, files, no_file, missing):
    """The table of triage in C (issue 22): ours and pcapy-ng's
    loop_filtered on the same tasks."""
    if not any(rd.id in sm or rd.id in no_file for rd in TRIAGE_READERS):
        return []
    meta = files["small"][1]
    kept = meta.get("triage", {})
    return [f"\n## Triage in C: the same {meta['packets']:,} packets, kept or dropped before Python\n",
            f"The tasks of `bench/triage_tasks.py`: *address set*, the packets whose source or destination is "
            f"one of {triage_tasks.ADDRESS_COUNT:,} IPv4 addresses "
            f"({kept.get('addrset', ['?'])[0]:,} packets kept); *flow heads*, the first {triage_tasks.FLOW_HEAD} "
            f"packets of each flow, one direction ({kept.get('flowhead', ['?'])[0]:,} kept: nearly every packet of "
            f"the file is a flow of its own, so this measures the flow table's work on every packet). Each side "
            f"builds its set inside the time, from its own input form made before (ours a list of str, "
            f"pcapy-ng packed bytes); \"matches\": the packets and bytes kept are those a walk of the file finds.\n",
            file_table(TRIAGE_READERS, sm,
                       [("× pcapy-ng `loop_filtered`, same task",
                         lambda rd: f"small:pcapy_loop_filtered_{rd.task}"),
                        ("× C loop", lambda rd: "small:next_ex")], missing, no_file)]
def fields_section(sm, files, no_file, missing):
    """The table of the header fields (issue 22): ours' columns beside tshark and dpkt."""
    if not any(rd.id in sm or rd.id in no_file for rd in FIELDS_READERS):
        return []
    meta = files["small"][1]

    def same_fields(prefix):
        return lambda rd: f"small:{prefix}_fields_cid" if rd.key.endswith("_cid") else f"small:{prefix}_fields"
    return [f"\n## Header fields: the 5-tuple and TCP flags of the same {meta['packets']:,} packets, with and "
            f"without the Community ID\n",
            "The fields `src`, `dst`, `protocol`, `src_port`, `dst_port`, `tcp_flags` (and `community_id`, v1, "
            "seed 0) of every packet (all Ethernet/IPv4/UDP: the TCP flags are null). Ours: Arrow columns "
            "parsed in C, without the packets' bytes; tshark: `-T fields` with the same fields (`ip.src`, "
            "`ip.dst`, `ip.proto`, `udp.srcport`, `udp.dstport`, `tcp.srcport`, `tcp.dstport`, `tcp.flags`, "
            "`communityid`), the time of its run with its output read into memory; dpkt: each packet parsed "
            "in Python, the Community ID by hashlib as the specification's reference computes it. After the "
            "clock stops each reader sums every field over the packets (IPv4 addresses as numbers; the "
            "Community IDs' count, least and greatest), and \"ok\" means every sum is the generator's "
            "(`bench/gen.py`, `field_sums`). × tshark, × dpkt: over the row of the same fields.\n",
            file_table(FIELDS_READERS, sm, [("× tshark, same fields", same_fields("tshark")),
                                            ("× dpkt, same fields", same_fields("dpkt"))], missing, no_file)]


def write_section(sm, files, no_file, missing):
    """The table of the writers: the small file's packets written as
    pcapng and classic pcap."""
    if not any(rd.id in sm or rd.id in no_file for rd in WRITE_READERS):
        return []
    meta = files["small"][1]
    return [f"\n## Writing the same {meta['packets']:,} packets: pcapng and classic pcap\n",
            "From memory: the packets were read before the clock started (a list of `(ts, bytes)`, "
            "`next_batch()`'s batches, `to_arrow()`'s table; C: an array), and the time is from opening the "
            "output to closing it. Copy: the file read and written, from opening the input to closing the "
            "output. Each output file is read back afterwards (outside the time: by `bench/readers.py`'s own "
            "walk of the records and blocks, or libpcap for C), and \"ok\" means it holds the file's packets "
            "and bytes. × C `pcap_dump`: over the C row of the same kind (from memory, or copy). pypcap 1.3 has "
            "no dumper: pcapy-ng's (libpcap's `pcap_dump` underneath) stands for the bindings that write "
            "classic pcap.\n",
            file_table(WRITE_READERS, sm,
                       [("× C `pcap_dump`, same kind", lambda rd: "small:dump_mem" if rd.memory else "small:dump"),
                        ("× scapy `PcapNgWriter`", lambda rd: "small:scapy_write_ng"),
                        ("× dpkt `pcapng.Writer`", lambda rd: "small:dpkt_write_ng")], missing, no_file)]


def live_section(live, missing, live_packets, live_note):
    out = [f"\n## Live capture on lo: {live_packets:,} UDP datagrams of {LIVE_PAYLOAD} bytes "
           f"(60-byte frames) from the C sender, as fast as it goes\n"]
    if live_note:
        return out + [live_note]
    out += ["Received: datagrams the capture loop got; kernel drops: `stats()[1]`; CPU: user + system "
            "seconds of the capturing process from its first read to its report, over the datagrams "
            "received.\n", live_table(live, missing)]
    return out + multi_section(live)


def multi_section(live):
    """Two veth interfaces into one handle (issue 21)."""
    out = []
    for key, label, impl, _, opts in LIVE_CONFIGS:
        s = live.get(key)
        if not opts.get("multi") or s is None:
            continue
        out.append("\n## Two interfaces into one handle: frames into each of two veth interfaces from the C "
                   "sender, as fast as it goes\n")
        out.append("The C sender (`baseline send_frames`, AF_PACKET) sends out of the other end of each veth "
                   "pair in turn: 60-byte frames into the first interface, 68-byte ones into the second, so that "
                   "a frame of the wrong length on an interface index is one the handle put on the wrong "
                   "interface. The capture reads `next_batch(4096, interfaces=True)` with the filter "
                   "`udp dst port P`. Kernel drops per interface: `stats(interface=k)[1]`.\n")
        if not s.ok_runs:
            why = s.skips[0] if s.skips else (s.errors[0].splitlines()[-1][:200] if s.errors else "?")
            out.append(f"{label}: {'skipped' if s.skips else 'FAILED'}: {why}")
            continue
        out.append(f"{label}:\n")
        out.append("| round | sent (each interface) | received on the right interface (each) | on the wrong "
                   "one | kernel drops per interface | CPU µs per packet | sender frames/s |")
        out.append("|---|---|---|---:|---|---:|---:|")
        for k, r in enumerate(s.ok_runs, 1):
            wrong = r["received"] - sum(r["right"])
            drops = ", ".join("–" if st is None else f"{st[1]:,}" for st in r["stats_each"])
            cpu = f"{r['cpu'] / r['received'] * 1e6:.3f}" if r["received"] else "–"
            out.append(f"| {k} | {r['sent']:,} ({' + '.join(f'{x:,}' for x in r['sent_each'])}) | "
                       f"{' + '.join(f'{x:,}' for x in r['right'])} | {wrong:,} | {drops} | {cpu} | "
                       f"{fmt_rate(r['sent'] / r['send_elapsed']) if r.get('send_elapsed') else '–'} |")
        if s.errors or s.skips:
            out.append(f"\n{len(s.errors) + len(s.skips)} round(s) failed: "
                       f"{(s.errors or s.skips)[0].splitlines()[-1][:200]}")
    return out


def multi_target_rows(live):
    rows = []
    for key, label, impl, _, opts in LIVE_CONFIGS:
        s = live.get(key)
        if not opts.get("multi") or s is None:
            continue
        name = "two veth interfaces into one handle: every frame once, on the right interface"
        if not s.ok_runs:
            rows.append((name, "skipped: " + s.skips[0] if s.skips else "FAILED", "", "not measured"))
            continue
        ok = all(r["right"] == r["sent_each"] and r["received"] == r["sent"] for r in s.ok_runs)
        rows.append((name, "; ".join(f"{sum(r['right']):,} of {r['sent']:,} on the right interface, "
                                     f"{r['received'] - sum(r['right']):,} on the wrong one" for r in s.ok_runs),
                     "all sent, each once, on its interface, in every round", "met" if ok else "MISSED"))
        reported = all(all(st is not None for st in r["stats_each"]) for r in s.ok_runs)
        rows.append(("two veth interfaces: kernel drops reported per interface",
                     "yes" if reported else "no (`stats(interface=k)` missing)", "`stats(interface=k)`",
                     "met" if reported else "MISSED"))
    return rows


def not_measured_section(missing, unavailable, not_selected):
    if not (missing or unavailable or not_selected):
        return []
    out = ["\n## Peers and files not measured\n"]
    for name, why in missing.items():
        out.append(f"- **{name}** could not be installed ({' '.join(PEERS[name]['pip'])}):\n\n"
                   + "\n".join("      " + l for l in why.splitlines()) + "\n")
    for name, why in unavailable.items():
        out.append(f"- the copy **{name}** could not be made: {why}")
    if not_selected:
        out.append(f"- not selected in this run (--only): {', '.join(not_selected)}")
    return out


def results_head(command, mach, versions, loads, elapsed, build):
    """The head of RESULTS.md: the command, when, how long, the machine."""
    return "\n".join([
        "# Benchmark results", "",
        f"`{command}` (`make bench`), {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
        f"{elapsed / 60:.1f} minutes. Timings are only as quiet as the machine was: the load "
        f"average below tells how busy it was.", "",
        "| machine | |", "|---|---|",
        f"| CPU | {mach['cpu']} ({mach['cores']} cores) |",
        f"| kernel | Linux {mach['kernel']} |",
        f"| Python | {mach['python']} |",
        f"| libpcap | {mach['libpcap']} |",
        f"| ours | {mach['ours']}; {build} |",
        f"| peers | {', '.join(f'{k} {v}' for k, v in versions.items()) or '–'} |",
        f"| load average (1, 5, 15 min) | {' '.join(loads[0])} at the start, {' '.join(loads[1])} at the end |",
        ""])
