"""`sqlgen schema --format duckdb|athena|spark` declares exactly the columns and types of
the files a default (v3) run writes: every table, ground truth included, read back
with pyarrow. (Spark and Hive then run the DDL over the files: test_spark.py,
test_athena_ddl.py.)"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlgen.inspect.ddl import TABLES, table_ddl

UTC_US = pa.timestamp("us", tz="UTC")
# Declared type (any of the three dialects) -> the Arrow type of the Parquet column.
ARROW = {
    "BIGINT": pa.int64(),
    "INT": pa.int32(),
    "INTEGER": pa.int32(),
    "SMALLINT": pa.int16(),
    "DOUBLE": pa.float64(),
    "STRING": pa.string(),
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": UTC_US,  # Hive's timestamp: Athena reads isAdjustedToUTC instants
    "TIMESTAMP_LTZ": UTC_US,
    "TIMESTAMPTZ": UTC_US,
}
_HIVE_COLUMN = re.compile(r"^\s+`(\w+)` (\w+(?:\(\d+,\d+\))?)", re.MULTILINE)
_DUCK_COLUMN = re.compile(r"^    (\w+) (\w+(?:\(\d+,\s*\d+\))?)( NOT NULL)?,?  --", re.MULTILINE)


def arrow_type(declared: str) -> pa.DataType:
    if m := re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", declared.upper()):
        return pa.decimal128(int(m[1]), int(m[2]))
    return ARROW[declared.upper()]


def declared(ddl: str, fmt: str) -> list[tuple[str, pa.DataType, bool]]:
    """(name, Arrow type, declared NOT NULL) of each column the DDL declares."""
    if fmt == "duckdb":
        return [(n, arrow_type(t), bool(nn)) for n, t, nn in _DUCK_COLUMN.findall(ddl)]
    return [(n, arrow_type(t), False) for n, t in _HIVE_COLUMN.findall(ddl)]


def table_file(published, table: str):
    if table == "payments":
        return sorted(published.payments.rglob("*.parquet"))[0]
    namespace, _, name = table.rpartition(".")
    return published.catalog / namespace / f"{name}.parquet"


@pytest.mark.parametrize("fmt", ["duckdb", "athena", "spark"])
@pytest.mark.parametrize("table", TABLES)
def test_declared_columns_are_the_files_columns(published, table, fmt):
    path = table_file(published, table)
    data = pq.read_table(path)
    ddl = table_ddl(table, fmt, str(path.parent), realism="v3")
    columns = declared(ddl, fmt)
    if table == "payments" and fmt == "athena":  # partitions: from the directories
        assert "PARTITIONED BY (`year` int, `month` int)" in ddl
    elif table == "payments":
        assert [(n, t) for n, t, _ in columns[-2:]] == [("year", pa.int32()), ("month", pa.int32())]
        columns = columns[:-2]
    assert [(n, t) for n, t, _ in columns] == [(f.name, f.type) for f in data.schema]
    for name, _, not_null in columns:
        assert not (not_null and data[name].null_count), f"{name} is NOT NULL in the DDL"
