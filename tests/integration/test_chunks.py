"""One chunk through the real pipeline: draws, DuckDB joins, labels, Parquet."""

from __future__ import annotations

import duckdb
import pytest

from sqlgen.errors import SqlgenError
from sqlgen.generate.chunks import ChunkContext, write_chunk
from sqlgen.generate.plan import plan_chunks
from sqlgen.world.catalogs import build_catalogs, write_catalogs
from sqlgen.world.pools import make_pools


@pytest.fixture
def context(tiny, tmp_path):
    con = duckdb.connect()
    build_catalogs(con, tiny.catalog, tiny.seed)
    write_catalogs(con, tmp_path / "catalog", tiny.catalog.max_size_mb, tiny.realism)
    con.close()
    ctx = ChunkContext(tiny, tmp_path / "catalog")
    ctx.use_pools(make_pools(tiny.seed))
    yield ctx
    ctx.close()


def test_written_chunk_holds_its_planned_rows_and_frauds(context, tmp_path):
    spec = plan_chunks(context.cfg)[0]
    stat = write_chunk(context, spec, tmp_path / "out")
    # fetchall: fetchone would leave the default connection's result unfinished for the
    # next test that uses it.
    ((rows, frauds),) = duckdb.execute(
        "SELECT count(*), count(*) FILTER (label_fraud) FROM read_parquet(?)",
        [str(tmp_path / "out" / spec.relpath)],
    ).fetchall()
    assert (stat.rows, stat.fraud_rows) == (rows, frauds) == (spec.rows, spec.fraud_target)


@pytest.mark.parametrize(
    ("table", "check"),
    [("merchants", "scored"), ("card_facts", "written")],  # score query, row query
)
def test_a_draw_lost_in_the_catalog_joins_fails_the_chunk(context, tmp_path, table, check):
    spec = plan_chunks(context.cfg)[0]
    # The most used ids gone from one catalog table: their rows would vanish in a join.
    column = "merchant_id" if table == "merchants" else "card_id"
    context.con.execute(f"DELETE FROM {table} WHERE {column} < 20")
    with pytest.raises(SqlgenError, match=f"internal check failed: chunk 0 {check}"):
        write_chunk(context, spec, tmp_path / "out")
