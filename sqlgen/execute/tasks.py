"""The unit of work every executor runs: one chunk of one run, in any process.

`run_chunk(job, spec)` generates a chunk and writes its file under `job.out_root` (or,
for a remote job, into the worker's scratch and uploads it); it returns the file's
`FileStat`. What a chunk contains depends only on `job` and `spec`, never on the
process or machine that runs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlgen.config import GeneratorConfig
from sqlgen.generate.chunks import ChunkContext, FileStat, write_chunk
from sqlgen.generate.plan import ChunkSpec
from sqlgen.world.pools import Pools

if TYPE_CHECKING:
    from sqlgen.execute.remote import RemoteJob

# Fault injection for tests and drills: a chunk whose index is listed here (comma
# separated, read by the driver) fails.
FAIL_ENV = "SQLGEN_FAIL_CHUNKS"


def chunks_to_fail() -> frozenset[int]:
    return frozenset(int(i) for i in os.environ.get(FAIL_ENV, "").split(",") if i.strip())


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to produce any chunk of one run."""

    cfg: GeneratorConfig
    catalog_dir: Path | None  # None: build catalogs in the worker (realism v1)
    out_root: Path | None  # the run's staging payments directory (None: remote)
    pools: Pools  # Faker pools, filled once by the driver
    fail_chunks: frozenset[int] = frozenset()  # fault injection: these chunks fail
    # Set: the worker shares no disk with the driver; it writes into its own scratch
    # and uploads (`remote.RemoteJob`).
    remote: RemoteJob | None = None


_CONTEXTS: dict[tuple[str, str], ChunkContext] = {}


def _context(cfg: GeneratorConfig, catalog_dir: Path | None) -> ChunkContext:
    key = (cfg.data_fingerprint(), str(catalog_dir))
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        release_contexts()
        ctx = _CONTEXTS[key] = ChunkContext(cfg, catalog_dir)
    return ctx


def context_for(job: ChunkJob) -> ChunkContext:
    """The process's context for this job, opened on first use."""
    ctx = _context(job.cfg, job.catalog_dir)
    ctx.use_pools(job.pools)
    return ctx


def prepare(cfg: GeneratorConfig, catalog_dir: Path | None) -> None:
    """Open the context ahead of the run's first chunk (catalogs loaded or built)."""
    _context(cfg, catalog_dir)


def run_chunk(job: ChunkJob, spec: ChunkSpec) -> FileStat:
    if spec.index in job.fail_chunks:
        raise RuntimeError(f"chunk {spec.index} failed ({FAIL_ENV} is set)")
    if job.remote is not None:
        return job.remote.run_chunk(job, spec)
    return write_chunk(context_for(job), spec, job.out_root)


def release_contexts() -> None:
    for ctx in _CONTEXTS.values():
        ctx.close()
    _CONTEXTS.clear()
