"""Where one worker's time goes: each stage of a chunk, timed in one process.

    python benchmarks/chunk_stages.py                  # default config, first 4 chunks
    python benchmarks/chunk_stages.py --rows 200000 --chunks 2

Runs `write_chunk` (the code every executor runs) on the first chunks of the run the
config plans, with one DuckDB thread as in a worker, and prints milliseconds per chunk,
microseconds per row and the share of each stage. Catalogs and pools are made first and
not counted. For the cost of writing alone it also times `COPY` of the last chunk's rows
once they are built into a table. Machines here are noisy: compare shares, and rows of
one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from sqlgen.config import load_config, with_overrides
from sqlgen.generate.chunks import ChunkContext, label_chunk, release, write_chunk
from sqlgen.generate.plan import plan_chunks
from sqlgen.render import render
from sqlgen.world.catalogs import build_catalogs, write_catalogs
from sqlgen.world.pools import make_pools


class StageTimer:
    """Adds up seconds per stage name (the `Timer` that `sqlgen.generate.chunks` accepts): wall
    seconds, or CPU seconds with `clock=time.process_time`."""

    def __init__(self, clock=time.perf_counter) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.clock = clock

    @contextlib.contextmanager
    def __call__(self, stage: str):
        start = self.clock()
        try:
            yield
        finally:
            self.seconds[stage] += self.clock() - start


def open_context(cfg, work: Path) -> ChunkContext:
    """A worker's chunk context for `cfg`, its catalogs written under `work` first (as
    the driver does); catalogs and pools are not timed."""
    catalog_dir = None
    if cfg.realism != "v1":
        con = duckdb.connect()
        build_catalogs(con, cfg.catalog, cfg.seed, world=cfg.realism == "v3")
        write_catalogs(con, work / "catalog", cfg.catalog.max_size_mb, cfg.realism)
        con.close()
        catalog_dir = work / "catalog"
    ctx = ChunkContext(cfg, catalog_dir)
    ctx.use_pools(make_pools(cfg.seed, cfg.realism))
    return ctx


def write_only(ctx: ChunkContext, spec, path: Path) -> float:
    """Seconds to COPY the chunk's finished rows from a DuckDB table (no joins, no draws)."""
    label_chunk(ctx, spec)
    try:
        ctx.con.execute(render("create_table_as.sql", table="built_rows", query=ctx.rows_sql))
    finally:
        release(ctx)
    start = time.perf_counter()
    ctx.con.execute(
        render(
            "copy_chunk.sql",
            query=render("select_all.sql", table="built_rows"),
            path=path,
            row_group_size=ctx.cfg.row_group_size,
            compression=ctx.cfg.compression,
            compression_level=ctx.cfg.compression_level,
        )
    )
    seconds = time.perf_counter() - start
    ctx.con.execute(render("drop_table.sql", table="built_rows"))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=None, help="default: the built-in one")
    parser.add_argument("--rows", type=int, default=None, help="rows of the planned run")
    parser.add_argument("--chunks", type=int, default=4, help="chunks to time")
    args = parser.parse_args()
    cfg = load_config(args.config)
    if args.rows is not None:
        cfg = with_overrides(cfg, rows=args.rows)
    specs = plan_chunks(cfg)[: args.chunks]
    with tempfile.TemporaryDirectory(prefix="sqlgen-stages-") as tmp:
        work = Path(tmp)
        ctx = open_context(cfg, work)
        timer = StageTimer()
        for spec in specs:
            write_chunk(ctx, spec, work / "out", timer)
        write_seconds = write_only(ctx, specs[-1], work / "built.parquet")
        ctx.close()

    rows = sum(s.rows for s in specs)
    total = sum(timer.seconds.values())
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}; "
        f"{len(specs)} chunks, {rows:,} rows, realism {cfg.realism}, one DuckDB thread"
    )
    print(f"{'stage':<18} {'ms/chunk':>9} {'µs/row':>7} {'share':>6}")
    print("-" * 43)
    for stage, seconds in timer.seconds.items():
        print(
            f"{stage:<18} {seconds / len(specs) * 1e3:9.1f} {seconds / rows * 1e6:7.3f} "
            f"{seconds / total:6.1%}"
        )
    print("-" * 43)
    print(f"{'total':<18} {total / len(specs) * 1e3:9.1f} {total / rows * 1e6:7.3f}")
    print(
        f"\nCOPY of the last chunk's finished rows from a table: "
        f"{write_seconds / specs[-1].rows * 1e6:.3f} µs/row "
        f"({write_seconds / (total / rows * specs[-1].rows):.0%} of the chunk's whole cost)"
    )


if __name__ == "__main__":
    main()
