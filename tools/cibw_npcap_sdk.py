"""cibuildwheel's before-all on Windows (pyproject.toml): the Npcap SDK
unpacked into DEST (NPCAP_SDK there points at it), unless it is there.

    python tools/cibw_npcap_sdk.py DEST

The SDK holds Include/pcap.h and the import libraries Lib/x64/wpcap.lib and
Packet.lib that setup.py links against; the DLLs themselves come with Npcap
on the user's machine.  The download must have SHA256, the digest of
npcap-sdk-1.13.zip that other projects' build scripts pin too (two found
agreeing: shellrow/cross-socket, and a CI script that checks it with
sha256sum); anything else is refused before a byte of it is unpacked.
"""
import hashlib
import io
import os
import sys
import urllib.request
import zipfile

URL = "https://npcap.com/dist/npcap-sdk-1.13.zip"
SHA256 = "dad1f2bf1b02b787be08ca4862f99e39a876c1f274bac4ac0cedc9bbc58f94fd"
NEEDED = ("Include/pcap.h", "Lib/x64/wpcap.lib", "Lib/x64/Packet.lib")


def main(dest):
    if os.path.isfile(os.path.join(dest, "Include", "pcap.h")):
        print(f"cibw_npcap_sdk: the Npcap SDK is already in {dest}")
        return
    with urllib.request.urlopen(URL, timeout=120) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        sys.exit(f"cibw_npcap_sdk: {URL} has sha256 {digest}, not the {SHA256} pinned here: "
                 f"not unpacked (a new SDK wants its digest checked and pinned in {__file__})")
    print(f"cibw_npcap_sdk: {URL}: sha256 {digest}, as pinned")
    zipfile.ZipFile(io.BytesIO(data)).extractall(dest)
    for need in NEEDED:
        if not os.path.isfile(os.path.join(dest, need)):
            sys.exit(f"cibw_npcap_sdk: {URL} has no {need}")
    print(f"cibw_npcap_sdk: the Npcap SDK unpacked into {dest}")


if __name__ == "__main__":
    main(sys.argv[1])
