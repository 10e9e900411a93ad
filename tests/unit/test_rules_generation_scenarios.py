"""Rule-level tests of the scenario building blocks (`sqlgen.scenarios.base`) and of each
v3 scenario's `plan` on a fake planner whose parts are simple known functions (ring i is
episode i's, card 100 + i, device 70 + ring, ...), so every column of the attempts can be
checked by hand against the rule that makes it (issue 25)."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from sqlgen.scenarios import account_takeover, base, burst, card_testing, compromised_merchant
from sqlgen.scenarios.base import DAY_US, VISIT, Injector

# The scenarios' pinned values, in one place (issue 24 may recalibrate some: update here).
# name: (code, default weight, report delay (median days, sigma, cnp factor))
SCENARIO_TABLE = {
    "burst": (2, 0.15, (14.0, 0.7, 1.2)),
    "card_testing": (4, 0.15, (3.0, 0.7, 1.0)),
    "compromised_merchant": (5, 0.10, (21.0, 0.6, 1.0)),
    "account_takeover": (6, 0.15, (5.0, 0.8, 1.0)),
}
# plan: spree_sizes (low, high) and spree_offsets (median gap µs, sigma) per scenario
SPREES = {
    "card_testing": ((3, 8), (60e6, 0.8)),  # 3-8 attempts about a minute apart
    "account_takeover": ((2, 8), (45 * 60e6, 1.2)),  # 2-8 payments ~45 minutes apart
    # 1-3 attempts per card ~3 hours apart; 4-15 cards per breach
    "compromised_merchant": ((1, 3), (3 * 3600e6, 1.0)),
}
CARD_TESTING_DIGITAL = 0.4  # share of card-testing runs at digital-goods merchants
CARD_TESTING_SMALL = 0.15  # a test at an ordinary shop: x its usual amount
# digital tests at the genuine micro-payment price points, EUR before the merchant's level
CARD_TESTING_EUR = [0.99, 1.49, 1.99, 2.99, 4.99]
BURST_CLONED = 0.35  # of burst waves: cloned cards in person at a shop of the ring's city
ATO_SHIFT = 0.35  # account takeover spends exp(0.35) x the card's level
COUNTERFEIT = 0.35  # of breached cards cashed out in person
ONLINE_MARKUP = 1.6  # compromised cards cashed out online spend 1.6x the card's level
BURST_SHIFT = 0.15
SAME_COUNTRY = 0.8


def test_scenarios_codes_weights_and_report_delays():
    mods = {"burst": burst, "card_testing": card_testing,
            "compromised_merchant": compromised_merchant, "account_takeover": account_takeover}
    for name, (code, weight, delay) in SCENARIO_TABLE.items():
        s = mods[name].SCENARIO
        assert (s.name, s.code, s.weight) == (name, code, weight), name
        assert (s.report.median_days, s.report.sigma, s.report.cnp_factor) == delay, name
        assert s.plan is mods[name].plan
    assert base.ReportDelay() == base.ReportDelay(7.0, 0.8, 1.0)  # v3 default profile
    assert (base.GENUINE, base.VISIT) == (0, -2)
    assert (base.HOUR_US, base.DAY_US) == (3_600_000_000, 86_400_000_000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.ReportDelay().sigma = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        burst.SCENARIO.weight = 1.0
    assert card_testing.MICRO_PRICES.tolist() == CARD_TESTING_EUR
    assert (card_testing._SMALL, compromised_merchant._COUNTERFEIT, burst.SAME_COUNTRY) == (
        CARD_TESTING_SMALL, COUNTERFEIT, SAME_COUNTRY)
    assert (card_testing.DIGITAL, burst.CLONED) == (CARD_TESTING_DIGITAL, BURST_CLONED)


def test_strength_is_e_at_0_one_at_half_and_one_over_e_at_1():
    # exp(2 * (0.5 - d)): e^1, e^0, e^-1
    assert base.strength(0.0) == pytest.approx(math.e)
    assert base.strength(0.5) == 1.0
    assert base.strength(1.0) == pytest.approx(1 / math.e)
    assert base.strength(0.25) == pytest.approx(math.exp(0.5))


def test_attempts_columns_types_and_default_online():
    a = base.attempts([5, 6], [1, 2], [3, 4], 4, [7, 8], [-1, 9], [1.5, 2.5], [0, 0])
    assert a["present"].tolist() == [False, False]  # online unless said
    assert a["code"].tolist() == [4, 4] and a["code"].dtype == np.int8
    assert a["t"].dtype == a["card"].dtype == a["episode"].dtype == np.int64
    assert a["amount_raw"].dtype == np.float64 and a["device"].tolist() == [-1, 9]
    a = base.attempts([5, 6], [1, 2], [3, 4], np.array([4, VISIT]), [7, 8], [-1, 9],
                      [1.5, 2.5], [0, 1], present=[1, 0])
    assert a["present"].tolist() == [True, False] and a["code"].tolist() == [4, VISIT]
    a["code"][0] = 1  # its own array, writable (a broadcast code would not be)


def test_spree_sizes_sum_exactly_and_cut_only_the_last():
    rng = np.random.default_rng(0)
    # low == high: sizes are known; 10 = 3 + 3 + 3 + 1 (the last cut short)
    assert base.spree_sizes(10, 3, 3, rng).tolist() == [3, 3, 3, 1]
    assert base.spree_sizes(9, 3, 3, rng).tolist() == [3, 3, 3]  # no empty episode
    assert base.spree_sizes(3, 3, 3, rng).tolist() == [3]
    assert base.spree_sizes(2, 3, 3, rng).tolist() == [2]
    assert base.spree_sizes(1, 1, 1, rng).tolist() == [1]
    assert base.spree_sizes(4, 1, 1, rng).tolist() == [1, 1, 1, 1]  # n // low + 1 drawn
    assert base.spree_sizes(0, 2, 2, rng).tolist() == []
    sizes = base.spree_sizes(2_000, 2, 3, rng)
    assert sizes.sum() == 2_000 and set(sizes[:-1].tolist()) == {2, 3}
    assert 1 <= sizes[-1] <= 3


def test_spree_offsets_restart_at_each_episodes_first_attempt():
    # sigma 0: every gap is exactly the median (100 µs)
    ep, off = base.spree_offsets(np.array([3, 1, 2]), 100.0, 0.0, np.random.default_rng(0))
    assert ep.tolist() == [0, 0, 0, 1, 2, 2]
    assert off.tolist() == [0, 100, 200, 0, 0, 100]
    assert off.dtype == np.int64


def _injector(rows, codes=None, scale=None, t0=1_000, t1=2_000, rng=0, difficulty=0.5):
    pop = SimpleNamespace(cfg=SimpleNamespace(label=SimpleNamespace(difficulty=difficulty)),
                          merchant_scale=np.asarray(scale if scale is not None else
                                                    np.ones(10)))
    spec = SimpleNamespace(rows=rows, t0_us=t0, t1_us=t1)
    d = {"card_id": np.zeros(rows, np.int64), "merchant_id": np.zeros(rows, np.int64),
         "amount_raw": np.zeros(rows), "event_us": np.full(rows, t0, np.int64)}
    inj = Injector(pop, spec, d, np.random.default_rng(rng))
    if codes is not None:
        inj.codes[:] = codes
    return inj


def test_injector_starts_all_genuine_with_the_difficultys_strength():
    inj = _injector(5, difficulty=0.0)
    assert inj.codes.tolist() == [0] * 5 and inj.codes.dtype == np.int8
    assert inj.strength == pytest.approx(math.e)


def test_take_gives_distinct_free_rows_and_all_free_ones_when_short():
    inj = _injector(50)
    inj.codes[::2] = 4  # even rows used
    got = inj.take(10)
    assert len(got) == 10 and len(set(got.tolist())) == 10 and (got % 2 == 1).all()
    # More asked than free: every free row once (the exact fallback).
    assert sorted(inj.take(40).tolist()) == list(range(1, 50, 2))
    inj.codes[:] = 4
    assert len(inj.take(3)) == 0
    inj.codes[7] = 0
    assert inj.take(3).tolist() == [7]
    assert len(_injector(1000).take(0)) == 0
    # Any free row can be drawn, the first and the last included.
    seen = {int(_injector(2, rng=s).take(1)[0]) for s in range(40)}
    assert seen == {0, 1}


def test_online_writes_card_merchant_price_level_amount_clipped_time_and_code():
    inj = _injector(4, scale=[1.0, 2.0, 4.0], t0=1_000, t1=2_000)
    rows = np.array([1, 3])
    inj.online(rows, np.array([1, 2]), np.array([10.0, 10.0]), np.array([500, 5_000]), 9, 6)
    d = inj.d
    assert d["card_id"].tolist() == [0, 9, 0, 9]
    assert d["merchant_id"].tolist() == [0, 1, 0, 2]
    # amount_raw is before the merchant's price level: 10 / 2, 10 / 4
    assert d["amount_raw"].tolist() == [0.0, 5.0, 0.0, 2.5]
    # times clipped into the chunk [t0, t1): 500 -> 1000, 5000 -> 1999
    assert d["event_us"].tolist() == [1_000, 1_000, 1_000, 1_999]
    assert inj.codes.tolist() == [0, 6, 0, 6]


def test_injector_episodes_are_runs_of_low_to_high_rows():
    inj = _injector(10)
    ep = inj.episodes(12, 3, 3)
    assert ep.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    ep = inj.episodes(2_000, 1, 4)
    runs = np.bincount(ep)
    assert len(ep) == 2_000 and set(runs[:-1].tolist()) == {1, 2, 3, 4}
    assert (np.diff(ep) >= 0).all() and (np.diff(ep) <= 1).all()


# -- v3 plans on a fake planner ------------------------------------------------------

class _Rng:
    """A real generator whose `random` draws can be scripted (a queue of arrays) and whose
    calls are recorded (name, args, result)."""

    def __init__(self, seed=0, random=()):
        self.g = np.random.default_rng(seed)
        self.queue = [np.asarray(r, dtype=np.float64) for r in random]
        self.calls = []

    def random(self, n=None):
        if self.queue:
            out = self.queue.pop(0)
            assert len(out) == n
        else:
            out = self.g.random(n)
        self.calls.append(("random", (n,), out))
        return out

    def __getattr__(self, name):
        f = getattr(self.g, name)

        def call(*args, **kw):
            out = f(*args, **kw)
            self.calls.append((name, args, out))
            return out
        return call


class _Rings:
    def __init__(self, shops=None):
        self.calls = {}
        self.card_shops = shops  # cashout_shops: card 100 + i -> shops[i]

    def _log(self, name, *args):
        self.calls.setdefault(name, []).append(args)

    def pick(self, k, rng):
        self._log("pick", k)
        return np.arange(k, dtype=np.int64)  # episode (or breach) i: ring i

    def start(self, ring, t0, t1, rng):
        self._log("start", t0, t1)
        return t0 + 1_000 * ring

    def start_near(self, ring, t, rng):
        self._log("start_near", t.copy())
        return t + 7  # a known nudge

    def merchants(self, ring, card, rng):
        self._log("merchants", ring.copy(), card.copy())
        return 500 + ring

    def device(self, ring, rng):
        return 70 + ring

    def cashout_shops(self, ring, card, rng):
        return np.asarray(self.card_shops)[card - 100]

    def shops(self, ring, rng):
        # a shop of ring i's city: 800 + i; none (-1) for every fourth ring
        self._log("shops", ring.copy())
        return np.where(ring % 4 == 3, -1, 800 + ring)


def _planner(burst_size=5, window_minutes=10.0, shops=None):
    pl = SimpleNamespace(
        rings=_Rings(shops),
        pop=SimpleNamespace(testing_merchants=np.array([7]),
                            merchant_scale=np.array([1.0] * 7 + [2.0] + [1.0] * 600),
                            merchant_country=np.arange(2_000) % 5),
        cfg=SimpleNamespace(feature=SimpleNamespace(amount="spec"),
                            label=SimpleNamespace(burst_size=burst_size,
                                                  burst_window_minutes=window_minutes)),
        shifts=[],
    )
    pl.victims = lambda k, rng: 100 + np.arange(k, dtype=np.int64)
    pl.victims_in = lambda country, rng: 5_000 + np.asarray(country)
    pl.breach_merchants = lambda b, rng: 900 + np.arange(b, dtype=np.int64)

    def amounts(card, rng, shift):
        pl.shifts.append(shift)
        return np.full(len(card), 10.0)
    pl.amounts = amounts
    return pl


@pytest.fixture
def spy(monkeypatch):
    """Records each scenario module's spree_sizes / spree_offsets calls (the real ones)."""
    calls = {"sizes": [], "offsets": []}

    def sizes(n, low, high, rng):
        out = base.spree_sizes(n, low, high, rng)
        calls["sizes"].append((n, low, high, out))
        return out

    def offsets(s, median, sigma, rng):
        out = base.spree_offsets(s, median, sigma, rng)
        calls["offsets"].append((median, sigma, out))
        return out

    for mod in (card_testing, account_takeover, compromised_merchant, burst):
        monkeypatch.setattr(mod, "spree_sizes", sizes)
        if hasattr(mod, "spree_offsets"):
            monkeypatch.setattr(mod, "spree_offsets", offsets)
    return calls


T0 = 100 * DAY_US


def test_card_testing_plan(spy, monkeypatch):
    monkeypatch.setattr(card_testing.sampling, "amounts",
                        lambda spec, n, rng: np.full(n, 20.0))
    pl = _planner()
    n = 60
    # The digital draw per episode: below 0.4 at a digital-goods merchant, else a shop.
    k_hint = 30  # more than enough episodes of 3-8 for 60 attempts
    u = np.tile([0.1, 0.4, 0.39, 0.41, 0.9], k_hint)

    class _Sized(_Rng):
        def random(self, n=None):
            self.queue = [u[:n]]
            return super().random(n)

    rng = _Sized(1)
    a = card_testing.plan(pl, n, T0, T0 + DAY_US, rng)
    (sn, low, high, sizes), = spy["sizes"]
    assert (sn, low, high) == (n, *SPREES["card_testing"][0])
    (median, sigma, (ep, off)), = spy["offsets"]
    assert (median, sigma) == SPREES["card_testing"][1]
    assert len(a["t"]) == n == sizes.sum()
    assert pl.rings.calls["pick"] == [(len(sizes),)]
    assert pl.rings.calls["start"] == [(T0, T0 + DAY_US)]
    assert a["episode"].tolist() == ep.tolist()
    assert (a["t"] == T0 + 1_000 * ep + off).all()  # the ring's start plus the offset
    assert a["card"].tolist() == (100 + ep).tolist() and (a["ring"] == ep).all()
    assert (a["device"] == 70 + ep).all() and (a["code"] == 4).all()
    assert not a["present"].any()
    digital = u[: len(sizes)][ep] < CARD_TESTING_DIGITAL
    assert digital.any() and (~digital).any()
    assert (a["merchant"][digital] == 7).all()
    assert (a["merchant"][~digital] == 500 + ep[~digital]).all()
    # Digital: a test sum in EUR over the merchant's price level (2.0): table / 2.
    assert set(a["amount_raw"][digital].tolist()) <= {x / 2 for x in CARD_TESTING_EUR}
    # At a shop: the usual amount (20 here) x 0.15.
    assert np.allclose(a["amount_raw"][~digital], 20.0 * CARD_TESTING_SMALL)


def test_account_takeover_plan(spy):
    pl = _planner()
    n = 50
    a = account_takeover.plan(pl, n, T0, T0 + DAY_US, _Rng(2))
    (sn, low, high, _sizes), = spy["sizes"]
    assert (sn, low, high) == (n, *SPREES["account_takeover"][0])
    (median, sigma, (ep, off)), = spy["offsets"]
    assert (median, sigma) == SPREES["account_takeover"][1]
    assert pl.rings.calls["start"] == [(T0, T0 + DAY_US)]
    assert (a["t"] == T0 + 1_000 * ep + off).all() and (off >= 0).all() and off.max() > 0
    assert (a["card"] == 100 + ep).all() and (a["ring"] == ep).all()
    assert (a["merchant"] == 500 + ep).all() and (a["device"] == 70 + ep).all()
    (ring, card), = pl.rings.calls["merchants"]
    assert (ring == ep).all() and (card == 100 + ep).all()  # per attempt, the card's ring
    assert pl.shifts == [ATO_SHIFT] and (a["amount_raw"] == 10.0).all()
    assert (a["code"] == 6).all() and (a["episode"] == ep).all() and not a["present"].any()


def test_compromised_merchant_plan(spy):
    # Cards 100.. (one per victim); cashout shop of card 100 + i: 300 + i, none (-1) for
    # every third card. present draws: 0.1 (< 0.35), 0.35 (not), 0.9 (not), repeated.
    pl = _planner(shops=[-1 if i % 3 == 0 else 300 + i for i in range(200)])
    n = 120
    rng = _Rng(3)
    orig = rng.random

    def random(n=None):
        if sum(c[0] == "random" for c in rng.calls) == 1:  # the second: counterfeit draw
            rng.queue = [np.resize([0.1, 0.35, 0.9, 0.2], n)]
        return orig(n)
    rng.random = random
    a = compromised_merchant.plan(pl, n, T0, T0 + DAY_US, rng)
    (n1, lo1, hi1, sizes), (n2, lo2, hi2, per_breach) = spy["sizes"]
    v, b = len(sizes), len(per_breach)
    assert (n1, lo1, hi1) == (n, *SPREES["compromised_merchant"][0])
    assert (n2, lo2, hi2) == (v, 4, 15)  # 4-15 victim cards per breach
    (median, sigma, (ep, off)), = spy["offsets"]
    assert (median, sigma) == SPREES["compromised_merchant"][1]
    fraud = a["code"] == 5
    visit = a["code"] == VISIT
    assert fraud.sum() == n and visit.sum() == v and len(a["t"]) == n + v
    breach = np.repeat(np.arange(b), per_breach)
    # Visits: one per victim card, at its breach's merchant, no ring, no device, each
    # its own episode, inside the breach window: w0 + u * (3..14 days).
    assert (a["card"][visit] == 100 + np.arange(v)).all()
    assert (a["merchant"][visit] == 900 + breach).all()
    assert (a["ring"][visit] == -1).all() and (a["device"][visit] == -1).all()
    assert (a["episode"][visit] == np.arange(v)).all() and not a["present"][visit].any()
    w0 = next(c[2] for c in rng.calls if c[0] == "integers" and c[1][:2] == (T0, T0 + DAY_US))
    w_len = next(c for c in rng.calls if c[0] == "uniform" and c[1][:2] == (3, 14))[2]
    frac = next(c for c in rng.calls if c[0] == "random")[2]
    tv = a["t"][visit]
    assert (tv == (w0[breach] + frac * w_len[breach] * DAY_US).astype(np.int64)).all()
    assert (tv >= w0[breach]).all() and (tv - w0[breach] < 14 * DAY_US).all()
    # Cash-out: 2-30 days after the visit (then the ring's hours: start_near, here +7),
    # attempts of a card ~3 hours apart; the ring is the breach's.
    later = next(c for c in rng.calls if c[0] == "uniform" and c[1][:2] == (2, 30))[2]
    (near,), = pl.rings.calls["start_near"]
    assert (near == tv + (later * DAY_US).astype(np.int64)).all()
    assert (a["t"][fraud] == near[ep] + 7 + off).all()
    assert (a["card"][fraud] == 100 + ep).all() and (a["ring"][fraud] == breach[ep]).all()
    assert pl.rings.calls["pick"] == [(b,)]
    assert (a["episode"][fraud] == ep).all()
    # In person (cloned card) where the draw is below 0.35 and there is a shop: at the
    # shop, no device, the card's level; otherwise online at the ring's merchants with a
    # device, 1.6 x the level.
    shop = np.array(pl.rings.card_shops)[np.arange(v)]
    u = np.resize([0.1, 0.35, 0.9, 0.2], v)
    present = (u < COUNTERFEIT) & (shop >= 0)
    assert present.any() and (~present).any()
    assert (a["present"][fraud] == present[ep]).all()
    p = present[ep]
    assert (a["merchant"][fraud][p] == shop[ep][p]).all()
    assert (a["merchant"][fraud][~p] == 500 + breach[ep][~p]).all()
    assert (a["device"][fraud][p] == -1).all()
    assert (a["device"][fraud][~p] == 70 + breach[ep][~p]).all()
    assert (a["amount_raw"][fraud][p] == 10.0).all()
    assert np.allclose(a["amount_raw"][fraud][~p], 10.0 * ONLINE_MARKUP)
    assert (a["amount_raw"][visit] == 10.0).all() and pl.shifts == [0.0, 0.0]


def test_burst_plan(spy):
    pl = _planner(burst_size=5, window_minutes=10.0)
    n = 200
    # random calls in order: the cloned draw per wave, then the same-country per card.
    draws = iter([[0.1, BURST_CLONED, 0.34, 0.2, 0.9], [0.1, SAME_COUNTRY, 0.9, 0.5]])

    class _Seq(_Rng):
        def random(self, n=None):
            self.queue = [np.resize(next(draws), n)]
            return super().random(n)

    rng = _Seq(4)
    a = burst.plan(pl, n, T0, T0 + DAY_US, rng)
    (sn, low, high, sizes), = spy["sizes"]
    assert (sn, low, high) == (n, 3, 7)  # burst_size 5 ± 2
    k = len(sizes)
    wave = np.repeat(np.arange(k), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # The wave's ring starts at T0 + 1000 * ring; each card within ±10 minutes of it.
    window = 10 * 60_000_000
    dt = a["t"] - (T0 + 1_000 * wave)
    assert (np.abs(dt) <= window).all() and dt.min() < -window / 2 and dt.max() > window / 2
    # Cloned waves: draw below 0.35 and a shop in the ring's city (ring i: shop 800 + i,
    # none for every fourth ring): wave 0 (0.1), 2 (0.34); not 1 (0.35), 3 (0.2 but no
    # shop), 4 (0.9).
    assert [(r == np.arange(k)).all() for (r,) in pl.rings.calls["shops"]] == [True]
    u = np.resize([0.1, BURST_CLONED, 0.34, 0.2, 0.9], k)
    cloned = (u < BURST_CLONED) & (np.arange(k) % 4 != 3)
    assert cloned[:5].tolist() == [True, False, True, False, False]
    c = cloned[wave]
    # The ring's merchant (chosen with the wave's first card, card 100 + its index)
    # online with a ring device; a cloned wave in person at the shop, no device.
    (ring, card), = pl.rings.calls["merchants"]
    assert (ring == np.arange(k)).all() and (card == 100 + first).all()
    assert (a["merchant"] == np.where(c, 800 + wave, 500 + wave)).all()
    assert (a["device"] == np.where(c, -1, 70 + wave)).all()
    assert (a["present"] == c).all() and c.any() and (~c).any()
    assert (a["ring"] == wave).all() and (a["code"] == 2).all()
    assert (a["episode"] == np.arange(n)).all()  # each card its own episode
    assert pl.shifts == [BURST_SHIFT]
    # The first card of a wave stays the drawn one; the others drawn below 0.8 are of
    # the merchant's country (victims_in: 5000 + country), the rest stay drawn.
    u = [c[2] for c in rng.calls if c[0] == "random"][1]
    assert (a["card"][first] == 100 + first).all()
    others = np.setdiff1d(np.arange(n), first)
    same = others[u[others] < SAME_COUNTRY]
    assert len(same) and (a["card"][same] == 5_000 + pl.pop.merchant_country[
        a["merchant"][same]]).all()
    assert c[same].any() and (~c[same]).any()  # cloned waves' cards too
    kept = others[u[others] >= SAME_COUNTRY]
    assert len(kept) and (a["card"][kept] == 100 + kept).all()


def test_burst_sizes_never_below_one():
    pl = _planner(burst_size=1)
    calls = []
    orig = burst.spree_sizes

    def sizes(n, low, high, rng):
        calls.append((low, high))
        return orig(n, low, high, rng)
    burst.spree_sizes, saved = sizes, burst.spree_sizes
    try:
        burst.plan(pl, 10, T0, T0 + DAY_US, _Rng(5))
    finally:
        burst.spree_sizes = saved
    assert calls == [(1, 3)]  # max(1, 1 - 2), 1 + 2
