"""Rule-level tests of what a chunk does with the plan (`Planner.materialize`, `settle`,
`place`) and of the planner's set-up (`Planner.__init__`, `amounts`, victims), on
hand-set rows of the small v3 world of `test_rules_generation` (issue 25)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt

import numpy as np
import pytest

from sqlgen.config import with_overrides
from sqlgen.errors import SqlgenError
from sqlgen.generate import draws_v3, episodes
from sqlgen.generate.chunks import draw_chunk
from sqlgen.generate.episodes import VISIT, Planner, too_many_frauds
from sqlgen.generate.plan import plan_chunks, to_us
from sqlgen.scenarios import REGISTRY, planned_quotas
from sqlgen.scenarios.base import DAY_US, HOUR_US
from sqlgen.world import world
from tests.unit.test_rules_generation import ctx  # noqa: F401  (module fixture)
from tests.unit.test_rules_generation_episodes_devices import Queued

MAX = np.iinfo(np.int64).max


def _copy(draws):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in draws.items()}


@pytest.fixture(scope="module")
def chunk(ctx):  # noqa: F811
    spec = plan_chunks(ctx.cfg)[0]
    draws, codes, _ = draw_chunk(ctx, spec)
    return spec, draws, codes


# -- settle: payments after a block ----------------------------------------------------
def test_after_a_block_the_holder_pays_with_the_new_card_except_tries_in_the_grace_days(
        ctx, chunk, monkeypatch):  # noqa: F811
    spec, draws, _ = chunk
    pop = ctx.pop
    p = Planner(pop)
    d = _copy(draws)
    n = len(d["event_us"])
    card = int(np.setdiff1d(np.arange(pop.world.n_cards), d["card_id"])[0])  # unused
    block = spec.t0_us + 3 * DAY_US
    p.card_block[card] = block
    grace = 2 * DAY_US  # auth.blocked_grace_days = 2
    assert ctx.cfg.auth.blocked_grace_days == 2.0
    times = [block - 1, block, block + HOUR_US, block + grace - 1, block + grace,
             block + HOUR_US, block + HOUR_US]
    codes = np.zeros(n, np.int8)
    codes[5], codes[6] = VISIT, 1
    for r, t in enumerate(times):
        d["card_id"][r], d["event_us"][r] = card, t
    u = np.full(n, 0.9)
    u[:7] = [0.0, 0.5, 0.49, 0.0, 0.0, 0.9, 0.9]  # < 0.5: the old card tried again
    placed = []
    monkeypatch.setattr(draws_v3, "place_rows",
                        lambda pop_, d_, rows, rng: placed.append(rows.tolist()))
    p.settle(spec, d, codes, Queued(u))
    spare = ctx.cfg.catalog.num_cards + int(pop.card_owner[card])
    # r0 before the block; r1 at it (moves: 0.5 is not < 0.5); r2, r3 tried in the grace
    # days; r4 at its end (moves); r5 a planted visit (moves, stays put); r6 fraud (kept).
    assert d["card_id"][:7].tolist() == [card, spare, card, card, spare, spare, card]
    assert placed == [[1, 4]]  # the moved genuine payments are placed again
    assert (d["card_id"][7:] == draws["card_id"][7:]).all()


# -- place: blocked rows, where fraud rows are seen ------------------------------------
def test_fraud_rows_are_seen_through_a_proxy_at_home_or_in_the_rings_city(ctx, chunk):  # noqa: F811
    _spec, draws, _ = chunk
    pop = ctx.pop
    p = Planner(pop)
    d = _copy(draws)
    n = len(d["event_us"])
    codes = np.zeros(n, np.int8)
    codes[[0, 1]] = [4, 6]
    d["ring"] = np.full(n, -1, np.int64)
    d["ring"][[0, 1]] = [0, 1]
    d["present"] = np.zeros(n, bool)
    d["away"][:2] = True
    d["remote"][:2] = False
    # Row 3 at its card's block exactly (blocked), row 4 a microsecond before.
    p.card_block[d["card_id"][3]] = d["event_us"][3]
    p.card_block[d["card_id"][4]] = d["event_us"][4] + 1
    ip_city_before = d["ip_city"].copy()
    p.place(d, codes, Queued([0.79, 0.8]))  # < 0.8: a residential proxy
    home = pop.world.customer_home[pop.card_owner[d["card_id"][:2]]]
    assert d["fraud_city"][:2].tolist() == [home[0], p.rings.city[1]]
    assert (d["fraud_city"][2:] == -1).all()
    assert d["proxy"][:2].tolist() == [True, False] and not d["proxy"][2:].any()
    assert d["ip_city"][:2].tolist() == home.tolist()  # the victim's network, until
    assert (d["ip_city"][2:] == ip_city_before[2:]).all()  # `devices` says otherwise
    zones = world.cities().zone
    assert d["zone"][:2].tolist() == zones[d["fraud_city"][:2]].tolist()
    assert d["remote"][:2].all() and not d["away"][:2].any()
    assert d["blocked"][3] and not d["blocked"][4]
    assert d["blocked"].sum() == (d["event_us"] >= p.card_block[d["card_id"]]).sum()


# -- materialize: the plan's rows over the skeleton ----------------------------------------
class MatRng:
    """Scripted draws for `materialize`: `random` from a queue, a big purchase x3,
    micro-payments at the first price, plan rows written over rows 0 .. k-1."""

    def __init__(self, *u):
        self.queue, self.calls = list(u), []

    def random(self, size):
        out = np.asarray(self.queue.pop(0), float)
        assert len(out) == size
        return out

    def lognormal(self, mean, sigma, size):
        self.calls.append(("lognormal", mean, sigma, size))
        return np.full(size, 3.0)

    def choice(self, a, size, replace=True):
        if np.asarray(a).dtype.kind == "f":  # a list of prices
            self.calls.append(("choice", list(np.asarray(a).tolist())))
            return np.full(size, np.asarray(a)[0])
        return np.arange(size)


def test_materialize_writes_the_slice_of_the_plan_and_each_cards_level(ctx, chunk):  # noqa: F811
    spec, draws, _ = chunk
    pop = ctx.pop
    p = Planner(pop)
    ref = Planner(pop).whole_plan()
    sl = (ref["t"] >= spec.t0_us) & (ref["t"] < spec.t1_us)
    k = int(sl.sum())
    assert 10 < k < 200
    d = _copy(draws)
    n = spec.rows
    testing = np.flatnonzero(pop.is_testing_merchant)
    plain = np.flatnonzero(~pop.is_testing_merchant)
    # Rows past the plan's: r+0 plain (u = 0.01: not big), r+1 plain big (0.0099),
    # r+2 at a testing merchant (u 0.49: micro), r+3 testing (0.5: not).
    r = k + 5
    d["merchant_id"][r:r + 4] = [plain[0], plain[0], testing[0], testing[0]]
    raw = d["amount_raw"].copy()
    big, micro = np.full(n, 0.5), np.full(n, 0.9)
    big[r:r + 4] = [0.01, 0.0099, 0.5, 0.5]
    micro[r:r + 4] = [0.0, 0.0, 0.49, 0.5]
    rng = MatRng(big, micro)
    codes = p.materialize(spec, d, rng)
    level = p.card_level[d["card_id"][r:r + 4]]
    assert d["amount_raw"][r] == pytest.approx(raw[r] * level[0])
    assert d["amount_raw"][r + 1] == pytest.approx(raw[r + 1] * level[1] * 3.0)
    assert ("lognormal", 1.2, 0.4, 1) in rng.calls
    assert d["amount_raw"][r + 2] == pytest.approx(0.99 / pop.merchant_scale[testing[0]])
    assert d["amount_raw"][r + 3] == pytest.approx(raw[r + 3] * level[3])
    assert ("choice", [0.99, 1.49, 1.99, 2.99, 4.99]) in rng.calls
    # The plan's rows of the slice, in order, over rows 0 .. k-1.
    for col, key in (("card_id", "card"), ("merchant_id", "merchant"), ("event_us", "t"),
                     ("fraud_device", "device"), ("ring", "ring"),
                     ("reported_us", "reported"), ("present", "present")):
        assert d[col][:k].tolist() == ref[key][sl].tolist(), col
    assert d["amount_raw"][:k].tolist() == ref["amount_raw"][sl].tolist()
    assert codes[:k].tolist() == ref["code"][sl].tolist()
    assert d["plan_code"].tolist() == codes.tolist() and d["plan_code"] is not codes
    assert (codes[k:] == 0).all()
    assert (d["fraud_device"][k:] == -1).all() and (d["ring"][k:] == -1).all()
    assert (d["reported_us"][k:] == 0).all() and not d["present"][k:].any()
    assert (d["card_id"][k:] == draws["card_id"][k:]).all()


def test_a_chunk_holding_more_than_half_planned_frauds_is_an_error(ctx, chunk):  # noqa: F811
    spec, draws, _ = chunk
    ref = Planner(ctx.pop).whole_plan()
    k = int(((ref["t"] >= spec.t0_us) & (ref["t"] < spec.t1_us)).sum())
    for n, ok in ((2 * k, True), (2 * k - 1, False)):
        small = dataclasses.replace(spec, rows=n)
        d = {key: (v[:n].copy() if isinstance(v, np.ndarray) else v)
             for key, v in draws.items()}
        rng = MatRng(np.full(n, 0.5), np.full(n, 0.9))
        if ok:
            Planner(ctx.pop).materialize(small, d, rng)
        else:
            with pytest.raises(SqlgenError, match=f"holds {k} planned fraud rows"):
                Planner(ctx.pop).materialize(small, d, rng)


def test_too_many_frauds_says_what_would_help(chunk):
    spec = dataclasses.replace(chunk[0], rows=100, index=3, year=2025, month=3)
    assert too_many_frauds(spec, 60, 100).endswith("raise batch_size or lower fraud_rate")
    assert "only 100 payments" in too_many_frauds(spec, 60, 101)
    assert too_many_frauds(spec, 60, 101).startswith("chunk 3 (2025-03) holds 60")


# -- the planner's set-up --------------------------------------------------------------
def test_planner_window_days_rings_and_quotas(ctx):  # noqa: F811
    p = Planner(ctx.pop)
    assert p.t0 == to_us(dt.datetime(2025, 3, 1))
    assert p.t1 == to_us(dt.datetime(2025, 3, 21))  # the end date's whole day
    assert p._n_days == 20 and isinstance(p._n_days, int)
    # A burst's wave reaches back its window (30 minutes) and an hour more.
    assert ctx.cfg.label.burst_window_minutes == 30.0
    assert p.early == 30 * 60_000_000 + HOUR_US
    totals = planned_quotas(ctx.cfg)
    assert p.totals == totals
    assert p.rings.n == 20  # at least 20 rings (180 planned attempts / 100 is fewer)
    names = [s.name for s in p._planners]
    assert names == [s.name for s in REGISTRY if s.plan is not None and totals.get(s.name)]
    for s in p._planners:
        assert p._per_day[s.name].sum() == totals[s.name] and len(p._per_day[s.name]) == 20
    assert (p.card_block == MAX).all() and len(p.card_block) == len(ctx.pop.card_owner)
    # Spending levels: lognormal, sigma 0.5 around 1.
    lv = np.log(p.card_level)
    assert abs(lv.mean()) < 0.05 and abs(lv.std() - 0.5) < 0.03
    assert (p.card_level == Planner(ctx.pop).card_level).all()  # from the seed


def test_one_ring_per_hundred_planned_attempts(ctx):  # noqa: F811
    pop = copy.copy(ctx.pop)
    pop.cfg = with_overrides(ctx.cfg, rows=300_000)
    total = sum(planned_quotas(pop.cfg).values())
    assert total > 4000
    assert Planner(pop).rings.n == total // 100


def test_breached_merchants_by_risk_x_popularity_x_fraud_weight(ctx):  # noqa: F811
    pop = ctx.pop
    p = Planner(pop)
    w = pop.merchant_risk * pop.merchant_popularity * pop.world.fraud_weight
    w = w / w.sum()
    got = np.bincount(p.breach_merchants(200_000, np.random.default_rng(1)),
                      minlength=len(w)) / 200_000
    assert 0.5 * np.abs(got - w).sum() < 0.04


def test_risky_victims_by_payments_x_card_risk(ctx):  # noqa: F811
    pop = ctx.pop
    p = Planner(pop)
    active = pop.world.n_cards
    w = pop.card_popularity[:active] * pop.card_risk[:active]
    w = w / w.sum()
    got = np.bincount(p.risky_victims(200_000, np.random.default_rng(2)),
                      minlength=active) / 200_000
    assert 0.5 * np.abs(got - w).sum() < 0.05
    assert p._risky is not None
    sampler = p._risky
    p.risky_victims(3, np.random.default_rng(3))
    assert p._risky is sampler  # made once


def test_victims_in_a_country_are_its_holders_cards(ctx):  # noqa: F811
    pop = ctx.pop
    p = Planner(pop)
    w = pop.world
    owner_country = pop.customer_country[pop.card_owner[:w.n_cards]]
    country = np.full(5000, owner_country[0])
    cards = p.victims_in(country, np.random.default_rng(4))
    assert (owner_country[cards] == owner_country[0]).all()
    sampler = p._by_country
    # A country with no cards: any card (and card 0 counts as found).
    none = int(pop.customer_country.max()) + 1
    got = p.victims_in(np.array([none, owner_country[0]]), np.random.default_rng(5))
    assert got.min() >= 0 and p._by_country is sampler


def test_fraud_amounts_follow_the_cards_level_shifted_up(ctx):  # noqa: F811
    p = Planner(ctx.pop)
    card = np.zeros(40_000, np.int64)
    p.card_level[0] = 4.0
    a1 = p.amounts(card, np.random.default_rng(6), 0.5)
    p.card_level[0] = 1.0
    a0 = p.amounts(card, np.random.default_rng(6), 0.0)
    # Same draws: the ratio is the level x exp(shift) exactly (and the noise cancels).
    assert a1 / a0 == pytest.approx(np.full(len(card), 4.0 * np.exp(0.5)))
    # The noise is N(0, 0.3) on the log scale: the amounts over the plain ones.
    from sqlgen import sampling

    base = sampling.amounts(ctx.cfg.feature.amount, len(card), np.random.default_rng(6))
    noise = np.log(a0 / base)
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.3) < 0.01
    # Row by row: the noise is the draw that follows the base amounts (N(0, 0.3)), added.
    rng = np.random.default_rng(6)
    sampling.amounts(ctx.cfg.feature.amount, len(card), rng)
    assert noise == pytest.approx(rng.normal(0, 0.3, len(card)), abs=1e-9)
    assert episodes._CARD_LEVEL_SIGMA == 0.5


def test_without_any_risk_breaches_and_risky_victims_are_uniform(ctx):  # noqa: F811
    pop = copy.copy(ctx.pop)
    pop.merchant_risk = np.zeros_like(ctx.pop.merchant_risk)
    pop.card_risk = np.zeros_like(ctx.pop.card_risk)
    p = Planner(pop)
    n_m, n_c = len(pop.merchant_risk), pop.world.n_cards
    m = p.breach_merchants(100_000, np.random.default_rng(7))
    c = p.risky_victims(100_000, np.random.default_rng(8))
    assert m.min() >= 0 and m.max() < n_m and c.min() >= 0 and c.max() < n_c
    # Uniform: each half of the ids gets about half the draws.
    assert abs((m < n_m // 2).mean() - (n_m // 2) / n_m) < 0.01
    assert abs((c < n_c // 2).mean() - (n_c // 2) / n_c) < 0.01


def test_materialize_writes_every_planned_row_of_the_slice_once(ctx, chunk):  # noqa: F811
    spec, draws, _ = chunk
    ref = Planner(ctx.pop).whole_plan()
    sl = (ref["t"] >= spec.t0_us) & (ref["t"] < spec.t1_us)
    d = _copy(draws)
    codes = Planner(ctx.pop).materialize(spec, d, np.random.default_rng(0))
    rows = np.flatnonzero(codes != 0)  # fraud and planted visits (code VISIT)
    assert len(rows) == sl.sum()  # distinct rows: none written twice
    got = sorted(zip(d["event_us"][rows].tolist(), d["card_id"][rows].tolist(),
                     codes[rows].tolist(), strict=True))
    want = sorted(zip(ref["t"][sl].tolist(), ref["card"][sl].tolist(),
                      ref["code"][sl].tolist(), strict=True))
    assert got == want
