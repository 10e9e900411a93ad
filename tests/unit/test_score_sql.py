"""`sql/chunk_score.sql` on fixed draws: each feature moves the fraud probability its way.

The real query runs in DuckDB over a tiny hand-made catalog (card and merchant risks,
UTC offsets and price levels chosen here) and an Arrow view `draws`. The query returns a
label `u_label < p`, not p itself, so every case is repeated over a grid of K uniforms
(k + 0.5) / K: the share of labelled copies is p to within 1/K.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from sqlgen.config import with_overrides
from sqlgen.generate.chunks import score_params
from sqlgen.generate.plan import to_us
from sqlgen.render import render
from sqlgen.schema import table_schema

K = 4000
HOUR_US = 3_600_000_000
DAY0 = to_us(dt.datetime(2025, 1, 15))  # midnight UTC

# Card ids and merchant ids overlap on purpose (every merchant id is also a card id, of
# another risk): a query joining cards on `merchant_id` reads some other card's risk.
CARD_RISK = {0: 0.02, 1: 0.05, 2: 0.40, 3: 0.10, 5: 0.60, 6: 0.30, 7: 0.95}
MERCHANTS = {  # merchant_id: (risk, utc_offset minutes, amount_scale)
    2: (0.30, 120, 1.0),
    3: (0.30, -300, 2.5),
    5: (0.02, 0, 1.0),
    6: (0.90, 0, 1.0),
}


def _case(card=1, merchant=2, hour=12.0, amount=20.0) -> dict:
    """One payment; `hour` is the merchant's local time of day on 2025-01-15."""
    offset = MERCHANTS[merchant][1]
    event = DAY0 + int((hour - offset / 60) * HOUR_US)
    return {"card_id": card, "merchant_id": merchant, "event_us": event, "amount_raw": amount}


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": 1})
    con.register(
        "cards_src",
        pa.table({"card_id": list(CARD_RISK), "risk": list(CARD_RISK.values())}),
    )
    con.execute("CREATE TABLE cards AS SELECT * FROM cards_src")
    rows = list(MERCHANTS.items())
    con.register(
        "merchants_src",
        pa.table(
            {
                "merchant_id": [m for m, _ in rows],
                "risk": [r for _, (r, _, _) in rows],
                "utc_offset": pa.array([o for _, (_, o, _) in rows], pa.int16()),
                "amount_scale": [s for _, (_, _, s) in rows],
            }
        ),
    )
    con.execute("CREATE TABLE merchants AS SELECT * FROM merchants_src")
    return con


def probabilities(realism: str, cases: list[dict], params: dict) -> np.ndarray:
    """The query's fraud probability of each case, measured on the uniform grid."""
    n = len(cases) * K
    draws = pa.table(
        {
            "row_idx": np.arange(n, dtype=np.int32),
            "event_us": np.repeat([c["event_us"] for c in cases], K).astype(np.int64),
            "card_id": np.repeat([c["card_id"] for c in cases], K).astype(np.int64),
            "merchant_id": np.repeat([c["merchant_id"] for c in cases], K).astype(np.int64),
            "amount_raw": np.repeat([c["amount_raw"] for c in cases], K).astype(np.float64),
            "u_label": np.tile((np.arange(K) + 0.5) / K, len(cases)),
        }
    )
    sql = render(
        "chunk_score.sql",
        columns=table_schema("payments").columns,
        type_attr="working_type",
        realism=realism,
    )
    con = _connection()
    con.register("draws", draws)
    out = con.execute(sql, params).fetchnumpy()
    con.close()
    assert len(out["row_idx"]) == n
    labels = np.zeros(n, dtype=bool)
    labels[np.asarray(out["row_idx"])] = np.asarray(out["logistic_label"])
    return labels.reshape(len(cases), K).mean(axis=1)


def expected(realism: str, case: dict, p: dict) -> float:
    """The documented formula, in Python: expit(logit(rate) + sum w * (feature - centre))."""
    risk, offset, scale = MERCHANTS[case["merchant_id"]]
    amount = (
        round(max(case["amount_raw"] * scale, 0.01), 2)
        if realism == "v2"
        else round(case["amount_raw"], 2)
    )
    local_hour = ((case["event_us"] + offset * 60_000_000) // HOUR_US) % 24
    logit = (
        p["intercept"]
        + p["w_amount"] * (math.log(amount + 1) - p["c_amount"])
        + p["w_mrisk"] * (risk - p["c_mrisk"])
        + p["w_crisk"] * (CARD_RISK[case["card_id"]] - p["c_crisk"])
        + p["w_night"] * (float(local_hour < 6) - p["c_night"])
    )
    return 1 / (1 + math.exp(-logit))


@pytest.fixture(params=["v1", "v2"])
def realism(request):
    return request.param


@pytest.fixture
def params(tiny, realism):
    return score_params(with_overrides(tiny, realism=realism))


# (feature, low-risk payment, high-risk payment): the two differ in that feature only.
DIRECTIONS = [
    ("night (merchant east of UTC)", _case(merchant=2, hour=7.5), _case(merchant=2, hour=4.5)),
    ("night (merchant west of UTC)", _case(merchant=3, hour=6.0), _case(merchant=3, hour=5.9)),
    ("card risk", _case(card=0, merchant=5), _case(card=7, merchant=5)),
    ("merchant risk", _case(merchant=5), _case(merchant=6)),
    ("amount", _case(amount=5.0), _case(amount=500.0)),
]


@pytest.mark.parametrize(("feature", "low", "high"), DIRECTIONS, ids=[d[0] for d in DIRECTIONS])
def test_each_feature_raises_the_probability(realism, params, feature, low, high):
    p_low, p_high = probabilities(realism, [low, high], params)
    assert p_high > p_low + 0.01, f"{feature}: p {p_low:.4f} -> {p_high:.4f}"


def test_probability_matches_the_formula_case_by_case(realism, params):
    cases = [
        _case(card=c, merchant=m, hour=h, amount=a)
        for c in CARD_RISK
        for m in MERCHANTS
        for h, a in ((3.0, 12.0), (5.99, 80.0), (6.01, 0.5), (14.0, 900.0))
    ]
    got = probabilities(realism, cases, params)
    want = np.asarray([expected(realism, c, params) for c in cases])
    assert np.all(np.abs(got - want) <= 1.5 / K), np.max(np.abs(got - want))


def test_v2_centres_keep_the_typical_payment_at_the_base_rate(tiny):
    """v2 subtracts each feature's centre: a payment exactly at the centres scores
    fraud_rate, whatever the weights."""
    params = score_params(with_overrides(tiny, realism="v2"))
    assert params["c_mrisk"] > 0 and params["c_crisk"] > 0 and params["c_amount"] > 0
    # Risks and night switched off through their weights; the amount at its centre.
    centred = dict(params, w_night=0.0, w_mrisk=0.0, w_crisk=0.0)
    case = _case(card=1, merchant=5, amount=math.exp(params["c_amount"]) - 1)
    (p,) = probabilities("v2", [case], centred)
    rate = 1 / (1 + math.exp(-params["intercept"]))
    assert p == pytest.approx(rate, abs=2 / K + 0.002)
