"""Every ```python block of README.md is a runnable snippet: run each one from
the repository root with this interpreter.

Under a snippet, "Output:" pastes what it prints anywhere (savefile reads,
fixed values): the test compares it exactly.  "Output on this machine:"
pastes a run whose output depends on the machine, the clock or the timing:
the test only checks that the snippet runs and prints something.  A snippet
whose first line is "# live" captures on lo and needs root or CAP_NET_RAW
(the `live` fixture).

After changing a snippet or the module, paste fresh outputs from a real run:

    .venv/bin/python tests/test_readme.py --update
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import run_python

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TIMEOUT = 20

FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
LABEL = re.compile(r"\A\s*(Output|Output on this machine):\s*\Z")


@dataclass
class Snippet:
    index: int
    line: int                 # 1-based line of the opening fence
    heading: str
    code: str
    label: str | None         # "Output", "Output on this machine" or None
    output: str | None        # the pasted output, when there is a ```text block
    output_span: tuple[int, int] | None   # where that output sits in the README text

    @property
    def live(self) -> bool:
        return self.code.lstrip().startswith("# live")

    @property
    def exact(self) -> bool:
        return self.label == "Output"

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")[:40]
        return f"{self.index:02d}-line{self.line}-{slug}"


def snippets(text: str) -> list[Snippet]:
    blocks = list(FENCE.finditer(text))
    found = []
    for i, m in enumerate(blocks):
        if m.group(1) != "python":
            continue
        label = output = span = None
        if i + 1 < len(blocks):
            nxt = blocks[i + 1]
            between = LABEL.match(text[m.end():nxt.start()])
            if between and nxt.group(1) == "text":
                label, output, span = between.group(1), nxt.group(2), nxt.span(2)
        headings = re.findall(r"^#{2,4} (.+)$", text[:m.start()], re.M)
        found.append(Snippet(len(found) + 1, text.count("\n", 0, m.start()) + 1,
                             headings[-1] if headings else "", m.group(2), label, output, span))
    return found


def run_snippet(snippet: Snippet) -> subprocess.CompletedProcess[str]:
    return run_python(snippet.code, cwd=ROOT, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), timeout=TIMEOUT)


SNIPPETS = snippets(README.read_text())


def test_readme_has_snippets() -> None:
    assert len(SNIPPETS) >= 20
    assert all(s.label for s in SNIPPETS), \
        [s.id for s in SNIPPETS if not s.label]   # every snippet shows what it printed
    assert sum(s.exact for s in SNIPPETS) >= 10
    assert "(pending)" not in README.read_text()


def test_readme_starts_with_the_two_commands() -> None:
    lines = README.read_text().splitlines()
    block = lines[lines.index("```sh") + 1:][:2]
    assert block[0].startswith("make demo") and block[1].startswith("make test")
    assert lines.index("```sh") < 4


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.id)
def test_snippet(snippet: Snippet, request: pytest.FixtureRequest) -> None:
    if snippet.live:
        request.getfixturevalue("live")
    proc = run_snippet(snippet)
    assert proc.returncode == 0, f"README.md line {snippet.line} failed:\n{proc.stderr}"
    assert proc.stderr == "", f"README.md line {snippet.line} wrote to stderr:\n{proc.stderr}"
    assert proc.stdout.strip(), f"README.md line {snippet.line} printed nothing"
    if snippet.exact:
        assert proc.stdout == snippet.output, \
            f"README.md line {snippet.line}: the pasted output is not what the snippet prints now"


def update() -> int:
    """Run every snippet and paste its output under it; report failures."""
    text = README.read_text()
    failed = 0
    for s in reversed(snippets(text)):        # from the end, so that spans stay valid
        if s.output_span is None:
            print(f"line {s.line}: no Output block", file=sys.stderr)
            continue
        proc = run_snippet(s)
        if proc.returncode != 0 or proc.stderr:
            failed += 1
            print(f"line {s.line} ({s.heading}) failed:\n{proc.stderr}", file=sys.stderr)
            continue
        start, end = s.output_span
        text = text[:start] + proc.stdout + text[end:]
        print(f"line {s.line}: {len(proc.stdout.splitlines())} lines ({s.label})")
    README.write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(__doc__)
    sys.exit(update())
