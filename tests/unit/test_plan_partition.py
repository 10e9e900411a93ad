"""The v3 fraud plan is partitionable: a chunk's planned rows and card blocks come from
the day blocks its window needs, equal to the whole plan's, whatever the chunk order."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import duckdb
import numpy as np
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.errors import SqlgenError
from sqlgen.generate import episodes
from sqlgen.generate.chunks import ChunkContext, draw_chunk
from sqlgen.generate.episodes import Planner
from sqlgen.generate.plan import plan_chunks
from sqlgen.generate.population import Population
from sqlgen.scenarios.base import DAY_US, DISPUTE
from sqlgen.world.catalogs import build_catalogs
from sqlgen.world.pools import make_pools
from tests.conftest import TINY


@pytest.fixture(scope="module")
def world():
    """A year at a high fraud rate in short chunks: the population, the whole plan, its
    card blocks, the chunks."""
    cfg = with_overrides(load_config(TINY), realism="v3", rows=200_000, batch_size=4_000,
                         fraud_rate=0.04, temporal={"start_date": "2025-01-01",
                                                    "end_date": "2025-12-31"},
                         catalog={"num_customers": 600, "num_merchants": 150,
                                  "num_cards": 900})
    con = duckdb.connect()
    build_catalogs(con, cfg.catalog, cfg.seed, world=True)
    pop = Population(cfg, con)
    whole = Planner(pop)
    plan = whole.whole_plan()
    specs = plan_chunks(cfg)
    assert len(specs) > 40 and (plan["code"] > 0).sum() > 4000
    # Each card's block: its earliest report over the whole plan, a dispute's too.
    fraud = (plan["code"] > 0) | (plan["code"] == DISPUTE)
    # At most 4% of the frauds (a dispute with no open card among its candidates is
    # dropped: most cards of this small world are blocked within the year).
    assert 0 < (plan["code"] == DISPUTE).sum() <= round(0.04 * cfg.fraud_target)
    block = np.full(len(pop.card_owner), np.iinfo(np.int64).max)
    np.minimum.at(block, plan["card"][fraud], plan["block"][fraud])
    np.testing.assert_array_equal(whole.card_block, block)
    return SimpleNamespace(cfg=cfg, pop=pop, plan=plan, block=block, specs=specs)


def _slice(a, t0, t1):
    lo, hi = np.searchsorted(a["t"], [t0, t1])
    return {k: v[lo:hi] for k, v in a.items()}


def _check(planner, ref, ref_block, t0, t1):
    """The planner's rows of [t0, t1) and every block comparison with a time before t1
    are the whole plan's."""
    got, want = _slice(planner.plan(t0, t1), t0, t1), _slice(ref, t0, t1)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=f"{k} in [{t0}, {t1})")
    # `t >= block` for every t < t1 depends on min(block, t1) only.
    np.testing.assert_array_equal(np.minimum(planner.card_block, t1),
                                  np.minimum(ref_block, t1))
    return len(want["t"])


def _windows(specs):
    """The chunks' windows and some others: day-aligned, within a day, a long one."""
    out = [(s.t0_us, s.t1_us) for s in specs]
    t0 = specs[0].t0_us
    for start, length in ((40 * DAY_US, DAY_US), (100 * DAY_US + 5, 9_000_000_000),
                          (200 * DAY_US, 60 * DAY_US), (364 * DAY_US, DAY_US)):
        out.append((t0 + start, t0 + start + length))
    return out


def test_slices_in_time_order_equal_the_whole_plan(world):
    plan = world.plan
    planner = Planner(world.pop)
    rows, held = 0, 0
    for spec in world.specs:
        rows += _check(planner, plan, world.block, spec.t0_us, spec.t1_us)
        held = max(held, len(planner._pending["t"]))
    assert rows == len(plan["t"])  # the chunks' slices add up to the plan
    # Each day computed once (cost: the prefix of days), the days whose attempts wrap
    # around the window (the first, the last 60) once more up front, and never the
    # whole plan held.
    assert set(planner.computed) == set(range(365))
    wrap = set(planner.wrap_days())
    assert wrap == {0, *range(304, 365)}
    assert all(n == 1 + (d in wrap) for d, n in planner.computed.items())
    assert held < len(plan["t"]) / 3


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_slices_in_any_order_equal_the_whole_plan(world, order):
    windows = _windows(world.specs)
    if order == "reversed":
        windows = windows[::-1]
    else:
        windows = [windows[i] for i in np.random.default_rng(7).permutation(len(windows))[:32]]
    planner = Planner(world.pop)
    for t0, t1 in windows:
        _check(planner, world.plan, world.block, t0, t1)


def test_first_chunk_computes_only_the_days_it_needs(world):
    plan, planner, first = world.plan, Planner(world.pop), world.specs[0]
    _check(planner, plan, world.block, first.t0_us, first.t1_us)
    # Attempts of a day come at most a burst window before it: the days up to the one
    # starting within that of the end of the day of the chunk's end (a day's disputes
    # are chosen among cards open at their time, so the blocks before its end are
    # needed), and no later one.
    day_end = planner.t0 + ((first.t1_us - 1 - planner.t0) // DAY_US + 1) * DAY_US
    last = (day_end + planner.early - planner.t0 - 1) // DAY_US
    assert last < 10 and day_end >= first.t1_us
    assert set(planner.computed) == set(range(last + 1)) | set(planner.wrap_days())
    # Its rows come from earlier days too: some attempts end days after their day.
    assert plan["t"][plan["code"] > 0].max() > planner.t0 + 150 * DAY_US


def test_a_planner_breaking_the_bounds_is_an_error(world, monkeypatch):
    """An attempt further from its day than the partition allows stops the run."""

    def shifted(by):
        def wrap(s):
            def plan(*args):
                a = s.plan(*args)
                a["t"] = a["t"] + by
                return a
            return dataclasses.replace(s, plan=plan if s.plan else None)
        return tuple(wrap(s) for s in episodes.REGISTRY)

    for by in (-2 * DAY_US, 210 * DAY_US):
        monkeypatch.setattr(episodes, "REGISTRY", shifted(by))
        planner = Planner(world.pop)
        with pytest.raises(SqlgenError, match=r"internal error: day \d+ of the fraud plan"):
            planner.plan(planner.t0 + 3 * DAY_US, planner.t0 + 4 * DAY_US)


def test_chunks_in_any_order_give_the_same_rows():
    """Whole v3 chunks, drawn in time order and in a shuffled order by one process."""
    cfg = with_overrides(load_config(TINY), realism="v3", rows=24_000, batch_size=2_000,
                         fraud_rate=0.04, temporal={"start_date": "2025-01-01",
                                                    "end_date": "2025-09-30"})
    ctx = ChunkContext(cfg, None)
    ctx.use_pools(make_pools(cfg.seed))
    specs = plan_chunks(cfg)
    shuffled = [specs[i] for i in np.random.default_rng(3).permutation(len(specs))]
    seen = []
    for order in (specs, shuffled):
        ctx.pop._planner = None  # a fresh process
        seen.append({s.index: draw_chunk(ctx, s)[:2] for s in order})
    assert sum(int((codes > 0).sum()) for _, codes in seen[0].values()) > 200
    for spec in specs:
        (d0, c0), (d1, c1) = seen[0][spec.index], seen[1][spec.index]
        np.testing.assert_array_equal(c0, c1)
        assert set(d0) == set(d1)
        for k in d0:
            np.testing.assert_array_equal(d0[k], d1[k], err_msg=f"{k} of chunk {spec.index}")
