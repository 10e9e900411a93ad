"""`sqlgen report --html PATH`: one self-contained HTML file with charts of a run.

Charts are Plotly figures; plotly.js is inlined once, so the file opens with no network.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import jinja2

from sqlgen.inspect.inspect import read_manifest
from sqlgen.inspect.report import single_feature_auc
from sqlgen.inspect.report_db import report_database, require_plotly
from sqlgen.publish.writer import OutputDir
from sqlgen.render import render


def _figures(con) -> list[tuple[str, Any]]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    def rows(sql: str) -> dict[str, list]:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        data = cur.fetchall()
        return {n: [r[i] for r in data] for i, n in enumerate(names)}

    figs = []
    for by, title in (
        ("hour", "Payments and fraud rate by local hour of day"),
        ("day", "Payments and fraud rate by day"),
    ):
        d = rows(render("html_by_time.sql", by=by))
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        fig.add_trace(
            go.Bar(x=d["x"], y=d["payments"], name="payments", marker_color="#9ab"),
            secondary_y=False,
        )
        fig.add_trace(
            go.Scatter(
                x=d["x"],
                y=d["fraud_pct"],
                name="fraud %",
                mode="lines+markers",
                line_color="#c0392b",
            ),
            secondary_y=True,
        )
        fig.update_yaxes(title_text="payments", secondary_y=False)
        fig.update_yaxes(title_text="fraud %", secondary_y=True)
        figs.append((title, fig))

    d = rows(render("html_amount_hist.sql"))
    amounts = [10**b for b in d["bin"]]
    fig = go.Figure(
        [
            go.Scatter(x=amounts, y=d["genuine_share"], name="genuine", mode="lines"),
            go.Scatter(x=amounts, y=d["fraud_share"], name="fraud", mode="lines"),
        ]
    )
    fig.update_xaxes(type="log", title_text="amount (log scale)")
    fig.update_yaxes(title_text="share of payments")
    figs.append(("Amount distribution: fraud vs genuine", fig))

    fig = go.Figure()
    for column in ("merchant_id", "card_id"):
        d = rows(render("html_rank_frequency.sql", column=column))
        fig.add_trace(
            go.Scatter(
                x=d["rank"], y=d["n"], name=column.removesuffix("_id") + "s", mode="markers+lines"
            )
        )
    fig.update_xaxes(type="log", title_text="popularity rank")
    fig.update_yaxes(type="log", title_text="payments")
    figs.append(("Rank-frequency of merchants and cards (Zipf)", fig))

    d = rows(render("report_scenarios.sql"))
    fraud = [(s, n) for s, n in zip(d["scenario"], d["rows"], strict=True) if s != "genuine"]
    fig = go.Figure(
        [go.Bar(x=[s for s, _ in fraud], y=[n for _, n in fraud], marker_color="#c0392b")]
    )
    fig.update_yaxes(title_text="fraud rows")
    figs.append(("Fraud by scenario", fig))

    for dim, title in (
        ("mcc_code", "Fraud rate by MCC (top 20)"),
        ("channel", "Fraud rate by channel"),
    ):
        d = rows(render("report_rate_by.sql", dimension=dim))
        fig = go.Figure(
            [
                go.Bar(
                    x=[str(v) for v in d[dim]],
                    y=d["fraud_pct"],
                    text=d["frauds"],
                    marker_color="#8e44ad",
                )
            ]
        )
        fig.update_xaxes(type="category")
        fig.update_yaxes(title_text="fraud %")
        figs.append((title, fig))
    for _, fig in figs:
        fig.update_layout(
            height=420, margin={"l": 60, "r": 30, "t": 30, "b": 50}, template="plotly_white"
        )
    return figs


def write_html_report(out_dir: Path, path: Path) -> Path:
    require_plotly()
    import plotly.offline

    out = OutputDir(out_dir)
    out.recover_for_reading()
    manifest = read_manifest(out)
    with report_database(out_dir) as con:
        figs = _figures(con)
        auc = sorted(single_feature_auc(con), key=lambda r: -(r[2] or 0))
    facts = {
        k: manifest[k]
        for k in (
            "run_id",
            "created_at",
            "sqlgen_version",
            "realism",
            "seed",
            "rows",
            "fraud_rows",
            "fraud_target",
            "config_hash",
        )
    }
    facts["files"] = len(manifest["files"])
    charts = [
        {"title": title, "html": fig.to_html(full_html=False, include_plotlyjs=False)}
        for title, fig in figs
    ]
    plotly_js = f"<script>{plotly.offline.get_plotlyjs()}</script>"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("report.html").render(
        facts=facts, charts=charts, auc=auc, plotly_js=plotly_js
    )
    return write_file_atomically(report_path(path), html)


def report_path(path: Path) -> Path:
    """An existing directory means `report.html` inside it; anything else is the file."""
    path = Path(path)
    return path / "report.html" if path.is_dir() else path


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file_atomically(path: Path, text: str) -> Path:
    """Write `path` whole or not at all: a hidden temporary file in the same directory,
    renamed over `path`, removed if anything fails. The file gets the permissions any
    new file gets (0666 less the umask), not mkstemp's private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
