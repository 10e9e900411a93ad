"""Worker processes die with the driver: SIGTERM, SIGKILL or the OOM killer of the
driver ends its fork server and workers within a second or so.

Two mechanisms, because each covers what the other cannot:
- `PR_SET_PDEATHSIG` (Linux): the kernel sends SIGKILL to a process when its parent
  dies. The fork server's parent is the driver; a worker's parent is the fork server.
  The fork server sets it when it imports this module (it is in the fork server's
  preload list), recognising itself by the driver's pid in `SQLGEN_DRIVER_PID`.
- A watchdog thread in every worker polls the driver's pid: it also covers platforms
  without prctl, and a driver whose death the kernel would report to another thread.

Workers ignore SIGINT: Ctrl-C reaches the whole process group, and only the driver
decides what an interrupt means (one line, no worker tracebacks).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

DRIVER_ENV = "SQLGEN_DRIVER_PID"
_PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def driver_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def watch_driver(pid: int, poll: float = POLL_SECONDS) -> threading.Thread:
    """A daemon thread that SIGKILLs this process once the driver `pid` is gone."""

    def watch() -> None:
        while driver_alive(pid):
            time.sleep(poll)
        os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="sqlgen-driver-watchdog", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def driver_marked() -> Iterator[None]:
    """Around the fork server's start: it inherits the mark, later children do not."""
    before = os.environ.get(DRIVER_ENV)
    os.environ[DRIVER_ENV] = str(os.getpid())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DRIVER_ENV, None)
        else:
            os.environ[DRIVER_ENV] = before


def init_worker(driver_pid: int) -> None:
    """Run first in every pool worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    watch_driver(driver_pid)


# The fork server imports this module once, as a preload; its parent is the driver.
if os.environ.get(DRIVER_ENV) == str(os.getppid()):
    die_with_parent()
