"""The module pcap on Windows: this file, installed as pcap.py, loads the
extension (pcap.libs/pcap.*.pyd) after adding Npcap's DLL folder to the DLL
search path, and puts the extension itself in sys.modules["pcap"].

Why: Npcap installs wpcap.dll and Packet.dll in System32\\Npcap, a folder
that Python (3.8 and newer) does not search for an extension's DLLs; only
os.add_dll_directory() adds it, and that must run before the extension is
loaded, since Windows resolves the extension's DLLs while loading it.  A
package pcap/__init__.py could do that too, but `import pcap` would then give
the package, with the extension as pcap._pcap: type(p).__module__, pickles,
__file__ would all differ from pypcap's.  Here `import pcap` gives the
extension module, named pcap, as on Linux and macOS; only its __file__ is in
pcap.libs/.  (A .pth file would run in every Python process; a delay-loaded
DLL with SetDllDirectory would need C code in the module's start-up, and a
missing Npcap would crash the first call instead of failing the import.)
"""
import importlib.machinery
import importlib.util
import os
import sys


def _load():
    npcap = os.path.join(os.environ.get("SystemRoot", "C:\\Windows"), "System32", "Npcap")
    if hasattr(os, "add_dll_directory") and os.path.isdir(npcap):
        os.add_dll_directory(npcap)      # (kept for the process's life: the handle is never closed)
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pcap.libs")
    paths = [os.path.join(folder, "pcap" + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    path = next((p for p in paths if os.path.isfile(p)), None)
    if path is None:
        raise ImportError(f"pcap: no extension module in {folder}; reinstall pcap (pip install --force-reinstall pcap)",
                          name="pcap")
    spec = importlib.util.spec_from_file_location("pcap", path,
                                                  loader=importlib.machinery.ExtensionFileLoader("pcap", path))
    try:
        module = importlib.util.module_from_spec(spec)        # (Windows loads wpcap.dll here)
        sys.modules["pcap"] = module
        spec.loader.exec_module(module)
    except ImportError as e:
        sys.modules.pop("pcap", None)
        if os.path.isfile(os.path.join(npcap, "wpcap.dll")):
            raise
        raise ImportError(f"pcap: Npcap is not installed (no {os.path.join(npcap, 'wpcap.dll')}); install it from "
                          "https://npcap.com/#download", name="pcap") from e


_load()
