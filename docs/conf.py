"""Sphinx configuration.

The manual is README.md: the pages install, tour, c-to-python, traps,
examples and tests-and-speed are cut out of it at build time (see
_readme_part), so that the README, which the tests run snippet by snippet,
stays the one source; bench-results shows bench/RESULTS.md.  The API reference
comes from the docstrings of the built module (sphinx.ext.autodoc)."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
README = os.path.join(ROOT, "README.md")
sys.path.insert(0, ROOT)      # the module is built in place (.so beside pcap.pyx)

import pcap  # noqa: E402

project = "pcap"
author = "the pcap authors"
copyright = "the pcap authors"
version = release = pcap.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "requirements.txt"]
myst_heading_anchors = 4          # GitHub's heading anchors, so that the README's links work here
smartquotes = False              # '' and "quotes" stay as typed, as in the README and the docstrings
html_theme = "alabaster"
# Alabaster's page is 940 px wide, code 660 px of it: at 1140 px (the
# narrow layout starts below that width) the text is 860 px wide, and
# _static/pcap.css wraps what is still wider than that (long output lines,
# wide tables) instead of scrolling it sideways.
html_theme_options = {"description": "libpcap for Python", "fixed_sidebar": True,
                      "page_width": "1140px", "sidebar_width": "220px"}
html_static_path = ["_static"]
html_css_files = ["pcap.css"]
autodoc_member_order = "groupwise"
autodoc_docstring_signature = True   # a docstring's first line 'name(args) -> type' is the signature

# Page -> the part of README.md it shows: from the line after `start` up to `end`.
PARTS = {
    "install": ("## Install", "<!-- tour:start -->"),
    "tour": ("## A tour of the API", "<!-- tour:end -->"),
    "c-to-python": ("## From C to Python", "<!-- c-to-python:end -->"),
    "traps": ("## Traps", "<!-- traps:end -->"),
    "examples": ("## Examples", "## Documentation, tests and speed"),
    "tests-and-speed": ("## Documentation, tests and speed", None),     # to the end of the README
}
# Links of the README to files of the repository -> the page that shows them.
FILES = {"bench/RESULTS.md": "bench-results.md"}
PLACEHOLDER = "<!-- the rest of this page is cut out of README.md by conf.py -->"


def _slug(title):
    """GitHub's anchor for a heading (what myst_heading_anchors makes too)."""
    title = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return title.replace(" ", "-")


def _readme_parts():
    text = open(README, encoding="utf-8").read()
    parts = {}
    for page, (start, end) in PARTS.items():
        i = text.index(start + "\n") + len(start) + 1
        parts[page] = text[i:] if end is None else text[i:text.index(end, i)]
    return parts


def _readme_part(page):
    """The README's text for ``page``: its headings one level up (the page
    title is the README's level-2 heading) and links to headings that are on
    another page pointed there."""
    parts = _readme_parts()
    where = {}
    for other, text in parts.items():
        for title in re.findall(r"^#{2,6} (.+)$", text, re.M):
            where[_slug(title)] = other

    def link(m):
        anchor = m.group(1)
        other = where.get(anchor, page)
        return f"](#{anchor})" if other == page else f"]({other}.md#{anchor})"

    def file_link(m):
        return f"]({FILES[m.group(1)]}{m.group(2) or ''})"

    text = re.sub(r"^#(#{2,5}) ", r"\1 ", parts[page], flags=re.M)
    text = re.sub(r"\]\(#([\w-]+)\)", link, text)
    files = "|".join(re.escape(name) for name in FILES)
    return re.sub(rf"\]\(({files})(#[\w-]+)?\)", file_link, text)


def _example_sources():
    """Each script of examples/, shown whole."""
    names = sorted(n for n in os.listdir(os.path.join(ROOT, "examples")) if n.endswith(".py"))
    return "".join(f"\n## {name}\n\n```{{literalinclude}} ../examples/{name}\n:language: python\n```\n"
                   for name in names)


def _fill_page(app, docname, source):
    if docname in PARTS and PLACEHOLDER in source[0]:
        app.env.note_dependency(README)
        text = _readme_part(docname)
        if docname == "examples":
            text += _example_sources()
        source[0] = source[0].replace(PLACEHOLDER, text)


def _clean_signature(app, what, name, obj, options, signature, return_annotation):
    """A signature that autodoc took from inspect, not from the docstring's
    first line (breakloop()...), starts with 'self': show it as callers
    write it."""
    if signature:
        signature = re.sub(r"^\(self,?\s*(/,\s*)?", "(", signature)
    return signature, return_annotation


def _argument_lists(app, what, name, obj, options, lines):
    """Docstrings list arguments as 'name -- text' with indented follow-on
    lines; make that a bullet list, which reStructuredText understands."""
    out, in_list = [], False
    for line in lines:
        m = re.match(r"^(\w+) -- (.*)$", line)
        if m:
            if not in_list and out and out[-1].strip():
                out.append("")
            out.append(f"* ``{m.group(1)}`` -- {m.group(2)}")
            in_list = True
        elif in_list and line.startswith((" ", "\t")) and line.strip():
            out.append("  " + line.strip())
        else:
            if in_list and line.strip():
                out.append("")
            in_list = False
            out.append(line)
    lines[:] = out


def _escape_trailing_underscores(app, what, name, obj, options, lines):
    """'the DLT_ constants': in reStructuredText a word ending in '_' is a
    link to a target of that name.  Show such words as code instead."""
    for i, line in enumerate(lines):
        parts = line.split("``")
        for j in range(0, len(parts), 2):          # outside ``literals``
            parts[j] = re.sub(r"(?<![\w`*])([A-Za-z]\w*_)(?![\w`])", r"``\1``", parts[j])
        lines[i] = "``".join(parts)


CYTHON_INTERNALS = {"__reduce_cython__", "__setstate_cython__", "__pyx_vtable__", "__reduce__", "__setstate__"}


def _skip_cython_internals(app, what, name, obj, skip, options):
    """What Cython adds to every extension type (pickling stubs, the C
    method table) is no API: keep it off the page whatever :members: or
    :special-members: say."""
    return True if name in CYTHON_INTERNALS else None


def setup(app):
    app.connect("autodoc-skip-member", _skip_cython_internals)
    app.connect("autodoc-process-signature", _clean_signature)
    app.connect("source-read", _fill_page)
    app.connect("autodoc-process-docstring", _argument_lists)
    app.connect("autodoc-process-docstring", _escape_trailing_underscores)
    return {"parallel_read_safe": True}
