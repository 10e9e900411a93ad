"""A run in S3 is a commit: write order, checksums, reruns, failures, prefixes, multipart.

The CLI runs in a subprocess and talks HTTP to moto through a recording proxy
(`tests/s3/proxy.py`), which sees the order in which the server accepted each write and
can return a wrong SHA-256 for chosen keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from tests.s3.test_upload import (
    TINY,
    assert_local_valid,
    keys,
    s3_manifest,
    setup_buckets,
    sqlgen,
    success_run_id,
)

RAW = "raw-bucket"


def run(out, *extra):
    return sqlgen("run", "--config", TINY, "--out-dir", out, "--s3", "--no-progress", *extra)


def listing(aws, bucket=RAW, prefix="") -> set[str]:
    pages = aws["s3"].get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def assert_one_committed_run(aws, prefix="payments/", foreign=frozenset()):
    """The listing under `prefix` (but `foreign` keys) is exactly the manifest's run,
    every object intact."""
    remote = s3_manifest(aws, prefix=prefix)
    raw = keys(aws, RAW)
    ours = {k: v for k, v in raw.items() if k.startswith(prefix) and k not in foreign}
    assert set(ours) == {f["key"] for f in remote["files"]} | {f"{prefix}_SUCCESS"}
    assert success_run_id(aws, prefix=prefix) == remote["run_id"]
    for entry in remote["files"]:
        assert hashlib.sha256(ours[entry["key"]]).hexdigest() == entry["sha256"], entry["key"]
    assert sum(f["rows"] for f in remote["files"]) == remote["rows"]
    return remote


def test_writes_in_order_withdraw_data_manifest_success_sweep(aws, proxy, tmp_path):
    setup_buckets(aws)
    assert run(tmp_path / "a").returncode == 0
    first = s3_manifest(aws)
    proxy.requests.clear()
    proc = run(tmp_path / "b", "--seed", "8")
    assert proc.returncode == 0, proc.stderr
    remote = assert_one_committed_run(aws)
    writes = proxy.writes(RAW)
    ops = [(m, k) for m, k, _ in writes]
    success_deletes = [i for i, op in enumerate(ops) if op == ("DELETE", "payments/_SUCCESS")]
    data = [i for i, (m, k) in enumerate(ops) if m == "PUT" and k.endswith(".parquet")]
    manifest = ops.index(("PUT", ".sqlgen/payments/manifest.json"))
    success = ops.index(("PUT", "payments/_SUCCESS"))
    old_removed = [i for i, (m, k, q) in enumerate(writes) if m == "POST" and "delete" in q]
    assert len(data) == len(remote["files"])
    # The old _SUCCESS goes before anything is written; the data, then the manifest,
    # then _SUCCESS; the first run's objects are removed after the commit.
    assert success_deletes[0] < min(data)
    assert max(data) < manifest < success
    assert old_removed and min(old_removed) > success
    assert not {f["key"] for f in first["files"]} & listing(aws)


def test_sha256_returned_by_s3_is_compared(aws, proxy, tmp_path):
    setup_buckets(aws)
    proxy.tamper.add("/part-00002-")
    out = tmp_path / "out"
    proc = run(out)
    assert proc.returncode == 2, proc.stderr
    assert "SHA-256 returned by S3" in proc.stderr and "part-00002-" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert_local_valid(out)
    # Nothing committed, and the run removed what it had written.
    assert listing(aws) == set()


@pytest.mark.parametrize(
    "where",
    [
        pytest.param({"PUT"}, id="part"),  # the SHA-256 returned for an uploaded part
        pytest.param({"POST", "HEAD"}, id="composite"),  # the completed object's
    ],
)
def test_multipart_sha256_returned_by_s3_is_compared(aws, proxy, small_parts, tmp_path, where):
    setup_buckets(aws)
    proxy.tamper.add("/part-00001-")
    proxy.tamper_methods = where
    proc = run(tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    assert "SHA-256 returned by S3" in proc.stderr and "part-00001-" in proc.stderr
    assert listing(aws) == set()
    assert aws["s3"].list_multipart_uploads(Bucket=RAW).get("Uploads", []) == []


def test_lost_answers_to_landed_writes_are_retried_and_recognised(aws, proxy, tmp_path):
    """A retried conditional write finds its own object (data: same SHA-256; manifest:
    this run's id) and goes on, instead of failing or removing a committed run."""
    setup_buckets(aws)
    assert run(tmp_path / "a").returncode == 0
    proxy.lose_answer |= {"/part-00001-", "/manifest.json"}
    proc = run(tmp_path / "b", "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    assert not proxy.lose_answer  # both answers were lost, both writes retried
    remote = assert_one_committed_run(aws)
    assert remote["seed"] == 5


def test_rerun_with_fewer_files_leaves_exactly_one_run(aws, tmp_path):
    setup_buckets(aws)
    foreign = {"payments/README.txt", "other/year=2025/month=01/part-00000.parquet"}
    for key in foreign:
        aws["s3"].put_object(Bucket=RAW, Key=key, Body=b"not sqlgen's")
    assert run(tmp_path / "a", "--batch-size", "500").returncode == 0
    first = assert_one_committed_run(aws, foreign=foreign)
    proc = run(tmp_path / "b", "--seed", "9", "--batch-size", "2000")
    assert proc.returncode == 0, proc.stderr
    second = assert_one_committed_run(aws, foreign=foreign)
    assert len(second["files"]) < len(first["files"])
    assert second["run_id"] != first["run_id"]
    # Catalogues: only the second run's.
    assert set(keys(aws, "artifacts-bucket")) == {e["key"] for e in second["catalog_files"]}
    # What sqlgen did not create stays.
    assert foreign <= listing(aws)


def test_failed_rerun_is_not_vouched_for_and_old_run_stays_whole(aws, proxy, tmp_path):
    setup_buckets(aws)
    assert run(tmp_path / "a").returncode == 0
    first = assert_one_committed_run(aws)
    proxy.tamper.add("/part-00003-")
    proc = run(tmp_path / "b", "--seed", "11")
    assert proc.returncode == 2, proc.stderr
    # The old _SUCCESS was withdrawn; the old manifest still describes intact objects.
    assert "payments/_SUCCESS" not in listing(aws)
    remote = s3_manifest(aws)
    assert remote["run_id"] == first["run_id"]
    raw = keys(aws, RAW)
    for entry in remote["files"]:
        assert hashlib.sha256(raw[entry["key"]]).hexdigest() == entry["sha256"]
    assert set(raw) == {f["key"] for f in first["files"]} | {".sqlgen/payments/manifest.json"}
    # The next good run commits normally.
    proxy.tamper.clear()
    assert run(tmp_path / "c", "--seed", "12").returncode == 0
    assert_one_committed_run(aws)


def test_prefixes_are_configurable(aws, tmp_path):
    setup_buckets(aws)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        TINY.read_text() + "\ns3:\n  prefix: datasets/tiny/\n  catalog_prefix: cat/tiny/\n"
    )
    proc = sqlgen("run", "--config", cfg, "--out-dir", tmp_path / "o", "--s3", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    remote = assert_one_committed_run(aws, prefix="datasets/tiny/")
    assert all(re.fullmatch(r"datasets/tiny/year=.*\.parquet", f["key"]) for f in remote["files"])
    assert listing(aws, prefix="payments/") == set()
    assert set(keys(aws, "artifacts-bucket")) == {
        f"cat/tiny/{t}-{remote['run_id']}.parquet" for t in ("customers", "merchants", "cards")
    }


def test_multipart_upload_is_verified(aws, small_parts, tmp_path):
    setup_buckets(aws)
    out = tmp_path / "out"
    assert run(out).returncode == 0
    remote = assert_one_committed_run(aws)
    entry = remote["files"][0]
    assert entry["bytes"] > 2 * 16 * 1024
    head = aws["s3"].head_object(Bucket=RAW, Key=entry["key"], ChecksumMode="ENABLED")
    # A multipart object's SHA-256 is the composite of its parts' (S3 adds "-<parts>").
    data = (out / entry["path"]).read_bytes()
    parts = [data[i : i + 16 * 1024] for i in range(0, len(data), 16 * 1024)]
    composite = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    assert head["ChecksumSHA256"].split("-")[0] == base64.b64encode(composite).decode()


def test_failed_multipart_upload_is_aborted(aws, small_parts, tmp_path, monkeypatch):
    setup_buckets(aws)
    monkeypatch.setenv("SQLGEN_FAIL_UPLOAD_PART", "2")
    out = tmp_path / "out"
    proc = run(out)
    assert proc.returncode == 2, proc.stderr
    assert "part 2" in proc.stderr
    assert aws["s3"].list_multipart_uploads(Bucket=RAW).get("Uploads", []) == []
    assert listing(aws) == set()
    assert_local_valid(out)


def test_next_run_aborts_uploads_a_killed_run_left(aws, tmp_path):
    setup_buckets(aws)
    s3 = aws["s3"]
    s3.create_multipart_upload(Bucket=RAW, Key="payments/year=2025/month=01/part-00000-x.parquet")
    s3.create_multipart_upload(Bucket="artifacts-bucket", Key="catalogues/cards-x.parquet")
    s3.create_multipart_upload(Bucket=RAW, Key="elsewhere/big.bin")
    assert run(tmp_path / "out").returncode == 0
    left = s3.list_multipart_uploads(Bucket=RAW).get("Uploads", [])
    assert [u["Key"] for u in left] == ["elsewhere/big.bin"]
    assert s3.list_multipart_uploads(Bucket="artifacts-bucket").get("Uploads", []) == []


def test_concurrent_commits_only_one_wins(aws, tmp_path):
    """Two runs begin on one prefix; the first to commit wins, the other fails with
    exit code 2 and removes its objects (If-Match on the manifest's ETag)."""
    from sqlgen.chunks import FileStat
    from sqlgen.config import load_config, with_overrides
    from sqlgen.errors import UploadError
    from sqlgen.runner import run as run_local
    from sqlgen.s3_commit import Delivery

    setup_buckets(aws)
    assert run(tmp_path / "seed").returncode == 0  # a committed run exists
    cfg = with_overrides(load_config(TINY), realism="v1")
    runs = []
    for name, seed in (("a", 1), ("b", 2)):
        result = run_local(
            with_overrides(cfg, out_dir=tmp_path / name, seed=seed), show_progress=False
        )
        stats = [
            FileStat(
                i,
                f["path"].removeprefix("payments/"),
                f["rows"],
                f["fraud_rows"],
                f["bytes"],
                f["sha256"],
            )
            for i, f in enumerate(result.manifest["files"])
        ]
        runs.append((result, stats))
    (ra, sa), (rb, sb) = runs
    a = Delivery(cfg.s3, ra.manifest["run_id"], with_catalogs=False).begin()
    b = Delivery(cfg.s3, rb.manifest["run_id"], with_catalogs=False).begin()
    assert a.error is None and b.error is None
    a.finish(ra.manifest, sa, ra.out_dir / "payments", None)
    with pytest.raises(UploadError, match="another run committed"):
        b.finish(rb.manifest, sb, rb.out_dir / "payments", None)
    remote = assert_one_committed_run(aws)
    assert remote["run_id"] == ra.manifest["run_id"]
    assert json.loads(json.dumps(remote["files"]))[0]["sha256"] == sa[0].sha256


@pytest.mark.parametrize("part", [1 << 20, 16 * 1024], ids=["single", "multipart"])
def test_file_changed_on_disk_since_written_is_not_uploaded(aws, small_parts, tmp_path, part):
    from sqlgen.errors import UploadError
    from sqlgen.s3 import put_file

    setup_buckets(aws)
    path = tmp_path / "part-00000.parquet"
    path.write_bytes(bytes(range(256)) * 256)
    written = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(b"\xff" + path.read_bytes()[1:])  # changed after its SHA-256 was taken
    with pytest.raises(UploadError, match="changed on disk"):
        put_file(aws["s3"], RAW, "payments/x.parquet", path, written, part)
    assert listing(aws) == set()
    assert aws["s3"].list_multipart_uploads(Bucket=RAW).get("Uploads", []) == []


def test_a_prefix_of_the_earlier_layout_is_taken_over(aws, tmp_path):
    """An earlier version left `month=01` objects and `_manifest.json` under the prefix;
    the next run commits its manifest beside the prefix and removes both."""
    setup_buckets(aws)
    old = "20251101T000000000000Z-0123abcd"
    earlier = {
        f"payments/year=2025/month=01/part-00000-{old}.parquet": b"old data",
        "payments/_manifest.json": json.dumps({"run_id": old}).encode(),
        "payments/_SUCCESS": old.encode(),
    }
    for key, body in earlier.items():
        aws["s3"].put_object(Bucket=RAW, Key=key, Body=body)
    assert run(tmp_path / "out").returncode == 0
    remote = assert_one_committed_run(aws)  # nothing else under the prefix
    assert remote["run_id"] != old
    assert all("/month=0" not in f["key"] for f in remote["files"])
