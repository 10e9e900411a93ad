"""The numpy stages of a chunk alone, repeated in one process: CPU time per stage and a
digest of their output (the draws, codes and behaviour signals).

    python benchmarks/numpy_stages.py --config v3.yaml --rows 10000000 --chunks 2

Runs `draw_chunk` and, for v3, `behaviour` on the first chunks `--repeat` times after
one warm-up (the run's fraud plan is built before timing), and prints the best and
median µs/row per stage. CPU time (`time.process_time`), so other processes on the
machine disturb it less than wall time; run before and after a change in one session.
The digest changes only if the rows do: an optimisation should leave it as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np

from sqlgen.catalogs import build_catalogs, write_catalogs
from sqlgen.chunks import ChunkContext, draw_chunk
from sqlgen.config import load_config, with_overrides
from sqlgen.episodes import behaviour
from sqlgen.plan import plan_chunks
from sqlgen.pools import make_pools


class CpuTimer:
    """Adds up CPU seconds per stage (the `Timer` that `sqlgen.chunks` accepts)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, stage: str):
        start = time.process_time()
        try:
            yield
        finally:
            self.seconds[stage] += time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=None, help="default: the built-in one")
    parser.add_argument("--rows", type=int, default=None, help="rows of the planned run")
    parser.add_argument("--chunks", type=int, default=2, help="chunks to time")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds")
    args = parser.parse_args()
    cfg = load_config(args.config)
    if args.rows is not None:
        cfg = with_overrides(cfg, rows=args.rows)
    specs = plan_chunks(cfg)[: args.chunks]
    with tempfile.TemporaryDirectory(prefix="sqlgen-numpy-") as tmp:
        catalog_dir = None
        if cfg.realism != "v1":
            con = duckdb.connect()
            build_catalogs(con, cfg.catalog, cfg.seed, world=cfg.realism == "v3")
            write_catalogs(con, Path(tmp) / "catalog", cfg.catalog.max_size_mb, cfg.realism)
            con.close()
            catalog_dir = Path(tmp) / "catalog"
        ctx = ChunkContext(cfg, catalog_dir)
        ctx.use_pools(make_pools(cfg.seed, cfg.realism))
        run(ctx, specs, args.repeat)
        ctx.close()


def run(ctx: ChunkContext, specs: list, repeat: int) -> None:
    cfg = ctx.cfg
    planner = getattr(ctx.pop, "planner", None)
    if planner is not None:
        # The plan of the timed chunks' span, built once: not a chunk's cost.
        planner.plan(specs[0].t0_us, specs[-1].t1_us)

    def one_round(timer: CpuTimer) -> str:
        digest = hashlib.sha256()
        for spec in specs:
            draws, codes, share = draw_chunk(ctx, spec, timer)
            signals = {}
            if cfg.realism == "v3":
                with timer("behaviour"):
                    signals = behaviour(ctx.pop, draws)
            for name, values in [*sorted(draws.items()), ("codes", codes), *signals.items()]:
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(values).tobytes())
            digest.update(repr(share).encode())
        return digest.hexdigest()[:16]

    one_round(CpuTimer())
    rounds = []
    for _ in range(repeat):
        timer = CpuTimer()
        digest = one_round(timer)
        rounds.append(timer.seconds)
    rows = sum(s.rows for s in specs)
    print(f"{len(specs)} chunks, {rows:,} rows, realism {cfg.realism}; output digest {digest}")
    print(f"{'stage':<12} {'best':>7} {'median':>7}  µs/row (CPU)")
    for stage in [*rounds[0], "total"]:
        values = sorted(
            (sum(r.values()) if stage == "total" else r[stage]) / rows * 1e6 for r in rounds
        )
        print(f"{stage:<12} {values[0]:7.3f} {values[len(values) // 2]:7.3f}")


if __name__ == "__main__":
    main()
