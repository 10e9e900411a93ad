"""v3 building blocks: zone offsets, money, networks, bounded popularity (no I/O)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sqlgen.generate.draws_v3 import bounded_weights
from sqlgen.generate.plan import to_us
from sqlgen.schema import static_vocabularies
from sqlgen.world import money, networks
from sqlgen.world.world import ZoneOffsets, cities, km_between


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("America/New_York", dt.datetime(2025, 3, 8)),  # spring forward, 2025-03-09
        ("Australia/Adelaide", dt.datetime(2025, 4, 4)),  # +10:30 -> +9:30 at 16:30 UTC
        ("Europe/London", dt.datetime(2025, 10, 25)),  # fall back, 2025-10-26
    ],
)
def test_zone_offsets_match_zoneinfo_every_five_minutes(zone, start):
    t0 = to_us(start)
    t1 = t0 + 3 * 86_400_000_000
    table = ZoneOffsets((zone,), t0, t1)
    times = np.arange(t0, t1, 300_000_000)
    got = table.at(np.zeros(len(times), dtype=np.int64), times)
    tz = ZoneInfo(zone)
    want = [
        (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(t)))
        .astimezone(tz)
        .utcoffset()
        // dt.timedelta(minutes=1)
        for t in times
    ]
    assert got.tolist() == want
    assert len(set(want)) == 2  # the switch is inside the slice


def test_cities_cover_every_country_with_real_zones():
    c = cities()
    assert len(set(c.country.tolist())) == len(static_vocabularies()["country"])
    assert all(ZoneInfo(z) for z in c.zones)
    assert (c.population >= 15_000).all() and (c.radius_km > 0).all()


def test_local_amounts_minor_units_and_price_points():
    rng = np.random.default_rng(3)
    codes = static_vocabularies()["currency"]
    base = rng.lognormal(3.4, 1.0, 60_000)
    currency = rng.integers(0, len(codes), len(base))
    out = money.local_amounts(base, currency, rng)
    _, minor = money.currency_tables()
    assert (out > 0).all()
    cents = np.round(out * 100)
    assert np.allclose(out * 100, cents)  # two decimals at most
    yen = currency == codes.index("JPY")
    assert (out[yen] == np.round(out[yen])).all() and minor[codes.index("JPY")] == 0
    assert 2_000 <= np.median(out[yen]) <= 8_000  # about 30 EUR in yen
    eur = currency == codes.index("EUR")
    assert 0.2 <= np.mean(cents[eur] % 100 == 99) <= 0.35


def test_public_addresses_avoid_reserved_blocks():
    ips = networks.public_ip(np.random.default_rng(1).integers(0, 2**63, 100_000).astype(np.uint64))
    first = ips >> 24
    assert not np.isin(first, [0, 10, 100, 127, 169, 172, 192, 198, 203]).any()
    assert (first < 224).all() and ((ips & 255) > 0).all() and ((ips & 255) < 255).all()


def test_user_agents_are_modern():
    vocab, by_kind = networks.user_agents()
    assert set(by_kind) == {"mobile", "desktop", "tablet"}
    assert not any("MSIE" in ua or "Windows NT 11" in ua or "Trident" in ua for ua in vocab)


def test_bounded_weights_cap_and_sum():
    w = bounded_weights(np.arange(1, 1001, dtype=float) ** -1.1, 0.01)
    assert w.max() <= 0.01 + 1e-12 and abs(w.sum() - 1) < 1e-9
    assert np.allclose(bounded_weights(np.ones(4), 0.1), 0.25)  # cap cannot hold: uniform


def test_km_between_known_distance():
    assert abs(km_between(52.52, 13.405, 48.8566, 2.3522) - 878) < 5  # Berlin-Paris
