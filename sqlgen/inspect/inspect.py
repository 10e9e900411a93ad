"""Looking at output: ad-hoc SQL over a run's database, and the payments schema.

`sqlgen sql` can read the published run and nothing else: the database opens read-only,
its `payments` view is made again (a temporary view) over the folder's own files,
then DuckDB's file access is limited to the run's own Parquet files under
`out_dir/payments`
(`allowed_paths`, `enable_external_access = false`, settings locked), and only `SELECT`
statements run (no `COPY ... TO`, `ATTACH`, `INSTALL`/`LOAD`, `SET`, `EXPORT`).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TextIO

import duckdb

from sqlgen.errors import SqlgenError
from sqlgen.inspect.tables import FORMATS, Result, as_table, batches, write_csv, write_json
from sqlgen.publish.writer import OutputDir, published_files
from sqlgen.render import glob_escape, render
from sqlgen.world.timezone import use_utc

# Statement kinds `sqlgen sql` runs; everything else (COPY, ATTACH, LOAD, SET, CALL,
# PRAGMA, EXPORT, EXPLAIN ANALYZE of a COPY, DDL) is refused before it reaches DuckDB.
ALLOWED_STATEMENTS = frozenset({duckdb.StatementType.SELECT})


def open_database(
    out_dir: Path, *, memory_limit: str | None = None, temp_directory: str | None = None
) -> duckdb.DuckDBPyConnection:
    """The published run's database, read-only, able to read only that run's files;
    optionally with DuckDB's memory capped and spilling to `temp_directory`."""
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
    if out.manifest_file().is_file():
        published = published_files(out.root, read_manifest(out))
        # An out_dir of the previous, symlinked layout: the view names the resolved paths.
        files = sorted({*published, *map(os.path.realpath, published)})
    con = duckdb.connect(str(database), read_only=True)
    try:
        if not files and has_payments_view(con):
            raise SqlgenError(
                f"{out.manifest_file()} is missing, so the published payments cannot be "
                "checked or read; restore it, or run `sqlgen run` for this out_dir again"
            )
        # UTC, so local hours (event_time + time_offset) and calendar days of the
        # TIMESTAMPTZ columns do not depend on the host's time zone.
        use_utc(con)
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        if memory_limit is not None:
            con.execute("SET memory_limit = ?", [memory_limit])
        if temp_directory is not None:
            con.execute("SET temp_directory = ?", [temp_directory])
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


def read_manifest(out: OutputDir) -> dict:
    """The published run's manifest; a damaged one is one line naming it and the fix."""
    manifest = out.read_manifest()  # missing or not JSON: one line from the writer
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise SqlgenError(
            f"{out.manifest_file()} is damaged (not a manifest: no list of files); restore "
            "it, or run `sqlgen run` for this out_dir again"
        )
    return manifest


def has_payments_view(con: duckdb.DuckDBPyConnection) -> bool:
    """A payments run (a catalogs-only run has no `payments` view and no manifest)."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE NOT internal AND view_name = 'payments'"
    ).fetchall()
    return rows[0][0] > 0


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


DEFAULT_TABLE_ROWS = 40  # rows a table prints unless --max-rows says otherwise


def run_sql(
    out_dir: Path, query: str, max_rows: int | None = None, fmt: str = "table"
) -> str:
    """The query's result as text (see `write_sql`)."""
    buf = io.StringIO()
    write_sql(out_dir, query, buf, max_rows, fmt)
    return buf.getvalue().removesuffix("\n")


def write_sql(
    out_dir: Path, query: str, out: TextIO, max_rows: int | None = None, fmt: str = "table"
) -> None:
    """Run a read-only query and write its result to `out` as a table (every row up to
    `max_rows`, default 40; 0 means all), CSV or JSON (all rows unless `max_rows`)."""
    if max_rows is not None and max_rows < 0:
        raise SqlgenError(f"--max-rows {max_rows}: give 0 (all rows) or a positive number")
    if fmt not in FORMATS:
        raise SqlgenError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    check_read_only(query)
    con = open_database(out_dir)
    try:
        cur = con.execute(query)
        if cur.description is None:
            out.write("ok\n")
            return
        columns = [d[0] for d in cur.description]
        if fmt == "csv":
            write_csv(columns, batches(cur, max_rows or None), out)
        elif fmt == "json":
            write_json(columns, batches(cur, max_rows or None), out)
        else:
            limit = DEFAULT_TABLE_ROWS if max_rows is None else max_rows
            rows = [r for batch in batches(cur, limit + 1 if limit else None) for r in batch]
            note = None
            if limit and len(rows) > limit:
                rows = rows[:limit]
                note = f"(first {limit:,} rows; --max-rows 0 prints all)"
            types = [str(d[1]) for d in cur.description]
            out.write(as_table(Result(columns, types, rows), note) + "\n")
    except duckdb.Error as exc:
        raise SqlgenError(f"SQL error: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()


def schema_text(table: str = "payments", id_type: str = "string", realism: str = "v3") -> str:
    from sqlgen.inspect.ddl import file_schema

    schema = file_schema(table, realism, id_type)
    width = max(len(c.name) for c in schema.columns)
    twidth = max(len(c.type) for c in schema.columns)
    lines = [f"{table}:" if table == "payments" else f"{table} (realism {realism}):"]
    for c in schema.columns:
        null = "NULL" if c.nullable else "NOT NULL"
        lines.append(f"  {c.name:<{width}}  {c.type:<{twidth}}  {null:<8}  {c.description}")
    return "\n".join(lines)
