"""Realism v3 money: amounts made in the base currency (EUR), converted to the
merchant's currency with the fixed FX table of `schema/money.yaml`, set on the price
points people pay (.99 endings, round sums) and rounded to the currency's ISO 4217
minor units (JPY: whole yen)."""

from __future__ import annotations

from functools import cache

import numpy as np
import yaml

from sqlgen.resources import resource_dir
from sqlgen.schema import static_vocabularies

_DECIMALS = 2  # amounts are DECIMAL(12,2): a currency may use at most 2 minor units
# amount_base's integer conversion (sql/fx_base.sql): rates in ten-thousandths, and
# 2 * (largest amount in cents, 1e12) * rate * 1e4 must stay below 2^63.
_RATE_SCALE = 10_000
_MAX_RATE = 400.0  # 2 * 1e12 * 400 * 1e4 = 8e18 < 2^63 (9.2e18); JPY is 163


@cache
def money() -> dict:
    return yaml.safe_load((resource_dir("schema") / "money.yaml").read_text())


@cache
def currency_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per currency code (the `currency` ENUM's order): units per EUR, minor units."""
    table = money()["currencies"]
    codes = static_vocabularies()["currency"]
    missing = [c for c in codes if c not in table]
    if missing:
        raise ValueError(f"schema/money.yaml has no FX rate for {missing}")
    minor = np.asarray([table[c]["minor_units"] for c in codes], dtype=np.int64)
    if minor.max() > _DECIMALS:
        raise ValueError("a currency with 3 minor units does not fit DECIMAL(12,2) amounts")
    per_eur = np.asarray([table[c]["per_eur"] for c in codes], dtype=np.float64)
    # amount_base converts in exact integers with rates in ten-thousandths (sql/fx_base.sql).
    scaled = per_eur * _RATE_SCALE
    if np.any(np.abs(scaled - np.round(scaled)) > 1e-6) or per_eur.max() >= _MAX_RATE:
        raise ValueError(f"schema/money.yaml: rates need at most 4 decimals and below {_MAX_RATE}")
    return per_eur, minor


def fx_currencies() -> tuple[str, ...]:
    """The currencies of the FX table (`fx_rates`): every payment currency."""
    return static_vocabularies()["currency"]


def local_amounts(base: np.ndarray, currency: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Amounts in each row's currency (codes), on price points, rounded to minor units."""
    per_eur, minor = currency_tables()
    points = money()["price_points"]
    x = base * per_eur[currency]
    u = rng.random(len(x))
    # Two-decimal currencies: charm prices 4.99, 19.99; round prices 7, 25, 40. Each
    # row's kind of price is computed for its rows only.
    out = np.empty(len(x))
    charm_p, round_p = points["charm"], points["charm"] + points["round"]
    rows = np.flatnonzero(u < charm_p)
    # Rounded here: the other prices are already whole cents (rounding again keeps them).
    out[rows] = np.round(np.maximum(np.ceil(x[rows]), 1.0) - 0.01, _DECIMALS)
    rows = np.flatnonzero((u >= charm_p) & (u < round_p))
    xr = x[rows]
    step = np.where(xr >= 20, 5.0, 1.0)
    out[rows] = np.maximum(np.round(xr / step), 1.0) * step
    rows = np.flatnonzero(u >= round_p)
    out[rows] = np.maximum(np.round(x[rows], 2), 0.01)
    # No minor units (yen): charm prices 98, 980, 1,980; round prices 700, 3,000.
    zero = np.flatnonzero(minor[currency] == 0)
    if len(zero):
        xz, uz = x[zero], u[zero]
        step = np.where(xz >= 100, 100.0, 10.0)
        charm = np.ceil(xz / step) * step - step / 5
        step = np.where(xz >= 1000, 100.0, 10.0)
        whole = np.maximum(np.round(xz / step), 1.0) * step
        out[zero] = np.where(
            uz < points["charm"],
            charm,
            np.where(uz < points["charm"] + points["round"], whole, np.maximum(np.round(xz), 1)),
        )
    return out
