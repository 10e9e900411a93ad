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
    DEFAULT,
    LEVELS,
    TINY,
    assert_local_valid,
    catalog_keys,
    keys,
    s3_manifest,
    setup_buckets,
    sqlgen,
    success_run_id,
)

RAW = "raw-bucket"
ARTIFACTS = "artifacts-bucket"


def run(out, *extra, realism=DEFAULT, env=None):
    return sqlgen(
        "run", "--config", TINY, "--out-dir", out, "--s3", "--no-progress", "--realism", realism,
        *extra, env=env,
    )  # fmt: skip


def slow_clock_id(fingerprint: str = "0123abcd") -> str:
    """A run id as a driver whose clock is years behind would make: it sorts first."""
    return f"20000101T000000000000Z-{fingerprint}"


def local_run(tmp_path, name: str, seed: int, realism: str = DEFAULT):
    """A published local run and its files' facts, for driving `Delivery` by hand."""
    from sqlgen.config import load_config, with_overrides
    from sqlgen.generate.chunks import FileStat
    from sqlgen.runner import run as run_local

    cfg = with_overrides(load_config(TINY), realism=realism, out_dir=tmp_path / name, seed=seed)
    result = run_local(cfg, show_progress=False)
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
    return cfg, result, stats


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
    # The run's in-flight marker is put before its first object, deleted after the sweep.
    marker = [i for i, (_, k) in enumerate(ops) if k.startswith(".sqlgen/payments/inflight/")]
    assert ops[marker[0]][0] == "PUT" and marker[0] < min(data)
    assert ops[marker[-1]][0] == "DELETE" and marker[-1] > max(old_removed)
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


@LEVELS
def test_rerun_with_fewer_files_leaves_exactly_one_run(aws, tmp_path, realism):
    setup_buckets(aws)
    foreign = {"payments/README.txt", "other/year=2025/month=01/part-00000.parquet"}
    for key in foreign:
        aws["s3"].put_object(Bucket=RAW, Key=key, Body=b"not sqlgen's")
    assert run(tmp_path / "a", "--batch-size", "500", realism=realism).returncode == 0
    first = assert_one_committed_run(aws, foreign=foreign)
    proc = run(tmp_path / "b", "--seed", "9", "--batch-size", "2000", realism=realism)
    assert proc.returncode == 0, proc.stderr
    second = assert_one_committed_run(aws, foreign=foreign)
    assert len(second["files"]) < len(first["files"])
    assert second["run_id"] != first["run_id"]
    # Catalogues: only the second run's (v3: their ground truth too).
    assert set(keys(aws, ARTIFACTS)) == {e["key"] for e in second["catalog_files"]}
    assert set(keys(aws, ARTIFACTS)) == catalog_keys(second["run_id"], realism)
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
    for seed in (1, 2):  # the second run sweeps the first one's objects under both
        proc = sqlgen(
            "run", "--config", cfg, "--out-dir", tmp_path / f"o{seed}", "--s3", "--no-progress",
            "--realism", DEFAULT, "--seed", seed,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    remote = assert_one_committed_run(aws, prefix="datasets/tiny/")
    assert all(re.fullmatch(r"datasets/tiny/year=.*\.parquet", f["key"]) for f in remote["files"])
    assert listing(aws, prefix="payments/") == set()
    assert set(keys(aws, ARTIFACTS)) == catalog_keys(remote["run_id"], DEFAULT, "cat/tiny/")


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


@LEVELS
def test_several_commits_leave_one_run_in_a_plain_listing(aws, tmp_path, realism):
    """Issue 23 (2): v3's ground-truth catalogs were never swept."""
    setup_buckets(aws)
    for seed in (1, 2, 3):
        proc = run(tmp_path / f"o{seed}", "--seed", seed, realism=realism)
        assert proc.returncode == 0, proc.stderr
    remote = assert_one_committed_run(aws)
    assert remote["seed"] == 3
    assert set(keys(aws, ARTIFACTS)) == catalog_keys(remote["run_id"], realism)
    assert {e["key"] for e in remote["catalog_files"]} == catalog_keys(remote["run_id"], realism)
    assert not listing(aws, prefix=".sqlgen/payments/inflight/")


def test_run_whose_id_sorts_first_replaces_the_previous_run(aws, tmp_path, monkeypatch):
    """Issue 23 (3): a driver with a slow clock makes a run id that sorts before the
    committed run's; its commit must still leave exactly its own run."""
    import sqlgen.runner
    from sqlgen.config import load_config, with_overrides
    from sqlgen.publish.s3 import clients

    clients.cache_clear()  # this process's clients talk to this test's server
    setup_buckets(aws)
    assert run(tmp_path / "a", "--seed", 1).returncode == 0
    first = s3_manifest(aws)
    monkeypatch.setattr(sqlgen.runner, "new_run_id", lambda cfg: slow_clock_id())
    cfg = with_overrides(
        load_config(TINY), realism=DEFAULT, seed=2, out_dir=tmp_path / "b", s3_upload=True
    )
    second = sqlgen.runner.run(cfg, show_progress=False).manifest
    assert second["run_id"] == slow_clock_id() < first["run_id"]
    remote = assert_one_committed_run(aws)
    assert remote["run_id"] == second["run_id"]
    assert set(keys(aws, ARTIFACTS)) == catalog_keys(second["run_id"], DEFAULT)
    assert not {f["key"] for f in first["files"]} & listing(aws)


def test_run_in_flight_keeps_its_objects_whatever_its_id(aws, tmp_path):
    """A run in flight (its marker fresh) loses nothing to another run's commit, even when
    its id sorts first; once it has ended, the next commit removes what it left."""
    from sqlgen.errors import UploadError
    from sqlgen.publish.s3 import clients
    from sqlgen.publish.s3_commit import Delivery

    clients.cache_clear()
    setup_buckets(aws)
    assert run(tmp_path / "a", "--seed", 1).returncode == 0
    cfg, result, stats = local_run(tmp_path, "b", seed=2)
    slow = Delivery(cfg.s3, slow_clock_id(), with_catalogs=True).begin()
    assert slow.error is None
    written = slow.target.put(
        result.out_dir / "payments" / stats[0].relpath, stats[0].relpath, stats[0].sha256
    )
    big = slow.target.key(stats[1].relpath)  # a multipart upload under way
    upload = aws["s3"].create_multipart_upload(Bucket=RAW, Key=big)["UploadId"]

    assert run(tmp_path / "c", "--seed", 3).returncode == 0  # commits while `slow` runs
    committed = s3_manifest(aws)
    assert written in listing(aws)
    uploads = aws["s3"].list_multipart_uploads(Bucket=RAW).get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [(big, upload)]

    # `slow` began before that commit: it cannot commit, and removes its objects.
    with pytest.raises(UploadError, match="another run committed"):
        slow.finish(result.manifest, stats, result.out_dir / "payments", result.out_dir / "catalog")
    assert written not in listing(aws)
    assert s3_manifest(aws)["run_id"] == committed["run_id"]
    assert not listing(aws, prefix=".sqlgen/payments/inflight/")
    # It is no longer live: the next commit aborts the upload it left.
    assert run(tmp_path / "d", "--seed", 4).returncode == 0
    assert_one_committed_run(aws)
    assert aws["s3"].list_multipart_uploads(Bucket=RAW).get("Uploads", []) == []


def test_killed_run_is_swept_once_its_lease_has_expired(aws, tmp_path):
    """A killed run leaves its marker and objects; a commit keeps them while the marker
    is fresh (the run might be alive) and removes both once the lease has passed."""
    import os
    import time

    setup_buckets(aws)
    assert run(tmp_path / "a", "--seed", 1).returncode == 0
    killed = slow_clock_id("deadbeef")
    debris = f"payments/year=2025/month=01/part-00000-{killed}.parquet"
    marker = f".sqlgen/payments/inflight/{killed}"
    aws["s3"].put_object(Bucket=RAW, Key=marker, Body=b"{}")
    aws["s3"].put_object(Bucket=RAW, Key=debris, Body=b"half a run")
    assert run(tmp_path / "b", "--seed", 2).returncode == 0
    assert {debris, marker} <= listing(aws)
    time.sleep(2.5)
    short_lease = dict(os.environ, SQLGEN_S3_LEASE_SECONDS="1")
    assert run(tmp_path / "c", "--seed", 3, env=short_lease).returncode == 0
    assert_one_committed_run(aws)
    assert not {debris, marker} & listing(aws)


def test_concurrent_commits_only_one_wins(aws, tmp_path):
    """Two runs begin on one prefix; the first to commit wins, the other fails with
    exit code 2 and removes its objects (If-Match on the manifest's ETag)."""
    from sqlgen.errors import UploadError
    from sqlgen.publish.s3 import clients
    from sqlgen.publish.s3_commit import Delivery

    clients.cache_clear()
    setup_buckets(aws)
    assert run(tmp_path / "seed").returncode == 0  # a committed run exists
    (cfg, ra, sa), (_, rb, sb) = (
        local_run(tmp_path, name, seed) for name, seed in (("a", 1), ("b", 2))
    )
    a = Delivery(cfg.s3, ra.manifest["run_id"], with_catalogs=True).begin()
    b = Delivery(cfg.s3, rb.manifest["run_id"], with_catalogs=True).begin()
    assert a.error is None and b.error is None
    a.finish(ra.manifest, sa, ra.out_dir / "payments", ra.out_dir / "catalog")
    with pytest.raises(UploadError, match="another run committed"):
        b.finish(rb.manifest, sb, rb.out_dir / "payments", rb.out_dir / "catalog")
    remote = assert_one_committed_run(aws)
    assert remote["run_id"] == ra.manifest["run_id"]
    assert json.loads(json.dumps(remote["files"]))[0]["sha256"] == sa[0].sha256
    assert set(keys(aws, ARTIFACTS)) == catalog_keys(remote["run_id"], DEFAULT)
    assert not listing(aws, prefix=".sqlgen/payments/inflight/")


@pytest.mark.parametrize("part", [1 << 20, 16 * 1024], ids=["single", "multipart"])
def test_file_changed_on_disk_since_written_is_not_uploaded(aws, small_parts, tmp_path, part):
    from sqlgen.errors import UploadError
    from sqlgen.publish.s3 import put_file

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
