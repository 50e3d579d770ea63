"""The README's shell commands, run as written from the repository root
(test_readme.py runs its Python snippets): the pipe recipe with tcpdump and
Ctrl-C, the examples' command lines, the Dask example's console session and
what an unprivileged user sees."""
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from support import can_capture, need

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def blocks(lang):
    return re.findall(rf"^```{lang}\n(.*?)^```$", README, re.M | re.S)


def readme_line(prefix):
    """The one command line of a ```sh block that starts with ``prefix``."""
    found = [line for b in blocks("sh") for line in b.splitlines() if line.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


@pytest.fixture
def venv_python():
    """The commands say .venv/bin/python, as make creates it."""
    need(VENV_PYTHON.exists(), f"no {VENV_PYTHON} (make test creates it)")


class Collect(threading.Thread):
    """Reads a stream into a string while the process runs."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.text = stream, ""
        self.start()

    def run(self):
        for line in self.stream:
            self.text += line

    def wait_for(self, pattern, count=1, seconds=10.0):
        end = time.monotonic() + seconds
        while len(re.findall(pattern, self.text, re.M)) < count and time.monotonic() < end:
            time.sleep(0.05)
        return len(re.findall(pattern, self.text, re.M)) >= count


@pytest.mark.usefixtures("venv_python")
def test_pipe_recipe_with_tcpdump_and_ctrl_c():
    """tcpdump -U ... | sniff.py -r /dev/stdin: packets show up while they
    are captured, and Ctrl-C (SIGINT to the whole pipeline, as a terminal
    sends it) ends both with the count and no traceback."""
    need(can_capture(), "live capture needs root or CAP_NET_RAW")
    need(shutil.which("tcpdump"), "tcpdump is not installed (make installs it)")
    line = readme_line("tcpdump -i lo -U -w - ")
    port = int(re.search(r"udp port (\d+)", line).group(1))
    proc = subprocess.Popen(["sh", "-c", line], cwd=ROOT, text=True, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = Collect(proc.stdout), Collect(proc.stderr)
    try:
        assert err.wait_for(r"listening on lo"), err.text
        sent = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(3):
                s.sendto(b"readme pipe %d" % i, ("127.0.0.1", port))
        assert out.wait_for(rf"UDP 127\.0\.0\.1:\d+ > 127\.0\.0\.1:{port} len 13$", 3), out.text
        # Without -U tcpdump holds them in its stdio buffer until it exits,
        # and the wait above fails; with it they come within the kernel's
        # one-second block timeout (the margin is for a busy machine).
        assert time.monotonic() - sent < 5, "packets reached the script late: is -U missing?"
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    out.join(5)
    err.join(5)
    assert "Traceback" not in err.text, err.text
    assert out.text.startswith("reading savefile /dev/stdin (link type EN10MB)\n"), out.text
    assert out.text.rstrip().endswith("3 packets"), out.text


@pytest.mark.usefixtures("venv_python")
def test_examples_command_lines():
    lines = blocks("sh")[-1].splitlines()
    assert lines and all(l.startswith(".venv/bin/python examples/") for l in lines), lines
    for line in lines:
        if "# live" in line:
            need(can_capture(), "live capture needs root or CAP_NET_RAW")
        proc = subprocess.run(["sh", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, (line, proc.stderr)
        assert proc.stdout.strip() and "Traceback" not in proc.stderr, (line, proc.stdout, proc.stderr)
    first = subprocess.run(["sh", "-c", lines[0]], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.stdout.rstrip().endswith("3 packets"), first.stdout    # the sample's TCP handshake


@pytest.mark.usefixtures("venv_python")
def test_dask_console_session_prints_what_the_readme_shows():
    need(all(importlib.util.find_spec(m) for m in ("numpy", "pandas", "dask", "distributed")),
         "the dask extra is not installed (the test extra has it)")
    session = next(b for b in blocks("console") if "dask_flows.py" in b).splitlines()
    assert session[0].startswith("$ ")
    proc = subprocess.run(["sh", "-c", session[0][2:]], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == session[1:]


def test_unprivileged_open_prints_what_the_readme_shows(venv_python):
    need(os.geteuid() == 0 and shutil.which("setpriv"), "dropping privileges needs root and setpriv")
    line = readme_line("setpriv --reuid=65534")
    shown = next(b for b in blocks("text") if b.startswith("pcap.PcapPermissionError")).strip()
    proc = subprocess.run(["sh", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == shown
