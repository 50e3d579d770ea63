"""Build the pcap extension against the system libpcap.

libpcap is found with pkg-config; set PCAP_CFLAGS and PCAP_LIBS to build
against another copy.
"""
import glob
import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from Cython.Build import cythonize
except ImportError:
    sys.exit("building pcap needs Cython 3 or newer: pip install 'Cython>=3'")

MISSING = """
libpcap's development files were not found.
On Debian or Ubuntu:   apt-get install libpcap-dev
On Fedora:             dnf install libpcap-devel
(or set PCAP_CFLAGS and PCAP_LIBS to the compiler and linker flags of your libpcap)
"""


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "libpcap"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


def libpcap_flags():
    cflags = os.environ.get("PCAP_CFLAGS")
    libs = os.environ.get("PCAP_LIBS")
    if cflags is not None or libs is not None:
        return shlex.split(cflags or ""), shlex.split(libs or "-lpcap")
    cflags, libs = pkg_config("--cflags"), pkg_config("--libs")
    if cflags is None or libs is None:
        sys.exit(MISSING)
    probe = subprocess.run(["cc", "-E", *cflags, "-"], input="#include <pcap.h>\n",
                           capture_output=True, text=True)
    if probe.returncode != 0:
        sys.exit(MISSING)
    return cflags, libs


cflags, libs = libpcap_flags()
ext = Extension(
    "pcap",
    sources=["pcap.pyx", "pcap_ex.c", "pcap_stream.c"],
    depends=["pcap_ex.h", "pcap_stream.h", "libpcap.pxd", *glob.glob("*.pxi")],
    extra_compile_args=cflags,
    extra_link_args=libs,
)

class build_ext_with_stub(build_ext):
    """Also install pcap.pyi, as the PEP 561 stub-only package pcap-stubs
    (type checkers do not read a top-level .pyi from site-packages)."""

    def run(self):
        super().run()
        if not self.inplace:
            target = os.path.join(self.build_lib, "pcap-stubs")
            self.mkpath(target)
            self.copy_file("pcap.pyi", os.path.join(target, "__init__.pyi"))


setup(
    cmdclass={"build_ext": build_ext_with_stub},
    ext_modules=cythonize([ext], compiler_directives={"language_level": 3}),
)
