"""DuckDB opens the payments folder by its directory, or by the usual glob, with Hive
partitioning alone: `year` and `month` are numbers (`month=1`, not `month=01`, which
DuckDB's inference keeps as VARCHAR), and nothing else in the folder gets in the way."""

from __future__ import annotations

import duckdb
import pytest


@pytest.fixture(params=["directory", "glob"])
def source(request, published) -> str:
    if request.param == "directory":
        return str(published.payments)
    return str(published.payments / "**" / "*.parquet")


def test_partition_columns_are_integers(source):
    con = duckdb.connect()
    types = con.execute(
        "SELECT DISTINCT typeof(year), typeof(month) "
        "FROM read_parquet(?, hive_partitioning = true)",
        [source],
    ).fetchall()
    assert types == [("BIGINT", "BIGINT")]


def test_numeric_filters_count_what_the_manifest_says(published, source):
    con = duckdb.connect()
    query = "SELECT count(*), count_if(label_fraud) FROM read_parquet(?, hive_partitioning = true)"
    january = con.execute(f"{query} WHERE month < 2", [source]).fetchone()[0]
    assert january == published.rows_in(lambda y, m: m < 2)
    rows, frauds = con.execute(f"{query} WHERE year = 2025", [source]).fetchone()
    assert (rows, frauds) == (published.manifest["rows"], published.manifest["fraud_rows"])
    months = con.execute(
        "SELECT list(DISTINCT month ORDER BY month) FROM read_parquet(?, hive_partitioning = true)",
        [source],
    ).fetchone()[0]
    assert months == [1, 2, 3]
