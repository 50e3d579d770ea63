"""Build the pcap extension against libpcap 1.8.1 or newer.

libpcap is found with pkg-config (PKG_CONFIG names another one), or with
pcap-config (PCAP_CONFIG) where it has no .pc file, as libpcap 1.8 does;
PCAP_CFLAGS and PCAP_LIBS override both, to build against another copy
(PCAP_LIBS may name a static libpcap.a).  Every failure to find a usable
libpcap stops the build with one line saying what is wrong and what to do.
"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OLDEST = (1, 8, 1)
INSTALL = ("install libpcap's development files (Debian/Ubuntu: apt-get install libpcap-dev; "
           "Fedora: dnf install libpcap-devel), or set PCAP_CFLAGS and PCAP_LIBS")


def fail(cause, fix):
    sys.exit(f"pcap build: {cause}; {fix}")


try:
    from Cython.Build import cythonize
except ImportError:
    fail("Cython 3 is not installed", "pip install 'Cython>=3' (pip install . does this by itself)")


def tool_output(tool, *args):
    """stdout of ``tool args`` split into words; None when it fails."""
    try:
        out = subprocess.run([*shlex.split(tool), *args], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


def find_libpcap():
    """(cflags, libs, how they were found)."""
    cflags = os.environ.get("PCAP_CFLAGS")
    libs = os.environ.get("PCAP_LIBS")
    if cflags is not None or libs is not None:
        return shlex.split(cflags or ""), shlex.split(libs or "-lpcap"), "PCAP_CFLAGS/PCAP_LIBS"
    pkg_config = os.environ.get("PKG_CONFIG", "pkg-config")
    have_pkg_config = shutil.which(shlex.split(pkg_config)[0]) is not None
    if have_pkg_config:
        cflags, libs = tool_output(pkg_config, "--cflags", "libpcap"), tool_output(pkg_config, "--libs", "libpcap")
        if cflags is not None and libs is not None:
            return cflags, libs, "pkg-config"
    pcap_config = os.environ.get("PCAP_CONFIG", "pcap-config")
    cflags, libs = tool_output(pcap_config, "--cflags"), tool_output(pcap_config, "--libs")
    if cflags is not None and libs is not None:
        return cflags, libs, "pcap-config"
    if not have_pkg_config:
        fail("pkg-config is not installed and there is no pcap-config, so libpcap cannot be found",
             "install pkg-config (Debian/Ubuntu: apt-get install pkg-config), or set PCAP_CFLAGS and PCAP_LIBS")
    fail("neither pkg-config nor pcap-config finds libpcap", INSTALL)


def check_libpcap(cc, cflags, libs, how):
    """The version of the libpcap those flags build against, after checking
    that its header compiles and its library links."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "probe.c")
        with open(src, "w") as f:
            f.write('#include <stdio.h>\n#include <pcap.h>\n'
                    'int main(void) { puts(pcap_lib_version()); return 0; }\n')
        proc = subprocess.run([*cc, *cflags, "-c", src, "-o", os.path.join(d, "probe.o")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            first = next((l for l in proc.stderr.splitlines() if "error" in l), proc.stderr.strip()[:200])
            fail(f"<pcap.h> does not compile with the flags from {how} ({' '.join(cflags) or 'none'}): {first.strip()}",
                 INSTALL if how != "PCAP_CFLAGS/PCAP_LIBS" else "correct PCAP_CFLAGS")
        exe = os.path.join(d, "probe")
        proc = subprocess.run([*cc, os.path.join(d, "probe.o"), "-o", exe, *libs], capture_output=True, text=True)
        if proc.returncode != 0:
            first = next((l for l in proc.stderr.splitlines() if l.strip()), "")
            fail(f"cannot link with libpcap using {' '.join(libs)} (from {how}): {first.strip()}",
                 INSTALL if how != "PCAP_CFLAGS/PCAP_LIBS" else "correct PCAP_LIBS")
        proc = subprocess.run([exe], capture_output=True, text=True)
    m = re.search(r"version (\d+)\.(\d+)\.(\d+)", proc.stdout)
    if proc.returncode != 0 or not m:
        fail(f"the libpcap found with {how} does not run ({(proc.stdout + proc.stderr).strip()[:200]})",
             "check that its shared library is on the loader's path (an rpath in PCAP_LIBS)")
    version = tuple(int(x) for x in m.groups())
    if version < OLDEST:
        fail(f"libpcap {'.'.join(map(str, version))} (from {how}) is older than 1.8.1, the oldest this module supports",
             "install libpcap 1.8.1 or newer, or point PCAP_CFLAGS and PCAP_LIBS at one")
    return proc.stdout.strip()


def has_remote_capture(cc, cflags, libs):
    """Whether that libpcap has remote capture (rpcap://): pcap_open() and
    pcap_findalldevs_ex() link.  Debian's libpcap declares both but is
    built without them; libpcap 1.8's header declares neither, so the
    probe declares them itself."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "remote.c")
        with open(src, "w") as f:
            f.write('#include <pcap.h>\n'
                    'struct pcap_rmtauth;\n'
                    'pcap_t *pcap_open(const char *, int, int, int, struct pcap_rmtauth *, char *);\n'
                    'int pcap_findalldevs_ex(const char *, struct pcap_rmtauth *, pcap_if_t **, char *);\n'
                    'int main(int argc, char **argv) {\n'
                    '    pcap_if_t *devs;\n'
                    '    if (argc > 99) return pcap_open(argv[0], 0, 0, 0, 0, argv[1]) != 0\n'
                    '        && pcap_findalldevs_ex(argv[0], 0, &devs, argv[1]) == 0;\n'
                    '    return 0;\n'
                    '}\n')
        proc = subprocess.run([*cc, *cflags, src, "-o", os.path.join(d, "remote"), *libs],
                              capture_output=True, text=True)
    return proc.returncode == 0


class build_ext_checked(build_ext):
    """Find and check libpcap before compiling, say what was found; also
    install pcap.pyi as the PEP 561 stub-only package pcap-stubs (type
    checkers do not read a top-level .pyi from site-packages)."""

    def run(self):
        cc = shlex.split(os.environ.get("CC", "cc"))
        if shutil.which(cc[0]) is None:
            fail(f"no C compiler ({cc[0]}) found",
                 "install one (Debian/Ubuntu: apt-get install gcc), or set CC")
        cflags, libs, how = find_libpcap()
        print(f"pcap build: {check_libpcap(cc, cflags, libs, how)}, found with {how}; "
              "compiling the extension (about a minute)", flush=True)
        remote = has_remote_capture(cc, cflags, libs)
        print(f"pcap build: remote capture (rpcap://) {'on' if remote else 'off: this libpcap has none'}",
              flush=True)
        for ext in self.extensions:
            ext.extra_compile_args = cflags
            ext.extra_link_args = libs
            if remote:
                ext.define_macros.append(("HAVE_PCAP_REMOTE", "1"))
        super().run()
        if not self.inplace:
            target = os.path.join(self.build_lib, "pcap-stubs")
            self.mkpath(target)
            self.copy_file("pcap.pyi", os.path.join(target, "__init__.pyi"))


# Every C file beside pcap.pyx is the module's, but pcap.c, which Cython
# writes; any header or declaration file changed rebuilds it.
ext = Extension(
    "pcap",
    sources=["pcap.pyx", *sorted(set(glob.glob("*.c")) - {"pcap.c"})],
    depends=sorted(glob.glob("*.h") + glob.glob("*.pxd") + glob.glob("*.pxi")),
)

setup(
    cmdclass={"build_ext": build_ext_checked},
    ext_modules=cythonize([ext], compiler_directives={"language_level": 3}, quiet=True),
)
