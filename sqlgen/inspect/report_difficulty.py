"""`sqlgen report`'s difficulty profile: how each fraud scenario shows in the raw columns
and in point-in-time history, and the tells a model could cheat with.

Features come from `sql/difficulty_features.sql` (raw columns, and history as
examples/dbt computes it), on a sample of cards when the run is big (whole card
histories kept), split by time: categories are target-encoded on the first 70%, every
feature is scored on the rest. Per scenario: the best single raw column and the best
single history feature, as ROC AUC (max of AUC and 1 - AUC) of that scenario's frauds
against the genuine payments. No model is trained here (`benchmarks/difficulty.py`
trains gradient boosting).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np

from sqlgen.render import render

CATEGORIES = ("channel", "device_type", "pos_entry_mode", "card_scheme", "mcc_code",
              "country_code", "currency", "user_agent")
RAW = ("amount", "local_hour", "local_weekday", "time_offset", "latitude", "longitude",
       *CATEGORIES, "is_recurring", "device_missing", "ip_missing")
HISTORY = ("card_n_1h", "card_n_24h", "card_n_7d", "card_sum_1h", "card_sum_24h",
           "card_sum_7d", "amount_vs_card_mean", "secs_since_card_prev",
           "first_merchant_for_card", "first_device_for_card", "first_country_for_card",
           "first_ip_for_card", "first_payment_of_card", "merchant_n_1h", "merchant_n_24h",
           "merchant_reports_before", "card_reports_before", "km_from_home",
           "device_age_days", "ip_age_days", "device_n_before", "ip_n_before")
_ENCODED = (*CATEGORIES, "local_hour", "local_weekday", "time_offset")
SAMPLE_ROWS = 100_000  # the profile reads about this many payments (a seeded sample of cards)


def features(con: duckdb.DuckDBPyConnection, modulus: int = 1) -> dict[str, np.ndarray]:
    """Feature columns of the payments (of cards with hash(card_id) % modulus = 0), in
    time order."""
    sql = render("difficulty_features.sql", categories=CATEGORIES, modulus=modulus)
    cols = con.execute(sql).fetchnumpy()
    return {k: np.asarray(v.filled(np.nan) if np.ma.isMaskedArray(v) else v)
            for k, v in cols.items()}


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC with ties sharing their average rank (Mann-Whitney U)."""
    y = np.asarray(y, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return math.nan
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    rank = (np.cumsum(counts) - (counts - 1) / 2)[inverse]
    return float((rank[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def scored(f: dict[str, np.ndarray], name: str, train: np.ndarray) -> np.ndarray:
    """The feature as a score: target-encoded on `train` rows for categories (hours
    included), as itself otherwise (missing values lowest)."""
    v = np.asarray(f[name], dtype=np.float64)
    if name not in _ENCODED:
        return np.nan_to_num(v, nan=-1e18)
    codes = np.unique(np.nan_to_num(v, nan=-1e18), return_inverse=True)[1]
    y = f["y"].astype(np.float64)
    hits = np.bincount(codes[train], weights=y[train], minlength=codes.max() + 1)
    seen = np.bincount(codes[train], minlength=codes.max() + 1)
    return np.where(seen > 0, hits / np.maximum(seen, 1), y[train].mean())[codes]


def per_scenario(f: dict[str, np.ndarray]) -> list[tuple[str, int, tuple, tuple]]:
    """(scenario, test frauds, (best raw column, AUC), (best history feature, AUC))."""
    n = len(f["y"])
    cut = int(0.7 * n)
    train = np.arange(cut)
    test = slice(cut, n)
    scenario = np.asarray(f["scenario"], dtype=object)[test]
    # The truth: v3's unreported frauds keep their scenario (label_fraud false).
    genuine = scenario == "genuine"
    scores = {name: scored(f, name, train)[test] for name in (*RAW, *HISTORY)}
    out = []
    for s in sorted(set(scenario[~genuine])):
        rows = genuine | (scenario == s)
        y = scenario[rows] == s

        def best(names: tuple[str, ...], rows=rows, y=y) -> tuple[str, float]:
            values = {name: auc(y, scores[name][rows]) for name in names}
            values = {k: max(v, 1 - v) for k, v in values.items() if not math.isnan(v)}
            top = max(values, key=values.get)
            return top, values[top]

        out.append((s, int(y.sum()), best(RAW), best(HISTORY)))
    return out


def tells(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Seen-once device and IP, and approved payments after a card's first
    `card_blocked` decline, over the whole run."""
    cur = con.execute(render("difficulty_tells.sql"))
    row = cur.fetchall()[0]
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _ratio(rate: float | None, base: float | None) -> str:
    return "n/a" if rate is None or not base else f"{rate / base:.2f}x"


def difficulty_section(con: duckdb.DuckDBPyConnection) -> list[str]:
    (rows,) = con.execute("SELECT count(*) FROM payments").fetchall()[0]
    modulus = max(1, math.ceil(rows / SAMPLE_ROWS))
    f = features(con, modulus)
    lines = [
        "== difficulty profile: each scenario's frauds against genuine payments, ROC AUC "
        "(max of AUC and 1-AUC) of the best single feature on the last 30% of time"
        + (f"; a fixed sample of cards (by hash of card_id), {len(f['y']):,} payments"
           if modulus > 1 else ""),
        f"  {'scenario':<22} {'test frauds':>11}  {'best raw column':<30} "
        f"{'best history feature':<34}",
    ]
    for s, n, (raw, raw_auc), (hist, hist_auc) in per_scenario(f):
        lines.append(f"  {s:<22} {n:>11,}  {raw:<24}{raw_auc:6.3f} {hist:<28}{hist_auc:6.3f}")
    t = tells(con)
    overall = t["overall_rate"] or 0.0
    first = f["first_device_for_card"] == 1

    def ratio(rate: float | None) -> str:
        return "n/a" if rate is None or not overall else f"{rate / overall:.2f}x"

    first_rate = float(f["y"][first].mean()) if first.any() else None
    lines += [
        "== tells (fraud rate against the overall rate; a label-like tell would be >> 1x)",
        f"  device seen once in the run: {ratio(t['seen_once_device_rate'])} "
        f"({t['seen_once_device_rows']:,} payments)",
        f"  IP seen once in the run: {ratio(t['seen_once_ip_rate'])} "
        f"({t['seen_once_ip_rows']:,} payments)",
        f"  device first seen for the card: {ratio(first_rate)} ({int(first.sum()):,} payments"
        + (" in the sample)" if modulus > 1 else ")"),
        f"  approved payments after a card's first card_blocked decline: "
        f"{t['approved_after_block']:,} ({t['blocked_cards']:,} blocked cards)",
        f"  online payment away from the holder's home point: "
        f"{_ratio(t['off_home_rate'], t['online_rate'])} of the online rate "
        f"({_pct(t['genuine_off_home_share'])} of genuine online payments are)",
        f"  (latitude, longitude) seen once in the run: {ratio(t['seen_once_place_rate'])} "
        f"({t['seen_once_place_rows']:,} payments)",
        f"  online device first seen < 14 days before: fraud {_pct(t['fraud_new_device'])}, "
        f"genuine {_pct(t['genuine_new_device'])}; IP: fraud {_pct(t['fraud_new_ip'])}, "
        f"genuine {_pct(t['genuine_new_ip'])}",
        f"  first 6 hours of the window: {ratio(t['first_hours_rate'])}, "
        f"last 6 hours: {ratio(t['last_hours_rate'])}",
    ]
    return ["\n".join(lines)]
