"""Rule-level tests of v3 draws (`sqlgen.generate.draws_v3`, `sqlgen.world.world`): trips and their
travel days, card sleep, per-chunk caps, genuine runs, rushed shop changes, the offset
of card-not-present rows and zone offsets, each on a small hand-checked input (issue 25,
sample 94243745)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np

from sqlgen.generate import draws_v3
from sqlgen.generate.plan import to_us
from sqlgen.scenarios.base import DAY_US, HOUR_US
from sqlgen.world import world
from tests.unit.test_rules_generation import DAY0, ctx  # noqa: F401  (module fixture)

MINUTE_US = 60_000_000


def test_travel_days_are_the_monday_and_sunday_of_a_trip_week(ctx):  # noqa: F811
    w = ctx.pop.world
    owners = np.arange(len(w.customer_home))
    away = np.flatnonzero(w.trips(owners, np.full(len(owners), DAY0), 1.0)[0] >= 0)
    assert len(away) > 20
    # DAY0 is a Monday: noon on each day of that week, for every holder on a trip.
    for day, travel in ((0, True), (1, False), (3, False), (5, False), (6, True)):
        t = np.full(len(away), DAY0 + day * DAY_US + 12 * HOUR_US)
        dest, travel_day = w.trips(owners[away], t, 1.0)
        assert (dest >= 0).all()  # the same trip all week
        assert (travel_day == travel).all(), day


def test_abroad_trips_spread_over_countries_by_their_weights(ctx):  # noqa: F811
    from sqlgen.schema import reference

    w = ctx.pop.world
    c = world.cities()
    home = c.country[w.customer_home]
    h = np.bincount(home).argmax()  # the customers of one home country
    mine = np.flatnonzero(home == h)
    weeks = 4_000 // len(mine) + 200
    owner = np.repeat(mine, weeks)
    week = np.tile(np.arange(2900, 2900 + weeks), len(mine))
    dest = w._destinations(owner, week, 1.0)
    country = c.country[dest[dest >= 0]]
    weights = np.asarray([x["weight"] for x in reference()["countries"]], float)
    weights /= weights.sum()
    has_shops = np.isin(np.arange(len(weights)), c.country[w.destination_city])
    share = np.bincount(country, minlength=len(weights)) / len(owner)
    # Half the trips at home; the other half over all countries by weight (home too).
    want = np.where(has_shops, 0.5 * weights, 0.0)
    want[h] += 0.5
    assert np.abs(share - want).max() < 0.02, np.c_[share, want]


def test_cards_sleep_fifteen_percent_of_months_a_new_draw_each_month():
    cards = np.arange(200_000)
    march = draws_v3.dormant(cards, 2025 * 12 + 3, 7)
    april = draws_v3.dormant(cards, 2025 * 12 + 4, 7)
    assert abs(march.mean() - 0.15) < 0.005 and abs(april.mean() - 0.15) < 0.005
    assert abs((march & april).mean() - 0.15**2) < 0.003  # independent months
    assert (draws_v3.dormant(cards, 2025 * 12 + 3, 7) == march).all()  # a hash: fixed


def test_chunk_caps_are_the_chunks_share_of_the_day_and_of_the_month():
    behaviour = SimpleNamespace(max_card_payments_per_day=3, max_card_payments_per_month=40)
    march = to_us(dt.datetime(2025, 3, 1))
    card = np.arange(1_000)
    day = np.full(len(card), march // DAY_US + 4)  # 5 March, wholly inside

    def caps(t0, t1):
        spec = SimpleNamespace(t0_us=t0, t1_us=t1, year=2025, month=3)
        return draws_v3._chunk_caps(behaviour, spec, card, day)

    daily, monthly = caps(march, march + 31 * DAY_US)  # the whole month
    assert (daily == 3).all() and (monthly == 40).all()
    # The month's first half (15.5 of 31 days): 20 of the 40 each, give or take one.
    daily, monthly = caps(march, march + 31 * DAY_US // 2)
    assert (daily == 3).all()
    assert set(np.unique(monthly)) <= {19, 20, 21} and abs(monthly.mean() - 20) < 0.2
    # The month's last 6 hours, rows on 31 March: a quarter of the day's 3 (0 or 1,
    # 0.75 on average), 40 x 0.25 / 31 of the month's.
    day[:] = march // DAY_US + 30
    daily, monthly = caps(march + 31 * DAY_US - 6 * HOUR_US, march + 31 * DAY_US)
    assert set(np.unique(daily)) == {0, 1} and abs(daily.mean() - 0.75) < 0.05
    assert set(np.unique(monthly)) <= {0, 1} and abs(monthly.mean() - 40 / 124) < 0.05


def test_genuine_runs_repeat_a_card_at_its_merchant_within_minutes():
    n = 20_000
    rng = np.random.default_rng(1)
    t0 = DAY0
    spec = SimpleNamespace(t0_us=t0, t1_us=t0 + 30 * DAY_US)
    d = {
        "event_us": np.sort(rng.integers(t0, t0 + 29 * DAY_US, n)),
        "card_id": np.arange(n), "merchant_id": np.arange(n) + 10**6,
        "remote": np.arange(n) % 2 == 0, "away": np.zeros(n, bool),
        "latitude": rng.random(n), "longitude": rng.random(n),
        "zone": np.zeros(n, np.int16), "ip_city": np.arange(n),
        "amount_raw": np.full(n, 10.0),
    }
    before = {k: v.copy() for k, v in d.items()}
    codes = np.zeros(n, np.int8)
    shops = SimpleNamespace(is_testing_merchant=np.zeros(n + 10**6, bool))  # none digital
    draws_v3.genuine_runs(shops, spec, d, codes, rng)
    moved = np.flatnonzero(d["card_id"] != before["card_id"])
    # 4% of rows (none at digital-goods merchants) start a run of 1-4 more (2.5 on
    # average): about 10% of rows rewritten.
    assert 0.08 < len(moved) / n < 0.12
    origin = d["card_id"][moved]  # each origin row's card id is its index
    for key in ("merchant_id", "remote", "latitude", "ip_city"):
        assert (d[key][moved] == before[key][origin]).all(), key
    gap = d["event_us"][moved] - before["event_us"][origin]
    assert (gap > 0).all()
    assert 30e6 < np.median(gap) < 600e6  # minutes after (median gap 90 s, runs of 2.5)
    ratio = d["amount_raw"][moved] / 10.0
    assert ratio.min() >= 0.3 and ratio.max() <= 1.5
    untouched = np.setdiff1d(np.arange(n), moved)
    assert (d["card_id"][untouched] == untouched).all()


def test_two_shops_at_one_spot_may_take_a_card_in_the_same_instant():
    # Card 1: two shops at the same point, paid in the same microsecond (0 km in 0 h:
    # not faster than an airliner): both stay. Card 2: two shops 100 km apart 30 s
    # apart: the second payment moves to the first shop (and its place and zone).
    s = {
        "card_id": np.array([1, 1, 2, 2]), "remote": np.zeros(4, bool),
        "event_us": np.array([DAY0, DAY0, DAY0, DAY0 + 30_000_000]),
        "merchant_id": np.array([10, 11, 20, 21]),
        "latitude": np.array([48.0, 48.0, 48.0, 48.9]),
        "longitude": np.array([2.0, 2.0, 2.0, 2.0]),
        "zone": np.zeros(4, np.int16),
    }
    zone_of_merchant = np.zeros(30, np.int16)
    zone_of_merchant[20] = 5
    draws_v3.same_shop_when_rushed(s, zone_of_merchant)
    assert s["merchant_id"].tolist() == [10, 11, 20, 20]
    assert s["latitude"].tolist() == [48.0, 48.0, 48.0, 48.0]
    assert s["zone"].tolist() == [0, 0, 0, 5]


def test_card_not_present_rows_take_the_offset_of_their_address_city(ctx):  # noqa: F811
    from sqlgen.generate.plan import plan_chunks

    c = world.cities()
    spec = plan_chunks(ctx.cfg)[0]  # 1-10 March 2025
    ny = c.zone.tolist().index(c.zones.index("America/New_York"))
    paris = c.zone.tolist().index(c.zones.index("Europe/Paris"))
    t = np.array([DAY0, DAY0 + 8 * DAY_US, DAY0, DAY0])  # 3 and 11 March (US DST on 9th)
    d = {"remote": np.array([True, True, True, False]),
         "ip_city": np.array([ny, ny, paris, paris]), "event_us": t,
         "latitude": np.zeros(4), "longitude": np.zeros(4),
         "zone": np.zeros(4, np.int16), "time_offset": np.full(4, 999, np.int16)}
    spec = SimpleNamespace(t0_us=spec.t0_us, t1_us=DAY0 + 20 * DAY_US)
    draws_v3.locate_remote(ctx.pop, spec, d)
    assert d["time_offset"].tolist() == [-300, -240, 60, 999]  # minutes; in person kept
    assert d["latitude"][0] == c.lat[ny] and d["longitude"][2] == c.lon[paris]


def test_zone_offsets_follow_daylight_saving_over_a_month():
    zones = ("America/New_York", "Europe/Paris", "Asia/Kolkata")
    t0 = to_us(dt.datetime(2025, 3, 1))
    off = world.ZoneOffsets(zones, t0, t0 + 31 * DAY_US)
    z = np.array([0, 0, 1, 1, 2])
    # 8 March noon UTC; 10 March noon; 29 March noon; 31 March noon; 31 March for India.
    t = t0 + np.array([7, 9, 28, 30, 30]) * DAY_US + 12 * HOUR_US
    assert off.at(z, t).tolist() == [-300, -240, 60, 120, 330]
    # The switch itself: New York moves at 07:00 UTC on 9 March (02:00 local).
    switch = t0 + 8 * DAY_US + 7 * HOUR_US
    assert off.at(np.array([0, 0]), np.array([switch - MINUTE_US, switch])).tolist() \
        == [-300, -240]


def test_user_agents_only_of_browsers_shipped_by_the_runs_year():
    from sqlgen.world import networks

    _, by_kind = networks.user_agents()
    kinds = tuple(by_kind)
    u = (np.arange(20_000) + 0.5) / 20_000
    for k, name in enumerate(kinds):
        codes, weights, years = by_kind[name]
        year_of = dict(zip(codes.tolist(), years.tolist(), strict=True))
        kind = np.full(len(u), k)
        got = networks.device_user_agents(kind, kinds, u, 2023)
        assert {year_of[c] for c in got.tolist()} == {2023}, name  # none from 2024
        # By 2024 (or with no year), every browser of the kind with a weight shows up.
        for year in (2024, None):
            got = set(networks.device_user_agents(kind, kinds, u, year).tolist())
            assert got == set(codes[weights > 0].tolist()), (name, year)
        # Before any shipped: all of them.
        assert set(networks.device_user_agents(kind, kinds, u, 2000).tolist()) \
            == set(codes[weights > 0].tolist())


def test_a_sleeping_cards_draw_is_redrawn_three_times_then_stands(ctx):  # noqa: F811
    import dataclasses

    from sqlgen.generate.plan import plan_chunks

    w = ctx.pop.world
    spec = dataclasses.replace(plan_chunks(ctx.cfg)[0], rows=200_000)
    d = draws_v3.skeleton_v3(ctx.pop, spec, np.random.default_rng(1))
    month = spec.year * 12 + spec.month
    # q: the share of draws landing on a card asleep this month (by card popularity);
    # a draw stays there only if it and its three redraws all do: q**4 of the rows.
    p = np.diff(w.cards.cdf, prepend=0.0)
    q = p[draws_v3.dormant(np.arange(len(p)), month, w.seed)].sum()
    assert 0.1 < q < 0.2
    asleep = draws_v3.dormant(d["card_id"], month, w.seed).sum()
    assert 0.6 < asleep / (spec.rows * q**4) < 1.5, (asleep, spec.rows * q**4)
