from __future__ import annotations

import datetime as dt
import math
import typing

import annotated_types as at
import numpy as np
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from sqlgen.config import (
    MAX_AMOUNT,
    MAX_PRICE_LEVEL,
    GeneratorConfig,
    LognormalAmount,
    load_config,
    validate_config,
    with_overrides,
)
from sqlgen.errors import ConfigError
from sqlgen.resources import default_config_path, resource_dir


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"rows": 0}, "invalid field 'rows'"),
        ({"rows": True}, "invalid field 'rows': Input should be a valid integer"),
        ({"rows": 5.5}, "invalid field 'rows'"),
        ({"rows": "5"}, "invalid field 'rows'"),
        ({"fraud_rate": 0}, "invalid field 'fraud_rate'"),
        ({"fraud_rate": 1.0}, "invalid field 'fraud_rate'"),
        ({"fraud_rate": True}, "invalid field 'fraud_rate': Input should be a valid number"),
        ({"fraud_rate": math.nan}, "invalid field 'fraud_rate': Input should be a finite number"),
        ({"realism": "v9"}, "'v1', 'v2' or 'v3'"),
        ({"num_workers": 0}, "invalid field 'num_workers'"),
        ({"batch_size": -5}, "invalid field 'batch_size'"),
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"catalog": {"num_cards": 0}}, "invalid field 'catalog.num_cards'"),
        ({"catalog": {"zipf_cards": -1}}, "invalid field 'catalog.zipf_cards'"),
        ({"catalog": {"merchant_risk_alpha": 0}}, "invalid field 'catalog.merchant_risk_alpha'"),
        (
            {"catalog": {"merchant_risk_alpha": math.inf}},
            "invalid field 'catalog.merchant_risk_alpha': Input should be a finite number",
        ),
        ({"catalog": {"card_risk_beta": -math.inf}}, "invalid field 'catalog.card_risk_beta'"),
        ({"catalog": {"bogus": 1}}, "unknown field 'catalog.bogus'"),
        (
            {"temporal": {"start_date": "2025-02-01", "end_date": "2025-01-01"}},
            "end_date 2025-01-01 is before start_date",
        ),
        ({"temporal": {"start_date": "2025-02-29"}}, "invalid field 'temporal.start_date'"),
        (
            {"temporal": {"end_date": dt.date(9999, 12, 31)}},
            "invalid field 'temporal.end_date': Input should be less than or equal to 2099-12-31",
        ),
        (
            {"temporal": {"start_date": dt.date(1969, 12, 31)}},
            "invalid field 'temporal.start_date'",
        ),
        (
            {"temporal": {"hourly_weights": [1.0] * 23 + [math.nan]}},
            "invalid field 'temporal.hourly_weights.23': Input should be a finite number",
        ),
        ({"temporal": {"weekday_weights": [1, 1, 1, 1, 1, 1, 1e300]}}, "at most 1e+06"),
        ({"temporal": {"weekday_weights": [1, 1, 1]}}, "weekday_weights needs 7"),
        ({"feature": {"amount": {"distribution": "pareto"}}}, "'lognormal', 'normal', 'uniform'"),
        (
            {"feature": {"amount": {"distribution": "uniform", "low": 5, "high": 1}}},
            "must be greater than low",
        ),
        (
            {"feature": {"amount": {"distribution": "lognormal", "sigma": 0}}},
            "invalid field 'feature.amount.sigma'",
        ),
        (
            {"feature": {"amount": {"distribution": "lognormal", "mu": 15, "sigma": 5}}},
            "exceeds the largest amount DECIMAL(12,2) holds",
        ),
        (
            {"feature": {"amount": {"distribution": "normal", "mean": 1e300, "std": 1e300}}},
            "exceeds the largest amount DECIMAL(12,2) holds",
        ),
        (
            {"feature": {"amount": {"distribution": "uniform", "high": 5e9}}},
            "invalid field 'feature.amount': high is 5e+09",
        ),
        (
            {"feature": {"amount": {"distribution": "normal", "mean": math.inf}}},
            "invalid field 'feature.amount.mean': Input should be a finite number",
        ),
        ({"label": {"burst_size": 0}}, "invalid field 'label.burst_size'"),
        ({"label": {"w_night": "high"}}, "invalid field 'label.w_night'"),
        ({"label": {"w_amount": math.nan}}, "invalid field 'label.w_amount'"),
        ({"label": {"noise_rate": 0.5}}, "invalid field 'label.noise_rate'"),
        ({"label": {"w_nigth": 1.0}}, "unknown field 'label.w_nigth' (did you mean 'w_night'?)"),
        ({"scenarios": {"burst": math.inf}}, "invalid field 'scenarios.burst'"),
        ({"scenarios": {"burst": 2e6}}, "invalid field 'scenarios.burst'"),
        (
            {"scenarios": dict.fromkeys(GeneratorConfig().scenarios.model_dump(), 0)},
            "at least one scenario needs a positive weight",
        ),
        ({"behaviour": {"max_devices": True}}, "invalid field 'behaviour.max_devices'"),
        ({"s3": {"bucket": "x"}}, "unknown field 's3.bucket'"),
    ],
)
def test_invalid_values_name_the_field(patch, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(patch, "cfg.yaml")
    message = str(err.value)
    assert message.startswith("cfg.yaml: ")
    assert expected in message
    assert "\n" not in message


# --- every section rejects unknown keys ------------------------------------------------


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _sections(model=GeneratorConfig, path=()):
    """(path, distribution tag or None, model) of every section, found from the models."""
    yield path, None, model
    for name, info in model.model_fields.items():
        members = _models_in(info.annotation)
        for member in members:
            if len(members) > 1:  # a discriminated union: one section per distribution
                tag = typing.get_args(member.model_fields["distribution"].annotation)[0]
                yield (*path, name), tag, member
            else:
                yield from _sections(member, (*path, name))


SECTIONS = list(_sections())


def _patch(path, tag, values: dict) -> dict:
    inner = {"distribution": tag, **values} if tag else values
    for part in reversed(path):
        inner = {part: inner}
    return inner


def test_sections_are_all_found():
    found = {(".".join(p), tag) for p, tag, _ in SECTIONS}
    assert found == {
        ("", None),
        ("catalog", None),
        ("temporal", None),
        ("feature", None),
        ("feature.amount", "lognormal"),
        ("feature.amount", "normal"),
        ("feature.amount", "uniform"),
        ("label", None),
        ("scenarios", None),
        ("behaviour", None),
        ("auth", None),
        ("output", None),
        ("money", None),
        ("s3", None),
    }


@pytest.mark.parametrize(
    ("path", "tag"),
    [pytest.param(p, t, id=".".join(p) + (f"[{t}]" if t else "") or "top") for p, t, _ in SECTIONS],
)
def test_every_section_rejects_unknown_keys(path, tag):
    where = ".".join((*path, "bogus_key")) if path else "bogus_key"
    with pytest.raises(ConfigError, match=f"unknown field '{where}'"):
        validate_config(_patch(path, tag, {"bogus_key": 1}), "cfg.yaml")


def test_every_unknown_key_is_listed_with_the_closest_valid_key():
    patch = {
        "rowz": 5,
        "colour": 1,
        "catalog": {"num_cardz": 1},
        "label": {"noise_rat": 0.1, "zzz": 1},
        "feature": {"amount": {"distribution": "uniform", "hihg": 5}},
    }
    with pytest.raises(ConfigError) as err:
        validate_config(patch, "cfg.yaml")
    message = str(err.value)
    for part in (
        "unknown field 'rowz' (did you mean 'rows'?)",
        "unknown field 'colour';",
        "unknown field 'catalog.num_cardz' (did you mean 'num_cards'?)",
        "unknown field 'label.noise_rat' (did you mean 'noise_rate'?)",
        "unknown field 'label.zzz'",
        "unknown field 'feature.amount.hihg' (did you mean 'high'?)",
    ):
        assert part in message + ";"
    assert "more)" not in message and "\n" not in message
    assert "unknown field 'colour' (did you mean" not in message


# --- every bound is enforced -------------------------------------------------------------

_BIG = 10_000_000_000
EXPECTED_BOUNDS = {
    "rows": (("ge", 1), ("le", _BIG)),
    "fraud_rate": (("gt", 0), ("lt", 1)),
    "seed": (("ge", 0), ("le", 2**63 - 1)),
    "num_workers": (("ge", 1), ("le", 1024)),
    "batch_size": (("ge", 1), ("le", 50_000_000)),
    "row_group_size": (("ge", 2048), ("le", 10_000_000)),
    "compression_level": (("ge", 1), ("le", 22)),
    "catalog.num_customers": (("ge", 1), ("le", 50_000_000)),
    "catalog.num_merchants": (("ge", 1), ("le", 10_000_000)),
    "catalog.num_cards": (("ge", 1), ("le", 100_000_000)),
    "catalog.zipf_customers": (("ge", 0), ("le", 4)),
    "catalog.zipf_merchants": (("ge", 0), ("le", 4)),
    "catalog.zipf_cards": (("ge", 0), ("le", 4)),
    "catalog.merchant_risk_alpha": (("gt", 0),),
    "catalog.merchant_risk_beta": (("gt", 0),),
    "catalog.card_risk_alpha": (("gt", 0),),
    "catalog.card_risk_beta": (("gt", 0),),
    "catalog.max_size_mb": (("gt", 0), ("le", 1_000_000)),
    "temporal.start_date": (("ge", dt.date(1970, 1, 1)), ("le", dt.date(2099, 12, 31))),
    "temporal.end_date": (("ge", dt.date(1970, 1, 1)), ("le", dt.date(2099, 12, 31))),
    "feature.amount[lognormal].mu": (("ge", -5), ("le", 15)),
    "feature.amount[lognormal].sigma": (("gt", 0), ("le", 5)),
    "feature.amount[normal].mean": (("gt", 0),),
    "feature.amount[normal].std": (("gt", 0),),
    "feature.amount[uniform].low": (("gt", 0),),
    "feature.amount[uniform].high": (("gt", 0),),
    "label.w_amount": (("ge", -10), ("le", 10)),
    "label.w_mrisk": (("ge", -50), ("le", 50)),
    "label.w_crisk": (("ge", -50), ("le", 50)),
    "label.w_night": (("ge", -10), ("le", 10)),
    "label.burst_size": (("ge", 1), ("le", 10_000)),
    "label.burst_window_minutes": (("gt", 0), ("le", 7 * 24 * 60)),
    "label.difficulty": (("ge", 0), ("le", 1)),
    "label.noise_rate": (("ge", 0), ("lt", 0.5)),
    "label.report_delay_median_days": (("gt", 0), ("le", 365)),
    "label.report_delay_sigma": (("ge", 0), ("le", 3)),
    **{
        f"scenarios.{name}": (("ge", 0), ("le", 1_000_000))
        for name in (
            "logistic",
            "burst",
            "card_testing",
            "compromised_merchant",
            "account_takeover",
        )
    },
    "behaviour.home_share": (("ge", 0), ("le", 1)),
    "behaviour.max_devices": (("ge", 1), ("le", 20)),
    "behaviour.max_card_payments_per_day": (("ge", 1), ("le", 100_000)),
    "behaviour.max_card_payments_per_month": (("ge", 1), ("le", 1_000_000)),
    "behaviour.trip_rate": (("ge", 0), ("le", 1)),
    **{
        f"label.{w}": (("ge", -10), ("le", 10))
        for w in ("w_cnp", "w_abroad", "w_velocity", "w_far")
    },
    "auth.genuine_decline_rate": (("ge", 0), ("lt", 1)),
    "auth.fraud_decline_rate": (("ge", 0), ("le", 1)),
    "auth.testing_decline_rate": (("ge", 0), ("le", 1)),
    "auth.blocked_grace_days": (("ge", 0), ("le", 120)),
    "s3.multipart_mb": (("ge", 5), ("le", 5_000)),
}
_KINDS = {at.Ge: "ge", at.Gt: "gt", at.Le: "le", at.Lt: "lt"}


def _bounded_fields():
    """(key, section path, tag, field name, python type, bounds) read from the models."""
    for path, tag, model in SECTIONS:
        for name, info in model.model_fields.items():
            bounds = tuple(
                (kind, getattr(meta, kind))
                for meta in info.metadata
                for cls, kind in _KINDS.items()
                if isinstance(meta, cls)
            )
            if bounds:
                section = ".".join(path) + (f"[{tag}]" if tag else "")
                key = f"{section}.{name}" if section else name
                base = typing.get_args(info.annotation) or (info.annotation,)
                yield key, path, tag, name, base[0], bounds


BOUNDED = list(_bounded_fields())


def test_bounds_in_the_models_are_the_documented_ones():
    """Removing or loosening a bound in config.py must be a deliberate, visible change."""
    assert {key: bounds for key, *_, bounds in BOUNDED} == EXPECTED_BOUNDS


def _step(kind_type, bound):
    if kind_type is dt.date:
        return dt.timedelta(days=1)
    if kind_type is int:
        return 1
    return 1e-6 * max(1.0, abs(bound))


def _cases():
    for key, path, tag, name, typ, _ in BOUNDED:
        for kind, bound in EXPECTED_BOUNDS.get(key, ()):
            step = _step(typ, bound)
            outside = {"ge": bound - step, "gt": bound, "le": bound + step, "lt": bound}[kind]
            inside = {"ge": bound, "gt": bound + step, "le": bound, "lt": bound - step}[kind]
            yield pytest.param(path, tag, name, outside, inside, id=f"{key}-{kind}")


@pytest.mark.parametrize(("path", "tag", "name", "outside", "inside"), list(_cases()))
def test_every_bound_is_enforced(path, tag, name, outside, inside):
    field = ".".join((*path, name))
    with pytest.raises(ConfigError, match=f"invalid field '{field}'"):
        validate_config(_patch(path, tag, {name: outside}), "cfg.yaml")
    # Just inside the bound the field itself is fine (a cross-field rule may still object).
    try:
        GeneratorConfig.model_validate(_patch(path, tag, {name: inside}))
    except ValidationError as exc:
        locs = [".".join(str(p) for p in e["loc"] if p != tag) for e in exc.errors()]
        assert field not in locs, exc


# --- amounts always fit DECIMAL(12,2) ---------------------------------------------------


def test_price_level_bound_covers_every_mcc():
    ref = yaml.safe_load((resource_dir("schema") / "reference.yaml").read_text())
    assert max(m["amount_scale"] for m in ref["mccs"]) <= MAX_PRICE_LEVEL


def test_largest_accepted_lognormal_stays_inside_decimal_12_2():
    sigma = 2.0
    mu = math.log(MAX_AMOUNT / MAX_PRICE_LEVEL) - 7 * sigma - 1e-9
    spec = LognormalAmount(mu=mu, sigma=sigma)  # accepted: exactly on the rule
    draws = np.random.default_rng(0).lognormal(spec.mu, spec.sigma, 1_000_000)
    assert draws.max() * MAX_PRICE_LEVEL < MAX_AMOUNT
    with pytest.raises(ValidationError, match="exceeds the largest amount"):
        LognormalAmount(mu=mu + 0.01, sigma=sigma)


# --- files, defaults, overrides ---------------------------------------------------------


def test_defaults_are_valid_and_builtin_default_loads():
    cfg = load_config()
    assert cfg == GeneratorConfig.model_validate(yaml.safe_load(default_config_path().read_text()))
    assert cfg.fraud_target == round(cfg.rows * cfg.fraud_rate)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("rows: [1,\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML at line 2"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(scalar)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    assert load_config(empty) == GeneratorConfig()


def test_overrides_are_validated():
    cfg = load_config()
    assert with_overrides(cfg, rows=10, seed=None).rows == 10
    assert with_overrides(cfg, rows=10).seed == cfg.seed
    with pytest.raises(ConfigError, match="command line: invalid field 'rows'"):
        with_overrides(cfg, rows=-1)


def test_amount_without_distribution_is_lognormal():
    cfg = validate_config({"feature": {"amount": {"mu": 2.0}}})
    assert cfg.feature.amount == LognormalAmount(mu=2.0)


def test_fingerprint_ignores_workers_but_not_seed():
    cfg = load_config()
    assert cfg.data_fingerprint() == with_overrides(cfg, num_workers=3).data_fingerprint()
    assert cfg.data_fingerprint() != with_overrides(cfg, seed=1).data_fingerprint()


def test_many_unknown_keys_keep_the_line_bounded():
    with pytest.raises(ConfigError) as err:
        validate_config({f"key_{i:04d}_" + "x" * 200: 1 for i in range(1000)}, "cfg.yaml")
    message = str(err.value)
    assert message.count("unknown field") == 50 and message.endswith("(+950 more)")
    assert len(message) < 4000
