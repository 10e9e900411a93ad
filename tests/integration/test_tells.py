"""Issue 24: statistics over a small default-config run that a skeptical fraud modeller
would compute, each of which exposed an artificial tell."""

from __future__ import annotations

import duckdb
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.runner import run


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    out = tmp_path_factory.mktemp("tells") / "out"
    cfg = with_overrides(load_config(None), rows=200_000, num_workers=1, out_dir=out)
    run(cfg, show_progress=False)
    c = duckdb.connect(str(out / "sqlgen.duckdb"), read_only=True)
    yield c
    c.close()


def one(con, sql, params=None):
    return con.execute(sql, params or []).fetchone()


def test_fraud_rate_at_both_window_ends_like_the_middle(con):
    """Attempts past the end were clamped into its last 6 hours (8x the rate), and
    breach cash-outs had no fraud in the first week."""
    last6, first6, middle, cm_first_week, cm_week = one(con, """
        WITH b AS (SELECT min(event_time) AS t0, max(event_time) AS t1 FROM payments)
        SELECT avg(label_fraud::DOUBLE) FILTER (event_time >= t1 - INTERVAL 6 HOUR),
               avg(label_fraud::DOUBLE) FILTER (event_time < t0 + INTERVAL 6 HOUR),
               avg(label_fraud::DOUBLE) FILTER (event_time >= t0 + INTERVAL 20 DAY
                                                AND event_time < t1 - INTERVAL 20 DAY),
               count(*) FILTER (fraud_scenario = 'compromised_merchant'
                                AND event_time < t0 + INTERVAL 7 DAY),
               count(*) FILTER (fraud_scenario = 'compromised_merchant'
                                AND event_time >= t0 + INTERVAL 20 DAY
                                AND event_time < t1 - INTERVAL 20 DAY)
                   * 7 / (any_value(date_diff('day', t0, t1)) - 40)
        FROM payments, b""")
    assert last6 < 3 * middle
    assert first6 < 3 * middle
    assert cm_first_week > 0.35 * cm_week
