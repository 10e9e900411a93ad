"""Catalog tables as Parquet files of at most `catalog.max_size_mb` each.

A table that fits is one file, `<table>.parquet`; a bigger one is a folder of parts,
`<table>/part-00000.parquet`, ..., split in key order into equal row ranges, each part
within the bound (the legacy meaning of `max_size_mb`: a bound on a file, not on the
world). `table_files` gives the files of a table in either form, in order.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb

from sqlgen.config import DEFAULT_ROW_GROUP_SIZE
from sqlgen.errors import SqlgenError
from sqlgen.render import render

PART = "part-{:05d}.parquet"
_MARGIN = 0.9  # aim the parts a little under the bound: compression varies part to part


def parts_dir(path: Path) -> Path:
    """The folder of parts standing for the single file `path` (`cards.parquet` ->
    `cards/`)."""
    return path.with_suffix("")


def table_files(path: Path) -> list[Path]:
    """The files of the table written at `path`: the file, or its parts in order."""
    if path.is_file():
        return [path]
    return sorted(parts_dir(path).glob("part-[0-9][0-9][0-9][0-9][0-9].parquet"))


def _copy(con, table, path, columns, **part) -> float:
    con.execute(render("copy_table.sql", table=table, path=path, columns=columns,
                       row_group_size=DEFAULT_ROW_GROUP_SIZE, **part))
    return path.stat().st_size / 2**20


def write_table(con: duckdb.DuckDBPyConnection, table: str, path: Path,
                columns: list[str] | None, key: str, max_size_mb: float) -> list[Path]:
    """Write `table` (its `columns`, all if None) at `path`, split into parts by `key`
    order when one file would be over `max_size_mb`; the files written."""
    size = _copy(con, table, path, columns)
    if size <= max_size_mb:
        return [path]
    path.unlink()
    rows = con.execute(render("count_rows.sql", table=table)).fetchone()[0]
    folder = parts_dir(path)
    parts = math.ceil(size / (max_size_mb * _MARGIN))
    while True:
        per = math.ceil(rows / parts)
        parts = math.ceil(rows / per)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        sizes = [_copy(con, table, folder / PART.format(i), columns, part=i, part_rows=per,
                       order_by=key) for i in range(parts)]
        if max(sizes) <= max_size_mb:
            return table_files(path)
        if per == 1:
            shutil.rmtree(folder)
            raise SqlgenError(
                f"catalog table {table}: one row is already a {max(sizes):.3g} MB file, over "
                f"catalog.max_size_mb={max_size_mb:g}; raise max_size_mb")
        parts = max(parts + 1, math.ceil(parts * max(sizes) / (max_size_mb * _MARGIN)))
