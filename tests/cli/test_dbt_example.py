"""examples/dbt builds and passes its tests on a freshly generated dataset."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.cli.test_cli import TINY, sqlgen

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"


def dbt_exe() -> str:
    exe = Path(sys.executable).parent / "dbt"
    return str(exe) if exe.exists() else (shutil.which("dbt") or "dbt")


def dbt_env(out=None) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    if out is not None:
        env["SQLGEN_OUT_DIR"] = str(out)
    return env


def walkthrough_dbt_line(page: Path = WALKTHROUGH) -> str:
    """The `dbt build` line of the walk-through's first ```bash block, as written."""
    block = re.search(r"^```bash\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)
    assert block is not None, f"{page}: no ```bash block"
    (line,) = [ln for ln in block[1].splitlines() if re.search(r"\bdbt build\b", ln)]
    return line


def dbt_build(tmp_path, out) -> subprocess.CompletedProcess:
    project = tmp_path / "dbt"
    shutil.copytree(ROOT / "examples" / "dbt", project)
    env = dbt_env(out)
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
    """The walk-through's `dbt build` line (docs/walkthrough.md), as written, on the
    default config: a fraud reported at its own instant counted in its own merchant rate
    would give rates up to 2.0 at 100k rows."""
    line = walkthrough_dbt_line()
    assert "SQLGEN_OUT_DIR=$PWD/out" in line and "examples/dbt" in line, line
    work = tmp_path / "work"  # the walk-through runs from the repository's root
    shutil.copytree(ROOT / "examples" / "dbt", work / "examples" / "dbt")
    out = work / "out"
    assert sqlgen("run", "--rows", 100_000, "--out-dir", out, "--no-progress").returncode == 0
    proc = subprocess.run(
        ["bash", "-c", line], capture_output=True, text=True, timeout=600,
        env=dbt_env(), cwd=work,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "ERROR=0" in proc.stdout and "PASS=" in proc.stdout
    con = duckdb.connect(str(out / "dbt.duckdb"), read_only=True)
    (top,) = con.execute("SELECT max(merchant_fraud_rate_so_far) FROM payment_features").fetchone()
    assert 0 < top <= 1


def test_walkthrough_dbt_line_is_found(tmp_path):
    page = tmp_path / "walkthrough.md"
    page.write_text("# w\n\n```bash\nsqlgen run\nX=1 dbt build --project-dir p\n```\n")
    assert walkthrough_dbt_line(page) == "X=1 dbt build --project-dir p"
    page.write_text("# w\n\n```bash\nsqlgen run\n```\n")
    with pytest.raises(ValueError):
        walkthrough_dbt_line(page)
    assert "dbt build" in walkthrough_dbt_line()
