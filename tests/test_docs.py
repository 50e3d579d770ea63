"""The Sphinx site builds with warnings as errors (what `make docs` does),
and it documents the whole public API.  Needs sphinx and myst-parser
(docs/requirements.txt, also in the test extras)."""
from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pcap
from support import need

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["index", "install", "tour", "c-to-python", "traps", "examples", "tests-and-speed", "bench-results", "triage", "api"]
CURLY = "\u2018\u2019\u201c\u201d"      # what smart quotes make of ' and "


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
    for name in ("DLT_EN10MB", "PCAP_D_IN", "__version__"):     # module data, not attributes of the class
        assert f'id="pcap.{name}"' in html and f'id="pcap.pcap.{name}"' not in html, name


def _entry(page: str, anchor: str) -> str:
    """The text of the API entry with that id: its signature and docstring."""
    i = page.index(f'id="{anchor}"')
    return html.unescape(re.sub(r"<[^>]+>", "", page[i:page.index("</dd>", i)]))


def test_api_reference_shows_iteration_and_no_cython_internals(site: Path) -> None:
    page = (site / "api.html").read_text()
    for name in ("__iter__", "__next__", "__aiter__"):
        assert f'id="pcap.pcap.{name}"' in page, f"pcap.pcap.{name} is not on the API page"
    for name in ("__next__", "__aiter__"):
        doc = getattr(pcap.pcap, name).__doc__ or ""
        body = [line for line in doc.splitlines()[1:] if line.strip()]   # past Cython's signature line
        if body:                           # the docstring is on the page, not just the name
            words = re.findall(r"\w+", body[0])[:3]
            assert all(w in _entry(page, f"pcap.pcap.{name}") for w in words), (name, words)
    for internal in ("__reduce_cython__", "__setstate_cython__", "__pyx_vtable__", "__reduce__", "__setstate__"):
        assert internal not in page, internal


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


def test_tests_and_speed_page_comes_from_the_readme(site: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    assert (site / "index.html").read_text().count('href="tests-and-speed.html"') >= 1
    page = (site / "tests-and-speed.html").read_text()
    assert "How the module is built" in page and "Speed" in page
    built = readme[readme.index("### How the module is built"):readme.index("### Speed")]
    files = re.findall(r"^\| `([^`]+)`", built, re.M)
    assert len(files) >= 8, files
    tables = "".join(re.findall(r"<table.*?</table>", page, re.S))
    missing = [name for name in files if f'<span class="pre">{name}</span>' not in tables]
    assert not missing, f"not in the table of tests-and-speed.html: {missing}"
    # the part runs to the end of the README: its last words are on the page
    last = re.findall(r"[\w()]+", readme.rstrip())[-3:]
    assert " ".join(last) in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)), last
    # its link to bench/RESULTS.md goes to the page that shows that file
    assert 'href="bench-results.html"' in page and "bench/RESULTS.md" in readme
    results = (ROOT / "bench" / "RESULTS.md").read_text()
    title = re.search(r"^# (.+)$", results, re.M).group(1)
    assert f"<h1>{title}" in (site / "bench-results.html").read_text()


def test_quotes_stay_as_typed(site: Path) -> None:
    """smartquotes = False: '' stays two straight quotes, "x" stays "x"."""
    sources = (ROOT / "README.md").read_text() + (ROOT / "bench" / "RESULTS.md").read_text()
    sources += "".join(getattr(getattr(pcap, n), "__doc__", None) or "" for n in dir(pcap))
    sources += "".join(getattr(pcap.pcap, n).__doc__ or "" for n in dir(pcap.pcap))
    for page in PAGES:
        text = (site / f"{page}.html").read_text()
        text = html.unescape(text[text.index("<body"):])          # past <title>'s "page &#8212; project"
        made = sorted({c for c in CURLY + "\u2013\u2014\u2026" if c in text and c not in sources})
        assert not made, f"{page}.html: smart quotes or dashes {made} that no source has"
    assert '"Output:"' in html.unescape((site / "install.html").read_text())
    assert "libpcap's" in (site / "tour.html").read_text()
    doc = pcap.pcap.__doc__ or ""
    if "''" in doc:              # 'None or '' opens the default device'
        before = re.search(r"(\w+) ''", doc)
        assert f"{before.group(1)} ''" in html.unescape((site / "api.html").read_text())


def test_code_and_tables_keep_to_the_page(site: Path) -> None:
    """At a 1200 px window nothing scrolls sideways: the page is 1140 px wide
    (alabaster's page_width) and _static/pcap.css wraps long code lines and
    wide tables.  Checked by eye in headless chromium; here, that the CSS
    is there and every page uses it."""
    alabaster = (site / "_static" / "alabaster.css").read_text()
    assert re.search(r"div\.document \{\s*width: 1140px;", alabaster), "alabaster's page_width is not 1140px"
    css = re.sub(r"/\*.*?\*/", "", (site / "_static" / "pcap.css").read_text(), flags=re.S)
    rules = dict((sel.strip(), body) for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", css))
    assert "white-space: pre-wrap" in rules.get("div.body pre", ""), rules
    assert "max-width: 100%" in rules.get("div.body table.docutils", ""), rules
    assert "white-space: normal" in rules.get("div.body table.docutils code.literal span.pre", ""), rules
    for page in PAGES:
        assert 'href="_static/pcap.css' in (site / f"{page}.html").read_text(), page
