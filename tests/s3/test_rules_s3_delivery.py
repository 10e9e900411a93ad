"""Rule-level tests of S3 delivery (`sqlgen.publish.s3`, `s3_commit.Delivery`) driven by
hand on a real moto server on 127.0.0.1, through the recording proxy: hand-made files
and `FileStat`s, no generator run. They pin the order of the writes (withdraw
`_SUCCESS`, marker, data, manifest, `_SUCCESS`, sweep, marker removed), the conditions
of the manifest PUT, which keys the sweep and a roll-back remove, the S3 manifest's
fields, and the object-level helpers (single PUT up to the part size, multipart above,
checksums, aborts, ETags)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import botocore.exceptions
import pytest

from sqlgen.config import S3Config
from sqlgen.errors import UploadError
from sqlgen.generate.chunks import FileStat
from sqlgen.publish import s3 as s3mod
from sqlgen.publish.s3_commit import Delivery, manifest_key, run_unique

RAW, ARTIFACTS = "raw-bucket", "artifacts-bucket"
RUN_A = "20250101T000000000000Z-0000000a"
RUN_B = "20250102T000000000000Z-0000000b"
RUN_C = "20250103T000000000000Z-0000000c"
PARTS = ("year=2025/month=1/part-00000.parquet", "year=2025/month=2/part-00001.parquet")


@pytest.fixture
def buckets(aws):
    for bucket in (RAW, ARTIFACTS):
        aws["s3"].create_bucket(Bucket=bucket)
    aws["ssm"].put_parameter(Name="/fraud/raw_bucket_name", Value=RAW, Type="String")
    aws["ssm"].put_parameter(Name="/fraud/artifacts_bucket_name", Value=ARTIFACTS,
                             Type="String")
    return aws


def _cfg(url: str, **kw) -> S3Config:
    # The endpoint in the config: a client of its own (clients() is cached per config).
    return S3Config(endpoint_url=url, **kw)


def _local(tmp_path: Path, tag: bytes, catalogs: bool = False):
    """Two payments files (and two catalog files) holding `tag`; their stats and the
    local manifest."""
    root = tmp_path / "payments"
    stats, files = [], []
    for i, rel in enumerate(PARTS):
        body = tag + b"-%d" % i
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(body)
        sha = hashlib.sha256(body).hexdigest()
        stats.append(FileStat(i, rel, 10 + i, i, len(body), sha))
        files.append({"path": f"payments/{rel}", "sha256": sha, "rows": 10 + i})
    manifest = {"run_id": None, "files": files, "catalog_files": []}
    cat = tmp_path / "catalog"
    if catalogs:
        for name in ("merchants.parquet", "ground_truth/cards.parquet"):
            (cat / name).parent.mkdir(parents=True, exist_ok=True)
            (cat / name).write_bytes(tag + name.encode())
            manifest["catalog_files"].append(
                {"path": f"catalog/{name}",
                 "sha256": hashlib.sha256(tag + name.encode()).hexdigest()})
    return root, cat, stats, manifest


def _deliver(cfg, run_id, tmp_path, tag, catalogs=False, stats_edit=None):
    root, cat, stats, manifest = _local(tmp_path / run_id, tag, catalogs)
    manifest["run_id"] = run_id
    if stats_edit:
        stats = stats_edit(stats)
    d = Delivery(cfg, run_id, with_catalogs=catalogs).begin()
    return d, d.finish(manifest, stats, root, cat if catalogs else None)


def _keys(aws, bucket=RAW) -> set[str]:
    pages = aws["s3"].get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def _data_keys(run_id: str) -> set[str]:
    return {"payments/" + run_unique(rel, run_id) for rel in PARTS}


def test_a_commit_writes_in_order_and_sweeps_the_previous_run(buckets, proxy, tmp_path):
    cfg = _cfg(proxy.url)
    _, count = _deliver(cfg, RUN_A, tmp_path, b"a")
    assert count == 4  # two data objects, the manifest and _SUCCESS
    assert _keys(buckets) == _data_keys(RUN_A) | {
        "payments/_SUCCESS", ".sqlgen/payments/manifest.json"}
    proxy.requests.clear()
    _, count = _deliver(cfg, RUN_B, tmp_path, b"b")
    assert count == 4
    ops = [(m, k) for m, k, _ in proxy.writes(RAW)]
    marker = f".sqlgen/payments/inflight/{RUN_B}"
    data = sorted(_data_keys(RUN_B))
    assert ops[:2] == [("DELETE", "payments/_SUCCESS"), ("PUT", marker)]
    assert sorted(ops[2:4]) == [("PUT", k) for k in data]
    assert ops[4:] == [
        ("PUT", ".sqlgen/payments/manifest.json"),
        ("PUT", "payments/_SUCCESS"),
        ("POST", ""),  # one batch delete: the previous run's objects
        ("DELETE", marker),
    ]
    assert _keys(buckets) == _data_keys(RUN_B) | {
        "payments/_SUCCESS", ".sqlgen/payments/manifest.json"}
    head = buckets["s3"].head_object(Bucket=RAW, Key="payments/_SUCCESS")
    assert head["ContentLength"] == 0 and head["Metadata"] == {"run-id": RUN_B}
    # The S3 manifest: the local one plus where each object is.
    remote = json.loads(buckets["s3"].get_object(
        Bucket=RAW, Key=".sqlgen/payments/manifest.json")["Body"].read())
    assert remote["run_id"] == RUN_B
    assert remote["s3"] == {"bucket": RAW, "prefix": "payments/"}
    assert [(f["bucket"], f["key"], f["rows"]) for f in remote["files"]] == [
        (RAW, "payments/" + run_unique(rel, RUN_B), 10 + i) for i, rel in enumerate(PARTS)]
    assert remote["catalog_files"] == []
    for f in remote["files"]:
        body = buckets["s3"].get_object(Bucket=RAW, Key=f["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == f["sha256"]


def test_the_sweep_keeps_live_runs_and_foreign_keys_and_removes_old_names(
        buckets, tmp_path, monkeypatch):
    s3 = buckets["s3"]
    cfg = _cfg(buckets["url"])
    _deliver(cfg, RUN_A, tmp_path, b"a")
    # A run in flight (fresh marker) with one object; an unsuffixed name of an earlier
    # version; an earlier version's manifest; a key that is not sqlgen's.
    live_key = "payments/" + run_unique(PARTS[0], RUN_C)
    extra = {
        f".sqlgen/payments/inflight/{RUN_C}": b"{}",
        live_key: b"c",
        "payments/year=2024/month=12/part-00000.parquet": b"old",
        "payments/_manifest.json": b"{}",
        "payments/notes.txt": b"mine",
        "payments/year=2025/month=1/part-00000-x.parquet": b"not a run id",
    }
    for key, body in extra.items():
        s3.put_object(Bucket=RAW, Key=key, Body=body)
    _deliver(cfg, RUN_B, tmp_path, b"b")
    assert _keys(buckets) == _data_keys(RUN_B) | {
        "payments/_SUCCESS", ".sqlgen/payments/manifest.json", live_key,
        f".sqlgen/payments/inflight/{RUN_C}", "payments/notes.txt",
        "payments/year=2025/month=1/part-00000-x.parquet"}


def test_catalogs_go_to_the_artifacts_bucket_under_run_unique_names(buckets, tmp_path):
    cfg = _cfg(buckets["url"])
    _, count = _deliver(cfg, RUN_A, tmp_path, b"a", catalogs=True)
    want = {"catalogues/" + run_unique(n, RUN_A)
            for n in ("merchants.parquet", "ground_truth/cards.parquet")}
    assert count == 6 and _keys(buckets, ARTIFACTS) == want
    remote = json.loads(buckets["s3"].get_object(
        Bucket=RAW, Key=".sqlgen/payments/manifest.json")["Body"].read())
    assert {(f["bucket"], f["key"]) for f in remote["catalog_files"]} == {
        (ARTIFACTS, k) for k in want}
    # The next run sweeps the first run's catalogs, keeps its own.
    _deliver(cfg, RUN_B, tmp_path, b"b", catalogs=True)
    assert _keys(buckets, ARTIFACTS) == {k.replace(RUN_A, RUN_B) for k in want}


def test_a_manifest_changed_since_begin_loses_the_race_and_removes_this_run(
        buckets, tmp_path):
    cfg = _cfg(buckets["url"])
    _deliver(cfg, RUN_A, tmp_path, b"a")
    root, _cat, stats, manifest = _local(tmp_path / RUN_B, b"b")
    manifest["run_id"] = RUN_B
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    assert d.manifest_etag == buckets["s3"].head_object(
        Bucket=RAW, Key=".sqlgen/payments/manifest.json")["ETag"]
    _deliver(cfg, RUN_C, tmp_path, b"c")  # commits meanwhile
    with pytest.raises(UploadError, match="another run committed"):
        d.finish(manifest, stats, root, None)
    assert not d.committed
    # RUN_C stays whole; nothing of RUN_B is left, not even its marker.
    assert _keys(buckets) == _data_keys(RUN_C) | {
        "payments/_SUCCESS", ".sqlgen/payments/manifest.json"}


def test_an_empty_prefix_is_committed_only_if_still_empty(buckets, tmp_path):
    cfg = _cfg(buckets["url"])
    root, _cat, stats, manifest = _local(tmp_path / RUN_B, b"b")
    manifest["run_id"] = RUN_B
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    assert d.manifest_etag is None
    _deliver(cfg, RUN_A, tmp_path, b"a")  # the first commit, meanwhile
    with pytest.raises(UploadError, match="another run committed"):
        d.finish(manifest, stats, root, None)
    assert _keys(buckets) == _data_keys(RUN_A) | {
        "payments/_SUCCESS", ".sqlgen/payments/manifest.json"}


def test_a_worker_upload_error_rolls_back_what_was_tried(buckets, proxy, tmp_path):
    cfg = _cfg(proxy.url)
    s3 = buckets["s3"]
    # Chunk 0 was uploaded by its worker; chunk 1's worker failed after S3 stored it.
    for rel in PARTS:
        s3.put_object(Bucket=RAW, Key="payments/" + run_unique(rel, RUN_B), Body=b"w")

    def edit(stats):
        return [replace(stats[1], upload_error="chunk 1: S3 said no"),
                replace(stats[0], uploaded=True)]  # in any order

    with pytest.raises(UploadError, match="chunk 1: S3 said no"):
        _deliver(cfg, RUN_B, tmp_path, b"b", stats_edit=edit)
    assert _keys(buckets) == set()  # both removed, and the marker
    assert ("PUT", ".sqlgen/payments/manifest.json") not in [
        (m, k) for m, k, _ in proxy.writes(RAW)]


def test_chunks_uploaded_by_workers_are_not_sent_again(buckets, proxy, tmp_path):
    cfg = _cfg(proxy.url)
    key0 = "payments/" + run_unique(PARTS[0], RUN_B)
    buckets["s3"].put_object(Bucket=RAW, Key=key0, Body=b"b-0")

    def edit(stats):
        return [replace(stats[0], uploaded=True), stats[1]]

    _, count = _deliver(cfg, RUN_B, tmp_path, b"b", stats_edit=edit)
    assert count == 4
    puts = [k for m, k, _ in proxy.writes(RAW) if m == "PUT" and k.endswith(".parquet")]
    assert puts == ["payments/" + run_unique(PARTS[1], RUN_B)]


def test_a_chunk_neither_uploaded_nor_kept_is_an_error(buckets, tmp_path):
    cfg = _cfg(buckets["url"])
    _root, _cat, stats, manifest = _local(tmp_path, b"b")
    manifest["run_id"] = RUN_B
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    with pytest.raises(UploadError, match="chunk 0 was neither uploaded nor kept locally"):
        d.finish(manifest, stats, None, None)
    assert _keys(buckets) == set()


def test_an_ssm_failure_is_kept_until_finish_and_writes_nothing(buckets, proxy, tmp_path):
    cfg = _cfg(proxy.url, raw_bucket_param="/fraud/missing")
    root, _cat, stats, manifest = _local(tmp_path, b"b")
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    assert d.target is None and d.marker is None
    with pytest.raises(UploadError, match="cannot read SSM parameter '/fraud/missing'"):
        d.finish(manifest, stats, root, None)
    d.abandon()
    assert proxy.writes(RAW) == [] and _keys(buckets) == set()


def test_abandon_removes_only_this_runs_data_objects(buckets, tmp_path):
    cfg = _cfg(buckets["url"])
    _deliver(cfg, RUN_A, tmp_path, b"a")
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    mine = "payments/" + run_unique(PARTS[0], RUN_B)
    buckets["s3"].put_object(Bucket=RAW, Key=mine, Body=b"b")
    d.abandon()
    assert _keys(buckets) == _data_keys(RUN_A) | {".sqlgen/payments/manifest.json"}
    assert d.marker is None


# -- object-level helpers ---------------------------------------------------------------


def _file(tmp_path, size: int) -> tuple[Path, str]:
    path = tmp_path / f"f{size}"
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_up_to_the_part_size_is_one_put_above_it_a_multipart_upload(
        buckets, proxy, small_parts, tmp_path):
    s3 = s3mod.clients(_cfg(proxy.url))[1]
    part = 16 * 1024
    for size, key in ((part, "one"), (part + 1, "two"), (2 * part + 5, "three")):
        path, sha = _file(tmp_path, size)
        proxy.requests.clear()
        s3mod.put_file(s3, RAW, key, path, sha, part)
        assert buckets["s3"].get_object(Bucket=RAW, Key=key)["Body"].read() == path.read_bytes()
        uploads = [q for m, k, q in proxy.writes(RAW) if m == "PUT" and "partNumber" in q]
        assert len(uploads) == {"one": 0, "two": 2, "three": 3}[key], key
        assert [f"partNumber={i + 1}" in q for i, q in enumerate(uploads)] == [True] * len(
            uploads)
    assert buckets["s3"].list_multipart_uploads(Bucket=RAW).get("Uploads", []) == []


def test_a_failed_part_aborts_the_upload(buckets, small_parts, tmp_path, monkeypatch):
    s3 = s3mod.clients(_cfg(buckets["url"]))[1]
    path, sha = _file(tmp_path, 40 * 1024)
    monkeypatch.setenv(s3mod.FAIL_PART_ENV, "2")
    with pytest.raises(UploadError, match="S3 upload to bucket 'raw-bucket' failed for k"):
        s3mod.put_file(s3, RAW, "k", path, sha, 16 * 1024)
    assert buckets["s3"].list_multipart_uploads(Bucket=RAW).get("Uploads", []) == []
    assert _keys(buckets) == set()


@pytest.mark.parametrize("size", [100, 40 * 1024])
def test_a_file_changed_since_it_was_written_is_refused(buckets, small_parts, tmp_path, size):
    s3 = s3mod.clients(_cfg(buckets["url"]))[1]
    path, _ = _file(tmp_path, size)
    with pytest.raises(UploadError, match="changed on disk since it was written"):
        s3mod.put_file(s3, RAW, "k", path, "00" * 32, 16 * 1024)
    assert _keys(buckets) == set()
    assert buckets["s3"].list_multipart_uploads(Bucket=RAW).get("Uploads", []) == []


def test_put_bytes_returns_the_etag_and_honours_conditions(buckets):
    s3 = s3mod.clients(_cfg(buckets["url"]))[1]
    etag = s3mod.put_bytes(s3, RAW, "m", b"one", IfNoneMatch="*")
    assert etag == buckets["s3"].head_object(Bucket=RAW, Key="m")["ETag"]
    assert s3mod.head_etag(s3, RAW, "m") == etag
    assert s3mod.head_etag(s3, RAW, "missing") is None
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3mod.put_bytes(s3, RAW, "m", b"two", IfNoneMatch="*")
    assert s3mod.error_code(info.value) == "PreconditionFailed"
    assert s3mod.reason(info.value).startswith("PreconditionFailed: ")
    new = s3mod.put_bytes(s3, RAW, "m", b"two", IfMatch=etag)
    assert new != etag and s3mod.head_etag(s3, RAW, "m") == new


def test_abort_stale_spares_live_uploads_only(buckets):
    s3 = buckets["s3"]
    for key in ("p/a", "p/b", "q/c"):
        s3.create_multipart_upload(Bucket=RAW, Key=key)
    client = s3mod.clients(_cfg(buckets["url"]))[1]
    assert s3mod.abort_stale(client, RAW, "p/", spare=lambda k: k == "p/b") == 1
    left = {u["Key"] for u in s3.list_multipart_uploads(Bucket=RAW)["Uploads"]}
    assert left == {"p/b", "q/c"}


def test_delete_keys_deletes_in_batches_of_a_thousand(buckets, proxy):
    s3 = s3mod.clients(_cfg(proxy.url))[1]
    keys = [f"k/{i:04d}" for i in range(1001)]
    s3mod.delete_keys(s3, RAW, keys)  # none exist: deleting is still fine
    assert [m for m, k, q in proxy.writes(RAW)] == ["POST", "POST"]
    s3mod.delete_keys(s3, RAW, [])
    assert len(proxy.writes(RAW)) == 2  # nothing to delete: no request


def test_part_size_and_ssm_bucket_names(buckets, monkeypatch):
    monkeypatch.delenv(s3mod.PART_BYTES_ENV, raising=False)
    assert s3mod.part_bytes(S3Config(multipart_mb=7)) == 7 * 2**20
    monkeypatch.setenv(s3mod.PART_BYTES_ENV, "1234")
    assert s3mod.part_bytes(S3Config(multipart_mb=7)) == 1234
    ssm = s3mod.clients(_cfg(buckets["url"]))[0]
    assert s3mod.bucket_from_ssm(ssm, "/fraud/raw_bucket_name") == RAW
    with pytest.raises(UploadError, match="cannot read SSM parameter '/x': ParameterNotFound"):
        s3mod.bucket_from_ssm(ssm, "/x")
    assert manifest_key("a/b/") == ".sqlgen/a/b/manifest.json"


def test_begin_aborts_uploads_of_dead_runs_and_foreign_keys_not_of_live_runs(buckets, tmp_path):
    s3 = buckets["s3"]
    cfg = _cfg(buckets["url"])
    s3.put_object(Bucket=RAW, Key=f".sqlgen/payments/inflight/{RUN_C}", Body=b"{}")  # live
    live = "payments/" + run_unique(PARTS[0], RUN_C)
    dead = "payments/" + run_unique(PARTS[0], RUN_A)
    for key in (live, dead, "payments/other.bin"):
        s3.create_multipart_upload(Bucket=RAW, Key=key)
    live_cat, dead_cat = (f"catalogues/merchants-{r}.parquet" for r in (RUN_C, RUN_A))
    for key in (live_cat, dead_cat):
        s3.create_multipart_upload(Bucket=ARTIFACTS, Key=key)
    d = Delivery(cfg, RUN_B, with_catalogs=True).begin()
    try:
        assert d.error is None
        left = {u["Key"] for u in s3.list_multipart_uploads(Bucket=RAW).get("Uploads", [])}
        assert left == {live}
        left = {u["Key"] for u in s3.list_multipart_uploads(Bucket=ARTIFACTS)
                .get("Uploads", [])}
        assert left == {live_cat}
    finally:
        d.abandon()


def test_a_missing_bucket_is_kept_as_the_delivery_error(buckets, tmp_path):
    buckets["ssm"].put_parameter(Name="/fraud/gone", Value="no-such-bucket", Type="String")
    cfg = _cfg(buckets["url"], raw_bucket_param="/fraud/gone")
    root, _, stats, manifest = _local(tmp_path, b"b")
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    assert d.error is not None
    with pytest.raises(UploadError, match="S3 delivery to s3://no-such-bucket/payments/ "
                                          "failed: NoSuchBucket"):
        d.finish(manifest, stats, root, None)


def test_catalogs_kept_locally_are_not_sent_without_an_artifacts_bucket(buckets, tmp_path):
    cfg = _cfg(buckets["url"])
    root, cat, stats, manifest = _local(tmp_path, b"b", catalogs=True)
    manifest["run_id"] = RUN_B
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    assert d.finish(manifest, stats, root, cat) == 4
    assert _keys(buckets, ARTIFACTS) == set()


def test_a_file_changed_on_disk_fails_the_delivery_before_its_commit(buckets, tmp_path):
    cfg = _cfg(buckets["url"])
    root, _, stats, manifest = _local(tmp_path, b"b")
    manifest["run_id"] = RUN_B
    (root / PARTS[1]).write_bytes(b"changed")
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    with pytest.raises(UploadError, match="changed on disk"):
        d.finish(manifest, stats, root, None)
    assert _keys(buckets) == set()  # the other object removed, nothing committed


@pytest.mark.parametrize("failure", ["aws", "interrupt"])
def test_a_failure_before_the_commit_removes_the_uploaded_objects(buckets, tmp_path,
                                                                  monkeypatch, failure):
    cfg = _cfg(buckets["url"])
    root, _, stats, manifest = _local(tmp_path, b"b")
    manifest["run_id"] = RUN_B

    def fail(self, manifest, stats):
        if failure == "aws":
            raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://gone")
        raise KeyboardInterrupt

    monkeypatch.setattr(Delivery, "_s3_manifest", fail)
    d = Delivery(cfg, RUN_B, with_catalogs=False).begin()
    expected = (UploadError, "S3 delivery to s3://raw-bucket/payments/ failed") if (
        failure == "aws") else (KeyboardInterrupt, None)
    with pytest.raises(expected[0], match=expected[1]):
        d.finish(manifest, stats, root, None)
    assert _keys(buckets) == set()  # data objects removed, and the marker


def test_reason_is_the_first_line_or_the_error_code_and_message():
    assert s3mod.reason(ValueError("first\nsecond")) == "first"
    exc = botocore.exceptions.ClientError({"Error": {"Code": "Nope", "Message": "no"}}, "Op")
    assert s3mod.reason(exc) == "Nope: no" and s3mod.error_code(exc) == "Nope"
    assert s3mod.error_code(ValueError("x")) == ""
