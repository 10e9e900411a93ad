"""`sqlgen report`: what is in a run, computed with DuckDB over its output.

Rows and frauds per scenario; fraud rate by local hour, MCC, channel and amount decile;
and each column's single-feature ROC AUC out of sample (fit on the first 70% of time,
scored on the rest), a leak check: no raw column alone should separate fraud well; the
world section; the difficulty profile (per scenario, raw columns against history; tells).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from sqlgen.inspect.report_db import missing_extras, report_database
from sqlgen.inspect.report_difficulty import difficulty_section
from sqlgen.inspect.report_world import world_section
from sqlgen.inspect.tables import fetch_one, table_text
from sqlgen.render import render
from sqlgen.schema import table_schema

# Labels and outcomes: never features (the issuer's decision follows from screening).
LABEL_COLUMNS = (
    "label_fraud", "fraud_scenario", "fraud_reported_at", "auth_result", "decline_reason",
)
DIMENSIONS = ("local_hour", "mcc_code", "channel", "amount_decile")
_NUMERIC = ("SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "BOOLEAN")


@dataclass
class Report:
    scenarios: duckdb.DuckDBPyRelation | None
    tables: dict[str, str]
    auc: list[tuple[str, str, float | None]]  # column, how scored, max(AUC, 1-AUC)


def _kind(con: duckdb.DuckDBPyConnection, column: str, sql_type: str) -> str:
    if sql_type.startswith(_NUMERIC):
        return "numeric"
    if sql_type.startswith("TIMESTAMP"):
        return "time"
    distinct, rows = fetch_one(con, render("report_cardinality.sql", column=column))
    # A column unique per row (transaction_id) cannot recur, so it has nothing to score.
    return "identifier" if distinct > rows // 2 else "category"


def _columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The columns of the run's payments (v3 adds amount_base)."""
    return {d[0] for d in con.sql(render("select_all.sql", table="payments")).description}


def single_feature_auc(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, float | None]]:
    out = []
    # The run's columns (v3 adds amount_base), in schema order.
    present = _columns(con)
    for col in table_schema("payments", "v3").columns:
        if col.name in LABEL_COLUMNS or col.name not in present:
            continue
        kind = _kind(con, col.name, col.type)
        if kind == "identifier":
            out.append((col.name, kind, None))
            continue
        (auc,) = fetch_one(con, render("report_auc.sql", column=col.name, kind=kind))
        out.append((col.name, kind, None if auc is None else max(auc, 1 - auc)))
    return out


def build_report(out_dir: Path) -> tuple[str, list[tuple[str, str, float | None]]]:
    """The printable report and the AUC table."""
    with report_database(out_dir) as con:
        parts = missing_extras()
        parts += ["== rows and frauds per scenario"]
        base = "amount_base" in _columns(con)
        parts += [table_text(con, render("report_scenarios.sql", base=base))]
        for dim in DIMENSIONS:
            parts += [
                f"== fraud rate by {dim}",
                table_text(con, render("report_rate_by.sql", dimension=dim)),
            ]
        auc = single_feature_auc(con)
        parts += world_section(con)
        parts += difficulty_section(con)
    width = max(len(c) for c, _, _ in auc)
    lines = [
        "== single-feature ROC AUC on the last 30% of time (max of AUC and 1-AUC; 0.5 = no signal)"
    ]
    for column, kind, value in sorted(auc, key=lambda r: -(r[2] or 0)):
        shown = "not scored" if value is None else f"{value:.3f}"
        lines.append(f"  {column:<{width}}  {shown:>10}  ({kind})")
    parts.append("\n".join(lines))
    return "\n".join(parts), auc
