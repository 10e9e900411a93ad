"""Where chunks run: in this process, or in a pool of processes.

Every executor runs the same task, `run_chunk(job, spec)`, which writes one file and
returns its `FileStat`. What a chunk contains depends only on `job` and `spec`, so the
output is the same whichever executor or worker count runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from sqlgen.chunks import ChunkContext, FileStat, write_chunk
from sqlgen.config import GeneratorConfig
from sqlgen.plan import ChunkSpec
from sqlgen.pools import Pools


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to produce any chunk of one run."""

    cfg: GeneratorConfig
    catalog_dir: Path | None  # None: build catalogs in the worker (realism v1)
    out_root: Path  # the run's staging payments directory
    pools: Pools  # Faker pools, filled once by the driver

    @property
    def key(self) -> tuple[str, str]:
        return (self.cfg.data_fingerprint(), str(self.catalog_dir))


_CONTEXTS: dict[tuple[str, str], ChunkContext] = {}


def context_for(job: ChunkJob) -> ChunkContext:
    """The process's context for this job, opened on first use."""
    ctx = _CONTEXTS.get(job.key)
    if ctx is None:
        for old in _CONTEXTS.values():
            old.close()
        _CONTEXTS.clear()
        ctx = _CONTEXTS[job.key] = ChunkContext(job.cfg, job.catalog_dir, job.pools)
    return ctx


def run_chunk(job: ChunkJob, spec: ChunkSpec) -> FileStat:
    ctx = context_for(job)
    return write_chunk(ctx, spec, job.out_root)


def release_contexts() -> None:
    for ctx in _CONTEXTS.values():
        ctx.close()
    _CONTEXTS.clear()


class LocalExecutor:
    """Chunks one after another in this process."""

    name = "local"

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        release_contexts()

    def map(self, job: ChunkJob, specs: list[ChunkSpec]) -> Iterator[FileStat]:
        for spec in specs:
            yield run_chunk(job, spec)


def _warm_up() -> None:
    """Pay a worker's imports while the driver is still building catalogs."""
    import sqlgen.chunks  # noqa: F401


class ProcessExecutor:
    """Chunks spread over `workers` spawned processes, each with its own context.

    Entering starts the workers at once so their start-up overlaps the driver's work.
    """

    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessExecutor:
        # spawn, not fork: DuckDB and thread pools do not survive a fork safely.
        self.pool = ProcessPoolExecutor(
            self.workers, mp_context=get_context("spawn"), initializer=_warm_up
        )
        for _ in range(self.workers):
            self.pool.submit(int)
        return self

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


def make_executor(cfg: GeneratorConfig) -> LocalExecutor | ProcessExecutor:
    kind = cfg.executor
    if kind == "auto":
        kind = "processes" if cfg.num_workers > 1 else "local"
    return ProcessExecutor(cfg.num_workers) if kind == "processes" else LocalExecutor()
