from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.generate.plan import largest_remainder, plan_chunks, to_us


@pytest.mark.parametrize("total", [0, 1, 7, 1000, 12345])
def test_largest_remainder_is_exact(total):
    weights = np.array([3.0, 1.0, 1.0, 0.5])
    parts = largest_remainder(total, weights)
    assert parts.sum() == total
    assert np.all(np.abs(parts - total * weights / weights.sum()) < 1)


@pytest.mark.parametrize("batch", [1, 333, 1000, 10_000])
def test_plan_covers_rows_and_frauds_exactly(tiny, batch):
    cfg = with_overrides(tiny, batch_size=batch)
    specs = plan_chunks(cfg)
    assert sum(s.rows for s in specs) == cfg.rows
    assert sum(s.fraud_target for s in specs) == cfg.fraud_target
    assert all(0 < s.rows <= batch for s in specs)
    assert all(s.fraud_target <= s.rows for s in specs)


def test_chunks_are_time_slices_inside_one_month(tiny):
    specs = plan_chunks(tiny)
    start = to_us(dt.datetime(2025, 1, 15))
    end = to_us(dt.datetime(2025, 3, 11))
    assert specs[0].t0_us == start and specs[-1].t1_us == end
    for a, b in itertools.pairwise(specs):
        assert a.t1_us == b.t0_us
    for s in specs:
        first = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=s.t0_us)
        last = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=s.t1_us - 1)
        assert (first.year, first.month) == (last.year, last.month) == (s.year, s.month)
        assert s.relpath.startswith(f"year={s.year}/month={s.month}/")


def test_plan_ignores_workers(tiny):
    assert plan_chunks(tiny) == plan_chunks(with_overrides(tiny, num_workers=3))


def test_single_day_run():
    cfg = with_overrides(
        load_config(), rows=10, temporal={"start_date": "2025-05-05", "end_date": "2025-05-05"}
    )
    specs = plan_chunks(cfg)
    assert len(specs) == 1 and specs[0].rows == 10


@pytest.mark.parametrize("rows", [10_000_000, 100_000_000, 5_000_000_000])
def test_large_runs_keep_time_slices_ordered(rows):
    cfg = with_overrides(load_config(), rows=rows, batch_size=1_000_000)
    specs = plan_chunks(cfg)
    assert sum(s.rows for s in specs) == rows
    assert all(s.t0_us < s.t1_us for s in specs)
    assert all(a.t1_us == b.t0_us for a, b in itertools.pairwise(specs))


@pytest.mark.parametrize("seed", range(30))
def test_largest_remainder_properties(seed):
    """Quotas sum exactly, each is within 1 of its exact share, and the extra units go to
    the largest remainders (a part rounded up never has a smaller remainder than one
    rounded down)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    weights = rng.random(n) * rng.choice([1, 10, 1000], n)
    weights[rng.random(n) < 0.2] = 0.0  # some parts get nothing
    if weights.sum() == 0:
        weights[0] = 1.0
    total = int(rng.integers(0, 10_000))
    parts = largest_remainder(total, weights)
    exact = total * weights / weights.sum()
    assert parts.dtype.kind == "i" and parts.sum() == total
    assert np.all(np.abs(parts - exact) < 1)
    floor = np.floor(exact)
    up = parts > floor
    assert np.count_nonzero(up) == total - floor.sum()
    remainder = exact - floor
    if up.any() and (~up).any():
        assert remainder[up].min() >= remainder[~up].max()
    assert np.all(parts[weights == 0] == 0)


def test_chunk_fraud_quotas_follow_chunk_rows(tiny):
    """Chunks of unequal size get fraud quotas in proportion, each within 1 of its share."""
    cfg = with_overrides(tiny, batch_size=700)
    specs = plan_chunks(cfg)
    rows = np.asarray([s.rows for s in specs], dtype=np.float64)
    assert len(set(rows.tolist())) > 1  # month ends make uneven chunks
    share = cfg.fraud_target * rows / rows.sum()
    frauds = np.asarray([s.fraud_target for s in specs])
    assert np.all(np.abs(frauds - share) < 1), (frauds, share)
