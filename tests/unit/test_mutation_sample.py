"""tools/mutation_sample.py: the generated mutants, the seeded sample, the triage file."""

from __future__ import annotations

import ast
import importlib.util
import sys

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("mutation_sample", ROOT / "tools/mutation_sample.py")
mutation_sample = importlib.util.module_from_spec(_spec)
sys.modules["mutation_sample"] = mutation_sample
_spec.loader.exec_module(mutation_sample)


def test_samples_are_seeded_spread_and_compile():
    mutants = mutation_sample.all_mutants()
    assert len(mutants) > 1000 and len({m.id for m in mutants}) == len(mutants)
    a = mutation_sample.sample(mutants, 100, 42)
    assert [m.id for m in a] == [m.id for m in mutation_sample.sample(mutants, 100, 42)]
    assert [m.id for m in a] != [m.id for m in mutation_sample.sample(mutants, 100, 43)]
    assert len(a) == 100 and {m.group for m in a} == set(mutation_sample.GROUPS)
    for m in a:  # each mutant is one change that still parses
        text = (ROOT / m.file).read_text()
        assert text[m.start:m.end] == m.before and m.after != m.before
        ast.parse(text[: m.start] + m.after + text[m.end:])


def test_every_triaged_equivalent_mutant_still_exists():
    ids = {m.id for m in mutation_sample.all_mutants()}
    triaged = mutation_sample.load_equivalent()
    assert triaged and set(triaged) <= ids


def test_group_test_globs_pick_up_new_rule_files(tmp_path):
    (tmp_path / "tests/unit").mkdir(parents=True)
    for name in ("test_rules_auth.py", "test_rules_auth_b.py", "test_rules_auth_a.py",
                 "test_rules_authx.py"):
        (tmp_path / "tests/unit" / name).write_text("")
    got = mutation_sample.selected_tests(tmp_path, "auth")
    # the listed file that exists, then the glob's matches sorted; missing files dropped
    assert got == ("tests/unit/test_rules_auth.py", "tests/unit/test_rules_auth_a.py",
                   "tests/unit/test_rules_auth_b.py")
