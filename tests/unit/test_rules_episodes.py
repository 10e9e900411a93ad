"""Rule-level tests of the fraud plan (`sqlgen.generate.episodes`) on the small v3 world of
`test_rules_generation` (issue 25, sample 94243745)."""

from __future__ import annotations

import numpy as np

from sqlgen.generate.episodes import VISIT
from sqlgen.scenarios.base import DAY_US
from tests.unit.test_rules_generation import ctx  # noqa: F401  (module fixture)


def test_attempts_past_the_window_wrap_around_into_it_as_episodes_of_their_own(ctx):  # noqa: F811
    planner = ctx.pop.planner
    a = planner.whole_plan()
    t, wrapped = a["t"], a["wrapped"]
    assert 5 <= wrapped.sum() < len(t) / 2
    # Every time inside [t0, t1) (20 days); a wrapped one keeps its place modulo the
    # window, so they spread over it rather than sit at its edge.
    assert (t >= planner.t0).all() and (t < planner.t1).all()
    assert planner.t1 - planner.t0 == 20 * DAY_US
    days = (t[wrapped] - planner.t0) / DAY_US
    assert len(np.unique(t[wrapped])) == wrapped.sum() and days.max() - days.min() > 3
    # Their episodes are their own: the high bit set on the wrapped rows only.
    high = (a["episode"] >> 31) & 1 == 1
    assert (high == wrapped).all()


def test_some_rings_try_the_card_again_an_hour_to_five_days_after_its_block(ctx):  # noqa: F811
    a = ctx.pop.planner.whole_plan()
    fraud = np.flatnonzero(a["code"] > 0)
    after = fraud[a["t"][fraud] >= a["block"][fraud]]
    assert len(after) >= 3  # 30% of episodes of two attempts or more come back
    gap = a["t"][after] - a["block"][after]
    assert (gap >= 3_600_000_000).all() and (gap < 5 * DAY_US).all()
    # Only the episode's last attempt comes back: one per episode.
    assert len(np.unique(a["episode"][after])) == len(after)


def test_counterfeit_attempts_are_in_person_at_the_shop_the_rest_online(ctx):  # noqa: F811
    from sqlgen.generate.chunks import draw_chunk
    from sqlgen.generate.plan import plan_chunks

    # No scenario plans card-present attempts yet: mark some planned ones present.
    draws, codes, _ = draw_chunk(ctx, plan_chunks(ctx.cfg)[1])
    d = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in draws.items()}
    codes = codes.copy()
    fraud = np.flatnonzero(codes > 0)
    assert len(fraud) >= 4
    shop, online = fraud[::2], fraud[1::2]
    visits = np.flatnonzero(codes == 0)[:50]  # planted visits: the holder's own, online
    codes[visits] = VISIT
    d["ip_city"][visits], d["zone"][visits], d["away"][visits] = -1, -1, True
    d["present"] = np.zeros(len(codes), bool)
    d["present"][shop] = True
    d["remote"][:] = False
    ctx.pop.planner.place(d, codes, np.random.default_rng(0))
    w, m = ctx.pop.world, d["merchant_id"][shop]
    assert not d["remote"][shop].any() and d["remote"][online].all()
    assert (d["latitude"][shop] == w.merchant_lat[m]).all()
    assert (d["longitude"][shop] == w.merchant_lon[m]).all()
    assert (d["zone"][shop] == w.merchant_zone[m]).all()
    owner = ctx.pop.card_owner[d["card_id"][visits]]
    assert (codes[visits] == 0).all() and d["remote"][visits].all()
    assert (d["ip_city"][visits] == w.customer_home[owner]).all()
    assert (d["zone"][visits] == w.customer_zone[owner]).all()
    assert not d["away"][visits].any()


def test_campaigns_are_bounded_bumps_over_a_base_rate_of_one():
    from sqlgen.generate.episodes import campaigns

    # 60 days: 1 + 60 // 20 = 4 bumps of height 0.8 x lognormal(0, 0.6) (mean 0.96) and
    # width U(2, 10) days (mean 6): each adds 0.96 x 6 x sqrt(2 pi) = 14.4 day-units,
    # so at most 4 x 14.4 / 60 = 0.96 a day on average, less what spills past the edges.
    x = np.array([campaigns(seed, 3, 60) for seed in range(500)])
    assert x.shape == (500, 60)
    assert x.min() >= 1.0 and np.isfinite(x).all() and x.max() < 20
    assert 0.8 < x.mean() - 1 < 0.96
    assert (campaigns(7, 3, 60) == x[7]).all()  # from the seed
    assert not (campaigns(7, 4, 60) == x[7]).all()  # each scenario its own


def test_only_card_present_rows_have_no_device_new_devices_are_online(ctx):  # noqa: F811
    from sqlgen.generate.chunks import draw_chunk
    from sqlgen.generate.plan import plan_chunks

    d, codes, _ = draw_chunk(ctx, plan_chunks(ctx.cfg)[0])
    remote, null, fresh = d["remote"], d["device_null"], d["device_fresh"]
    assert remote.sum() > 100 and (~remote).sum() > 100
    assert (null == ~remote).all()  # a shop sees no device; every online payment one
    genuine_online = remote & (codes == 0)
    assert (fresh <= remote).all()
    # About 15% of genuine online payments come from a new device.
    assert 0.08 < fresh[genuine_online].mean() < 0.22


def test_campaign_centres_are_uniform_over_the_whole_run_edges_included():
    from sqlgen.generate.episodes import campaigns

    # A bump of mass h w sqrt(2 pi) (mean 14.4 day-units) centred uniformly on [0, 60):
    # day 0 gets on average half a bump's mass per bump x 4 / 60 = 0.48; day 59, being
    # one day inside the right edge, that plus one day of bump (about 0.96 x 4 / 60).
    x = np.array([campaigns(seed, 3, 60)[[0, 59]] for seed in range(10_000)]) - 1
    first, last = x.mean(axis=0)
    assert abs(first - 0.48) < 0.025, first
    assert abs(last - 0.544) < 0.025, last


def _velocity(card: np.ndarray, t: np.ndarray) -> np.ndarray:
    """`episodes.behaviour`'s velocity for hand-made rows: every card owned by customer 0,
    paying at home (so only the time and card columns matter)."""
    from types import SimpleNamespace

    from sqlgen.generate.episodes import behaviour

    n = len(card)
    world = SimpleNamespace(customer_lat=np.zeros(1), customer_lon=np.zeros(1),
                            customer_rad=np.zeros(1), customer_cos=np.ones(1))
    pop = SimpleNamespace(card_owner=np.zeros(int(card.max()) + 1, np.int64), world=world,
                          merchant_country=np.zeros(1, np.int64),
                          customer_country=np.zeros(1, np.int64))
    d = {"card_id": card, "event_us": t, "latitude": np.zeros(n), "longitude": np.zeros(n),
         "remote": np.ones(n, bool), "merchant_id": np.zeros(n, np.int64)}
    return behaviour(pop, d)["velocity"]


def test_velocity_counts_the_cards_payments_in_the_hour_before_to_the_microsecond():
    # A 75,000-card world (the default), March 2025: card 74,999 pays at 10:00, 10:59:59.9
    # and 11:00:00.1; card 5 at 10:00 and 10:30. The hour before includes its ends.
    t0 = 1_740_787_200_000_000 + 10 * 3_600_000_000
    card = np.array([74_999, 74_999, 74_999, 5, 5])
    t = t0 + np.array([0, 3_599_900_000, 3_600_100_000, 0, 1_800_000_000])
    counts = np.round(np.expm1(_velocity(card, t))).astype(int).tolist()
    assert counts == [0, 1, 1, 0, 1]
    t = t0 + np.array([0, 3_600_000_000, 3_600_000_001, 0, 1])
    assert np.round(np.expm1(_velocity(card, t))).astype(int).tolist() == [0, 1, 1, 0, 1]


def test_velocity_in_minutes_where_microsecond_keys_would_overflow():
    # 3 million cards x a month of microseconds passes 2**62: times become whole minutes
    # after the chunk's first payment. 60 min 54 s after it is minute 60: within the hour.
    t0 = 1_740_787_200_000_000
    card = np.array([2_999_999, 2_999_999, 2_999_999])
    t = t0 + np.array([0, 3_654_000_000, 29 * 86_400_000_000])
    assert np.round(np.expm1(_velocity(card, t))).astype(int).tolist() == [0, 1, 0]


def test_a_residential_proxy_exits_through_a_household_of_the_city_any_customer(ctx):  # noqa: F811
    from sqlgen.generate.chunks import draw_chunk
    from sqlgen.generate.plan import plan_chunks

    draws, _, _ = draw_chunk(ctx, plan_chunks(ctx.cfg)[1])
    pop = ctx.pop
    # Every ring attempt seen in the home city of customer 0 (customer ids start at 0).
    city = pop.world.customer_home[0]
    residents = np.flatnonzero(pop.world.customer_home == city)
    assert 0 < len(residents) <= 20

    def addresses(proxy: bool) -> np.ndarray:
        d = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in draws.items()}
        d["fraud_city"] = np.where(d["fraud_device"] >= 0, city, -1)
        d["proxy"] = (d["fraud_device"] >= 0) & proxy
        pop.planner.devices(d, np.random.default_rng(3))
        return np.asarray(d["ip"])

    ring = addresses(False)  # the ring's own addresses (hashed, no randomness)
    rows = np.flatnonzero(ring != np.asarray(draws["ip"]))  # the ring's devices' rows
    assert len(rows) > 5 * len(residents)
    # Through a proxy, each of those rows leaves from a resident's home line instead.
    via = addresses(True)
    assert (via[rows] != ring[rows]).all()
