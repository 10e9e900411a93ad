"""`sql/chunk_score.sql` at realism v3, on hand-made draws: each behaviour term reads its
own column with its own weight and centre, and night is the local hour of the payment's
place (`time_offset`, minutes east of UTC). Expected values: the formula in Python."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pyarrow as pa

from sqlgen.generate.plan import to_us
from sqlgen.render import render
from sqlgen.schema import table_schema

K = 2000
HOUR_US = 3_600_000_000
DAY0 = to_us(dt.datetime(2025, 1, 15))
CARD_RISK = {1: 0.1, 2: 0.5}
MERCHANT_RISK = {1: 0.2, 2: 0.7}
# Distinct weights and centres: a term reading another term's column (or weight)
# changes the probability.
PARAMS = {
    "intercept": -1.0, "w_amount": 0.3, "w_mrisk": 0.8, "w_crisk": 1.1, "w_night": 0.9,
    "w_cnp": 0.7, "w_abroad": 1.6, "w_velocity": 0.45, "w_far": 2.2,
    "c_amount": 3.0, "c_mrisk": 0.3, "c_crisk": 0.2, "c_night": 0.25,
    "c_cnp": 0.6, "c_abroad": 0.1, "c_velocity": 0.3, "c_far": 0.2,
}
FEATURES = ("cnp", "abroad", "velocity", "far")


def _case(utc_hour=12.0, offset=0, amount=40.0, card=1, merchant=1, **features) -> dict:
    row = {"event_us": DAY0 + int(utc_hour * HOUR_US), "time_offset": offset,
           "amount_base": amount, "card_id": card, "merchant_id": merchant}
    return row | {f: float(features.get(f, 0.0)) for f in FEATURES}


def probabilities(cases: list[dict], params: dict = PARAMS) -> np.ndarray:
    n = len(cases) * K
    cols = {k: np.repeat([c[k] for c in cases], K) for k in cases[0]}
    draws = pa.table({
        "row_idx": np.arange(n, dtype=np.int32),
        "event_us": cols["event_us"].astype(np.int64),
        "time_offset": cols["time_offset"].astype(np.int16),
        "card_id": cols["card_id"].astype(np.int64),
        "merchant_id": cols["merchant_id"].astype(np.int64),
        "amount_base": cols["amount_base"].astype(np.float64),
        **{f: cols[f].astype(np.float64) for f in FEATURES},
        "u_label": np.tile((np.arange(K) + 0.5) / K, len(cases)),
    })
    con = duckdb.connect(config={"threads": 1})
    con.register("c_src", pa.table({"card_id": list(CARD_RISK), "risk": list(CARD_RISK.values())}))
    con.execute("CREATE TABLE cards AS SELECT * FROM c_src")
    # utc_offset far from every case's time_offset: v3 must not read the merchant's.
    con.register("m_src", pa.table({
        "merchant_id": list(MERCHANT_RISK), "risk": list(MERCHANT_RISK.values()),
        "utc_offset": pa.array([-600] * len(MERCHANT_RISK), pa.int16()),
        "amount_scale": [7.0] * len(MERCHANT_RISK)}))
    con.execute("CREATE TABLE merchants AS SELECT * FROM m_src")
    con.register("draws", draws)
    sql = render("chunk_score.sql", columns=table_schema("payments").columns,
                 type_attr="working_type", realism="v3")
    out = con.execute(sql, params).fetchnumpy()
    labels = np.zeros(n, dtype=bool)
    labels[np.asarray(out["row_idx"])] = np.asarray(out["logistic_label"])
    return labels.reshape(len(cases), K).mean(axis=1)


def expected(c: dict, p: dict = PARAMS) -> float:
    local_hour = ((c["event_us"] + c["time_offset"] * 60_000_000) // HOUR_US) % 24
    logit = (p["intercept"] + p["w_amount"] * (math.log(c["amount_base"] + 1) - p["c_amount"])
             + p["w_mrisk"] * (MERCHANT_RISK[c["merchant_id"]] - p["c_mrisk"])
             + p["w_crisk"] * (CARD_RISK[c["card_id"]] - p["c_crisk"])
             + p["w_night"] * (float(local_hour < 6) - p["c_night"])
             + sum(p[f"w_{f}"] * (c[f] - p[f"c_{f}"]) for f in FEATURES))
    return 1 / (1 + math.exp(-logit))


def test_each_behaviour_term_reads_its_own_column():
    cases = [_case(), _case(cnp=1), _case(abroad=1), _case(velocity=2.0), _case(far=0.8),
             _case(cnp=1, abroad=1, velocity=1.0, far=0.5, card=2, merchant=2, amount=900.0)]
    got = probabilities(cases)
    want = np.asarray([expected(c) for c in cases])
    assert np.all(np.abs(got - want) <= 1.5 / K), (got, want)
    # Hand-checked anchor: the plain case, logit = -1 + 0.3 (ln 41 - 3) + 0.8 (-0.1)
    # + 1.1 (-0.1) + 0.9 (-0.25) - 0.7*0.6 - 1.6*0.1 - 0.45*0.3 - 2.2*0.2.
    logit = (-1 + 0.3 * (math.log(41) - 3) - 0.08 - 0.11 - 0.225
             - 0.42 - 0.16 - 0.135 - 0.44)
    assert abs(got[0] - 1 / (1 + math.exp(-logit))) <= 1.5 / K
    # Abroad alone moves p by its own weight, not by the card-not-present one.
    assert got[2] > got[1]


def test_night_is_the_local_hour_of_the_place():
    # 23:30 UTC at +120 min is 01:30 local (night); 03:00 UTC at -300 is 22:00 (day);
    # 09:00 UTC at +600 is 19:00 (day); 08:00 UTC at -180 is 05:00 (night);
    # boundary: 05:59 and 06:00 local.
    cases = [_case(23.5, 120), _case(3.0, -300), _case(9.0, 600), _case(8.0, -180),
             _case(5.99, 0), _case(6.0, 0)]
    got = probabilities(cases)
    night = [True, False, False, True, True, False]
    base = expected(_case(12.0, 0))
    for g, c, is_night in zip(got, cases, night, strict=True):
        assert abs(g - expected(c)) <= 1.5 / K
        assert (g > base + 0.05) == is_night, (c, g, base)
