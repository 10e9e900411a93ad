"""Python API for notebooks and tests, mirroring the legacy `core` module."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from sqlgen.config import DEFAULT_ROW_GROUP_SIZE, GeneratorConfig, load_config
from sqlgen.generate.chunks import ChunkContext, build_chunk
from sqlgen.generate.plan import plan_chunks
from sqlgen.render import render
from sqlgen.world.pools import make_pools

__all__ = ["generate_dataframe", "load_config", "write_parquet"]


def generate_dataframe(cfg: GeneratorConfig) -> pa.Table:
    """The labelled payments of a (small) run as one Arrow table, in memory.

    Same rows as `sqlgen run` with the same config; nothing is written.
    """
    ctx = ChunkContext(cfg, None)
    try:
        ctx.use_pools(make_pools(cfg.seed, cfg.realism))
        return pa.concat_tables([build_chunk(ctx, spec) for spec in plan_chunks(cfg)])
    finally:
        ctx.close()


def write_parquet(table: pa.Table, path: str | Path) -> Path:
    """Write an Arrow table of payments to one Parquet file with DuckDB."""
    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.register("payments_arrow", table)
        sql = render(
            "copy_table.sql",
            table="payments_arrow",
            path=path,
            row_group_size=DEFAULT_ROW_GROUP_SIZE,
        )
        con.execute(sql)
    finally:
        con.close()
    return path
