"""The installed module is pypcap's drop-in on every platform: `import pcap`
gives the extension module itself, named pcap.  cibuildwheel runs this
against each wheel it builds (pyproject.toml's test-command); on Windows,
whose CI runners have no Npcap, the import must fail with the one line that
names Npcap instead.  Needs nothing but the module: no compiler, no repository
files, no privilege."""
import os
import pickle
import subprocess
import sys

import pytest

NPCAP_DLL = os.path.join(os.environ.get("SystemRoot", "C:\\Windows"), "System32", "Npcap", "wpcap.dll")
WITHOUT_NPCAP = sys.platform == "win32" and not os.path.isfile(NPCAP_DLL)


def test_import_pcap_gives_the_extension_named_pcap_or_names_npcap():
    """With libpcap (or Npcap): the extension itself, named pcap.  On
    Windows without Npcap: the one line that says to install it."""
    if WITHOUT_NPCAP:
        with pytest.raises(ImportError, match=r"^pcap: Npcap is not installed \(no .*wpcap\.dll\); install it "
                                              r"from https://npcap\.com/#download$"):
            import pcap  # noqa: F401
        return
    import pcap
    assert pcap.__name__ == "pcap" and pcap.pcap.__module__ == "pcap"
    assert sys.modules["pcap"] is pcap
    assert pickle.loads(pickle.dumps(pcap.pcap)) is pcap.pcap
    assert pcap.__file__.endswith((".so", ".pyd")), pcap.__file__
    assert pcap.lib_version().startswith(("libpcap version", "Npcap version")), pcap.lib_version()
    if sys.platform == "win32":          # (windows/pcap.py loaded it from pcap.libs/)
        assert os.path.basename(os.path.dirname(pcap.__file__)) == "pcap.libs", pcap.__file__


# Modules that `import pcap` must leave to the calls that need them: platform
# (which imports re and enum: 0.6 MiB and 6 ms of each import)
# for a pcapng writer's defaults, asyncio for `async for`, threading for
# file objects, ipaddress for addresses as text, the compressors for
# compressed savefiles, json and pyarrow for Arrow.
LAZY = {"platform", "re", "enum", "asyncio", "threading", "ipaddress", "json", "zlib", "gzip",
        "bz2", "lzma", "numpy", "pyarrow"}


def test_import_pcap_imports_nothing_heavy():
    """A fresh interpreter's `import pcap` adds none of LAZY to what the
    interpreter had imported (a script that only reads packets pays for no
    writer, compressor or event loop)."""
    if WITHOUT_NPCAP:
        pytest.skip("no Npcap: `import pcap` fails (the test above)")
    code = ("import sys; before = set(sys.modules); import pcap; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=os.path.dirname(os.path.abspath(__file__)))
    assert r.returncode == 0, r.stderr
    added = set(r.stdout.split())
    assert "pcap" in added and not added & LAZY, sorted(added)
