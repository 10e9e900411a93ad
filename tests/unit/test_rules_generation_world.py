"""Rule-level tests of the v3 world (`sqlgen.world.world`, `money`, `networks`): distances,
points near a city, zone offsets, FX-table checks, price points at their boundaries and
addresses, each on small hand-checked inputs (issue 25)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest

from sqlgen import sampling
from sqlgen.generate.plan import to_us
from sqlgen.schema import reference
from sqlgen.world import money, networks, world

R = 6371.0  # km, the mean Earth radius
KM_PER_DEGREE = R * math.pi / 180  # 111.19 km along a great circle


def test_world_constants():
    assert (world.MINUTE_US, world.BUCKET_US, world.DAY_US) == (
        60_000_000, 15 * 60_000_000, 86_400_000_000)
    assert world.EARTH_KM == R
    assert (networks.CARRIER_IPS_PER_COUNTRY, networks.ISPS_PER_COUNTRY) == (16, 8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        world.cities().lat = None


def test_km_between_along_the_equator_a_meridian_and_a_parallel():
    # one degree of longitude on the equator, of latitude on a meridian: R * pi / 180
    assert world.km_between(0.0, 10.0, 0.0, 11.0) == pytest.approx(KM_PER_DEGREE)
    assert world.km_between(10.0, 5.0, 11.0, 5.0) == pytest.approx(KM_PER_DEGREE)
    assert world.km_between(-11.0, 5.0, -10.0, 5.0) == pytest.approx(KM_PER_DEGREE)
    # two degrees of longitude at 60° N: 2 R asin(cos 60° sin 1°) = 2 R asin(0.5 sin 1°)
    want = 2 * R * math.asin(0.5 * math.sin(math.radians(1)))
    assert world.km_between(60.0, 20.0, 60.0, 22.0) == pytest.approx(want)
    assert world.km_between(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * R)  # antipodes
    assert world.km_between(5.0, 5.0, 5.0, 5.0) == 0.0


def test_km_from_radians_keeps_h_at_one_past_rounding():
    # Nearly antipodal points whose haversine h rounds just above 1: clamped, not NaN.
    p = np.radians(np.linspace(-89, 89, 2001))
    d = world.km_from_radians(p, np.cos(p), -p, np.cos(-p), np.full(len(p), 180.0))
    assert np.isfinite(d).all() and np.allclose(d, math.pi * R)


class _Uniforms:
    def __init__(self, *arrays):
        self.arrays = [np.asarray(a, dtype=np.float64) for a in arrays]

    def random(self, n):
        out = self.arrays.pop(0)
        assert len(out) == n
        return out


def test_near_puts_points_at_radius_u_squared_around_the_city():
    c = world.cities()
    i = int(np.argmax(np.abs(c.lat) * (c.radius_km > 1)))  # far from the equator
    city = np.array([i, i, i, i])
    # radius r * u^2 with u = 1, 1, 0.5, 0; angle 2 pi v with v = 0 (north), 0.25 (east),
    # 0.5 (south), 0.
    lat, lon = world.near(city, _Uniforms([1.0, 1.0, 0.5, 0.0], [0.0, 0.25, 0.5, 0.0]))
    r, la, lo = c.radius_km[i], c.lat[i], c.lon[i]
    deg = math.degrees(r / R)
    assert lat[0] == pytest.approx(la + deg) and lon[0] == pytest.approx(lo)
    assert lat[1] == pytest.approx(la) and lon[1] == pytest.approx(
        lo + deg / math.cos(math.radians(la)))
    assert lat[2] == pytest.approx(la - deg / 4) and lon[2] == pytest.approx(lo)
    assert (lat[3], lon[3]) == pytest.approx((la, lo))
    # within the radius, as km_between measures it
    assert world.km_between(la, lo, lat, lon) == pytest.approx([r, r, r / 4, 0.0], rel=1e-3)


def test_standard_offsets_are_the_winter_ones():
    zones = world.cities().zones
    off = world.standard_offsets()
    want = {"Europe/Berlin": 60, "America/New_York": -300, "Asia/Kolkata": 330,
            "Australia/Sydney": 600}  # Sydney: +11 in January (summer), +10 in July
    for z, minutes in want.items():
        if z in zones:
            assert off[zones.index(z)] == minutes, z
    assert off.dtype == np.int16 and "Europe/Berlin" in zones


def test_zone_offsets_table_per_zone_trimmed_to_the_slice():
    # 2025-10-25 12:00 UTC to 2025-10-27 00:00 UTC (36 h = 144 buckets, plus 1 µs: 145).
    # London falls back from +60 to 0 at 2025-10-26 01:00 UTC (bucket 52); Tokyo +540.
    t0 = to_us(dt.datetime(2025, 10, 25, 12))
    t1 = to_us(dt.datetime(2025, 10, 27)) + 1
    table = world.ZoneOffsets(("Asia/Tokyo", "Europe/London"), t0, t1)
    assert table.b0 == t0 // world.BUCKET_US
    assert table.table.shape == (2, 145)
    assert (table.table[0] == 540).all()
    assert table.table[1, :52].tolist() == [60] * 52 and (table.table[1, 52:] == 0).all()
    switch = to_us(dt.datetime(2025, 10, 26, 1))
    at = table.at(np.array([1, 1, 1, 0]), np.array([switch - 1, switch, t1 - 1, t0]))
    assert at.tolist() == [60, 0, 0, 540]
    assert table.middle().tolist() == [540, 0]  # bucket 72 of 145: after the switch


def test_zone_offsets_partial_bucket_and_offsets_in_minutes():
    # Kathmandu is +5:45 (345 minutes); a slice of one microsecond still has a bucket.
    t0 = to_us(dt.datetime(2025, 1, 1, 0, 7))
    table = world.ZoneOffsets(("Asia/Kathmandu",), t0, t0 + 1)
    assert table.table.shape == (1, 1) and table.table.tolist() == [[345]]
    assert world._offset_minutes(world._zone("Asia/Kathmandu"), 0) == 330  # 1970: +5:30
    assert world._utc(86_400_000_000 + 1) == dt.datetime(1970, 1, 2, 0, 0, 0, 1,
                                                          tzinfo=dt.UTC)


# -- money ---------------------------------------------------------------------------

class _Fixed:
    def __init__(self, u):
        self.u = np.asarray(u, dtype=np.float64)

    def random(self, n):
        assert n == len(self.u)
        return self.u


def _tables(monkeypatch, currencies, codes=None):
    monkeypatch.setattr(money, "money", lambda: {"currencies": currencies,
                                                  "price_points": {"charm": 0.25,
                                                                   "round": 0.2}})
    monkeypatch.setattr(money, "static_vocabularies",
                        lambda: {"currency": tuple(codes or currencies)})
    return money.currency_tables.__wrapped__


def test_currency_tables_accept_a_valid_table(monkeypatch):
    f = _tables(monkeypatch, {"EUR": {"per_eur": 1.0, "minor_units": 2},
                              "JPY": {"per_eur": 399.9999, "minor_units": 0}})
    per_eur, minor = f()
    assert per_eur.tolist() == [1.0, 399.9999] and minor.tolist() == [2, 0]


@pytest.mark.parametrize("currencies", [
    # 3 minor units (of one currency): not DECIMAL(12,2)
    {"EUR": {"per_eur": 1.0, "minor_units": 2}, "KWD": {"per_eur": 0.33, "minor_units": 3}},
    {"EUR": {"per_eur": 1.00001, "minor_units": 2}},  # 5 decimals
    {"EUR": {"per_eur": 1.0 + 1.5e-10, "minor_units": 2}},  # 1.5e-6 ten-thousandths off
    {"EUR": {"per_eur": 400.0, "minor_units": 2}},  # the rate limit itself
    {"EUR": {"per_eur": 1.0, "minor_units": 2}, "XXX": {"per_eur": 500.0, "minor_units": 2}},
])
def test_currency_tables_refuse_rates_and_units_that_do_not_fit(monkeypatch, currencies):
    f = _tables(monkeypatch, currencies)
    with pytest.raises(ValueError):
        f()


def test_currency_tables_refuse_a_currency_without_a_rate(monkeypatch):
    f = _tables(monkeypatch, {"EUR": {"per_eur": 1.0, "minor_units": 2}}, ("EUR", "GBP"))
    with pytest.raises(ValueError, match="GBP"):
        f()


def _one_to_one(monkeypatch, minor):
    """A single currency worth 1 EUR with the given minor units."""
    monkeypatch.setattr(money, "currency_tables",
                        lambda: (np.array([1.0]), np.array([minor], dtype=np.int64)))


def test_two_decimal_prices_at_the_kind_boundaries(monkeypatch):
    _one_to_one(monkeypatch, 2)
    charm, rnd = 0.25, 0.25 + 0.2
    # u exactly at the charm share: a round price; exactly at charm + round: exact.
    base = np.array([12.3, 12.3, 0.3, 0.3, 23.0, 0.004])
    u = [charm, rnd, 0.3, 0.1, 0.3, 0.9]
    out = money.local_amounts(base, np.zeros(6, dtype=np.int64), _Fixed(u))
    # 12.3 round -> 12; exact 12.30; 0.3 round -> at least 1; charm -> 0.99;
    # 23 round to 5 -> 25; exact tiny -> one cent.
    assert out.tolist() == [12.0, 12.3, 1.0, 0.99, 25.0, 0.01]


def test_no_minor_unit_prices_at_their_step_boundaries(monkeypatch):
    _one_to_one(monkeypatch, 0)
    charm, rnd = 0.25, 0.45
    base = np.array([100.0, 99.0, 3.0, 0.3, 1000.0, 640.0, 6.0, 6.0, 6.0])
    u = [0.1, 0.1, 0.3, 0.9, 0.3, 0.3, charm, rnd - 1e-9, rnd]
    out = money.local_amounts(base, np.zeros(9, dtype=np.int64), _Fixed(u))
    # charm: 100 -> step 100: 100 - 20 = 80; 99 -> step 10: 100 - 2 = 98;
    # round: 3 -> at least one step of 10; exact: 0.3 -> at least 1 yen;
    # round 1000 -> step 100: 1000; 640 -> step 10: 640; u at charm: round 6 -> 10;
    # u at charm + round: exact, 6.
    assert out.tolist() == [80.0, 98.0, 10.0, 1.0, 1000.0, 640.0, 10.0, 10.0, 6.0]
    assert money.local_amounts(np.array([6.0]), np.zeros(1, dtype=np.int64),
                               _Fixed([charm - 1e-9])).tolist() == [8.0]  # 10 - 2


# -- networks ------------------------------------------------------------------------

def _octets(ip):
    ip = int(ip)
    return (ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255)


def test_public_ip_octets_from_the_hash():
    # first octet: the top 32 bits pick among the allowed octets (0: the first, 1);
    # middle two octets: hash bits 8-23; last: 1 + (low byte mod 254).
    h = np.array([0, (0xABCD << 8) | 5, (0xABCD << 8) | 254, 2**64 - 1], dtype=np.uint64)
    ips = networks.public_ip(h)
    assert [_octets(x) for x in ips] == [(1, 0, 0, 1), (1, 0xAB, 0xCD, 6), (1, 0xAB, 0xCD, 1),
                                         (223, 255, 255, 2)]
    allowed = [o for o in range(1, 224)
               if o not in {0, 10, 100, 127, 169, 172, 192, 198, 203}]
    assert networks._FIRST_OCTETS.tolist() == allowed


def test_public_ip_spreads_over_every_allowed_octet_and_last_byte():
    h = sampling.mix64(np.arange(200_000, dtype=np.uint64))
    ips = networks.public_ip(h)
    assert (ips >= 0).all() and (ips < 2**32).all()
    assert set((ips >> 24).tolist()) == set(networks._FIRST_OCTETS.tolist())
    assert set((ips & 255).tolist()) == set(range(1, 255))
    assert len(np.unique((ips >> 8) & 0xFFFF)) > 50_000


def test_isp_blocks_are_distinct_public_slash_10s():
    n = len(reference()["countries"])
    blocks = networks._isp_blocks(5, n)
    assert blocks.shape == (n, 8) and len(np.unique(blocks)) == n * 8
    assert (blocks < 1024).all()
    assert set((blocks >> np.uint64(2)).ravel().tolist()) <= set(networks._FIRST_OCTETS.tolist())
    assert set((blocks & np.uint64(3)).ravel().tolist()) == {0, 1, 2, 3}


def test_country_ip_is_in_a_block_of_the_country():
    n = len(reference()["countries"])
    blocks = networks._isp_blocks(5, n)
    # the top 32 bits pick the provider (0 here: the first); bits 8-21 and the low byte
    h = np.array([(0x1234 << 8) | 7, (0x1234 << 8) | 254, (0x7FFF << 8) | 0], dtype=np.uint64)
    ips = networks.country_ip(h, np.array([3, 3, 4]), 5)
    assert int(ips[0]) == (int(blocks[3, 0]) << 22) | (0x1234 << 8) | 8
    assert int(ips[1]) == (int(blocks[3, 0]) << 22) | (0x1234 << 8) | 1
    assert int(ips[2]) == (int(blocks[4, 0]) << 22) | (0x3FFF << 8) | 1
    many = sampling.mix64(np.arange(20_000, dtype=np.uint64))
    country = np.arange(20_000) % n
    ips = networks.country_ip(many, country, 5)
    block = ips >> 22
    assert all((block[country == c][:, None] == blocks[c][None, :].astype(np.int64)).any(1)
               .all() for c in range(n))
    assert set((ips & 255).tolist()) == set(range(1, 255)) and (ips < 2**32).all()
    # random_ips with a country: the same blocks
    rnd = networks.random_ips(500, np.random.default_rng(1), np.full(500, 2), seed=5)
    assert np.isin(rnd >> 22, blocks[2].astype(np.int64)).all()


def test_random_ips_are_spread_public_addresses():
    ips = networks.random_ips(100_000, np.random.default_rng(2))
    assert set((ips >> 24).tolist()) == set(networks._FIRST_OCTETS.tolist())
    assert len(set((ips & 255).tolist())) == 254


def test_lease_epochs_start_at_zero_and_last_log_uniform_lives():
    keys = np.arange(20_000)
    zero = networks.lease_epochs(keys, np.zeros(20_000), 2.0, 50.0, 7)
    assert (zero == 0).all()  # floor(0 / life + u2), u2 in [0, 1)
    # Life fixed at 10 days: at day 5 an epoch has turned for the keys whose phase u2 is
    # at least 0.5: half of them.
    half = networks.lease_epochs(keys, np.full(20_000, 5.0), 10.0, 10.0, 7)
    assert set(half.tolist()) == {0, 1} and 0.48 < half.mean() < 0.52
    # Lives log-uniform in 2..50 days (median 10): after 1000 days about 1000 / life.
    e = networks.lease_epochs(keys, np.full(20_000, 1000.0), 2.0, 50.0, 7)
    assert 90 < np.median(e) < 110 and e.min() >= 19 and e.max() <= 501


def test_household_lines_and_addresses():
    n = 4_000
    c = np.arange(n)
    slots = [np.full(n, s) for s in range(4)]
    lines = [networks.household_lines(c, s, 9) for s in slots]
    assert ((lines[0] >> 2) == c).all() and (lines[0] & 3 == 0).all()
    assert (lines[2] == lines[0]).all() and (lines[3] == lines[1]).all()
    two = lines[1] != lines[0]  # one or two broadband lines per household
    assert 0.45 < two.mean() < 0.55 and ((lines[1] & 3)[two] == 1).all()
    ips = [networks.household_ips(c, s, 9) for s in slots]
    assert (ips[2] == ips[0]).all() and (ips[3] == ips[1]).all()
    assert ((ips[1] != ips[0]) == two).all()
    # with a country: in its providers' blocks; with an epoch: a new address per lease
    country = c % len(reference()["countries"])
    blocks = networks._isp_blocks(9, len(reference()["countries"]))
    home = networks.household_ips(c, slots[0], 9, country)
    assert all(np.isin(home[country == k] >> 22, blocks[k].astype(np.int64)).all()
               for k in range(len(blocks)))
    e0 = networks.household_ips(c, slots[0], 9, country, np.zeros(n, dtype=np.int64))
    e1 = networks.household_ips(c, slots[0], 9, country, np.ones(n, dtype=np.int64))
    assert (e0 == home).all() and (e1 != e0).mean() > 0.99
    # The lease's key: (customer << 2 | line) with the epoch in the bits from 44 up (clear
    # of any customer id below 2**42), hashed with the home salt, then the country's block.
    k = (c.astype(np.uint64) << np.uint64(2)) | lines[0].astype(np.uint64) & np.uint64(3)
    epoch = np.full(n, 3, dtype=np.int64)
    h = sampling.mix64(k ^ (np.uint64(3) << np.uint64(44)) ^ np.uint64(9 ^ 0x40E1))
    assert (networks.household_ips(c, slots[0], 9, country, epoch)
            == networks.country_ip(h, country, 9)).all()


def test_carrier_keys_and_gateways():
    assert networks.carrier_keys(np.array([0, 2, 1]), np.array([0.0, 0.999, 0.5])).tolist() == [
        0, 2 * 16 + 15, 16 + 8]
    n = len(reference()["countries"])
    country = np.repeat(np.arange(n), 16)
    u = np.tile((np.arange(16) + 0.5) / 16, n)
    ips = networks.carrier_ips(country, u, 11)
    blocks = networks._isp_blocks(11, n)
    assert all(np.isin(ips[country == k] >> 22, blocks[k].astype(np.int64)).all()
               for k in range(n))
    assert len(np.unique(ips)) == n * 16  # 16 gateways per country, shared by its users
    again = networks.carrier_ips(np.array([n - 1]), np.array([0.999]), 11)
    assert again[0] == ips[-1]


def _fake_agents(monkeypatch):
    by_kind = {"mobile": (np.array([0, 1, 2], dtype=np.int32), np.array([1.0, 1.0, 2.0]),
                          np.array([2020, 2022, 2024])),
               "desktop": (np.array([3], dtype=np.int32), np.array([1.0]),
                           np.array([2030]))}
    monkeypatch.setattr(networks, "user_agents", lambda: (("a", "b", "c", "d"), by_kind))


def test_device_user_agents_fit_the_kind_and_the_year(monkeypatch):
    _fake_agents(monkeypatch)
    kinds = ("desktop", "mobile")
    kind = np.array([1, 1, 1, 0])
    u = np.array([0.0, 0.49, 0.99, 0.5])
    # by 2022: agents 0 and 1, equal weights; the desktop's only agent shipped in 2030,
    # after the run: all of them (it).
    assert networks.device_user_agents(kind, kinds, u, 2022).tolist() == [0, 0, 1, 3]
    # by 2020 (the first's year, included): the first only
    assert networks.device_user_agents(kind, kinds, u, 2020).tolist() == [0, 0, 0, 3]
    # no year: all three, weights 1:1:2 (cdf 0.25, 0.5, 1)
    assert networks.device_user_agents(kind, kinds, u, None).tolist() == [0, 1, 2, 3]
    # before any shipped: all of them
    assert networks.device_user_agents(kind, kinds, u, 2010).tolist() == [0, 1, 2, 3]


def test_user_agents_table_codes_and_weights():
    vocab, by_kind = networks.user_agents()
    for codes, weights, years in by_kind.values():
        assert codes.dtype == np.int32 and (codes < len(vocab)).all()
        assert (weights > 0).all() and (years > 2000).all()
