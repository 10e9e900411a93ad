from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "tiny.yaml"


def sqlgen(*args, env=None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "sqlgen"
    return subprocess.run(
        [str(exe), *map(str, args)], capture_output=True, text=True, timeout=300, env=env
    )


def setup_buckets(aws, raw="raw-bucket", artifacts="artifacts-bucket", create=True):
    aws["ssm"].put_parameter(Name="/fraud/raw_bucket_name", Value=raw, Type="String")
    aws["ssm"].put_parameter(Name="/fraud/artifacts_bucket_name", Value=artifacts, Type="String")
    if create:
        aws["s3"].create_bucket(Bucket=raw)
        aws["s3"].create_bucket(Bucket=artifacts)


def keys(aws, bucket) -> dict[str, bytes]:
    s3 = aws["s3"]
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def assert_local_valid(out: Path):
    proc = sqlgen("validate", "--out-dir", out)
    assert proc.returncode == 0, proc.stderr


def s3_manifest(aws, bucket="raw-bucket", prefix="payments/") -> dict:
    body = aws["s3"].get_object(Bucket=bucket, Key=f"{prefix}_manifest.json")["Body"].read()
    return json.loads(body)


def test_upload_keys_and_bytes_match_local_files(aws, tmp_path):
    setup_buckets(aws)
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--s3")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "payments" / "_manifest.json").read_text())
    run_id = manifest["run_id"]
    remote = s3_manifest(aws)
    raw = keys(aws, "raw-bucket")
    data_keys = {f["path"].replace(".parquet", f"-{run_id}.parquet") for f in manifest["files"]}
    assert set(raw) == data_keys | {"payments/_manifest.json", "payments/_SUCCESS"}
    assert raw["payments/_SUCCESS"] == run_id.encode()
    # The S3 manifest is the local one plus each file's bucket and key.
    assert remote["run_id"] == run_id and remote["rows"] == manifest["rows"]
    assert [(f["key"], f["sha256"]) for f in remote["files"]] == [
        (f["path"].replace(".parquet", f"-{run_id}.parquet"), f["sha256"])
        for f in manifest["files"]
    ]
    for entry in remote["files"]:
        assert entry["bucket"] == "raw-bucket"
        assert raw[entry["key"]] == (out / entry["path"]).read_bytes(), entry["key"]
        assert hashlib.sha256(raw[entry["key"]]).hexdigest() == entry["sha256"]
    assert all(
        re.fullmatch(r"payments/year=\d{4}/month=\d\d/part-\d{5}-.+\.parquet", k) for k in data_keys
    )
    catalogues = keys(aws, "artifacts-bucket")
    assert set(catalogues) == {
        f"catalogues/{t}-{run_id}.parquet" for t in ("customers", "merchants", "cards")
    }
    assert {e["key"] for e in remote["catalog_files"]} == set(catalogues)
    for key, body in catalogues.items():
        local = key.split("/")[1].replace(f"-{run_id}", "")
        assert body == (out / "catalog" / local).read_bytes()
    head = aws["s3"].head_object(
        Bucket="raw-bucket", Key=remote["files"][0]["key"], ChecksumMode="ENABLED"
    )
    assert (
        head["ChecksumSHA256"]
        == base64.b64encode(bytes.fromhex(remote["files"][0]["sha256"])).decode()
    )


def test_v1_uploads_no_catalogues(aws, tmp_path):
    setup_buckets(aws)
    proc = sqlgen("run", "--config", TINY, "--out-dir", tmp_path / "o", "--s3", "--realism", "v1")
    assert proc.returncode == 0, proc.stderr
    assert keys(aws, "artifacts-bucket") == {}
    assert "payments/_SUCCESS" in keys(aws, "raw-bucket")


@pytest.mark.parametrize("case", ["missing_bucket", "missing_parameter", "unreachable"])
def test_aws_failures_exit_2_and_keep_local_output(aws, tmp_path, case):
    import os

    env = dict(os.environ)
    if case == "missing_bucket":
        setup_buckets(aws, create=False)
        expected = "raw-bucket"
    elif case == "missing_parameter":
        expected = "/fraud/raw_bucket_name"
    else:
        from tests.s3.conftest import free_port

        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
        env["AWS_MAX_ATTEMPTS"] = "1"
        expected = "/fraud/raw_bucket_name"
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--s3", env=env)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and expected in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert_local_valid(out)


@pytest.mark.slow
def test_dask_workers_upload_their_own_files(aws, tmp_path):
    setup_buckets(aws)
    out = tmp_path / "out"
    proc = sqlgen(
        "run",
        "--config",
        TINY,
        "--out-dir",
        out,
        "--s3",
        "--executor",
        "dask",
        "--num-workers",
        "2",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    # Workers wrote into their own scratch: nothing was published locally.
    assert not (out / "payments").exists()
    remote = s3_manifest(aws)
    raw = keys(aws, "raw-bucket")
    assert set(raw) == {f["key"] for f in remote["files"]} | {
        "payments/_manifest.json",
        "payments/_SUCCESS",
    }
    for entry in remote["files"]:
        assert hashlib.sha256(raw[entry["key"]]).hexdigest() == entry["sha256"]
    assert len(keys(aws, "artifacts-bucket")) == 3


@pytest.mark.slow
def test_dask_run_that_fails_removes_its_objects_and_keeps_the_commit(aws, tmp_path):
    import os

    setup_buckets(aws)
    assert sqlgen("run", "--config", TINY, "--out-dir", tmp_path / "a", "--s3").returncode == 0
    before = keys(aws, "raw-bucket")
    env = dict(os.environ, SQLGEN_FAIL_CHUNKS="4")
    proc = sqlgen(
        "run", "--config", TINY, "--out-dir", tmp_path / "b", "--s3", "--seed", "3",
        "--executor", "dask", "--num-workers", "2", "--no-progress", env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "chunk 4 failed" in proc.stderr
    after = keys(aws, "raw-bucket")
    # Only the old _SUCCESS is gone: the committed run stays whole, nothing of the new one.
    assert after == {k: v for k, v in before.items() if k != "payments/_SUCCESS"}


def test_v3_ground_truth_is_delivered_apart(aws, tmp_path):
    """v3 catalogs go with their ground truth, each under its own key."""
    setup_buckets(aws)
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--s3", "--realism", "v3")
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads((out / "payments" / "_manifest.json").read_text())["run_id"]
    catalogues = keys(aws, "artifacts-bucket")
    tables = ("customers", "merchants", "cards")
    assert set(catalogues) == {f"catalogues/{t}-{run_id}.parquet" for t in tables} | {
        f"catalogues/ground_truth/{t}-{run_id}.parquet" for t in tables
    } | {f"catalogues/fx_rates-{run_id}.parquet"}  # the FX table ships with them (v3)
    for key, body in catalogues.items():
        local = key.removeprefix("catalogues/").replace(f"-{run_id}", "")
        assert body == (out / "catalog" / local).read_bytes(), key
