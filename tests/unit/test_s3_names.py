"""Run-unique S3 names, and which keys a commit removes (pure functions, no I/O)."""

from __future__ import annotations

from sqlgen.publish.s3_commit import CATALOG_KEY, DATA_KEY, _stale, manifest_key, run_unique

OLD = "20251101T000000000000Z-0123abcd"
NOW = "20261126T095126047156Z-c9c447dc"
NEWER = "20261126T095200000000Z-ffffffff"
LIVE = "20200101T000000000000Z-00000000"  # a run in flight whose clock is slow


def test_run_unique_names():
    assert run_unique("year=2025/month=1/part-00000.parquet", NOW) == (
        f"year=2025/month=1/part-00000-{NOW}.parquet"
    )
    name = run_unique("year=2025/month=12/part-00000.parquet", NOW)
    assert DATA_KEY.fullmatch(name)["run"] == NOW


def test_the_manifest_is_beside_the_prefix_not_in_it():
    # A reader that opens the prefix as a directory (Polars) meets only Parquet there.
    assert manifest_key("payments/") == ".sqlgen/payments/manifest.json"
    assert not manifest_key("p/").startswith("p/")


def test_stale_keys_are_sqlgen_names_under_the_prefix_but_kept_and_live_runs():
    mine = f"p/year=2025/month=1/part-00000-{NOW}.parquet"
    keys = [
        mine,
        f"p/year=2025/month=1/part-00001-{OLD}.parquet",  # an earlier run: removed
        f"p/year=2025/month=01/part-00004-{OLD}.parquet",  # zero-padded (earlier): removed
        "p/year=2025/month=01/part-00002.parquet",  # before run-unique names: removed
        f"p/year=2025/month=01/part-00003-{NEWER}.parquet",  # a later id, not live: removed
        f"p/year=2025/month=02/part-00004-{LIVE}.parquet",  # a live run (older id): kept
        f"p/year=2025/month=01/part-00005-{NOW}.parquet",  # this run's, not kept: removed
        "p/year=2025/month=01/notes.parquet",  # not sqlgen's name: kept
        "p/_manifest.json",
        f"q/year=2025/month=01/part-00000-{OLD}.parquet",  # another prefix: kept
        f"p/sub/year=2025/month=01/part-00000-{OLD}.parquet",  # nested dataset: kept
    ]
    assert list(_stale(keys, "p/", DATA_KEY, {mine}, {LIVE})) == [
        f"p/year=2025/month=1/part-00001-{OLD}.parquet",
        f"p/year=2025/month=01/part-00004-{OLD}.parquet",
        "p/year=2025/month=01/part-00002.parquet",
        f"p/year=2025/month=01/part-00003-{NEWER}.parquet",
        f"p/year=2025/month=01/part-00005-{NOW}.parquet",
    ]


def test_catalog_keys_include_v3_ground_truth():
    keys = [
        f"c/cards-{OLD}.parquet",
        f"c/ground_truth/customers-{OLD}.parquet",  # v3's ground truth: swept too
        f"c/ground_truth/cards-{NOW}.parquet",  # kept
        f"c/other/cards-{OLD}.parquet",  # not sqlgen's: kept
    ]
    keep = {f"c/ground_truth/cards-{NOW}.parquet"}
    assert list(_stale(keys, "c/", CATALOG_KEY, keep, set())) == keys[:2]
