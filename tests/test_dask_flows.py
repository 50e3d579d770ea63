"""examples/dask_flows.py against the same flows computed packet by packet in
plain Python: every scheduler, worker count and split gives the same."""
import gzip
import importlib.util
import ipaddress
import json
import os
import random
import struct
import sys
import time
from pathlib import Path

import pytest

import pcap
from support import need, run, run_python, udp_frame, write_pcap, write_pcapng

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "dask_flows.py"


@pytest.fixture(autouse=True)
def dask_installed():
    for mod in ("dask", "distributed", "pandas", "numpy"):
        need(importlib.util.find_spec(mod) is not None, f"{mod} is not installed (the test extra has it)")


def eth(payload, ethertype):
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" + struct.pack("!H", ethertype) + payload


def tcp4(src, dst, sport, dport, body=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x10, 512, 0, 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                     ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return eth(ip + tcp, 0x0800)


def ip6(src, dst, nh, l4):
    return eth(struct.pack("!IHBB16s16s", 6 << 28, len(l4), nh, 64, ipaddress.IPv6Address(src).packed,
                           ipaddress.IPv6Address(dst).packed) + l4, 0x86DD)


def frames(seed, n):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        k = rnd.randrange(6)
        body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 120)))
        a, b = f"10.0.{rnd.randrange(3)}.1", f"10.0.{rnd.randrange(3)}.2"
        if k == 0:
            f = udp_frame(body, sport=1000 + rnd.randrange(3), dport=53, src=a, dst=b)
        elif k == 1:
            f = tcp4(a, b, 40000 + rnd.randrange(2), 443, body)
        elif k == 2:
            f = ip6(f"2001:db8::{rnd.randrange(1, 4)}", "2001:db8::ff", 6,
                    struct.pack("!HHIIBBHHH", 5555, 80, 0, 0, 0x50, 0x10, 0, 0, 0) + body)
        elif k == 3:
            f = ip6("fe80::1", "ff02::1", 17, struct.pack("!HHHH", 546, 547, 8 + len(body), 0) + body)
        elif k == 4:
            f = eth(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(20), 0x0806)       # ARP: not IP
        else:
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 1, 0,
                             ipaddress.IPv4Address(a).packed, ipaddress.IPv4Address(b).packed)
            f = eth(ip + b"\x08\x00" + bytes(6), 0x0800)                          # ICMP
        wire = len(f) + (rnd.randrange(1, 900) if i % 7 == 0 else 0)              # cut to a snaplen
        out.append((1700000000 + i, i % 10**6, f, wire))
    return out


def reference(paths, top=10):
    flows, packets, total = {}, 0, 0
    for path in paths:
        with pcap.pcap(str(path)) as p:
            for ts, buf in p:
                packets += 1
                total += p.wirelen
                et = struct.unpack_from("!H", buf, 12)[0] if len(buf) >= 14 else 0
                if et == 0x0800 and len(buf) >= 34:
                    ihl = (buf[14] & 15) * 4
                    proto, l4 = buf[23], 14 + ihl
                    src, dst = str(ipaddress.IPv4Address(buf[26:30])), str(ipaddress.IPv4Address(buf[30:34]))
                elif et == 0x86DD and len(buf) >= 54:
                    proto, l4 = buf[20], 54
                    src, dst = str(ipaddress.IPv6Address(buf[22:38])), str(ipaddress.IPv6Address(buf[38:54]))
                else:
                    continue
                sport = dport = 0
                if proto in (6, 17) and len(buf) >= l4 + 4:
                    sport, dport = struct.unpack_from("!HH", buf, l4)
                key = (proto, src, sport, dst, dport)
                n, b = flows.get(key, (0, 0))
                flows[key] = (n + 1, b + p.wirelen)
    ranked = sorted(flows.items(), key=lambda kv: (-kv[1][1], kv[0]))
    return {"packets": packets, "bytes": total, "flows": len(flows),
            "top": [[*k, n, b] for k, (n, b) in ranked[:top]]}


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    d = tmp_path_factory.mktemp("captures")
    write_pcap(d / "a.pcap", [(s, f, fr[:100], w) for s, f, fr, w in frames(1, 3000)], snaplen=100)
    write_pcap(d / "b.pcap", frames(2, 2000), byteorder=">")
    write_pcapng(d / "c.pcapng", [(s, f, fr) for s, f, fr, _ in frames(3, 1500)])
    plain = write_pcap(d / "plain.tmp", frames(4, 1000))
    (d / "d.pcap.gz").write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    # Only records with no captured byte (caplen 0): a batch whose data buffer is empty.
    write_pcap(d / "e.pcap", [(1700000000 + i, 0, b"", 60 + i) for i in range(40)], snaplen=0)
    return d


def example(*args, timeout=60):
    """Run examples/dask_flows.py with ``args``; the CompletedProcess."""
    return run([sys.executable, EXAMPLE, *args], cwd=ROOT, timeout=timeout)


def flows_json(*args):
    proc = example(*args, "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""           # no warning (a dashboard port in use) nor worker log
    return json.loads(proc.stdout)


def test_synchronous_and_split_equal_the_reference(captures):
    want = reference(sorted(p for p in captures.iterdir()))
    assert want["packets"] == 7540 and want["flows"] > 10
    assert flows_json(captures, "--scheduler", "synchronous") == want
    assert flows_json(captures, "--scheduler", "synchronous", "--split", "5") == want


@pytest.mark.parametrize("split", [1, 5])
def test_fingerprints_shared_by_many_flows_still_sum_each_flow(captures, split, monkeypatch, capsys):
    """With a fingerprint of 2 bits (every few flows share one) the sums
    and merges fall back to grouping by the whole 5-tuple
    (sum_flows_exactly, add_into's check): the result is still the
    reference's.  Run in this process, on the synchronous scheduler."""
    dask_flows = import_example()
    import numpy as np
    calls = {"exactly": 0}
    exactly = dask_flows.sum_flows_exactly

    def counted(*args):
        calls["exactly"] += 1
        return exactly(*args)
    monkeypatch.setattr(dask_flows, "_words_hash", lambda keys: keys[:, -1] & np.uint64(3))
    monkeypatch.setattr(dask_flows, "sum_flows_exactly", counted)
    want = reference(sorted(p for p in captures.iterdir()))
    assert dask_flows.main([str(captures), "--scheduler", "synchronous", "--split", str(split), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == want
    assert calls["exactly"] > 0


def import_example():
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import dask_flows
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    return dask_flows


@pytest.mark.parametrize("split", [1, 3])
def test_files_of_the_same_flows_are_added_into_one_another(tmp_path, split, monkeypatch, capsys):
    """Files of mostly the same flows are merged by add_into(): files whose
    flows are all in the sums so far (a copy, a subset) and files with new
    flows too (a superset): the totals and every flow (--top 100000, the
    addresses as text, IPv4 in IPv6 rows among them) are the reference's."""
    dask_flows = import_example()
    first = frames(1, 3000)
    write_pcap(tmp_path / "a.pcap", first)
    write_pcap(tmp_path / "b.pcap", first)
    write_pcap(tmp_path / "c.pcap", first[:1000], byteorder=">")
    new = [(1700009000 + i, 0, udp_frame(b"x" * i, sport=2000 + i, dport=53, src=f"10.9.{i // 200}.{i % 200}",
                                         dst="10.0.0.2"), 42 + i) for i in range(600)]
    write_pcap(tmp_path / "d.pcap", first + new[:400])
    write_pcapng(tmp_path / "e.pcapng", [(s, f, fr) for s, f, fr, _ in first + new[200:]])
    kinds = []
    add_into = dask_flows.add_into

    def spy(a, b):
        kinds.append("subset" if set(b["hash"].tolist()) <= set(a["hash"].tolist()) else "new flows")
        return add_into(a, b)
    monkeypatch.setattr(dask_flows, "add_into", spy)
    want = reference(sorted(tmp_path.iterdir()), top=100000)
    assert dask_flows.main([str(tmp_path), "--scheduler", "synchronous", "--split", str(split), "--json",
                            "--top", "100000"]) == 0
    assert json.loads(capsys.readouterr().out) == want
    assert {"subset", "new flows"} <= set(kinds), kinds


@pytest.mark.parametrize("wide", [False, True], ids=["ipv4", "with-ipv6"])
@pytest.mark.parametrize("top", [1, 7, 40])
def test_the_top_of_many_equal_flows_is_in_the_order_of_their_text(tmp_path, top, wide, capsys):
    """Hundreds of flows of the same bytes tie for the top places: they are ranked by the 5-tuple
    with the addresses as text ("10.0.0.100" before "10.0.0.2"), as the reference ranks them,
    whether the rows are IPv4 only or wide (an IPv6 flow among them)."""
    dask_flows = import_example()
    rnd = random.Random(top)
    octet = [2, 3, 9, 10, 20, 30, 100, 255]          # as numbers 2 < 10, as text "10" < "2"
    packets = []
    for i in range(600):
        src = ".".join(str(rnd.choice(octet)) for _ in range(4))
        dst = ".".join(str(rnd.choice(octet)) for _ in range(4))
        frame = udp_frame(bytes(12), sport=rnd.choice([1, 9, 10, 100]), dport=rnd.choice([2, 20, 53]), src=src, dst=dst)
        packets.append((1700000000 + i, 0, frame, len(frame)))
    if wide:
        packets.append((1700001000, 0, ip6("2001:db8::1", "2001:db8::2", 59, b""), 54))
    write_pcap(tmp_path / "ties.pcap", packets)
    want = reference([tmp_path / "ties.pcap"], top=top)
    assert len({tuple(row[-2:]) for row in want["top"]}) == 1 or top == 1
    assert dask_flows.main([str(tmp_path), "--scheduler", "synchronous", "--json", "--top", str(top)]) == 0
    assert json.loads(capsys.readouterr().out) == want


@pytest.mark.parametrize("workers, split, how", [(1, 1, "threads"), (2, 3, "threads"), (2, 3, "processes")])
def test_local_cluster_equals_the_reference(captures, workers, split, how):
    want = reference(sorted(p for p in captures.iterdir()))
    processes = ["--processes"] if how == "processes" else []
    assert flows_json(captures, "--workers", workers, "--split", split, *processes) == want


def test_a_damaged_file_is_an_error_not_a_short_count(tmp_path):
    path = write_pcap(tmp_path / "cut.pcap", frames(5, 50))
    path.write_bytes(path.read_bytes()[:-7])
    proc = example(path, "--scheduler", "synchronous", "--split", "2")
    assert proc.returncode == 1, proc
    assert proc.stdout == ""
    assert proc.stderr.startswith("dask_flows: ") and "truncated dump file" in proc.stderr, proc.stderr


@pytest.mark.parametrize("how", [[], ["--processes"]], ids=["threads", "processes"])
def test_an_error_does_not_wait_for_a_task_that_never_ends(tmp_path, how):
    """A damaged file beside a FIFO that nobody writes to (a worker blocked reading it for ever): the
    damaged file's error ends the run at once, worker threads or processes (the threads' cluster once
    waited 30 s for the blocked task)."""
    path = write_pcap(tmp_path / "cut.pcap", frames(5, 50))
    path.write_bytes(path.read_bytes()[:-7])
    os.mkfifo(tmp_path / "never.pcap")
    t0 = time.monotonic()
    proc = example(tmp_path, *how, timeout=60)
    took = time.monotonic() - t0
    assert (proc.returncode, proc.stdout) == (1, ""), proc
    assert proc.stderr.startswith("dask_flows: ") and "truncated dump file" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert took < 15, f"{took:.1f} s"


def test_a_folder_without_savefiles_is_a_one_line_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a savefile")
    proc = example(tmp_path, "--scheduler", "synchronous")
    assert (proc.returncode, proc.stdout) == (1, ""), proc
    assert proc.stderr.startswith("dask_flows: no savefiles") and proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.parametrize("how", [["--scheduler", "synchronous"], ["--split", "3"], []],
                         ids=["synchronous", "split", "cluster"])
def test_a_path_that_is_not_there_is_a_one_line_error(tmp_path, how):
    """Before a part is read or a cluster starts, also with --split (which once took the path for a
    compressed file); the same words as for a file the module cannot open."""
    missing = tmp_path / "gone.pcap"
    proc = example(write_pcap(tmp_path / "a.pcap", frames(3, 50)), missing, *how)
    assert (proc.returncode, proc.stdout) == (1, ""), proc
    assert proc.stderr == f"dask_flows: cannot open '{missing}': No such file or directory\n"


# A numpy that a Ctrl-C interrupts as it is imported: it sends itself SIGINT, then swallows the
# KeyboardInterrupt ("swallow"), turns it into an ImportError as numpy's C start-up does ("error"), or
# raises an ImportError of its own without any Ctrl-C ("broken").
FAKE_NUMPY = """
import os, signal
if os.environ["FAKE_NUMPY"] == "broken":
    raise ImportError("numpy is broken here")
try:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):
        pass
    raise AssertionError("no KeyboardInterrupt")
except KeyboardInterrupt:
    if os.environ["FAKE_NUMPY"] == "error":
        raise ImportError("interrupted while numpy started") from None
"""


@pytest.mark.parametrize("how", ["swallow", "error", "broken"])
def test_a_ctrl_c_while_numpy_is_imported_is_one_line(tmp_path, how):
    """A Ctrl-C that an import swallows or turns into an ImportError still ends the example with
    "interrupted" and status 130 (it hung, or printed numpy's long message); an ImportError with no
    Ctrl-C stays the error it is."""
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "__init__.py").write_text(FAKE_NUMPY)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "FAKE_NUMPY": how}
    proc = run([sys.executable, EXAMPLE, "examples/sample.pcap", "--scheduler", "synchronous"], cwd=ROOT,
               env=env, timeout=60)
    if how == "broken":
        assert proc.returncode == 1 and "ImportError: numpy is broken here" in proc.stderr, proc
    else:
        assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "interrupted\n"), proc


def test_importing_the_example_leaves_sigint_alone():
    """Only the script notes Ctrl-C; a program that imports it (as the tests here do) keeps Python's
    handler (it once kept the example's, and a signal test after it failed)."""
    proc = run_python(f"""
        import signal, sys
        sys.path.insert(0, {str(EXAMPLE.parent)!r})
        import dask_flows
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    """)
    assert (proc.returncode, proc.stdout) == (0, "True\n"), proc


@pytest.mark.parametrize("bad", [["--workers", "0"], ["--split", "0"], ["--top", "-1"]])
def test_bad_counts_are_usage_errors(bad):
    proc = example("examples/sample.pcap", "--scheduler", "synchronous", *bad)
    assert (proc.returncode, proc.stdout) == (2, ""), proc
    assert "must be at least" in proc.stderr


def test_flows_print_the_protocols_name_or_its_number(tmp_path):
    """ICMP, ICMPv6, TCP and UDP by name; a protocol without one (GRE, 47) by its number."""
    def ip4(proto, l4):
        return eth(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0,
                               ipaddress.IPv4Address("10.0.0.1").packed, ipaddress.IPv4Address("10.0.0.2").packed)
                   + l4, 0x0800)
    packets = [ip4(1, b"\x08\x00" + bytes(30)),                                     # ICMP echo: 66 bytes
               ip6("2001:db8::1", "2001:db8::2", 58, b"\x80\x00" + bytes(20)),      # ICMPv6 echo: 76 bytes
               ip4(47, bytes(16)),                                                  # GRE: 50 bytes
               tcp4("10.0.0.1", "10.0.0.2", 40000, 80),                             # 54 bytes
               udp_frame(b"x", sport=1000, dport=53, src="10.0.0.1", dst="10.0.0.2")]
    path = write_pcap(tmp_path / "protocols.pcap", [(1700000000 + i, 0, f) for i, f in enumerate(packets)])
    proc = example(path, "--scheduler", "synchronous")
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    assert proc.stdout.splitlines()[3:] == [
        "  ICMPv6 [2001:db8::1]:0 > [2001:db8::2]:0  packets 1  bytes 76",
        "  ICMP 10.0.0.1:0 > 10.0.0.2:0  packets 1  bytes 66",
        "  TCP 10.0.0.1:40000 > 10.0.0.2:80  packets 1  bytes 54",
        "  47 10.0.0.1:0 > 10.0.0.2:0  packets 1  bytes 50",
        "  UDP 10.0.0.1:1000 > 10.0.0.2:53  packets 1  bytes 43",
    ], proc.stdout
