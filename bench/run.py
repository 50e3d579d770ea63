#!/usr/bin/env python3
"""The side-by-side benchmark (bench/README.md).

    make bench                       # the full run: every reader, 5 rounds
    python bench/run.py --packets 2000 --rounds 1 --only ours     # a smoke run

Sets up (environment.py: the input files of gen.py and their copies in other
formats, the C baseline, our module's environment and one per peer), runs
every reader and idiom of rows.py in a fresh process of the right
interpreter, interleaved over the rounds, then the live captures on lo and
examples/dask_flows.py (measure.py), and prints the Markdown tables with the
targets (report.py).  A full run (default sizes, every reader, five rounds
or more, live capture) also writes bench/RESULTS.md.  Only the standard
library is used.
"""
import argparse
import json
import os
import sys
import time

import environment
import gen
import measure
import report
import triage_tasks
from environment import HERE, IMPLS, PEERS, log
from rows import ALL_READERS, LIVE_CONFIGS, VETHS

RESULTS = os.path.join(HERE, "RESULTS.md")
FULL_SMALL = 1_000_000
FULL_LARGE = 200_000
FULL_ROUNDS = 5
INSTR_PACKETS = 100_000     # file size of --instructions


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Run the benchmark of bench/README.md.")
    ap.add_argument("--packets", type=int, default=None, help="packets in the small-packet file "
                    f"(default {FULL_SMALL:,}; {INSTR_PACKETS:,} with --instructions)")
    ap.add_argument("--large-packets", type=int, default=None,
                    help="packets in the large-packet file (default: a fifth of --packets; 0: skip)")
    ap.add_argument("--rounds", type=int, default=FULL_ROUNDS, help="interleaved rounds")
    ap.add_argument("--only", default=",".join(IMPLS),
                    help=f"comma-separated modules to run besides the C baseline: {', '.join(IMPLS)}")
    ap.add_argument("--live-packets", type=int, default=measure.LIVE_MAX,
                    help=f"datagrams sent per live capture (at most {measure.LIVE_MAX}; 0: no live capture)")
    ap.add_argument("--no-live", action="store_true", help="skip the live capture on lo")
    ap.add_argument("--no-dask", action="store_true", help="skip the runs of examples/dask_flows.py")
    ap.add_argument("--work-dir", default=os.path.join(HERE, ".work"),
                    help="where the files, the C baseline and the peers' environments go")
    ap.add_argument("--ours-python", default=None, help="interpreter that imports our module "
                    "(default: a bare environment in the work folder, made like the peers', "
                    "that finds the module built in the repository)")
    ap.add_argument("--results", default=None,
                    help="write the report there (default: bench/RESULTS.md after a full run only)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed to one reader")
    ap.add_argument("--readers", default=None,
                    help="comma-separated: run only the rows whose reader (a function of readers.py or a mode "
                         "of the C baseline, e.g. ours_write_ng, dump) or id (FILE:READER, e.g. "
                         "small.pcapng:ours_iter) contains one of these; 'write' selects every writer")
    ap.add_argument("--replay", action="store_true",
                    help="also the replay rows (bench/replay.py: pcap.replay() beside tcpreplay on a veth pair; "
                         "root); a full run has them")
    ap.add_argument("--instructions", action="store_true",
                    help="instead of timing, count the instructions each reader executes per packet "
                         "under valgrind's callgrind (deterministic, for a noisy machine); "
                         "--packets defaults to 100,000 then")
    args = ap.parse_args(argv)
    if args.packets is None:
        args.packets = INSTR_PACKETS if args.instructions else FULL_SMALL
    args.only = [x.strip() for x in args.only.split(",") if x.strip()]
    for x in args.only:
        if x not in IMPLS:
            ap.error(f"--only: unknown module {x!r} (known: {', '.join(IMPLS)})")
    if args.large_packets is None:
        args.large_packets = args.packets // 5
    if args.live_packets > measure.LIVE_MAX:
        ap.error(f"--live-packets: at most {measure.LIVE_MAX}")
    if args.packets <= 0 or args.rounds <= 0:
        ap.error("--packets and --rounds must be positive")
    args.live = not args.no_live and args.live_packets > 0
    args.readers = [x.strip() for x in args.readers.split(",") if x.strip()] if args.readers else None
    args.full = (args.readers is None and args.packets == FULL_SMALL and args.large_packets == FULL_LARGE and args.rounds >= FULL_ROUNDS
                 and set(args.only) == set(IMPLS) and args.live and args.live_packets == measure.LIVE_MAX)
    return args


def live_plan(args, pythons):
    """The live captures to run, or why none runs."""
    if not args.live:
        return [], "skipped (--no-live)"
    if not environment.can_capture():
        return [], "skipped: capture on lo needs root or CAP_NET_RAW"
    return [c for c in LIVE_CONFIGS if c[2] in pythons and (args.readers is None or any(p in c[0] for p in args.readers))], None


def report_tables(args, run, sm, live, live_note, dask):
    """Every table of the run, as Markdown."""
    out = report.savefile_sections(sm, run["files"], run["no_file"], run["missing"], args.rounds)
    if dask is not None:
        out.append("\n## Dask: `examples/dask_flows.py` (bytes and packets per 5-tuple, top talkers)\n")
        out.append(report.dask_table(dask, run["files"]["small"][1]["packets"]))
    out.append("\n## Memory: peak RSS of the process (VmHWM), small-packet file\n")
    out.append(report.memory_table(sm, run["missing"]))
    out += report.live_section(live, run["missing"], args.live_packets, live_note)
    out.append("\n## Targets\n")
    out.append(report.targets_table(report.file_target_rows(sm, run["files"]["small"][1]["packets"])
                                    + report.live_target_rows(live, run["missing"], live_note is None)
                                    + report.dask_target_rows(dask, run["files"]["small"][1]["packets"])))
    out += report.not_measured_section(run["missing"], run["unavailable"], [p for p in PEERS if p not in args.only])
    return "\n".join(out)


def selected(rd, patterns):
    """Whether --readers selects ``rd`` ('write': every writer)."""
    if patterns is None:
        return True
    return any(p in rd.key or p in rd.id or (p == "write" and rd.out) for p in patterns)


def set_up(args):
    """Files, the C baseline, the interpreters, and the readers that can
    run with them."""
    work = os.path.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    baseline = environment.build_baseline(work)
    pythons, ours_info, versions, missing = environment.interpreters(args.only, args.ours_python, work)
    files, unavailable = environment.input_files(args.packets, args.large_packets, work, reference=args.instructions)
    runnable = [rd for rd in ALL_READERS if (rd.impl == "c" or rd.impl in pythons) and selected(rd, args.readers)]
    if any(rd.task for rd in runnable):
        for name in ("small", "one"):       # what the triage rows must keep (triage_tasks.py)
            if name in files:
                files[name][1]["triage"] = triage_tasks.expected(files[name][0])
    if any(rd.fields for rd in runnable) and "small" in files:
        # (The sums the fields readers must report, computed by the generator once and kept.)
        files["small"][1]["fields"] = gen.field_sums("small", args.packets, work)
    return {"work": work, "baseline": baseline, "pythons": pythons, "ours_info": ours_info,
            "versions": versions, "missing": missing, "files": files, "unavailable": unavailable,
            "readers": [rd for rd in runnable if rd.file in files],
            "no_file": {rd.id for rd in runnable if rd.file not in files}}


def save(args, argv, run, table, raw):
    """last-run.json in the work folder; the report where --results says, or
    in RESULTS.md after a full run."""
    with open(os.path.join(run["work"], "last-run.json"), "w") as f:
        json.dump(raw, f, indent=1, default=str)
    path = args.results or (RESULTS if args.full else None)
    if not path:
        log("not a full run: bench/RESULTS.md left as it is")
        return
    command = "bench/run.py" + "".join(" " + a for a in (argv if argv is not None else sys.argv[1:]))
    head = report.results_head(command, raw["machine"], run["versions"], raw["load"], raw["elapsed"],
                               environment.source_state(run["ours_info"]["file"]))
    kept = kept_sections(path)
    with open(path, "w") as f:
        f.write(report.escape_cell_pipes(head + "\n" + table) + "\n" + kept)
    log(f"wrote {path}")


def kept_sections(path):
    """The part of the report at ``path`` that the bench does not write:
    from a "## Fuzzing" section (written by hand after `make fuzz`) to the
    end, or nothing."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        return ""
    at = old.find("\n## Fuzzing")
    return "" if at < 0 else "\n" + old[at + 1:]


# Rounds of the Dask runs (at most --rounds): each a few seconds, and one
# alone was as noisy as this machine (a whole command's 4.5 s once 5.6 s);
# three were too (the 2 workers' command 2.0 to 2.7 s in alternate runs of
# one version within minutes, 2.9 in a bench's median): five, as the readers,
# one after each round of theirs: the machine has slow stretches of minutes,
# which took all five where they ran one after the other at the end.
DASK_ROUNDS = 5
# numpy's OpenBLAS starts a thread a core when numpy is imported (pyarrow
# imports it), which spins for some 100 ms before it sleeps: in a reader's
# process that is the first 100 ms of the clock, one of the machine's two
# cores taken from the read.  No reader multiplies matrices: one BLAS thread
# (none spinning) in every process the bench starts, ours and the peers'.
BLAS_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def main(argv=None):
    args = parse_args(argv)
    for name, value in BLAS_ENV.items():
        os.environ.setdefault(name, value)
    started, load_start = time.time(), environment.loadavg()
    run = set_up(args)
    pythons, ours_file = run["pythons"], run["ours_info"]["file"]
    if args.instructions:
        per = measure.instructions_per_packet(run["readers"], pythons, run["baseline"], run["files"],
                                              args.timeout * 50)
        print(report.instructions_table(per, run["files"], run["missing"]))
        log(f"done in {time.time() - started:.0f} s")
        return 0
    so_mtime = os.path.getmtime(ours_file) if os.path.exists(ours_file) else None
    live_configs, live_note = live_plan(args, pythons)
    veths = None
    if any(c[4].get("multi") for c in live_configs):
        veths, why = environment.make_veths(VETHS)
        if why:
            log(f"no capture of two interfaces: {why}")
    dask_runs, dask_round = None, None
    if not args.no_dask and "ours" in pythons:
        dask_runs = measure.DaskRuns(pythons["ours"], run["files"]["small"][0], run["work"], args.timeout * 10)

        def dask_round(rnd):
            if rnd < DASK_ROUNDS:
                log(f"examples/dask_flows.py, round {rnd + 1}/{min(args.rounds, DASK_ROUNDS)}")
                dask_runs.round()
    runs, live_runs = measure.rounds(run["readers"], live_configs, pythons, run["baseline"], run["files"], args,
                                     veths, after_round=dask_round)
    dask = dask_runs.out if dask_runs is not None else None
    sm = {rd.id: report.Summary(rd, runs[rd.id], run["files"][rd.file][1]) for rd in run["readers"]}
    live = {k: report.LiveSummary(v) for k, v in live_runs.items()}
    table = report_tables(args, run, sm, live, live_note, dask)
    if (args.replay or args.full) and "ours" in pythons:
        import replay
        why = replay.missing_tools()
        log("replay rows" + (f": skipped, {why}" if why else ""))
        table += "\n\n" + (f"## Replay onto a veth pair (issue 24)\n\nNot measured: {why}." if why else
                            replay.measure_rows(pythons["ours"], 100_000, min(args.rounds, 3), run["work"]))
    if so_mtime is not None and os.path.exists(ours_file) and os.path.getmtime(ours_file) != so_mtime:
        table = f"**Warning: {ours_file} was rebuilt during this run: its rows mix two builds.**\n\n" + table
        log("warning: our module was rebuilt during the run")
    print(table)
    elapsed = time.time() - started
    raw = {"args": vars(args), "machine": environment.machine(run["ours_info"]), "versions": run["versions"],
           "missing": run["missing"], "unavailable": run["unavailable"], "runs": runs, "live": live_runs,
           "elapsed": elapsed, "load": [load_start, environment.loadavg()]}
    save(args, argv, run, table, raw)
    log(f"done in {elapsed:.0f} s")
    ok = all(s.ok for s in sm.values() if s.reader.impl in ("c", "ours"))
    return 0 if ok and all(not s.errors for k, s in live.items() if k.startswith("ours")) else 1


if __name__ == "__main__":
    sys.exit(main())
