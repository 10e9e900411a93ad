"""The Athena/Glue DDL (`sqlgen schema --format athena`) is Hive DDL: run it in real
pyspark with Hive support (a Derby metastore in a temporary directory) over the run's
files, then query the table as Athena would after MSCK REPAIR TABLE."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlgen.inspect.ddl import CATALOGS, TRUTH, statements, table_ddl
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


def arrow_of(spark_type) -> pa.DataType:
    """The Arrow type a Hive table's column type stands for in Parquet."""
    from pyspark.sql import types as T

    if isinstance(spark_type, T.DecimalType):
        return pa.decimal128(spark_type.precision, spark_type.scale)
    return {
        T.LongType(): pa.int64(),
        T.IntegerType(): pa.int32(),
        T.ShortType(): pa.int16(),
        T.DoubleType(): pa.float64(),
        T.StringType(): pa.string(),
        T.BooleanType(): pa.bool_(),
        T.TimestampType(): pa.timestamp("us", tz="UTC"),
    }[spark_type]


def test_athena_ddl_declares_the_payments_files_types(hive, published):
    run_ddl(hive, table_ddl("payments", "athena", published.payments.as_uri()))
    fields = [(f.name, arrow_of(f.dataType)) for f in hive.table("payments").schema.fields]
    path = sorted(published.payments.rglob("*.parquet"))[0]
    files = [(f.name, f.type) for f in pq.read_schema(path)]
    assert fields == [*files, ("year", pa.int32()), ("month", pa.int32())]


@pytest.mark.parametrize("table", [*CATALOGS, *(f"{TRUTH}.{t}" for t in CATALOGS)])
def test_athena_ddl_reads_a_catalog_folder(hive, published, tmp_path, table):
    # Athena reads folders: the catalog file goes in a folder of its own.
    namespace, _, name = table.rpartition(".")
    file = published.catalog / namespace / f"{name}.parquet"
    folder = tmp_path / table
    folder.mkdir()
    shutil.copy(file, folder)
    # Split the usual way, on `;`.
    for sql in table_ddl(table, "athena", folder.as_uri(), realism="v3").split(";"):
        if sql.strip():
            hive.sql(sql)
    try:
        data = pq.read_table(file)
        declared = [(f.name, arrow_of(f.dataType)) for f in hive.table(table).schema.fields]
        assert declared == [(f.name, f.type) for f in data.schema]
        got = sorted(tuple(r) for r in hive.table(table).collect())
        assert got == sorted(zip(*(data[c].to_pylist() for c in data.column_names), strict=True))
        assert len(got) == data.num_rows > 0
    finally:
        hive.sql(f"DROP TABLE IF EXISTS {table}")
