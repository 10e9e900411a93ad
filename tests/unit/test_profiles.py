"""Realism levels are profiles of one chunk pipeline (`sqlgen.generate.profiles`).

Every level the config accepts has a profile naming every stage, and the generate layer
asks which level it runs only there: no other module of `sqlgen/generate` compares the
realism string (read with `ast`). That the profiles reproduce the levels' rows byte for
byte is `tests/integration/test_golden.py`'s job.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import numpy as np
import pytest

from sqlgen.config import GeneratorConfig, with_overrides
from sqlgen.generate import profiles, stages
from sqlgen.generate.profiles import PROFILES, Profile, profile_for, score_params

GENERATE = Path(profiles.__file__).parent
LEVELS = typing.get_args(GeneratorConfig.model_fields["realism"].annotation)
STAGES = ("labelled", "quotas", "draw", "to_arrow", "authorise", "report")
ALLOWED = {"profiles.py"}  # the profiles themselves


def test_every_realism_level_has_a_profile_with_every_stage():
    assert set(LEVELS) == {"v1", "v2", "v3"}
    assert set(PROFILES) == set(LEVELS)
    for level in LEVELS:
        profile = profile_for(level)
        assert isinstance(profile, Profile) and profile.name == level
        for stage in STAGES:
            assert callable(getattr(profile, stage)), (level, stage)
        assert profile.signals is None or callable(profile.signals)
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile_for("v2").world = True  # type: ignore[misc]


def test_what_each_level_does():
    """The stages that make the levels differ, pinned per level."""
    v1, v2, v3 = (profile_for(x) for x in ("v1", "v2", "v3"))
    assert v1.draw is stages.draw_independent
    assert isinstance(v2.draw, stages.StagedDraw) and isinstance(v3.draw, stages.StagedDraw)
    assert v2.draw.scenarios is stages.inject_quotas
    assert v3.draw.scenarios is stages.play_episodes
    # v1 and v3 give the whole chunk quota to the logistic draw (v3 plans the rest run-wide).
    assert v1.labelled is v2.labelled is stages.all_labelled
    assert v3.labelled is stages.unplanned
    assert v1.quotas is v3.quotas is stages.logistic_only
    assert v2.quotas is stages.scenario_split
    assert v1.authorise is v2.authorise is stages.approve_all
    assert v3.authorise is stages.issuer_decides
    assert (v1.report, v2.report, v3.report) == (
        stages.report_exact,
        stages.report_noisy,
        stages.report_disputes,
    )
    assert [p.world for p in (v1, v2, v3)] == [False, False, True]
    assert [p.catalog_level for p in (v1, v2, v3)] == [None, None, "v3"]
    assert [p.catalog_files for p in (v1, v2, v3)] == [False, True, True]
    assert v1.signals is None and v2.signals is None and v3.signals is not None


def test_logistic_only_quota_and_approve_all(tiny):
    assert stages.logistic_only(tiny, 7) == {"logistic": 7}
    auth = stages.approve_all(tiny, {}, np.array([0, 3, -2, 1], dtype=np.int8), None)
    assert auth.dtype == np.int8 and auth.tolist() == [0, 0, 0, 0]


def test_score_params_follow_the_profile(tiny):
    """v1 raw and uncentred; v2 scaled by difficulty (x3 at 0.5) and centred; v3 as v2
    with amount x0.35, night x0.5 and the behaviour weights."""
    cfg = with_overrides(tiny, label={"difficulty": 0.5})
    v1, v2, v3 = (score_params(with_overrides(cfg, realism=x)) for x in ("v1", "v2", "v3"))
    label = cfg.label
    assert v1["w_amount"] == label.w_amount and v1["c_amount"] == 0.0
    assert v2["w_mrisk"] == pytest.approx(3 * label.w_mrisk)
    assert v2["c_night"] == pytest.approx(
        sum(cfg.temporal.hourly_weights[:6]) / sum(cfg.temporal.hourly_weights)
    )
    assert v3["w_amount"] == pytest.approx(0.35 * v2["w_amount"])
    assert v3["w_night"] == pytest.approx(0.5 * v2["w_night"])
    assert v3["w_mrisk"] == v2["w_mrisk"] and v3["c_amount"] == v2["c_amount"]
    assert "w_cnp" in v3 and "w_cnp" not in v2 and "w_cnp" not in v1


def _realism_branches(path: Path) -> list[str]:
    """Comparisons in `path` that involve `.realism`, `realism` or a level's name."""

    def names_level(node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute | ast.Name):
            return getattr(node, "attr", getattr(node, "id", None)) == "realism"
        return isinstance(node, ast.Constant) and node.value in LEVELS

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare) and any(
            names_level(n) for n in (node.left, *node.comparators)
        ):
            found.append(f"{path.name}:{node.lineno}")
        elif isinstance(node, ast.Subscript | ast.Dict) and any(
            isinstance(n, ast.Constant) and n.value in LEVELS for n in ast.walk(node)
        ):
            found.append(f"{path.name}:{node.lineno} (table by level)")
    return sorted(found)


def test_the_generate_layer_branches_on_realism_only_in_the_profiles():
    found = [
        hit
        for path in sorted(GENERATE.rglob("*.py"))
        if path.name not in ALLOWED
        for hit in _realism_branches(path)
    ]
    assert found == []


def test_the_branch_finder_finds_branches(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'if cfg.realism == "v3":\n    pass\n'
        'x = 1 if realism != "v1" else 2\n'
        'y = {"v2": 1}[level]\n'
        "z = profile.world\n"
    )
    assert _realism_branches(sample) == [
        "sample.py:1",
        "sample.py:3",
        "sample.py:4 (table by level)",
        "sample.py:4 (table by level)",
    ]
    assert _realism_branches(GENERATE / "profiles.py") != []
