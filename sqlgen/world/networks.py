"""Realism v3 devices and networks: user agents from the shipped, dated table
`schema/user_agents.yaml` (chosen to fit the device's kind), and IPv4 addresses that
belong to someone: each household has one or two broadband addresses of its own (the
provider reassigns them now and then: `lease_epochs`); only mobile-carrier gateways
(carrier-grade NAT, a few per country) are shared. Every address lies in a block of an
internet provider of one country (`ISPS_PER_COUNTRY` /10 blocks per country), so it
geolocates to a country and a provider. All values derive from integer keys and the
seed, so any chunk recomputes them alike.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import yaml

from sqlgen import sampling
from sqlgen.resources import resource_dir

CARRIER_IPS_PER_COUNTRY = 16
ISPS_PER_COUNTRY = 8  # /10 address blocks (providers) per country
_SALT_ISP = 0x15B0
_SALT_HOME, _SALT_CARRIER, _SALT_UA = 0x40E1, 0xCA221E, 0x0A6E
# First octets of ordinary public unicast space (no private, loopback, CGNAT 100/8,
# link-local, 172.16/12 or 192.168/16 blocks, documentation or multicast ranges).
_RESERVED = {0, 10, 100, 127, 169, 172, 192, 198, 203}
_FIRST_OCTETS = np.asarray([o for o in range(1, 224) if o not in _RESERVED], dtype=np.uint64)


@cache
def user_agents() -> tuple[tuple[str, ...], dict[str, tuple[np.ndarray, ...]]]:
    """All user-agent strings (the ENUM vocabulary) and, per device kind, their codes
    in it, their weights and the years they shipped."""
    table = yaml.safe_load((resource_dir("schema") / "user_agents.yaml").read_text())
    vocab = tuple(dict.fromkeys(e["ua"] for entries in table.values() for e in entries))
    by_kind = {
        kind: (
            np.asarray([vocab.index(e["ua"]) for e in entries], dtype=np.int32),
            np.asarray([e["weight"] for e in entries], dtype=np.float64),
            np.asarray([e["year"] for e in entries], dtype=np.int64),
        )
        for kind, entries in table.items()
    }
    return vocab, by_kind


def public_ip(h: np.ndarray) -> np.ndarray:
    """A public IPv4 address (as uint32 in int64) from each uint64 hash."""
    first = _FIRST_OCTETS[sampling.bounded(h, len(_FIRST_OCTETS))]
    middle = (h >> np.uint64(8)) & np.uint64(0xFFFF)
    last = np.uint64(1) + (h & np.uint64(0xFF)) % np.uint64(254)
    return ((first << np.uint64(24)) | (middle << np.uint64(8)) | last).astype(np.int64)


@cache
def _isp_blocks(seed: int, countries: int) -> np.ndarray:
    """The /10 blocks of each country's providers: (countries, ISPS_PER_COUNTRY), the
    top 10 bits of their addresses (ordinary public unicast space), distinct."""
    rng = np.random.default_rng([seed, _SALT_ISP])
    first = rng.choice(_FIRST_OCTETS, 4 * countries * ISPS_PER_COUNTRY)
    blocks = (first << np.uint64(2)) | rng.integers(0, 4, len(first)).astype(np.uint64)
    _, idx = np.unique(blocks, return_index=True)
    blocks = blocks[np.sort(idx)][: countries * ISPS_PER_COUNTRY]
    return blocks.reshape(countries, ISPS_PER_COUNTRY)


def country_ip(h: np.ndarray, country: np.ndarray, seed: int) -> np.ndarray:
    """A public IPv4 address (uint32 in int64) from each uint64 hash, in a block of a
    provider of the given country (index into reference.yaml's countries)."""
    from sqlgen.schema import reference

    table = _isp_blocks(seed, len(reference()["countries"]))
    block = table[np.asarray(country, dtype=np.int64), sampling.bounded(h, ISPS_PER_COUNTRY)]
    middle = (h >> np.uint64(8)) & np.uint64(0x3FFF)
    last = np.uint64(1) + (h & np.uint64(0xFF)) % np.uint64(254)
    return ((block << np.uint64(22)) | (middle << np.uint64(8)) | last).astype(np.int64)


def lease_epochs(key: np.ndarray, day: np.ndarray, low_days: float, high_days: float,
                 seed: int) -> np.ndarray:
    """Which lifetime of a thing (an address lease, a device) each row falls in: every
    key lives log-uniformly `low_days`..`high_days` before it is replaced, from a phase
    of its own (no common clock). `day`: days since the run's start (float)."""
    h = sampling.mix64(np.asarray(key, dtype=np.uint64) ^ np.uint64(seed ^ 0x11FE))
    u1 = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    u2 = (sampling.mix64(h) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    life = low_days * (high_days / low_days) ** u1
    return np.floor(day / life + u2).astype(np.int64)


def household_ips(customer: np.ndarray, slot: np.ndarray, seed: int,
                  country: np.ndarray | None = None,
                  epoch: np.ndarray | None = None) -> np.ndarray:
    """The broadband address a customer's device `slot` uses at home: one or two per
    household (slot 0, 2, ... share the first); with `country`, in a provider's block of
    the household's country, and with `epoch`, the lease's (`lease_epochs`)."""
    c = customer.astype(np.uint64)
    key = c ^ np.uint64(seed) ^ np.uint64(_SALT_HOME)
    lines = np.uint64(1) + sampling.mix64(key) % np.uint64(2)
    line = slot.astype(np.uint64) % lines
    k = c << np.uint64(2) | line
    if epoch is not None:
        k = k ^ (epoch.astype(np.uint64) << np.uint64(44))
    h = sampling.mix64(k ^ np.uint64(seed ^ _SALT_HOME))
    return public_ip(h) if country is None else country_ip(h, country, seed)


def household_lines(customer: np.ndarray, slot: np.ndarray, seed: int) -> np.ndarray:
    """The broadband line (key for its lease) each customer's device slot uses at home."""
    c = customer.astype(np.uint64)
    key = c ^ np.uint64(seed) ^ np.uint64(_SALT_HOME)
    lines = np.uint64(1) + sampling.mix64(key) % np.uint64(2)
    return (c << np.uint64(2) | slot.astype(np.uint64) % lines).astype(np.int64)


def carrier_ips(country: np.ndarray, u: np.ndarray, seed: int) -> np.ndarray:
    """A mobile carrier's shared gateway address in the given country."""
    key = carrier_keys(country, u)
    size = 1 << int(key.max(initial=0)).bit_length()  # a few tables per process at most
    return np.take(_carrier_table(seed, size), key)


def carrier_keys(country: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The gateway (country * CARRIER_IPS_PER_COUNTRY + j) each uniform picks."""
    j = (u * CARRIER_IPS_PER_COUNTRY).astype(np.int64)
    return country.astype(np.int64) * CARRIER_IPS_PER_COUNTRY + j


@cache
def _carrier_table(seed: int, size: int) -> np.ndarray:
    """Gateway addresses of keys 0..size-1 (country * CARRIER_IPS_PER_COUNTRY + j), in
    the country's providers' blocks."""
    from sqlgen.schema import reference

    key = np.arange(size, dtype=np.uint64)
    country = np.minimum(key // np.uint64(CARRIER_IPS_PER_COUNTRY),
                         np.uint64(len(reference()["countries"]) - 1))  # past the end: unused
    return country_ip(sampling.mix64(key ^ np.uint64(seed ^ _SALT_CARRIER)), country, seed)


def random_ips(n: int, rng: np.random.Generator, country: np.ndarray | None = None,
               seed: int = 0) -> np.ndarray:
    """Addresses met once (hotel or café networks, a fraudster's proxy); with
    `country`, in that country's providers' blocks."""
    h = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) * np.uint64(3)
    return public_ip(h) if country is None else country_ip(h, country, seed)


def device_user_agents(
    kind: np.ndarray, kinds: tuple[str, ...], u: np.ndarray, year: int | None = None
) -> np.ndarray:
    """A user-agent code fitting each device's kind (codes into `kinds`, the
    device_type vocabulary), chosen by the uniforms `u` among the browsers shipped by
    `year` (the run's last year; all of them if none had shipped yet)."""
    _, by_kind = user_agents()
    out = np.zeros(len(u), dtype=np.int32)
    for name, (codes, weights, years) in by_kind.items():
        if year is not None and (years <= year).any():
            weights = np.where(years <= year, weights, 0.0)
        rows = np.flatnonzero(kind == kinds.index(name))
        out[rows] = codes[sampling.CdfSampler(weights).lookup(u[rows])]
    return out
