"""Rule-level tests of the plan's day blocks and slices (`episodes.Planner`): which days
a slice needs, the days that can wrap, a day block's ids, bounds and cache, and the
store behind the floor; hand-checked on made-up planners, then on the small v3 world of
`test_rules_generation` against its whole plan (issue 25)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

from sqlgen.generate import episodes
from sqlgen.generate.episodes import Planner, _between, _by_time, _empty, _unwrapped
from sqlgen.generate.plan import to_us
from sqlgen.scenarios.base import DAY_US, HOUR_US
from tests.unit.test_rules_generation import ctx  # noqa: F401  (module fixture)

T = to_us(dt.datetime(2025, 3, 3))
H = HOUR_US


def _bare(n_days: int, early: int) -> Planner:
    p = Planner.__new__(Planner)
    p.t0, p.t1, p.early, p._n_days = T, T + n_days * DAY_US, early, n_days
    return p


# -- which days a slice needs ----------------------------------------------------------
@pytest.mark.parametrize(("t0", "t1", "want"), [
    # Day d's attempts end in [d - early, d + 200 days): early = 2 h here.
    # [250 d, 251 d): days 51 (ends up to 251 d - 1 us) .. 251 (starts at 251 d - 2 h).
    (250 * DAY_US, 251 * DAY_US, (51, 251)),
    (250 * DAY_US - 1, 251 * DAY_US, (50, 251)),  # day 50 ends up to 250 d - 1 us
    (250 * DAY_US + 1, 251 * DAY_US - 2 * H, (51, 250)),  # day 251 starts at the end
    (250 * DAY_US + 1, 251 * DAY_US - 2 * H + 1, (51, 251)),
    (0, DAY_US, (0, 1)),  # clamped to the first day
    (299 * DAY_US, 300 * DAY_US, (100, 299)),  # clamped to the last day
])
def test_days_a_slice_needs(t0, t1, want):
    p = _bare(300, 2 * H)
    assert p._days_for(T + t0, T + t1) == want


@pytest.mark.parametrize(("n_days", "early", "want"), [
    # The first ceil(early / day) days (a wave reaching back before the start) and the
    # days within 60 days of the end (a cash-out wrapping past it).
    (100, 2 * H, [0, *range(39, 100)]),
    (100, 0, list(range(39, 100))),
    (100, DAY_US + 1, [0, 1, *range(39, 100)]),
    (61, 2 * H, list(range(61))),
    (10, 20 * DAY_US, list(range(10))),  # never past the last day
])
def test_days_that_can_wrap(n_days, early, want):
    assert _bare(n_days, early).wrap_days() == want


# -- one day block ---------------------------------------------------------------------
def _scenario(name, code, rows_per_call, seen):
    def plan(planner, k, t0, t1, rng):
        seen.append((name, k, t0, t1))
        t = t0 + H * (1 + np.arange(k, dtype=np.int64)) * rows_per_call
        a = {key: np.zeros(k, v.dtype) for key, v in _empty().items()
             if key not in ("block", "reported", "wrapped")}
        a["t"], a["code"] = t, np.full(k, code, np.int8)
        a["episode"], a["card"] = np.arange(k, dtype=np.int64), np.arange(k, dtype=np.int64)
        return a

    report = SimpleNamespace(median_days=1.0, cnp_factor=1.0, sigma=0.1)
    return SimpleNamespace(name=name, code=code, plan=plan, report=report)


def _day_planner(per_day_a, per_day_b, seen) -> Planner:
    n = len(per_day_a)
    p = _bare(n, H)
    p.seed, p._cache, p.computed = 3, {}, Counter()
    p._ends = np.zeros((n, 2), np.int64)
    p._planners = [_scenario("a", 4, 1, seen), _scenario("b", 6, 2, seen)]
    p._per_day = {"a": np.array(per_day_a), "b": np.array(per_day_b)}
    p._disputes = np.zeros(n, np.int64)  # no disputes (`test_rules_generation_episodes_disputes`)
    return p


def test_a_day_block_ids_bounds_and_cache():
    seen: list = []
    p = _day_planner([1, 2, 0, 3, 1, 1, 1, 0], [0, 1, 0, 2, 1, 1, 1, 0], seen)
    a = p._day(3)
    # Each scenario plans its quota of the day over [day, day + 1 day); none planned
    # for a zero quota.
    d3 = T + 3 * DAY_US
    assert seen == [("a", 3, d3, d3 + DAY_US), ("b", 2, d3, d3 + DAY_US)]
    # Episode ids: (day x 256 + scenario code) << 32 | the scenario's own episode id.
    assert a["episode"].tolist() == [(3 * 256 + 4) << 32 | e for e in (0, 1, 2)] + [
        (3 * 256 + 6) << 32 | e for e in (0, 1)]
    assert a["t"].tolist() == [d3 + H, d3 + 2 * H, d3 + 3 * H, d3 + 2 * H, d3 + 4 * H]
    assert p._ends[3].tolist() == [d3 + H, d3 + 4 * H]  # its first and last time
    assert p.computed == Counter({3: 1})
    assert p._day(3) is a and p.computed[3] == 1  # cached
    # A day with nothing planned: bounds that no slice meets.
    assert len(p._day(2)["t"]) == 0 and p._ends[2].tolist() == [1, 0]
    assert seen[2:] == []
    # The 4 latest days stay cached; an older one is computed again.
    for d in (4, 5, 6, 0):
        p._day(d)
    assert list(p._cache) == [4, 5, 6, 0]
    p._day(3)
    assert p.computed[3] == 2 and p.computed[4] == 1
    p._day(0)
    assert p.computed[0] == 1


def test_a_day_blocks_bounds_leave_out_its_wrapped_attempts():
    seen: list = []
    # Day 7 of 8; scenario b's second attempt (day + 4 h) is still inside, a at + 1 h.
    p = _day_planner([0] * 7 + [1], [0] * 7 + [2], seen)
    p.t1 = T + 7 * DAY_US + 3 * H  # the run ends 3 h into day 7: b's 2nd attempt wraps
    a = p._day(7)
    d7 = T + 7 * DAY_US
    assert a["wrapped"].tolist() == [False, False, True]
    assert p._ends[7].tolist() == [d7 + H, d7 + 2 * H]


# -- small helpers -------------------------------------------------------------------
def _table(t, episode=None, code=None, wrapped=None):
    n = len(t)
    a = {k: np.zeros(n, v.dtype) for k, v in _empty().items()}
    a["t"] = np.asarray(t, np.int64)
    a["card"] = np.arange(n, dtype=np.int64)
    if episode is not None:
        a["episode"] = np.asarray(episode, np.int64)
    if code is not None:
        a["code"] = np.asarray(code, np.int8)
    if wrapped is not None:
        a["wrapped"] = np.asarray(wrapped, bool)
    return a


def test_between_is_half_open():
    a = _table([5, 10, 15, 20])
    assert _between(a, 10, 20)["t"].tolist() == [10, 15]
    assert _between(a, 0, 21) is a  # nothing left out: the same table
    assert _between(a, 0, 20)["card"].tolist() == [0, 1, 2]


def test_by_time_orders_by_time_then_episode_then_code():
    a = _table([7, 5, 5, 5], episode=[0, 9, 2, 2], code=[1, 1, 4, 3])
    b = _table([], episode=[], code=[])
    c = _table([6], episode=[1], code=[2])
    got = _by_time([a, b, c])
    assert got["t"].tolist() == [5, 5, 5, 6, 7]
    assert got["episode"].tolist() == [2, 2, 9, 1, 0]
    assert got["code"].tolist() == [3, 4, 1, 2, 1]
    assert len(_by_time([b])["t"]) == 0 and set(_by_time([b])) == set(_empty())
    assert set(_empty()) == set(a) and all(len(v) == 0 for v in _empty().values())


def test_unwrapped_leaves_out_the_wrapped_rows():
    a = _table([1, 2, 3], wrapped=[False, True, False])
    assert _unwrapped(a)["t"].tolist() == [1, 3]
    b = _table([1, 2], wrapped=[False, False])
    assert _unwrapped(b) is b


# -- slices against the whole plan (small v3 world, 20 days) ------------------------
def _rows(a, t0, t1):
    keep = (a["t"] >= t0) & (a["t"] < t1)
    return [(int(t), int(c), int(e)) for t, c, e in
            zip(a["t"][keep], a["card"][keep], a["episode"][keep], strict=True)]


@pytest.fixture(scope="module")
def whole(ctx):  # noqa: F811
    p = Planner(ctx.pop)
    return p.whole_plan(), p.card_block.copy()


def test_the_store_behind_the_floor(ctx, whole):  # noqa: F811
    ref, _ = whole
    p = Planner(ctx.pop)
    t0 = p.t0
    p.plan(t0 + 10 * DAY_US, t0 + 11 * DAY_US)
    # Attempts a day before the latest slice are kept: the floor is 9 days in.
    assert p._floor == t0 + 9 * DAY_US
    # A slice before it: served from the store behind, which reaches 4 days back (or
    # four times the slice's length).
    a = p.plan(t0 + 7 * DAY_US, t0 + 8 * DAY_US)
    assert p._behind[:2] == (t0 + 3 * DAY_US, t0 + 8 * DAY_US)
    assert _rows(a, t0 + 7 * DAY_US, t0 + 8 * DAY_US) == _rows(
        ref, t0 + 7 * DAY_US, t0 + 8 * DAY_US)
    n = sum(p.computed.values())
    # Inside the store (its ends included): no day computed again, the same table.
    assert p.plan(t0 + 3 * DAY_US, t0 + 8 * DAY_US) is a
    assert p.plan(t0 + 5 * DAY_US, t0 + 6 * DAY_US) is a
    assert sum(p.computed.values()) == n
    # Past its end: a new store, reaching back 4 x the slice's length (2 days here).
    b = p.plan(t0 + 7 * DAY_US, t0 + 9 * DAY_US)
    # (7 - 8 days: before the run's start, so from it)
    assert b is not a and p._behind[:2] == (t0, t0 + 9 * DAY_US)
    assert _rows(b, t0 + 7 * DAY_US, t0 + 9 * DAY_US) == _rows(
        ref, t0 + 7 * DAY_US, t0 + 9 * DAY_US)
    assert p.plan(t0 + 2 * DAY_US, t0 + 3 * DAY_US) is b
    # At the floor: from the attempts kept (not behind: the store is unchanged).
    c = p.plan(t0 + 9 * DAY_US, t0 + 10 * DAY_US)
    assert p._behind[:2] == (t0, t0 + 9 * DAY_US) and c is not b
    assert _rows(c, t0 + 9 * DAY_US, t0 + 10 * DAY_US) == _rows(
        ref, t0 + 9 * DAY_US, t0 + 10 * DAY_US)


def test_the_store_behind_recomputes_the_days_reaching_the_slice(ctx, whole):  # noqa: F811
    ref, _ = whole
    p = Planner(ctx.pop)
    p.plan(p.t0 + 19 * DAY_US, p.t1)  # every day computed: `_ends` exact
    ends = p._ends.copy()
    cached = set(p._cache)
    # A day whose last attempt is exactly where the store starts is recomputed (its
    # attempt belongs to the slice); one whose first attempt is exactly at the slice's
    # end is not.
    d = int(np.argmin(np.where(np.isin(np.arange(20), list(cached)), np.iinfo(np.int64).max,
                               ends[:, 1])))
    b0 = int(ends[d, 1])
    s0, s1 = b0 + 4 * DAY_US, b0 + 5 * DAY_US
    assert s1 < p._floor
    before = Counter(p.computed)
    a = p.plan(s0, s1)
    assert p._behind[:2] == (b0, s1)
    again = {k for k in p.computed if p.computed[k] > before[k]}
    assert d in again
    assert _rows(a, b0, s1) == _rows(ref, b0, s1)
    assert any(t == b0 for t, _, _ in _rows(a, b0, s1))
    # A day whose first attempt is exactly at the slice's end is not recomputed.
    p = Planner(ctx.pop)
    p.plan(p.t0 + 19 * DAY_US, p.t1)
    late = [k for k in range(20) if k not in p._cache and ends[k, 0] > p.t0 + 2 * DAY_US]
    assert late, ends
    k = late[-1]
    e0 = int(ends[k, 0])
    before = Counter(p.computed)
    a = p.plan(e0 - DAY_US, e0)
    again = {j for j in p.computed if p.computed[j] > before[j]}
    assert k not in again
    assert _rows(a, e0 - DAY_US, e0) == _rows(ref, e0 - DAY_US, e0)


def test_slices_in_order_bring_card_blocks_up_to_date(ctx, whole):  # noqa: F811
    ref, block = whole
    p = Planner(ctx.pop)
    for day in range(20):
        a = p.plan(p.t0 + day * DAY_US, p.t0 + (day + 1) * DAY_US)
        s0, s1 = p.t0 + day * DAY_US, p.t0 + (day + 1) * DAY_US
        assert _rows(a, s0, s1) == _rows(ref, s0, s1), day
        # Blocks exact for any time before the slice's end (wrapped ones included).
        assert (np.minimum(p.card_block, s1) == np.minimum(block, s1)).all(), day
    assert (p.card_block == block).all()
    fraud = ref["code"] > 0
    assert (block[ref["card"][fraud]] <= ref["block"][fraud]).all()
    assert (block[ref["card"][fraud]] < np.iinfo(np.int64).max).all()
    assert len(p._cache) == episodes._CACHED_DAYS
