"""How process workers start: forked from a fork server that imported sqlgen once.

A plain fork is unsafe (DuckDB and thread pools do not survive it); spawning pays every
worker's imports again. A fork server is a clean single-threaded process that imports
`sqlgen.generate.chunks` once, then forks each worker from itself. `start_early` launches it
while the driver is still importing and building catalogs. This module imports nothing
heavy, so the CLI can call it first thing.

Workers inherit the fork server's environment, not the driver's later one: anything a
chunk needs travels in its `ChunkJob`. The fork server and its workers die with the
driver (`sqlgen.execute.lifetime`).

multiprocessing keeps the fork server's socket in a `pymp-*` directory of $TMPDIR that
only a clean exit removes: a killed driver would leave one each time. The driver's is
`sqlgen-<pid>-*` instead (`own_temp_dir`), removed at exit as before, and
the next run removes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.util
import os
import re
import shutil
import tempfile
from multiprocessing import forkserver
from multiprocessing.context import BaseContext

from sqlgen.execute.lifetime import driver_alive, driver_marked

PRELOAD = ["sqlgen.execute.lifetime", "sqlgen.generate.chunks"]
TEMP_PREFIX = "sqlgen-"  # short: the fork server's socket path must fit in 107 bytes
_TEMP_NAME = re.compile(rf"{TEMP_PREFIX}(\d+)-[A-Za-z0-9_]{{8}}")


def _ours(entry: os.DirEntry) -> bool:
    """This user's directory holding nothing but multiprocessing's sockets."""
    if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
        return False
    return all(name.startswith("listener-") for name in os.listdir(entry.path))


def remove_stale_temp_dirs(base: str | None = None) -> list[str]:
    """Remove this user's `sqlgen-<pid>-*` directories whose process is gone; their
    names."""
    removed = []
    base = base or tempfile.gettempdir()
    with contextlib.suppress(OSError), os.scandir(base) as entries:
        for entry in entries:
            m = _TEMP_NAME.fullmatch(entry.name)
            if m is None or driver_alive(int(m[1])):
                continue
            with contextlib.suppress(OSError):
                if _ours(entry):
                    shutil.rmtree(entry.path)
                    removed.append(entry.name)
    return removed


def own_temp_dir() -> str:
    """Give this process's multiprocessing a temporary directory sqlgen can recognise
    (and remove after a kill) instead of an anonymous `pymp-*`."""
    config = multiprocessing.process.current_process()._config
    if config.get("tempdir") is None:
        remove_stale_temp_dirs()
        path = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-")
        multiprocessing.util.Finalize(
            None, shutil.rmtree, args=(path, True), exitpriority=-100
        )
        config["tempdir"] = path
    return config["tempdir"]


def mp_context() -> BaseContext:
    """The start method for worker pools: the fork server where the OS has one."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    own_temp_dir()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    with driver_marked():
        forkserver.ensure_running()  # now, so that it inherits the mark
    return ctx


def start_early() -> None:
    """Start the fork server now (its imports overlap the caller's work)."""
    mp_context()
