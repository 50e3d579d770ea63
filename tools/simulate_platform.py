"""The module's non-Linux branches, checked on Linux (issue 23).

1. The simulated platform: the module built under build/simulated/ with
   CFLAGS=-DPCAP_SIMULATE_PORTABLE (platform.h), which makes the Linux build
   take every non-Linux branch that can run here: live handles waited on in
   bounded slices without a selectable descriptor, savefiles and file
   objects read without fopencookie (our readers over a dead handle, as on
   Windows), fanout, ring sizing and protocol= refused.  Then the offline
   tests, the waiting tests, the platform tests and a live capture on lo
   run against that build (PYTHONPATH), which says it is the simulated one
   (pcap._SIMULATED_PLATFORM).
2. The Windows branches of the hand-written C files (not pcap.c, which
   Cython writes and which needs a Windows Python.h): x86_64-w64-mingw32-gcc
   -fsyntax-only against libpcap 1.10.6's headers (from the release tarball
   in ../shared/libpcap/).  And pcap_stream.c's funopen() branch (macOS,
   the BSDs) against libbsd's funopen() (-DPCAP_CHECK_FUNOPEN, a check only).

    python tools/simulate_platform.py [--mingw-only | --simulate-only]

Where mingw-w64 or the tarball is missing it says so and skips that part;
under CI=true it fails instead.  Exit status 1 when anything fails.
"""
import glob
import os
import subprocess
import sys
import sysconfig
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARBALL = os.path.join(os.path.dirname(ROOT), "shared", "libpcap", "libpcap-1.10.6.tar.gz")
BUILD = os.path.join(ROOT, "build", "simulated")
IN_CI = os.environ.get("CI", "").lower() == "true"
MINGW = "x86_64-w64-mingw32-gcc"
SWITCH = "-DPCAP_SIMULATE_PORTABLE"

# What runs without a capture privilege, the waits, the platform seam, and
# one live capture on lo.
TESTS = ["test_savefile.py", "test_pipes.py", "test_fileobj.py", "test_readbatch.py", "test_batch.py",
         "test_sources_sinks.py", "test_pcapng.py", "test_module.py", "test_errors.py",
         "test_wait_breakloop.py", "test_wait_nonblocking.py", "test_wait_signals.py",
         "test_wait_threads.py", "test_wait_timeouts.py", "test_platform.py",
         "test_live.py::test_lo_udp_iteration"]
# What a build without a selectable descriptor cannot do, by design
# (test_platform.py checks that fileno() says so): fileno() and what waits
# on it; and a packet's latency, which there is up to one wait slice (50 ms)
# plus the read, where the latency test allows 50 ms in all.
DESELECTED = ["test_wait_nonblocking.py::test_nonblocking_mode", "test_wait_nonblocking.py::test_fileno_with_select",
              "test_wait_nonblocking.py::test_fileno_with_selectors",
              "test_wait_breakloop.py::test_breakloop_from_callback_live_burst",
              "test_sources_sinks.py::test_read[live-async]", "test_wait_timeouts.py::test_latency_immediate"]
# mingw checks printf formats against msvcrt, which has no %zu; the UCRT
# that CPython 3.5+ links on Windows has it: formats are not checked.
MINGW_FLAGS = ["-fsyntax-only", "-std=gnu11", "-Wall", "-Wextra", "-Wno-format",
               "-Werror=implicit-function-declaration", "-Werror=incompatible-pointer-types",
               "-Werror=int-conversion"]


def say(*args):
    print("simulate_platform:", *args, flush=True)


def unavailable(message):
    if IN_CI:
        say(f"CI=true and this cannot run: {message}")
        return False
    say(f"skipped: {message}")
    return True


def libpcap_headers():
    """libpcap 1.10.6's pcap.h and pcap/ under build/simulated/include."""
    include = os.path.join(BUILD, "include")
    if not os.path.exists(os.path.join(include, "pcap", "pcap.h")):
        with tarfile.open(TARBALL) as tf:
            members = [m for m in tf.getmembers()
                       if m.name == "libpcap-1.10.6/pcap.h" or m.name.startswith("libpcap-1.10.6/pcap/")]
            for m in members:
                m.name = m.name.split("/", 1)[1]
            tf.extractall(include, members=members, filter="data")
    return include


def check_mingw():
    if subprocess.run(["which", MINGW], capture_output=True).returncode != 0:
        return unavailable(f"{MINGW} is not installed (apt-get install gcc-mingw-w64)")
    if not os.path.exists(TARBALL):
        return unavailable(f"no {TARBALL} for libpcap's Windows headers")
    include = libpcap_headers()
    sources = sorted(set(glob.glob(os.path.join(ROOT, "*.c"))) - {os.path.join(ROOT, "pcap.c")})
    failed = []
    for src in sources:
        proc = subprocess.run([MINGW, *MINGW_FLAGS, f"-I{include}", f"-I{ROOT}", src],
                              capture_output=True, text=True)
        if proc.returncode != 0 or "warning" in proc.stderr:
            failed.append(os.path.basename(src))
            print(proc.stderr, end="")
    names = " ".join(os.path.basename(s) for s in sources)
    if failed:
        say(f"mingw-w64: {', '.join(failed)} do not compile cleanly for Windows")
        return False
    say(f"mingw-w64: the Windows branches of {len(sources)} C files compile ({names}); "
        "pcap.c (Cython's) is not checked: it needs a Windows Python.h")
    return True


def check_funopen():
    """pcap_stream.c's funopen() branch (macOS, the BSDs) compiled here
    against libbsd's declaration of funopen(), which is the BSDs' own."""
    if not os.path.exists("/usr/include/bsd/stdio.h"):
        return unavailable("no <bsd/stdio.h> for the funopen() check (apt-get install libbsd-dev)")
    proc = subprocess.run(["cc", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-DPCAP_CHECK_FUNOPEN",
                           "-include", "bsd/stdio.h", f"-I{ROOT}", os.path.join(ROOT, "pcap_stream.c")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr, end="")
        say("funopen: pcap_stream.c's funopen() branch does not compile")
        return False
    say("funopen: pcap_stream.c's funopen() branch compiles against libbsd's funopen()")
    return True


def simulate():
    # (CFLAGS in the environment replaces Python's own, -O3 among them:
    # the switch goes on top of those, so that the build is the real one's.)
    cflags = os.environ.get("CFLAGS", sysconfig.get_config_var("CFLAGS") or "")
    env = dict(os.environ, CFLAGS=f"{cflags} {SWITCH}".strip())
    t0 = time.monotonic()
    say(f"building the module with {SWITCH} in {BUILD}")
    log = os.path.join(ROOT, "build", "module-simulated.log")
    os.makedirs(BUILD, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib",
                               os.path.join(BUILD, "lib"), "--build-temp", os.path.join(BUILD, "tmp"), "--force"],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        print(open(log).read()[-3000:])
        say("the simulated build failed")
        return False
    say(f"built in {time.monotonic() - t0:.0f} s")
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "lib"), PYTHONDONTWRITEBYTECODE="1")
    probe = subprocess.run([sys.executable, "-c", "import pcap; print(pcap.__file__); "
                            "print(pcap._SIMULATED_PLATFORM, pcap._PLATFORM)"],
                           cwd=BUILD, env=env, capture_output=True, text=True)
    lines = probe.stdout.splitlines()
    if probe.returncode != 0 or len(lines) < 2 or not lines[0].startswith(BUILD) or not lines[1].startswith("True"):
        say(f"the build in {BUILD} is not the simulated one: {probe.stdout} {probe.stderr[-1000:]}")
        return False
    say(f"{lines[1].split(' ', 1)[1]}: running {len(TESTS)} test files against it")
    t0 = time.monotonic()
    tests = [os.path.join(ROOT, "tests", t) for t in TESTS]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", ROOT,
                           *tests, *(f"--deselect=tests/{t}" for t in DESELECTED)],
                          cwd=BUILD, env=dict(env, PCAP_EXPECT_SIMULATED="1"))
    say(f"tests ran in {time.monotonic() - t0:.0f} s")
    return proc.returncode == 0


def main(argv):
    ok = True
    if "--simulate-only" not in argv:
        ok = check_mingw() and ok
        ok = check_funopen() and ok
    if "--mingw-only" not in argv:
        ok = simulate() and ok
    say("passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
