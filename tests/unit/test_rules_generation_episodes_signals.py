"""Rule-level tests of the v3 logistic signals (`episodes.behaviour`) and the campaign
curve (`episodes.campaigns`) on hand-made rows (issue 25)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sqlgen.generate.episodes import behaviour, campaigns

MIN = 60_000_000
HOUR = 60 * MIN


def _pop(n_cards: int, home=(48.0, 2.0)):
    lat, lon = np.array([home[0]]), np.array([home[1]])
    world = SimpleNamespace(customer_lat=lat, customer_lon=lon, customer_rad=np.radians(lat),
                            customer_cos=np.cos(np.radians(lat)))
    return SimpleNamespace(card_owner=np.zeros(n_cards, np.int64), world=world,
                           merchant_country=np.array([3, 4]),
                           customer_country=np.array([3]))


def _rows(card, t, lat=None, lon=None, merchant=None, remote=None, home=(48.0, 2.0)):
    n = len(card)
    return {"card_id": np.asarray(card, np.int64), "event_us": np.asarray(t, np.int64),
            "latitude": np.full(n, home[0]) if lat is None else np.asarray(lat, float),
            "longitude": np.full(n, home[1]) if lon is None else np.asarray(lon, float),
            "merchant_id": np.zeros(n, np.int64) if merchant is None else np.asarray(merchant),
            "remote": np.ones(n, bool) if remote is None else np.asarray(remote, bool)}


def _counts(pop, d):
    return np.round(np.expm1(behaviour(pop, d)["velocity"])).astype(int).tolist()


T0 = 1_740_787_200_000_000  # 2025-03-01


def test_velocity_switches_to_minutes_when_card_x_time_reaches_two_to_the_62():
    # Card ids up to 2^21 - 1 and times up to t_max after the first payment: microsecond
    # keys need (2^21) x (t_max + 1 h + 1) < 2^62, so t_max = 2^41 - 1 h - 1 is the
    # first to switch to whole minutes since the first payment.
    c, dcard = 2**21 - 1, 5
    t_max = 2**41 - HOUR - 1
    t = [0, 0, 3_630_000_000, 3_660_000_000, 7_290_000_000, t_max]
    card = [c, dcard, c, dcard, c, 0]
    pop = _pop(2**21)
    # In minutes: 60.5 min is minute 60, within the hour of minute 0; 61 min exactly is
    # minute 61, not; 121.5 min is minute 121, 61 minutes after minute 60: not.
    assert _counts(pop, _rows(card, T0 + np.array(t))) == [0, 0, 1, 0, 0, 0]
    # One microsecond less: microseconds, where 60.5 min is past the hour.
    t[-1] = t_max - 1
    assert _counts(pop, _rows(card, T0 + np.array(t))) == [0, 0, 0, 0, 0, 0]


def test_velocity_switch_counts_card_ids_from_one():
    # Only card 0: (0 + 1) x (t_max + 1 h + 1) = 2^61 < 2^62: microseconds.
    t_max = 2**61 - HOUR - 1
    d = _rows([0, 0, 0], T0 + np.array([0, 3_630_000_000, t_max]))
    assert _counts(_pop(1), d) == [0, 0, 0]
    # With card 1 too, (1 + 1) x ... = 2^62: minutes.
    d = _rows([1, 1, 0], T0 + np.array([0, 3_630_000_000, t_max]))
    assert _counts(_pop(2), d) == [0, 1, 0]


def _km(lat1, lon1, lat2, lon2):
    """Great-circle km (haversine, Earth radius 6371 km), by hand."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_distance_from_home_is_log_km_over_log_20000():
    # Home at (48, 2); rows at home, 1 degree east, 1 degree north, and across the world.
    lat = [48.0, 48.0, 49.0, -48.0]
    lon = [2.0, 3.0, 2.0, -178.0]
    d = _rows([0, 0, 0, 0], T0 + np.arange(4) * 10 * HOUR, lat=lat, lon=lon)
    far = behaviour(_pop(1), d)["far"]
    # 1 degree of longitude at 48 N is about 74.4 km, of latitude 111.2 km; the
    # antipode is half the circumference, 20,015 km.
    want = [0.0] + [math.log1p(_km(48.0, 2.0, a, b)) / math.log(20_000.0)
                    for a, b in zip(lat[1:], lon[1:], strict=True)]
    assert far.tolist() == pytest.approx(want, rel=1e-6)
    assert 74 < _km(48, 2, 48, 3) < 75 and 111 < _km(48, 2, 49, 2) < 112
    assert far[3] == pytest.approx(math.log1p(20_015.1) / math.log(20_000.0), rel=1e-4)


def test_abroad_compares_the_merchants_country_with_the_holders_and_cnp_is_remote():
    # The holder lives in country 3: merchant 0 is in 3 (home), merchant 1 in 4.
    d = _rows([0, 0, 0], T0 + np.arange(3) * 10 * HOUR, merchant=[0, 1, 0],
              remote=[True, False, False])
    s = behaviour(_pop(1), d)
    assert s["abroad"].tolist() == [0.0, 1.0, 0.0]
    assert s["cnp"].tolist() == [1.0, 0.0, 0.0]
    assert set(s) == {"cnp", "abroad", "velocity", "far"}


def test_campaigns_are_bumps_of_two_to_ten_days_by_hand():
    # One campaign per 20 days (1 + days // 20 of them): their draws are from the
    # scenario's own stream; rebuilt here from the same draws by the documented formula
    # 1 + sum_k h_k exp(-(d - c_k)^2 / (2 w_k^2)), h = 0.8 x lognormal(0, 0.6).
    from sqlgen.seeds import stream

    for days, k in ((19, 1), (20, 2), (45, 3)):
        rng = stream(9, "campaigns", 4)
        centre = rng.uniform(0, days, k)
        width = rng.uniform(2, 10, k)
        height = 0.8 * rng.lognormal(0, 0.6, k)
        x = np.arange(days)
        want = 1 + sum(height[j] * np.exp(-0.5 * ((x - centre[j]) / width[j]) ** 2)
                       for j in range(k))
        assert campaigns(9, 4, days) == pytest.approx(want, rel=1e-12), days
        assert width.min() >= 2 and width.max() <= 10
