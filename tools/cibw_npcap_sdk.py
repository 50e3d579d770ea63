"""cibuildwheel's before-all on Windows (pyproject.toml): the Npcap SDK
unpacked into DEST (NPCAP_SDK there points at it), unless it is there.

    python tools/cibw_npcap_sdk.py DEST

The SDK holds Include/pcap.h and the import libraries Lib/x64/wpcap.lib and
Packet.lib that setup.py links against; the DLLs themselves come with Npcap
on the user's machine.  Its SHA-256 is printed for the log.
"""
import hashlib
import io
import os
import sys
import urllib.request
import zipfile

URL = "https://npcap.com/dist/npcap-sdk-1.13.zip"


def main(dest):
    if os.path.isfile(os.path.join(dest, "Include", "pcap.h")):
        print(f"cibw_npcap_sdk: the Npcap SDK is already in {dest}")
        return
    with urllib.request.urlopen(URL, timeout=120) as response:
        data = response.read()
    print(f"cibw_npcap_sdk: {URL}: sha256 {hashlib.sha256(data).hexdigest()}")
    zipfile.ZipFile(io.BytesIO(data)).extractall(dest)
    for need in ("Include/pcap.h", "Lib/x64/wpcap.lib", "Lib/x64/Packet.lib"):
        if not os.path.isfile(os.path.join(dest, need)):
            sys.exit(f"cibw_npcap_sdk: {URL} has no {need}")
    print(f"cibw_npcap_sdk: the Npcap SDK unpacked into {dest}")


if __name__ == "__main__":
    main(sys.argv[1])
