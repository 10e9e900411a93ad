"""Rule-level tests of where v3 payments happen (`draws_v3.World.trips`, `place`) and of
the per-chunk caps (`settle_v3`), on a hand-made world: one holder living in Hamburg,
three shops (Berlin, Hamburg, New York), every trip going to Berlin (issue 25)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from sqlgen import sampling
from sqlgen.errors import SqlgenError
from sqlgen.generate import draws_v3
from sqlgen.generate.spec import to_us
from sqlgen.schema import reference
from sqlgen.world import world

D = draws_v3.DAY_US
H = D // 24
BERLIN, HAMBURG, NEW_YORK = 0, 1, 2679  # city ids of the shipped table
WEDNESDAY = to_us(dt.datetime(2025, 3, 5, 12))  # noon; the week's Monday is 3 March
MONDAY = to_us(dt.datetime(2025, 3, 3, 12))
SEED = 11
MAX = np.iinfo(np.int64).max


def _world(n_cards: int = 4) -> draws_v3.World:
    c = world.cities()
    assert c.country[BERLIN] == c.country[HAMBURG] == 0 and c.country[NEW_YORK] != 0
    w = draws_v3.World.__new__(draws_v3.World)
    w.seed = SEED
    w.city_zone, w.city_country = c.zone, c.country
    # The holder: home Hamburg, its own shops; a home place and zone code of its own.
    w.customer_home = np.array([HAMBURG])
    w.customer_shop_city = np.array([HAMBURG])
    w.customer_lat, w.customer_lon = np.array([53.5]), np.array([10.0])
    w.customer_zone = np.array([7], dtype=np.int16)
    # Shops: m0 Berlin, m1 Hamburg, m2 New York; zone codes 100-102 (not the cities').
    w.merchant_city = np.array([BERLIN, HAMBURG, NEW_YORK])
    w.merchant_lat = np.array([52.0, 53.0, 40.0])
    w.merchant_lon = np.array([13.0, 9.0, -74.0])
    w.merchant_zone = np.array([100, 101, 102], dtype=np.int16)
    pop = np.ones(3)
    w.in_city = sampling.GroupSampler(w.merchant_city, pop)
    w.domestic = sampling.GroupSampler(c.country[w.merchant_city], pop)
    w.remote = sampling.CdfSampler(pop)
    # Trips: Berlin the only destination; abroad trips also go to its country.
    w.destination_city = np.array([BERLIN])
    w.destinations = sampling.GroupSampler(np.array([0]), np.array([1.0]))
    one_hot = np.zeros(len(reference()["countries"]))
    one_hot[0] = 1.0
    w.countries = sampling.CdfSampler(one_hot)
    w.n_cards, w.n_all_cards = n_cards, n_cards + 1
    w._offsets = {}
    return w


def _ctx(trip_rate=1.0, home_share=1.0, per_day=3, per_month=40, n_cards=4):
    behaviour = SimpleNamespace(trip_rate=trip_rate, home_share=home_share,
                                max_card_payments_per_day=per_day,
                                max_card_payments_per_month=per_month)
    return SimpleNamespace(world=_world(n_cards), cfg=SimpleNamespace(behaviour=behaviour),
                           card_owner=np.zeros(n_cards + 1, dtype=np.int64),
                           customer_country=np.array([0]))


def test_a_trip_week_is_decided_by_hashing_holder_and_week():
    w = _world()
    owner = np.zeros(400, dtype=np.int64)
    week = np.arange(2800, 3200)
    # The rule: key = (holder << 24) ^ week ^ (seed ^ 0x7219), h = mix64(key); a trip
    # when the top 53 bits of h, as a fraction of 2**53, are below the trip rate.
    key = (owner.astype(np.uint64) << np.uint64(24)) ^ week.astype(np.uint64) \
        ^ np.uint64(SEED ^ 0x7219)
    u = (sampling.mix64(key) >> np.uint64(11)).astype(np.float64) / 2.0**53
    for rate in (0.3, 0.7):
        dest = w._destinations(owner, week, rate)
        assert ((dest == BERLIN) == (u < rate)).all()
        assert set(dest.tolist()) == {-1, BERLIN}
    # Rows of one holder in one week share its trip: times -> weeks from the first Monday.
    t = to_us(dt.datetime(1970, 1, 5)) + week * 7 * D + 3 * D + 5 * H  # Thursdays
    dest, travel = w.trips(owner, t, 0.3)
    assert ((dest == BERLIN) == (u < 0.3)).all() and not travel.any()


def test_trips_are_the_same_through_the_per_week_table():
    # Many rows of few holders and weeks: trips come from a table hashed once per
    # (holder, week); the same answer as hashing each row.
    w = _world()
    w.customer_home = np.array([HAMBURG] * 5)
    rng = np.random.default_rng(0)
    owner = rng.integers(0, 5, 300)
    t = MONDAY - 12 * H + rng.integers(0, 21 * D, 300)  # three weeks from Monday 00:00
    dest, travel = w.trips(owner, t, 0.5)
    days = (t - to_us(dt.datetime(1970, 1, 5))) // D
    want = w._destinations(owner, days // 7, 0.5)
    assert (dest == want).all()
    assert 0 < (want >= 0).sum() < 300
    # Travel days: the Monday (day 0) and Sunday (day 6) of a trip week.
    dow = days % 7
    assert (travel == ((want >= 0) & ((dow == 0) | (dow == 6)))).all()
    assert travel.any() and ((want >= 0) & ~travel).any()


def test_place_on_a_trip_in_person_at_the_destination_online_from_there():
    ctx = _ctx(trip_rate=1.0)
    w = ctx.world
    n = 600
    card = np.arange(n) % 4
    t = np.full(n, WEDNESDAY)
    p = draws_v3.place(ctx, card, t, np.random.default_rng(1))
    here = ~p["remote"]
    # In person about the POS share (rows with a uniform draw below it) of the rows.
    assert abs(here.mean() - draws_v3._pos_share()) < 0.06
    assert (p["merchant_id"][here] == 0).all()  # Berlin's one shop
    assert (p["latitude"][here] == 52.0).all() and (p["zone"][here] == 100).all()
    assert (p["ip_city"][here] == -1).all()
    # Online on a trip: somewhere in Berlin, Berlin's zone; the network is Berlin's.
    on = p["remote"]
    km = world.km_between(p["latitude"][on], p["longitude"][on],
                          world.cities().lat[BERLIN], world.cities().lon[BERLIN])
    assert (km <= world.cities().radius_km[BERLIN] + 1e-6).all()
    assert (p["zone"][on] == w.city_zone[BERLIN]).all()
    assert (p["ip_city"][on] == BERLIN).all()
    # Online merchants of the home country only (home_share 1): Berlin's or Hamburg's.
    assert set(p["merchant_id"][on].tolist()) == {0, 1}
    assert p["away"].all()


def test_place_on_a_travel_day_online_from_home():
    ctx = _ctx(trip_rate=1.0, home_share=0.0)
    p = draws_v3.place(ctx, np.zeros(300, dtype=np.int64), np.full(300, MONDAY),
                       np.random.default_rng(2))
    assert p["remote"].all() and p["away"].all()
    assert (p["latitude"] == 53.5).all() and (p["longitude"] == 10.0).all()
    assert (p["zone"] == 7).all() and (p["ip_city"] == HAMBURG).all()
    # home_share 0: online merchants drawn anywhere (New York's too).
    assert set(p["merchant_id"].tolist()) == {0, 1, 2}


def test_place_at_home_in_person_at_the_home_shops():
    ctx = _ctx(trip_rate=0.0)
    p = draws_v3.place(ctx, np.zeros(300, dtype=np.int64), np.full(300, WEDNESDAY),
                       np.random.default_rng(3))
    here = ~p["remote"]
    assert here.any() and p["remote"].any()
    assert (p["merchant_id"][here] == 1).all() and (p["zone"][here] == 101).all()
    assert (p["latitude"][p["remote"]] == 53.5).all() and (p["zone"][p["remote"]] == 7).all()
    assert (p["ip_city"][p["remote"]] == HAMBURG).all() and (p["ip_city"][here] == -1).all()
    assert not p["away"].any()


def test_place_where_the_holders_place_has_no_shop_goes_online():
    ctx = _ctx(trip_rate=0.0)
    ctx.world.customer_shop_city = np.array([5])  # a city without shops
    p = draws_v3.place(ctx, np.zeros(200, dtype=np.int64), np.full(200, WEDNESDAY),
                       np.random.default_rng(4))
    assert p["remote"].all() and (p["merchant_id"] >= 0).all()
    assert (p["ip_city"] == HAMBURG).all()


MARCH = to_us(dt.datetime(2025, 3, 1))
SPEC = SimpleNamespace(index=0, t0_us=MARCH, t1_us=MARCH + 31 * D, year=2025, month=3)


def _rows(cards, days, merchant=1, hour=10):
    n = len(cards)
    return {
        "card_id": np.asarray(cards, dtype=np.int64),
        "event_us": MARCH + np.asarray(days, dtype=np.int64) * D + hour * H
        + np.arange(n) * 60_000_000,
        "merchant_id": np.full(n, merchant, dtype=np.int64),
        "remote": np.zeros(n, dtype=bool), "away": np.zeros(n, dtype=bool),
        "latitude": np.zeros(n), "longitude": np.zeros(n),
        "zone": np.zeros(n, dtype=np.int16), "ip_city": np.full(n, -5, dtype=np.int64),
    }


def test_settle_puts_injected_rows_online_at_their_merchant():
    ctx = _ctx()
    d = _rows([3, 3, 3], [5, 5, 5])
    d["merchant_id"][:] = [1, 2, 0]
    codes = np.array([0, 3, 5], dtype=np.int8)
    draws_v3.settle_v3(ctx, SPEC, d, codes, np.random.default_rng(0))
    assert d["remote"].tolist() == [False, True, True]
    assert d["latitude"].tolist() == [0.0, 40.0, 52.0]
    assert d["longitude"].tolist() == [0.0, -74.0, 13.0]
    assert d["zone"].tolist() == [0, 102, 100]
    assert d["card_id"].tolist() == [3, 3, 3]


def test_settle_counts_each_card_and_day_apart():
    # Within the caps (3 a day): card 1 twice on 31 March, card 2 twice on 1 March,
    # card 0 once on 3 March, card 3 three times on 6 March. Nothing moves.
    ctx = _ctx()
    d = _rows([1, 1, 2, 2, 0, 3, 3, 3], [30, 30, 0, 0, 2, 5, 5, 5])
    before = {k: v.copy() for k, v in d.items()}
    draws_v3.settle_v3(ctx, SPEC, d, np.zeros(8, dtype=np.int8), np.random.default_rng(0))
    for key, v in before.items():
        assert (d[key] == v).all(), key


def test_settle_moves_genuine_rows_beyond_the_daily_cap_fraud_first():
    # Card 0 on 6 March: two injected rows and four genuine ones, cap 3. The frauds
    # count first, then the genuine rows in order: the first genuine row stays, the
    # other three (rows 3-5) move to card 1 (the only other card, room for 3) and are
    # placed anew; a row drawn back onto card 0 moves again in the next round.
    ctx = _ctx(n_cards=2)
    d = _rows([0] * 6, [5] * 6)
    codes = np.array([4, 4, 0, 0, 0, 0], dtype=np.int8)
    for seed in range(6):
        x = {k: v.copy() for k, v in d.items()}
        draws_v3.settle_v3(ctx, SPEC, x, codes, np.random.default_rng(seed))
        assert x["card_id"].tolist() == [0, 0, 0, 1, 1, 1], seed
        assert (x["latitude"][3:] != 0).all()  # placed for the trip to Berlin
        assert x["latitude"][2] == 0.0  # the kept genuine row is not placed again


def test_settle_moves_rows_beyond_the_monthly_cap():
    # 2 a month: card 0's third payment of the month (another day) moves to card 1.
    ctx = _ctx(per_month=2, n_cards=2)
    d = _rows([0, 0, 0], [1, 9, 20])
    draws_v3.settle_v3(ctx, SPEC, d, np.zeros(3, dtype=np.int8), np.random.default_rng(0))
    assert d["card_id"].tolist() == [0, 0, 1]
    assert d["latitude"][2] != 0.0 and d["latitude"][0] == 0.0


def test_settle_fails_loudly_when_no_card_has_room():
    ctx = _ctx(n_cards=2)
    d = _rows([0] * 7, [5] * 7)
    with pytest.raises(SqlgenError, match="stay above a card's daily or monthly cap"):
        draws_v3.settle_v3(ctx, SPEC, d, np.zeros(7, dtype=np.int8), np.random.default_rng(0))


def _leftovers(ctx, cards_days, over, block=None, seed=0):
    d = _rows([c for c, _ in cards_days], [dy for _, dy in cards_days])
    draws_v3._onto_free_cards(ctx, SPEC, d, np.asarray(over), block,
                              np.random.default_rng(seed))
    return d


def test_leftovers_go_to_cards_with_room_that_day_and_month():
    # Month cap 4. Card 0: 4 rows on 6 March and 4 on 7 March (rows 3 and 7 over).
    # Card 1: 2 rows on 2 March (month room 2); cards 2, 3: 4 rows on 3 March (none).
    card0 = [(0, 5)] * 4 + [(0, 6)] * 4
    others = [(1, 1)] * 2 + [(2, 2)] * 4 + [(3, 2)] * 4
    ctx = _ctx(per_month=4)
    d = _leftovers(ctx, card0 + others, [3, 7])
    assert d["card_id"][[3, 7]].tolist() == [1, 1]  # the only card with room, twice
    assert (d["latitude"][[3, 7]] != 0).all() and d["latitude"][0] == 0  # placed anew
    # A single row over: the same.
    d = _leftovers(ctx, card0 + others, [7])
    assert d["card_id"][7] == 1
    # Card 1 with room for one more payment this month: the second day finds none.
    with pytest.raises(SqlgenError, match=r"chunk 0: 1 payments stay above a card's"):
        _leftovers(ctx, card0 + [(1, 1)] * 3 + [(2, 2)] * 4 + [(3, 2)] * 4, [3, 7])
    # Room in the month but not that day (3 a day): card 1 full on 6 March.
    with pytest.raises(SqlgenError, match="stay above"):
        _leftovers(ctx, card0 + [(1, 5)] * 3 + [(2, 2)] * 4 + [(3, 2)] * 4, [3])


def test_leftovers_never_go_to_a_card_blocked_by_their_latest_time():
    # Card 0: 5 rows on 6 March, rows 3 and 4 over (10:03 and 10:04); card 1 full that
    # day; cards 2 and 3 free unless blocked.
    rows = [(0, 5)] * 5 + [(1, 5)] * 3
    t_last = MARCH + 5 * D + 10 * H + 4 * 60_000_000
    ctx = _ctx()
    for blocked_at in (t_last, t_last - 30_000_000):  # at the latest time, or before it
        block = np.full(5, MAX, dtype=np.int64)
        block[2] = blocked_at
        with pytest.raises(SqlgenError, match="stay above"):
            _leftovers(ctx, rows, [3, 4], block)
    block = np.full(5, MAX, dtype=np.int64)
    block[2] = t_last + 1
    d = _leftovers(ctx, rows, [3, 4], block)
    assert sorted(d["card_id"][[3, 4]].tolist()) == [2, 3]


def test_settle_after_its_rounds_moves_the_last_rows_onto_free_cards(monkeypatch):
    # Moved payments drawn back onto their own card every round (a stuck draw): after
    # the 16 rounds the rows still over go to cards with room. Card 0 has 5 rows on
    # 31 March, card 1 five on 1 March (cap 3): 2 + 2 rows over.
    calls = []

    def stuck(n_cards, t, block, rng):
        calls.append(len(t))
        return np.where(t >= MARCH + 30 * D, 0, 1)

    monkeypatch.setattr(draws_v3, "_unblocked_cards", stuck)
    ctx = _ctx()
    d = _rows([0] * 5 + [1] * 5, [30] * 5 + [0] * 5)
    draws_v3.settle_v3(ctx, SPEC, d, np.zeros(10, dtype=np.int8), np.random.default_rng(0))
    assert calls == [4] * 16
    assert d["card_id"][:3].tolist() == [0, 0, 0] and d["card_id"][5:8].tolist() == [1, 1, 1]
    # The last two of each day: on cards with room that day (not the full card).
    assert set(d["card_id"][3:5].tolist()) <= {1, 2, 3}
    assert set(d["card_id"][8:10].tolist()) <= {0, 2, 3}
    assert (d["latitude"][[3, 4, 8, 9]] != 0).all() and (d["latitude"][[0, 5]] == 0).all()


def test_a_trip_to_a_country_without_shops_stays_home():
    # Trips go to the holder's own country or a weighted one; with no shop town in
    # either (the only destination New York, trips drawn to country 0), no trip.
    w = _world()
    w.destination_city = np.array([NEW_YORK])
    w.destinations = sampling.GroupSampler(np.array([world.cities().country[NEW_YORK]]),
                                           np.array([1.0]))
    dest = w._destinations(np.zeros(200, dtype=np.int64), np.arange(2800, 3000), 1.0)
    assert (dest == -1).all()
