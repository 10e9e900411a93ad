"""Out_dirs written before the manifest left `payments/` (and before unpadded month
directories) stay readable, and the next run takes them over, copied ones included."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from sqlgen.config import with_overrides
from sqlgen.errors import SqlgenError
from sqlgen.inspect.inspect import run_sql
from sqlgen.publish.validate import validate
from sqlgen.publish.writer import OutputDir, add_payments_view
from sqlgen.runner import run


@pytest.fixture
def cfg(tiny):
    cfg = with_overrides(tiny, realism="v3")  # the default level (tiny.yaml says v2)
    run(cfg, show_progress=False)
    return cfg


def to_earlier_layout(out: Path) -> dict:
    """Rewrite the published run as earlier versions left it: `month=01` directories,
    the manifest in `payments/_manifest.json` (none in the run directory), the
    database's view over those files."""
    state = OutputDir(out)
    manifest = state.read_manifest()
    run_dir = Path(os.path.realpath(state.current))
    for month in sorted((out / "payments").glob("year=*/month=*")):
        os.rename(month, month.with_name(f"month={int(month.name[6:]):02d}"))
    for entry in manifest["files"]:
        entry["path"] = re.sub(
            r"/month=(\d+)/", lambda m: f"/month={int(m[1]):02d}/", entry["path"]
        )
    (run_dir / "manifest.json").unlink()
    (out / "payments" / "_manifest.json").write_text(json.dumps(manifest))
    add_payments_view(run_dir / "sqlgen.duckdb", out, manifest)
    return manifest


def assert_current_layout(out: Path) -> dict:
    manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
    names = {str(p.relative_to(out / "payments")) for p in (out / "payments").rglob("*")}
    assert "_manifest.json" not in names
    assert not any(re.search(r"month=0\d", n) for n in names), names
    assert validate(out)[0] == []
    return manifest


def test_an_earlier_layout_stays_readable(cfg):
    out = cfg.out_dir
    manifest = to_earlier_layout(out)
    assert OutputDir(out).read_manifest()["run_id"] == manifest["run_id"]
    problems, summary = validate(out)
    assert problems == [] and manifest["run_id"] in summary
    january = sum(f["rows"] for f in manifest["files"] if "/month=01/" in f["path"])
    assert f"{january}" in run_sql(out, "SELECT count(*) FROM payments WHERE month < 2")


def test_the_next_run_takes_an_earlier_layout_over(cfg):
    old = to_earlier_layout(cfg.out_dir)
    run(with_overrides(cfg, seed=8), show_progress=False)
    new = assert_current_layout(cfg.out_dir)
    assert new["run_id"] != old["run_id"] and new["seed"] == 8


def test_a_copied_earlier_layout_is_still_ours(cfg, tmp_path):
    to_earlier_layout(cfg.out_dir)
    copy = tmp_path / "copy"
    shutil.copytree(cfg.out_dir, copy, symlinks=True)  # new inode numbers
    run(with_overrides(cfg, out_dir=copy, seed=8), show_progress=False)
    assert assert_current_layout(copy)["seed"] == 8


def test_a_copied_out_dir_is_recognised_by_its_files(cfg, tmp_path):
    """No manifest in payments/ any more: a copy's payments/ is sqlgen's when it holds
    exactly the files of the run the copied `.sqlgen/current` names."""
    copy = tmp_path / "copy"
    shutil.copytree(cfg.out_dir, copy, symlinks=True)
    victim = sorted((copy / "payments").rglob("*.parquet"))[0]
    os.rename(victim, tmp_path / "aside.parquet")
    with pytest.raises(SqlgenError, match="payments exists and was not made by sqlgen"):
        run(with_overrides(cfg, out_dir=copy, seed=8), show_progress=False)
    os.rename(tmp_path / "aside.parquet", victim)
    run(with_overrides(cfg, out_dir=copy, seed=8), show_progress=False)
    assert assert_current_layout(copy)["seed"] == 8
