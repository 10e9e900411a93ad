"""S3 transport: clients, bucket names from SSM, and verified object writes.

Every object sqlgen writes goes through `put_file` or `put_bytes`. A file up to the part
size is one PutObject; a larger one is a multipart upload in parts of that size, aborted
on any failure so no parts are left behind. S3 is sent the SHA-256 of what it must store
(it refuses a body that does not match) and the SHA-256 it returns (of the object, or for
multipart the composite of the parts' SHA-256) is compared with the local one. The
standard AWS environment applies (credential chain, AWS_PROFILE, region,
AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS). Every AWS failure becomes an `UploadError` (exit 2).
The commit protocol built on these writes lives in `s3_commit`.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
from boto3.exceptions import Boto3Error

from sqlgen.config import S3Config
from sqlgen.errors import UploadError

AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, Boto3Error)
MiB = 2**20
# Tests and drills: part size in bytes (below S3's 5 MiB minimum only a test server
# accepts), and a part number whose upload fails as a dropped connection would.
PART_BYTES_ENV = "SQLGEN_S3_PART_BYTES"
FAIL_PART_ENV = "SQLGEN_FAIL_UPLOAD_PART"


@functools.cache
def clients(cfg: S3Config) -> tuple[Any, Any]:
    """(ssm, s3) clients for this process, made once per config."""
    session = boto3.session.Session(region_name=cfg.region)
    retries: dict[str, Any] = {"mode": os.environ.get("AWS_RETRY_MODE", "standard")}
    config = botocore.config.Config(retries=retries, max_pool_connections=16)
    kwargs: dict[str, Any] = {"config": config}
    if cfg.endpoint_url:
        kwargs["endpoint_url"] = cfg.endpoint_url
    return session.client("ssm", **kwargs), session.client("s3", **kwargs)


def part_bytes(cfg: S3Config) -> int:
    return int(os.environ.get(PART_BYTES_ENV) or cfg.multipart_mb * MiB)


def bucket_from_ssm(ssm: Any, parameter: str) -> str:
    try:
        return ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except AWS_ERRORS as exc:
        raise UploadError(f"cannot read SSM parameter '{parameter}': {reason(exc)}") from exc


def reason(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip()
    return str(exc).splitlines()[0]


def error_code(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _check(bucket: str, key: str, returned: str | None, expected: str) -> None:
    """S3's SHA-256 of what it stored must be ours (a missing one is a failure too)."""
    if returned != expected:
        raise UploadError(
            f"s3://{bucket}/{key}: SHA-256 returned by S3 ({returned}) differs from the "
            f"local file's ({expected})"
        )


def _check_local(path: Path, actual: bytes, sha256_hex: str) -> None:
    """The bytes about to be sent are the file as written (not changed on disk since)."""
    if actual != bytes.fromhex(sha256_hex):
        raise UploadError(f"{path}: changed on disk since it was written (SHA-256 differs)")


def put_bytes(s3: Any, bucket: str, key: str, body: bytes, **conditions: Any) -> str:
    """PutObject with a verified SHA-256; `conditions` are IfMatch / IfNoneMatch (and
    Metadata).
    Returns the new object's ETag."""
    expected = b64(hashlib.sha256(body).digest())
    resp = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=expected,
        **conditions,
    )
    _check(bucket, key, resp.get("ChecksumSHA256"), expected)
    return resp["ETag"]


def put_file(s3: Any, bucket: str, key: str, path: Path, sha256_hex: str, part: int) -> None:
    """Upload a new object (it must not exist) from `path`, whose SHA-256 the caller
    computed when it wrote the file; S3's checksum is compared with that one."""
    try:
        if path.stat().st_size <= part:
            body = path.read_bytes()
            _check_local(path, hashlib.sha256(body).digest(), sha256_hex)
            try:
                put_bytes(s3, bucket, key, body, IfNoneMatch="*")
            except botocore.exceptions.ClientError as exc:
                # A retried PUT whose first attempt landed finds its own object.
                if error_code(exc) != "PreconditionFailed":
                    raise
                head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
                if head.get("ChecksumSHA256") != b64(bytes.fromhex(sha256_hex)):
                    raise
        else:
            _put_multipart(s3, bucket, key, path, sha256_hex, part)
    except AWS_ERRORS as exc:
        raise UploadError(
            f"S3 upload to bucket '{bucket}' failed for {key}: {reason(exc)}"
        ) from exc


def _fail_part() -> int:
    return int(os.environ.get(FAIL_PART_ENV) or 0)


def _put_multipart(s3: Any, bucket: str, key: str, path: Path, sha256_hex: str, part: int) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    upload_id = upload["UploadId"]
    try:
        parts, digests, whole = [], [], hashlib.sha256()
        with open(path, "rb") as fh:
            while body := fh.read(part):
                number = len(parts) + 1
                if number == _fail_part():
                    raise botocore.exceptions.ConnectionClosedError(endpoint_url=f"part {number}")
                digest = hashlib.sha256(body).digest()
                whole.update(body)
                resp = s3.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=b64(digest),
                )
                _check(bucket, f"{key} part {number}", resp.get("ChecksumSHA256"), b64(digest))
                parts.append(
                    {"ETag": resp["ETag"], "PartNumber": number, "ChecksumSHA256": b64(digest)}
                )
                digests.append(digest)
        _check_local(path, whole.digest(), sha256_hex)
        resp = s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            IfNoneMatch="*",
        )
        # A multipart object's SHA-256 is the composite: SHA-256 of the parts' digests.
        composite = b64(hashlib.sha256(b"".join(digests)).digest())
        returned = resp.get("ChecksumSHA256")
        if returned is None:
            head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            returned = head.get("ChecksumSHA256")
        returned_b64, _, count = (returned or "").partition("-")
        if count and int(count) != len(parts):
            returned_b64 = f"{returned} (of {count} parts, sent {len(parts)})"
        _check(bucket, key, returned_b64 or None, composite)
    except BaseException:
        abort(s3, bucket, key, upload_id)
        raise


def abort(s3: Any, bucket: str, key: str, upload_id: str) -> None:
    """Abort a multipart upload, best effort (the next run's `abort_stale` retries)."""
    with contextlib.suppress(*AWS_ERRORS):
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


def abort_stale(
    s3: Any, bucket: str, prefix: str, spare: Callable[[str], bool] = lambda key: False
) -> int:
    """Abort every unfinished multipart upload under `prefix` (left by a killed run)
    but those whose key `spare` says belong to a run still writing."""
    aborted = 0
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        for up in page.get("Uploads", []):
            if spare(up["Key"]):
                continue
            s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
            aborted += 1
    return aborted


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def delete_keys(s3: Any, bucket: str, keys: Iterable[str]) -> None:
    keys = list(keys)
    for start in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[start : start + 1000]]
        resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if resp.get("Errors"):
            err = resp["Errors"][0]
            raise UploadError(f"cannot delete s3://{bucket}/{err['Key']}: {err.get('Code')}")


def head_etag(s3: Any, bucket: str, key: str) -> str | None:
    """The object's ETag, or None when there is no such object."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)["ETag"]
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
