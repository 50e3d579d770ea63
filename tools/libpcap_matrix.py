"""The module against every supported libpcap: 1.8.1, 1.9.1, 1.10.1, 1.10.6.

For each release tarball in ../shared/libpcap/ (checked against its
SHA256SUMS), this builds libpcap as a shared library with its optional
features off under build/libpcap/VERSION (kept: a second run reuses it),
builds the module against it under build/matrix/VERSION (PCAP_CFLAGS and
PCAP_LIBS, with an rpath), checks that pcap.lib_version() names that
libpcap, and runs the offline tests, a live capture on lo and the capture
options that differ by version with it.

    python tools/libpcap_matrix.py [VERSION ...]

Where the tarballs are not there it says so and exits 0; under CI=true it
fails instead.  Exit status 1 when any version fails to build or to pass.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARBALLS = os.path.join(os.path.dirname(ROOT), "shared", "libpcap")
BUILD = os.path.join(ROOT, "build")
IN_CI = os.environ.get("CI", "").lower() == "true"

# What pcap_lib_version() says for each: the 1.8.1 tag's VERSION file says
# 1.9.0-PRE-GIT (libpcap's own slip; see ../shared/libpcap/README.md).
VERSIONS = {
    "1.8.1": "libpcap version 1.9.0-PRE-GIT",
    "1.9.1": "libpcap version 1.9.1",
    "1.10.1": "libpcap version 1.10.1",
    "1.10.6": "libpcap version 1.10.6",
}
# Optional parts that need other libraries, off.  (configure ignores the
# options an older release does not know.)
CONFIGURE_OFF = ["--disable-dbus", "--disable-rdma", "--disable-bluetooth", "--without-libnl",
                 "--disable-usb", "--disable-netmap", "--disable-remote", "--without-dpdk",
                 "--disable-universal"]
CMAKE_OFF = ["-DDISABLE_DBUS=ON", "-DDISABLE_RDMA=ON", "-DDISABLE_BLUETOOTH=ON",
             "-DBUILD_WITH_LIBNL=OFF", "-DDISABLE_LINUX_USBMON=ON", "-DDISABLE_NETMAP=ON",
             "-DDISABLE_DPDK=ON", "-DENABLE_REMOTE=OFF", "-DCMAKE_BUILD_TYPE=Release"]
# The tests that need no capture privilege, and one live capture on lo.
OFFLINE_TESTS = ["test_savefile.py", "test_libpcap_compare.py", "test_pipes.py", "test_dumper.py",
                 "test_errors.py", "test_readbatch.py", "test_module.py", "test_batch.py", "test_fileobj.py",
                 "test_split.py", "test_sources_sinks.py"]
LIVE_TEST = "test_live.py::test_lo_udp_iteration"
# What depends on the version at build time: time stamp types as libpcap
# lists them (1.8 lists none for host alone), protocol= (1.9 and later), a
# small buffer_size (1.8.1 closes the capture and calls it a warning).
CAPTURE_OPTIONS_TESTS = ["test_capture_options.py::test_tstamp_types_of_lo_needs_no_privilege",
                         "test_capture_options.py::test_protocol_opens_or_says_which_libpcap_it_needs",
                         "test_capture_options.py::test_protocol_only_that_ethertype_arrives[lo]",
                         "test_capture_options.py::test_a_small_buffer_size_captures_or_says_why"]
# Remote capture (rpcap://, pcap_open, pcap_findalldevs_ex, and rpcapd):
# for the self-contained wheel and tests/test_remote.py, built with CMake.
# Without OpenSSL, so that the wheel carries no copy of it: no rpcaps://.
CMAKE_REMOTE = ["-DENABLE_REMOTE=ON", "-DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON"]


def say(*args):
    print("libpcap_matrix:", *args, flush=True)


def run(cmd, cwd=None, env=None, log=None):
    """Run cmd; its output goes to `log` (a path) when given.  Raises with
    the end of that output on failure."""
    with open(log, "w") if log else open(os.devnull, "w") as out:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out if log else None,
                              stderr=subprocess.STDOUT if log else None)
    if proc.returncode != 0:
        tail = open(log).read()[-3000:] if log else ""
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode})\n{tail}")


def checksums():
    sums = {}
    with open(os.path.join(TARBALLS, "SHA256SUMS")) as f:
        for line in f:
            digest, _, name = line.strip().partition("  ")
            sums[name.lstrip("*")] = digest
    return sums


def build_libpcap(version, digest, static=False, remote=False):
    """build/libpcap/VERSION/{include,lib}, built once per tarball; with
    ``static``, build/libpcap/VERSION-static with a position-independent
    libpcap.a, for linking into the extension.  With ``remote``, remote
    capture on (CMAKE_REMOTE): rpcap:// in the library, and rpcapd in
    sbin/ (VERSION-remote, or VERSION-static, which the wheel takes)."""
    prefix = os.path.join(BUILD, "libpcap", version + ("-static" if static else "-remote" if remote else ""))
    options = CMAKE_OFF + (CMAKE_REMOTE if remote else [])
    # The stamp names the options too: a cache built with others is rebuilt.
    built_from = digest if not remote else f"{digest} {' '.join(options)}"
    stamp = os.path.join(prefix, ".built-from")
    if os.path.exists(stamp) and open(stamp).read() == built_from:
        say(f"{version}: libpcap already built in {prefix}")
        return prefix
    tarball = os.path.join(TARBALLS, f"libpcap-{version}.tar.gz")
    with open(tarball, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != digest:
            raise RuntimeError(f"{tarball} does not match its SHA256SUMS line")
    src_root = os.path.join(BUILD, "libpcap", "src-static" if static else "src-remote" if remote else "src")
    src = os.path.join(src_root, f"libpcap-{version}")
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(prefix, ignore_errors=True)
    os.makedirs(src_root, exist_ok=True)
    with tarfile.open(tarball) as tf:
        tf.extractall(src_root, filter="data")
    log = os.path.join(src_root, f"build-{version}.log")
    t0 = time.monotonic()
    say(f"{version}: building libpcap (log: {log})")
    if static or remote:
        out = os.path.join(src, "cmake-build")
        shape = ["-DCMAKE_POSITION_INDEPENDENT_CODE=ON", "-DBUILD_SHARED_LIBS=OFF"] if static else []
        run(["cmake", "-S", src, "-B", out, f"-DCMAKE_INSTALL_PREFIX={prefix}", *options, *shape], log=log)
        run(["cmake", "--build", out, "-j2"], log=log + ".make")
        run(["cmake", "--install", out], log=log + ".install")
    elif os.path.exists(os.path.join(src, "configure")):
        run(["./configure", f"--prefix={prefix}", *CONFIGURE_OFF], cwd=src, log=log)
        run(["make", "-j2"], cwd=src, log=log + ".make")
        run(["make", "install"], cwd=src, log=log + ".install")
    else:
        out = os.path.join(src, "cmake-build")
        run(["cmake", "-S", src, "-B", out, f"-DCMAKE_INSTALL_PREFIX={prefix}", *CMAKE_OFF], log=log)
        run(["cmake", "--build", out, "-j2"], log=log + ".make")
        run(["cmake", "--install", out], log=log + ".install")
    with open(stamp, "w") as f:
        f.write(built_from)
    say(f"{version}: libpcap built in {time.monotonic() - t0:.0f} s")
    return prefix


def build_module(version, prefix):
    """The module built against that libpcap, in build/matrix/VERSION/lib."""
    out = os.path.join(BUILD, "matrix", version)
    libdir = os.path.join(prefix, "lib")
    env = dict(os.environ, PCAP_CFLAGS=f"-I{prefix}/include",
               PCAP_LIBS=f"-L{libdir} -Wl,-rpath,{libdir} -lpcap")
    t0 = time.monotonic()
    say(f"{version}: building the module against it")
    run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", os.path.join(out, "lib"),
         "--build-temp", os.path.join(out, "tmp")], cwd=ROOT, env=env, log=os.path.join(BUILD, f"module-{version}.log"))
    say(f"{version}: module built in {time.monotonic() - t0:.0f} s")
    return out, env


def test_module(version, out, env):
    env = dict(env, PYTHONPATH=os.path.join(out, "lib"), PYTHONDONTWRITEBYTECODE="1")
    # From out/, so that the repository's own build is not the one imported.
    probe = subprocess.run([sys.executable, "-c", "import pcap; print(pcap.__file__); print(pcap.lib_version())"],
                           cwd=out, env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        raise RuntimeError(f"import failed: {probe.stderr[-2000:]}")
    where, lib_version = probe.stdout.splitlines()[:2]
    if not where.startswith(out):
        raise RuntimeError(f"imported {where}, not the build in {out}")
    if not lib_version.startswith(VERSIONS[version]):
        raise RuntimeError(f"pcap.lib_version() is {lib_version!r}, not {VERSIONS[version]!r}")
    say(f"{version}: {lib_version}; running the offline tests and a live capture on lo")
    tests = [os.path.join(ROOT, "tests", t) for t in OFFLINE_TESTS + [LIVE_TEST] + CAPTURE_OPTIONS_TESTS]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", ROOT, *tests], cwd=out, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"the tests failed against libpcap {version}")


def main(argv):
    wanted = argv or list(VERSIONS)
    missing = [v for v in wanted if not os.path.exists(os.path.join(TARBALLS, f"libpcap-{v}.tar.gz"))]
    if missing:
        message = (f"no libpcap release tarballs for {', '.join(missing)} in {TARBALLS} "
                   "(release tarballs from the libpcap project's download page or its git tags)")
        if IN_CI:
            say(f"CI=true and the version matrix cannot run: {message}")
            return 1
        say(f"skipped: {message}")
        return 0
    sums = checksums()
    failed = []
    for version in wanted:
        try:
            prefix = build_libpcap(version, sums[f"libpcap-{version}.tar.gz"])
            out, env = build_module(version, prefix)
            test_module(version, out, env)
            say(f"{version}: passed")
        except (RuntimeError, KeyError, OSError) as e:
            say(f"{version}: FAILED: {e}")
            failed.append(version)
    if failed:
        say(f"failed against libpcap {', '.join(failed)}")
        return 1
    say(f"passed against libpcap {', '.join(wanted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
