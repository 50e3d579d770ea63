"""Every script in examples/ runs, with a timeout, and prints what it should.

Each script has its cases in CASES: the arguments, whether it captures live
(those need root or CAP_NET_RAW: the `live` fixture) and regular expressions
that its output must match.  A script without cases, or without a case that
runs it with no arguments, fails test_every_example_has_cases, so a new
example cannot go untested: with no arguments each one must stop by itself
within NO_ARGS_TIMEOUT seconds, with exit status 0.  The tests at the end
send SIGINT (Ctrl-C) to scripts waiting on a FIFO or a quiet interface, to the
script alone or to its whole process group as a terminal does: they must end
with status 130 and no traceback, leaving no process of theirs running.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import pcap

from support import capinfos, free_port, need

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SAMPLE = "examples/sample.pcap"
TIMEOUT = 30
NO_ARGS_TIMEOUT = 10        # with no arguments an example stops by itself within this many seconds
HELPERS = {"optional_packages.py"}      # modules of examples/ that the scripts import, not scripts

# The seven packets of examples/sample.pcap as examples/sniff.py's describe() prints them.
SAMPLE_LINES = [
    r"ARP who-has 192\.0\.2\.53 tell 192\.0\.2\.1",
    r"ARP is-at 192\.0\.2\.1 tell 192\.0\.2\.53",
    r"UDP 192\.0\.2\.1:40000 > 192\.0\.2\.53:53 len 29",
    r"TCP 192\.0\.2\.1:40001 > 192\.0\.2\.53:80 \[S\] len 0",
    r"TCP 192\.0\.2\.53:80 > 192\.0\.2\.1:40001 \[S\.\] len 0",
    r"TCP 192\.0\.2\.1:40001 > 192\.0\.2\.53:80 \[\.\] len 0",
    r"ICMP 192\.0\.2\.1 > 192\.0\.2\.53 type 8",
]


@dataclass
class Case:
    args: list[str]
    expect: list[str] = field(default_factory=list)   # regexes, each must match (re.M)
    live: bool = False
    in_order: bool = False                            # the expect regexes match in this order
    exact_lines: int | None = None                    # the number of lines printed
    needs: str | None = None                          # an optional module the case needs
    err: str | None = None                            # a regex stderr must match (None: stderr is empty)
    in_tmp: bool = False                              # run a copy of the script placed in the tmp dir


CASES: dict[str, list[Case]] = {
    "sniff.py": [
        Case([], [r"^reading savefile examples/sample\.pcap \(link type EN10MB\)$"] + SAMPLE_LINES + [r"^7 packets$"],
             in_order=True, exact_lines=9,
             err=r"\Asniff\.py: no -i or -r, so reading examples/sample\.pcap; "
                 r"to capture live instead add -i lo -c 10 \(needs root\)\n\Z"),
        Case(["--list"], [r"^lo\s+up\s+127\.0\.0\.1"]),
        Case(["-r", SAMPLE, "icmp"], [r"filter 'icmp'$", SAMPLE_LINES[6], r"^1 packet$"], in_order=True,
             exact_lines=3),
        Case(["-r", SAMPLE], ["reading savefile examples/sample.pcap \\(link type EN10MB\\)",
                              r"^22:13:20\.000000 " + SAMPLE_LINES[0]] + SAMPLE_LINES[1:] + [r"^7 packets$"],
             in_order=True),
        Case(["-r", SAMPLE, "tcp", "and", "port", "80"],
             [r"filter 'tcp and port 80'"] + SAMPLE_LINES[3:6] + [r"^3 packets$"], in_order=True),
        Case(["-i", "lo", "-c", "3", "--timeout", "10", "--send-test-traffic", "udp port 50007"],
             [r"reading interface lo \(link type EN10MB\), filter 'udp port 50007'",
              r"(?s)(UDP 127\.0\.0\.1:\d+ > 127\.0\.0\.1:50007 len 24.*?){3}", r"^3 packets$",
              r"^stats: Stats\(received=\d+, dropped=0, ifdropped=0\)"], live=True),
    ],
    "findalldevs.py": [
        Case([], [r"^lo$"]),
        Case(["--long"], [r"^lo\s+up,running,loopback\s+127\.0\.0\.1$", r"^\d+ devices?$"]),
    ],
    "lookupdev.py": [
        Case([], [r"devices in pcap_findalldevs\(\) order:",
                  r"^  (\S+)\s+up\s+<- lookupdev\(\): the first one that is up and not loopback",
                  r"^lookupdev\(\) -> '[^']+'$", r"to see traffic sent to 127\.0\.0\.1 open 'lo'"],
             in_order=True),
    ],
    "lookupnet.py": [
        Case([], [r"^lo: raw b'\\x7f\\x00\\x00\\x00' b'\\xff\\x00\\x00\\x00'$",
                  r"^lo: net 127\.0\.0\.0 mask 255\.0\.0\.0 -> 127\.0\.0\.0/8 \(16777216 addresses\)$"],
             exact_lines=2),
        Case(["lo", "nosuch0"], [r"^lo: net 127\.0\.0\.0",
                                 r"^nosuch0: error: lookupnet 'nosuch0': .*No such device"]),
        Case(["--all"], [r"^lo: net 127\.0\.0\.0 mask 255\.0\.0\.0"]),
    ],
    "interfaces.py": [
        Case([], [r"^lo: up running loopback$", r"^    AF_INET\s+127\.0\.0\.1 netmask 255\.0\.0\.0$"]),
        Case(["lo"], [r"^lo: up running loopback$", r"^    AF_PACKET 00:00:00:00:00:00$"]),
    ],
    "fanout.py": [
        Case([], [r"^ready$", r"^worker \d+: \d+ packets? in \d+ flows?$",
                  r"^8 flows, 0 seen by more than one worker; 36 datagrams sent, 36 counted$"],
             live=True, in_order=True, exact_lines=12),     # ready, 2 workers, 8 flows, the total
        Case(["--send-test-traffic"], [r"^ready$", r"^worker \d+: \d+ packets? in \d+ flows?$",
                                       r"^8 flows, 0 seen by more than one worker; 36 datagrams sent, 36 counted$"],
             live=True, in_order=True, exact_lines=12),     # a no-op now: old command lines still work
        Case(["--no-send", "--seconds", "0.5", "--port", str(free_port())],
             [r"^ready$", r"^worker \d+: 0 packets in 0 flows$", r"^worker \d+: 0 packets in 0 flows$",
              r"^0 flows, 0 seen by more than one worker$"], live=True, in_order=True, exact_lines=4),
    ],
    "nonblocking.py": [
        Case([], [r"^sent 5 datagrams to 127\.0\.0\.1:50011$", r"^5 of 5 packets read$"], live=True, in_order=True),
        Case(["-c", "3"], [r"^getnonblock\(\) -> True$",
                           r"^readpkts\(\) -> \[\] after \d+\.\d+ ms$",
                           r"^readbatch\(\) -> \(array\('d'\), \[\]\) after \d+\.\d+ ms$",
                           r"^dispatch\(-1, cb\) -> 0 after \d+\.\d+ ms$",
                           r"^sent 3 datagrams to 127\.0\.0\.1:50011$",
                           r"^fd \d+ readable after",
                           r"^  UDP 127\.0\.0\.1:\d+ > 127\.0\.0\.1:50011 len 13$",
                           r"^drained [1-3] packets?$", r"^3 of 3 packets read$"], live=True, in_order=True),
    ],
    "dispatch_vs_loop.py": [
        Case([], [r"^dispatch\(2, cb\) -> 2$", r"^dispatch\(-1, cb\) -> 5$",
                  r"^dispatch\(-1, cb\) -> 0  \(end of file\)$", r"^loop\(3, cb\) -> 3$",
                  r"^loop\(0, cb\) -> 4  \(to the end of the file\)$"], in_order=True, exact_lines=19),
        Case(["-i", "lo"], [r"^quiet: dispatch\(-1, cb\) -> 0 after 0\.[234]\d s \(timeout_ms=300\)$",
                            r"^traffic: dispatch\(-1, cb\) -> [1-6] after",
                            r"^loop\((\d), cb\) -> \1 after"], live=True, in_order=True),
    ],
    "readpkts.py": [
        Case([], [r"^readpkts\(-1\) -> 7 packets$", r"^  2023-11-14 22:13:20\.000000   42 bytes  ARP who-has",
                  r"^readpkts\(-1\) -> 0 packets$", r"^7 packets$"], in_order=True, exact_lines=10),
        Case(["--chunk", "3"], [r"^readpkts\(3\) -> 3 packets$", r"^readpkts\(3\) -> 3 packets$",
                                r"^readpkts\(3\) -> 1 packet$", r"^readpkts\(3\) -> 0 packets$"],
             in_order=True),
        Case(["-i", "lo", "-c", "4"], [r"^readpkts\(\) on a quiet lo: \[\] after timeout_ms=500$",
                                       r"(?s)(UDP 127\.0\.0\.1:\d+ > 127\.0\.0\.1:50013 len 10.*?){4}",
                                       r"^4 of 4 packets$"], live=True, in_order=True),
    ],
    "breakloop.py": [
        Case([], [r"^1\. timer thread: the for loop ended after 0\.[4-6]\d s with 0 packets$",
                  r"^3\. callback: loop\(5, cb\) -> 2"], live=True, in_order=True, exact_lines=3),
        Case(["--after", "0.3"],
             [r"^1\. timer thread: the for loop ended after 0\.[345]\d s with 0 packets$",
              r"^2\. SIGALRM handler: dispatch\(0, cb\) -> 0 after 0\.[345]\d s$",
              r"^3\. callback: loop\(5, cb\) -> 2: breakloop\(\) after the 2nd of 5 datagrams$"],
             live=True, in_order=True),
        Case(["--ctrl-c", "--timeout", "0.3"],
             [r"^waiting on lo in a for loop: press Ctrl-C \(breakloop\(\) after 0\.3 s anyway\)$",
              r"^4\. no Ctrl-C: breakloop\(\) ended the loop after 0\.[345]\d s$"], live=True, in_order=True,
             exact_lines=2),
    ],
    "multi_capture.py": [
        # sample.pcapng's packets at the same instants as sample.pcap's: of a tie, the later file's first.
        Case([], [r"^1700000000\.000000 interface 1 \(eth0, EN10MB\) 42 bytes$",
                  r"^1700000000\.000000 interface 0 \(-, EN10MB\) 42 bytes$",
                  r"^1700000000\.750000 interface 2 \(tun0, RAW\) 40 bytes$",
                  r"^1700000001\.500000 interface 0 \(-, EN10MB\) 46 bytes$"], in_order=True, exact_lines=14),
    ],
    "record.py": [
        Case([], [r"^finished /tmp/record-\w+/part_00000\.pcap \(3 packets\)$",
                  r"^finished /tmp/record-\w+/part_00001\.pcap \(3 packets\)$",
                  r"^finished /tmp/record-\w+/part_00002\.pcap \(1 packet\)$", r"^3 files kept$"],
             in_order=True, exact_lines=4),
        Case(["-r", SAMPLE, "-w", "{tmp}/r-{n}.pcapng", "--rotate-packets", "2", "-W", "2", "tcp"],
             [r"^finished \S+/r-0\.pcapng \(2 packets\)$", r"^finished \S+/r-1\.pcapng \(1 packet\)$",
              r"^2 files kept$"], in_order=True, exact_lines=3),
    ],
    "stats.py": [
        Case([], [r"^read 20 packets$", r"^after: Stats\(received=40, dropped=0, ifdropped=0\)$"],
             live=True, in_order=True),
        Case(["-c", "10"], [r"^before: Stats\(received=0, dropped=0, ifdropped=0\)$", r"^read 10 packets$",
                            r"^after: Stats\(received=20, dropped=0, ifdropped=0\)$",
                            r"^a savefile has no counters: .*Statistics aren't available from savefiles"],
             live=True, in_order=True),
    ],
    "sendpacket.py": [
        Case([], [r"^sendpacket\(bytes of 65 bytes\) -> 65$", r"^sendpacket\(bytearray of 65 bytes\) -> 65$",
                  r"^sendpacket\(memoryview of 65 bytes\) -> 65$",
                  r"^captured: UDP 127\.0\.0\.1:40000 > 127\.0\.0\.1:50016 len 23 b'frame 0 from sendpacket'$",
                  r"^captured: .* b'frame 2 from sendpacket'$", r"^3 of 3 frames seen by the second handle$"],
             live=True, in_order=True),
    ],
    "write_savefile.py": [
        Case([], [r"^wrote 7 packets to \S+out\.pcap \(\d+ bytes\)$"] + SAMPLE_LINES, in_order=True, exact_lines=9),
        Case(["-w", "{tmp}/copy.pcap"],
             [r"^wrote 7 packets to .*copy\.pcap \(\d+ bytes\)$",
              r"^reading it back: link type EN10MB, snaplen 65535$"] + SAMPLE_LINES, in_order=True),
        Case(["-w", "{tmp}/tcp.pcap", "tcp"], [r"^wrote 3 packets to"] + SAMPLE_LINES[3:6], in_order=True,
             exact_lines=5),
        Case(["-w", "{tmp}/scratch.pcap", "--scratch"],
             [r"^wrote 3 packets to", r"^  1700000000\.000000 UDP 192\.0\.2\.1:1024 > 192\.0\.2\.2:9 len 14$",
              r"^  1700000000\.500000 UDP 192\.0\.2\.1:1026 > 192\.0\.2\.2:9 len 14$"], in_order=True),
        Case(["-w", "{tmp}/live.pcap", "-i", "lo", "-c", "3"],
             [r"^wrote 3 packets to", r"(?s)(UDP 127\.0\.0\.1:\d+ > 127\.0\.0\.1:50017 len 7.*?){3}"],
             live=True, in_order=True),
    ],
    "async_sniff.py": [
        Case(["-r", SAMPLE], SAMPLE_LINES + [r"^7 packets from examples/sample\.pcap$"], in_order=True),
        Case([], [r"(?s)(UDP 127\.0\.0\.1:\d+ > 127\.0\.0\.1:50018 len 7.*?){5}",
                  r"^5 of 5 packets; meanwhile the ticker task ticked ([2-9]\d|\d{3,}) times$"], live=True),
    ],
    "bpf_tools.py": [
        Case([], [r"^link type 1: EN10MB \(Ethernet\)$", r"^bpf\('udp port 53', dlt=1\): 20 instructions$",
                  r"^  \(000\) ldh      \[12\]$", r"^  \(019\) ret      #0$",
                  r"^  match UDP 192\.0\.2\.1:40000 > 192\.0\.2\.53:53 len 29$", r"^1 packet matches 'udp port 53'$"],
             in_order=True),
        Case(["--dlt", "RAW", "-d", "icmp"], [r"^link type 12: RAW \(Raw IP\)$", r"^bpf\('icmp', dlt=12\): 7 instructions$",
                                             r"^  \(000\) ldb      \[0\]$"], in_order=True, exact_lines=9),
        Case(["tcp[tcpflags] & tcp-syn != 0"], [r"^2 packets match"]),
    ],
    "batch_stats.py": [
        Case([], [r"^reading savefile examples/sample\.pcap with numpy, 4096 packets a batch$",
                  r"^7 packets, 363 bytes captured, 363 bytes on the wire$"], in_order=True, exact_lines=7,
             needs="numpy"),
        Case(["-r", SAMPLE], [r"^reading savefile examples/sample\.pcap with numpy, 4096 packets a batch$",
                              r"^7 packets, 363 bytes captured, 363 bytes on the wire$",
                              r"^first 2023-11-14 22:13:20\.000000, last 2023-11-14 22:13:21\.500000 \(UTC\), 1\.500 s$",
                              r"^wire lengths: min 42, median 54, max 71$",
                              r"^  22:13:20  209$", r"^  22:13:21  154$"], in_order=True, exact_lines=7,
             needs="numpy"),
        Case(["-r", SAMPLE, "--no-numpy", "--batch", "2"],
             [r"with struct, 2 packets a batch$", r"^7 packets, 363 bytes captured, 363 bytes on the wire$",
              r"^  22:13:20  209$", r"^  22:13:21  154$"], in_order=True, exact_lines=7),
        Case(["-r", SAMPLE, "udp", "or", "icmp"], [r"filter 'udp or icmp'$", r"^2 packets, 117 bytes captured",
                                                  r"^  22:13:20  71$", r"^  22:13:21  46$"], in_order=True,
             needs="numpy"),
        Case(["-i", "lo", "--seconds", "0.5", "--no-numpy", "udp", "port", "50031"],
             [r"^reading interface lo with struct", r"^0 packets, 0 bytes captured"], live=True),
    ],
    "dask_flows.py": [
        Case([], [r"^1 part from 1 file on a LocalCluster of 2 worker threads$",
                  r"^7 packets, 363 bytes on the wire, 4 IP flows$"], in_order=True, needs="distributed"),
        Case([SAMPLE, "--scheduler", "synchronous"],
             [r"^1 part from 1 file on the synchronous scheduler$",
              r"^7 packets, 363 bytes on the wire, 4 IP flows$", r"^top 10 flows by bytes:$",
              r"^  TCP 192\.0\.2\.1:40001 > 192\.0\.2\.53:80  packets 2  bytes 108$",
              r"^  UDP 192\.0\.2\.1:40000 > 192\.0\.2\.53:53  packets 1  bytes 71$",
              r"^  TCP 192\.0\.2\.53:80 > 192\.0\.2\.1:40001  packets 1  bytes 54$",
              r"^  ICMP 192\.0\.2\.1:0 > 192\.0\.2\.53:0  packets 1  bytes 46$"], in_order=True, exact_lines=7,
             needs="dask"),
        Case([SAMPLE, "--split", "3", "--workers", "2"],             # the README's console session
             [r"^3 parts from 1 file on a LocalCluster of 2 worker threads$",
              r"^7 packets, 363 bytes on the wire, 4 IP flows$", r"^top 10 flows by bytes:$",
              r"^  TCP 192\.0\.2\.1:40001 > 192\.0\.2\.53:80  packets 2  bytes 108$",
              r"^  UDP 192\.0\.2\.1:40000 > 192\.0\.2\.53:53  packets 1  bytes 71$",
              r"^  TCP 192\.0\.2\.53:80 > 192\.0\.2\.1:40001  packets 1  bytes 54$",
              r"^  ICMP 192\.0\.2\.1:0 > 192\.0\.2\.53:0  packets 1  bytes 46$"], in_order=True, exact_lines=7,
             needs="distributed"),
        Case([SAMPLE, "--split", "2", "--workers", "1", "--processes"],
             [r"^2 parts from 1 file on a LocalCluster of 1 worker process$",
              r"^7 packets, 363 bytes on the wire, 4 IP flows$"], in_order=True, needs="distributed"),
    ],
    "flows_sql.py": [
        Case([], [r"^1 file: 7 packets, 363 bytes on the wire, 4 IP flows$", r"^top 10 flows by bytes:$",
                  r"^  TCP 192\.0\.2\.1:40001 > 192\.0\.2\.53:80  packets 2  bytes 108$",
                  r"^  UDP 192\.0\.2\.1:40000 > 192\.0\.2\.53:53  packets 1  bytes 71$",
                  r"^  TCP 192\.0\.2\.53:80 > 192\.0\.2\.1:40001  packets 1  bytes 54$",
                  r"^  ICMP 192\.0\.2\.1:0 > 192\.0\.2\.53:0  packets 1  bytes 46$",
                  r"^top 10 talkers by bytes sent:$", r"^  192\.0\.2\.1  packets 4  bytes 225  3 flows$",
                  r"^  192\.0\.2\.53  packets 1  bytes 54  1 flow$"], in_order=True, exact_lines=9, needs="duckdb"),
        Case([SAMPLE, "--community-id", "--top", "1"],
             [r"^  TCP 192\.0\.2\.1:40001 > 192\.0\.2\.53:80  packets 2  bytes 108  1:C8orYl\+sM0koehqPxJCzFy6p3vY=$",
              r"^  192\.0\.2\.1  packets 4  bytes 225  3 flows$"], in_order=True, exact_lines=5, needs="duckdb"),
    ],
    "make_sample.py": [
        Case([], [r"^wrote \S+sample\.pcap$"], in_tmp=True),     # a copy: the shipped file stays untouched
        Case(["{tmp}/sample.pcap"], [r"^wrote .*sample\.pcap$"]),
        Case(["--pcapng", "{tmp}/sample.pcapng"], [r"^wrote .*sample\.pcapng$"]),
    ],
    "pcapng_interfaces.py": [
        Case([], [r"^interface 0: eth0, EN10MB, snaplen 65535, the LAN$",
                  r"^interface 1: tun0, RAW, snaplen 1500, a VPN tunnel$",
                  r"^  22:13:20\.000000  eth0 out   42 bytes$",
                  r"^  22:13:20\.500000  eth0 out   71 bytes  # who has example\.org\?$",
                  r"^  22:13:21\.000000  tun0  in   40 bytes$",
                  r"^  22:13:21\.500000  eth0 out   46 bytes  # ping$", r"^7 packets$",
                  r"^interface 0 statistics: \{'received': 4, 'dropped_by_interface': 0\}$",
                  r"^interface 1 statistics: \{'received': 3, 'dropped_by_interface': 0\}$"],
             in_order=True, exact_lines=12),
        Case(["--csv"], [r"^time_ns,interface,direction,length,comment$", r"^1700000000000000000,eth0,out,42,$",
                         r"^1700000001500000000,eth0,out,46,ping$"], in_order=True, exact_lines=8),
        Case([SAMPLE], [r"^interface 0: \(no name\), EN10MB, snaplen 65535$", r"^7 packets$"], in_order=True),
    ],
}


def run(script: str, args: list[str], tmp: Path, *, in_tmp: bool = False,
        cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run an example (with no arguments: within NO_ARGS_TIMEOUT), or with in_tmp a copy of it in tmp."""
    argv = [a.replace("{tmp}", str(tmp)) for a in args]
    path = Path(shutil.copy(EXAMPLES / script, tmp)) if in_tmp else EXAMPLES / script
    if in_tmp:
        for helper in HELPERS:          # the modules of examples/ that the scripts import
            shutil.copy(EXAMPLES / helper, tmp)
    return subprocess.run([sys.executable, str(path), *argv], cwd=cwd, text=True,
                          capture_output=True, timeout=TIMEOUT if args else NO_ARGS_TIMEOUT,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


def check(out: str, case: Case) -> None:
    pos = 0
    for pattern in case.expect:
        m = re.compile(pattern, re.M).search(out, pos if case.in_order else 0)
        assert m, f"no match for {pattern!r} in:\n{out}"
        if case.in_order:
            pos = m.end() if m.end() > m.start() else m.start()
    if case.exact_lines is not None:
        assert len(out.splitlines()) == case.exact_lines, out


def test_every_example_has_cases() -> None:
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in HELPERS)
    assert set(scripts) == set(CASES), f"untested: {set(scripts) - set(CASES)}, gone: {set(CASES) - set(scripts)}"
    no_args = [s for s, cases in CASES.items() if not any(c.args == [] for c in cases)]
    assert not no_args, f"no case runs these with no arguments: {no_args}"


@pytest.mark.parametrize("script", sorted(CASES))
def test_help(script: str, tmp_path: Path) -> None:
    proc = run(script, ["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: "), proc.stdout
    assert proc.stderr == ""


@pytest.mark.parametrize("script,case", [(s, c) for s, cases in CASES.items() for c in cases],
                         ids=[f"{s[:-3]}[{' '.join(c.args)}]" for s, cases in CASES.items() for c in cases])
def test_example(script: str, case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if case.live:
        request.getfixturevalue("live")
    if case.needs:
        need(importlib.util.find_spec(case.needs) is not None, f"{case.needs} is not installed (the test extra has it)")
    proc = run(script, case.args, tmp_path, in_tmp=case.in_tmp)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    if case.err is None:
        assert proc.stderr == "", proc.stderr
    else:
        assert re.search(case.err, proc.stderr, re.M), proc.stderr
    check(proc.stdout, case)


def test_sniff_without_arguments_from_another_directory(tmp_path: Path) -> None:
    """examples/sample.pcap is found beside the script, not in the working directory."""
    proc = run("sniff.py", [], tmp_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^7 packets$", proc.stdout, re.M), proc.stdout
    assert len(proc.stdout.splitlines()) == 9, proc.stdout


def test_make_sample_writes_the_shipped_file(tmp_path: Path) -> None:
    proc = run("make_sample.py", [str(tmp_path / "again.pcap")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "again.pcap").read_bytes() == (EXAMPLES / "sample.pcap").read_bytes()
    # With no arguments it writes sample.pcap beside itself, whatever the working directory: here a copy in tmp.
    (tmp_path / "sub").mkdir()
    proc = run("make_sample.py", [], tmp_path / "sub", in_tmp=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sub" / "sample.pcap").read_bytes() == (EXAMPLES / "sample.pcap").read_bytes()


def test_breakloop_ctrl_c(live: None) -> None:
    """breakloop.py --ctrl-c: SIGINT during the wait is a KeyboardInterrupt out of the for loop; the
    script prints how long it waited, then ends as on any Ctrl-C: "interrupted" and status 130."""
    status, out, err = interrupt("breakloop.py", ["--ctrl-c", "--timeout", "20"],
                                 ready="waiting on lo in a for loop", after=0.3)
    assert status == 130, f"exit {status}\n{out}\n{err}"
    assert err == "interrupted\n", err
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("waiting on lo in a for loop: press Ctrl-C"), out
    assert re.fullmatch(r"4\. Ctrl-C: KeyboardInterrupt after 0\.[3-9]\d s", lines[1]), out


def test_write_savefile_copy_reads_back_the_same_packets(tmp_path: Path) -> None:
    import pcap
    proc = run("write_savefile.py", ["-w", str(tmp_path / "copy.pcap")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list(pcap.pcap(str(tmp_path / "copy.pcap"))) == list(pcap.pcap(str(ROOT / SAMPLE)))


# -- Ctrl-C -------------------------------------------------------------------------

def _sigint_default() -> None:
    # A shell that starts pytest in the background ignores SIGINT, and children inherit that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def session_members(sid: int) -> list[int]:
    """The processes of session `sid` still running (zombies left out)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, _pgrp, session = stat.read_text().rsplit(")", 1)[1].split()[:4]
        except (OSError, ValueError):
            continue                    # gone meanwhile
        if int(session) == sid and state != "Z":
            pids.append(int(stat.parent.name))
    return pids


def interrupt(script: str, args: list[str], *, fifo: Path | None = None, data: bytes = b"",
              ready: str | None = None, after: float = 0.5, group: bool = False) -> tuple[int, str, str]:
    """Start an example in a session of its own, wait until it is blocked reading, press Ctrl-C
    (SIGINT) `after` seconds later; return its exit status, stdout and stderr.  Blocked means: with
    `fifo`, it has opened the FIFO (then `data` is written into it, the writer stays open); with
    `ready`, it has printed a line that starts so.  With `group` the SIGINT goes to its whole
    process group, as a terminal's Ctrl-C does, else to the script's process alone.  Every process
    it started must have ended within 10 s of its own end."""
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / script), *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_sigint_default,
                            start_new_session=True)
    writer = None
    first = ""
    try:
        deadline = time.monotonic() + 10
        while fifo is not None and writer is None:
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)   # ENXIO until the reader opened it
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the FIFO was never opened"
                time.sleep(0.01)
        if writer is not None and data:
            os.write(writer, data)
        if ready is not None:
            assert proc.stdout is not None
            assert select.select([proc.stdout], [], [], 10)[0], f"no {ready!r} line within 10 s"
            first = proc.stdout.readline()
            assert first.startswith(ready), first
        time.sleep(after)
        assert proc.poll() is None, f"ended before Ctrl-C: {proc.communicate()}"
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if writer is not None:
            os.close(writer)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 10
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = session_members(proc.pid)
    for pid in left:                    # its own children, left behind: end them, then fail
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{script} left processes running after Ctrl-C: {left}\n{err}"
    return proc.returncode, first + out, err


FIFO_READERS = [                        # scripts that read a savefile, and their arguments to read the FIFO
    ("sniff.py", ["-r", "{fifo}"]),
    ("batch_stats.py", ["-r", "{fifo}"]),
    ("async_sniff.py", ["-r", "{fifo}"]),
    ("readpkts.py", ["{fifo}"]),
    ("dispatch_vs_loop.py", ["{fifo}"]),
    ("bpf_tools.py", ["-r", "{fifo}"]),
    ("write_savefile.py", ["-r", "{fifo}", "-w", "{fifo}.out"]),
]
FIFO_CONTENTS = {"nothing": 0, "header": 24, "sample": None}    # how much of examples/sample.pcap is written


@pytest.mark.parametrize("script,args", FIFO_READERS, ids=[s[:-3] for s, _ in FIFO_READERS])
@pytest.mark.parametrize("written", ["nothing", "header"])
def test_ctrl_c_on_a_fifo(script: str, args: list[str], written: str, tmp_path: Path) -> None:
    """Ctrl-C while the constructor waits for the header, or the read for a packet: status 130, no traceback."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = (EXAMPLES / "sample.pcap").read_bytes()[:FIFO_CONTENTS[written]]
    status, out, err = interrupt(script, [a.replace("{fifo}", str(fifo)) for a in args], fifo=fifo, data=data)
    assert status == 130, f"exit {status}\n{out}\n{err}"
    assert "Traceback" not in err, err
    assert re.search(r"^interrupted$", err, re.M), err


@pytest.mark.parametrize("written", sorted(FIFO_CONTENTS))
def test_sniff_ctrl_c_on_a_fifo_prints_the_count(written: str, tmp_path: Path) -> None:
    """The README's pipe recipe, with Ctrl-C before (or after) the first packet."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = (EXAMPLES / "sample.pcap").read_bytes()[:FIFO_CONTENTS[written]]
    status, out, err = interrupt("sniff.py", ["-r", str(fifo)], fifo=fifo, data=data)
    assert status == 130, f"exit {status}\n{out}\n{err}"
    assert err == "interrupted\n", err
    last = out.splitlines()[-1]
    assert last == ("7 packets" if written == "sample" else "0 packets"), out
    if written != "nothing":
        assert out.startswith(f"reading savefile {fifo} (link type EN10MB)\n"), out


def test_sniff_ctrl_c_live(live: None) -> None:
    """sniff.py -i lo without -c runs until Ctrl-C; a filter nobody matches keeps it waiting."""
    expr = f"udp port {free_port()}"
    status, out, err = interrupt("sniff.py", ["-i", "lo", expr], ready="reading interface lo")
    assert status == 130, f"exit {status}\n{out}\n{err}"
    assert err == "interrupted\n", err
    assert re.search(r"^0 packets\nstats: Stats\(received=0, dropped=0, ifdropped=0\)\n\Z", out, re.M), out


@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
@pytest.mark.parametrize("send", [False, True], ids=["quiet", "sent"])
def test_fanout_ctrl_c(send: bool, group: bool, live: None) -> None:
    """Ctrl-C stops the workers early: they report what they counted so far (nothing, or the 36
    datagrams sent), the parent prints it and exits 130."""
    t0 = time.monotonic()
    args = ["--seconds", "20", "--port", str(free_port())] + ([] if send else ["--no-send"])
    status, out, err = interrupt("fanout.py", args, ready="ready", group=group)
    assert status == 130, f"exit {status}\n{out}\n{err}"
    assert time.monotonic() - t0 < 10, "the workers did not stop"
    assert err == "interrupted\n", err
    last = out.splitlines()[-1]
    assert last == ("8 flows, 0 seen by more than one worker; 36 datagrams sent, 36 counted" if send
                    else "0 flows, 0 seen by more than one worker"), out


def test_fanout_counts_exactly_what_it_sent(live: None) -> None:
    """With no arguments the workers count the 36 datagrams it sends to 127.0.0.1:50021 and nothing
    else of lo's traffic: 8 flows, the i-th source port sending i + 1 datagrams."""
    proc = subprocess.run([sys.executable, str(EXAMPLES / "fanout.py"), "--json"], cwd=ROOT, text=True,
                          capture_output=True, timeout=NO_ARGS_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    flows = {key: n for worker in result["workers"].values() for key, (n, _) in worker.items()}
    assert all(re.fullmatch(r"udp 127\.0\.0\.1:\d+ > 127\.0\.0\.1:50021", key) for key in flows), flows
    assert sorted(flows.values()) == list(range(1, 9)) and result["sent"] == 36, flows
    assert result["shared_flows"] == []


@pytest.fixture
def dask_fifo(tmp_path: Path) -> Path:
    """A FIFO nobody writes to: dask_flows.py's worker blocks reading it, the run never ends by itself."""
    for mod in ("dask", "distributed", "pandas", "numpy"):
        need(importlib.util.find_spec(mod) is not None, f"{mod} is not installed (the test extra has it)")
    fifo = tmp_path / "never.pcap"
    os.mkfifo(fifo)
    return fifo


DASK_CTRL_C = [(when, group, False) for when in (0.3, 1.0, 2.5, "reading") for group in (False, True)] + \
    [(when, True, True) for when in (1.0, 2.5, "reading")]


@pytest.mark.parametrize("when, group, processes", DASK_CTRL_C,
                         ids=[f"{w}-{'group' if g else 'process'}{'-processes' if p else ''}" for w, g, p in DASK_CTRL_C])
def test_dask_flows_ctrl_c(when: float | str, group: bool, processes: bool, dask_fifo: Path) -> None:
    """Ctrl-C while dask_flows.py imports, starts its LocalCluster or computes (a worker blocked
    reading the FIFO): one line, status 130, and the cluster's processes all gone (interrupt()
    checks that).  With `group` the workers get the SIGINT too, as from a terminal.  The workers
    are threads of the example (a task blocked reading cannot be waited for: the example ends
    without), or with `processes` processes of their own (the LocalCluster shuts them down)."""
    t0 = time.monotonic()
    args = [str(dask_fifo)] + (["--processes"] if processes else [])
    if when == "reading":
        status, out, err = interrupt("dask_flows.py", args, fifo=dask_fifo, after=0.3, group=group)
    else:
        assert isinstance(when, float)
        status, out, err = interrupt("dask_flows.py", args, after=when, group=group)
    assert (status, out, err) == (130, "", "interrupted\n"), f"exit {status}\n{out}\n{err}"
    assert time.monotonic() - t0 < 25


# -- without root ---------------------------------------------------------------------

LIVE_WITHOUT_ARGS = sorted(s for s, cases in CASES.items() if any(c.args == [] and c.live for c in cases))


def unprivileged(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, *argv],
                          cwd="/", text=True, capture_output=True, timeout=NO_ARGS_TIMEOUT)


@pytest.fixture(scope="module")
def nobody() -> None:
    """Whether an unprivileged child (user 65534) can run this interpreter and import pcap."""
    need(os.geteuid() == 0, "dropping privileges needs root")
    need(shutil.which("setpriv") is not None, "setpriv missing")
    proc = unprivileged(["-c", "import pcap, dpkt"])
    need(proc.returncode == 0, f"user 65534 cannot import pcap and dpkt: {proc.stderr[-300:]}")


@pytest.mark.parametrize("script", LIVE_WITHOUT_ARGS)
def test_live_example_without_root_says_so(script: str, nobody: None) -> None:
    """As user 65534 a live example ends at once with one line about privileges, not a traceback."""
    proc = unprivileged([str(EXAMPLES / script)])
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert re.fullmatch(rf"{re.escape(script)}: cannot open 'lo': .*root.*\n", proc.stderr), proc.stderr


# -- without the optional packages (issue 19) ----------------------------------------
# A plain `pip install .` has no dpkt, numpy or dask: an example that needs one
# says which, and how to install it, in one line with status 2; --help works
# without it; the others run as usual.

HIDE = """
import os, runpy, sys
for name in sys.argv[1].split(","):
    if name:
        sys.modules[name] = None        # `import name` now fails as if it were not installed
sys.argv = sys.argv[2:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""
sys.path.insert(0, str(EXAMPLES))
from optional_packages import EXIT_MISSING, PACKAGES  # noqa: E402

# What each example needs beyond pcap (with no arguments), in the order it checks.
NEEDS = {script: ["dpkt"] for script in ["async_sniff.py", "bpf_tools.py", "dispatch_vs_loop.py", "make_sample.py",
                                         "nonblocking.py", "readpkts.py", "sendpacket.py", "sniff.py",
                                         "write_savefile.py"]}
NEEDS["dask_flows.py"] = ["numpy", "pyarrow", "dask", "distributed"]
NEEDS["flows_sql.py"] = ["pyarrow", "duckdb"]


def run_without(hidden: list[str], script: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", HIDE, ",".join(hidden), str(EXAMPLES / script), *args],
                          cwd=ROOT, text=True, capture_output=True, timeout=NO_ARGS_TIMEOUT,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


def missing_line(script: str, module: str) -> str:
    return (f"{script} needs the '{module}' package (pip install {PACKAGES[module]}, "
            f"or the examples extra: pip install 'pcap[examples]')\n")


@pytest.mark.parametrize("script", sorted(CASES))
def test_an_example_without_the_optional_packages(script: str, request: pytest.FixtureRequest) -> None:
    if any(c.args == [] and c.live for c in CASES[script]):
        request.getfixturevalue("live")
    proc = run_without(list(PACKAGES), script, [])
    assert "Traceback" not in proc.stderr, proc.stderr
    if script in NEEDS:
        assert (proc.returncode, proc.stdout) == (EXIT_MISSING, ""), f"exit {proc.returncode}\n{proc.stdout}"
        assert proc.stderr == missing_line(script, NEEDS[script][0])
    else:
        assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr}"


@pytest.mark.parametrize("script,module", [(s, m) for s, ms in NEEDS.items() for m in ms])
def test_each_missing_package_is_named(script: str, module: str) -> None:
    need(all(importlib.util.find_spec(m) is not None for m in NEEDS[script]),
         f"{script} needs {NEEDS[script]} installed (the test extra has them)")
    proc = run_without([module], script, [])
    assert (proc.returncode, proc.stderr) == (EXIT_MISSING, missing_line(script, module)), proc.stdout


@pytest.mark.parametrize("script", sorted(CASES))
def test_help_without_the_optional_packages(script: str) -> None:
    proc = run_without(list(PACKAGES), script, ["--help"])
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout.startswith("usage: "), proc.stdout


def test_the_examples_extra_installs_every_optional_package() -> None:
    import tomllib
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["examples"]
    names = {re.match(r"[\w-]+(\[[\w,]+\])?", req).group(0) for req in extra}
    assert names == {spec.strip("'") for spec in PACKAGES.values()}


def test_every_import_of_the_examples_is_pcap_the_stdlib_a_sibling_or_optional() -> None:
    """A new third-party import in an example must go into PACKAGES (and so into the extra)."""
    import ast
    siblings = {p.stem for p in EXAMPLES.glob("*.py")}
    allowed = set(sys.stdlib_module_names) | siblings | set(PACKAGES) | {"pcap"}
    for path in EXAMPLES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert name.partition(".")[0] in allowed, f"{path.name} imports {name}"


def test_multi_capture_records_the_merge_into_one_pcapng(tmp_path: Path) -> None:
    """-w: the merged samples' packets, each on its interface with a comment
    naming it, every interface described, in one pcapng file that capinfos
    reads with the section's comment."""
    out = tmp_path / "merged.pcapng"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "multi_capture.py"), "-w", str(out)], cwd=ROOT,
                          text=True, capture_output=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    with pcap.pcap([str(ROOT / SAMPLE), str(ROOT / SAMPLE)[:-5] + ".pcapng"], timestamp_in_ns=True) as p:
        want = [(ts, buf, p.interface_id, p.packet_comments) for ts, buf in p]
        names = [i.name for i in p.interfaces]
    with pcap.pcap(str(out), timestamp_in_ns=True) as p:
        got = [(ts, buf, p.interface_id, p.packet_comments) for ts, buf in p]
        assert [i.name for i in p.interfaces] == names == [None, "eth0", "tun0"]
    assert got == [(ts, buf, i, c + [f"captured on {names[i] or f'interface {i}'}"]) for ts, buf, i, c in want]
    assert len(got) == 14
    info = subprocess.run([capinfos(), str(out)], text=True, capture_output=True, timeout=TIMEOUT)
    assert "Capture comment:     multi_capture.py: the samples merged" in info.stdout, info.stdout


def test_multi_capture_on_lo_and_a_veth(veth, tmp_path: Path) -> None:
    """-i: one handle over lo and the veth end; the datagrams it sends on lo
    and the frames it sends out of the veth come back on their interface."""
    port = str(free_port())
    out = tmp_path / "both.pcapng"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "multi_capture.py"), "-i", veth.root_if, "--port", port,
                           "-w", str(out)], cwd=ROOT, text=True, capture_output=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"interfaces: 0 lo, 1 {veth.root_if}"
    assert sorted(re.sub(r"^\d+\.\d+ ", "", line) for line in lines[1:7]) == \
        ["interface 0 (lo, EN10MB) 49 bytes"] * 3 + [f"interface 1 ({veth.root_if}, EN10MB) 49 bytes"] * 3
    assert re.fullmatch(rf"6 packets; stats: Stats\(received=\d+, dropped=0, ifdropped=0\), of which "
                        rf"{veth.root_if}: Stats\(received=3, dropped=0, ifdropped=0\)", lines[7]), lines[7]
    assert len(lines) == 8
    # -w: the same six packets in one pcapng file, each on its interface with
    # its comment, both interfaces described with the filter, and each one's
    # statistics (received by the kernel, written here) from close().
    with pcap.pcap(str(out)) as p:
        got = sorted((p.interface_id, p.packet_comments, len(buf)) for ts, buf in p)
        interfaces = p.interfaces
    assert got == [(0, ["captured on lo"], 49)] * 3 + [(1, [f"captured on {veth.root_if}"], 49)] * 3
    assert [(i.name, i.filter) for i in interfaces] == [("lo", f"udp dst port {port}"),
                                                        (veth.root_if, f"udp dst port {port}")]
    assert [(i.statistics["received"] >= 3, i.statistics["delivered"]) for i in interfaces] == [(True, 3)] * 2
