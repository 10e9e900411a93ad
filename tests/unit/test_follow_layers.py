"""tools/follow_layers.py: flat module paths to the layer folders, once."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("follow_layers", ROOT / "tools/follow_layers.py")
follow_layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(follow_layers)
follow = follow_layers.follow

OLD = """from sqlgen import errors, networks, writer as w
from sqlgen.world import World
from sqlgen.inspect import run_sql
import sqlgen.tasks
    from sqlgen.draws import Devices  # v2
monkeypatch.setattr("sqlgen.writer.os.rename", boom)
file: sqlgen/episodes.py
"""
NEW = """from sqlgen import errors
from sqlgen.world import networks
from sqlgen.publish import writer as w
from sqlgen.world.world import World
from sqlgen.inspect.inspect import run_sql
import sqlgen.execute.tasks
    from sqlgen.generate.draws import Devices  # v2
monkeypatch.setattr("sqlgen.publish.writer.os.rename", boom)
file: sqlgen/generate/episodes.py
"""


def test_flat_paths_follow_the_layers():
    assert follow(OLD) == NEW


def test_new_layout_is_left_alone():
    assert follow(NEW) == NEW
    kept = "from sqlgen.world import money, world\nfrom sqlgen.inspect import inspect, tables\n"
    assert follow(kept) == kept


def test_the_repository_is_already_in_the_new_layout():
    for path in [*ROOT.glob("sqlgen/**/*.py"), *ROOT.glob("tests/**/*.py")]:
        if path == Path(__file__).resolve():
            continue  # OLD above
        text = path.read_text(encoding="utf-8")
        assert follow(text) == text, path
