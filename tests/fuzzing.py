"""The libFuzzer harnesses of the module's C savefile readers: one per
reader, tests/fuzz/fuzz_<name>.c, each built with clang under
AddressSanitizer and UndefinedBehaviorSanitizer against the module's C
sources, and run from a seed corpus of savefiles written here.

    python tests/fuzzing.py [--seconds N] [NAME ...]    (make fuzz)

runs each harness (every one of HARNESSES by default) for N seconds in
turn, one process at a time, its corpus kept in .fuzz/corpus/NAME from one
run to the next, and reports what it found: .fuzz/findings/NAME/crash-...,
replayed with ``.fuzz/build/fuzz_NAME FILE``.  tests/test_fuzz.py runs a
short round of each.  A new harness is one entry in HARNESSES (and its seed
set in SEEDS if none fits).
"""
import argparse
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import support

ROOT = Path(__file__).resolve().parent.parent
FUZZ_DIR = ROOT / "tests" / "fuzz"
WORK = ROOT / ".fuzz"
# The module's C that the harnesses drive, and what it calls.
C_SOURCES = ["pcap_stream.c", "packet_batch.c", "pcapng_reader.c", "savefile_split.c", "wait.c"]
# A stream buffer of 4 KiB, not 64: inputs of a few KiB already move and grow it.
CFLAGS = ["-g", "-O1", "-fno-sanitize-recover=all", "-DSTREAM_BUFFER=4096", f"-I{ROOT}", f"-I{FUZZ_DIR}"]
FUZZER_FLAGS = ["-max_len=16384", "-timeout=10", "-rss_limit_mb=1024", "-print_final_stats=1"]


class Unavailable(Exception):
    """clang or libFuzzer is missing: the message says what to install."""


# -- seeds -----------------------------------------------------------------------------

def _written(writer, *args, **kw):
    """The bytes a tests/support.py writer writes."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "seed"
        writer(path, *args, **kw)
        return path.read_bytes()


def classic_seeds():
    """Classic pcap files of every kind the stream, the record reader and
    libpcap's path tell apart: both byte orders, nanoseconds, the modified
    format, versions before 2.4, link types libpcap rewrites, records over
    the snapshot length and over libpcap's limit, files cut short."""
    seeds = {}
    packets = [(1, 2, support.udp_frame(b"x" * n)) for n in (0, 5, 40, 120)]

    def write(name, **kw):
        seeds[name] = _written(support.write_pcap, packets, **kw)

    write("le.pcap")
    write("be.pcap", byteorder=">")
    write("nano.pcap", nano=True)
    write("be-nano.pcap", byteorder=">", nano=True)
    write("snaplen.pcap", snaplen=64)
    write("snaplen0.pcap", snaplen=0)
    for linktype in (113, 117, 189, 220, 231, 249):    # rewritten, or a caplen limit of their own
        write(f"lt{linktype}.pcap", linktype=linktype)
        write(f"lt{linktype}-be.pcap", linktype=linktype, byteorder=">")
    le = seeds["le.pcap"]
    seeds["cut-header.pcap"] = le[:24 + 10]
    seeds["cut-packet.pcap"] = le[:-7]
    seeds["cut-file-header.pcap"] = le[:20]
    for order in "<>":
        tag = "le" if order == "<" else "be"
        for version in ((2, 2), (2, 3), (2, 1), (543, 0)):
            head = struct.pack(order + "IHHiIII", 0xA1B2C3D4, *version, 0, 0, 65535, 1)
            seeds[f"v{version[0]}.{version[1]}-{tag}.pcap"] = head + b"".join(
                struct.pack(order + "IIII", 1, 2, cap, wire) + bytes(cap) for cap, wire in ((60, 60), (80, 60), (60, 80)))
        modified = struct.pack(order + "IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)
        for sec, frac, data in packets:
            modified += struct.pack(order + "IIII", sec, frac, len(data), len(data)) + struct.pack(order + "iHBB", 3, 0x800, 0, 0) + data
        seeds[f"modified-{tag}.pcap"] = modified
        head = struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 100, 1)
        seeds[f"over-{tag}.pcap"] = head + b"".join(
            struct.pack(order + "IIII", 1, 2, cap, cap) + bytes(min(cap, 300)) for cap in (150, 10, 262145, 5))
        seeds[f"huge-snaplen-{tag}.pcap"] = struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0x7FFFFFFF, 1) + \
            struct.pack(order + "IIII", 1, 2, 4, 4) + b"abcd"
    # What fuzz_classic found: a record libpcap refuses (caplen over its
    # limit), then bytes that read as records: they were read as packets
    # after the error (tests/test_fuzz_findings.py).
    seeds["finding-after-refused.pcap"] = (struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 100, 1)
                                           + struct.pack(">IIII", 1, 2, 10, 10) + bytes(10)
                                           + struct.pack(">IIII", 1, 2, 262145, 262145) + bytes(160))
    return seeds


class Pcapng:
    """pcapng blocks in one byte order, by hand (every block type the
    reader tells apart, with options)."""

    def __init__(self, order):
        self.o = order

    def block(self, btype, body, trailer=None):
        body += b"\0" * (-len(body) % 4)
        total = 12 + len(body)
        return (struct.pack(self.o + "II", btype, total) + body
                + struct.pack(self.o + "I", total if trailer is None else trailer))

    def option(self, code, value):
        return struct.pack(self.o + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)

    def options(self, *pairs):
        return b"".join(self.option(c, v) for c, v in pairs) + (self.option(0, b"") if pairs else b"")

    def u64(self, v):
        return struct.pack(self.o + "Q", v & (1 << 64) - 1)

    def shb(self, *opts, major=1, minor=0):
        return self.block(0x0A0D0D0A, struct.pack(self.o + "IHHq", 0x1A2B3C4D, major, minor, -1) + self.options(*opts))

    def idb(self, linktype=1, snaplen=65535, *opts):
        return self.block(1, struct.pack(self.o + "HHI", linktype, 0, snaplen) + self.options(*opts))

    def epb(self, iface, data, ts=1700000000000000, wirelen=None, *opts):
        return self.block(6, struct.pack(self.o + "IIIII", iface, ts >> 32 & 0xFFFFFFFF, ts & 0xFFFFFFFF, len(data),
                                         len(data) if wirelen is None else wirelen)
                          + data + b"\0" * (-len(data) % 4) + self.options(*opts))

    def pb(self, iface, data, drops=0xFFFF, ts=1700000000000000, *opts):
        return self.block(2, struct.pack(self.o + "HHIIII", iface, drops, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
                          + data + b"\0" * (-len(data) % 4) + self.options(*opts))

    def spb(self, data, wirelen=None):
        return self.block(3, struct.pack(self.o + "I", len(data) if wirelen is None else wirelen) + data)

    def isb(self, iface, *opts):
        return self.block(5, struct.pack(self.o + "III", iface, 0, 5) + self.options(*opts))

    def nrb(self):
        record = struct.pack(self.o + "HH", 1, 9) + bytes([10, 0, 0, 1]) + b"host\0"
        return self.block(4, record + b"\0" * (-len(record) % 4) + struct.pack(self.o + "HH", 0, 0))


def pcapng_seeds():
    """pcapng files: the test suite's writers (write_pcapng, pcapng_mixed in
    every layout), and by hand every block type (SHB, IDB, EPB, SPB, PB,
    ISB, NRB, DSB, custom, unknown), the options of interfaces, packets and
    statistics in both byte orders, sections of different byte orders,
    if_tsresol in powers of 10 and of 2 (also past the limits), if_tsoffset,
    link types of other limits, interfaces after packets (filters for
    them), files libpcap refuses that the reader reads, and damage."""
    seeds = {}
    packets = [(1, 2, support.udp_frame(b"x" * n)) for n in (0, 5, 40)]
    for order in "<>":
        for tsresol in (6, 9):
            seeds[f"written-{order == '<'}-{tsresol}.pcapng"] = _written(support.write_pcapng, packets,
                                                                         byteorder=order, tsresol=tsresol)
    rng = random.Random(1)
    for order in "<>":
        tag = "le" if order == "<" else "be"
        for layout in ("interfaces", "linktypes", "sections", "refused", "snaplen"):
            for linktype in (1, 113, 220):
                seeds[f"mixed-{layout}-{linktype}-{tag}.pcapng"] = support.pcapng_mixed(
                    order, rng, linktype, 80 if layout == "snaplen" else 65535, layout)
    udp = support.udp_frame(b"payload")
    for order in "<>":
        tag = "le" if order == "<" else "be"
        b = Pcapng(order)
        every = (b.shb((1, b"section comment"), (2, b"x86_64"), (3, b"Linux"), (4, b"fuzz"))
                 + b.nrb()
                 + b.idb(1, 0, (2, b"eth0"), (3, b"the first"), (8, b.u64(10 ** 9)), (9, b"\x06"),
                         (11, b"\0udp"), (12, b"Linux"), (13, b"\x04"), (14, b.u64(-5)), (15, b"nic"), (1, b"c"))
                 + b.idb(101, 1500, (9, b"\x89"))
                 + b.epb(0, udp, 1, None, (2, struct.pack(order + "I", 1)), (4, b.u64(3)), (5, b.u64(42)), (1, b"hi"))
                 + b.epb(1, udp[14:], 1 << 40)
                 + b.spb(udp)
                 + b.pb(0, udp, 7, 5, (2, struct.pack(order + "I", 2)))
                 + b.isb(0, (2, b.u64(1)), (3, b.u64(2)), (4, b.u64(10)), (5, b.u64(1)), (6, b.u64(9)),
                         (7, b.u64(0)), (8, b.u64(9)), (1, b"stats"))
                 + b.isb(7)
                 + b.block(0x0A, struct.pack(order + "II", 0x544c534b, 4) + b"abcd")   # decryption secrets
                 + b.block(0xBAD, struct.pack(order + "I", 32473) + b"custom")
                 + b.block(0x40000BAD, struct.pack(order + "I", 32473) + b"custom")
                 + b.block(0x12345678, b"unknown")
                 + b.epb(0, udp))
        seeds[f"every-block-{tag}.pcapng"] = every
        # if_tsresol: powers of 10 and of 2, and past what either reader takes
        for resol in (0, 1, 3, 6, 7, 9, 12, 19, 20, 0x80, 0x83, 0x8A, 0x9E, 0xBF, 0xC0, 0xFF):
            seeds[f"tsresol-{resol:02x}-{tag}.pcapng"] = (
                b.shb() + b.idb(1, 65535, (9, bytes([resol])), (9, b"\x09"), (14, b.u64(1 << 40)))
                + b.epb(0, udp, (1 << 64) - 1) + b.epb(0, udp, 12345))
        # a packet longer than the interface's snapshot length; link types of
        # other limits (DBUS, USBPCAP) and ones libpcap rewrites
        seeds[f"snaplen-{tag}.pcapng"] = (b.shb() + b.idb(1, 20) + b.spb(udp) + b.epb(0, udp)
                                           + b.idb(231, 0) + b.epb(1, bytes(300)) + b.idb(249, 0) + b.epb(2, udp))
        # packets longer than the first interface's snapshot length (a batch's
        # data is sized by it): one waits for the next batch, or does not fit one
        seeds[f"wider-than-first-{tag}.pcapng"] = (b.shb() + b.idb(1, 20) + b.epb(0, bytes(10)) + b.epb(0, bytes(60))
                                                    + b.epb(0, bytes(5)) + b.epb(0, bytes(3000)) + b.epb(0, bytes(1)))
        # interfaces after packets, of link types a filter compiles for or not
        seeds[f"late-interfaces-{tag}.pcapng"] = (b.shb() + b.idb() + b.epb(0, udp) + b.idb(101) + b.epb(1, udp[14:])
                                                   + b.epb(0, udp) + b.idb(147) + b.epb(2, udp) + b.idb(113)
                                                   + b.epb(3, udp))
        # libpcap refuses these at once; the reader reads them
        seeds[f"no-interface-{tag}.pcapng"] = b.shb() + b.nrb()
        seeds[f"odd-options-{tag}.pcapng"] = b.shb() + b.idb(1, 65535, (9, b"\x09\x09")) + b.epb(0, udp)
        seeds[f"version-{tag}.pcapng"] = b.shb(major=1, minor=2) + b.idb() + b.epb(0, udp)
        # damage: a trailer that disagrees, a block cut short, an unknown interface
        seeds[f"trailer-{tag}.pcapng"] = b.shb() + b.idb() + b.block(6, bytes(40), trailer=48) + b.epb(0, udp)
        seeds[f"cut-{tag}.pcapng"] = (b.shb() + b.idb() + b.epb(0, udp))[:-9]
        seeds[f"unknown-interface-{tag}.pcapng"] = b.shb() + b.idb() + b.epb(3, udp) + b.epb(0, udp)
        # blocks too short for their type
        for btype, body in ((1, b""), (1, bytes(4)), (5, bytes(8)), (2, bytes(16)), (3, b""), (6, bytes(16)),
                            (0x0A0D0D0A, struct.pack(order + "IHH", 0x1A2B3C4D, 1, 0))):
            seeds[f"short-{btype:x}-{12 + len(body)}-{tag}.pcapng"] = (b.shb() + b.idb() + b.epb(0, udp)
                                                                       + b.block(btype, body) + b.epb(0, udp))
    # sections of different byte orders, each with its own interfaces
    le, be = Pcapng("<"), Pcapng(">")
    seeds["sections-le-be.pcapng"] = (le.shb() + le.idb() + le.epb(0, udp) + le.isb(0, (4, le.u64(1)))
                                      + be.shb() + be.idb(101, 1500, (9, b"\x09")) + be.idb() + be.epb(1, udp)
                                      + be.spb(udp[14:]) + le.shb() + le.shb() + le.idb(1, 0, (9, b"\x88"))
                                      + le.pb(0, udp))
    seeds["sections-be-le.pcapng"] = (be.shb() + be.idb() + be.epb(0, udp) + le.shb() + le.idb() + le.epb(0, udp)
                                      + be.shb() + be.idb(113) + be.epb(0, udp))
    seeds.update(pcapng_findings())
    return seeds


def pcapng_findings():
    """What fuzz_pcapng found, each made small by hand (the harness's turns
    come from the bytes: each of these made it fail before its fix).  The
    Python-side of each is in tests/test_fuzz_findings.py."""
    udp = support.udp_frame(b"payload")
    le, be = Pcapng("<"), Pcapng(">")
    many = 4096 // 64 + 2       # (blocks of 64 bytes past the fuzz build's 4 KiB stream buffer)
    return {
        # A section of the other byte order after a packet with options: the
        # packet and the interfaces before it were read in the new order.
        "finding-section-order.pcapng": (
            le.shb() + le.idb(1, 65535, (2, b"eth0")) + le.pb(0, udp, 1, 5, (1, b"last of the first"))
            + be.shb() + be.idb(1, 65535, (2, b"eth1")) + be.epb(0, udp) + be.epb(0, udp)),
        # An interface of a link type libpcap rewrites (Linux SLL in the other
        # byte order) after the first: refused, its copy leaked.
        "finding-refused-interface.pcapng": be.shb() + be.idb() + be.epb(0, udp) + be.idb(113) + be.epb(1, udp),
        # An interface after packets, read ahead (interfaces()) while
        # filtering: its packets were filtered with no program (NULL).
        "finding-late-interface.pcapng": (
            le.shb() + le.idb() + le.epb(0, udp) + le.idb(101) + le.epb(1, udp[14:]) + le.epb(1, udp[14:])
            + le.block(0xBAD, struct.pack("<I", 1) + bytes(44))),
        # A batch's last packet, then a block past the stream buffer's end: the
        # bytes moved under the packet Python reads the options of.
        "finding-fill-moves.pcapng": (
            le.shb() + le.idb() + le.block(0xBAD, struct.pack("<I", 1))
            + b"".join(le.epb(0, bytes(16), i, None, (1, b"p%07d" % i)) for i in range(many))
            + le.block(0xBAD, struct.pack("<I", 1) + bytes(200)) + le.epb(0, udp)),
        # The same with a block that says it is 256 KiB: the buffer grows
        # (realloc), and the packet's block was freed.
        "finding-fill-grows.pcapng": (le.shb() + le.idb() + le.epb(0, udp, 1, None, (1, b"comment"))
                                      + struct.pack("<II", 6, 0x40000) + bytes(100)),
    }


def split_seeds():
    """pcapng of several sections of both byte orders with interfaces and
    statistics, whole and cut short, for the split index; and the file
    whose refused interface once leaked (LeakSanitizer)."""
    seeds = {}
    for order, name in (("<", "le"), (">", "be")):
        with tempfile.TemporaryDirectory() as d:
            whole = support.pcapng_sections(Path(d) / "s.pcapng", 1, order, packets=2)[0].read_bytes()
        seeds[f"sections-{name}.pcapng"] = whole
        seeds[f"sections-cut-{name}.pcapng"] = whole[:-9]
        seeds[f"finding-refused-interface-leaked-{name}.pcapng"] = _written(
            support.write_pcapng, [(1, 2, support.udp_frame(b"x"))], byteorder=order, linktype=113)
    return seeds


# seed set -> what writes it: {file name: bytes}
SEEDS = {"classic": classic_seeds, "pcapng": lambda: {**pcapng_seeds(), **split_seeds()}}

# harness (tests/fuzz/fuzz_<name>.c) -> the seed sets its corpus starts from
HARNESSES = {
    "classic": ("classic",),
    "pcapng": ("pcapng",),
    "split": ("classic", "pcapng"),
}


def write_corpus(name, corpus):
    """The seeds of harness ``name`` into the directory ``corpus``."""
    corpus.mkdir(parents=True, exist_ok=True)
    for seed_set in HARNESSES[name]:
        for file, data in SEEDS[seed_set]().items():
            (corpus / f"seed-{seed_set}-{file}").write_bytes(data)


# -- build and run ----------------------------------------------------------------------

def _clang():
    clang = shutil.which("clang")
    if clang is None:
        raise Unavailable("clang is not installed (apt-get install clang libfuzzer-14-dev libclang-rt-14-dev)")
    return clang


def build_objects(out):
    """The module's C sources, instrumented for the fuzzer, into ``out``
    (once for every harness): the object files."""
    clang = _clang()
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for source in C_SOURCES:
        obj = out / (Path(source).stem + ".o")
        subprocess.run([clang, *CFLAGS, "-fsanitize=fuzzer-no-link,address,undefined", "-c", str(ROOT / source),
                        "-o", str(obj)], check=True, capture_output=True, text=True)
        objects.append(obj)
    return objects


def build(name, objects, out):
    """tests/fuzz/fuzz_<name>.c linked with ``objects`` into ``out``: the
    executable.  Unavailable when clang cannot link libFuzzer."""
    exe = out / f"fuzz_{name}"
    proc = subprocess.run([_clang(), *CFLAGS, "-fsanitize=fuzzer,address,undefined", str(FUZZ_DIR / f"fuzz_{name}.c"),
                           *map(str, objects), "-lpcap", "-o", str(exe)], capture_output=True, text=True)
    if proc.returncode != 0 and "clang_rt.fuzzer" in proc.stderr:
        raise Unavailable("clang cannot link libFuzzer (apt-get install libfuzzer-14-dev libclang-rt-14-dev): "
                          + proc.stderr.strip()[-300:])
    if proc.returncode != 0:
        raise RuntimeError(f"building fuzz_{name} failed:\n{proc.stderr}")
    return exe


@dataclass
class Outcome:
    name: str
    seconds: int
    returncode: int
    elapsed: float = 0.0
    executions: int = 0
    corpus: int = 0
    findings: list = field(default_factory=list)
    log: str = ""

    @property
    def clean(self):
        return self.returncode == 0 and not self.findings and "Done" in self.log

    def summary(self):
        what = "no finding" if self.clean else f"FINDINGS {[str(f) for f in self.findings] or self.log[-2000:]}"
        return (f"fuzz_{self.name}: {self.elapsed:.0f} s, {self.executions} executions "
                f"({self.executions / max(self.elapsed, 1):.0f}/s), corpus {self.corpus}: {what}")


def run(name, exe, corpus, seconds, artifacts, extra=()):
    """Run harness ``name`` (built as ``exe``) for ``seconds`` from
    ``corpus`` (which it adds to), one process, findings into the directory
    ``artifacts``."""
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    started = time.monotonic()
    proc = subprocess.run([str(exe), f"-max_total_time={seconds}", *FUZZER_FLAGS, f"-artifact_prefix={artifacts}/",
                           *extra, str(corpus)], capture_output=True, text=True, timeout=seconds + 300)
    found = sorted(p for p in set(artifacts.iterdir()) - before
                   if p.name.startswith(("crash-", "leak-", "timeout-", "oom-", "slow-unit-")))
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", proc.stderr))
    return Outcome(name, seconds, proc.returncode, time.monotonic() - started,
                   int(stats.get("number_of_executed_units", 0)),
                   sum(1 for _ in corpus.iterdir()), found, proc.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "300")),
                        help="how long each harness runs (FUZZ_SECONDS, 300 by default)")
    parser.add_argument("names", nargs="*", default=sorted(HARNESSES), help=f"harnesses, of {sorted(HARNESSES)}")
    args = parser.parse_args(argv)
    try:
        objects = build_objects(WORK / "build" / "objects")
        exes = {name: build(name, objects, WORK / "build") for name in args.names}
    except Unavailable as e:
        print(f"fuzzing: {e}", file=sys.stderr)
        return 2
    outcomes = []
    for name in args.names:
        corpus = WORK / "corpus" / name
        write_corpus(name, corpus)
        print(f"fuzzing: fuzz_{name} for {args.seconds} s from {corpus}, "
              f"{time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
        outcome = run(name, exes[name], corpus, args.seconds, WORK / "findings" / name)
        print(f"fuzzing: {outcome.summary()}", flush=True)
        if not outcome.clean:
            print(f"fuzzing: replay with {exes[name]} FILE", flush=True)
        outcomes.append(outcome)
    return 0 if all(o.clean for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
