"""One run: plan → catalogs → executor → manifest → publish → (upload)."""

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
from sqlgen.errors import SqlgenError, UploadError
from sqlgen.executors import make_executor
from sqlgen.plan import plan_chunks
from sqlgen.pools import make_pools
from sqlgen.progress import Progress
from sqlgen.schema import table_schema
from sqlgen.tasks import ChunkJob, WorkerUpload, chunks_to_fail
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


def _worker_upload(cfg: GeneratorConfig, executor) -> WorkerUpload | None:
    """Workers ship their own files where the executor supports it (Dask)."""
    if not (cfg.s3_upload and getattr(executor, "worker_uploads", False)):
        return None
    from sqlgen.s3 import raw_bucket

    try:
        return WorkerUpload(raw_bucket(cfg.s3), cfg.s3)
    except UploadError:
        return None  # the driver's upload after publishing reports it (exit 2)


def _publish(out: OutputDir, run_id: str, manifest: dict | None) -> None:
    """Publish. A failure or interrupt before the journal (the commit point) leaves the
    previous run; after it, publication is rolled forward here, and the failure is only
    a warning, since exit 1 must mean that nothing was published. If rolling forward
    fails too, the journal is dropped when nothing visible moved yet (exit 1, nothing
    published); otherwise the next sqlgen command on the out_dir completes it."""
    try:
        out.publish(run_id, manifest)
    except BaseException as exc:
        if not out.committed(run_id):
            raise
        try:
            out.recover()
        except Exception as again:
            if out.abandon_if_untouched(run_id):
                raise exc from again
            raise SqlgenError(
                f"run {run_id} is committed in {out.root} but its publication could not "
                f"be completed ({again}); any sqlgen command on that out_dir completes it"
            ) from again
        log.warning("run %s is published at %s, but then: %r", run_id, out.root, exc)


def check_s3_reachable(cfg: GeneratorConfig) -> None:
    """With `--s3`, fail before generating (exit 1, nothing published) when boto3 cannot
    even build a client: no region, no credentials. Buckets are checked by the upload."""
    if not cfg.s3_upload:
        return
    import boto3
    import botocore.exceptions

    try:
        session = boto3.session.Session(region_name=cfg.s3.region)
        session.client("ssm", endpoint_url=cfg.s3.endpoint_url or None)
        if session.get_credentials() is None:
            raise SqlgenError("--s3: no AWS credentials found; nothing was generated")
    except (botocore.exceptions.BotoCoreError, ValueError) as exc:  # ValueError: bad region
        raise SqlgenError(f"--s3: cannot create an AWS client: {exc}") from exc


def _upload(cfg: GeneratorConfig, out: OutputDir, manifest: dict, stats: list) -> None:
    """Deliver the published run; any failure or interrupt here is exit 2 (published)."""
    from sqlgen.s3 import upload_run  # boto3 is imported only when uploading

    where = f"run {manifest['run_id']} published locally at {out.root}"
    try:
        failed = [s.upload_error for s in stats if s.upload_error]
        if failed:
            raise UploadError(failed[0])
        done = frozenset(f"payments/{s.relpath}" for s in stats if s.uploaded)
        upload_run(out, manifest, cfg.s3, with_catalogs=cfg.realism != "v1", already=done)
    except UploadError as exc:
        raise UploadError(f"{exc} ({where})") from exc
    except KeyboardInterrupt:
        raise UploadError(f"{where}; upload interrupted") from None
    except Exception as exc:
        raise UploadError(f"{where}; upload failed: {type(exc).__name__}: {exc}") from exc


def run(cfg: GeneratorConfig, *, show_progress: bool = True) -> RunResult:
    """Generate, stage and publish one run into `cfg.out_dir`, then upload if asked."""
    out = OutputDir(cfg.out_dir)
    phase = Phases()
    check_s3_reachable(cfg)
    run_id = new_run_id(cfg)
    try:
        stats, manifest = _generate_and_publish(cfg, out, run_id, phase, show_progress)
    except KeyboardInterrupt:
        if not out.committed(run_id):
            raise  # the CLI says "nothing was published"
        # Ctrl-C after the swap (cleanup): published; an upload was not even started.
        log.warning("interrupted after run %s was published at %s", run_id, out.root)
        if cfg.s3_upload:
            raise UploadError(
                f"run {run_id} published locally at {out.root}; upload interrupted"
            ) from None
        return RunResult(out.root, out.read_manifest(), phase.seconds)
    log.info(
        "published %s rows (%s frauds) in %d files to %s",
        f"{manifest['rows']:,}",
        f"{manifest['fraud_rows']:,}",
        len(manifest["files"]),
        out.payments,
    )
    if cfg.s3_upload:
        with phase("upload"):
            _upload(cfg, out, manifest, stats)
    log.info("timings: %s", json.dumps(phase.seconds))
    return RunResult(out.root, manifest, phase.seconds)


def _generate_and_publish(
    cfg: GeneratorConfig, out: OutputDir, run_id: str, phase: Phases, show_progress: bool
) -> tuple[list, dict[str, Any]]:
    with out.lock(), contextlib.ExitStack() as stack:
        out.sweep()
        specs = plan_chunks(cfg)
        log.info(
            "plan: %d chunks over %s..%s",
            len(specs),
            cfg.temporal.start_date,
            cfg.temporal.end_date,
        )
        staged, staged_catalog = out.stage(run_id)
        con = duckdb.connect()
        try:
            executor = stack.enter_context(make_executor(cfg, len(specs)))
            with phase("catalogs"):
                build_catalogs(con, cfg.catalog, cfg.seed, world=cfg.realism == "v3")
                catalog_dir = None
                if cfg.realism != "v1":
                    write_catalogs(con, staged_catalog, cfg.catalog.max_size_mb)
                    catalog_dir = staged_catalog
                # Workers load the catalogs while the driver fills the Faker pools.
                executor.warm(cfg, catalog_dir)
                pools = make_pools(cfg.seed, cfg.realism)
            job = ChunkJob(
                cfg,
                catalog_dir,
                staged,
                pools,
                _worker_upload(cfg, executor),
                chunks_to_fail(),
            )
            # The database file is built in staging while the chunks run; publication
            # adds the payments view once the run's files are final.
            with ThreadPoolExecutor(1) as background:
                tables = database_tables(cfg.realism)
                database = background.submit(
                    out.build_database, con, tables, staged.parent / DATABASE
                )
                with phase("chunks"):
                    stats = _generate(executor, cfg, job, specs, show_progress)
                database.result()
            stack.close()
            manifest = build_manifest(cfg, run_id, stats, catalog_dir)
            if manifest["fraud_rows"] != cfg.fraud_target or manifest["rows"] != cfg.rows:
                raise SqlgenError(
                    f"internal check failed: wrote {manifest['rows']} rows with "
                    f"{manifest['fraud_rows']} frauds, expected {cfg.rows} and {cfg.fraud_target}"
                )
            with phase("publish"):
                out.write_manifest(staged, manifest)
                _publish(out, run_id, manifest)
        finally:
            stack.close()  # workers stop before their staging directory goes
            con.close()
            out.discard(run_id)
        out.cleanup_after_publish()
    return stats, manifest


def _catalog_inputs(config: dict[str, Any]) -> tuple:
    return (config.get("realism"), config.get("seed"), config.get("catalog"))


def build_catalogs_only(cfg: GeneratorConfig) -> Path:
    """Build and publish the catalogs (Parquet + database tables) as a run of their own.

    A published payments run keeps the catalogs it was made with: if its catalogs are
    the ones asked for, there is nothing to do; if not, this refuses (replacing them
    would leave payments beside catalogs they do not belong to).
    """
    out = OutputDir(cfg.out_dir)
    with out.lock():
        out.sweep()
        if (out.payments / "_manifest.json").is_file():
            published = out.read_manifest()
            wanted = _catalog_inputs(cfg.model_dump(mode="json"))
            if _catalog_inputs(published["config"]) == wanted:
                log.info("the published run %s already has these catalogs", published["run_id"])
                return out.catalog
            raise SqlgenError(
                f"{out.root} holds payments run {published['run_id']} made with other "
                "catalogs (realism, seed or catalog settings differ); `sqlgen catalogs` "
                "would not match them: use `sqlgen run` or another --out-dir"
            )
        run_id = new_run_id(cfg)
        _, staged = out.stage(run_id)
        con = duckdb.connect()
        try:
            build_catalogs(con, cfg.catalog, cfg.seed, world=cfg.realism == "v3")
            write_catalogs(con, staged, cfg.catalog.max_size_mb)
            out.build_database(con, database_tables(cfg.realism), out.staged_run(run_id) / DATABASE)
            _publish(out, run_id, None)
        finally:
            con.close()
            out.discard(run_id)
        out.cleanup_after_publish()
    log.info("catalogs written to %s", out.catalog)
    return out.catalog
