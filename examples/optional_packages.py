"""The packages some examples need beyond the pcap module, and the one line
they print when one is missing (not a traceback).

An example imports such a package inside ``with optional():``, which leaves
the name unbound when the package is not installed, so that ``--help``
still works; after parsing its arguments it calls ``require("dpkt")``,
which ends the script with status 2 and one line on stderr saying what to
install, worded as the module's own to_arrow() says it:

    sniff.py needs the 'dpkt' package (pip install dpkt, or the examples extra: pip install 'pcap[examples]')

The examples extra of pyproject.toml installs every one of them.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from typing import Iterator

# Module -> what pip installs it from.
PACKAGES = {
    "dpkt": "dpkt",
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "dask": "'dask[dataframe]'",
    "distributed": "distributed",
    "duckdb": "duckdb",
}
EXIT_MISSING = 2


@contextlib.contextmanager
def optional() -> Iterator[None]:
    """Around the import of one optional package: if it is missing, go on
    without it (require() says so once the arguments are parsed)."""
    try:
        yield
    except ModuleNotFoundError as e:
        if (e.name or "").partition(".")[0] not in PACKAGES:
            raise


def require(*modules: str) -> None:
    """End the script with one line and status 2 unless every module is installed."""
    script = os.path.basename(sys.argv[0])
    for module in modules:
        if importlib.util.find_spec(module) is None:
            print(f"{script} needs the '{module}' package (pip install {PACKAGES[module]}, "
                  f"or the examples extra: pip install 'pcap[examples]')", file=sys.stderr)
            sys.exit(EXIT_MISSING)
