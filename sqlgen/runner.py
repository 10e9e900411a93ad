"""One run: plan → catalogs → executor → manifest → publish → (upload)."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from sqlgen import __version__
from sqlgen.catalogs import CATALOG_TABLES, build_catalogs, write_catalogs
from sqlgen.chunks import FileStat
from sqlgen.config import GeneratorConfig
from sqlgen.errors import SqlgenError
from sqlgen.executors import ChunkJob, make_executor, threads_per_worker
from sqlgen.plan import plan_chunks
from sqlgen.progress import Progress
from sqlgen.writer import OutputDir

log = logging.getLogger("sqlgen")

DATABASE_TABLES = [*CATALOG_TABLES, "countries", "mccs"]


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    manifest: dict[str, Any]


def new_run_id(cfg: GeneratorConfig) -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{cfg.data_fingerprint()[:8]}"


def build_manifest(cfg: GeneratorConfig, run_id: str, stats: list[FileStat]) -> dict[str, Any]:
    stats = sorted(stats, key=lambda s: s.index)
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


def run(cfg: GeneratorConfig, *, show_progress: bool = True) -> RunResult:
    """Generate, stage and publish one run into `cfg.out_dir`."""
    out = OutputDir(cfg.out_dir)
    with out.lock():
        out.sweep()
        run_id = new_run_id(cfg)
        specs = plan_chunks(cfg)
        log.info(
            "plan: %d chunks over %s..%s",
            len(specs),
            cfg.temporal.start_date,
            cfg.temporal.end_date,
        )
        staged = out.stage_run(run_id)
        staged_catalog = None
        try:
            con = duckdb.connect()
            build_catalogs(con, cfg.catalog, cfg.seed)
            if cfg.realism == "v2":
                staged_catalog = out.stage_catalogs(run_id)
                write_catalogs(con, staged_catalog, cfg.catalog.max_size_mb)
            job = ChunkJob(cfg, staged_catalog, staged, threads_per_worker(cfg.num_workers))
            progress = Progress(cfg.rows, enabled=show_progress)
            stats = []
            try:
                for stat in make_executor(cfg).map(job, specs):
                    stats.append(stat)
                    progress.update(stat.rows)
            finally:
                progress.close()
            manifest = build_manifest(cfg, run_id, stats)
            if manifest["fraud_rows"] != cfg.fraud_target or manifest["rows"] != cfg.rows:
                raise SqlgenError(
                    f"internal check failed: wrote {manifest['rows']} rows with "
                    f"{manifest['fraud_rows']} frauds, expected {cfg.rows} and {cfg.fraud_target}"
                )
            out.write_manifest(staged, manifest)
            out.publish(staged, staged_catalog)
        except BaseException:
            shutil.rmtree(staged.parent, ignore_errors=True)
            if staged_catalog is not None:
                shutil.rmtree(staged_catalog, ignore_errors=True)
            raise
        out.write_database(con, DATABASE_TABLES)
        con.close()
    log.info(
        "published %s rows (%s frauds) in %d files to %s",
        f"{manifest['rows']:,}",
        f"{manifest['fraud_rows']:,}",
        len(manifest["files"]),
        out.payments,
    )
    return RunResult(out.root, manifest)


def build_catalogs_only(cfg: GeneratorConfig) -> Path:
    """Build and publish the catalogs (Parquet + database tables) without payments."""
    out = OutputDir(cfg.out_dir)
    with out.lock():
        out.sweep()
        staged = out.stage_catalogs(new_run_id(cfg))
        con = duckdb.connect()
        try:
            build_catalogs(con, cfg.catalog, cfg.seed)
            write_catalogs(con, staged, cfg.catalog.max_size_mb)
            out.publish(None, staged)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        out.write_database(con, DATABASE_TABLES)
        con.close()
    log.info("catalogs written to %s", out.catalog)
    return out.catalog
