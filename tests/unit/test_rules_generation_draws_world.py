"""Rule-level tests of the v3 world (`draws_v3.World`) and of the skeleton's card and
amount rules (`skeleton_v3`), on the tiny catalogs and hand-made inputs (issue 25)."""

from __future__ import annotations

import dataclasses

import numpy as np

from sqlgen.generate import draws_v3
from sqlgen.generate.plan import plan_chunks
from sqlgen.world import world
from tests.unit.test_rules_generation import ctx  # noqa: F401  (module fixture)


def test_world_counts_active_and_replacement_cards(ctx):  # noqa: F811
    w, cat = ctx.pop.world, ctx.cfg.catalog
    # Payments move only to active cards; every holder has one replacement card more.
    assert w.n_cards == cat.num_cards == 450
    assert w.n_all_cards == cat.num_cards + cat.num_customers == 750


def test_holders_shop_in_the_nearest_shop_town_of_their_own_country(ctx):  # noqa: F811
    w, c = ctx.pop.world, world.cities()
    shops = np.unique(w.merchant_city)
    assert (w.shop_city[shops] == shops).all()  # a town with shops: itself
    has_shops = np.isin(c.country, c.country[shops])
    mine = np.flatnonzero(has_shops)
    assert (c.country[w.shop_city[mine]] == c.country[mine]).all()
    # The nearest of them: no shop town of the country closer (a sample of cities).
    for city in mine[:: max(1, len(mine) // 40)].tolist():
        same = shops[c.country[shops] == c.country[city]]
        km = world.km_between(c.lat[city], c.lon[city], c.lat[same], c.lon[same])
        assert w.shop_city[city] == same[np.argmin(km)]
    # A country without shops: the nearest shop town anywhere.
    other = np.flatnonzero(~has_shops)
    assert len(other)
    city = int(other[0])
    km = world.km_between(c.lat[city], c.lon[city], c.lat[shops], c.lon[shops])
    assert w.shop_city[city] == shops[np.argmin(km)]


def test_no_merchant_above_a_fifth_of_a_percent_of_the_catalogs_popularity(ctx):  # noqa: F811
    # 1000 merchants of Zipf popularity (the first alone 13 % of the total): each of the
    # top ones is held at 0.2 %, the excess spread over the rest in proportion.
    pop, old = ctx.pop, ctx.pop.world
    n = 1000
    rng = np.random.default_rng(0)
    shops = np.unique(old.merchant_city)
    city = shops[rng.integers(0, len(shops), n)]
    c = world.cities()
    merchants = {"city": city, "lat": c.lat[city], "lon": c.lon[city],
                 "currency": np.zeros(n, dtype=np.int64), "mcc": np.full(n, "5411"),
                 "popularity": 1.0 / np.arange(1, n + 1), "country": c.country[city]}
    customers = {"lat": old.customer_lat, "lon": old.customer_lon, "city": old.customer_home}
    w = draws_v3.World(pop, customers, merchants)
    p = w.remote_popularity
    assert abs(p.sum() - 1) < 1e-9
    assert abs(p.max() - 0.002) < 1e-12
    assert (p[:50] == p[0]).all()  # the top 50 all at the cap
    tail = p[-100:] / (1.0 / np.arange(n - 99, n + 1))
    assert np.allclose(tail, tail[0])  # below the cap: in proportion to the weights


def test_bounded_weights_at_a_cap_of_exactly_one_in_n_are_uniform():
    w = draws_v3.bounded_weights(np.array([4.0, 3.0, 2.0, 1.0]), 0.25)
    assert w.tolist() == [0.25] * 4


class _Cards:
    """A card sampler returning the given draws in turn."""

    def __init__(self, *draws):
        self.draws = [np.asarray(x, dtype=np.int64) for x in draws]

    def draw(self, n, rng):
        out = self.draws.pop(0)
        assert len(out) == n
        return out.copy()


def test_a_single_sleeping_draw_is_redrawn(ctx, monkeypatch):  # noqa: F811
    w = ctx.pop.world
    spec = dataclasses.replace(plan_chunks(ctx.cfg)[0], rows=5)
    month = spec.year * 12 + spec.month
    asleep = draws_v3.dormant(np.arange(w.n_cards), month, w.seed)
    a, b = np.flatnonzero(asleep)[0], np.flatnonzero(~asleep)[0]
    # The first draw lands once on a sleeping card: that one row is drawn again.
    monkeypatch.setattr(w, "cards", _Cards([a, b, b, b, b], [b]))
    d = draws_v3.skeleton_v3(ctx.pop, spec, np.random.default_rng(0))
    assert d["card_id"].tolist() == [b] * 5


def test_lognormal_amounts_spread_by_each_merchants_category(ctx, monkeypatch):  # noqa: F811
    # Each draw one sigma above the centre exp(mu): a merchant of shape s gets
    # exp(mu) * e**s (its category's spread of log-amounts, s times the config's).
    pop = ctx.pop
    spec_amount = ctx.cfg.feature.amount
    assert spec_amount.distribution == "lognormal"
    centre = np.exp(spec_amount.mu)
    monkeypatch.setattr(draws_v3.sampling, "amounts",
                        lambda spec, n, rng: np.full(n, centre * np.e))
    spec = dataclasses.replace(plan_chunks(ctx.cfg)[0], rows=400)
    d = draws_v3.skeleton_v3(pop, spec, np.random.default_rng(0))
    shape = pop.world.amount_shape[d["merchant_id"]]
    assert len(np.unique(shape)) > 1
    assert np.allclose(d["amount_raw"], centre * np.exp(shape))


def test_trips_within_a_country_go_to_its_shop_towns_by_population(ctx):  # noqa: F811
    w, c = ctx.pop.world, world.cities()
    home = c.country[w.customer_home]
    h = np.bincount(home).argmax()  # the most common home country
    towns = w.destination_city[c.country[w.destination_city] == h]
    assert len(towns) >= 2
    mine = np.flatnonzero(home == h)
    weeks = 20_000 // len(mine) + 1
    owner = np.repeat(mine, weeks)
    week = np.tile(np.arange(2900, 2900 + weeks), len(mine))
    dest = w._destinations(owner, week, 1.0)
    inside = dest[np.isin(dest, towns)]
    assert len(inside) > 5_000
    share = np.array([(inside == t).mean() for t in towns])
    want = c.population[towns] / c.population[towns].sum()
    assert np.abs(share - want).max() < 0.03, np.c_[share, want]


def test_carrier_gateways_sit_in_shop_towns_of_their_country_by_a_hash(ctx):  # noqa: F811
    from sqlgen import sampling
    from sqlgen.schema import reference
    from sqlgen.world import networks

    w, c = ctx.pop.world, world.cities()
    # Gateway k (of country k // 16): u = top 53 bits of mix64(k ^ (seed ^ 0xCA7C17))
    # as a fraction of 2**53, the country's shop town that u falls on by population;
    # -1 for a country without shop towns.
    n = len(reference()["countries"]) * networks.CARRIER_IPS_PER_COUNTRY
    k = np.arange(n, dtype=np.uint64)
    u = (sampling.mix64(k ^ np.uint64(w.seed ^ 0xCA7C17)) >> np.uint64(11)).astype(
        np.float64) / 2.0**53
    country = (k // np.uint64(16)).astype(np.int64)
    pick = w.destinations.lookup(country, u)
    want = np.where(pick >= 0, w.destination_city[np.maximum(pick, 0)], -1)
    got = w.carrier_city(np.arange(n))
    assert got.tolist() == want.tolist()
    assert (pick == 0).any() and (got == -1).any() and len(np.unique(got[got >= 0])) > 5
    has = got >= 0
    assert (c.country[got[has]] == country[has]).all()


def test_a_card_sleeps_in_a_month_by_a_hash_of_card_month_and_seed():
    from sqlgen import sampling

    card = np.arange(5_000)
    month = 2025 * 12 + 3
    # key = (card << 20) ^ month ^ (seed ^ 0xD0E5); asleep when the top 53 bits of
    # mix64(key), as a fraction of 2**53, are below 15 %.
    key = (card.astype(np.uint64) << np.uint64(20)) ^ np.uint64(month) ^ np.uint64(7 ^ 0xD0E5)
    u = (sampling.mix64(key) >> np.uint64(11)).astype(np.float64) / 2.0**53
    assert (draws_v3.dormant(card, month, 7) == (u < 0.15)).all()
