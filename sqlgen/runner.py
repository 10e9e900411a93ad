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

from sqlgen import __version__, world_size
from sqlgen.config import GeneratorConfig
from sqlgen.errors import SqlgenError, UploadError
from sqlgen.execute.executor_api import make_executor
from sqlgen.execute.progress import Progress
from sqlgen.execute.tasks import ChunkJob, chunks_to_fail
from sqlgen.files import file_sha256
from sqlgen.generate.chunks import FileStat
from sqlgen.generate.plan import plan_chunks
from sqlgen.generate.profiles import profile_for
from sqlgen.publish.writer import DATABASE, OutputDir
from sqlgen.world.catalogs import build_catalogs, database_tables, write_catalogs
from sqlgen.world.pools import make_pools

log = logging.getLogger("sqlgen")


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
    catalogs = sorted(catalog_dir.rglob("*.parquet")) if catalog_dir is not None else []
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
            {
                "path": f"catalog/{p.relative_to(catalog_dir).as_posix()}",
                "bytes": p.stat().st_size,
                "sha256": file_sha256(p),
            }
            for p in catalogs
        ],
    }


def log_settings(cfg: GeneratorConfig) -> None:
    log.info(
        "sqlgen %s: rows=%s fraud_rate=%s (%s frauds) seed=%s workers=%s executor=%s "
        "batch_size=%s realism=%s out_dir=%s world=%s",
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
        world_line(cfg),
    )


def world_line(cfg: GeneratorConfig) -> str:
    """The catalog sizes, saying which were derived from rows and the period."""
    c = cfg.catalog
    text = (f"{c.num_cards:,} cards/{c.num_customers:,} customers/"
            f"{c.num_merchants:,} merchants")
    derived = [n.removeprefix("num_") for n in world_size.SIZE_FIELDS if n in c.derived]
    return f"{text} ({', '.join(derived)} derived from rows and the period)" if derived else text


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
    from sqlgen.publish.s3_commit import Delivery  # boto3 is imported only when uploading

    return Delivery(cfg.s3, run_id, with_catalogs=profile_for(cfg.realism).catalog_files).begin()


def _publish(out: OutputDir, run_id: str, manifest: dict | None) -> None:
    """Publish. A failure or interrupt before the journal (the commit point) leaves the
    previous run; after it, publication is rolled forward here, and the failure is only
    a warning, since exit 1 must mean that nothing was published. If rolling forward
    fails too, the journal is dropped when nothing visible moved yet (exit 1, nothing
    published); otherwise the next sqlgen command on the out_dir completes it. A run that
    publishes nothing removes its run directory and temporary journal."""
    try:
        out.publish(run_id, manifest)
    except BaseException as exc:
        if not out.committed(run_id):
            out.abandon(run_id)  # nothing of the failed run stays (a full disk frees)
            raise
        try:
            out.recover()
        except Exception as again:
            if out.abandon_if_untouched(run_id):
                out.abandon(run_id)
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


def _upload(out: OutputDir, manifest: dict, stats: list, delivery) -> None:
    """Commit the published run to S3; any failure or interrupt here is exit 2
    (published locally)."""
    where = f"run {manifest['run_id']} published locally at {out.root}"
    try:
        delivery.finish(manifest, stats, out.payments, out.catalog)
    except UploadError as exc:
        raise UploadError(f"{exc} ({where})") from exc
    except KeyboardInterrupt:
        raise UploadError(f"{where}; upload interrupted") from None
    except Exception as exc:
        raise UploadError(f"{where}; upload failed: {type(exc).__name__}: {exc}") from exc


def run(cfg: GeneratorConfig, *, show_progress: bool = True) -> RunResult:
    """Generate, stage and publish one run into `cfg.out_dir`, then commit it to S3 if
    asked. With an executor whose workers upload (Dask) and S3 delivery, workers need
    no shared disk and nothing is published locally: the run lives in S3 only."""
    out = OutputDir(cfg.out_dir)
    phase = Phases()
    check_s3_reachable(cfg)
    run_id = new_run_id(cfg)
    try:
        stats, manifest, delivery, remote = _generate_and_publish(
            cfg, out, run_id, phase, show_progress
        )
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
    if remote:
        log.info(
            "committed %s rows (%s frauds) in %d files to S3 (nothing published locally)",
            f"{manifest['rows']:,}",
            f"{manifest['fraud_rows']:,}",
            len(manifest["files"]),
        )
    else:
        log.info(
            "published %s rows (%s frauds) in %d files to %s",
            f"{manifest['rows']:,}",
            f"{manifest['fraud_rows']:,}",
            len(manifest["files"]),
            out.payments,
        )
        if delivery is not None:
            with phase("upload"):
                _upload(out, manifest, stats, delivery)
    log.info("timings: %s", json.dumps(phase.seconds))
    return RunResult(out.root, manifest, phase.seconds)


def _generate_and_publish(
    cfg: GeneratorConfig, out: OutputDir, run_id: str, phase: Phases, show_progress: bool
) -> tuple[list, dict[str, Any], Any, bool]:
    with out.lock(), contextlib.ExitStack() as stack:
        out.sweep()
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
                profile = profile_for(cfg.realism)
                build_catalogs(con, cfg.catalog, cfg.seed, world=profile.world)
                catalog_dir = None
                if profile.catalog_files:
                    write_catalogs(con, staged_catalog, cfg.catalog.max_size_mb, cfg.realism)
                    catalog_dir = staged_catalog
                # Workers load the catalogs while the driver fills the Faker pools.
                executor.warm(cfg, catalog_dir)
                pools = make_pools(cfg.seed, cfg.realism)
            if remote:
                from sqlgen.execute.remote import RemoteJob

                remote_job = RemoteJob(delivery.target)  # workers derive the catalogs
                job = ChunkJob(cfg, None, None, pools, chunks_to_fail(), remote_job)
            else:
                job = ChunkJob(cfg, catalog_dir, staged, pools, chunks_to_fail())
            # The database file is built in staging while the chunks run; publication
            # adds the payments view once the run's files are final.
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
                if database is not None:
                    database.result()
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
                    out.write_manifest(run_id, manifest)
                    _publish(out, run_id, manifest)
        except BaseException:
            if delivery is not None:
                if remote:
                    stack.close()  # no worker uploads any more
                delivery.abandon()  # removes what workers uploaded, and the run's marker
            raise
        finally:
            stack.close()  # workers stop before their staging directory goes
            con.close()
            out.discard(run_id)
        if not remote:
            try:
                out.cleanup_after_publish()
            except BaseException:
                if delivery is not None:
                    delivery.abandon()  # the upload will not start: drop the run's marker
                raise
    return stats, manifest, delivery, remote


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
        if out.manifest_file().is_file():
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
            build_catalogs(con, cfg.catalog, cfg.seed, world=profile_for(cfg.realism).world)
            write_catalogs(con, staged, cfg.catalog.max_size_mb, cfg.realism)
            out.build_database(con, database_tables(cfg.realism), out.staged_run(run_id) / DATABASE)
            _publish(out, run_id, None)
        finally:
            con.close()
            out.discard(run_id)
        out.cleanup_after_publish()
    log.info("catalogs written to %s", out.catalog)
    return out.catalog
