"""Chunks on workers that share no disk with the driver (Dask with S3 delivery).

The driver ships what a worker needs with the job (one task every chunk depends on, see
`dask_executor`): the run's S3 `Target`. The catalogs are not shipped: a worker derives
them from the config and seed, the same tables the driver built (`chunks.ChunkContext`
with no catalog directory), so no catalog bytes sit in the job, the scheduler or a
worker's memory beside the catalogs themselves. A worker writes each chunk into a fresh
scratch directory under its `TMPDIR`, uploads the file, deletes it, and returns the
file's facts; the driver commits the manifest (`s3_commit.Delivery`).
"""

from __future__ import annotations

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

    def run_chunk(self, job: ChunkJob, spec: ChunkSpec) -> FileStat:
        """`tasks.run_chunk` for a job with this remote part (`run_remote_chunk`)."""
        return run_remote_chunk(job, spec)


def run_remote_chunk(job: ChunkJob, spec: ChunkSpec) -> FileStat:
    """Write the chunk into local scratch, upload it, keep nothing."""
    remote = job.remote
    ctx = context_for(replace(job, catalog_dir=None))  # catalogs derived here
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
