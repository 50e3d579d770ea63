"""The module's C parsers of savefile bytes under libFuzzer, AddressSanitizer
and UndefinedBehaviorSanitizer (tests/fuzz/fuzz_savefile.c; the split index,
tests/fuzz/fuzz_split.c), for a bounded time from a seed corpus of small
savefiles.  FUZZ_SECONDS sets the time
(20 by default); a crash leaves its input in the test's tmp_path, and the
message says how to replay it."""
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from support import need, pcapng_mixed, pcapng_sections, udp_frame, write_pcap, write_pcapng

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "fuzz" / "fuzz_savefile.c"
# The C files the harness drives, and what they call.
C_SOURCES = ["pcap_stream.c", "packet_batch.c", "pcapng_reader.c", "savefile_split.c", "wait.c"]
SECONDS = int(os.environ.get("FUZZ_SECONDS", "20"))


def write_seeds(corpus):
    """Small savefiles of every kind the parsers tell apart: both byte
    orders, nanoseconds, the modified format, pcapng, an odd link type, a
    record over the snapshot length, and files cut short in a header and in
    a packet."""
    packets = [(1, 2, udp_frame(b"x" * n)) for n in (0, 5, 40)]
    write_pcap(corpus / "le.pcap", packets)
    write_pcap(corpus / "be.pcap", packets, byteorder=">")
    write_pcap(corpus / "nano.pcap", packets, nano=True)
    write_pcap(corpus / "be-nano.pcap", packets, byteorder=">", nano=True)
    write_pcap(corpus / "snaplen.pcap", packets + [(3, 4, b"y" * 90)], snaplen=64)
    write_pcap(corpus / "sll.pcap", packets, byteorder=">", linktype=113)
    write_pcapng(corpus / "le.pcapng", packets)
    write_pcapng(corpus / "be.pcapng", packets, byteorder=">", tsresol=9)
    rng = random.Random(1)
    for layout in ("interfaces", "sections", "refused"):
        (corpus / f"mixed-{layout}.pcapng").write_bytes(pcapng_mixed("<", rng, layout=layout))
    whole = (corpus / "le.pcap").read_bytes()
    (corpus / "cut-header.pcap").write_bytes(whole[:24 + 10])
    (corpus / "cut-packet.pcap").write_bytes(whole[:-7])
    (corpus / "cut-pcapng").write_bytes((corpus / "le.pcapng").read_bytes()[:-5])
    modified = bytearray(whole[:24])
    modified[:4] = (0xA1B2CD34).to_bytes(4, "little")
    for sec, frac, data in packets:
        modified += (sec.to_bytes(4, "little") + frac.to_bytes(4, "little") + len(data).to_bytes(4, "little") * 2
                     + bytes(8) + data)
    (corpus / "modified.pcap").write_bytes(bytes(modified))


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    clang = shutil.which("clang")
    need(clang is not None, "clang is not installed (apt-get install clang libfuzzer-14-dev libclang-rt-14-dev)")
    out = tmp_path_factory.mktemp("fuzz") / "fuzz_savefile"
    proc = subprocess.run([clang, "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
                           f"-I{ROOT}", str(HARNESS), *(str(ROOT / c) for c in C_SOURCES), "-lpcap", "-o", str(out)],
                          capture_output=True, text=True)
    need(proc.returncode == 0 or "clang_rt.fuzzer" not in proc.stderr,
         f"clang cannot link libFuzzer (apt-get install libfuzzer-14-dev libclang-rt-14-dev): {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    return out


def test_savefile_parsers_survive_the_fuzzer(fuzzer, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_seeds(corpus)
    proc = subprocess.run([str(fuzzer), f"-max_total_time={SECONDS}", "-max_len=8192", "-timeout=10",
                           "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path}/", str(corpus)],
                          capture_output=True, text=True, timeout=SECONDS + 120)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "leak-", "timeout-", "oom-")))
    assert proc.returncode == 0 and not crashes, (
        f"the fuzzer found {crashes} in {tmp_path} (replay: {fuzzer} FILE)\n{proc.stderr[-4000:]}")
    assert "Done" in proc.stderr, proc.stderr[-2000:]


# -- the split index: savefile_boundaries() and pcapng_range_prefix() ----------

SPLIT_HARNESS = ROOT / "tests" / "fuzz" / "fuzz_split.c"


@pytest.fixture(scope="module")
def split_fuzzer(tmp_path_factory):
    clang = shutil.which("clang")
    need(clang is not None, "clang is not installed (apt-get install clang libfuzzer-14-dev libclang-rt-14-dev)")
    out = tmp_path_factory.mktemp("fuzz") / "fuzz_split"
    proc = subprocess.run([clang, "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
                           f"-I{ROOT}", str(SPLIT_HARNESS), *(str(ROOT / c) for c in C_SOURCES), "-lpcap",
                           "-o", str(out)], capture_output=True, text=True)
    need(proc.returncode == 0 or "clang_rt.fuzzer" not in proc.stderr,
         f"clang cannot link libFuzzer (apt-get install libfuzzer-14-dev libclang-rt-14-dev): {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    return out


def test_split_index_survives_the_fuzzer(split_fuzzer, tmp_path):
    """The seeds, and pcapng of several sections of both byte orders with
    interfaces and statistics, whole and cut short."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_seeds(corpus)
    for order in "<>":
        whole = pcapng_sections(corpus / f"sections{order}.pcapng", 1, order, packets=2)[0].read_bytes()
        (corpus / f"sections-cut{order}.pcapng").write_bytes(whole[:-9])
        # An interface the reader refuses (its copy once leaked: LeakSanitizer).
        write_pcapng(corpus / f"sll{order}.pcapng", [(1, 2, udp_frame(b"x"))], byteorder=order, linktype=113)
    proc = subprocess.run([str(split_fuzzer), f"-max_total_time={SECONDS}", "-max_len=8192", "-timeout=10",
                           "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path}/", str(corpus)],
                          capture_output=True, text=True, timeout=SECONDS + 120)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "leak-", "timeout-", "oom-")))
    assert proc.returncode == 0 and not crashes, (
        f"the fuzzer found {crashes} in {tmp_path} (replay: {split_fuzzer} FILE)\n{proc.stderr[-4000:]}")
    assert "Done" in proc.stderr, proc.stderr[-2000:]
