"""Build the pcap extension against libpcap 1.8.1 or newer.

Where libpcap is (discover(), a function of the platform, the environment
and what a probe finds on disk, so that tests can fake all three):
PCAP_CFLAGS and PCAP_LIBS, when set, everywhere (PCAP_LIBS may name a static
libpcap.a); else, on Windows, the Npcap SDK that NPCAP_SDK names; elsewhere
pkg-config (PKG_CONFIG names another one), or pcap-config (PCAP_CONFIG),
as libpcap 1.8 has no .pc file; then on macOS Homebrew's libpcap, then the
SDK's; on the BSDs the base system's.  Every failure to find a usable
libpcap stops the build with one line saying what is wrong and what to do.
"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from typing import NamedTuple, Optional

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OLDEST = (1, 8, 1)
INSTALL = ("install libpcap's development files (Debian/Ubuntu: apt-get install libpcap-dev; "
           "Fedora: dnf install libpcap-devel), or set PCAP_CFLAGS and PCAP_LIBS")
NPCAP_DOWNLOAD = "https://npcap.com/#download"


class BuildFailure(Exception):
    """What stops the build: ``cause`` and ``fix``, printed as one line."""

    def __init__(self, cause, fix):
        super().__init__(f"{cause}; {fix}")
        self.cause, self.fix = cause, fix


def fail(cause, fix):
    sys.exit(f"pcap build: {cause}; {fix}")


class Libpcap(NamedTuple):
    """What discover() found: compiler and linker arguments, where they came
    from, whether the probe program should check them here (not on Windows,
    where the probe needs Npcap's DLLs, which a build machine may lack), and
    whether remote capture is known to be there (None: probe for it)."""
    cflags: list
    libs: list
    how: str
    probe: bool = True
    remote: Optional[bool] = None


def tool_output(tool, *args):
    """stdout of ``tool args`` split into words; None when it fails."""
    try:
        out = subprocess.run([*shlex.split(tool), *args], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


class SystemProbe:
    """What discover() may ask of the machine; tests pass a fake one."""

    def which(self, name):
        return shutil.which(name)

    def output(self, tool, *args):
        return tool_output(tool, *args)

    def isfile(self, path):
        return os.path.isfile(path)


def discover(plat, environ, probe):
    """Where libpcap is, for a build on ``plat`` (sysconfig.get_platform():
    linux-x86_64, macosx-11.0-arm64, freebsd-14.1-RELEASE-amd64, win-amd64...)
    with environment ``environ``, asking ``probe`` about programs and files.
    Returns a Libpcap; raises BuildFailure.  PCAP_CFLAGS and PCAP_LIBS, when
    set, win everywhere."""
    cflags, libs = environ.get("PCAP_CFLAGS"), environ.get("PCAP_LIBS")
    windows = plat.startswith("win")
    if cflags is not None or libs is not None:
        # (On Windows no probe program: it is built with cc, which MSVC is not.)
        default = "wpcap.lib Packet.lib" if windows else "-lpcap"
        return Libpcap(shlex.split(cflags or ""), shlex.split(libs or default), "PCAP_CFLAGS/PCAP_LIBS",
                       probe=not windows, remote=False if windows else None)
    if windows:
        return _npcap_sdk(plat, environ, probe)
    macos = plat.startswith("macosx")
    found = _pkg_config(environ, probe, pcap_config=not macos)
    if found:
        return found
    if macos:
        return _homebrew(plat, environ, probe) or _macos_sdk(environ, probe)
    if "bsd" in plat or plat.startswith("dragonfly"):
        return _bsd_base(plat, probe)
    if not probe.which(shlex.split(environ.get("PKG_CONFIG", "pkg-config"))[0]):
        raise BuildFailure("pkg-config is not installed and there is no pcap-config, so libpcap cannot be found",
                           "install pkg-config (Debian/Ubuntu: apt-get install pkg-config), "
                           "or set PCAP_CFLAGS and PCAP_LIBS")
    raise BuildFailure("neither pkg-config nor pcap-config finds libpcap", INSTALL)


def _pkg_config(environ, probe, pcap_config=True):
    """libpcap's .pc file through pkg-config (PKG_CONFIG), else pcap-config
    (PCAP_CONFIG), as libpcap 1.8 has no .pc file; None when neither answers.
    Not pcap-config on macOS, where /usr/bin/pcap-config describes the SDK's
    libpcap, which comes last there, after Homebrew's."""
    pkg_config = environ.get("PKG_CONFIG", "pkg-config")
    if probe.which(shlex.split(pkg_config)[0]):
        cflags, libs = probe.output(pkg_config, "--cflags", "libpcap"), probe.output(pkg_config, "--libs", "libpcap")
        if cflags is not None and libs is not None:
            return Libpcap(cflags, libs, "pkg-config")
    if not pcap_config:
        return None
    pcap_config = environ.get("PCAP_CONFIG", "pcap-config")
    cflags, libs = probe.output(pcap_config, "--cflags"), probe.output(pcap_config, "--libs")
    if cflags is not None and libs is not None:
        return Libpcap(cflags, libs, "pcap-config")
    return None


def _homebrew(plat, environ, probe):
    """Homebrew's libpcap: keg-only (macOS has its own), so it is in
    PREFIX/opt/libpcap and not on the compiler's paths; PREFIX is
    HOMEBREW_PREFIX (brew shellenv sets it), else Homebrew's default,
    /opt/homebrew on Apple silicon and /usr/local on Intel."""
    default = "/opt/homebrew" if plat.endswith("arm64") else "/usr/local"
    keg = os.path.join(environ.get("HOMEBREW_PREFIX") or default, "opt", "libpcap")
    include, lib = os.path.join(keg, "include"), os.path.join(keg, "lib")
    if probe.isfile(os.path.join(include, "pcap.h")) and probe.isfile(os.path.join(lib, "libpcap.dylib")):
        return Libpcap([f"-I{include}"], [f"-L{lib}", f"-Wl,-rpath,{lib}", "-lpcap"], f"Homebrew ({keg})")
    return None


def _macos_sdk(environ, probe):
    """The macOS SDK's libpcap (usr/include/pcap.h and the libpcap.tbd stub
    of the system's library): the SDK is SDKROOT, else what xcrun says."""
    sdk = environ.get("SDKROOT") or (probe.output("xcrun", "--show-sdk-path") or [None])[0]
    if not sdk:
        raise BuildFailure("no macOS SDK found (xcrun --show-sdk-path fails) and no Homebrew libpcap",
                           "install the Command Line Tools (xcode-select --install), or brew install libpcap, "
                           "or set PCAP_CFLAGS and PCAP_LIBS")
    if not probe.isfile(os.path.join(sdk, "usr", "include", "pcap.h")):
        raise BuildFailure(f"the macOS SDK {sdk} has no usr/include/pcap.h and there is no Homebrew libpcap",
                           "reinstall the Command Line Tools (xcode-select --install), or brew install libpcap, "
                           "or set PCAP_CFLAGS and PCAP_LIBS")
    return Libpcap([], ["-lpcap"], f"the macOS SDK ({sdk})")


def _bsd_base(plat, probe):
    """The BSDs have libpcap in the base system: /usr/include/pcap.h and
    libpcap in /usr/lib, on the compiler's default paths."""
    if probe.isfile("/usr/include/pcap.h"):
        return Libpcap([], ["-lpcap"], "the base system (/usr/include/pcap.h)")
    fix = ("install the base system's libpcap headers (FreeBSD with packaged base: pkg install FreeBSD-libpcap-dev), "
           "or pkg install libpcap pkgconf, or set PCAP_CFLAGS and PCAP_LIBS")
    if not plat.startswith("freebsd"):
        fix = "install your system's comp set (its headers), or set PCAP_CFLAGS and PCAP_LIBS"
    raise BuildFailure("no /usr/include/pcap.h: the base system's libpcap headers are missing, "
                       "and pkg-config finds no other libpcap", fix)


NPCAP_LIB_DIRS = {"win32": "Lib", "win-amd64": os.path.join("Lib", "x64"), "win-arm64": os.path.join("Lib", "ARM64")}


def _npcap_sdk(plat, environ, probe):
    """The Npcap SDK, unpacked where NPCAP_SDK says: Include/pcap.h, and the
    import libraries wpcap.lib and Packet.lib in Lib (x86), Lib/x64 or
    Lib/ARM64.  Npcap itself (the DLLs) need not be installed to build."""
    sdk = environ.get("NPCAP_SDK")
    if not sdk:
        raise BuildFailure("NPCAP_SDK is not set, so the Npcap SDK cannot be found",
                           f"download the Npcap SDK from {NPCAP_DOWNLOAD}, unpack it and set NPCAP_SDK "
                           "to its folder (the one holding Include and Lib)")
    header = os.path.join(sdk, "Include", "pcap.h")
    if not probe.isfile(header):
        raise BuildFailure(f"NPCAP_SDK is {sdk}, which has no Include\\pcap.h",
                           "set NPCAP_SDK to the unpacked Npcap SDK's folder (the one holding Include and Lib)")
    libdir = os.path.join(sdk, NPCAP_LIB_DIRS.get(plat, os.path.join("Lib", "x64")))
    for lib in ("wpcap.lib", "Packet.lib"):
        if not probe.isfile(os.path.join(libdir, lib)):
            raise BuildFailure(f"the Npcap SDK in {sdk} has no {os.path.join(libdir, lib)} for this {plat} Python",
                               f"use an Npcap SDK with libraries for {plat} (1.13 or newer from {NPCAP_DOWNLOAD})")
    return Libpcap([f"-I{os.path.join(sdk, 'Include')}"],
                   [f"/LIBPATH:{libdir}", "wpcap.lib", "Packet.lib", "ws2_32.lib"], f"the Npcap SDK ({sdk})",
                   probe=False, remote=True)


def find_libpcap():
    """discover() on this machine; a failure ends the build with its line."""
    try:
        return discover(sysconfig.get_platform(), os.environ, SystemProbe())
    except BuildFailure as e:
        fail(e.cause, e.fix)


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


# On Windows the extension goes into pcap.libs/ and windows/pcap.py is
# installed as the module pcap: it adds Npcap's DLL folder to the DLL search
# path, then loads the extension under the name pcap (see that file for why).
WINDOWS_LOADER = os.path.join("windows", "pcap.py")
EXTENSION_FOLDER = "pcap.libs"


class build_ext_checked(build_ext):
    """Find and check libpcap before compiling, say what was found; also
    install pcap.pyi as the PEP 561 stub-only package pcap-stubs (type
    checkers do not read a top-level .pyi from site-packages), and on
    Windows the loader module."""

    def run(self):
        windows = sys.platform == "win32"
        cc = shlex.split(os.environ.get("CC", "cc"))
        if not windows and shutil.which(cc[0]) is None:      # (on Windows setuptools finds MSVC)
            fail(f"no C compiler ({cc[0]}) found",
                 "install one (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install), or set CC")
        found = find_libpcap()
        version = check_libpcap(cc, found.cflags, found.libs, found.how) if found.probe else "libpcap"
        print(f"pcap build: {version}, found with {found.how}; compiling the extension (about a minute)", flush=True)
        remote = has_remote_capture(cc, found.cflags, found.libs) if found.remote is None else found.remote
        print(f"pcap build: remote capture (rpcap://) {'on' if remote else 'off: this libpcap has none'}",
              flush=True)
        for ext in self.extensions:
            ext.extra_compile_args = found.cflags
            ext.extra_link_args = found.libs
            if remote:
                ext.define_macros.append(("HAVE_PCAP_REMOTE", "1"))
        super().run()
        if not self.inplace:
            target = os.path.join(self.build_lib, "pcap-stubs")
            self.mkpath(target)
            self.copy_file("pcap.pyi", os.path.join(target, "__init__.pyi"))
            if windows:
                self.copy_file(WINDOWS_LOADER, os.path.join(self.build_lib, "pcap.py"))

    def get_ext_fullpath(self, ext_name):
        path = super().get_ext_fullpath(ext_name)
        if sys.platform == "win32" and not self.inplace:
            return os.path.join(os.path.dirname(path), EXTENSION_FOLDER, os.path.basename(path))
        return path


if __name__ == "__main__":      # (tests import this file for discover())
    try:
        from Cython.Build import cythonize
    except ImportError:
        fail("Cython 3 is not installed", "pip install 'Cython>=3' (pip install . does this by itself)")

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
