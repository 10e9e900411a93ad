"""tools/mutation_check.py on a tiny fixture repository: killed, survived and error."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("mutation_check", ROOT / "tools/mutation_check.py")
mutation_check = importlib.util.module_from_spec(_spec)
sys.modules["mutation_check"] = mutation_check  # dataclasses look their module up
_spec.loader.exec_module(mutation_check)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    # The fixture's tests need no plugins; loading the venv's takes a second per run.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    root = tmp_path / "repo"
    _write(
        root / "calc" / "__init__.py",
        """
        def add(a, b):
            return a + b


        def untested():
            return 1
        """,
    )
    _write(
        root / "tests" / "test_calc.py",
        """
        from calc import add


        def test_add():
            assert add(2, 3) == 5
        """,
    )
    _write(
        root / "mutation" / "core.yaml",
        """
        - id: add-minus
          file: calc/__init__.py
          find: "return a + b"
          replace: "return a - b"
          tests: [tests/test_calc.py]
          bug: addition subtracts
        - id: untested-two
          file: calc/__init__.py
          find: "return 1"
          replace: "return 2"
          tests: [tests/test_calc.py::test_add]
          bug: a function no test calls
        - id: gone
          file: calc/__init__.py
          find: "return a * b"
          replace: "return a / b"
          tests: [tests/test_calc.py]
          bug: the find text is not there
        """,
    )
    # A directory the copy must skip (it would otherwise be copied for every mutant).
    _write(root / ".git" / "HEAD", "ref: refs/heads/main\n")
    return root


def _results(out: str) -> dict[str, str]:
    rows = {}
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] in ("add-minus", "untested-two", "gone"):
            rows[cells[0]] = cells[-2]
    return rows


def test_reports_killed_survived_error_and_rate(repo, capsys):
    before = (repo / "calc" / "__init__.py").read_text()
    code = mutation_check.main(["--repo", str(repo), "--jobs", "2"])
    out = capsys.readouterr().out
    assert _results(out) == {"add-minus": "killed", "untested-two": "survived", "gone": "error"}
    assert "killed 1/3 = 33%" in out and "survived: untested-two" in out
    assert "errors: gone" in out and "occurs 0 times" in out
    assert code == 1  # 33% < the default 85%
    assert (repo / "calc" / "__init__.py").read_text() == before  # the tree is untouched


def test_min_rate_and_only(repo, capsys):
    assert mutation_check.main(["--repo", str(repo), "--min-rate", "0.3", "--no-baseline"]) == 0
    capsys.readouterr()
    only = ["--repo", str(repo), "--only", "add-minus", "--no-baseline"]
    assert mutation_check.main(only) == 0
    assert _results(capsys.readouterr().out) == {"add-minus": "killed"}
    assert mutation_check.main(["--repo", str(repo), "--only", "nope"]) == 2


def test_failing_baseline_stops_the_check(repo, capsys):
    _write(repo / "tests" / "test_calc.py", "def test_broken():\n    assert False\n")
    assert mutation_check.main(["--repo", str(repo)]) == 2
    assert "fail without any mutation" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\n", "expected a YAML list"),
        ("- {id: x, file: f, find: a, replace: b, bug: c}\n", "missing ['tests']"),
        ("- {id: x, file: f, find: a, replace: b, tests: [t], bug: c, extra: 1}\n", "unknown"),
        ("- {id: x, file: f, find: a, replace: a, tests: [t], bug: c}\n", "equals `find`"),
        (
            "- {id: x, file: f, find: a, replace: b, tests: [t], bug: c}\n"
            "- {id: x, file: g, find: a, replace: b, tests: [t], bug: c}\n",
            "duplicate id 'x'",
        ),
    ],
)
def test_invalid_mutation_files_are_rejected(tmp_path, text, message):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(mutation_check.MutationFileError, match=message.replace("[", r"\[")):
        mutation_check.load_mutations([path])


def test_core_mutations_apply_to_this_repository():
    """Every curated `find` occurs exactly once in its file (the edit still applies)."""
    mutations = mutation_check.load_mutations(sorted((ROOT / "mutation").glob("*.yaml")))
    assert len(mutations) >= 12
    for m in mutations:
        count = (ROOT / m.file).read_text().count(m.find)
        assert count == 1, f"{m.id}: `find` occurs {count} times in {m.file}"
