"""The module against tshark and libpcap on every pcapng file of a corpus.

    python tools/pcapng_corpus.py [--git GITDIR]... [--show N] [PATH]...

Each PATH is a file or a directory (searched through); each GITDIR a git
directory (a bare mirror too) whose HEAD's files are read with git.  A
file is pcapng when it starts with a Section Header Block (0a0d0d0a), or
is gzip of one.  For each, the module (pcap.pcap, as a regular file),
tshark and libpcap (tests/ref_reader.c, built here) read every packet:
the module must show what tshark shows (interface, time stamp in ns,
lengths, bytes, comments, epb_flags, dropcount, packet id; tests/support.py
Shown) and, where libpcap reads the whole file, what libpcap gives.

It prints one row a corpus (files, tshark reads, libpcap reads, module
opens, module == tshark, module == libpcap where libpcap reads), then each
file where the module differs from tshark or libpcap with the first
difference (--show N: the first N of each corpus; all by default).  Run
from the repository root with the module built (make setup); needs tshark,
cc and libpcap's headers.  Exit status 0: the comparison ran (differences
are the report, not a failure).
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import build_ref_reader, first_difference, module_packets, parse_reference, tshark_packets  # noqa: E402

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
LARGEST = 64 * 1024 * 1024      # files larger are left out


def as_pcapng(content):
    """The pcapng bytes of a file's content, or None when it is not pcapng
    (nor gzip of pcapng)."""
    data = content
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return None
    return data if data[:4] == PCAPNG_MAGIC and len(data) >= 12 else None


def files_under(path):
    """(name, bytes) of the pcapng files at or under ``path``."""
    paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    for p in paths:
        if p.stat().st_size > LARGEST:
            continue
        with open(p, "rb") as f:
            if f.read(4)[:2] not in (PCAPNG_MAGIC[:2], b"\x1f\x8b"):
                continue
        data = as_pcapng(p.read_bytes())
        if data is not None:
            yield str(p), data


def files_in_git(gitdir):
    """(name, bytes) of the pcapng files of HEAD of the git directory."""
    git = ["git", "--git-dir", str(gitdir)]
    listing = subprocess.run([*git, "ls-tree", "-r", "-l", "-z", "HEAD"], check=True, capture_output=True).stdout
    blobs = []
    for entry in listing.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        fields = meta.split()
        # (A size that is no number: a blob the mirror lacks.)
        if len(fields) == 4 and fields[1] == b"blob" and fields[3].isdigit() and 12 <= int(fields[3]) <= LARGEST:
            blobs.append((name.decode(errors="replace"), fields[2]))
    with subprocess.Popen([*git, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as cat:
        for name, sha in blobs:
            cat.stdin.write(sha + b"\n")
            cat.stdin.flush()
            size = int(cat.stdout.readline().split()[2])
            content = cat.stdout.read(size)
            cat.stdout.read(1)
            data = as_pcapng(content)
            if data is not None:
                yield name, data
        cat.stdin.close()


def corpus_name(gitdir):
    """owner/name@commit of a mirror (…/owner+name/repo), or the path's name@commit."""
    commit = subprocess.run(["git", "--git-dir", str(gitdir), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    parts = [p for p in Path(gitdir).resolve().parts if p not in ("repo", ".git")]
    return f"{parts[-1].replace('+', '/')}@{commit[:12]}"


def libpcap_shows(ref_reader, path):
    """(packets as (ts ns, caplen, wirelen, bytes), whether libpcap read to the end, its outcome)."""
    out = subprocess.run([str(ref_reader), str(path)], capture_output=True, text=True, errors="replace",
                         timeout=300).stdout
    packets, outcome = parse_reference(out)[str(path)]
    got = [(sec * 10**9 + frac, caplen, wirelen, bytes.fromhex(data)) for sec, frac, caplen, wirelen, data in packets]
    return got, outcome == ("E", "end"), " ".join(outcome)


def compare(path, ref_reader):
    """One file's row: what each reader made of it, and the differences."""
    theirs, complaint = tshark_packets(path, timeout=600)
    ours, error = module_packets(path)
    libpcap, libpcap_reads, libpcap_outcome = libpcap_shows(ref_reader, path)
    row = {"tshark": complaint is None, "libpcap": libpcap_reads, "opens": error is None or not error.startswith("open:")}
    difference = first_difference(ours, theirs)
    if difference is None and (error is None) != (complaint is None):
        difference = f"after {len(ours)} packets the module says {error!r}, tshark {complaint!r}"
    elif difference is not None and error is not None:
        difference += f" (the module stopped: {error})"
    row["same_tshark"] = difference is None
    row["tshark_difference"] = difference
    if libpcap_reads:
        mine = [(s.timestamp, s.caplen, s.wirelen, s.data) for s in ours]
        row["same_libpcap"] = mine == libpcap and error is None
        if not row["same_libpcap"]:
            n = next((k for k, (a, b) in enumerate(zip(mine, libpcap)) if a != b), min(len(mine), len(libpcap)))
            row["libpcap_difference"] = (f"packet {n + 1}: module {mine[n][:3] if n < len(mine) else None} "
                                         f"libpcap {libpcap[n][:3] if n < len(libpcap) else None}; "
                                         f"{len(mine)} vs {len(libpcap)} packets; module error {error!r}")
    else:
        row["libpcap_outcome"] = libpcap_outcome
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or directories")
    parser.add_argument("--git", action="append", default=[], type=Path, help="a git directory: the files of HEAD")
    parser.add_argument("--show", type=int, default=None, help="differences listed per corpus (default: all)")
    parser.add_argument("--each", action="store_true", help="also a line for each file: what each reader made of it")
    args = parser.parse_args(argv)
    if not args.paths and not args.git:
        parser.error("name a file, a directory or a --git directory")
    corpora = [(corpus_name(g), lambda g=g: files_in_git(g)) for g in args.git]
    corpora += [(str(p), lambda p=p: files_under(p)) for p in args.paths]
    columns = ["files", "tshark reads", "libpcap reads", "module opens", "module == tshark",
               "module == libpcap (libpcap reads)"]
    rows, report = [], []
    with tempfile.TemporaryDirectory(prefix="pcapng-corpus-") as tmp:
        ref_reader = build_ref_reader(tmp)
        total = dict.fromkeys(columns, 0)
        for name, files in corpora:
            counts = dict.fromkeys(columns, 0)
            differing = []
            for k, (file_name, data) in enumerate(files()):
                path = Path(tmp) / f"{k}.pcapng"
                path.write_bytes(data)
                row = compare(path, ref_reader)
                if args.each:
                    print(f"{name}\t{file_name}\t{len(data)} bytes\ttshark {'reads' if row['tshark'] else 'stops'}"
                          f"\tlibpcap {'reads' if row['libpcap'] else row['libpcap_outcome'][:90]}"
                          f"\tmodule {'opens' if row['opens'] else 'refuses'}"
                          f"\t{'== tshark' if row['same_tshark'] else '!= tshark'}", file=sys.stderr, flush=True)
                path.unlink()
                counts["files"] += 1
                counts["tshark reads"] += row["tshark"]
                counts["libpcap reads"] += row["libpcap"]
                counts["module opens"] += row["opens"]
                counts["module == tshark"] += row["same_tshark"]
                counts["module == libpcap (libpcap reads)"] += row.get("same_libpcap", False)
                if not row["same_tshark"]:
                    differing.append(f"  {file_name}: tshark: {row['tshark_difference']}"
                                     + ("" if row["libpcap"] else f" [libpcap: {row['libpcap_outcome'][:100]}]"))
                if row["libpcap"] and not row["same_libpcap"]:
                    differing.append(f"  {file_name}: libpcap: {row['libpcap_difference']}")
            rows.append((name, counts))
            for c in columns:
                total[c] += counts[c]
            if differing:
                report.append(f"{name}: {len(differing)} differences")
                report += differing[:args.show] if args.show is not None else differing
        rows.append(("total", total))
    width = max(len(n) for n, _ in rows)
    print(f"{'corpus':<{width}}  " + "  ".join(columns))
    for name, counts in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{counts[c]:>{len(c)}}" for c in columns))
    if report:
        print()
        print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
