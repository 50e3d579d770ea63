"""The Sphinx site builds with warnings as errors (what `make docs` does),
and it documents the whole public API.  Needs sphinx and myst-parser
(docs/requirements.txt, also in the test extras)."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pcap
from conftest import need

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["index", "install", "tour", "c-to-python", "traps", "examples", "api"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need(importlib.util.find_spec("sphinx") is not None and importlib.util.find_spec("myst_parser") is not None,
         "sphinx and myst-parser are not installed (pip install -r docs/requirements.txt)")
    out = tmp_path_factory.mktemp("docs") / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           "-d", str(out.parent / "doctrees"), "docs", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"sphinx-build -W failed:\n{proc.stderr}"
    return out


def test_docs_build_without_warnings(site: Path) -> None:
    for page in PAGES:
        assert (site / f"{page}.html").is_file(), page


def test_api_reference_covers_the_public_api(site: Path) -> None:
    html = (site / "api.html").read_text()
    public = [name for name in dir(pcap) if not name.startswith("_") and callable(getattr(pcap, name))]
    missing = [name for name in public if f'id="pcap.{name}"' not in html]
    assert not missing, f"not in docs/api.rst: {missing}"
    for method in ("dispatch", "loop", "readpkts", "breakloop", "setnonblock", "setfilter", "stats",
                   "sendpacket", "dump_open", "fileno"):
        assert f'id="pcap.pcap.{method}"' in html, method
    assert 'id="pcap.dumper.write"' in html and 'id="pcap.bpf.filter"' in html


def test_manual_pages_come_from_the_readme(site: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    for page, start, end in (("tour", "<!-- tour:start -->", "<!-- tour:end -->"),
                             ("traps", "<!-- traps:start -->", "<!-- traps:end -->")):
        part = readme[readme.index(start):readme.index(end)]
        html = (site / f"{page}.html").read_text()
        snippets = len(re.findall(r"^```python$", part, re.M))
        assert html.count('class="highlight-python') == snippets, page
    tour = (site / "tour.html").read_text()
    assert "lookupnet" in tour and "traps.html#a-for-loop-over-a-live-handle-never-ends" in tour
    assert "KeyboardInterrupt" in (site / "traps.html").read_text()
    assert "pcap_get_selectable_fd" in (site / "c-to-python.html").read_text()
    examples = (site / "examples.html").read_text()
    for script in (ROOT / "examples").glob("*.py"):
        assert script.name in examples, script.name
