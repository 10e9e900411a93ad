"""Chunks on workers that share no disk with the driver (Dask with S3 delivery).

The driver ships what a worker needs with the job (one task every chunk depends on, see
`dask_executor`): the run's S3 `Target` and, for v2/v3, every catalog Parquet file as
bytes (v3's `ground_truth/` too; they are small). A worker writes them once per run into
its own temporary directory, keeping their layout, writes each chunk
into a fresh scratch directory under its `TMPDIR`, uploads the file, deletes it, and
returns the file's facts; the driver commits the manifest (`s3_commit.Delivery`).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from sqlgen.errors import UploadError
from sqlgen.execute.tasks import ChunkJob, context_for
from sqlgen.generate.chunks import FileStat, write_chunk
from sqlgen.generate.plan import ChunkSpec
from sqlgen.publish.s3_commit import Target


@dataclass(frozen=True)
class RemoteJob:
    target: Target  # where the run's data objects go
    # v2/v3: (path relative to the catalog directory, Parquet bytes); v3's ground truth
    # is under `ground_truth/`
    catalogs: tuple[tuple[str, bytes], ...] | None

    def run_chunk(self, job: ChunkJob, spec: ChunkSpec) -> FileStat:
        """`tasks.run_chunk` for a job with this remote part (`run_remote_chunk`)."""
        return run_remote_chunk(job, spec)


def catalog_files(catalog_dir: Path | None) -> tuple[tuple[str, bytes], ...] | None:
    """Every catalog file the workers load, subdirectories included."""
    if catalog_dir is None:
        return None
    return tuple(
        (p.relative_to(catalog_dir).as_posix(), p.read_bytes())
        for p in sorted(catalog_dir.rglob("*.parquet"))
    )


_CATALOG_DIRS: dict[str, Path] = {}  # run id -> this process's copy of its catalogs


def _catalog_dir(remote: RemoteJob) -> Path | None:
    if remote.catalogs is None:
        return None
    run_id = remote.target.run_id
    path = _CATALOG_DIRS.get(run_id)
    if path is None:
        for old in _CATALOG_DIRS.values():  # one run at a time per worker
            shutil.rmtree(old, ignore_errors=True)
        _CATALOG_DIRS.clear()
        path = _CATALOG_DIRS[run_id] = Path(tempfile.mkdtemp(prefix="sqlgen-catalog-"))
        atexit.register(shutil.rmtree, path, True)
        for name, data in remote.catalogs:
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
    return path


def run_remote_chunk(job: ChunkJob, spec: ChunkSpec) -> FileStat:
    """Write the chunk into local scratch, upload it, keep nothing."""
    remote = job.remote
    ctx = context_for(replace(job, catalog_dir=_catalog_dir(remote)))
    scratch = Path(tempfile.mkdtemp(prefix="sqlgen-chunk-"))
    try:
        stat = write_chunk(ctx, spec, scratch)
        try:
            remote.target.put(scratch / stat.relpath, stat.relpath, stat.sha256)
        except UploadError as exc:
            # Reported, not raised (a retry would not help): the driver exits 2.
            return replace(stat, upload_error=str(exc))
        return replace(stat, uploaded=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
