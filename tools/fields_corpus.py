"""Put the public part of the header-fields corpus where the tests read it.

    python tools/fields_corpus.py [--mirrors DIR] [--git OWNER/NAME=GITDIR]... [DEST]

tests/data/fields/real-corpus.tsv lists each capture (and the spec's
Community ID vectors) by repository, commit, path and SHA-256; this copies
each out of a git directory of its repository (a bare mirror will do:
``--git owner/name=GITDIR``, or ``--mirrors DIR`` for DIR/owner+name/repo,
the layout of the project library's fetch), checks its SHA-256, and writes
it into DEST (tests/data/fields/real/ by default, which git ignores; the
tests also look where PCAP_FIELDS_CORPUS points).  The ``cut`` rows then
make copies cut short by a snaplen, as ``editcap -s`` does: each record's
captured length at most the snaplen, its wire length kept, and the file
header's snaplen set.

Why the files are not in the repository: tests/data/fields/README.md.
Exit status 1 if a file is missing from its repository or differs from
its SHA-256.
"""
import argparse
import hashlib
import pathlib
import struct
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "data" / "fields" / "real-corpus.tsv"


def read_manifest(path=MANIFEST):
    """(files, cuts): files as dicts of the manifest's columns, cuts as
    (name, source name, snaplen)."""
    files, cuts = [], []
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if cols[0] == "cut":
            cuts.append((cols[1], cols[2], int(cols[3])))
        else:
            files.append(dict(zip(("name", "repo", "commit", "path", "sha256", "licence"), cols)))
    return files, cuts


def cut_short(data, snaplen):
    """A classic savefile's bytes with every record cut to ``snaplen``."""
    magic = struct.unpack_from("<I", data)[0]
    order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    header = bytearray(data[:24])
    struct.pack_into(order + "I", header, 16, snaplen)
    out, at = [bytes(header)], 24
    while at + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from(order + "IIII", data, at)
        keep = min(incl, snaplen)
        out.append(struct.pack(order + "IIII", sec, frac, keep, orig) + data[at + 16:at + 16 + keep])
        at += 16 + incl
    return b"".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=pathlib.Path, help="DIR holding owner+name/repo git directories")
    parser.add_argument("--git", action="append", default=[], metavar="OWNER/NAME=GITDIR")
    parser.add_argument("dest", nargs="?", type=pathlib.Path, default=ROOT / "tests" / "data" / "fields" / "real")
    args = parser.parse_args(argv)
    gitdirs = dict(item.split("=", 1) for item in args.git)
    files, cuts = read_manifest()
    args.dest.mkdir(parents=True, exist_ok=True)
    failed = 0
    for entry in files:
        gitdir = gitdirs.get(entry["repo"])
        if gitdir is None and args.mirrors is not None:
            gitdir = args.mirrors / entry["repo"].replace("/", "+") / "repo"
        if gitdir is None:
            print(f"{entry['name']}: no git directory for {entry['repo']} (--git or --mirrors)", file=sys.stderr)
            failed += 1
            continue
        proc = subprocess.run(["git", "--git-dir", str(gitdir), "show", f"{entry['commit']}:{entry['path']}"],
                              capture_output=True)
        if proc.returncode != 0:
            print(f"{entry['name']}: {proc.stderr.decode(errors='replace').strip()}", file=sys.stderr)
            failed += 1
            continue
        if hashlib.sha256(proc.stdout).hexdigest() != entry["sha256"]:
            print(f"{entry['name']}: SHA-256 differs from the manifest's", file=sys.stderr)
            failed += 1
            continue
        (args.dest / entry["name"]).write_bytes(proc.stdout)
    for name, source, snaplen in cuts:
        src = args.dest / source
        if src.exists():
            (args.dest / name).write_bytes(cut_short(src.read_bytes(), snaplen))
    written = sorted(p for p in args.dest.iterdir() if p.is_file())
    print(f"{len(written)} files, {sum(p.stat().st_size for p in written)} bytes in {args.dest}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
