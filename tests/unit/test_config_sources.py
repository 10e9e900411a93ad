"""Where settings come from: the YAML text, legacy keys, and `--set` overrides."""

from __future__ import annotations

import datetime as dt
import logging
import resource

import pytest

from sqlgen.config import GeneratorConfig, NormalAmount, apply_sets, load_config, validate_config
from sqlgen.config.yaml_loader import MAX_NODES, parse_yaml
from sqlgen.errors import ConfigError
from sqlgen.execute.executor_api import make_executor
from sqlgen.execute.executors import LocalExecutor, ProcessExecutor


def _file(tmp_path, text: str | bytes, name: str = "cfg.yaml"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# --- the YAML text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rows: 5\nseed: 1\nrows: 6\n", "duplicate key 'rows' at line 3 (first at line 1)"),
        ("{rows: 5, rows: 6}\n", "duplicate key 'rows' at line 1"),
        ("label:\n  w_night: 1\n  w_night: 2\n", "duplicate key 'w_night' at line 3"),
        ("a: &a [*a]\n", "recursive"),
    ],
)
def test_yaml_structure_errors(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load_config(_file(tmp_path, text))
    assert str(err.value).startswith(f"{tmp_path / 'cfg.yaml'}: ")
    assert expected in str(err.value)


def test_merge_keys_may_be_overridden():
    data = parse_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\n")
    assert data["other"] == {"x": 3, "y": 2}


def _alias_bomb(levels: int = 9) -> str:
    lines = ["rows: 10", "temporal:", "  x0: &a0 [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"  x{i}: &a{i} [{refs}]")
    lines.append(f"  hourly_weights: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_fast_in_one_short_line(tmp_path):
    text = _alias_bomb()
    assert len(text) < 600  # 9**9 = 387M values once expanded
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigError) as err:
        load_config(_file(tmp_path, text))
    # Refused before expansion: 387M values would take gigabytes.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50_000  # KiB
    assert f"more than {MAX_NODES:,} values once YAML aliases are expanded" in str(err.value)
    assert len(str(err.value)) < 300


def test_small_aliases_still_work(tmp_path):
    text = "w: &w [1, 1, 1, 1, 1, 1, 2]\ntemporal:\n  weekday_weights: *w\n"
    with pytest.raises(ConfigError, match="unknown field 'w'"):
        load_config(_file(tmp_path, text))  # the anchor's own key is not a setting
    text = "temporal:\n  weekday_weights: &w [1, 1, 1, 1, 1, 1, 2]\n"
    assert load_config(_file(tmp_path, text)).temporal.weekday_weights[-1] == 2.0


def test_non_utf8_file_is_named(tmp_path):
    path = _file(tmp_path, b"rows: 5\nout_dir: caf\xe9\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    expected = f"{path}: not UTF-8 text (byte 0xe9 at offset 20); save the config as UTF-8"
    assert str(err.value) == expected


def test_impossible_date_names_the_field(tmp_path):
    path = _file(tmp_path, "temporal:\n  start_date: 2025-02-29\n")
    with pytest.raises(ConfigError, match=r"invalid field 'temporal\.start_date'"):
        load_config(path)


def test_special_floats_from_yaml_are_rejected(tmp_path):
    path = _file(tmp_path, "catalog: {merchant_risk_alpha: .inf}\nlabel: {w_night: .nan}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "invalid field 'catalog.merchant_risk_alpha': Input should be a finite number" in str(
        err.value
    )
    assert "invalid field 'label.w_night': Input should be a finite number" in str(err.value)


def test_echoed_input_is_cut_short(tmp_path):
    path = _file(tmp_path, f"realism: {'v' * 100_000}\n? {'k' * 10_000}\n: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "invalid field 'realism'" in str(err.value) and "unknown field 'kkk" in str(err.value)
    assert len(str(err.value)) < 400


def test_oversized_file_is_refused(tmp_path):
    path = _file(tmp_path, "# " + "x" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match="a config file is at most 1 MiB"):
        load_config(path)


# --- legacy keys ----------------------------------------------------------------------------


def test_legacy_keys_load_with_one_warning_each(tmp_path, caplog):
    path = _file(
        tmp_path,
        "total_rows: 5000\nfeature:\n  amount_distribution: normal\n  mean: 80\n  sigma: 20\n"
        "label:\n  burst_factor: 7\n  burst_window: 45\n",
    )
    with caplog.at_level(logging.WARNING, logger="sqlgen"):
        cfg = load_config(path)
    assert cfg.rows == 5000
    assert cfg.feature.amount == NormalAmount(distribution="normal", mean=80, std=20)
    assert cfg.label.burst_size == 7 and cfg.label.burst_window_minutes == 45
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(warnings) == sorted(
        f"{path}: legacy key '{old}' is now '{new}'; please rename it"
        for old, new in [
            ("total_rows", "rows"),
            ("feature.amount_distribution", "feature.amount.distribution"),
            ("feature.mean", "feature.amount.mean"),
            ("feature.sigma", "feature.amount.std"),
            ("label.burst_factor", "label.burst_size"),
            ("label.burst_window", "label.burst_window_minutes"),
        ]
    )


def test_legacy_lognormal_mean_is_mu():
    cfg = validate_config({"feature": {"amount_distribution": "lognormal", "amount_mean": 2.5}})
    assert cfg.feature.amount.mu == 2.5


def test_legacy_and_new_key_together_is_an_error():
    with pytest.raises(ConfigError, match=r"both 'total_rows' \(legacy\) and 'rows' are set"):
        validate_config({"total_rows": 5, "rows": 6}, "cfg.yaml")


def test_legacy_translation_leaves_shared_sections_alone():
    shared = {"amount_distribution": "uniform", "low": 1, "high": 2}
    validate_config({"feature": shared})
    assert shared == {"amount_distribution": "uniform", "low": 1, "high": 2}


# --- --set ------------------------------------------------------------------------------------


def test_set_overrides_any_field_with_yaml_values():
    cfg = apply_sets(
        GeneratorConfig(),
        [
            "rows=5000",
            "catalog.num_cards=1000",
            "temporal.end_date=2025-02-01",
            "temporal.weekday_weights=[1, 1, 1, 1, 1, 2, 2]",
            "s3.region=eu-west-1",
            "scheduler=null",
        ],
    )
    assert cfg.rows == 5000 and cfg.catalog.num_cards == 1000
    assert cfg.temporal.end_date == dt.date(2025, 2, 1)
    assert cfg.temporal.weekday_weights == (1, 1, 1, 1, 1, 2, 2)
    assert cfg.s3.region == "eu-west-1" and cfg.scheduler is None
    # left unset: derived from the cards given (1000 / 1.5 cards a customer, rounded up)
    assert cfg.catalog.num_customers == 667 and "num_customers" in cfg.catalog.derived


def test_set_switches_the_amount_distribution():
    cfg = apply_sets(
        GeneratorConfig(), ["feature.amount.distribution=uniform", "feature.amount.high=50"]
    )
    assert cfg.feature.amount.distribution == "uniform" and cfg.feature.amount.high == 50


def test_set_applies_after_the_file_in_order(tmp_path):
    path = _file(tmp_path, "rows: 100\nseed: 3\n")
    cfg = load_config(path, ["rows=200", "rows=300"])
    assert (cfg.rows, cfg.seed) == (300, 3)


def test_set_accepts_legacy_keys(caplog):
    with caplog.at_level(logging.WARNING, logger="sqlgen"):
        assert apply_sets(GeneratorConfig(), ["total_rows=77"]).rows == 77
    assert "--set: legacy key 'total_rows' is now 'rows'; please rename it" in caplog.text


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("rowz=5", "--set: unknown field 'rowz' (did you mean 'rows'?)"),
        ("catalog.num_cardz=5", "--set: unknown field 'catalog.num_cardz' (did you mean"),
        ("rows=true", "--set: invalid field 'rows': Input should be a valid integer"),
        ("label.noise_rate=.inf", "--set: invalid field 'label.noise_rate'"),
        ("rows.x=1", "--set: 'rows' is a value, not a section"),
        ("rows", "--set rows: expected KEY=VALUE"),
        ("=5", "--set =5: expected KEY=VALUE"),
        ("catalog..num_cards=5", "--set catalog..num_cards=5: expected KEY=VALUE"),
        ("rows=[1,", "--set rows: not valid YAML"),
    ],
)
def test_bad_set_is_one_line(item, expected):
    with pytest.raises(ConfigError) as err:
        apply_sets(GeneratorConfig(), [item])
    assert str(err.value).startswith(expected)
    assert "\n" not in str(err.value)


# --- workers never outnumber chunks ----------------------------------------------------------


def test_executor_workers_capped_at_chunks():
    cfg = GeneratorConfig(num_workers=24)
    capped = make_executor(cfg, 6)
    assert isinstance(capped, ProcessExecutor) and capped.workers == 6
    assert make_executor(cfg, 100).workers == 24
    assert make_executor(cfg).workers == 24
    assert isinstance(make_executor(GeneratorConfig(), 6), LocalExecutor)


def test_exponent_floats_without_a_dot_are_numbers(tmp_path):
    path = _file(tmp_path, "fraud_rate: 2e-2\nlabel:\n  burst_window_minutes: 1E2\n")
    cfg = load_config(path)
    assert (cfg.fraud_rate, cfg.label.burst_window_minutes) == (0.02, 100.0)
