"""The README's first screen (issue 19): what the module is, how to install
it, a first read and a first capture, each a snippet that test_readme.py
runs as written."""
from test_readme import README, SNIPPETS

FIRST_SCREEN = 60      # lines


def test_the_first_screen_installs_reads_and_captures() -> None:
    lines = README.read_text().splitlines()
    top = "\n".join(lines[:FIRST_SCREEN])
    assert "pip install '.[examples]'" in top and "`pip install .`" in top
    assert "drop-in for pypcap" in top
    read, capture = SNIPPETS[0], SNIPPETS[1]
    assert read.line < 25 and capture.line + len(capture.code.splitlines()) < FIRST_SCREEN
    assert 'pcap.pcap("examples/sample.pcap")' in read.code and read.exact and not read.live
    assert 'pcap.pcap("lo"' in capture.code and capture.live and capture.label
