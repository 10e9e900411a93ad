"""Rule-level tests of the fraud rings (`episodes.Rings`): working hours, devices,
where a ring spends a card, on hand-made rings and a scripted rng (issue 25)."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np

from sqlgen.generate import episodes
from sqlgen.generate.episodes import Rings
from sqlgen.generate.plan import to_us
from sqlgen.scenarios.base import DAY_US, HOUR_US
from tests.unit.test_rules_generation import ctx  # noqa: F401  (module fixture)

DAY0 = to_us(dt.datetime(2025, 3, 3))  # a Monday, midnight UTC


class Scripted:
    """An rng whose draws are given: `normal` is loc + scale x z (z cycled), `random`
    the values u (cycled), `integers` its low end (or high - 1 with ints="hi"),
    `lognormal` the values `lognormal` (cycled); every call is recorded."""

    def __init__(self, z=(0.0,), u=(0.0,), ints="lo", lognormal=(1.0,)):
        self.z, self.u, self.ints, self.logn = z, u, ints, lognormal
        self.calls: list[tuple] = []

    def normal(self, loc, scale, size):
        self.calls.append(("normal", loc, scale, size))
        return loc + scale * np.resize(np.asarray(self.z, dtype=np.float64), size)

    def random(self, size):
        self.calls.append(("random", size))
        return np.resize(np.asarray(self.u, dtype=np.float64), size)

    def integers(self, lo, hi, size):
        self.calls.append(("integers", lo, hi, size))
        return np.full(size, lo if self.ints == "lo" else hi - 1, dtype=np.int64)

    def lognormal(self, mean, sigma, size):
        self.calls.append(("lognormal", mean, sigma, size))
        return np.resize(np.asarray(self.logn, dtype=np.float64), size)


def _rings(hour, offset_min) -> Rings:
    r = Rings.__new__(Rings)
    r.hour = np.asarray(hour, dtype=np.float64)
    r.offset_min = np.asarray(offset_min, dtype=np.int64)
    return r


def test_working_hours_jitter_by_two_and_a_half_hours_around_the_rings_hour():
    # Ring 0 works at 10:00 local in UTC+2 (08:00 UTC); its jitter is N(0, 2.5 h):
    # z = +1 is 2.5 h later (10:30 UTC), z = -1 2.5 h earlier (05:30 UTC).
    r = _rings([10.0], [120])
    t = r.start(np.zeros(3, np.int64), DAY0, DAY0 + DAY_US, Scripted(z=(0.0, 1.0, -1.0)))
    assert ((t - DAY0) / HOUR_US).tolist() == [8.0, 10.5, 5.5]


def test_working_hours_offset_is_whole_minutes_to_the_microsecond():
    # 12:00 local at UTC+5:45 (345 min) is 06:15:00.000000 UTC exactly.
    r = _rings([12.0], [345])
    t = r.start(np.zeros(1, np.int64), DAY0, DAY0 + DAY_US, Scripted())
    assert t.tolist() == [DAY0 + 6 * HOUR_US + 15 * 60_000_000]


def test_working_hours_fall_in_the_slice_wrapping_around_its_start():
    # The slice is a day from noon: a ring working at 08:00 UTC works at 08:00 the next
    # day (still in the slice), one at 15:00 UTC the same day.
    r = _rings([8.0, 15.0], [0, 0])
    t0 = DAY0 + 12 * HOUR_US
    t = r.start(np.array([0, 1]), t0, t0 + DAY_US, Scripted())
    assert t.tolist() == [DAY0 + DAY_US + 8 * HOUR_US, DAY0 + 15 * HOUR_US]
    # A slice of zero length: everything at its start (the length taken as 1 us; an odd
    # start, so a length of 2 would put some a microsecond later).
    t = r.start(np.array([0, 1]), t0 + 1, t0 + 1, Scripted())
    assert t.tolist() == [t0 + 1, t0 + 1]


def test_start_near_is_the_rings_hours_on_the_day_of_each_time():
    r = _rings([8.0, 23.5, 0.0], [-60, 60, 0])  # 09:00 UTC; 22:30 UTC; midnight UTC
    t = np.array([DAY0 + 5 * DAY_US + 1, DAY0 + 2 * DAY_US + 23 * HOUR_US,
                  DAY0 + DAY_US + 7])
    got = r.start_near(np.array([0, 1, 2]), t, Scripted())
    assert got.tolist() == [DAY0 + 5 * DAY_US + 9 * HOUR_US,
                            DAY0 + 2 * DAY_US + 22 * HOUR_US + 30 * 60_000_000,
                            DAY0 + DAY_US]


def test_a_rings_device_is_one_of_its_own_slots():
    # Ring r owns slots 8r .. 8r + n_dev[r] - 1: u x n_dev, rounded down.
    r = Rings.__new__(Rings)
    r.n_dev = np.array([2, 8, 3])
    got = r.device(np.array([0, 1, 2, 2]), Scripted(u=(0.0, 0.999, 0.5, 0.99)))
    assert got.tolist() == [0, 8 + 7, 16 + 1, 16 + 2]


class _Draw:
    """A sampler stand-in: `draw(groups, rng)` -> table[groups], recording its input."""

    def __init__(self, table):
        self.table, self.seen = np.asarray(table), []

    def draw(self, x, rng):
        self.seen.append(np.asarray(x).copy())
        return self.table[x] if np.ndim(x) else self.table[: int(x)]


def test_a_ring_spends_at_its_favourites_or_where_the_holder_would():
    r = Rings.__new__(Rings)
    r.favourites = np.arange(24).reshape(2, 12) + 1000  # ring 1's: 1012 .. 1023
    r.card_owner = np.array([0, 1, 2, 3])  # card c owned by customer c
    r.customer_country = np.array([0, 1, 2, 3])
    r.home_merchants = _Draw([0, -1, 7, 3])  # country 1 has no merchant
    r.remote = _Draw([100, 101, 102, 103])
    ring, card = np.array([1, 1, 1, 1]), np.array([0, 1, 2, 3])
    # u < 0.15: a favourite (the first: integers gives its low end).
    got = r.merchants(ring, card, Scripted(u=(0.15, 0.9, 0.5, 0.1)))
    assert got.tolist() == [0, 101, 7, 1012]
    assert r.home_merchants.seen[0].tolist() == [0, 1, 2, 3]  # the holder's country


def test_cloned_cards_are_used_in_the_victims_town_or_the_rings_city():
    r = Rings.__new__(Rings)
    r.city = np.array([4, 5])
    r.card_owner = np.array([0, 1, 2, 3])
    r.victim_town = np.array([0, 9, 2, 3])  # card c's holder shops in town victim_town[c]
    # A shop of city c is 10 c (0 is a real shop); town 9 has none.
    r.in_city = _Draw(np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, -1]))
    ring, card = np.array([0, 1, 0, 1]), np.array([0, 1, 2, 3])
    got = r.cashout_shops(ring, card, Scripted(u=(0.5, 0.1, 0.6, 0.59)))
    # u < 0.6 and a shop in town: local (shop 0 counts); else the ring's city's shop.
    assert got.tolist() == [0, 50, 40, 30]


def test_pick_draws_any_ring_from_zero():
    r = Rings.__new__(Rings)
    r.n = 1
    assert r.pick(5, np.random.default_rng(0)).tolist() == [0] * 5


def _normal_share(lo: float, hi: float, mu: float = 2.0, sigma: float = 2.0) -> float:
    """P(N(mu, sigma) mod 24 in [lo, hi))."""
    cdf = lambda x: 0.5 * (1 + math.erf((x - mu) / (sigma * math.sqrt(2))))  # noqa: E731
    return sum(cdf(hi + 24 * k) - cdf(lo + 24 * k) for k in (-1, 0, 1))


def test_ring_population_hours_devices_and_favourites(ctx):  # noqa: F811
    pop = ctx.pop
    n = 40_000
    r = Rings(pop, n, 11)
    assert r.n == n and r.city.shape == (n,)
    # Rings live where people live: cities in proportion to their customers.
    home = pop.world.customer_home
    people = np.bincount(home) / len(home)
    rings = np.bincount(r.city, minlength=len(people)) / n
    assert np.isin(r.city, home).all() and 0.5 * np.abs(rings - people).sum() < 0.045
    # Hours: 20% night rings at N(02:00, 2 h) local, the rest from the daily rhythm
    # (uniform within an hour): the expected share of each hour of the day, by hand.
    assert (r.hour >= 0).all() and (r.hour < 24).all()
    w = np.asarray(pop.cfg.temporal.hourly_weights, dtype=np.float64)
    w = w / w.sum()
    got = np.histogram(r.hour, bins=24, range=(0, 24))[0] / n
    want = np.array([0.2 * _normal_share(h, h + 1) + 0.8 * w[h] for h in range(24)])
    assert np.abs(got - want).max() < 0.008, np.round(got - want, 3)
    # Devices: 2 to 8 per ring, each count about as common.
    assert r.n_dev.min() == 2 and r.n_dev.max() == 8
    assert np.abs(np.bincount(r.n_dev, minlength=9)[2:] / n - 1 / 7).max() < 0.01
    # Favourites: 12 per ring, online merchants by popularity x fraud weight.
    assert r.favourites.shape == (n, episodes._RING_FAVOURITES)
    p = pop.world.remote_popularity * pop.world.fraud_weight
    p = p / p.sum()
    seen = np.bincount(r.favourites.ravel(), minlength=len(p)) / r.favourites.size
    assert 0.5 * np.abs(seen - p).sum() < 0.03
    assert r.in_city is pop.world.in_city and r.victim_town is pop.world.customer_shop_city
    assert r.remote is pop.world.remote and r.home_merchants is pop.home_merchants
    assert r.card_owner is pop.card_owner and r.customer_country is pop.customer_country
    assert r.seed == 11
    # A ring's zone and offset are its city's.
    from sqlgen.world import world

    zone = world.cities().zone[r.city]
    assert (r.zone == zone).all()
    assert (r.offset_min == world.standard_offsets()[zone]).all()


def test_a_single_customer_hosts_every_ring(ctx):  # noqa: F811
    # One customer (id 0) in city 7: every ring lives there.
    w = SimpleNamespace(customer_home=np.array([7]), remote_popularity=np.ones(3),
                        fraud_weight=np.ones(3), remote=None, in_city=None,
                        customer_shop_city=None)
    pop = SimpleNamespace(world=w, cfg=ctx.pop.cfg, home_merchants=None,
                          customer_country=np.zeros(1, np.int64),
                          card_owner=np.zeros(1, np.int64))
    r = Rings(pop, 5, 3)
    assert r.city.tolist() == [7] * 5
