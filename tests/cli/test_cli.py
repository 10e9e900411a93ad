"""The installed console script, run in a subprocess as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "tiny.yaml"


def sqlgen_exe() -> str:
    exe = Path(sys.executable).parent / "sqlgen"
    return str(exe) if exe.exists() else shutil.which("sqlgen")


def sqlgen(*args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    """Run the CLI; `timeout` (s) is a hang guard: a hang raises TimeoutExpired."""
    return subprocess.run(
        [sqlgen_exe(), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def test_run_sql_schema_roundtrip(tmp_path):
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--rows", 2500, "--seed", 3)
    assert proc.returncode == 0, proc.stderr
    assert "rows=2,500" in proc.stderr and "seed=3" in proc.stderr and "workers=1" in proc.stderr
    assert "progress:" in proc.stderr  # not a terminal: periodic log lines
    manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
    assert manifest["rows"] == 2500 and manifest["fraud_rows"] == 50
    proc = sqlgen(
        "sql", "--out-dir", out, "SELECT count(*) AS n, sum(label_fraud::INT) AS f FROM payments"
    )
    assert proc.returncode == 0, proc.stderr
    assert "2500" in proc.stdout and "50" in proc.stdout
    proc = sqlgen("schema")
    assert proc.returncode == 0 and "transaction_id" in proc.stdout and "UUID" in proc.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("rows: -5\n", "invalid field 'rows'"),
        ("realism: v9\n", "invalid field 'realism': Input should be 'v1', 'v2' or 'v3'"),
        ("catalog:\n  num_cardz: 5\n", "unknown field 'catalog.num_cardz'"),
        ("rows: [\n", "not valid YAML"),
    ],
)
def test_bad_config_one_line_exit_1_nothing_written(tmp_path, content, expected):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(content + f"out_dir: {tmp_path / 'out'}\n")
    proc = sqlgen("run", "--config", cfg)
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert str(cfg) in lines[0] and expected in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_missing_config_file(tmp_path):
    proc = sqlgen("run", "--config", tmp_path / "nope.yaml")
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1 and "nope.yaml: config file not found" in lines[0]


def test_bad_override_and_debug_traceback(tmp_path):
    proc = sqlgen("run", "--config", TINY, "--out-dir", tmp_path / "o", "--num-workers", 0)
    assert proc.returncode == 1
    assert "command line: invalid field 'num_workers'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = sqlgen(
        "run",
        "--config",
        TINY,
        "--out-dir",
        tmp_path / "o",
        "--num-workers",
        0,
        "--log-level",
        "DEBUG",
    )
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_sql_errors_are_one_line(tmp_path):
    proc = sqlgen("sql", "--out-dir", tmp_path / "none", "SELECT 1")
    assert proc.returncode == 1 and "not found" in proc.stderr
    out = tmp_path / "out"
    assert sqlgen("catalogs", "--config", TINY, "--out-dir", out).returncode == 0
    proc = sqlgen("sql", "--out-dir", out, "SELECT count(*) FROM cards")
    assert proc.returncode == 0 and "450" in proc.stdout
    proc = sqlgen("sql", "--out-dir", out, "SELEC nonsense")
    assert proc.returncode == 1 and "SQL error" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_legacy_generate_py(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "generate.py"),
            "--config",
            str(TINY),
            "--out-dir",
            str(tmp_path / "out"),
            "--rows",
            "500",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "payments" / "_SUCCESS").exists()


def test_report_command(tmp_path):
    out = tmp_path / "out"
    assert sqlgen("run", "--config", TINY, "--out-dir", out, "--no-progress").returncode == 0
    proc = sqlgen("report", "--out-dir", out)
    assert proc.returncode == 0, proc.stderr
    for heading in (
        "rows and frauds per scenario",
        "fraud rate by local_hour",
        "fraud rate by mcc_code",
        "fraud rate by channel",
        "fraud rate by amount_decile",
        "single-feature ROC AUC",
    ):
        assert heading in proc.stdout
    assert sqlgen("report", "--out-dir", tmp_path / "nothing").returncode == 1
