"""`sqlgen schema --format`: DDL generated from schema/*.yaml (no data read here; the
Spark DDL is run against real files in tests/readers/test_spark.py)."""

from __future__ import annotations

import re

import duckdb
import pytest

from sqlgen.cli import main
from sqlgen.ddl import hive_string, table_ddl
from sqlgen.errors import SqlgenError
from sqlgen.schema import payments_schema, table_schema


@pytest.mark.parametrize("id_type", ["string", "uuid"])
def test_duckdb_ddl_creates_the_written_types(id_type):
    con = duckdb.connect()
    con.execute(table_ddl("payments", "duckdb", id_type=id_type))
    described = [(r[0], r[1]) for r in con.execute("DESCRIBE payments").fetchall()]
    expected = [(c.name, c.described_type) for c in payments_schema(id_type).columns]
    assert described == [*expected, ("year", "INTEGER"), ("month", "INTEGER")]
    assert ("transaction_id", "UUID" if id_type == "uuid" else "VARCHAR") in described


@pytest.mark.parametrize(
    ("text", "literal"),
    [("plain", "'plain'"), ("card's", r"'card\'s'"), (r"a\b", r"'a\\b'")],
)
def test_hive_string_escapes_with_backslashes(text, literal):
    assert hive_string(text) == literal


def test_hive_string_rejects_newlines():
    with pytest.raises(ValueError, match="newline"):
        hive_string("two\nlines")


def _columns(ddl: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s+`(\w+)` (\w+(?:\(\d+,\d+\))?)", ddl, flags=re.MULTILINE)


def test_athena_ddl_is_a_partitioned_external_parquet_table():
    ddl = table_ddl("payments", "athena")
    cols = dict(_columns(ddl))
    assert list(cols) == table_schema("payments").names
    assert cols["transaction_id"] == "string" and cols["event_time"] == "timestamp"
    assert cols["amount"] == "decimal(12,2)" and cols["time_offset"] == "smallint"
    assert "PARTITIONED BY (`year` int, `month` int)" in ddl
    assert "STORED AS PARQUET" in ddl and "LOCATION 's3://YOUR-RAW-BUCKET/payments/';" in ddl
    assert ddl.rstrip().endswith("MSCK REPAIR TABLE `payments`;")
    assert not re.search(r"VARCHAR|TIMESTAMPTZ|UUID\b", ddl.split("(", 1)[1].replace("UUID v", ""))


def test_spark_ddl_types_and_location():
    ddl = table_ddl("payments", "spark", location="/data/run/payments")
    cols = dict(_columns(ddl))
    assert cols["event_time"] == "TIMESTAMP_LTZ" and cols["fraud_reported_at"] == "TIMESTAMP_LTZ"
    assert cols["device_id"] == "STRING" and cols["year"] == "INT"
    assert "LOCATION '/data/run/payments';" in ddl and "Replace LOCATION" not in ddl


def test_catalog_ddl_has_no_partitions():
    ddl = table_ddl("cards", "athena")
    assert [c for c, _ in _columns(ddl)] == table_schema("cards").names
    assert "PARTITIONED" not in ddl and "MSCK" not in ddl
    assert "s3://YOUR-ARTIFACTS-BUCKET/catalogues/cards/" in ddl


@pytest.mark.parametrize("fmt", ["athena", "spark"])
def test_uuid_ids_have_no_hive_type(fmt):
    with pytest.raises(SqlgenError, match=r"transaction_id: .*UUID.*output.id_type: string"):
        table_ddl("payments", fmt, id_type="uuid")


def test_cli_error_is_one_line_and_exit_1(capsys, caplog):
    assert main(["schema", "--format", "spark", "--id-type", "uuid"]) == 1
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "transaction_id" in errors[0].getMessage()
    assert capsys.readouterr().out == ""
