"""Fixtures. The helpers every test file shares are in support.py."""
import faulthandler
import os
import shutil
import signal
import subprocess

import pytest

from support import Veth, can_capture, need


@pytest.fixture
def watchdog():
    """Use in modules whose tests block on capture handles: a module that
    hangs ends the run with every thread's traceback instead of hanging."""
    faulthandler.dump_traceback_later(60, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def live():
    """Use in tests that open live interfaces."""
    need(can_capture(), "live capture needs root or CAP_NET_RAW")


@pytest.fixture
def restore_alarm():
    """Put SIGALRM's handler back and stop ITIMER_REAL after the test."""
    old = signal.getsignal(signal.SIGALRM)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def veth():
    need(can_capture(), "live capture needs root or CAP_NET_RAW")
    need(os.geteuid() == 0, "creating network namespaces needs root")
    need(shutil.which("ip"), "the ip command (iproute2) is missing")
    v = Veth()
    try:
        v.setup()
        yield v
    finally:
        failures = v.teardown()
    assert not failures, failures
    assert not os.path.exists(f"/sys/class/net/{v.root_if}")
    assert v.ns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
