"""Rules of the DDL, the `sqlgen sql` statement check and the report's local hour, on
hand-checked inputs (issue 25)."""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa
import pytest

from sqlgen.errors import SqlgenError
from sqlgen.inspect.ddl import table_ddl
from sqlgen.inspect.inspect import check_read_only
from sqlgen.render import render
from sqlgen.schema import payments_schema


def _declared(ddl: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r"^\s*`(\w+)` (\w+(?:\(\d+,\d+\))?)", ddl, re.M)}


@pytest.mark.parametrize(("fmt", "bigint"), [("athena", "bigint"), ("spark", "BIGINT")])
def test_ddl_declares_64_bit_ids_as_bigint(fmt, bigint):
    declared = _declared(table_ddl("payments", fmt, location="/data/out/payments"))
    ids = [c.name for c in payments_schema().columns if c.type == "BIGINT"]
    assert {"customer_id", "merchant_id", "card_id"} <= set(ids)
    assert {name: declared[name] for name in ids} == dict.fromkeys(ids, bigint)
    assert declared["time_offset"].lower() == "smallint"
    assert declared["amount"].lower() == "decimal(12,2)"


@pytest.mark.parametrize("query", [
    "SELECT 1; CREATE TEMP TABLE t AS SELECT 2",
    "SELECT 1; SELECT 2; SET threads = 1",
    "FROM payments LIMIT 1;\nINSERT INTO x VALUES (1)",
])
def test_every_statement_of_a_query_is_checked(query):
    # The statement check alone, no database or file sandbox behind it.
    with pytest.raises(SqlgenError, match="read-only queries"):
        check_read_only(query)


def test_several_plain_queries_pass_the_check():
    check_read_only("SELECT 1; SELECT 2;\nFROM range(3)")


def test_report_local_hour_adds_the_offset():
    con = duckdb.connect()
    con.execute(render("set_utc.sql"))
    con.register("p_src", pa.table({
        # 23:30 UTC at +120 min: 01:30 local; 03:00 UTC at -300: 22:00; 12:00 UTC at +330:
        # 17:30; 00:10 UTC at -60: 23:10 of the day before.
        "event_time": pa.array([1736983800, 1736910000, 1736942400, 1736899800],
                               pa.timestamp("s", tz="UTC")),
        "time_offset": pa.array([120, -300, 330, -60], pa.int16()),
        "label_fraud": [True, False, False, True],
    }))
    con.execute("CREATE TABLE payments AS SELECT * FROM p_src")
    rows = con.execute(render("report_rate_by.sql", dimension="local_hour")).fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == {1: (1, 1), 22: (1, 0), 17: (1, 0),
                                                  23: (1, 1)}
