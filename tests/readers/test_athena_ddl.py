"""The Athena/Glue DDL (`sqlgen schema --format athena`) is Hive DDL: run it in real
pyspark with Hive support (a Derby metastore in a temporary directory) over the run's
files, then query the table as Athena would after MSCK REPAIR TABLE."""

from __future__ import annotations

import shutil

import pytest

from sqlgen.ddl import statements, table_ddl
from tests.readers.conftest import SPARK_MARKS, spark_builder

pytestmark = SPARK_MARKS


@pytest.fixture(scope="module")
def hive(tmp_path_factory):
    home = tmp_path_factory.mktemp("hive")
    session = (
        spark_builder("sqlgen-athena-ddl", "Asia/Tokyo", home / "warehouse")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={home}")
        .enableHiveSupport()
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def run_ddl(session, ddl: str) -> None:
    for statement in statements(ddl):
        session.sql(statement)


def test_athena_ddl_reads_the_payments(hive, published):
    from pyspark.sql import types as T

    run_ddl(hive, table_ddl("payments", "athena", published.payments.as_uri()))
    rows, frauds, short, feb = hive.sql(
        "SELECT count(*), count_if(label_fraud), count_if(length(transaction_id) <> 36),"
        " count_if(year = 2025 AND month = 2) FROM payments"
    ).first()
    assert (rows, frauds, short) == (
        published.manifest["rows"],
        published.manifest["fraud_rows"],
        0,
    )
    expected_feb = sum(f["rows"] for f in published.manifest["files"] if "/month=2/" in f["path"])
    assert feb == expected_feb > 0
    fields = {f.name: f.dataType for f in hive.table("payments").schema.fields}
    assert fields["event_time"] == T.TimestampType() and fields["amount"] == T.DecimalType(12, 2)
    us = dict(hive.sql("SELECT transaction_id, unix_micros(event_time) FROM payments").collect())
    assert us == published.duckdb_instants()


def test_athena_ddl_reads_a_catalog_folder(hive, published, tmp_path):
    # Athena reads folders: the catalog file goes in a folder of its own.
    folder = tmp_path / "merchants"
    folder.mkdir()
    shutil.copy(published.catalog / "merchants.parquet", folder)
    run_ddl(hive, table_ddl("merchants", "athena", folder.as_uri()))
    assert hive.table("merchants").count() == published.catalog_rows("merchants")
