"""How hard is the fraud label? Reproduces issue 16's table on a generated run.

Generates (or reuses) a run, splits it by time (first 70% train, last 30% test), and
trains scikit-learn's HistGradientBoostingClassifier twice: on the raw payment columns,
and on the raw columns plus point-in-time history features computed with DuckDB window
functions (`sql/difficulty_features.sql`, as examples/dbt's payment_features, shared with
`sqlgen report`). Prints ROC-AUC and PR-AUC of both, per-scenario ROC-AUC (each
scenario's frauds against the genuine test rows), the best single raw column, the
seen-once device/IP tells, approved payments after a block, and calibration figures.

    python benchmarks/difficulty.py                      # 1M rows, default config
    python benchmarks/difficulty.py --rows 200000 --realism v2
    python benchmarks/difficulty.py --reuse out          # an existing run's out_dir

Outcome and identifier columns (auth_result, decline_reason, ids, pan_hash, device_id,
ip_address) are not features: the issuer's decision is an outcome of fraud screening.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score

from sqlgen.config import load_config, with_overrides
from sqlgen.inspect import report_difficulty
from sqlgen.inspect.report_difficulty import CATEGORIES, HISTORY, RAW
from sqlgen.render import render
from sqlgen.runner import run
from sqlgen.schema import static_vocabularies
from sqlgen.world.money import currency_tables

CATEGORIES = list(CATEGORIES)
RAW = list(RAW)
HISTORY = list(HISTORY)
TARGETS = {
    "raw ROC-AUC in [0.65, 0.85]": lambda r: 0.65 <= r["raw"]["roc_auc"] <= 0.85,
    "history adds >= 0.05 ROC-AUC": lambda r: r["history"]["roc_auc"] - r["raw"]["roc_auc"] >= 0.05,
    "history adds >= 0.15 PR-AUC": lambda r: r["history"]["pr_auc"] - r["raw"]["pr_auc"] >= 0.15,
    "no scenario > 0.95 on raw": lambda r: max(r["raw"]["per_scenario"].values()) <= 0.95,
    "planned scenarios 0.85-0.97 with history": lambda r: all(
        0.85 <= v <= 0.97 for k, v in r["history"]["per_scenario"].items()
        if k not in ("logistic", "false_report")),
    "no single feature separates a scenario > 0.95": lambda r: max(
        a for _, a in r["best_single"].values()) <= 0.95,
    "no single raw column > 0.75": lambda r: r["best_column"][1] <= 0.75,
    "seen-once device/IP <= 3x overall": lambda r: max(r["tells"]["device_x"],
                                                      r["tells"]["ip_x"]) <= 3.0,
    "no approved payment after block": lambda r: r["tells"]["approved_after_block"] == 0,
}


def _sql(name: str, **kw) -> str:
    return render(name, **kw)


def features(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    return report_difficulty.features(con)


def _matrix(f: dict, names: list[str]) -> np.ndarray:
    return np.column_stack([np.asarray(f[n], dtype=np.float64) for n in names])


def fit(f: dict, names: list[str], train: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    x = _matrix(f, names)
    cats = [n in CATEGORIES and np.nanmax(x[:, i]) < 255 for i, n in enumerate(names)]
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1,
                                           categorical_features=np.asarray(cats),
                                           early_stopping=False, random_state=seed)
    model.fit(x[train], f["y"][train])
    return model.predict_proba(x[test])[:, 1]


def scores(y: np.ndarray, p: np.ndarray, scenario: np.ndarray) -> dict:
    genuine = y == 0
    cut = np.quantile(p[genuine], 0.99)  # the score that flags 1% of genuine payments
    per, detail = {}, {}
    for s in sorted(set(scenario[y == 1])):
        rows = genuine | (scenario == s)
        if (scenario == s).sum() >= 20:
            per[s] = round(float(roc_auc_score(y[rows], p[rows])), 3)
            detail[s] = {"roc_auc": per[s],
                         "pr_auc": round(float(average_precision_score(y[rows], p[rows])), 3),
                         "recall_at_1pct_fpr": round(float((p[scenario == s] > cut).mean()), 3),
                         "test_frauds": int((scenario == s).sum())}
    return {"roc_auc": round(float(roc_auc_score(y, p)), 3),
            "pr_auc": round(float(average_precision_score(y, p)), 3), "per_scenario": per,
            "detail": detail}


def column_aucs(f: dict, train: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """Each raw column alone, out of sample: categories (and hours) target-encoded on the
    train rows, numbers as themselves; max(AUC, 1 - AUC)."""
    y = f["y"]
    out = {}
    for n in RAW:
        v = np.asarray(f[n], dtype=np.float64)
        if n in CATEGORIES or n in ("local_hour", "local_weekday", "time_offset"):
            codes = np.nan_to_num(v, nan=-1e6).astype(np.int64)
            codes = np.unique(codes, return_inverse=True)[1]
            hits = np.bincount(codes[train], weights=y[train], minlength=codes.max() + 1)
            seen = np.bincount(codes[train], minlength=codes.max() + 1)
            rate = np.where(seen > 0, hits / np.maximum(seen, 1), y[train].mean())
            score = rate[codes[test]]
        else:
            score = np.nan_to_num(v[test], nan=-1e9)
        auc = float(roc_auc_score(y[test], score))
        out[n] = round(max(auc, 1 - auc), 3)
    return out


def tells(con: duckdb.DuckDBPyConnection) -> dict:
    row = con.execute(_sql("difficulty_tells.sql")).fetchall()[0]
    names = [d[0] for d in con.description]
    t = dict(zip(names, row, strict=True))
    overall = t["overall_rate"]
    t["device_x"] = round((t["seen_once_device_rate"] or 0) / overall, 2)
    t["ip_x"] = round((t["seen_once_ip_rate"] or 0) / overall, 2)
    return t


def calibration(con: duckdb.DuckDBPyConnection) -> dict:
    per_eur, _ = currency_tables()
    con.register("fx", pa.table({"currency": list(static_vocabularies()["currency"]),
                                 "per_eur": per_eur}))
    sql = (Path(__file__).parent / "sql" / "difficulty_calibration.sql").read_text()
    row = con.execute(sql).fetchall()[0]
    out = {d[0]: (round(v, 3) if v is not None else None)
           for d, v in zip(con.description, row, strict=True)}
    hours = con.execute("""
        SELECT ((epoch_us(event_time) // 60000000 + time_offset) // 60) % 24 AS h,
               avg(CAST(label_fraud AS DOUBLE)) AS rate
        FROM payments GROUP BY ALL ORDER BY rate DESC LIMIT 3""").fetchall()
    out["peak_fraud_hours_local"] = [int(h) for h, _ in hours]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--realism", default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--num-workers", type=int, default=2)
    ap.add_argument("--reuse", type=Path, default=None, help="an existing run's out_dir")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    tmp = None
    if args.reuse is None:
        tmp = tempfile.TemporaryDirectory(prefix="sqlgen-difficulty-")
        cfg = with_overrides(load_config(args.config), rows=args.rows, realism=args.realism,
                             seed=args.seed, num_workers=args.num_workers,
                             out_dir=Path(tmp.name) / "out")
        t0 = time.perf_counter()
        run(cfg, show_progress=False)
        print(f"generated {cfg.rows:,} rows ({cfg.realism}) in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
        out_dir = cfg.out_dir
    else:
        out_dir = args.reuse
    con = duckdb.connect(str(out_dir / "sqlgen.duckdb"), read_only=True)
    con.execute("SET threads = 2")
    f = features(con)
    order = np.argsort(f["t_us"], kind="stable")
    f = {k: v[order] for k, v in f.items()}
    cut = int(0.7 * len(order))
    train, test = np.arange(cut), np.arange(cut, len(order))
    y_test, scen = f["y"][test], f["scenario"][test].astype(object)
    results = {
        "rows": len(order),
        "raw": scores(y_test, fit(f, RAW, train, test, 0), scen),
        "history": scores(y_test, fit(f, RAW + HISTORY, train, test, 0), scen),
    }
    # Per scenario, the best single raw or history feature (as `sqlgen report` scores it).
    best_single = {}
    for s, _, raw, hist in report_difficulty.per_scenario(f):
        best_single[s] = max(raw, hist, key=lambda x: x[1])
    results["best_single"] = {k: (n, round(a, 3)) for k, (n, a) in best_single.items()}
    cols = column_aucs(f, train, test)
    best = max(cols, key=cols.get)
    results["best_column"] = (best, cols[best])
    results["tells"] = tells(con)
    results["calibration"] = calibration(con)
    results["targets"] = {name: bool(check(results)) for name, check in TARGETS.items()}
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        _print(results, cols)
    if tmp is not None:
        tmp.cleanup()


def _print(r: dict, cols: dict) -> None:
    print(f"rows: {r['rows']:,} (train first 70% of time, test the rest)")
    print("| model | ROC-AUC | PR-AUC |\n|---|---|---|")
    for k in ("raw", "history"):
        print(f"| {'raw columns' if k == 'raw' else 'raw + history'} | "
              f"{r[k]['roc_auc']:.3f} | {r[k]['pr_auc']:.3f} |")
    print("\nper-scenario ROC-AUC (scenario frauds vs genuine):")
    print("| scenario | raw | raw + history |\n|---|---|---|")
    for s in r["raw"]["per_scenario"]:
        print(f"| {s} | {r['raw']['per_scenario'][s]:.3f} | "
              f"{r['history']['per_scenario'].get(s, float('nan')):.3f} |")
    print("\nper scenario, raw + history model (its frauds vs genuine test rows):")
    print("| scenario | test frauds | raw ROC | history ROC / PR | recall at 1% FPR "
          "| best single feature |\n|---|---|---|---|---|---|")
    for s, d in r["history"]["detail"].items():
        name, a = r["best_single"].get(s, ("-", float("nan")))
        print(f"| {s} | {d['test_frauds']:,} | {r['raw']['per_scenario'].get(s, float('nan')):.3f} "
              f"| {d['roc_auc']:.3f} / {d['pr_auc']:.3f} | {100 * d['recall_at_1pct_fpr']:.0f}% "
              f"| {name} {a:.3f} |")
    top = sorted(cols.items(), key=lambda kv: -kv[1])[:5]
    print("\nbest single raw columns (out of sample):", ", ".join(f"{k} {v:.3f}" for k, v in top))
    t = r["tells"]
    print(f"seen-once device: fraud rate {t['device_x']}x overall "
          f"({t['seen_once_device_rows']:,} rows); "
          f"seen-once IP: {t['ip_x']}x ({t['seen_once_ip_rows']:,} rows)")
    print(f"approved after block: {t['approved_after_block']} ({t['blocked_cards']} blocked cards)")
    print("calibration:", json.dumps(r["calibration"]))
    print("\ntargets:")
    for name, ok in r["targets"].items():
        print(f"  [{'x' if ok else ' '}] {name}")


if __name__ == "__main__":
    main()
