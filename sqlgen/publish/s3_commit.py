"""A run in S3 is a commit: run-unique objects, then the manifest, then `_SUCCESS`.

Under the raw bucket's `s3.prefix` one run at a time is committed:

The layout is the local one: under the prefix only the Hive tree and an empty
`_SUCCESS`, so any Hive reader opens the prefix as a directory; the manifest lives
beside it, at `.sqlgen/<prefix>manifest.json` (as locally in `.sqlgen/current/`).

1. `begin`, before the run writes any object: the prefix's `_SUCCESS` is deleted (it no
   longer vouches for what a listing shows), the run's in-flight marker is put (and kept
   fresh until the run ends, `s3_inflight`), the manifest's ETag is noted, and multipart
   uploads that runs no longer live left under the prefixes are aborted.
2. Data objects get run-unique names, `<prefix>year=YYYY/month=M/part-NNNNN-<run_id>.parquet`
   (v2/v3 catalogs: `<catalog_prefix><table>-<run_id>.parquet` in the artifacts bucket), written
   with `If-None-Match: *`, so no object of one run is ever overwritten by another. They
   are invisible to a reader of the manifest until the commit.
3. The manifest (every object's bucket, key, bytes, SHA-256, rows) is the commit
   record, written with `If-Match` on the ETag seen at `begin` (or `If-None-Match: *` on
   an empty prefix): of two runs racing on one prefix, only one commits; the other fails
   with exit 2 and removes its objects. `_SUCCESS` follows: empty, as Hadoop writes it
   (Polars refuses a non-empty non-Parquet file in a directory it scans), with the run
   id as its metadata `x-amz-meta-run-id`.
4. The sweep: objects under the prefixes with sqlgen's names that are not the manifest's
   are removed (and `<prefix>_manifest.json` of earlier versions), except those of live
   runs (their marker is fresh): whatever the run ids' order (a driver's clock may be
   slow), a plain listing shows exactly this run once no other run is in flight, and a
   run in flight never loses an object. Keys are listed before markers, and a marker is
   put before its run's first object and deleted only after the run's commit or
   rollback, so a run live at the listing is seen live; a run whose marker is gone by
   then has rolled back, or committed before this run (the manifest, read last, is
   still this run's). If another run has committed meanwhile, the sweep is left to it.
"""

from __future__ import annotations

import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlgen.config import S3Config
from sqlgen.errors import UploadError
from sqlgen.generate.chunks import FileStat
from sqlgen.publish.s3 import (
    AWS_ERRORS,
    abort_stale,
    bucket_from_ssm,
    clients,
    delete_keys,
    error_code,
    head_etag,
    list_keys,
    part_bytes,
    put_bytes,
    put_file,
    reason,
)
from sqlgen.publish.s3_inflight import Marker, marker_key, markers
from sqlgen.publish.writer import LEGACY_MANIFEST, MANIFEST, SUCCESS

log = logging.getLogger("sqlgen")

_RUN = r"\d{8}T\d{12}Z-[0-9a-f]{8}"  # runner.new_run_id: UTC time, then config hash
# sqlgen's names; the unsuffixed ones are from versions before run-unique names.
# `month=01` is the zero-padded name of earlier versions (still sqlgen's, still removed).
DATA_KEY = re.compile(
    rf"year=\d{{4}}/month=\d{{1,2}}/part-\d{{5}}(?:-(?P<run>{_RUN}))?\.parquet"
)
# v3's ground truth sits in `ground_truth/` beside the public catalogs, and its FX table
# beside them; a table over `catalog.max_size_mb` is a folder of parts (`catalog_files`).
CATALOG_KEY = re.compile(
    r"(?:ground_truth/)?(?:customers|merchants|cards|fx_rates)(?:/part-\d{5})?"
    rf"(?:-(?P<run>{_RUN}))?\.parquet"
)
UPLOAD_THREADS = 4


def _catalog_relpath(path: str) -> str:
    """A manifest's catalog path without its `catalog/` root (`ground_truth/cards.parquet`
    keeps its directory, so it never takes the public table's key)."""
    return path.removeprefix("catalog/")


def manifest_key(prefix: str) -> str:
    """Where the manifest of the run under `prefix` lives: beside it, not in it.

    >>> manifest_key("data/payments/")
    '.sqlgen/data/payments/manifest.json'
    """
    return f".sqlgen/{prefix}{MANIFEST}"


def run_unique(name: str, run_id: str) -> str:
    """`part-00000.parquet` -> `part-00000-<run_id>.parquet`."""
    stem, dot, ext = name.rpartition(".")
    return f"{stem}-{run_id}{dot}{ext}"


@dataclass(frozen=True)
class Target:
    """Where one run's data objects go; small and picklable, so Dask workers get it."""

    cfg: S3Config
    bucket: str
    run_id: str

    def key(self, relpath: str) -> str:
        return self.cfg.prefix + run_unique(relpath, self.run_id)

    def put(self, path: Path, relpath: str, sha256: str) -> str:
        """Upload one data file (driver or worker); returns its key."""
        _, s3 = clients(self.cfg)
        key = self.key(relpath)
        put_file(s3, self.bucket, key, path, sha256, part_bytes(self.cfg))
        return key


def _run_of(key: str, prefix: str, pattern: re.Pattern) -> re.Match | None:
    return pattern.fullmatch(key[len(prefix) :]) if key.startswith(prefix) else None


def _stale(keys: list[str], prefix: str, pattern: re.Pattern, keep: set[str], live: set[str]):
    """Keys to sweep: sqlgen's names under `prefix`, not kept, not of a live run (run ids
    are compared for equality only, never for order)."""
    for key in keys:
        m = _run_of(key, prefix, pattern)
        if m and key not in keep and (m["run"] is None or m["run"] not in live):
            yield key


class Delivery:
    """One run's commit to S3. `begin` never raises: an S3 failure is kept and raised by
    `finish`, after the local run is published (exit 2, local output kept)."""

    def __init__(self, cfg: S3Config, run_id: str, with_catalogs: bool):
        self.cfg = cfg
        self.run_id = run_id
        self.with_catalogs = with_catalogs
        self.error: UploadError | None = None
        self.raw = "?"  # the raw bucket, once read from SSM
        self.target: Target | None = None
        self.artifacts: str | None = None
        self.manifest_etag: str | None = None
        self.written: list[tuple[str, str]] = []  # (bucket, key) this run created
        self.committed = False  # the manifest is written: this run's objects stay
        self.marker: Marker | None = None  # this run's in-flight marker, once put

    def begin(self) -> Delivery:
        ssm, s3 = clients(self.cfg)
        try:
            self.raw = bucket_from_ssm(ssm, self.cfg.raw_bucket_param)
            if self.with_catalogs:
                self.artifacts = bucket_from_ssm(ssm, self.cfg.artifacts_bucket_param)
            self._begin(s3, self.raw)
        except UploadError as exc:
            self.error = exc
        except AWS_ERRORS as exc:
            self.error = UploadError(f"S3 delivery to {self.where} failed: {reason(exc)}")
        return self

    @property
    def where(self) -> str:
        return f"s3://{self.raw}/{self.cfg.prefix}"

    def _begin(self, s3: Any, raw: str) -> None:
        prefix = self.cfg.prefix
        # Withdraw first: from here until the commit a listing may mix runs.
        s3.delete_object(Bucket=raw, Key=prefix + SUCCESS)
        self.marker = Marker(s3, raw, prefix, self.run_id).claim()
        self.manifest_etag = head_etag(s3, raw, manifest_key(prefix))
        live, _ = markers(s3, raw, prefix)
        aborted = abort_stale(s3, raw, prefix, spare=self._spare(prefix, DATA_KEY, live))
        if self.artifacts is not None:
            cat = self.cfg.catalog_prefix
            aborted += abort_stale(
                s3, self.artifacts, cat, spare=self._spare(cat, CATALOG_KEY, live)
            )
        if aborted:
            log.info("aborted %d unfinished multipart uploads left by an earlier run", aborted)
        self.target = Target(self.cfg, raw, self.run_id)

    @staticmethod
    def _spare(prefix: str, pattern: re.Pattern, live: set[str]):
        """A predicate: is this key's upload a live run's (to be left alone)?"""

        def spare(key: str) -> bool:
            m = _run_of(key, prefix, pattern)
            return m is not None and m["run"] in live

        return spare

    def _release(self) -> None:
        if self.marker is not None:
            self.marker.release()
            self.marker = None

    def finish(
        self,
        manifest: dict[str, Any],
        stats: list[FileStat],
        payments_root: Path | None,
        catalog_dir: Path | None,
    ) -> int:
        """Upload what workers did not, commit the manifest, `_SUCCESS`, then remove
        earlier runs' objects. Returns the number of objects the run consists of."""
        try:
            return self._finish(manifest, stats, payments_root, catalog_dir)
        finally:
            self._release()

    def _finish(self, manifest, stats, payments_root, catalog_dir) -> int:
        stats = sorted(stats, key=lambda s: s.index)
        target = self.target
        if target is not None:
            tried = [s for s in stats if s.uploaded or s.upload_error]
            self.written += [(target.bucket, target.key(s.relpath)) for s in tried]
        try:
            if self.error is not None:
                raise self.error
            failed = [s.upload_error for s in stats if s.upload_error]
            if failed:
                raise UploadError(failed[0])
            self._upload(stats, payments_root, manifest, catalog_dir)
            self._commit_manifest(self._s3_manifest(manifest, stats))
        except UploadError:
            self._rollback()
            raise
        except AWS_ERRORS as exc:
            self._rollback()
            raise UploadError(f"S3 delivery to {self.where} failed: {reason(exc)}") from exc
        except BaseException:  # interrupted before the commit: nothing of it stays
            self._rollback()
            raise
        # Committed: from here on this run's objects stay, whatever fails.
        _, s3 = clients(self.cfg)
        try:
            put_bytes(
                s3, target.bucket, self.cfg.prefix + SUCCESS, b"", Metadata={"run-id": self.run_id}
            )
        except AWS_ERRORS as exc:
            raise UploadError(
                f"run {self.run_id} is committed, but writing {self.cfg.prefix}{SUCCESS} "
                f"failed: {reason(exc)}"
            ) from exc
        self._sweep({k for _, k in self.written})
        log.info(
            "committed run %s: %d objects under s3://%s/%s%s",
            self.run_id,
            len(self.written) + 2,
            target.bucket,
            self.cfg.prefix,
            f" and s3://{self.artifacts}/{self.cfg.catalog_prefix}" if self.artifacts else "",
        )
        return len(self.written) + 2

    def _upload(self, stats, payments_root, manifest, catalog_dir) -> None:
        raw, jobs = self.target.bucket, []
        for s in stats:
            if not s.uploaded:
                if payments_root is None:
                    raise UploadError(f"chunk {s.index} was neither uploaded nor kept locally")
                jobs.append((raw, self.target.key(s.relpath), payments_root / s.relpath, s.sha256))
        if self.artifacts is not None and catalog_dir is not None:
            for entry in manifest["catalog_files"]:
                name = _catalog_relpath(entry["path"])  # v3: ground_truth/<table> too
                key = self.cfg.catalog_prefix + run_unique(name, self.run_id)
                jobs.append((self.artifacts, key, catalog_dir / name, entry["sha256"]))
        # Recorded before the attempt: an object S3 stored but we then rejected (its
        # checksum differs) is this run's to remove too.
        self.written += [(bucket, key) for bucket, key, _, _ in jobs]
        _, s3 = clients(self.cfg)
        part = part_bytes(self.cfg)
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            for fut in [pool.submit(put_file, s3, *job, part) for job in jobs]:
                fut.result()

    def _s3_manifest(self, manifest: dict[str, Any], stats: list[FileStat]) -> bytes:
        """The local manifest plus where each file is in S3."""
        doc = dict(manifest)
        doc["s3"] = {"bucket": self.target.bucket, "prefix": self.cfg.prefix}
        doc["files"] = [
            {**entry, "bucket": self.target.bucket, "key": self.target.key(s.relpath)}
            for entry, s in zip(manifest["files"], stats, strict=True)
        ]
        doc["catalog_files"] = [
            {
                **entry,
                "bucket": self.artifacts,
                "key": self.cfg.catalog_prefix
                + run_unique(_catalog_relpath(entry["path"]), self.run_id),
            }
            for entry in (manifest["catalog_files"] if self.artifacts else [])
        ]
        return json.dumps(doc, indent=2, sort_keys=True).encode()

    def _commit_manifest(self, body: bytes) -> None:
        _, s3 = clients(self.cfg)
        bucket, prefix = self.target.bucket, self.cfg.prefix
        cond = {"IfMatch": self.manifest_etag} if self.manifest_etag else {"IfNoneMatch": "*"}
        # Until S3 answers, the manifest may be stored: keep the objects it lists.
        self.committed = True
        try:
            put_bytes(s3, bucket, manifest_key(prefix), body, **cond)
        except AWS_ERRORS as exc:
            if error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                if self._manifest_run(s3) == self.run_id:
                    return  # a retry of our own write that had landed
                self.committed = False
                raise UploadError(
                    f"another run committed to s3://{bucket}/{prefix} while this one ran; "
                    "this run's objects were removed"
                ) from exc
            raise

    def _manifest_run(self, s3: Any) -> str | None:
        """The run id of the manifest now under the prefix (None if unreadable)."""
        try:
            obj = s3.get_object(Bucket=self.target.bucket, Key=manifest_key(self.cfg.prefix))
            return json.loads(obj["Body"].read()).get("run_id")
        except (*AWS_ERRORS, ValueError):
            return None

    def abandon(self) -> None:
        """The run failed before its commit: remove what its workers uploaded, best
        effort (the next run's commit removes anything left), then its marker."""
        try:
            self._abandon()
        finally:
            self._release()

    def _abandon(self) -> None:
        if self.target is None or self.committed:
            return
        _, s3 = clients(self.cfg)
        try:
            keys = list_keys(s3, self.target.bucket, self.cfg.prefix)
            ours = [
                k
                for k in keys
                if (m := DATA_KEY.fullmatch(k[len(self.cfg.prefix) :])) and m["run"] == self.run_id
            ]
            delete_keys(s3, self.target.bucket, ours)
        except (UploadError, *AWS_ERRORS):
            log.warning("could not remove this run's objects from %s", self.where)

    def _rollback(self) -> None:
        """Remove the objects this run created, best effort (the next run sweeps them)."""
        if self.committed:
            return
        _, s3 = clients(self.cfg)
        for bucket in {b for b, _ in self.written}:
            try:
                delete_keys(s3, bucket, [k for b, k in self.written if b == bucket])
            except (UploadError, *AWS_ERRORS):
                log.warning("could not remove this run's objects from s3://%s", bucket)

    def _sweep(self, keep: set[str]) -> None:
        """Remove every sqlgen object under the prefixes but `keep` (this run's) and those
        of live runs; the order of the reads is what makes it safe (module docstring)."""
        _, s3 = clients(self.cfg)
        raw, prefix = self.target.bucket, self.cfg.prefix
        places = [(raw, prefix, DATA_KEY)]
        if self.artifacts is not None:
            places.append((self.artifacts, self.cfg.catalog_prefix, CATALOG_KEY))
        try:
            listed = [(b, p, pat, list_keys(s3, b, p)) for b, p, pat in places]
            live, expired = markers(s3, raw, prefix)
            live.discard(self.run_id)
            if self._manifest_run(s3) != self.run_id:
                log.info("a later run has committed to %s; its commit sweeps", self.where)
                return
            for bucket, under, pattern, keys in listed:
                stale = list(_stale(keys, under, pattern, keep, live))
                if bucket == raw and under + LEGACY_MANIFEST in keys:
                    stale.append(under + LEGACY_MANIFEST)  # an earlier version's manifest
                delete_keys(s3, bucket, stale)
            delete_keys(s3, raw, expired - {marker_key(prefix, self.run_id)})
        except AWS_ERRORS as exc:
            raise UploadError(
                f"run {self.run_id} is committed, but earlier runs' objects under "
                f"{self.where} could not be removed: {reason(exc)}"
            ) from exc
