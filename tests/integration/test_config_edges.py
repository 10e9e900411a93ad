"""Values at the edges of what the config accepts run (or are refused at load, by field)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from sqlgen.config import MAX_AMOUNT, MAX_PRICE_LEVEL, apply_sets, load_config
from sqlgen.core import generate_dataframe
from tests.conftest import TINY

_TOP = MAX_AMOUNT / MAX_PRICE_LEVEL  # the largest amount a distribution may reach


@pytest.mark.parametrize(
    "sets",
    [
        ["temporal.start_date=1970-01-01", "temporal.end_date=1970-01-20"],
        ["temporal.start_date=2099-12-01", "temporal.end_date=2099-12-31", "realism=v1"],
        [f"feature.amount.mu={math.log(_TOP) - 7 - 1e-6}", "feature.amount.sigma=1.0"],
        [
            "feature.amount.distribution=normal",
            f"feature.amount.mean={_TOP / 8}",
            f"feature.amount.std={_TOP / 8}",
        ],
        ["feature.amount.distribution=uniform", f"feature.amount.high={_TOP}"],
        [
            "scenarios={logistic: 1e6, burst: 1e6, card_testing: 1e6, compromised_merchant: 1e6}",
            "scenarios.account_takeover=1e-300",
        ],
        ["temporal.hourly_weights=[" + "0, " * 23 + "1e-300]", "catalog.num_merchants=1"],
    ],
    ids=["1970", "2099-v1", "lognormal-top", "normal-top", "uniform-top", "weights", "one-hour"],
)
def test_accepted_edge_values_run(sets):
    cfg = apply_sets(load_config(TINY), ["rows=300", "batch_size=300", *sets])
    table = generate_dataframe(cfg)
    assert table.num_rows == 300
    assert sum(table.column("label_fraud").to_pylist()) == cfg.fraud_target
    amounts = table.column("amount").to_pylist()
    assert min(amounts) >= Decimal("0.01") and max(amounts) <= Decimal(str(MAX_AMOUNT))
    years = {t.year for t in table.column("event_time").to_pylist()}
    assert years <= set(range(cfg.temporal.start_date.year, cfg.temporal.end_date.year + 1))
