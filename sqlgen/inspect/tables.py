"""Query results as text: a boxed table with every row asked for, CSV, or JSON.

Results are always fetched to the end (`fetchall`/`fetchmany` until empty): a result
left pending on a DuckDB connection blocks the next statement on it
("connection has an unfinished result"). DuckDB's own `show()` cuts tables to 20 rows;
these tables do not.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import duckdb

FORMATS = ("table", "csv", "json")
BATCH = 10_000  # rows fetched at a time when streaming CSV or JSON


@dataclass
class Result:
    columns: list[str]
    types: list[str]
    rows: list[tuple]


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Result:
    """All rows of one query, its column names and types; nothing left pending."""
    cur = con.execute(sql, params) if params is not None else con.execute(sql)
    rows = cur.fetchall()
    return Result([d[0] for d in cur.description], [str(d[1]) for d in cur.description], rows)


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple:
    """The first row of a query that returns one row (fetched to the end)."""
    return fetch(con, sql, params).rows[0]


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return repr(value)
    return str(value).replace("\n", "\\n").replace("\r", "\\r")  # one line per row


def _numeric(sql_type: str) -> bool:
    return sql_type.upper().startswith(
        ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
         "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
    )


def as_table(result: Result, note: str | None = None) -> str:
    """A boxed table (names, types, every row), optionally with a note line below."""
    cells = [[_cell(v) for v in row] for row in result.rows]
    widths = [
        max([len(name), len(kind), *(len(r[i]) for r in cells)])
        for i, (name, kind) in enumerate(zip(result.columns, result.types, strict=True))
    ]
    right = [_numeric(t) for t in result.types]

    def line(left: str, mid: str, end: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + end

    def row(values: Iterable[str], align: bool) -> str:
        parts = [
            f" {v:>{w}} " if align and r else f" {v:<{w}} "
            for v, w, r in zip(values, widths, right, strict=True)
        ]
        return "│" + "│".join(parts) + "│"

    lines = [line("┌", "┬", "┐"), row(result.columns, False), row(result.types, False)]
    lines.append(line("├", "┼", "┤"))
    lines += [row(r, True) for r in cells]
    lines.append(line("└", "┴", "┘"))
    if note:
        lines.append(note)
    return "\n".join(lines)


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # JSON has no NaN or infinity
    if isinstance(value, decimal.Decimal):
        # Exact as a number up to 15 significant digits (a double keeps them); else text.
        if not value.is_finite():
            return None
        return float(value) if len(value.as_tuple().digits) <= 15 else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def batches(cur: duckdb.DuckDBPyConnection, limit: int | None) -> Iterator[list[tuple]]:
    """The rows of a pending result in batches, at most `limit` rows (None: all)."""
    left = limit
    while left is None or left > 0:
        rows = cur.fetchmany(BATCH if left is None else min(BATCH, left))
        if not rows:
            return
        if left is not None:
            left -= len(rows)
        yield rows


def write_csv(columns: list[str], rows: Iterable[list[tuple]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for batch in rows:
        writer.writerows([_csv_value(v) for v in row] for row in batch)


def write_json(columns: list[str], rows: Iterable[list[tuple]], out: TextIO) -> None:
    """One JSON array of objects, one object per line; a repeated column name gets a
    suffix (`a`, `a_2`), so no value is lost."""
    seen: dict[str, int] = {}
    keys = []
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
        keys.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    columns = keys
    out.write("[")
    first = True
    for batch in rows:
        for row in batch:
            record = dict(zip(columns, (_json_value(v) for v in row), strict=True))
            out.write(("\n" if first else ",\n") + json.dumps(record, ensure_ascii=False))
            first = False
    out.write("\n]\n" if not first else "]\n")


def table_text(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> str:
    """A query's whole result as a boxed table (for the report's small aggregates)."""
    return as_table(fetch(con, sql, params))


def to_string(write, *args) -> str:
    buf = io.StringIO()
    write(*args, buf)
    return buf.getvalue()
