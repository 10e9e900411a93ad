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
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sqlgen.config import load_config, with_overrides
from sqlgen.generate.chunks import ChunkContext, draw_chunk
from sqlgen.generate.episodes import behaviour
from sqlgen.generate.plan import plan_chunks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chunk_stages import StageTimer, open_context


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
        ctx = open_context(cfg, Path(tmp))
        run(ctx, specs, args.repeat)
        ctx.close()


def run(ctx: ChunkContext, specs: list, repeat: int) -> None:
    cfg = ctx.cfg
    planner = getattr(ctx.pop, "planner", None)
    if planner is not None:
        # The plan of the timed chunks' span, built once: not a chunk's cost.
        planner.plan(specs[0].t0_us, specs[-1].t1_us)

    def one_round(timer: StageTimer) -> str:
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

    one_round(StageTimer(time.process_time))
    rounds = []
    for _ in range(repeat):
        timer = StageTimer(time.process_time)
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
