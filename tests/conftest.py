"""Fixtures. The helpers every test file shares are in support.py."""
import faulthandler
import signal

import pytest

from support import can_capture, need


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
