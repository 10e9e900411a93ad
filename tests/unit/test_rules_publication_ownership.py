"""Rule-level tests of which out_dirs sqlgen may write (`sqlgen.publish.ownership`) on
hand-made directories: the kinds `status` tells apart, each entry it refuses or
accepts, outputs nested in outputs (through symlinks too), the published directories
of a copied out_dir, and the conversion of the first layout."""

from __future__ import annotations

import json
import os

import pytest

from sqlgen.errors import SqlgenError
from sqlgen.publish import ownership
from sqlgen.publish.writer import OutputDir

RUN = "20261205T070000Z-0123abcd"
PART = "payments/year=2026/month=1/part-0.parquet"


def _owned(root, current=True, manifest_run=RUN, files=(PART,), catalog_files=()):
    """An owned out_dir whose payments/ and catalog/ are not the recorded inodes (a
    copy): their files, the run's manifest (`files`, `catalog_files`), a bogus
    inodes.json, and `current` (or not)."""
    out = OutputDir(root)
    (root / PART).parent.mkdir(parents=True)
    (root / PART).write_bytes(b"p")
    (root / "catalog").mkdir()
    run = out.runs / RUN
    run.mkdir(parents=True)
    manifest = {"run_id": manifest_run, "files": [{"path": f} for f in files],
                "catalog_files": [{"path": f} for f in catalog_files]}
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "inodes.json").write_text(json.dumps({"payments": 1, "catalog": 2}))
    ownership.mark(out)
    if current:
        os.symlink(f"runs/{RUN}", out.current)
    return out


def test_the_kinds_of_out_dir(tmp_path):
    assert ownership.status(OutputDir(tmp_path / "missing")) == "new"
    (tmp_path / "empty" / ".sqlgen").mkdir(parents=True)  # a first run killed early
    assert ownership.status(OutputDir(tmp_path / "empty")) == "new"
    (tmp_path / "legacy" / ".sqlgen").mkdir(parents=True)
    (tmp_path / "legacy" / ".sqlgen" / "lock").touch()
    assert ownership.status(OutputDir(tmp_path / "legacy")) == "legacy"
    assert ownership.status(_owned(tmp_path / "owned")) == "owned"


@pytest.mark.parametrize("make", ["state_file", "state_entry", "state_symlink"])
def test_a_state_dir_sqlgen_did_not_make_is_refused(tmp_path, make):
    root = tmp_path / "out"
    root.mkdir()
    if make == "state_file":
        (root / ".sqlgen").write_text("x")
    elif make == "state_entry":
        (root / ".sqlgen").mkdir()
        (root / ".sqlgen" / "notes").write_text("x")
    else:
        (tmp_path / "elsewhere").mkdir()  # an empty directory, but reached by a symlink
        (root / ".sqlgen").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SqlgenError, match=r"\.sqlgen exists and was not made by sqlgen"):
        ownership.status(OutputDir(root))


def test_an_out_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(SqlgenError, match="exists and is not a directory"):
        ownership.status(OutputDir(tmp_path / "f"))


@pytest.mark.parametrize("marker", ["owner", "lock"])
def test_an_out_dir_inside_an_output_is_refused_also_through_a_symlink(tmp_path, marker):
    outer = tmp_path / "outer"
    (outer / ".sqlgen").mkdir(parents=True)
    (outer / ".sqlgen" / marker).touch()
    with pytest.raises(SqlgenError, match=f"is inside the sqlgen output {outer}"):
        ownership.status(OutputDir(outer / "payments" / "inner"))
    (tmp_path / "link").symlink_to(outer / "catalog")  # resolves inside the output
    with pytest.raises(SqlgenError, match="is inside the sqlgen output"):
        ownership.status(OutputDir(tmp_path / "link" / "x"))
    assert ownership.status(OutputDir(tmp_path / "beside")) == "new"


@pytest.mark.parametrize("name", ["payments", "catalog", "sqlgen.duckdb"])
def test_a_published_name_in_a_new_out_dir_is_refused(tmp_path, name):
    root = tmp_path / "out"
    root.mkdir()
    (root / name).mkdir()
    with pytest.raises(SqlgenError, match=f"{name} exists and was not made by sqlgen"):
        ownership.status(OutputDir(root))


def test_the_first_layouts_real_entries_are_accepted_not_symlinks(tmp_path):
    root = tmp_path / "out"
    (root / ".sqlgen").mkdir(parents=True)
    (root / ".sqlgen" / "lock").touch()
    (root / "payments").mkdir()
    (root / "sqlgen.duckdb").write_text("db")
    assert ownership.status(OutputDir(root)) == "legacy"
    (root / "catalog").symlink_to(tmp_path)  # a symlink it did not make
    with pytest.raises(SqlgenError, match="catalog exists and was not made by sqlgen"):
        ownership.status(OutputDir(root))


def test_a_database_file_in_an_owned_out_dir_is_refused(tmp_path):
    out = _owned(tmp_path / "out")
    out.database.write_text("not the link")
    with pytest.raises(SqlgenError, match=r"sqlgen\.duckdb exists and was not made"):
        ownership.status(out)
    out.database.unlink()
    out.ensure_links()
    assert ownership.status(out) == "owned"


def test_the_recorded_inode_proves_a_directory_ours(tmp_path):
    out = _owned(tmp_path / "out", files=())  # the manifest alone proves nothing
    with pytest.raises(SqlgenError, match="payments exists"):
        ownership.status(out)
    inodes = {n: os.lstat(out.root / n).st_ino for n in ("payments", "catalog")}
    (out.runs / RUN / "inodes.json").write_text(json.dumps(inodes))
    assert ownership.status(out) == "owned"
    assert not ownership._published_dir(out, "sqlgen.duckdb")  # never a directory


def test_a_copied_catalog_holds_only_the_manifests_catalog_files(tmp_path):
    out = _owned(tmp_path / "out", catalog_files=("catalog/cards.parquet",))
    assert ownership._published_dir(out, "catalog")  # empty: nothing foreign in it
    (out.root / "catalog" / "cards.parquet").write_text("c")
    assert ownership._published_dir(out, "catalog")
    (out.root / "catalog" / "mine.txt").write_text("m")
    assert not ownership._published_dir(out, "catalog")
    with pytest.raises(SqlgenError, match="catalog exists"):
        ownership.status(out)


def test_a_copied_payments_dir_must_hold_exactly_the_listed_files(tmp_path):
    out = _owned(tmp_path / "out")
    assert ownership._published_dir(out, "payments")
    (out.root / "payments" / "extra.parquet").write_text("x")
    assert not ownership._published_dir(out, "payments")


def test_a_symlink_or_a_file_is_never_a_published_directory(tmp_path):
    out = _owned(tmp_path / "out")
    os.rename(out.root / "payments", tmp_path / "real")
    (out.root / "payments").symlink_to(tmp_path / "real")
    assert not ownership._published_dir(out, "payments")
    (out.root / "payments").unlink()
    (out.root / "payments").write_text("file")
    assert not ownership._published_dir(out, "payments")


def test_without_current_or_with_a_broken_manifest_nothing_is_proven(tmp_path):
    out = _owned(tmp_path / "a", current=False)
    assert not ownership._published_dir(out, "payments")
    out = _owned(tmp_path / "b")
    (out.runs / RUN / "manifest.json").write_text("{")
    assert not ownership._published_dir(out, "payments")
    (out.runs / RUN / "manifest.json").write_text(json.dumps({"run_id": RUN}))  # no files
    assert not ownership._published_dir(out, "payments")


def test_converting_the_first_layout_keeps_a_current_and_a_link_already_there(tmp_path):
    root = tmp_path / "out"
    (root / ".sqlgen").mkdir(parents=True)
    (root / ".sqlgen" / "lock").touch()
    out = OutputDir(root)
    # Killed halfway before: current and the link exist, payments/ and catalog/ not yet.
    os.symlink("runs/legacy", out.current)
    out.ensure_links()
    ownership.claim(out, "legacy")
    assert all((root / n).is_dir() and not (root / n).is_symlink()
               for n in ("payments", "catalog"))
    inodes = json.loads((out.runs / "legacy" / "inodes.json").read_text())
    assert inodes == {n: os.lstat(root / n).st_ino for n in ("payments", "catalog")}
    assert out.current_run_name() == "legacy" and out.is_our_link("sqlgen.duckdb")
    assert not (out.runs / "legacy" / "sqlgen.duckdb").exists()  # the link is not moved
    assert (out.state / "owner").is_file()
