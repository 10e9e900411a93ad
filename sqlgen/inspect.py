"""Looking at output: ad-hoc SQL over a run's database, and the payments schema."""

from __future__ import annotations

from pathlib import Path

import duckdb

from sqlgen.errors import SqlgenError
from sqlgen.schema import table_schema
from sqlgen.timezone import use_utc
from sqlgen.writer import OutputDir


def open_database(out_dir: Path) -> duckdb.DuckDBPyConnection:
    out = OutputDir(out_dir)
    if not out.database.is_file():
        raise SqlgenError(f"{out.database} not found; run `sqlgen run` for this out_dir first")
    # UTC, so local hours (event_time + time_offset) and calendar days of the TIMESTAMPTZ
    # columns do not depend on the host's time zone.
    return use_utc(duckdb.connect(str(out.database), read_only=True))


def run_sql(out_dir: Path, query: str, max_rows: int = 40) -> str:
    con = open_database(out_dir)
    try:
        rel = con.sql(query)
        if rel is None:
            return "ok"
        return rel.limit(max_rows).__str__() if max_rows else str(rel)
    except duckdb.Error as exc:
        raise SqlgenError(f"SQL error: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()


def schema_text(table: str = "payments", id_type: str = "string") -> str:
    schema = table_schema(table)
    if table == "payments":
        schema = schema.with_id_type(id_type)
    width = max(len(c.name) for c in schema.columns)
    twidth = max(len(c.type) for c in schema.columns)
    lines = [f"{schema.table}:"]
    for c in schema.columns:
        null = "NULL" if c.nullable else "NOT NULL"
        lines.append(f"  {c.name:<{width}}  {c.type:<{twidth}}  {null:<8}  {c.description}")
    return "\n".join(lines)
