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
    return np.asarray([table[c]["per_eur"] for c in codes], dtype=np.float64), minor


def local_amounts(
    base: np.ndarray, currency: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Amounts in each row's currency (codes), on price points, rounded to minor units."""
    per_eur, minor = currency_tables()
    unit = 10.0 ** -minor[currency]  # the smallest coin: 0.01, or 1 yen
    x = np.maximum(base * per_eur[currency], unit)
    points = money()["price_points"]
    u = rng.random(len(x))
    charm = u < points["charm"]
    round_ = (u >= points["charm"]) & (u < points["charm"] + points["round"])
    out = np.round(x / unit) * unit
    # Charm prices: 4.99, 19.99 (2 decimals); 98, 980, 1980 yen (no decimals).
    two = minor[currency] > 0
    c2 = charm & two
    out[c2] = np.maximum(np.ceil(x[c2]) - 0.01, 0.99)
    c0 = charm & ~two
    step = np.where(x[c0] >= 100, 100.0, 10.0)
    out[c0] = np.maximum(np.ceil(x[c0] / step) * step - step / 5, step - step / 5)
    # Round prices: whole units, in steps of 5 above 20 (100 yen above 1,000 yen).
    step = np.where(two[round_], np.where(x[round_] >= 20, 5.0, 1.0),
                    np.where(x[round_] >= 1000, 100.0, 10.0))
    out[round_] = np.maximum(np.round(x[round_] / step), 1) * step
    return np.round(out, _DECIMALS)
