"""The README's quick tour is what CI's smoke step runs (`tools/quick_tour.py`): its
block must parse into the commands the smoke step is meant to cover."""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("quick_tour", ROOT / "tools/quick_tour.py")
quick_tour = importlib.util.module_from_spec(_spec)
sys.modules["quick_tour"] = quick_tour
_spec.loader.exec_module(quick_tour)


def test_readme_tour_covers_the_first_hour():
    words = [shlex.split(line, comments=True) for line in quick_tour.tour_commands()]
    heads = [w[:2] for w in words]
    for command in ("run", "sql", "report", "validate", "catalogs", "config", "schema"):
        assert ["sqlgen", command] in heads, command
    schemas = [w for w in words if w[:2] == ["sqlgen", "schema"]]
    assert {quick_tour._option(w, "--format") for w in schemas} >= {None, "duckdb", "athena",
                                                                      "spark"}
    assert any(w[:2] == ["sqlgen", "sql"] and "--format" in w for w in words)
    assert any("--set" in w for w in words)
    assert ["python", "generate.py"] in heads
    # Every command is one a user types: sqlgen or the legacy script, nothing else.
    assert all(h[0] == "sqlgen" or h == ["python", "generate.py"] for h in heads)


def test_a_broken_tour_block_is_caught(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Quick tour\n\nno block here\n")
    with pytest.raises(ValueError, match="no ```bash block"):
        quick_tour.tour_commands(readme)
    readme.write_text('## Quick tour\n\n```bash\nsqlgen sql "SELECT 1\n```\n')
    with pytest.raises(ValueError):  # unbalanced quote
        quick_tour.tour_commands(readme)


def test_output_checks_tell_plausible_from_not(tmp_path):
    check = quick_tour.check_output
    assert check(["sqlgen", "schema", "--format", "spark"], "CREATE TABLE x", "", tmp_path) is None
    assert check(["sqlgen", "schema", "--format", "spark"], "oops", "", tmp_path)
    assert check(["sqlgen", "sql", "--format", "csv", "q"], "a,b\n1,2\n", "", tmp_path) is None
    assert check(["sqlgen", "sql", "--format", "csv", "q"], "a,b\n", "", tmp_path)
    assert check(["sqlgen", "run"], "", "INFO published 5 rows", tmp_path) is None
    assert check(["sqlgen", "run"], "", "", tmp_path) == "no output"
    assert check(["sqlgen", "config", ">", "my.yaml"], "", "", tmp_path) == "my.yaml is empty"
