"""Delivery of a published run to S3: payments to the raw bucket, catalogs to artifacts.

Bucket names come from SSM parameters. The standard AWS environment applies (credential
chain, AWS_PROFILE, region, AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS). Data files go first,
then the manifest, then `_SUCCESS`, so a consumer that waits for `_SUCCESS` never sees
a partial run. Every AWS failure becomes an `UploadError` (exit code 2).
"""

from __future__ import annotations

import base64
import functools
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig

from sqlgen.config import S3Config
from sqlgen.errors import UploadError
from sqlgen.writer import MANIFEST, SUCCESS, OutputDir

log = logging.getLogger("sqlgen")

AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, Boto3Error)
_TRANSFER = TransferConfig(
    multipart_threshold=64 * 2**20, multipart_chunksize=16 * 2**20, max_concurrency=8
)
_CHECKSUM = {"ChecksumAlgorithm": "SHA256"}


@functools.cache
def _clients(cfg: S3Config) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name=cfg.region)
    retries: dict[str, Any] = {"mode": os.environ.get("AWS_RETRY_MODE", "standard")}
    config = botocore.config.Config(retries=retries, max_pool_connections=16)
    kwargs = {"config": config}
    if cfg.endpoint_url:
        kwargs["endpoint_url"] = cfg.endpoint_url
    return session.client("ssm", **kwargs), session.client("s3", **kwargs)


def bucket_from_ssm(ssm: Any, parameter: str) -> str:
    try:
        return ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except AWS_ERRORS as exc:
        raise UploadError(f"cannot read SSM parameter '{parameter}': {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip()
    return str(exc).splitlines()[0]


def _put(s3: Any, bucket: str, path: Path, key: str, sha256_hex: str | None) -> None:
    try:
        s3.upload_file(str(path), bucket, key, ExtraArgs=_CHECKSUM, Config=_TRANSFER)
        if sha256_hex is not None:
            head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            remote = head.get("ChecksumSHA256", "")
            local = base64.b64encode(bytes.fromhex(sha256_hex)).decode()
            # Multipart objects carry a checksum of part checksums ("…-N"); S3 has
            # checked every part, so only whole-object checksums are compared here.
            if "-" not in remote and remote and remote != local:
                raise UploadError(f"s3://{bucket}/{key}: SHA-256 mismatch after upload")
            if head["ContentLength"] != path.stat().st_size:
                raise UploadError(f"s3://{bucket}/{key}: size mismatch after upload")
    except AWS_ERRORS as exc:
        raise UploadError(
            f"S3 upload to bucket '{bucket}' failed for {key}: {_reason(exc)}"
        ) from exc


def raw_bucket(cfg: S3Config) -> str:
    ssm, _ = _clients(cfg)
    return bucket_from_ssm(ssm, cfg.raw_bucket_param)


def put_run_file(cfg: S3Config, bucket: str, payments_root: Path, stat: Any) -> None:
    """Upload one payments file (a worker does this for its own chunk)."""
    _, s3 = _clients(cfg)
    _put(s3, bucket, payments_root / stat.relpath, f"payments/{stat.relpath}", stat.sha256)


def upload_run(
    out: OutputDir,
    manifest: dict[str, Any],
    cfg: S3Config,
    with_catalogs: bool,
    already: frozenset[str] = frozenset(),
) -> int:
    """Upload the published run (skipping files in `already`); return objects written."""
    ssm, s3 = _clients(cfg)
    raw = bucket_from_ssm(ssm, cfg.raw_bucket_param)
    artifacts = bucket_from_ssm(ssm, cfg.artifacts_bucket_param) if with_catalogs else None
    jobs = [
        (raw, out.root / f["path"], f["path"], f["sha256"])
        for f in manifest["files"]
        if f["path"] not in already
    ]
    if artifacts is not None:
        jobs += [
            (artifacts, p, f"catalogues/{p.relative_to(out.catalog).as_posix()}", None)
            for p in sorted(out.catalog.rglob("*.parquet"))
        ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for fut in [pool.submit(_put, s3, *job) for job in jobs]:
            fut.result()
    _put(s3, raw, out.payments / MANIFEST, f"payments/{MANIFEST}", None)
    _put(s3, raw, out.payments / SUCCESS, f"payments/{SUCCESS}", None)
    total = len(jobs) + len(already) + 2
    log.info(
        "uploaded %d objects to s3://%s%s",
        total,
        raw,
        f" and s3://{artifacts}/catalogues/" if artifacts else "",
    )
    return total
