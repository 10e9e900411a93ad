"""The executor contract, and the registry the CLI's `--executor` choices derive from.

An executor runs `tasks.run_chunk` over a run's chunks somewhere: in this process, in a
pool of local processes, or on a Dask cluster. Implementations are imported only when
chosen (Dask is optional).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sqlgen.config import GeneratorConfig
    from sqlgen.execute.tasks import ChunkJob
    from sqlgen.generate.chunks import FileStat
    from sqlgen.generate.plan import ChunkSpec


@runtime_checkable
class Executor(Protocol):
    """What the runner needs from an executor."""

    name: str
    # True: workers may not see the driver's disk, so with S3 delivery each worker
    # uploads the file it writes from its own scratch space (see `remote`).
    worker_uploads: bool

    def __enter__(self) -> Executor:
        """Start workers (their start-up overlaps the driver's catalogs)."""

    def __exit__(self, *exc: object) -> None:
        """Stop workers and release their resources."""

    def warm(self, cfg: GeneratorConfig, catalog_dir: Path | None) -> None:
        """Best effort: let idle workers open their chunk contexts ahead of the run."""

    def map(self, job: ChunkJob, specs: list[ChunkSpec]) -> Iterator[FileStat]:
        """Run every chunk; yield each `FileStat` as its chunk finishes, in any order."""


def _local(cfg: GeneratorConfig, workers: int) -> Executor:
    from sqlgen.execute.executors import LocalExecutor

    return LocalExecutor()


def _processes(cfg: GeneratorConfig, workers: int) -> Executor:
    from sqlgen.execute.executors import ProcessExecutor

    return ProcessExecutor(workers)


def _dask(cfg: GeneratorConfig, workers: int) -> Executor:
    from sqlgen.execute.dask_executor import DaskExecutor

    return DaskExecutor(workers, cfg.scheduler)


# name -> factory(cfg, workers)
EXECUTORS: dict[str, Callable[[GeneratorConfig, int], Executor]] = {
    "local": _local,
    "processes": _processes,
    "dask": _dask,
}


def make_executor(cfg: GeneratorConfig, chunks: int | None = None) -> Executor:
    """The executor `cfg` asks for, with no more workers than `chunks` (when given)."""
    workers = max(1, min(cfg.num_workers, chunks)) if chunks is not None else cfg.num_workers
    return EXECUTORS[cfg.resolved_executor](cfg, workers)
