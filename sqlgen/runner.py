"""One run: plan → catalogs → executor → manifest → publish → (commit to S3)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from sqlgen import __version__
from sqlgen.catalogs import CATALOG_TABLES, build_catalogs, write_catalogs
from sqlgen.chunks import FileStat
from sqlgen.config import GeneratorConfig
from sqlgen.errors import SqlgenError
from sqlgen.executor_api import make_executor
from sqlgen.plan import plan_chunks
from sqlgen.pools import make_pools
from sqlgen.progress import Progress
from sqlgen.schema import table_schema
from sqlgen.tasks import ChunkJob, chunks_to_fail
from sqlgen.writer import DATABASE, OutputDir, file_sha256

log = logging.getLogger("sqlgen")


def database_tables(realism: str) -> list:
    """The tables copied into `sqlgen.duckdb`, with their schemas (v3 catalogs have
    places)."""
    return [
        *((t, table_schema(t, realism)) for t in CATALOG_TABLES),
        ("countries", None),
        ("mccs", None),
    ]


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    manifest: dict[str, Any]
    timings: dict[str, float]


def new_run_id(cfg: GeneratorConfig) -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{cfg.data_fingerprint()[:8]}"


def build_manifest(
    cfg: GeneratorConfig, run_id: str, stats: list[FileStat], catalog_dir: Path | None = None
) -> dict[str, Any]:
    stats = sorted(stats, key=lambda s: s.index)
    catalogs = sorted(catalog_dir.glob("*.parquet")) if catalog_dir is not None else []
    return {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "sqlgen_version": __version__,
        "config_hash": cfg.data_fingerprint(),
        "seed": cfg.seed,
        "realism": cfg.realism,
        "rows": sum(s.rows for s in stats),
        "fraud_rows": sum(s.fraud_rows for s in stats),
        "fraud_target": cfg.fraud_target,
        "config": cfg.model_dump(mode="json"),
        "files": [
            {
                "path": f"payments/{s.relpath}",
                "rows": s.rows,
                "fraud_rows": s.fraud_rows,
                "bytes": s.bytes,
                "sha256": s.sha256,
            }
            for s in stats
        ],
        "catalog_files": [
            {"path": f"catalog/{p.name}", "bytes": p.stat().st_size, "sha256": file_sha256(p)}
            for p in catalogs
        ],
    }


def log_settings(cfg: GeneratorConfig) -> None:
    log.info(
        "sqlgen %s: rows=%s fraud_rate=%s (%s frauds) seed=%s workers=%s executor=%s "
        "batch_size=%s realism=%s out_dir=%s",
        __version__,
        f"{cfg.rows:,}",
        cfg.fraud_rate,
        f"{cfg.fraud_target:,}",
        cfg.seed,
        cfg.num_workers,
        cfg.executor,
        f"{cfg.batch_size:,}",
        cfg.realism,
        cfg.out_dir,
    )


def _generate(
    executor, cfg: GeneratorConfig, job: ChunkJob, specs: list, show_progress: bool
) -> list:
    progress = Progress(cfg.rows, enabled=show_progress)
    stats = []
    try:
        for stat in executor.map(job, specs):
            stats.append(stat)
            progress.update(stat.rows)
    finally:
        progress.close()
    return stats


class Phases:
    """Wall time per phase of a run, logged at the end (the benchmark reads it)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)


def _begin_delivery(cfg: GeneratorConfig, run_id: str):
    """With S3 delivery, withdraw the prefix's `_SUCCESS` before this run writes
    anything (see `s3_commit`); a failure is kept and raised after local publication."""
    if not cfg.s3_upload:
        return None
    from sqlgen.s3_commit import Delivery  # boto3 is imported only when uploading

    return Delivery(cfg.s3, run_id, with_catalogs=cfg.realism != "v1").begin()


def run(cfg: GeneratorConfig, *, show_progress: bool = True) -> RunResult:
    """Generate, stage and publish one run into `cfg.out_dir`, then commit it to S3 if
    asked. With an executor whose workers upload (Dask) and S3 delivery, workers need
    no shared disk and nothing is published locally: the run lives in S3 only."""
    out = OutputDir(cfg.out_dir)
    phase = Phases()
    with out.lock(), contextlib.ExitStack() as stack:
        out.sweep()
        run_id = new_run_id(cfg)
        delivery = _begin_delivery(cfg, run_id)
        specs = plan_chunks(cfg)
        log.info(
            "plan: %d chunks over %s..%s",
            len(specs),
            cfg.temporal.start_date,
            cfg.temporal.end_date,
        )
        staged, staged_catalog = out.stage(run_id)
        con = duckdb.connect()
        remote = False
        try:
            executor = stack.enter_context(make_executor(cfg, len(specs)))
            remote = delivery is not None and executor.worker_uploads
            if remote and delivery.error is not None:
                raise delivery.error  # no local copy to fall back on: stop before work
            with phase("catalogs"):
                build_catalogs(con, cfg.catalog, cfg.seed, world=cfg.realism == "v3")
                catalog_dir = None
                if cfg.realism != "v1":
                    write_catalogs(con, staged_catalog, cfg.catalog.max_size_mb)
                    catalog_dir = staged_catalog
                # Workers load the catalogs while the driver fills the Faker pools.
                executor.warm(cfg, catalog_dir)
                pools = make_pools(cfg.seed, cfg.realism)
            if remote:
                from sqlgen.remote import RemoteJob, catalog_files

                remote_job = RemoteJob(delivery.target, catalog_files(catalog_dir))
                job = ChunkJob(cfg, None, None, pools, chunks_to_fail(), remote_job)
            else:
                job = ChunkJob(cfg, catalog_dir, staged, pools, chunks_to_fail())
            # The database file is built while the chunks run, in staging; it is put in
            # place after publication.
            with ThreadPoolExecutor(1) as background:
                database = None
                if not remote:
                    database = background.submit(
                        out.build_database,
                        con,
                        database_tables(cfg.realism),
                        staged.parent / DATABASE,
                    )
                with phase("chunks"):
                    stats = _generate(executor, cfg, job, specs, show_progress)
                staged_database = database.result() if database is not None else None
            stack.close()
            manifest = build_manifest(cfg, run_id, stats, catalog_dir)
            if manifest["fraud_rows"] != cfg.fraud_target or manifest["rows"] != cfg.rows:
                raise SqlgenError(
                    f"internal check failed: wrote {manifest['rows']} rows with "
                    f"{manifest['fraud_rows']} frauds, expected {cfg.rows} and {cfg.fraud_target}"
                )
            if remote:
                with phase("upload"):
                    delivery.finish(manifest, stats, None, catalog_dir)
            else:
                with phase("publish"):
                    out.write_manifest(staged, manifest)
                    out.publish(staged, catalog_dir)
                with phase("database"):
                    out.install_database(staged_database)
        except BaseException:
            if remote:
                stack.close()  # no worker uploads any more
                delivery.abandon()
            raise
        finally:
            stack.close()  # workers stop before their staging directory goes
            con.close()
            out.discard(run_id)
    if not remote:
        log.info(
            "published %s rows (%s frauds) in %d files to %s",
            f"{manifest['rows']:,}",
            f"{manifest['fraud_rows']:,}",
            len(manifest["files"]),
            out.payments,
        )
        if delivery is not None:
            with phase("upload"):
                delivery.finish(manifest, stats, out.payments, out.catalog)
    log.info("timings: %s", json.dumps(phase.seconds))
    return RunResult(out.root, manifest, phase.seconds)


def build_catalogs_only(cfg: GeneratorConfig) -> Path:
    """Build and publish the catalogs (Parquet + database tables) without payments."""
    out = OutputDir(cfg.out_dir)
    with out.lock():
        out.sweep()
        run_id = new_run_id(cfg)
        _, staged = out.stage(run_id)
        con = duckdb.connect()
        try:
            build_catalogs(con, cfg.catalog, cfg.seed, world=cfg.realism == "v3")
            write_catalogs(con, staged, cfg.catalog.max_size_mb)
            out.publish(None, staged)
            out.write_database(con, database_tables(cfg.realism))
        finally:
            con.close()
            out.discard(run_id)
    log.info("catalogs written to %s", out.catalog)
    return out.catalog
