"""Real pyspark (local[2]) reads the payments and catalogs, directly and through the
DDL `sqlgen schema --format spark` prints.

The session time zone is deliberately not UTC: instants must come back as the same
microseconds DuckDB reads, whatever zone Spark shows them in.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest

from sqlgen.inspect.ddl import CATALOGS, TRUTH
from tests.readers.conftest import SPARK_MARKS, spark_builder

pytestmark = SPARK_MARKS

SESSION_TZ = "America/New_York"


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        spark_builder("sqlgen-readers", SESSION_TZ, warehouse)
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def payments(spark, published):
    return spark.read.parquet(str(published.payments))


def test_counts_match_the_manifest(published, payments):
    from pyspark.sql import functions as F

    row = payments.agg(F.count("*"), F.sum(F.col("label_fraud").cast("int"))).first()
    assert tuple(row) == (published.manifest["rows"], published.manifest["fraud_rows"])


def test_partitions_filter_as_numbers(published, payments):
    assert payments.where("month < 2").count() == published.rows_in(lambda y, m: m < 2)
    assert payments.where("year = 2025").count() == published.manifest["rows"]


def test_types_are_natural(payments):
    from pyspark.sql import types as T

    fields = {f.name: f.dataType for f in payments.schema.fields}
    assert fields["transaction_id"] == T.StringType() and fields["device_id"] == T.StringType()
    # TimestampType is Spark's instant (LTZ); naive Parquet times would be TimestampNTZType.
    assert fields["event_time"] == T.TimestampType()
    assert fields["fraud_reported_at"] == T.TimestampType()
    assert fields["amount"] == T.DecimalType(12, 2)
    assert fields["year"] == T.IntegerType() and fields["month"] == T.IntegerType()


def test_instants_and_partitions(published, payments):
    rows = payments.selectExpr(
        "transaction_id",
        "unix_micros(event_time) AS us",
        "year",
        "month",
        "length(transaction_id) AS n",
    ).collect()
    assert {r.transaction_id: r.us for r in rows} == published.duckdb_instants()
    for r in rows:
        utc = dt.datetime.fromtimestamp(r.us / 1e6, dt.UTC)
        assert (utc.year, utc.month, r.n) == (r.year, r.month, 36)


def cli_ddl(published, table: str) -> list[str]:
    """`sqlgen schema <table> --format spark --out-dir <run>` (LOCATION derived, absolute,
    run from another directory), split the usual way: on `;`."""
    out = str(published.out)
    proc = subprocess.run(
        [sys.executable, "-m", "sqlgen", "schema", table, "--format", "spark", "--out-dir", out],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=published.out.parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert "realism v3" in proc.stdout or table == "payments"
    return [s for s in proc.stdout.split(";") if s.strip(" \n")]


def test_cli_spark_ddl_creates_a_readable_table(spark, published):
    from pyspark.sql import types as T

    for sql in cli_ddl(published, "payments"):
        spark.sql(sql)
    try:
        # Every column reads: as many non-NULL values as DuckDB finds in the files.
        columns = [f.name for f in spark.table("payments").schema.fields]
        counts = ", ".join(f"count({c})" for c in columns)
        in_spark = spark.sql(f"SELECT {counts} FROM payments").first()
        in_files = duckdb.connect().execute(
            f"SELECT {counts} FROM read_parquet(?, hive_partitioning = true)",
            [str(published.payments)],
        ).fetchone()
        assert tuple(in_spark) == in_files
        rows, frauds, ids = spark.sql(
            "SELECT count(*), count_if(label_fraud), count(DISTINCT transaction_id) FROM payments"
        ).first()
        assert (rows, frauds, ids) == (
            published.manifest["rows"],
            published.manifest["fraud_rows"],
            published.manifest["rows"],
        )
        parts = {r[0] for r in spark.sql("SHOW PARTITIONS payments").collect()}
        on_disk = {f"{p.parent.name}/{p.name}" for p in published.payments.glob("year=*/month=*")}
        assert parts == on_disk and len(parts) > 1
        # Partition values are typed: month = 2 finds the month=2 files' rows.
        feb = sum(f["rows"] for f in published.manifest["files"] if "/month=2/" in f["path"])
        assert (
            spark.sql("SELECT count(*) FROM payments WHERE year = 2025 AND month = 2").first()[0]
            == feb
            > 0
        )
        latest = spark.sql(
            "SELECT max(fraud_reported_at) > max(event_time), sum(amount) FROM payments"
        ).first()
        assert latest[0] is True and latest[1] > 0
        # The declared types are the files' types: instants (LTZ), the same microseconds.
        assert spark.table("payments").schema["event_time"].dataType == T.TimestampType()
        us = spark.sql("SELECT transaction_id, unix_micros(event_time) FROM payments").collect()
        assert dict(us) == published.duckdb_instants()
    finally:
        spark.sql("DROP TABLE IF EXISTS payments")


@pytest.mark.parametrize("table", [*CATALOGS, *(f"{TRUTH}.{t}" for t in CATALOGS)])
def test_catalog_ddl_reads_every_column_of_the_files(spark, published, table):
    """The v3 catalogs and their ground truth, through the CLI's DDL: every row and
    column as the file holds it (no column NULL for want of its name, none missing)."""
    namespace, _, name = table.rpartition(".")
    for sql in cli_ddl(published, table):
        spark.sql(sql)
    try:
        data = pq.read_table(published.catalog / namespace / f"{name}.parquet")
        frame = spark.table(table)
        assert frame.columns == data.column_names
        got = sorted(tuple(r) for r in frame.collect())
        assert got == sorted(zip(*(data[c].to_pylist() for c in data.column_names), strict=True))
        assert len(got) == data.num_rows > 0
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {table}")
