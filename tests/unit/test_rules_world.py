"""Rule-level tests of v3 money (`money.local_amounts`): FX, price points, minor units,
on hand-checked amounts."""

from __future__ import annotations

import numpy as np

from sqlgen.schema import static_vocabularies
from sqlgen.world import money


class _Fixed:
    """An rng whose uniform draws are given (which kind of price each row gets)."""

    def __init__(self, u):
        self.u = np.asarray(u, dtype=np.float64)

    def random(self, n):
        assert n == len(self.u)
        return self.u


def _code(name: str) -> int:
    return static_vocabularies()["currency"].index(name)


def test_eur_amounts_on_charm_round_and_exact_prices():
    base = np.array([12.3, 12.3, 43.0, 12.3456, 0.2, 0.004])
    # charm (u < 0.25), round (0.25 <= u < 0.45), exact (u >= 0.45)
    u = [0.1, 0.3, 0.3, 0.9, 0.1, 0.9]
    out = money.local_amounts(base, np.full(6, _code("EUR")), _Fixed(u))
    assert out.tolist() == [12.99, 12.0, 45.0, 12.35, 0.99, 0.01]


def test_gbp_is_converted_at_the_fixed_rate():
    per_eur = money.money()["currencies"]["GBP"]["per_eur"]
    out = money.local_amounts(np.array([100.0]), np.array([_code("GBP")]), _Fixed([0.9]))
    assert out.tolist() == [round(100 * per_eur, 2)]


def test_yen_amounts_are_whole_yen_on_price_points():
    per_eur = money.money()["currencies"]["JPY"]["per_eur"]
    assert per_eur == 163.0
    base = np.array([1234.2, 1234.2, 1234.2, 61.0, 61.0]) / per_eur
    u = [0.1, 0.3, 0.9, 0.1, 0.3]
    out = money.local_amounts(base, np.full(5, _code("JPY")), _Fixed(u))
    # 1,234 yen: charm 1,280 (step 100, minus a fifth), round 1,200, exact 1,234;
    # 61 yen: charm 68 (70 less a fifth of the step 10), round 60.
    assert out.tolist() == [1280.0, 1200.0, 1234.0, 68.0, 60.0]
