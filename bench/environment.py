"""Set-up of the benchmark (bench/README.md): the C baseline, the
interpreters (our module's bare environment, one virtual environment per
peer, installed with pip on first use), the input files, and the facts of
the machine and the build that the report names."""
import ast
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys

import gen

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BASELINE_SRC = os.path.join(HERE, "baseline.c")

# The peers: what pip installs into each one's own virtual environment (the
# versions pinned when each was added: pypcap the one we replace, the newest
# of the others then), and what to try when that fails.
PEERS = {
    "pypcap": {"pip": ["pypcap==1.3.0"], "check": "import pcap",
               "dist": "pypcap", "retry": [["Cython<3", "setuptools", "wheel"]]},
    "pcapy-ng": {"pip": ["pcapy-ng==2.1.0", "numpy"], "check": "import pcapy, numpy", "dist": "pcapy-ng",
                 "retry": [["setuptools", "wheel"]]},
    "python-libpcap": {"pip": ["python-libpcap==0.5.4"], "check": "import pylibpcap.pcap",
                       "dist": "python-libpcap", "retry": [["Cython<3", "setuptools", "wheel"]]},
    "pcap-ct": {"pip": ["pcap-ct==1.3.0b3"], "check": "import pcap; pcap.pcap",
                "dist": "pcap-ct", "retry": []},
    "dpkt": {"pip": ["dpkt==1.9.8", "pyarrow"], "check": "import dpkt.pcap, pyarrow", "dist": "dpkt", "retry": []},
    "scapy": {"pip": ["scapy==2.8.0", "pyarrow"], "check": "from scapy.utils import RawPcapReader; import pyarrow",
              "dist": "scapy", "retry": []},
}
IMPLS = ["ours"] + list(PEERS)


def dask_extra():
    """What the readers that use numpy, pyarrow or Dask need (our module
    needs none of them): the module's extra "dask" in pyproject.toml, whose
    lower bounds keep pip from pairing the newest dask with a distributed
    of years ago when an index lacks the matching distributed."""
    with open(os.path.join(REPO, "pyproject.toml")) as f:
        found = re.search(r"^dask = (\[.*\])$", f.read(), re.M)
    return ast.literal_eval(found.group(1)) if found else ["numpy", "pyarrow", "pandas", "dask[dataframe]",
                                                         "distributed"]


OURS_PIP = dask_extra()


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def build_baseline(work):
    exe = os.path.join(work, "baseline")
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(BASELINE_SRC):
        return exe
    cc = os.environ.get("CC", "cc")
    tmp = f"{exe}.{os.getpid()}.tmp"
    cmd = [cc, "-O2", "-o", tmp, BASELINE_SRC, "-lpcap"]
    log("building the C baseline:", " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"cannot build the C baseline ({' '.join(cmd)}):\n{r.stderr}")
    os.replace(tmp, exe)
    return exe


def dev_python():
    """The project's development interpreter: .venv, else this one."""
    venv = os.path.join(REPO, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def ours_env(base, venvs):
    """An environment for our module made like the peers' (same base
    interpreter, pip and setuptools as venv puts them), whose only addition is
    a .pth line naming the repository: ``import pcap`` loads the module built
    there (the one .venv's editable install loads), without the editable
    install's finder, which imports pathlib, re, urllib, ipaddress... at every
    start of .venv's interpreter (2 MiB more RSS than the peers' start with).
    Returns its interpreter, or None when it cannot be made."""
    venv = os.path.join(venvs, "ours")
    py = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".bench-installed")
    want = json.dumps({"repo": REPO, "base": base, "pip": OURS_PIP})
    if os.path.exists(stamp) and open(stamp).read() == want and os.path.exists(py):
        return py
    shutil.rmtree(venv, ignore_errors=True)
    log(f"making {venv} (our module from {REPO})")
    r = subprocess.run([base, "-m", "venv", venv], capture_output=True, text=True)
    if r.returncode != 0:
        log(f"cannot make {venv}: {r.stderr.strip()}")
        return None
    r = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       capture_output=True, text=True)
    with open(os.path.join(r.stdout.strip(), "bench-ours.pth"), "w") as f:
        f.write(REPO + "\n")
    r = subprocess.run([py, "-m", "pip", "install", "--disable-pip-version-check", "-q"] + OURS_PIP,
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"cannot install {' '.join(OURS_PIP)} for our numpy readers:\n{pip_error(r.stderr)}")
        return py
    with open(stamp, "w") as f:
        f.write(want)
    return py


def check_ours(python, fatal=True):
    """Version facts from our module; exits (or returns None when not
    ``fatal``) when it cannot be imported."""
    code = ("import json, sys, pcap; print(json.dumps({'file': pcap.__file__, "
            "'version': getattr(pcap, '__version__', '?'), 'lib': pcap.lib_version(), "
            "'python': sys.version.split()[0]}))")
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=HERE)
    if r.returncode != 0:
        if not fatal:
            log(f"our module does not import with {python}:\n{r.stderr}")
            return None
        sys.exit(f"our module does not import with {python}:\n{r.stderr}")
    info = json.loads(r.stdout)
    if not os.path.realpath(info["file"]).startswith(os.path.realpath(REPO) + os.sep):
        log(f"warning: {python} imports pcap from {info['file']}, not from {REPO}")
    return info


def base_python(dev):
    """The interpreter the environments are made from: the base of the
    project's .venv, so that every reader runs on the same Python."""
    r = subprocess.run([dev, "-c", "import sys; print(getattr(sys, '_base_executable', sys.executable))"],
                       capture_output=True, text=True)
    exe = r.stdout.strip()
    return exe if r.returncode == 0 and exe else sys.executable


def pip_error(text):
    """The telling lines of a failed pip run."""
    lines = [l.rstrip() for l in text.splitlines()
             if l.strip() and not l.startswith("WARNING: Location")]
    keep = [l for l in lines if "error" in l.lower() or "Error" in l]
    return "\n".join((keep or lines)[-12:])


def install_peer(name, base, venvs):
    """The interpreter of ``name``'s environment, or (None, why) when it
    could not be installed."""
    spec = PEERS[name]
    venv = os.path.join(venvs, name)
    py = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".bench-installed")
    want = json.dumps({"pip": spec["pip"], "base": base})
    if os.path.exists(stamp) and open(stamp).read() == want and os.path.exists(py):
        return py, None
    shutil.rmtree(venv, ignore_errors=True)
    log(f"installing {name} ({' '.join(spec['pip'])}) into {venv}")
    r = subprocess.run([base, "-m", "venv", venv], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"python -m venv failed:\n{r.stderr.strip()}"
    logpath = os.path.join(venvs, f"{name}.log")
    attempts = [([], spec["pip"])] + [(pre, ["--no-build-isolation"] + spec["pip"]) for pre in spec["retry"]]
    errors = []
    with open(logpath, "w") as logf:
        for pre, args in attempts:
            ok = True
            for cmd in ([pre] if pre else []) + [args]:
                full = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q"] + cmd
                logf.write("$ " + " ".join(full) + "\n")
                logf.flush()
                r = subprocess.run(full, capture_output=True, text=True)
                logf.write(r.stdout + r.stderr)
                if r.returncode != 0:
                    errors.append(f"`pip install {' '.join(cmd)}`:\n{pip_error(r.stdout + r.stderr)}")
                    ok = False
                    break
            if ok:
                r = subprocess.run([py, "-c", spec["check"]], capture_output=True, text=True, cwd=HERE)
                if r.returncode == 0:
                    with open(stamp, "w") as f:
                        f.write(want)
                    return py, None
                errors.append(f"installed, but `{spec['check']}` fails:\n{r.stderr.strip()[-800:]}")
    return None, "\n\n".join(errors) + f"\n(full log: {logpath})"


def peer_version(py, name):
    r = subprocess.run([py, "-c", f"import importlib.metadata as m; print(m.version({PEERS[name]['dist']!r}))"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "?"


def can_capture():
    if not hasattr(os, "geteuid"):
        return False
    if os.geteuid() == 0:
        return True
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 13))
    except OSError:
        pass
    return False


def make_veths(pairs):
    """The veth pairs of the multi-interface capture, made (root only),
    up, without IPv6 (no router solicitations), and deleted at exit; or
    None with why not."""
    import atexit
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None, "veth pairs need root"
    ip = shutil.which("ip")
    if ip is None:
        return None, "no `ip` command (iproute2) to make veth pairs"

    def drop():
        for a, _ in pairs:
            subprocess.run([ip, "link", "del", a], capture_output=True)
    drop()
    for a, b in pairs:
        r = subprocess.run([ip, "link", "add", a, "type", "veth", "peer", "name", b], capture_output=True, text=True)
        if r.returncode != 0:
            drop()
            return None, f"cannot make a veth pair: {r.stderr.strip()}"
        for end in (a, b):
            try:
                with open(f"/proc/sys/net/ipv6/conf/{end}/disable_ipv6", "w") as f:
                    f.write("1")
            except OSError:
                pass
            subprocess.run([ip, "link", "set", end, "up"], capture_output=True)
    atexit.register(drop)
    return pairs, None


def machine(ours_info):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "python": ours_info["python"], "libpcap": ours_info["lib"],
            "ours": f"pcap {ours_info['version']} ({ours_info['file']}, run by {ours_info['interpreter']})"}


def source_state(so_path):
    """The commit of the repository, whether the module's sources differ
    from it, and when the module was built."""
    def git(*a):
        r = subprocess.run(["git", "-C", REPO] + list(a), capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", *(f":(glob){g}" for g in (
        "*.pyx", "*.pxi", "*.pxd", "*.c", "*.h", "setup.py", "pyproject.toml")))
    try:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(so_path)).strftime("%Y-%m-%d %H:%M:%S")
    except OSError:
        built = "?"
    return f"commit {commit}{' with uncommitted changes to the module' if dirty else ''}, built {built}"


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"] * 3


def interpreters(only, ours_python, work):
    """The interpreter of each module in ``only`` that could be set up, our
    module's version facts, the peers' versions, and why each peer that
    could not be installed was not: (pythons, ours_info, versions, missing)."""
    dev = dev_python()
    base = base_python(dev)
    venvs = os.path.join(work, "venvs")
    ours_info = None
    if ours_python:
        ours = ours_python
    else:
        os.makedirs(venvs, exist_ok=True)
        ours = ours_env(base, venvs)
        ours_info = check_ours(ours, fatal=False) if ours else None
        if ours_info is None:
            log(f"falling back to {dev} for our module")
            ours = dev
    ours_info = ours_info or check_ours(ours)
    ours_info["interpreter"] = ours
    pythons, versions, missing = {"ours": ours}, {}, {}
    for name in (p for p in only if p != "ours"):
        os.makedirs(venvs, exist_ok=True)
        py, why = install_peer(name, base, venvs)
        if py is None:
            log(f"{name} could not be installed:\n{why}")
            missing[name] = why
        else:
            pythons[name] = py
            versions[name] = peer_version(py, name)
    return pythons, ours_info, versions, missing


def input_files(packets, large_packets, work, reference=False):
    """The files the readers read, by Reader.file: 'small', 'large' (unless
    ``large_packets`` is 0), 'small.FMT' for each of gen.FORMATS that could
    be made, and with ``reference`` the same for a file of one packet
    ('one', 'one.FMT': a pcapng copy of no packet would have no interface,
    which libpcap refuses).  Each is (path, facts).  Also returns why each format that
    could not be made was not: {'small.FMT': why}.  The files are read once,
    so that every reader finds them in the page cache."""
    files, unavailable = {}, {}
    for name, count in (("small", packets), ("one", 1 if reference else None)):
        if count is None:
            continue
        files[name] = gen.ensure("small", count, work, quiet=name == "one")
        for fmt in gen.FORMATS:
            try:
                files[f"{name}.{fmt}"] = gen.ensure_format("small", count, fmt, work, quiet=name == "one")
            except gen.FormatUnavailable as e:
                log(f"no {fmt} copy: {e}")
                unavailable[f"{name}.{fmt}"] = str(e)
    if large_packets > 0:
        files["large"] = gen.ensure("large", large_packets, work)
    for path, _ in files.values():
        with open(path, "rb") as f:
            while f.read(1 << 22):
                pass
    return files, unavailable
