"""The installed module is pypcap's drop-in on every platform: `import pcap`
gives the extension module itself, named pcap.  cibuildwheel runs this
against each wheel it builds (pyproject.toml's test-command); on Windows,
whose CI runners have no Npcap, the import must fail with the one line that
names Npcap instead.  Needs nothing but the module: no compiler, no repository
files, no privilege."""
import os
import pickle
import sys

import pytest

NPCAP_DLL = os.path.join(os.environ.get("SystemRoot", "C:\\Windows"), "System32", "Npcap", "wpcap.dll")
WITHOUT_NPCAP = sys.platform == "win32" and not os.path.isfile(NPCAP_DLL)


@pytest.mark.skipif(WITHOUT_NPCAP, reason="no Npcap here: test_import_without_npcap_names_it")
def test_import_pcap_gives_the_extension_named_pcap():
    import pcap
    assert pcap.__name__ == "pcap" and pcap.pcap.__module__ == "pcap"
    assert sys.modules["pcap"] is pcap
    assert pickle.loads(pickle.dumps(pcap.pcap)) is pcap.pcap
    assert pcap.__file__.endswith((".so", ".pyd")), pcap.__file__
    assert pcap.lib_version().startswith(("libpcap version", "Npcap version")), pcap.lib_version()
    if sys.platform == "win32":          # (windows/pcap.py loaded it from pcap.libs/)
        assert os.path.basename(os.path.dirname(pcap.__file__)) == "pcap.libs", pcap.__file__


@pytest.mark.skipif(not WITHOUT_NPCAP, reason="only on Windows without Npcap")
def test_import_without_npcap_names_it():
    with pytest.raises(ImportError, match=r"^pcap: Npcap is not installed \(no .*wpcap\.dll\); install it from "
                                          r"https://npcap\.com/#download$"):
        import pcap  # noqa: F401
