"""Catalog parts (`catalog.max_size_mb` smaller than a table) delivered to S3 by the
commit protocol: every part under its run-unique key, byte for byte, in the S3
manifest; the next run's sweep removes them."""

from __future__ import annotations

import json

from sqlgen.publish.s3_commit import CATALOG_KEY
from tests.s3.test_upload import TINY, keys, s3_manifest, setup_buckets, sqlgen

BOUND = "catalog.max_size_mb=0.01"


def test_every_part_is_delivered_and_swept(aws, tmp_path):
    setup_buckets(aws)
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--s3", "--realism", "v3",
                  "--set", BOUND)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
    run_id = manifest["run_id"]
    catalogues = keys(aws, "artifacts-bucket")
    parts = {k for k in catalogues if "/part-" in k}
    assert f"catalogues/cards/part-00001-{run_id}.parquet" in parts
    assert f"catalogues/ground_truth/cards/part-00001-{run_id}.parquet" in parts
    assert {e["key"] for e in s3_manifest(aws)["catalog_files"]} == set(catalogues)
    assert len(catalogues) == len(manifest["catalog_files"])
    for key, body in catalogues.items():
        assert CATALOG_KEY.fullmatch(key.removeprefix("catalogues/"))["run"] == run_id
        local = key.removeprefix("catalogues/").replace(f"-{run_id}", "")
        assert body == (out / "catalog" / local).read_bytes(), key
    # the next run (whole files) sweeps every part of the first
    proc = sqlgen("run", "--config", TINY, "--out-dir", tmp_path / "again", "--s3",
                  "--realism", "v3", "--seed", "8")
    assert proc.returncode == 0, proc.stderr
    after = keys(aws, "artifacts-bucket")
    assert not any("/part-" in k for k in after) and not set(after) & set(catalogues)
