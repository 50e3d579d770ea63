"""The module's C savefile readers under libFuzzer, AddressSanitizer and
UndefinedBehaviorSanitizer: a short round of each harness of
tests/fuzzing.py (tests/fuzz/fuzz_<name>.c: classic records, pcapng
blocks, ...), from its seed corpus, written here.  FUZZ_TEST_SECONDS sets
each round's time (15 by default: the whole module stays under a minute);
``make fuzz`` runs them for minutes.  A finding is left in the test's
tmp_path, and the message says how to replay it."""
import os

import pytest

import fuzzing
from support import need

SECONDS = int(os.environ.get("FUZZ_TEST_SECONDS", "15"))


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """harness(name): the executable of tests/fuzz/fuzz_<name>.c, built
    once, against the module's C sources instrumented once for all."""
    out = tmp_path_factory.mktemp("fuzz-build")
    built = {}

    def build(name):
        try:
            if "objects" not in built:
                built["objects"] = fuzzing.build_objects(out / "objects")
            if name not in built:
                built[name] = fuzzing.build(name, built["objects"], out)
        except fuzzing.Unavailable as e:
            need(False, str(e))
        return built[name]
    return build


@pytest.mark.parametrize("name", sorted(fuzzing.HARNESSES))
def test_reader_survives_the_fuzzer(name, harness, tmp_path):
    exe = harness(name)
    corpus = tmp_path / "corpus"
    fuzzing.write_corpus(name, corpus)
    seeds = len(list(corpus.iterdir()))
    outcome = fuzzing.run(name, exe, corpus, SECONDS, tmp_path / "findings")
    assert outcome.clean, f"{outcome.summary()} in {tmp_path} (replay: {exe} FILE)\n{outcome.log[-4000:]}"
    # It ran its seeds and more.
    assert outcome.executions > seeds, outcome.summary()


@pytest.mark.parametrize("name", sorted(fuzzing.FOUND))
def test_what_the_fuzzer_found_stays_fixed(name, harness, tmp_path):
    """The seeds named finding-*, each once: each made its harness fail
    before its fix, in the reader or in the module's logic the harness
    follows (tests/test_fuzz_findings.py has what Python saw of them)."""
    exe = harness(name)
    corpus = tmp_path / "corpus"
    fuzzing.write_corpus(name, corpus)
    findings = tmp_path / "findings"
    findings.mkdir()
    for seed in corpus.glob("seed-*-finding-*"):
        seed.rename(findings / seed.name)
    assert list(findings.iterdir()), f"no finding-* seeds for fuzz_{name}"
    outcome = fuzzing.run(name, exe, findings, 0, tmp_path / "artifacts", extra=["-runs=0"])
    assert outcome.returncode == 0 and not outcome.findings, f"{outcome.summary()}\n{outcome.log[-4000:]}"


def test_every_harness_has_seeds():
    """Each harness's corpus starts from savefiles of its own kind."""
    for name, seed_sets in fuzzing.HARNESSES.items():
        assert (fuzzing.FUZZ_DIR / f"fuzz_{name}.c").is_file(), name
        for seed_set in seed_sets:
            seeds = fuzzing.SEEDS[seed_set]()
            assert len(seeds) >= 20, (name, seed_set)
    pcapng = fuzzing.SEEDS["pcapng"]()
    types = set()
    for data in pcapng.values():
        order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        at = 0
        while at + 12 <= len(data):
            btype, total = int.from_bytes(data[at:at + 4], "little" if order == "<" else "big"), \
                int.from_bytes(data[at + 4:at + 8], "little" if order == "<" else "big")
            types.add(btype)
            if total < 12:
                break
            at += total
    # Every block type the reader tells apart, and ones it passes over.
    assert {0x0A0D0D0A, 1, 2, 3, 4, 5, 6, 0x0A, 0xBAD, 0x40000BAD} <= types
