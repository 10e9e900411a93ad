"""S3 rules on a real moto server (issue 25): a retried PUT answered PreconditionFailed
is accepted only when the stored object is ours; the run counts as committed from
before the manifest PUT, so an answer lost after the write landed never removes the
objects the stored manifest lists."""

from __future__ import annotations

import hashlib

import botocore.exceptions
import pytest

import sqlgen.publish.s3_commit
from sqlgen.config import S3Config
from sqlgen.errors import UploadError
from sqlgen.publish.s3 import put_file
from sqlgen.publish.s3_commit import Delivery, Target

RAW = "raw-bucket"
RUN = "20250101T000000Z-0123abcd"


def _file(tmp_path, data: bytes):
    path = tmp_path / "part.parquet"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_precondition_failed_is_accepted_only_for_our_own_object(aws, tmp_path):
    s3 = aws["s3"]
    s3.create_bucket(Bucket=RAW)
    path, sha = _file(tmp_path, b"our bytes")
    # A retry whose first attempt landed: the object there is ours, accepted.
    put_file(s3, RAW, "k/ours", path, sha, 1 << 20)
    put_file(s3, RAW, "k/ours", path, sha, 1 << 20)
    # Another object under the key: refused, and left as it was.
    s3.put_object(Bucket=RAW, Key="k/theirs", Body=b"someone else's bytes")
    with pytest.raises(UploadError, match="k/theirs"):
        put_file(s3, RAW, "k/theirs", path, sha, 1 << 20)
    body = s3.get_object(Bucket=RAW, Key="k/theirs")["Body"].read()
    assert body == b"someone else's bytes"


def test_a_lost_answer_to_the_landed_manifest_put_keeps_the_run(aws, monkeypatch):
    s3 = aws["s3"]
    s3.create_bucket(Bucket=RAW)
    cfg = S3Config(prefix="payments/")
    delivery = Delivery(cfg, RUN, with_catalogs=False)
    delivery.target = Target(cfg, RAW, RUN)
    data_key = delivery.target.key("year=2025/month=01/part-00000.parquet")
    s3.put_object(Bucket=RAW, Key=data_key, Body=b"data")
    delivery.written.append((RAW, data_key))
    real_put = sqlgen.publish.s3_commit.put_bytes
    seen = []

    def landed_then_lost(client, bucket, key, body, **cond):
        seen.append(delivery.committed)  # what a failure at this instant would see
        real_put(client, bucket, key, body, **cond)
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://lost")

    monkeypatch.setattr(sqlgen.publish.s3_commit, "put_bytes", landed_then_lost)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        delivery._commit_manifest(b'{"run_id": "%s"}' % RUN.encode())
    assert seen == [True]  # committed before the PUT is sent
    assert delivery.committed
    delivery._rollback()
    delivery.abandon()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=RAW)["Contents"]}
    assert keys == {data_key, ".sqlgen/payments/manifest.json"}


def test_abandon_keeps_a_committed_runs_objects_and_needs_no_target(aws):
    s3 = aws["s3"]
    s3.create_bucket(Bucket=RAW)
    cfg = S3Config(prefix="payments/")
    run = "20250101T000000000000Z-0123abcd"  # runner.new_run_id's form
    # Before `begin` got a target (SSM failed): nothing to remove, no error.
    Delivery(cfg, run, with_catalogs=False).abandon()
    delivery = Delivery(cfg, run, with_catalogs=False)
    delivery.target = Target(cfg, RAW, run)
    key = delivery.target.key("year=2025/month=01/part-00000.parquet")
    s3.put_object(Bucket=RAW, Key=key, Body=b"data")
    delivery.committed = True  # the manifest listing it may be stored: it stays
    delivery.abandon()
    assert s3.get_object(Bucket=RAW, Key=key)["Body"].read() == b"data"
    delivery.committed = False  # not committed: this run's objects go
    delivery.abandon()
    assert s3.list_objects_v2(Bucket=RAW).get("KeyCount", 0) == 0
