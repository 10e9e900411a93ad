"""Realism v2: coherent cardholders, fraud scenarios, label timing, noise, difficulty."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from sqlgen.config import with_overrides
from sqlgen.inspect.report import build_report
from sqlgen.runner import run


@pytest.fixture(scope="module")
def v2_run(tmp_path_factory):
    from sqlgen.config import load_config
    from tests.conftest import TINY

    out = tmp_path_factory.mktemp("v2") / "out"
    cfg = with_overrides(
        load_config(TINY),
        rows=60_000,
        batch_size=20_000,
        realism="v2",
        out_dir=out,
        catalog={"num_customers": 800, "num_merchants": 150, "num_cards": 1100},
    )
    run(cfg, show_progress=False)
    return cfg, duckdb.connect(str(out / "sqlgen.duckdb"), read_only=True)


def one(con, sql):
    return con.execute(sql).fetchone()


def test_exact_count_with_every_scenario(v2_run):
    cfg, con = v2_run
    rows = dict(
        con.execute(
            "SELECT fraud_scenario, count(*) FROM payments WHERE label_fraud GROUP BY ALL"
        ).fetchall()
    )
    assert sum(rows.values()) == cfg.fraud_target
    for name in ("logistic", "burst", "card_testing", "compromised_merchant", "account_takeover"):
        assert rows.get(name, 0) > 0, name


def test_card_testing_is_tiny_fast_same_card_and_merchant(v2_run):
    _, con = v2_run
    small, online, clustered, n = one(
        con,
        """
        SELECT avg((amount <= 5)::INT), avg((channel = 'ecom')::INT),
               avg((EXISTS (SELECT 1 FROM payments q WHERE q.fraud_scenario = 'card_testing'
                    AND q.card_id = p.card_id AND q.merchant_id = p.merchant_id
                    AND q.transaction_id <> p.transaction_id
                    AND abs(date_diff('second', q.event_time, p.event_time)) <= 1800))::INT),
               count(*)
        FROM payments p WHERE fraud_scenario = 'card_testing'""",
    )
    assert n > 20
    assert small == 1.0 and online == 1.0
    assert clustered > 0.9


def test_account_takeover_uses_new_device_and_bigger_amounts(v2_run):
    _, con = v2_run
    new_device, bigger = one(
        con,
        """
        WITH own AS (SELECT DISTINCT customer_id, device_id FROM payments
                     WHERE NOT label_fraud AND device_id IS NOT NULL),
             usual AS (SELECT card_id, median(amount) AS m FROM payments
                       WHERE NOT label_fraud GROUP BY ALL)
        SELECT avg((o.device_id IS NULL)::INT), avg((p.amount > u.m)::INT)
        FROM payments p
        LEFT JOIN own o ON o.customer_id = p.customer_id AND o.device_id = p.device_id
        LEFT JOIN usual u USING (card_id)
        WHERE p.fraud_scenario = 'account_takeover'""",
    )
    assert new_device == 1.0
    assert bigger > 0.8


def test_compromised_cards_were_seen_at_one_merchant_days_before(v2_run):
    _, con = v2_run
    seen_before = one(
        con,
        """
        SELECT avg((EXISTS (SELECT 1 FROM payments q WHERE NOT q.label_fraud
                    AND q.card_id = p.card_id AND q.event_time < p.event_time
                    AND q.event_time >= p.event_time - INTERVAL 11 DAY))::INT)
        FROM payments p WHERE fraud_scenario = 'compromised_merchant'""",
    )[0]
    assert seen_before == 1.0


def test_bursts_cluster_at_one_merchant(v2_run):
    cfg, con = v2_run
    window = 2 * cfg.label.burst_window_minutes
    clustered = one(
        con,
        f"""
        SELECT avg((EXISTS (SELECT 1 FROM payments q WHERE q.fraud_scenario = 'burst'
                    AND q.merchant_id = p.merchant_id AND q.transaction_id <> p.transaction_id
                    AND abs(date_diff('minute', q.event_time, p.event_time)) <= {window}))::INT)
        FROM payments p WHERE fraud_scenario = 'burst'""",
    )[0]
    assert clustered > 0.9


def test_cardholders_are_coherent(v2_run):
    cfg, con = v2_run
    at_home, max_devices, offset_ok = one(
        con,
        """
        SELECT avg((p.country_code = cu.home_country)::INT),
               (SELECT max(n) FROM (SELECT count(DISTINCT device_id) n FROM payments
                                    WHERE NOT label_fraud GROUP BY customer_id)),
               avg((p.time_offset = m.utc_offset AND p.currency = m.currency)::INT)
        FROM payments p JOIN customers cu USING (customer_id)
        JOIN merchants m USING (merchant_id) WHERE NOT p.label_fraud""",
    )
    assert at_home > cfg.behaviour.home_share - 0.05
    assert max_devices <= cfg.behaviour.max_devices
    assert offset_ok == 1.0


def test_daily_cycle_in_local_time(v2_run):
    _, con = v2_run
    night, day = one(
        con,
        """
        SELECT count(*) FILTER (hour(event_time + to_minutes(time_offset)) BETWEEN 1 AND 4),
               count(*) FILTER (hour(event_time + to_minutes(time_offset)) BETWEEN 12 AND 15)
        FROM payments WHERE NOT label_fraud""",
    )
    assert day > 5 * night
    saturday, sunday = one(
        con,
        """
        SELECT count(*) FILTER (isodow(event_time + to_minutes(time_offset)) = 6),
               count(*) FILTER (isodow(event_time + to_minutes(time_offset)) = 7)
        FROM payments WHERE NOT label_fraud""",
    )
    assert saturday > 1.3 * sunday  # weekday_weights: Saturday 1.2, Sunday 0.75


def test_report_delay(v2_run):
    cfg, con = v2_run
    bad_null, bad_order, median_days = one(
        con,
        """
        SELECT count(*) FILTER (label_fraud <> (fraud_reported_at IS NOT NULL)),
               count(*) FILTER (fraud_reported_at <= event_time),
               median(date_diff('second', event_time, fraud_reported_at)) / 86400.0
        FROM payments""",
    )
    assert bad_null == 0 and bad_order == 0
    assert median_days == pytest.approx(cfg.label.report_delay_median_days, rel=0.3)


def test_no_single_column_separates_fraud(v2_run):
    cfg, _ = v2_run
    text, auc = build_report(cfg.out_dir)
    assert "card_testing" in text and "fraud rate by local_hour" in text
    scored = {c: v for c, _, v in auc if v is not None}
    assert len(scored) >= 15
    assert max(scored.values()) < 0.80, scored


def test_label_noise_keeps_the_count(tiny):
    cfg = with_overrides(tiny, rows=20_000, realism="v2", label={"noise_rate": 0.2})
    result = run(cfg, show_progress=False)
    con = duckdb.connect()
    src = f"read_parquet('{cfg.out_dir}/payments/**/*.parquet')"
    frauds, false_reports = con.execute(
        f"SELECT count(*) FILTER (label_fraud), "
        f"count(*) FILTER (fraud_scenario = 'false_report') FROM {src}"
    ).fetchone()
    assert frauds == cfg.fraud_target == result.manifest["fraud_rows"]
    assert false_reports == pytest.approx(0.2 * frauds, rel=0.15)  # rounded per chunk


def test_disabled_scenarios_do_not_appear(tiny):
    cfg = with_overrides(
        tiny,
        realism="v2",
        scenarios={
            "logistic": 1,
            "burst": 0,
            "card_testing": 1,
            "compromised_merchant": 0,
            "account_takeover": 0,
        },
    )
    run(cfg, show_progress=False)
    con = duckdb.connect()
    names = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT fraud_scenario FROM "
            f"read_parquet('{cfg.out_dir}/payments/**/*.parquet') WHERE label_fraud"
        ).fetchall()
    }
    assert names <= {"logistic", "card_testing", "fill"}
    assert "card_testing" in names


def _time_split_auc(out_dir) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    con = duckdb.connect(str(out_dir / "sqlgen.duckdb"), read_only=True)
    cats = ["mcc_code", "channel", "device_type", "pos_entry_mode", "card_scheme", "country_code"]
    ranks = ", ".join(f"dense_rank() OVER (ORDER BY {c}) - 1 AS {c}" for c in cats)
    d = con.execute(f"""
        SELECT amount::DOUBLE AS amount, time_offset,
               hour(event_time + to_minutes(time_offset)) AS local_hour,
               dayofweek(event_time) AS dow, {ranks}, is_recurring::INT AS rec,
               latitude, longitude, (device_id IS NULL)::INT AS no_device,
               label_fraud::INT AS y, epoch(event_time) AS t
        FROM payments""").fetchnumpy()
    order = np.argsort(d["t"])
    names = [k for k in d if k not in ("y", "t")]
    x = np.column_stack([np.asarray(d[k], dtype=float)[order] for k in names])
    y = np.asarray(d["y"])[order]
    cut = int(0.7 * len(y))
    model = HistGradientBoostingClassifier(
        max_iter=200, random_state=0, categorical_features=[names.index(c) for c in cats]
    )
    model.fit(x[:cut], y[:cut])
    return roc_auc_score(y[cut:], model.predict_proba(x[cut:])[:, 1])


@pytest.mark.slow
def test_time_split_model_lands_in_band_and_difficulty_moves_it(tmp_path):
    pytest.importorskip("sklearn")
    from sqlgen.config import load_config

    base = with_overrides(
        load_config(),
        rows=300_000,
        fraud_rate=0.02,
        seed=11,
        batch_size=100_000,
        realism="v2",
        catalog={"num_customers": 5000, "num_merchants": 800, "num_cards": 7000},
        temporal={"start_date": "2025-01-01", "end_date": "2025-02-28"},
    )
    scores = {}
    for difficulty in (0.5, 1.0):
        cfg = with_overrides(
            base, out_dir=tmp_path / str(difficulty), label={"difficulty": difficulty}
        )
        run(cfg, show_progress=False)
        scores[difficulty] = _time_split_auc(cfg.out_dir)
    assert 0.80 <= scores[0.5] <= 0.95, scores
    assert scores[1.0] < scores[0.5] - 0.03, scores
