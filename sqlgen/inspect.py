"""Looking at output: ad-hoc SQL over a run's database, and the payments schema.

`sqlgen sql` can read the published run and nothing else: the database opens read-only,
its `payments` view is made again (a temporary view) over the folder's own files,
then DuckDB's file access is limited to the run's own Parquet files under
`out_dir/payments`
(`allowed_paths`, `enable_external_access = false`, settings locked), and only `SELECT`
statements run (no `COPY ... TO`, `ATTACH`, `INSTALL`/`LOAD`, `SET`, `EXPORT`).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from sqlgen.errors import SqlgenError
from sqlgen.render import glob_escape, render
from sqlgen.schema import table_schema
from sqlgen.timezone import use_utc
from sqlgen.writer import MANIFEST, OutputDir, published_files

# Statement kinds `sqlgen sql` runs; everything else (COPY, ATTACH, LOAD, SET, CALL,
# PRAGMA, EXPORT, EXPLAIN ANALYZE of a COPY, DDL) is refused before it reaches DuckDB.
ALLOWED_STATEMENTS = frozenset({duckdb.StatementType.SELECT})


def open_database(out_dir: Path) -> duckdb.DuckDBPyConnection:
    """The published run's database, read-only, able to read only that run's files."""
    out = OutputDir(out_dir)
    out.recover_for_reading()
    if out.current_run_name() is None:
        if out.database.is_file() and not out.database.is_symlink():
            raise SqlgenError(
                f"{out.root} was written by an older sqlgen; run `sqlgen run` on it again to "
                "convert it to the current layout"
            )
        raise SqlgenError(f"{out.database} not found; run `sqlgen run` for this out_dir first")
    database = out.database_file()
    if not database.is_file():
        raise SqlgenError(f"{out.database} not found; run `sqlgen run` for this out_dir first")
    files: list[str] = []
    if (out.payments / MANIFEST).is_file():
        published = published_files(out.root, out.read_manifest())
        # An out_dir of the previous, symlinked layout: the view names the resolved paths.
        files = sorted({*published, *map(os.path.realpath, published)})
    con = duckdb.connect(str(database), read_only=True)
    try:
        # UTC, so local hours (event_time + time_offset) and calendar days of the
        # TIMESTAMPTZ columns do not depend on the host's time zone.
        use_utc(con)
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        # The view names each file as an escaped glob; DuckDB checks both spellings.
        con.execute("SET allowed_paths = ?", [sorted({*files, *map(glob_escape, files)})])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        if files:
            # This folder's own files whatever the stored view names (a moved database
            # of an earlier sqlgen names its old folder's paths).
            con.execute(render("payments_view.sql", temp=True, files=published))
    except BaseException:
        con.close()
        raise
    return con


def check_read_only(query: str) -> None:
    """Refuse any statement that is not a plain query (one line, naming the kind)."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise SqlgenError(f"SQL error: {str(exc).splitlines()[0]}") from exc
    for statement in statements:
        if statement.type not in ALLOWED_STATEMENTS:
            kind = statement.type.name.replace("_", " ")
            raise SqlgenError(
                f"`sqlgen sql` runs read-only queries (SELECT ...); a {kind} statement is "
                "not allowed"
            )


def run_sql(out_dir: Path, query: str, max_rows: int = 40) -> str:
    check_read_only(query)
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
