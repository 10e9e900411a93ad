"""Real pyspark (local[2]) reads the payments and catalogs, directly and through the
DDL `sqlgen schema --format spark` prints.

The session time zone is deliberately not UTC: instants must come back as the same
microseconds DuckDB reads, whatever zone Spark shows them in.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from sqlgen.ddl import statements, table_ddl
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


def test_cli_spark_ddl_creates_a_readable_table(spark, published):
    from pyspark.sql import types as T

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqlgen",
            "schema",
            "payments",
            "--format",
            "spark",
            "--location",
            str(published.payments),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for sql in statements(proc.stdout):
        spark.sql(sql)
    try:
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


@pytest.mark.parametrize("name", ["customers", "merchants", "cards"])
def test_catalog_ddl(spark, published, name):
    ddl = table_ddl(name, "spark", str(published.catalog / f"{name}.parquet"))
    for sql in statements(ddl):
        spark.sql(sql)
    try:
        assert spark.table(name).count() == published.catalog_rows(name) > 0
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {name}")
