"""How process workers start: forked from a fork server that imported sqlgen once.

A plain fork is unsafe (DuckDB and thread pools do not survive it); spawning pays every
worker's imports again. A fork server is a clean single-threaded process that imports
`sqlgen.chunks` once, then forks each worker from itself. `start_early` launches it
while the driver is still importing and building catalogs. This module imports nothing
heavy, so the CLI can call it first thing.

Workers inherit the fork server's environment, not the driver's later one: anything a
chunk needs travels in its `ChunkJob`. The fork server and its workers die with the
driver (`sqlgen.lifetime`).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import BaseContext

from sqlgen.lifetime import driver_marked

PRELOAD = ["sqlgen.lifetime", "sqlgen.chunks"]


def mp_context() -> BaseContext:
    """The start method for worker pools: the fork server where the OS has one."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    with driver_marked():
        forkserver.ensure_running()  # now, so that it inherits the mark
    return ctx


def start_early() -> None:
    """Start the fork server now (its imports overlap the caller's work)."""
    mp_context()
