"""Where chunks run: in this process, or in a pool of processes.

Every executor runs the same task, `run_chunk(job, spec)`, which writes one file and
returns its `FileStat`. What a chunk contains depends only on `job` and `spec`, so the
output is the same whichever executor or worker count runs it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from sqlgen.chunks import ChunkContext, FileStat, write_chunk
from sqlgen.config import GeneratorConfig
from sqlgen.plan import ChunkSpec


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to produce any chunk of one run."""

    cfg: GeneratorConfig
    catalog_dir: Path | None  # None: build catalogs in the worker (realism v1)
    out_root: Path  # the run's staging payments directory

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
        ctx = _CONTEXTS[job.key] = ChunkContext(job.cfg, job.catalog_dir)
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

    def map(self, job: ChunkJob, specs: list[ChunkSpec]) -> Iterator[FileStat]:
        try:
            for spec in specs:
                yield run_chunk(job, spec)
        finally:
            release_contexts()


class ProcessExecutor:
    """Chunks spread over `workers` spawned processes, each with its own context."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers

    def map(self, job: ChunkJob, specs: list[ChunkSpec]) -> Iterator[FileStat]:
        # spawn, not fork: DuckDB and thread pools do not survive a fork safely.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=ctx) as pool:
            pending = {pool.submit(run_chunk, job, spec) for spec in specs}
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
