"""The population sized to the run (`world_size`): the derivation on hand-checked inputs,
explicit sizes winning, re-derivation after a change of rows, the first log line, and
the bound on cards per customer."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pytest

from sqlgen.config import GeneratorConfig, apply_sets, load_config, with_overrides
from sqlgen.runner import log_settings
from sqlgen.world.catalogs import _bounded_owners, cards_per_customer_limit
from sqlgen.world_size import derived_sizes, period_months


def test_period_months_counts_both_ends():
    # 2025-01-01..2025-03-31 is 90 days; a month is 365.25 / 12 = 30.4375 days
    assert period_months(dt.date(2025, 1, 1), dt.date(2025, 3, 31)) == pytest.approx(90 / 30.4375)
    assert period_months(dt.date(2025, 1, 1), dt.date(2025, 1, 1)) == pytest.approx(1 / 30.4375)


@pytest.mark.parametrize(
    ("rows", "months", "cards", "customers", "merchants"),
    [
        # 7 payments a card a month: 2_100_000 / (7 * 3) = 100_000 cards; 100_000 / 1.5 =
        # 66_666.7 -> 66_667 customers; 100_000 / 15 = 6_666.7 -> 6_667 merchants
        (2_100_000, 3.0, 100_000, 66_667, 6_667),
        # one month: 70_000 / 7 = 10_000 cards, 6_667 customers, 667 merchants
        (70_000, 1.0, 10_000, 6_667, 667),
        # twelve times the rows over twelve months: the same world as one month
        (840_000, 12.0, 10_000, 6_667, 667),
        # a small run keeps the floors: 450 cards, 300 customers, 60 merchants
        (1_000, 3.0, 450, 300, 60),
        # a bigger run stops at MAX_DERIVED_CARDS (100k; every process holds the world):
        # 10M rows over 3 months would be 476_190 cards
        (10_000_000, 3.0, 100_000, 66_667, 6_667),
        (10_000_000_000, 3.0, 100_000, 66_667, 6_667),
        # 2_100_007 rows: 100_000.3 cards rounds to 100_000, at the cap exactly
        (2_100_007, 3.0, 100_000, 66_667, 6_667),
    ],
)
def test_derived_sizes_hand_checked(rows, months, cards, customers, merchants):
    assert derived_sizes(rows, months) == {
        "num_cards": cards, "num_customers": customers, "num_merchants": merchants}


def test_given_cards_are_not_capped():
    # the cap is on the derived world only: 500_000 cards given stay 500_000
    assert derived_sizes(10_000_000, 3.0, cards=500_000)["num_cards"] == 500_000


def test_given_cards_size_the_rest():
    # 3_000 cards given: 2_000 customers, 200 merchants, whatever the rows
    assert derived_sizes(5, 3.0, cards=3_000) == {
        "num_cards": 3_000, "num_customers": 2_000, "num_merchants": 200}


def test_default_config_derives_from_rows_and_period():
    cfg = load_config()
    # 1_000_000 / (7 * 90 / 30.4375) = 48_313.49 cards
    assert cfg.catalog.sizes == {
        "num_cards": 48_313, "num_customers": 32_209, "num_merchants": 3_221}
    assert cfg.catalog.derived == {"num_cards", "num_customers", "num_merchants"}
    assert GeneratorConfig().catalog.sizes == cfg.catalog.sizes


def test_changing_rows_derives_again_and_explicit_sizes_win():
    cfg = load_config()
    bigger = apply_sets(cfg, ["rows=1500000"])
    assert bigger.catalog.num_cards == 72_470  # 1.5M / (7 * 90 / 30.4375) = 72_470.24
    assert with_overrides(cfg, rows=1_500_000).catalog == bigger.catalog
    assert apply_sets(cfg, ["rows=4000000"]).catalog.num_cards == 100_000  # 193_254 capped
    given = apply_sets(cfg, ["catalog.num_cards=75000", "catalog.num_merchants=5000",
                             "rows=4000000"])
    assert given.catalog.num_cards == 75_000 and given.catalog.num_merchants == 5_000
    assert given.catalog.num_customers == 50_000 and given.catalog.derived == {"num_customers"}
    # a later change of rows keeps the given sizes
    assert with_overrides(given, rows=10).catalog.sizes == given.catalog.sizes


def test_fingerprints_follow_the_derived_sizes():
    cfg = load_config()
    assert cfg.catalog_fingerprint() != apply_sets(cfg, ["rows=2000000"]).catalog_fingerprint()


def test_first_log_line_names_the_world(caplog):
    cfg = load_config()
    with caplog.at_level(logging.INFO, logger="sqlgen"):
        log_settings(cfg)
        log_settings(apply_sets(cfg, ["catalog.num_cards=75000", "catalog.num_customers=50000",
                                      "catalog.num_merchants=5000"]))
    derived, given = (r.getMessage() for r in caplog.records)
    assert derived.endswith("world=48,313 cards/32,209 customers/3,221 merchants "
                            "(cards, customers, merchants derived from rows and the period)")
    assert given.endswith("world=75,000 cards/50,000 customers/5,000 merchants")


def test_cards_per_customer_bounded_even_when_tight():
    # 5 a customer at most; 12 cards on 2 customers need 6 each
    assert cards_per_customer_limit(75_000, 50_000) == 5
    assert cards_per_customer_limit(12, 2) == 6
    rng = np.random.default_rng(0)
    for cards, customers in ((1_000, 200), (12, 2), (5_000, 900)):
        owner = np.zeros(cards, dtype=np.int64)  # everyone's cards dealt to customer 0
        out = _bounded_owners(owner, customers, rng)
        held = np.bincount(out, minlength=customers)
        assert held.sum() == cards
        assert held.max() <= cards_per_customer_limit(cards, customers)
