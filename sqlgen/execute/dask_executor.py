"""Chunks as Dask tasks, on a LocalCluster or an existing cluster.

Each chunk is one task running `tasks.run_chunk`. Without S3 delivery the worker writes
its file into the run's staging directory (a path every worker must see: a shared
filesystem when the cluster spans machines). With S3 delivery (`worker_uploads`) the job
is a remote one: the worker writes into its own scratch, uploads and keeps nothing, so
no shared disk is needed (`remote`). The driver gathers the `FileStat`s and writes the
manifest.

Worker loss: the job (config, pools and, for a remote job, its S3 target) is itself a
task whose result every chunk task depends on, not scattered data: when the workers
holding it die, the scheduler recomputes it from the task it keeps, so a run survives
losing any worker at any time while one is alive (or comes back). A chunk task whose
workers kept dying (Dask's `KilledWorker`) is resubmitted by the driver; a task that
raises `RETRIES + 1` times or a cluster without workers for `NO_WORKER_SECONDS` ends the
run with one line (exit 1).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlgen.config import GeneratorConfig
from sqlgen.errors import SqlgenError
from sqlgen.execute.tasks import ChunkJob, run_chunk
from sqlgen.generate.chunks import FileStat
from sqlgen.generate.plan import ChunkSpec

RETRIES = 2  # extra attempts for a task that raised, before the run fails
RESUBMITS = 5  # times a chunk is resubmitted after Dask gave up on it (KilledWorker)
NO_WORKER_SECONDS = 120.0  # a cluster with no worker for this long cannot go on
NO_WORKER_ENV = "SQLGEN_DASK_NO_WORKER_SECONDS"  # tests and drills
POLL_SECONDS = 1.0


def _job(job: ChunkJob) -> ChunkJob:
    """The job as a task result: recomputable from the task the scheduler keeps."""
    return job


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


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
            try:
                self.cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            except Exception as exc:  # a worker process died or hung while starting
                raise SqlgenError(
                    f"the Dask LocalCluster could not start its {self.workers} worker "
                    f"processes (a worker died or failed while starting: {_first_line(exc)})"
                ) from exc
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
        run = _Run(self.client, job)
        pending = {run.submit(spec): spec for spec in specs}
        try:
            yield from self._collect(run, pending)
        finally:
            self.client.cancel([*pending, run.job_future])

    def _collect(self, run: _Run, pending: dict) -> Iterator[FileStat]:
        from distributed import TimeoutError as DaskTimeout
        from distributed import wait
        from distributed.client import FuturesCancelledError
        from distributed.scheduler import KilledWorker

        limit = float(os.environ.get(NO_WORKER_ENV) or NO_WORKER_SECONDS)
        workerless_since = None
        while pending:
            try:
                wait(list(pending), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except (DaskTimeout, FuturesCancelledError):
                pass  # nothing finished yet; cancelled futures are resubmitted below
            except Exception as exc:
                raise SqlgenError(f"the Dask run cannot go on: {_first_line(exc)}") from exc
            done = [f for f in pending if f.status in ("finished", "error", "cancelled")]
            if not done:
                workerless_since = self._check_workers(workerless_since, limit)
                continue
            workerless_since = None
            for fut in done:
                spec = pending.pop(fut)
                if fut.status == "finished":
                    yield fut.result()
                    continue
                exc = fut.exception() if fut.status == "error" else None
                if exc is not None and not isinstance(exc, KilledWorker):
                    raise SqlgenError(
                        f"Dask task {fut.key} (chunk {spec.index}) failed after "
                        f"{RETRIES + 1} attempts: {_first_line(exc)}"
                    )
                # Its workers kept dying (KilledWorker), or it was lost with them.
                if run.attempts[spec.index] >= RESUBMITS:
                    raise SqlgenError(
                        f"chunk {spec.index} was lost with its Dask workers "
                        f"{RESUBMITS + 1} times; the run cannot go on"
                    )
                run.attempts[spec.index] += 1
                pending[run.submit(spec)] = spec

    def _check_workers(self, since: float | None, limit: float) -> float | None:
        """The moment the cluster was last seen without workers (None: it has some)."""
        try:
            workers = len(self.client.nthreads())
        except Exception as exc:
            raise SqlgenError(
                f"lost the Dask scheduler; the run cannot go on: {_first_line(exc)}"
            ) from exc
        if workers:
            return None
        now = time.monotonic()
        if since is not None and now - since > limit:
            raise SqlgenError(
                f"the Dask cluster has had no worker for {limit:g} s; the run cannot go on"
            )
        return now if since is None else since


class _Run:
    """One run's tasks on the cluster: the job task and each chunk's current attempt."""

    def __init__(self, client, job: ChunkJob):
        self.client = client
        self.job = job
        self.token = uuid.uuid4().hex[:8]
        self.attempts: dict[int, int] = {}
        self.job_future = None
        self._submit_job()

    def _submit_job(self) -> None:
        import dask

        # One task holds the job (the Faker pools may be a few MB).
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1GiB"}):
            self.job_future = self.client.submit(
                _job, self.job, key=f"sqlgen-{self.token}-job-{uuid.uuid4().hex[:6]}", pure=False
            )

    def submit(self, spec: ChunkSpec):
        if self.job_future.status in ("error", "cancelled"):
            self._submit_job()  # forgotten with its dependents: submit it again
        attempt = self.attempts.setdefault(spec.index, 0)
        return self.client.submit(
            run_chunk,
            self.job_future,
            spec,
            key=f"sqlgen-{self.token}-{spec.index}-{attempt}",
            pure=False,
            retries=RETRIES,
        )
