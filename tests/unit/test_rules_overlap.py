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
    rotating = np.isin(draws["plan_code"], [scenario_code("burst"),
                                             scenario_code("card_testing")])
    other = (draws["plan_code"] > 0) & ~rotating & (draws["fraud_device"] >= 0)
    assert burst_rows.sum() > 10
    # A fresh fingerprint is a device never seen before (a random id); ring rows of
    # scenarios other than burst and card testing never are.
    assert draws["device_fresh"][burst_rows].any()
    assert not draws["device_fresh"][other].any()
    assert episodes._FRESH_FINGERPRINT == {"burst": 0.6, "card_testing": 0.6}


def test_card_testing_bots_rotate_fingerprints_and_browsers(ctx):
    planner = ctx.pop.planner
    n = 400  # one ring device (ring 0, slot 1) testing cards all day, card testing
    t = DAY0 + np.arange(n, dtype=np.int64) * 60_000_000
    city = int(planner.rings.city[0])
    d = {"fraud_device": np.full(n, 1, dtype=np.int64), "ring": np.zeros(n, dtype=np.int64),
         "plan_code": np.full(n, scenario_code("card_testing"), dtype=np.int8),
         "event_us": t, "fraud_city": np.full(n, city, dtype=np.int64),
         "proxy": np.zeros(n, dtype=bool),
         "combo": np.full(n, combo_code("ecom", "desktop", "ecommerce"), dtype=np.int64),
         "ua_idx": np.full(n, -1, dtype=np.int32),
         "device_uuid": np.zeros((n, 16), dtype=np.uint8), "ip": np.zeros(n, dtype=np.int64),
         "ip_city": np.zeros(n, dtype=np.int64), "device_null": np.ones(n, dtype=bool),
         "device_fresh": np.zeros(n, dtype=bool), "is_recurring": np.ones(n, dtype=bool)}
    planner.devices(d, np.random.default_rng(13))
    fresh = d["device_fresh"]
    assert 0.5 < fresh.mean() < 0.7  # _FRESH_FINGERPRINT["card_testing"]
    # The ring's own device: one id and one browser all day (one lease period).
    assert len(np.unique(d["device_uuid"][~fresh], axis=0)) == 1
    assert len(np.unique(d["ua_idx"][~fresh])) == 1
    # A new fingerprint shows a browser of its own: several user agents, each one
    # fitting the device's kind (the combo's device_type; a phone order is keyed in on
    # the merchant's desktop).
    assert len(np.unique(d["ua_idx"][fresh])) > 3
    from sqlgen.schema import static_vocabularies
    from sqlgen.world import networks

    _, by_kind = networks.user_agents()
    kinds = static_vocabularies()["device_type"]
    dev_type = combo_table()["device_type"][d["combo"]]
    ecom = combo_table()["channel"][d["combo"]] == vocab_code("channel", "ecom")
    for k, name in enumerate(kinds):
        rows = ecom & (dev_type == k)
        if rows.any():
            assert np.isin(d["ua_idx"][rows], by_kind[name][0]).all()


class _FakeRings:
    """Ring 0 lives in a city with shop 500; ring 1's city has no shop. Every ring's
    online merchant is 900, its device ring * 8 + 1, its hour noon."""

    def pick(self, k, rng):
        return np.arange(k) % 2

    def start(self, ring, t0, t1, rng):
        return np.full(len(ring), t0 + 12 * 3_600_000_000)

    def shops(self, ring, rng):
        return np.where(ring == 0, 500, -1)

    def merchants(self, ring, card, rng):
        return np.full(len(ring), 900)

    def device(self, ring, rng):
        return ring * 8 + 1


def _fake_planner(**pop):
    from types import SimpleNamespace

    cfg = load_config(TINY)
    label = SimpleNamespace(burst_size=5, burst_window_minutes=10)
    return SimpleNamespace(
        cfg=SimpleNamespace(label=label, feature=cfg.feature), rings=_FakeRings(),
        victims=lambda k, rng: np.arange(k) + 100,
        victims_in=lambda country, rng: np.full(len(country), 7),
        amounts=lambda card, rng, shift: np.ones(len(card)),
        pop=SimpleNamespace(merchant_country=np.zeros(1000, dtype=np.int64), **pop))


def test_some_burst_waves_are_cloned_cards_at_a_shop_of_the_rings_city():
    a = burst.plan(_fake_planner(), 4000, DAY0, DAY0 + DAY_US, np.random.default_rng(11))
    assert burst.CLONED == 0.35
    ring1 = a["ring"] == 1  # no shop in its city: always online, its device
    assert not a["present"][ring1].any()
    assert (a["merchant"][ring1] == 900).all() and (a["device"][ring1] == 9).all()
    ring0 = a["ring"] == 0
    shop = ring0 & a["present"]
    # In person: the shop of the ring's city, no device; online: merchant and device.
    assert (a["merchant"][shop] == 500).all() and (a["device"][shop] == -1).all()
    online = ring0 & ~a["present"]
    assert (a["merchant"][online] == 900).all() and (a["device"][online] == 1).all()
    assert 0.25 < shop.sum() / ring0.sum() < 0.45  # waves of 3-7 cards, about 35% cloned
    # A wave is all in person or all online: the waves of ring 0 (one every 2 waves)
    # are runs of rows at one merchant within the window of noon.
    assert (np.abs(a["t"] - (DAY0 + 12 * 3_600_000_000)) <= 10 * 60_000_000).all()


def test_card_testing_buys_what_holders_buy():
    from sqlgen.scenarios import card_testing

    scale = np.ones(1000)
    scale[40:] = 2.0  # merchants 40.. price twice the reference level
    pl = _fake_planner(testing_merchants=np.asarray([3, 50]), merchant_scale=scale)
    a = card_testing.plan(pl, 6000, DAY0, DAY0 + DAY_US, np.random.default_rng(12))
    assert card_testing.DIGITAL == 0.4
    assert card_testing.MICRO_PRICES.tolist() == [0.99, 1.49, 1.99, 2.99, 4.99]
    digital = np.isin(a["merchant"], [3, 50])
    assert set(np.unique(a["merchant"]).tolist()) <= {3, 50, 900}
    # At a digital merchant a test is a genuine price point in the merchant's terms:
    # amount_raw x the merchant's price level is 0.99 .. 4.99 (EUR before conversion).
    paid = a["amount_raw"][digital] * scale[a["merchant"][digital]]
    assert np.isin(np.round(paid, 2), card_testing.MICRO_PRICES).all()
    assert set(np.round(paid, 2).tolist()) == set(card_testing.MICRO_PRICES.tolist())
    # Runs (episodes) are digital as a whole; about 40% of them.
    ep_digital = np.bincount(a["episode"], weights=digital) / np.bincount(a["episode"])
    assert set(np.unique(ep_digital).tolist()) <= {0.0, 1.0}
    assert 0.34 < ep_digital.mean() < 0.46
    # Elsewhere a small purchase for that shop, well below its usual amounts.
    assert np.median(a["amount_raw"][~digital]) < 0.3 * np.median(
        __import__("sqlgen.sampling", fromlist=["amounts"]).amounts(
            pl.cfg.feature.amount, 5000, np.random.default_rng(1)))


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
