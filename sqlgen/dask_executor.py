"""Chunks as Dask tasks, on a LocalCluster or an existing cluster.

Each chunk is one task running `tasks.run_chunk`. Without S3 delivery the worker writes
its file into the run's staging directory (a path every worker must see: a shared
filesystem when the cluster spans machines). With S3 delivery (`worker_uploads`) the job
is a remote one: the worker writes into its own scratch, uploads and keeps nothing, so
no shared disk is needed (`remote`). The driver gathers the `FileStat`s and writes the
manifest. A worker that dies mid-task is survived (the scheduler reruns its task
elsewhere); a task that keeps raising ends the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlgen.chunks import FileStat
from sqlgen.config import GeneratorConfig
from sqlgen.errors import SqlgenError
from sqlgen.plan import ChunkSpec
from sqlgen.tasks import ChunkJob, run_chunk

RETRIES = 2  # extra attempts for a task that raised, before the run fails


class DaskExecutor:
    name = "dask"
    worker_uploads = True  # workers may not see the driver's disk

    def __init__(self, workers: int, scheduler: str | None):
        self.workers = workers
        self.scheduler = scheduler
        self.client = None
        self.cluster = None

    def __enter__(self) -> DaskExecutor:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SqlgenError(
                "executor 'dask' needs Dask distributed: pip install 'sqlgen[dask]'"
            ) from None
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout="20s")
            except OSError as exc:
                raise SqlgenError(f"cannot reach Dask scheduler {self.scheduler}: {exc}") from exc
        else:
            self.cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def warm(self, cfg: GeneratorConfig, catalog_dir: Path | None) -> None:
        """Nothing ahead of time: a Dask worker opens its context with its first chunk."""

    def map(self, job: ChunkJob, specs: list[ChunkSpec]) -> Iterator[FileStat]:
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        [job_future] = self.client.scatter([job], broadcast=True)
        futures = [
            self.client.submit(
                run_chunk,
                job_future,
                spec,
                key=f"sqlgen-{token}-{spec.index}",
                pure=False,
                retries=RETRIES,
            )
            for spec in specs
        ]
        try:
            for fut in as_completed(futures):
                if fut.status == "error":
                    exc = fut.exception()
                    raise SqlgenError(
                        f"Dask task {fut.key} failed after {RETRIES + 1} "
                        f"attempts: {type(exc).__name__}: {exc}"
                    )
                yield fut.result()
        finally:
            self.client.cancel(futures)
