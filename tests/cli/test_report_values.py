"""`sqlgen report` shows the data's numbers, not only its headings (issue 25): the rows
per scenario it prints equal a count over the published Parquet files, read directly."""

from __future__ import annotations

import re

import duckdb

from tests.cli.test_cli import TINY, sqlgen


def _section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if heading in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("==")),
               len(lines))
    return lines[start + 1:end]


def test_report_counts_equal_a_count_over_the_files(tmp_path):
    out = tmp_path / "out"
    run = sqlgen("run", "--config", TINY, "--out-dir", out, "--no-progress",
                 "--set", "realism=v3")
    assert run.returncode == 0, run.stderr
    proc = sqlgen("report", "--out-dir", out)
    assert proc.returncode == 0, proc.stderr
    files = str(out / "payments" / "**" / "*.parquet")
    counts = duckdb.sql(
        f"""SELECT coalesce(CAST(fraud_scenario AS VARCHAR), 'genuine'), count(*)
            FROM read_parquet('{files}') GROUP BY ALL""").fetchall()
    assert len(counts) >= 4 and sum(n for _, n in counts) == 4000
    section = _section(proc.stdout, "rows and frauds per scenario")
    for scenario, n in counts:
        pattern = rf"\b{scenario}\b.*\b({n}|{n:,})\b"
        assert any(re.search(pattern, line) for line in section), (scenario, n, section)
