"""Rule-level tests of issue 24's overlap rules: fraud that looks like genuine behaviour
where real fraud does (cloned cards used near home, phone orders, batches of cards of
one country, anti-detect fingerprints), each pinned on a small hand-checked input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sqlgen.combos import combo_code, combo_table, vocab_code
from sqlgen.config import load_config, with_overrides
from sqlgen.generate import episodes
from sqlgen.generate.chunks import ChunkContext, draw_chunk
from sqlgen.generate.episodes import Rings
from sqlgen.generate.plan import plan_chunks, to_us
from sqlgen.scenarios import burst
from sqlgen.scenarios import code as scenario_code
from sqlgen.scenarios.base import DAY_US
from sqlgen.world.pools import make_pools
from tests.conftest import TINY

DAY0 = to_us(dt.datetime(2025, 3, 3))


@pytest.fixture(scope="module")
def ctx():
    cfg = with_overrides(load_config(TINY), realism="v3", rows=6_000, batch_size=3_000,
                         fraud_rate=0.03, temporal={"start_date": "2025-03-01",
                                                    "end_date": "2025-03-20"})
    c = ChunkContext(cfg, None)
    c.use_pools(make_pools(cfg.seed))
    return c


class _ShopOfCity:
    """A city's shop is 1000 + the city id (-1 for city 99: no shops there)."""

    def draw(self, city, rng):
        return np.where(city == 99, -1, 1000 + np.asarray(city))


def _rings(ring_city, victim_town):
    rings = Rings.__new__(Rings)
    rings.city = np.asarray(ring_city)
    rings.in_city = _ShopOfCity()
    rings.card_owner = np.arange(len(victim_town))  # card i is customer i's
    rings.victim_town = np.asarray(victim_town)
    return rings


def test_cloned_cards_are_mostly_used_in_the_victims_town():
    rings = _rings([3], [7, 99])
    n = 20_000
    ring = np.zeros(n, dtype=np.int64)
    got = rings.cashout_shops(ring, np.zeros(n, dtype=np.int64), np.random.default_rng(1))
    assert set(np.unique(got).tolist()) == {1003, 1007}  # ring's city or victim's town
    local = (got == 1007).mean()
    assert abs(local - episodes.LOCAL_CASHOUT) < 0.02
    assert episodes.LOCAL_CASHOUT == 0.6
    # A victim's town without shops: always the ring's city.
    got = rings.cashout_shops(ring[:500], np.ones(500, dtype=np.int64),
                              np.random.default_rng(2))
    assert (got == 1003).all()


def test_victims_in_a_country_hold_cards_there(ctx):
    planner = ctx.pop.planner
    pop = ctx.pop
    owner_country = pop.customer_country[pop.card_owner[:pop.world.n_cards]]
    country = int(np.bincount(owner_country).argmax())
    cards = planner.victims_in(np.full(2000, country), np.random.default_rng(3))
    assert (cards < pop.world.n_cards).all()  # never a replacement card
    assert (pop.customer_country[pop.card_owner[cards]] == country).all()
    # A country where no holder lives: any active card instead.
    empty = np.setdiff1d(np.arange(owner_country.max() + 2), owner_country)[0]
    cards = planner.victims_in(np.full(50, empty), np.random.default_rng(4))
    assert ((cards >= 0) & (cards < pop.world.n_cards)).all()


def test_a_burst_waves_cards_are_mostly_of_the_merchants_country(ctx):
    planner, pop = ctx.pop.planner, ctx.pop
    a = burst.plan(planner, 3000, DAY0, DAY0 + DAY_US, np.random.default_rng(5))
    same = pop.customer_country[pop.card_owner[a["card"]]] == pop.merchant_country[
        a["merchant"]]
    # The first card of a wave picks the merchant; of the others SAME_COUNTRY are the
    # merchant country's, and the rest, drawn anywhere, sometimes are too.
    assert burst.SAME_COUNTRY == 0.8
    assert 0.75 < same.mean() < 0.97
    assert (a["card"] < pop.world.n_cards).all()


def _chunk(ctx):
    spec = plan_chunks(ctx.cfg)[1]
    return draw_chunk(ctx, spec)


def test_rings_place_phone_orders_as_holders_do(ctx):
    draws, _, _ = _chunk(ctx)
    combos = combo_table()
    ring_rows = np.flatnonzero((draws["fraud_device"] >= 0) & ~draws["present"]
                               & (draws["ring"] >= 0))
    channel = combos["channel"][draws["combo"][ring_rows]]
    moto = channel == vocab_code("channel", "moto")
    assert moto.any() and (channel[~moto] != vocab_code("channel", "pos")).all()
    # A phone order is keyed in by the merchant: desktop, entry manual, as genuine ones.
    assert (draws["combo"][ring_rows[moto]] == combo_code("moto", "desktop", "manual")).all()
    assert moto.mean() < 0.35  # about 5 in 38 of a ring's card-not-present attempts


def test_burst_fingerprints_are_new_devices(ctx):
    draws, _, _ = _chunk(ctx)
    burst_rows = (draws["plan_code"] == scenario_code("burst")) & (draws["fraud_device"] >= 0)
    other = (draws["plan_code"] > 0) & (draws["plan_code"] != scenario_code("burst")) & (
        draws["fraud_device"] >= 0)
    assert burst_rows.sum() > 10
    # A fresh fingerprint is a device never seen before (a random id); other scenarios'
    # ring rows never are.
    assert draws["device_fresh"][burst_rows].any()
    assert not draws["device_fresh"][other].any()
    assert episodes._FRESH_FINGERPRINT == {"burst": 0.6}


def test_genuine_runs_repeat_card_and_merchant_within_minutes():
    from types import SimpleNamespace

    from sqlgen.generate import draws_v3

    n = 40_000
    rng = np.random.default_rng(7)
    t = np.sort(rng.integers(DAY0, DAY0 + DAY_US, n))
    d = {"event_us": t, "card_id": np.arange(n), "merchant_id": np.arange(n) + 10 * n,
         "remote": np.zeros(n, dtype=bool), "away": np.zeros(n, dtype=bool),
         "latitude": np.zeros(n), "longitude": np.zeros(n),
         "zone": np.zeros(n, dtype=np.int16), "ip_city": np.full(n, -1, dtype=np.int64),
         "amount_raw": np.full(n, 10.0)}
    spec = SimpleNamespace(t0_us=DAY0, t1_us=DAY0 + DAY_US)
    digital = np.zeros(11 * n, dtype=bool)
    digital[10 * n + n // 2:] = True  # the second half's merchants sell digital goods
    draws_v3.genuine_runs(SimpleNamespace(is_testing_merchant=digital), spec, d,
                          np.zeros(n, dtype=np.int8), rng)
    # Each card had one payment at its own merchant: a card with more is a run.
    count = np.bincount(d["card_id"], minlength=n)
    assert (d["merchant_id"] - d["card_id"] == 10 * n).all()  # same card, same merchant
    runs = count > 1
    # 4% of payments start a run of 1-4 more, 12% at digital-goods merchants.
    assert (draws_v3._RUNS, draws_v3._DIGITAL_RUNS) == (0.04, 0.12)
    half = n // 2
    assert 0.032 < runs[:half].sum() / half < 0.048
    assert 0.105 < runs[half:].sum() / half < 0.135
    assert count.max() <= 5
    order = np.lexsort((d["event_us"], d["card_id"]))
    c, tt = d["card_id"][order], d["event_us"][order]
    gaps = np.diff(tt)[np.diff(c) == 0]
    assert 60e6 < np.median(gaps) < 130e6  # about a minute and a half (microseconds)
    assert (d["amount_raw"] >= 3.0).all() and (d["amount_raw"] <= 15.0).all()
