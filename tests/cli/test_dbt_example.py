"""examples/dbt builds and passes its tests on a freshly generated dataset."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.cli.test_cli import TINY, sqlgen

ROOT = Path(__file__).resolve().parents[2]


def dbt_exe() -> str:
    exe = Path(sys.executable).parent / "dbt"
    return str(exe) if exe.exists() else (shutil.which("dbt") or "dbt")


def dbt_build(tmp_path, out) -> subprocess.CompletedProcess:
    project = tmp_path / "dbt"
    shutil.copytree(ROOT / "examples" / "dbt", project)
    env = {
        **os.environ,
        "SQLGEN_OUT_DIR": str(out),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    proc = subprocess.run(
        [dbt_exe(), "build", "--profiles-dir", str(project), "--project-dir", str(project)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=project,
    )
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("realism", ["v2", "v3"])
def test_dbt_build_on_generated_data(tmp_path, realism):
    out = tmp_path / "out"
    args = ("run", "--config", TINY, "--out-dir", out, "--no-progress", "--realism", realism)
    assert sqlgen(*args).returncode == 0
    proc = dbt_build(tmp_path, out)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "ERROR=0" in proc.stdout and "PASS=" in proc.stdout
    con = duckdb.connect(str(out / "dbt.duckdb"), read_only=True)
    rows, fast_cards, rated = con.execute("""
        SELECT count(*), count(*) FILTER (card_payments_24h > 0),
               count(*) FILTER (merchant_fraud_rate_so_far > 0)
        FROM payment_features""").fetchone()
    assert rows == 4000
    assert fast_cards > 0 and rated > 0


@pytest.mark.slow
def test_dbt_walk_through_at_100k_rows(tmp_path):
    """The README's walk-through on the default config: a fraud reported at its own
    instant counted in its own merchant rate (rates up to 2.0 at 100k rows)."""
    out = tmp_path / "out"
    assert sqlgen("run", "--rows", 100_000, "--out-dir", out, "--no-progress").returncode == 0
    proc = dbt_build(tmp_path, out)
    assert proc.returncode == 0, proc.stdout[-4000:]
    con = duckdb.connect(str(out / "dbt.duckdb"), read_only=True)
    (top,) = con.execute("SELECT max(merchant_fraud_rate_so_far) FROM payment_features").fetchone()
    assert 0 < top <= 1
