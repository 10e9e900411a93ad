"""Polars: `scan_parquet` over the payments with Hive partitioning."""

from __future__ import annotations

import polars as pl
import pytest


@pytest.fixture(scope="module")
def lazy(published) -> pl.LazyFrame:
    return pl.scan_parquet(published.payments / "**" / "*.parquet", hive_partitioning=True)


@pytest.mark.parametrize("glob", [False, True], ids=["directory", "glob"])
def test_the_folder_opens_with_hive_partitioning_alone(published, glob):
    # The directory itself: Polars refuses a folder holding a non-empty file that is
    # not Parquet, so payments/ holds only the Hive tree and an empty _SUCCESS.
    source = published.payments / "**" / "*.parquet" if glob else published.payments
    lazy = pl.scan_parquet(source, hive_partitioning=True)
    schema = lazy.collect_schema()
    assert schema["year"].is_integer() and schema["month"].is_integer()
    january = lazy.filter(pl.col("month") < 2).select(pl.len()).collect().item()
    assert january == published.rows_in(lambda y, m: m < 2)
    counts = lazy.filter(pl.col("year") == 2025).select(pl.len(), pl.col("label_fraud").sum())
    assert counts.collect().row(0) == (published.manifest["rows"], published.manifest["fraud_rows"])


def test_counts_match_the_manifest(published, lazy):
    counts = lazy.select(pl.len(), pl.col("label_fraud").sum()).collect()
    assert counts.row(0) == (published.manifest["rows"], published.manifest["fraud_rows"])


def test_types_are_natural(lazy):
    schema = lazy.collect_schema()
    assert schema["transaction_id"] == pl.String and schema["device_id"] == pl.String
    assert schema["event_time"] == pl.Datetime("us", "UTC")
    assert schema["fraud_reported_at"] == pl.Datetime("us", "UTC")
    assert schema["amount"] == pl.Decimal(12, 2)
    assert schema["year"].is_integer() and schema["month"].is_integer()


def test_partitions_are_the_utc_year_and_month(published, lazy):
    bad, short, lo, hi = (
        lazy.select(
            (
                (pl.col("event_time").dt.year() != pl.col("year"))
                | (pl.col("event_time").dt.month() != pl.col("month"))
            )
            .sum()
            .alias("bad"),
            (pl.col("transaction_id").str.len_chars() != 36).sum().alias("short"),
            pl.col("event_time").min().alias("lo"),
            pl.col("event_time").max().alias("hi"),
        )
        .collect()
        .row(0)
    )
    assert bad == 0 and short == 0
    assert lo >= published.start and hi < published.end


def test_instants_agree_with_duckdb(published, lazy):
    polars = dict(
        lazy.select("transaction_id", pl.col("event_time").dt.epoch("us")).collect().iter_rows()
    )
    assert polars == published.duckdb_instants()


@pytest.mark.parametrize("name", ["customers", "merchants", "cards"])
def test_catalogs_open(published, name):
    rows = pl.scan_parquet(published.catalog / f"{name}.parquet").select(pl.len()).collect()
    assert rows.item() == published.catalog_rows(name) > 0
