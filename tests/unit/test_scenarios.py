"""The scenario registry: one module per scenario, stable codes, everything derived."""

from __future__ import annotations

import pytest

from sqlgen import scenarios
from sqlgen.config import GeneratorConfig, ScenarioConfig, validate_config
from sqlgen.errors import ConfigError
from sqlgen.generate.chunks import quotas
from sqlgen.generate.labeler import BURST, FALSE_REPORT, FILL, LOGISTIC, SCENARIOS


def test_codes_are_stable():
    # Written into draws and lookup tables: a renumbering would relabel data.
    expected = {
        "logistic": 1, "burst": 2, "fill": 3, "card_testing": 4,
        "compromised_merchant": 5, "account_takeover": 6, "false_report": 7,
    }
    for name, code in expected.items():
        assert scenarios.code(name) == code
    assert (LOGISTIC, BURST, FILL, FALSE_REPORT) == (1, 2, 3, 7)
    assert SCENARIOS[:7] == tuple(expected)


def test_config_and_injected_set_derive_from_registry():
    fields = set(ScenarioConfig.model_fields)
    assert fields == {s.name for s in scenarios.configurable()}
    assert "fill" not in fields and "false_report" not in fields
    assert set(scenarios.INJECTED) == {4, 5, 6}
    for s in scenarios.configurable():
        assert getattr(ScenarioConfig(), s.name) == s.weight


def test_quota_order_follows_codes_and_sums():
    cfg = GeneratorConfig(realism="v2")  # v3 plans all but the logistic quota
    share = quotas(cfg, 1001)
    assert list(share) == [s.name for s in scenarios.configurable()]
    assert sum(share.values()) == 1001


def test_unknown_or_all_zero_weights_rejected():
    with pytest.raises(ConfigError, match=r"unknown field 'scenarios\.phishing'"):
        validate_config({"scenarios": {"phishing": 1.0}})
    zero = {s.name: 0 for s in scenarios.configurable()}
    with pytest.raises(ConfigError, match="positive weight"):
        validate_config({"scenarios": zero})
