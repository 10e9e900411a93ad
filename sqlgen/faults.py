"""Test-only fault injection at named steps of publication.

`SQLGEN_FAULT=publish:<step>:<kill|raise>` makes the process SIGKILL itself, or raise
an `OSError`, just before that step (see `writer.PUBLISH_STEPS` and, for the
two-rename fallback, `writer.FALLBACK_STEPS`). Tests and drills use it to prove that a
failure at any instant leaves the previous run (before the `journal` step) or the new
run (from it on) complete; it is not a user setting and does nothing when unset. Only
the publishing run checks it: completing an interrupted publication never faults.
"""

from __future__ import annotations

import errno
import os
import signal

FAULT_ENV = "SQLGEN_FAULT"


def fault_point(step: str) -> None:
    """Fail here if `SQLGEN_FAULT` names this step."""
    spec = os.environ.get(FAULT_ENV, "")
    if not spec:
        return
    where, _, action = spec.rpartition(":")
    if where != f"publish:{step}":
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise OSError(errno.EIO, f"injected fault before publication step '{step}'")
