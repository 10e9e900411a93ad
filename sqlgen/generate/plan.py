"""The chunk plan of a run: which rows, time slice, month and fraud quota each chunk has.

Pure arithmetic, no I/O. Chunks are slices of time that never cross a month, so each
chunk writes exactly one file into its own `year=YYYY/month=M` partition (numbers
written without leading zeros, so every Hive reader types them as integers). The plan
depends only on the config, never on how many workers run it.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from sqlgen.config import GeneratorConfig
from sqlgen.generate.profiles import profile_for
from sqlgen.generate.spec import ChunkSpec, to_us
from sqlgen.sampling import largest_remainder


def _months(start: dt.datetime, end: dt.datetime) -> list[tuple[int, int, int, int]]:
    out = []
    cur = start
    while cur < end:
        nxt = dt.datetime(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
        stop = min(nxt, end)
        out.append((cur.year, cur.month, to_us(cur), to_us(stop)))
        cur = stop
    return out


def labelled_target(cfg: GeneratorConfig) -> int:
    """Frauds the chunks label themselves (the profile's `labelled` stage): all of them,
    or (v3) those the run's planned episodes leave over (`sqlgen.generate.episodes`):
    each chunk adds the planned attempts of its time slice, so the run's total stays
    exactly `round(fraud_rate * rows)`."""
    return profile_for(cfg.realism).labelled(cfg)


def plan_chunks(cfg: GeneratorConfig) -> list[ChunkSpec]:
    start = dt.datetime.combine(cfg.temporal.start_date, dt.time())
    end = dt.datetime.combine(cfg.temporal.end_date, dt.time()) + dt.timedelta(days=1)
    months = _months(start, end)
    spans = np.asarray([t1 - t0 for _, _, t0, t1 in months], dtype=np.float64)
    month_rows = largest_remainder(cfg.rows, spans)

    pieces: list[tuple[int, int, int, int, int]] = []  # rows, t0, t1, year, month
    for (year, month, t0, t1), rows in zip(months, month_rows, strict=True):
        n = max(1, math.ceil(int(rows) / cfg.batch_size)) if rows else 0
        if n == 0:
            continue
        split = largest_remainder(int(rows), np.ones(n))
        # Python integers: rows * span in microseconds overflows int64 at scale.
        cum = [0, *np.cumsum(split).tolist()]
        bounds = [t0 + (c * (t1 - t0)) // int(rows) for c in cum]
        for k in range(n):
            pieces.append((int(split[k]), int(bounds[k]), int(bounds[k + 1]), year, month))

    rows = np.asarray([p[0] for p in pieces], dtype=np.float64)
    frauds = largest_remainder(labelled_target(cfg), rows)
    return [
        ChunkSpec(i, r, int(f), t0, t1, y, m)
        for i, ((r, t0, t1, y, m), f) in enumerate(zip(pieces, frauds, strict=True))
    ]
