"""The stub pcap.pyi: mypy --strict on examples/ and on a snippet that uses
every API (also run, so the snippet is real code), misuse that the stub must
reject, and mypy's stubtest comparing the stub with the built module.

mypy finds the stub through MYPYPATH=<repo root>: the editable install maps
the module with an import hook that mypy does not follow, and a top-level
pcap.pyi in site-packages is not searched by mypy either (PEP 561 wants a
stub-only package pcap-stubs/__init__.pyi for a single-module
distribution); see /work/bugs/issue4.md.  mypy runs once per module (a
fixture), with its cache in a temporary directory.
"""
import ast
import glob
import importlib.util
import os
import re
import subprocess
import sys
from collections import defaultdict

import pytest

import pcap
from support import can_capture, need, udp_frame, write_pcap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUB = os.path.join(ROOT, "pcap.pyi")
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py")))

# strict, plus: dpkt (used by the examples) ships no type information.
MYPY_INI = """\
[mypy]
strict = True
warn_unreachable = True
cache_dir = {cache}

[mypy-dpkt,dpkt.*]
ignore_missing_imports = True
"""

STUBTEST_ALLOWLIST = """\
# Cython's doctest table: not API (auto_pickle is off, so no pickling helpers)
pcap\\.__test__
"""

# Uses every public name of the module; mypy --strict must accept it and
# every assert_type must hold.  Run as: snippet.py SAVEFILE OUTDIR [live]
GOOD = '''
from __future__ import annotations

import asyncio
import socket
import sys
from typing import TYPE_CHECKING, Literal

import pcap

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:
    def assert_type(value, typ):
        return value


def on_packet(ts: float, buf: bytes, out: list[bytes]) -> None:
    out.append(buf)


def on_packet_ns(ts: int, buf: bytes) -> None:
    assert isinstance(ts, int)


def module_level() -> None:
    assert_type(pcap.__version__, str)
    consts: list[int] = [pcap.PCAP_D_INOUT, pcap.PCAP_D_IN, pcap.PCAP_D_OUT,
                         pcap.PCAP_TSTAMP_PRECISION_MICRO, pcap.PCAP_TSTAMP_PRECISION_NANO,
                         pcap.DLT_EN10MB, pcap.DLT_RAW, pcap.DLT_NULL, pcap.DLT_LINUX_SLL,
                         pcap.DLT_LINUX_SLL2, pcap.DLT_IEEE802_11_RADIO, pcap.DLT_USER15]
    assert len(consts) == 12
    assert_type(pcap.dltoff, dict[int, int])
    assert pcap.dltoff[pcap.DLT_EN10MB] == 14
    assert_type(pcap.findalldevs(), list[str])
    assert_type(pcap.lib_version(), str)
    assert_type(pcap.ex_name("lo"), str)
    assert_type(pcap.ex_name(b"lo"), bytes)
    assert_type(pcap.datalink_name(pcap.DLT_EN10MB), str)
    assert_type(pcap.datalink_description(1), str)
    assert_type(pcap.datalink_value("EN10MB"), int)
    try:
        assert_type(pcap.lookupdev(), str)
    except pcap.PcapError as e:
        assert_type(e, pcap.PcapError)
        assert_type(e.errno, int | None)
    net, mask = pcap.lookupnet("lo")
    assert_type(net, bytes)
    assert socket.inet_ntoa(mask) == "255.0.0.0"
    for dev in pcap.interfaces():
        assert_type(dev, pcap.interface)
        assert_type(dev.name, str)
        assert_type(dev.description, str | None)
        flags: list[bool] = [dev.is_up, dev.is_running, dev.is_loopback, dev.is_wireless]
        assert all(isinstance(f, bool) for f in flags)
        for a in dev.addresses:
            assert_type(a, pcap.address)
            if a.family == socket.AF_INET and a.addr is not None:
                assert_type(a.addr, str)
                socket.inet_aton(a.addr)
            texts: list[str | None] = [a.addr, a.netmask, a.broadaddr, a.dstaddr]
            assert len(texts) == 4
    made = pcap.interface("x0", None, [pcap.address(socket.AF_INET, "10.0.0.1", "255.0.0.0")], 0)
    assert not made.is_up
    errors: list[type[OSError]] = [pcap.PcapError, pcap.PcapPermissionError, pcap.PcapNotFoundError]
    assert issubclass(errors[2], FileNotFoundError)
    try:
        pcap.pcap("/no/such/savefile/or/device")
    except pcap.PcapNotFoundError as e:
        assert_type(str(e), str)


def bpf_tools() -> None:
    b = pcap.bpf("udp port 53", dlt=pcap.DLT_EN10MB, snaplen=96, optimize=True)
    assert_type(len(b), int)
    assert_type(b.dump(), list[str])
    assert_type(b.expr, str)
    assert_type(b.dlt, int)
    assert_type(b.snaplen, int)
    assert_type(b.filter(memoryview(b"")), bool)
    assert b.filter(bytearray(b"")) is False
    assert repr(pcap.bpf(b"tcp")).startswith("bpf(")


def read_savefile(path: str, out: str) -> None:
    p = pcap.pcap(path)
    assert_type(p, "pcap.pcap[float]")
    assert_type(p.name, str)
    assert_type(p.snaplen, int)
    assert_type(p.dloff, int)
    assert_type(p.closed, bool)
    assert_type(p.precision, int)
    assert_type(p.timestamp_in_ns, bool)
    assert_type(p.timeout_ms, int)
    assert_type(p.datalink(), int)
    assert_type(p.datalinks(), list[int])
    p.setfilter("udp")
    assert_type(p.filter, str)
    tri = pcap.Triage(["10.0.0.0/8", ("10.1.0.0/16", "drop")], ports=[53], port_action="drop",
                      flow_head_packets=3, flow_head_bytes=None, non_ip="keep")
    p.set_triage(tri)
    assert_type(p.triage, pcap.Triage | None)
    assert_type(tri.lookup("10.1.2.3"), Literal["keep", "drop"] | None)
    assert_type(tri.kept + tri.dropped, int)
    assert_type(tri.stats(), dict[str, int])
    p.set_triage(None)
    assert_type(p.getnonblock(), bool)
    assert_type(p.geterr(), str)
    assert_type(p.setdirection(pcap.PCAP_D_IN), bool)
    first = next(p)
    assert_type(first, tuple[float, bytes])
    assert_type(p.readpkts(1), list[tuple[float, bytes]])
    got: list[bytes] = []
    assert_type(p.dispatch(1, on_packet, got), int)
    assert_type(p.loop(1, on_packet, got), int)
    assert_type(p.dispatch(-1), int)
    p.breakloop()
    p.close()

    with pcap.pcap(path, timestamp_in_ns=True) as q:
        assert_type(q, "pcap.pcap[int]")
        with q.dump_open(out + "/copy.pcap") as d:
            assert_type(d, "pcap.dumper[int]")
            for ts, buf in q:
                assert_type(ts, int)
                d.write(ts, buf)
            d.flush()
        q.loop(0, on_packet_ns)

    with pcap.dumper(out + "/w.pcap", dlt=pcap.DLT_RAW, snaplen=100, nano=True, append=False) as w:
        assert_type(w, "pcap.dumper[float]")
        w.write(1.5, b"x")
        w.write(2, bytearray(b"y"), wirelen=10)
        w.write(3, memoryview(b"z"))
        assert_type(w.path, str)
        assert_type((w.dlt, w.snaplen), tuple[int, int])
        assert_type((w.nano, w.timestamp_in_ns, w.closed), tuple[bool, bool, bool])
    ns = pcap.dumper(out + "/ns.pcap", nano=True, timestamp_in_ns=True)
    assert_type(ns, "pcap.dumper[int]")
    ns.write(1_700_000_000_123_456_789, b"ns")
    ns.close()


async def read_async(path: str) -> int:
    n = 0
    with pcap.pcap(path, timestamp_in_ns=True) as p:
        async for ts, buf in p:
            assert_type(ts, int)
            assert_type(buf, bytes)
            n += 1
    return n


def live() -> None:
    with pcap.pcap("lo", snaplen=200, promisc=False, timeout_ms=50, immediate=True, buffer_size=1 << 20) as p:
        assert_type(p.fileno(), int)
        assert_type(p.fd, int)
        s = p.stats()
        assert_type(s, pcap.Stats)
        received, dropped, ifdropped = s
        assert_type(received, int)
        assert_type(s.received + s.dropped + s.ifdropped, int)
        assert pcap.DLT_EN10MB in p.datalinks()
        p.setdatalink(pcap.DLT_EN10MB)
        assert_type(p.sendpacket(b"\\0" * 60), int)
        p.setnonblock(True)
        assert_type(p.readpkts(), list[tuple[float, bytes]])
        assert_type(p.inject(b"\\0" * 60), int)
        assert_type(p.tstamp_type, str | None)
        p.next_batch()
        assert_type(p.batch_stats, pcap.Stats | None)
    kinds = pcap.tstamp_types("lo")
    assert_type(kinds, list[pcap.TstampType])
    assert_type(kinds[0].name, str)
    with pcap.pcap("lo", timestamp_in_ns=True, tstamp_type=kinds[0].value, protocol=0x88B5, batch_stats=True) as q:
        assert_type(q.tstamp_type, str | None)
    with pcap.pcap("lo", tstamp_type="host", timeout_ms=50) as r:
        assert_type(r, pcap.pcap[float])
        assert_type(pcap.PCAP_TSTAMP_ADAPTER_UNSYNCED, int)


def main(argv: list[str]) -> int:
    module_level()
    bpf_tools()
    read_savefile(argv[1], argv[2])
    assert asyncio.run(read_async(argv[1])) == 3
    if argv[3:] == ["live"]:
        live()
    print("snippet ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''

# Each line marked "# E: code" must get an error with that code; no other
# line may get one.  Shows that the stub is used and is precise (not Any).
BAD = '''
import pcap

p = pcap.pcap("x.pcap")
q = pcap.pcap("x.pcap", timestamp_in_ns=True)
d = q.dump_open("y.pcap")
d.write(1.5, b"x")  # E: arg-type
d.write(1, "text")  # E: arg-type
ts, buf = next(p)
buf.upper()
buf + "s"  # E: operator
n: str = len(pcap.bpf("tcp"))  # E: assignment
pcap.bpf(53)  # E: arg-type
p.stats().received.upper()  # E: attr-defined
p.setfilter(None)  # E: arg-type
pcap.Triage(prefix_action="allow")  # E: arg-type
p.set_triage("udp port 53")  # E: arg-type
p.no_such_method()  # E: attr-defined
pcap.datalink_name("EN10MB")  # E: arg-type
x: int = pcap.datalink_value("EN10MB")
pcap.dumper(5)  # E: call-overload
pcap.DLT_NO_SUCH_TYPE  # E: attr-defined
for dev in pcap.interfaces():
    dev.description.upper()  # E: union-attr
def cb(ts: float, buf: bytes, tag: str) -> None: ...
p.dispatch(1, cb, 3)  # E: arg-type
p.dispatch(1, cb, "tag")
'''


def mypy_available():
    return importlib.util.find_spec("mypy") is not None


@pytest.fixture(scope="module")
def mypy_ini(tmp_path_factory):
    need(mypy_available(), "mypy is not installed (pip install 'mypy>=1.18'; see /work/bugs/issue4.md)")
    d = tmp_path_factory.mktemp("mypy")
    ini = d / "mypy.ini"
    ini.write_text(MYPY_INI.format(cache=d / "cache"))
    return ini


@pytest.fixture(scope="module")
def snippets(tmp_path_factory):
    d = tmp_path_factory.mktemp("snippets")
    good = d / "typed_snippet.py"
    good.write_text(GOOD)
    bad = d / "typed_misuse.py"
    bad.write_text(BAD)
    return good, bad


@pytest.fixture(scope="module")
def mypy_result(mypy_ini, snippets):
    """One mypy --strict run over the stub, examples/*.py and the snippets:
    {absolute path: [(line, code, message)]}, and the whole output."""
    good, bad = snippets
    files = [STUB, *EXAMPLES, str(good), str(bad)]
    env = dict(os.environ, MYPYPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--config-file", str(mypy_ini),
                        "--show-error-codes", "--no-color-output", "--no-error-summary",
                        "--show-absolute-path", *files],
                       capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert r.returncode in (0, 1), f"mypy crashed:\n{r.stdout}\n{r.stderr}"
    errors = defaultdict(list)
    for line in r.stdout.splitlines():
        m = re.match(r"^(.+?):(\d+): error: (.*?)(?:  \[([a-z-]+)\])?$", line)
        if m:
            errors[os.path.realpath(m.group(1))].append((int(m.group(2)), m.group(4), m.group(3)))
    return errors, r.stdout


def errors_of(mypy_result, path):
    errors, _ = mypy_result
    return [f"{os.path.basename(path)}:{ln}: {msg} [{code}]" for ln, code, msg in errors[os.path.realpath(path)]]


def test_stub_passes_mypy_strict(mypy_result):
    assert errors_of(mypy_result, STUB) == []


def test_examples_pass_mypy_strict(mypy_result):
    need(EXAMPLES, "examples/ has no .py file yet")
    bad = {os.path.basename(f): errors_of(mypy_result, f) for f in EXAMPLES}
    assert {f: e for f, e in bad.items() if e} == {}


def test_snippet_using_every_api_passes_mypy_strict(mypy_result, snippets):
    assert errors_of(mypy_result, snippets[0]) == []


def test_misuse_is_rejected(mypy_result, snippets):
    bad = snippets[1]
    want = {}
    for i, line in enumerate(BAD.splitlines(), 1):
        m = re.search(r"# E: ([a-z-]+)$", line)
        if m:
            want[i] = m.group(1)
    errors, out = mypy_result
    got = defaultdict(set)
    for ln, code, _ in errors[os.path.realpath(bad)]:
        got[ln].add(code)
    missing = {ln: code for ln, code in want.items() if code not in got.get(ln, set())}
    unexpected = {ln: codes for ln, codes in got.items() if ln not in want}
    assert (missing, unexpected) == ({}, {}), out


def test_snippet_runs(snippets, tmp_path):
    """The typed snippet is real code: it runs against a savefile (and lo
    when capture is allowed)."""
    path = write_pcap(tmp_path / "s.pcap", [(1, 0, udp_frame(b"a")), (2, 0, udp_frame(b"b")),
                                           (3, 0, udp_frame(b"c"))])
    args = [sys.executable, str(snippets[0]), str(path), str(tmp_path)]
    if can_capture():
        args.append("live")
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "snippet ok"


def test_generic_classes_subscriptable_at_runtime():
    """The stub makes pcap and dumper generic in the timestamp type, so
    ``def f(p: pcap.pcap[int])`` must also work where annotations are
    evaluated (no ``from __future__ import annotations``)."""
    for cls in (pcap.pcap, pcap.dumper):
        for t in (int, float):
            alias = cls[t]
            assert alias.__origin__ is cls and alias.__args__ == (t,)


def test_stub_lists_every_public_name():
    """Every public name of the module is in the stub, and nothing more; the
    DLT_* constants are annotated int."""
    tree = ast.parse(open(STUB).read())
    stub_names = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stub_names[node.target.id] = ast.unparse(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stub_names[node.name] = node.__class__.__name__
    public = {n for n in dir(pcap) if not n.startswith("_")} | {"__version__"}
    stub_public = {n for n in stub_names if not n.startswith("_")} | ({"__version__"} & set(stub_names))
    assert sorted(public - stub_public) == []
    assert sorted(stub_public - public) == []
    dlts = [n for n in public if n.startswith("DLT_")]
    assert len(dlts) > 150
    assert {stub_names[n] for n in dlts} == {"int"}


def test_stubtest_agrees_with_runtime(mypy_ini, tmp_path):
    """mypy's stubtest imports the built module and checks every name and
    signature of the stub against it."""
    allow = tmp_path / "allowlist.txt"
    allow.write_text(STUBTEST_ALLOWLIST)
    env = dict(os.environ, MYPYPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "pcap", "--allowlist", str(allow),
                        "--mypy-config-file", str(mypy_ini)],
                       capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success" in r.stdout
