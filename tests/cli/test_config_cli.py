"""`sqlgen config`, `--set`, legacy configs and usage errors through the real console script."""

from __future__ import annotations

import json

import pytest

from sqlgen.config import GeneratorConfig, load_config
from tests.cli.test_cli import TINY, error_lines, sqlgen


def test_config_prints_the_builtin_default_as_loadable_yaml(tmp_path):
    proc = sqlgen("config")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# sqlgen configuration")
    path = tmp_path / "mine.yaml"
    path.write_text(proc.stdout)
    assert load_config(path) == load_config()
    assert "# payments in the run" in proc.stdout and "noise_rate: null" in proc.stdout


def test_config_shows_a_given_config_with_sets(tmp_path):
    proc = sqlgen("config", "--config", TINY, "--set", "rows=123", "--set", "label.w_night=2")
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "shown.yaml"
    path.write_text(proc.stdout)
    cfg = load_config(path)
    assert (cfg.rows, cfg.label.w_night) == (123, 2.0)
    assert cfg.catalog.num_cards == load_config(TINY).catalog.num_cards


def test_run_with_set_reaches_the_run(tmp_path):
    out = tmp_path / "out"
    proc = sqlgen(
        "run",
        "--config",
        TINY,
        "--set",
        f"out_dir={out}",
        "--set",
        "rows=700",
        "--set",
        "fraud_rate=0.1",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
    assert (manifest["rows"], manifest["fraud_rows"]) == (700, 70)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "rowz=5"], "--set: unknown field 'rowz' (did you mean 'rows'?)"),
        (["--set", "catalog.bogus=1"], "--set: unknown field 'catalog.bogus'"),
        (["--set", "rows=true"], "--set: invalid field 'rows'"),
        (["--set", "rows.deep=1"], "--set: 'rows' is a value, not a section"),
        (["--set", "rows"], "--set rows: expected KEY=VALUE"),
    ],
)
def test_bad_set_one_line_exit_1(tmp_path, args, expected):
    proc = sqlgen("run", "--config", TINY, "--out-dir", tmp_path / "out", *args)
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--num-workers", "many"],
        ["run", "--realism", "v9"],
        ["run", "--no-such-flag"],
        ["frobnicate"],
        [],
        ["config", "--log-level", "LOUD"],
    ],
)
def test_usage_errors_exit_1_with_usage(args):
    proc = sqlgen(*args)
    assert proc.returncode == 1
    assert "usage: sqlgen" in proc.stderr and "error:" in proc.stderr


def test_legacy_config_loads_with_one_warning_per_alias(tmp_path):
    path = tmp_path / "legacy.yaml"
    path.write_text(
        "total_rows: 2500\nfraud_rate: 0.02\nfeature:\n"
        "  amount_distribution: lognormal\n  mean: 3.0\n  sigma: 0.9\n"
    )
    proc = sqlgen("config", "--config", path)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in error_lines(proc) if "WARNING" in line]
    assert len(warnings) == 4, warnings
    assert "legacy key 'total_rows' is now 'rows'" in warnings[0]
    assert (
        "legacy key 'feature.amount_distribution' is now 'feature.amount.distribution'"
        in (warnings[1])
    )
    assert "legacy key 'feature.mean' is now 'feature.amount.mu'" in warnings[2]
    assert "legacy key 'feature.sigma' is now 'feature.amount.sigma'" in warnings[3]
    shown = tmp_path / "shown.yaml"
    shown.write_text(proc.stdout)
    cfg = load_config(shown)
    assert (cfg.rows, cfg.feature.amount.mu, cfg.feature.amount.sigma) == (2500, 3.0, 0.9)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"rows: 5\nrows: 6\n", "duplicate key 'rows' at line 2"),
        (b"rows: 5\nout_dir: \xff\xfe\n", "not UTF-8 text"),
        (b"temporal:\n  end_date: 2025-02-29\n", "invalid field 'temporal.end_date'"),
        (b"catalog: {merchant_risk_alpha: .inf}\n", "invalid field 'catalog.merchant_risk_alpha'"),
        (b"rows: true\n", "invalid field 'rows': Input should be a valid integer"),
        (b"rowz: 5\nfraud_rat: 0.1\n", "'rowz' (did you mean 'rows'?); unknown field 'fraud_rat'"),
    ],
)
def test_bad_config_file_one_line_exit_1(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    proc = sqlgen("run", "--config", path, "--out-dir", tmp_path / "out")
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert str(path) in lines[0] and expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_alias_bomb_one_short_line(tmp_path):
    from tests.unit.test_config_sources import _alias_bomb

    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())
    # An expanding loader would take minutes and gigabytes: the timeout is a hang guard.
    proc = sqlgen("run", "--config", path, "--out-dir", tmp_path / "out", timeout=120)
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1 and len(lines[0]) < 400 and "aliases" in lines[0]


def test_default_config_still_builds_the_default_model():
    assert load_config().model_dump(exclude={"num_workers"}) == GeneratorConfig().model_dump(
        exclude={"num_workers"}
    )
