"""Rules of the v3 fraud plan that keep artificial tells out (issue 24), checked on the
plan itself: small, exact, no files written."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from sqlgen.catalogs import build_catalogs
from sqlgen.config import load_config, with_overrides
from sqlgen.population import Population
from tests.conftest import TINY


def planner_for(**overrides):
    cfg = with_overrides(load_config(TINY), realism="v3", **overrides)
    con = duckdb.connect()
    build_catalogs(con, cfg.catalog, cfg.seed, world=True)
    return Population(cfg, con).planner


@pytest.fixture(scope="module")
def year_plan():
    planner = planner_for(rows=400_000, temporal={"start_date": "2025-01-01",
                                                   "end_date": "2025-06-30"})
    return planner, planner.whole_plan()


def test_no_fraud_is_reported_at_its_own_instant(year_plan):
    """Attempts after the card's block (rings coming back) were reported at their own
    time: a same-instant report counts in the payment's own point-in-time features."""
    _, plan = year_plan
    fraud = plan["code"] > 0
    after = fraud & (plan["t"] >= plan["block"])
    assert after.sum() > 0  # rings do come back after blocks
    delay = plan["reported"][fraud] - plan["t"][fraud]
    assert delay.min() > 0
    # before the block: reported with it; after: within the hour
    assert np.all(plan["reported"][fraud & ~after] == plan["block"][fraud & ~after])
    assert np.all(plan["reported"][after] - plan["t"][after] <= 3_600_000_000)
