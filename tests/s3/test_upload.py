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
DEFAULT = "v3"  # the default realism, named: configs/tiny.yaml may set another
# Realism levels whose delivery differs: v3 adds the catalogs' ground truth.
LEVELS = pytest.mark.parametrize("realism", [DEFAULT, "v2"])
TABLES = ("customers", "merchants", "cards")


def catalog_keys(run_id: str, realism: str, prefix: str = "catalogues/") -> set[str]:
    """The catalog objects a run of `realism` commits."""
    keys = {f"{prefix}{t}-{run_id}.parquet" for t in TABLES}
    if realism == "v3":
        keys |= {f"{prefix}ground_truth/{t}-{run_id}.parquet" for t in TABLES}
        keys.add(f"{prefix}fx_rates-{run_id}.parquet")  # the FX table ships with them
    return keys


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
    body = aws["s3"].get_object(Bucket=bucket, Key=f".sqlgen/{prefix}manifest.json")["Body"]
    return json.loads(body.read())


def success_run_id(aws, bucket="raw-bucket", prefix="payments/") -> str:
    """`_SUCCESS` is empty (as Hadoop writes it); the run id is its metadata."""
    head = aws["s3"].head_object(Bucket=bucket, Key=f"{prefix}_SUCCESS")
    assert head["ContentLength"] == 0
    return head["Metadata"]["run-id"]


@LEVELS
def test_upload_keys_and_bytes_match_local_files(aws, tmp_path, realism):
    setup_buckets(aws)
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--s3", "--realism", realism)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
    run_id = manifest["run_id"]
    remote = s3_manifest(aws)
    raw = keys(aws, "raw-bucket")
    data_keys = {f["path"].replace(".parquet", f"-{run_id}.parquet") for f in manifest["files"]}
    # Under the prefix only the Hive tree and an empty _SUCCESS; the manifest beside it.
    assert set(raw) == data_keys | {".sqlgen/payments/manifest.json", "payments/_SUCCESS"}
    assert raw["payments/_SUCCESS"] == b"" and success_run_id(aws) == run_id
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
        re.fullmatch(r"payments/year=\d{4}/month=[1-9]\d?/part-\d{5}-.+\.parquet", k)
        for k in data_keys
    )
    catalogues = keys(aws, "artifacts-bucket")
    assert set(catalogues) == catalog_keys(run_id, realism)
    assert {e["key"] for e in remote["catalog_files"]} == set(catalogues)
    for key, body in catalogues.items():
        local = key.removeprefix("catalogues/").replace(f"-{run_id}", "")
        assert body == (out / "catalog" / local).read_bytes(), key
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
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--s3", "--realism", DEFAULT, env=env)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and expected in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert_local_valid(out)


@pytest.mark.slow
@LEVELS
def test_dask_workers_upload_their_own_files(aws, tmp_path, realism):
    setup_buckets(aws)
    out = tmp_path / "out"
    local = tmp_path / "local"
    assert sqlgen("run", "--config", TINY, "--out-dir", local, "--realism", realism).returncode == 0
    proc = sqlgen(
        "run",
        "--config",
        TINY,
        "--realism",
        realism,
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
        ".sqlgen/payments/manifest.json",
        "payments/_SUCCESS",
    }
    # Byte for byte what a local run writes, catalogs (v3: their ground truth) included.
    for entry in remote["files"]:
        assert raw[entry["key"]] == (local / entry["path"]).read_bytes(), entry["key"]
    catalogues = keys(aws, "artifacts-bucket")
    assert set(catalogues) == catalog_keys(remote["run_id"], realism)
    for entry in remote["catalog_files"]:
        assert catalogues[entry["key"]] == (local / entry["path"]).read_bytes(), entry["key"]


@pytest.mark.slow
@LEVELS
def test_dask_run_that_fails_removes_its_objects_and_keeps_the_commit(aws, tmp_path, realism):
    import os

    setup_buckets(aws)
    first = sqlgen(
        "run", "--config", TINY, "--out-dir", tmp_path / "a", "--s3", "--realism", realism
    )
    assert first.returncode == 0, first.stderr
    before = keys(aws, "raw-bucket")
    env = dict(os.environ, SQLGEN_FAIL_CHUNKS="4")
    proc = sqlgen(
        "run", "--config", TINY, "--out-dir", tmp_path / "b", "--s3", "--seed", "3",
        "--realism", realism, "--executor", "dask", "--num-workers", "2", "--no-progress",
        env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "chunk 4 failed" in proc.stderr
    after = keys(aws, "raw-bucket")
    # Only the old _SUCCESS is gone: the committed run stays whole, nothing of the new one
    # (its in-flight marker went with it).
    assert after == {k: v for k, v in before.items() if k != "payments/_SUCCESS"}


def test_v3_ground_truth_is_delivered_apart(aws, tmp_path):
    """v3 catalogs go with their ground truth, each under its own key."""
    setup_buckets(aws)
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--s3", "--realism", "v3")
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())["run_id"]
    catalogues = keys(aws, "artifacts-bucket")
    tables = ("customers", "merchants", "cards")
    assert set(catalogues) == {f"catalogues/{t}-{run_id}.parquet" for t in tables} | {
        f"catalogues/ground_truth/{t}-{run_id}.parquet" for t in tables
    } | {f"catalogues/fx_rates-{run_id}.parquet"}  # the FX table ships with them (v3)
    for key, body in catalogues.items():
        local = key.removeprefix("catalogues/").replace(f"-{run_id}", "")
        assert body == (out / "catalog" / local).read_bytes(), key


def test_schema_location_is_the_runs_s3_prefix(aws, tmp_path):
    """`sqlgen schema --s3` gives the table the prefix `sqlgen run --s3` writes to (the
    bucket from the same SSM parameter), for Athena and Spark alike."""
    setup_buckets(aws)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(TINY.read_text() + "\ns3:\n  prefix: datasets/tiny/\n")
    for fmt in ("athena", "spark"):
        proc = sqlgen("schema", "payments", "--format", fmt, "--s3", "--config", cfg)
        assert proc.returncode == 0, proc.stderr
        assert "LOCATION 's3://raw-bucket/datasets/tiny/';" in proc.stdout
    proc = sqlgen("schema", "cards", "--format", "athena", "--s3")
    assert proc.returncode == 1 and "--location" in proc.stderr


def test_the_s3_prefix_opens_as_a_hive_directory(aws, tmp_path):
    """Readers that list the prefix meet only the Hive tree and an empty `_SUCCESS`:
    pyarrow and Polars open it by its name, months compare as numbers."""
    import polars as pl
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    setup_buckets(aws)
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--s3", "--realism", "v3")
    assert proc.returncode == 0, proc.stderr
    remote = s3_manifest(aws)
    january = sum(f["rows"] for f in remote["files"] if "/month=1/" in f["key"])
    assert 0 < january < remote["rows"]
    s3fs = pafs.S3FileSystem(endpoint_override=aws["url"], region="us-east-1", scheme="http")
    dataset = ds.dataset("raw-bucket/payments", filesystem=s3fs, partitioning="hive")
    assert dataset.count_rows(filter=ds.field("month") < 2) == january
    options = {"aws_endpoint_url": aws["url"], "aws_allow_http": "true", "aws_region": "us-east-1"}
    lazy = pl.scan_parquet(
        "s3://raw-bucket/payments/", hive_partitioning=True, storage_options=options
    )
    assert lazy.filter(pl.col("month") < 2).select(pl.len()).collect().item() == january
    assert lazy.select(pl.len()).collect().item() == remote["rows"]
