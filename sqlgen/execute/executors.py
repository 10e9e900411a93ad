"""Where chunks run: in this process, or in a pool of local processes.

Every executor maps `tasks.run_chunk` over the plan and yields `FileStat`s as chunks
finish, in any order; the driver sorts them. Dask lives in `dask_executor`; the contract
and the registry of executors in `executor_api`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path

from sqlgen.config import GeneratorConfig
from sqlgen.execute.forkserver import mp_context
from sqlgen.execute.lifetime import init_worker
from sqlgen.execute.tasks import ChunkJob, prepare, release_contexts, run_chunk
from sqlgen.generate.chunks import FileStat
from sqlgen.generate.plan import ChunkSpec


class LocalExecutor:
    """Chunks one after another in this process."""

    name = "local"
    worker_uploads = False  # workers share the driver's disk

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        release_contexts()

    def warm(self, cfg: GeneratorConfig, catalog_dir: Path | None) -> None:
        """Nothing to overlap: the context opens with the first chunk."""

    def map(self, job: ChunkJob, specs: list[ChunkSpec]) -> Iterator[FileStat]:
        for spec in specs:
            yield run_chunk(job, spec)


def _warm_up(driver_pid: int) -> None:
    """Tie the worker's life to the driver's, then pay its imports while the driver is
    still building catalogs."""
    init_worker(driver_pid)
    import sqlgen.generate.chunks  # noqa: F401


class ProcessExecutor:
    """Chunks spread over `workers` local processes, each with its own context.

    Entering starts the workers at once so their start-up overlaps the driver's work.
    """

    name = "processes"
    worker_uploads = False  # workers share the driver's disk

    def __init__(self, workers: int):
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessExecutor:
        # Forked from a fork server that imported sqlgen once (see `sqlgen.execute.forkserver`).
        self.pool = ProcessPoolExecutor(
            self.workers,
            mp_context=mp_context(),
            initializer=_warm_up,
            initargs=(os.getpid(),),
        )
        for _ in range(self.workers):
            self.pool.submit(int)
        return self

    def warm(self, cfg: GeneratorConfig, catalog_dir: Path | None) -> None:
        """Have idle workers open their chunk contexts (load the catalogs) while the
        driver finishes; best effort: a worker missed here opens it with its first
        chunk, which also reports any error."""
        if self.pool is None:
            raise RuntimeError("ProcessExecutor used outside its `with` block")
        for _ in range(self.workers):
            self.pool.submit(prepare, cfg, catalog_dir)

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def map(self, job: ChunkJob, specs: list[ChunkSpec]) -> Iterator[FileStat]:
        if self.pool is None:
            raise RuntimeError("ProcessExecutor used outside its `with` block")
        pending = {self.pool.submit(run_chunk, job, spec) for spec in specs}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()
