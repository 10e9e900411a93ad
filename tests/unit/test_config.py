from __future__ import annotations

import pytest
import yaml

from sqlgen.config import GeneratorConfig, load_config, validate_config, with_overrides
from sqlgen.errors import ConfigError


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"rows": 0}, "field 'rows'"),
        ({"fraud_rate": 0}, "field 'fraud_rate'"),
        ({"fraud_rate": 1.0}, "field 'fraud_rate'"),
        ({"realism": "v9"}, "'v1', 'v2' or 'v3'"),
        ({"num_workers": 0}, "field 'num_workers'"),
        ({"batch_size": -5}, "field 'batch_size'"),
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"catalog": {"num_cards": 0}}, "field 'catalog.num_cards'"),
        ({"catalog": {"zipf_cards": -1}}, "field 'catalog.zipf_cards'"),
        ({"catalog": {"merchant_risk_alpha": 0}}, "field 'catalog.merchant_risk_alpha'"),
        ({"catalog": {"bogus": 1}}, "unknown field 'catalog.bogus'"),
        (
            {"temporal": {"start_date": "2025-02-01", "end_date": "2025-01-01"}},
            "end_date 2025-01-01 is before start_date",
        ),
        ({"feature": {"amount": {"distribution": "pareto"}}}, "'lognormal', 'normal', 'uniform'"),
        (
            {"feature": {"amount": {"distribution": "uniform", "low": 5, "high": 1}}},
            "must be greater than low",
        ),
        (
            {"feature": {"amount": {"distribution": "lognormal", "sigma": 0}}},
            "field 'feature.amount.sigma'",
        ),
        ({"label": {"burst_size": 0}}, "field 'label.burst_size'"),
        ({"label": {"w_night": "high"}}, "field 'label.w_night'"),
        ({"s3": {"bucket": "x"}}, "unknown field 's3.bucket'"),
    ],
)
def test_invalid_values_name_the_field(patch, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(patch, "cfg.yaml")
    message = str(err.value)
    assert message.startswith("cfg.yaml: invalid")
    assert expected in message
    assert "\n" not in message


def test_defaults_are_valid_and_builtin_default_loads():
    cfg = load_config()
    assert cfg == GeneratorConfig.model_validate(yaml.safe_load(_default_path().read_text()))
    assert cfg.fraud_target == round(cfg.rows * cfg.fraud_rate)


def _default_path():
    from sqlgen.resources import default_config_path

    return default_config_path()


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rows: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(scalar)


def test_overrides_are_validated():
    cfg = load_config()
    assert with_overrides(cfg, rows=10, seed=None).rows == 10
    assert with_overrides(cfg, rows=10).seed == cfg.seed
    with pytest.raises(ConfigError, match="command line: invalid field 'rows'"):
        with_overrides(cfg, rows=-1)


def test_fingerprint_ignores_workers_but_not_seed():
    cfg = load_config()
    assert cfg.data_fingerprint() == with_overrides(cfg, num_workers=3).data_fingerprint()
    assert cfg.data_fingerprint() != with_overrides(cfg, seed=1).data_fingerprint()
