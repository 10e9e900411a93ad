"""Rule-level tests of the out_dir's bookkeeping (`writer.OutputDir`) on hand-made
directories, no run needed: the journal's checks, what a failed run leaves, and the
lock's descriptor (issue 25, sample 94243745)."""

from __future__ import annotations

import json
import os

import pytest

from sqlgen.errors import SqlgenError
from sqlgen.publish.writer import OutputDir

RUN = "20261205T070000Z-0123abcd"


def _journal(tmp_path, entry) -> OutputDir:
    out = OutputDir(tmp_path)
    out.state.mkdir(parents=True)
    out.journal.write_text(json.dumps(entry))
    return out


@pytest.mark.parametrize("entry", [
    {"run_id": RUN, "inodes": {"payments": 1}},  # catalog's inode missing
    {"run_id": RUN, "inodes": {"payments": 1, "catalog": 2, "extra": 3}},
    {"run_id": "../x", "inodes": {"payments": 1, "catalog": 2}},  # not a run name
    {"run_id": RUN},
])
def test_a_journal_missing_a_directory_or_run_name_is_refused(tmp_path, entry):
    with pytest.raises(SqlgenError, match="unreadable"):
        _journal(tmp_path, entry).read_journal()


def test_a_well_formed_journal_is_read(tmp_path):
    entry = {"run_id": RUN, "inodes": {"payments": 1, "catalog": 2}, "previous": None}
    assert _journal(tmp_path, entry).read_journal() == entry
    assert OutputDir(tmp_path / "none").read_journal() is None


def test_a_failed_run_leaves_nothing_staged_or_promoted(tmp_path):
    out = OutputDir(tmp_path)
    payments, _ = out.stage(RUN)
    (payments / "part-0.parquet").write_bytes(b"x" * 100)
    (out.runs / RUN).mkdir(parents=True)
    out.abandon(RUN)
    assert not out.staged_run(RUN).exists() and not (out.runs / RUN).exists()


def test_tidying_before_reading_closes_the_lock_file(tmp_path):
    out = _journal(tmp_path, {"run_id": RUN})  # unreadable: a warning, nothing done
    (out.state / "lock").touch()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        out.recover_for_reading()
    assert len(os.listdir("/proc/self/fd")) == before


def _first_layout(root):
    """An out_dir of the first layout: real payments/ and catalog/, a database file,
    `.sqlgen/lock` and no owner marker."""
    for name in ("payments", "catalog"):
        (root / name).mkdir(parents=True)
    (root / "payments" / "part-0.parquet").write_bytes(b"p")
    (root / "sqlgen.duckdb").write_bytes(b"db")
    (root / ".sqlgen").mkdir()
    (root / ".sqlgen" / "lock").touch()
    return OutputDir(root)


def test_claiming_a_first_layout_out_dir_converts_it_once_and_marks_it(tmp_path):
    from sqlgen.publish import ownership

    out = _first_layout(tmp_path / "out")
    inode = os.lstat(out.root / "payments").st_ino
    assert ownership.status(out) == "legacy"
    ownership.claim(out, "legacy")
    # Marked as ours (the next run sees an owned out_dir, not the first layout again).
    marker = json.loads((out.state / ownership.OWNER).read_text())
    assert marker == {"created_by": "sqlgen", "layout": 2}
    assert ownership.status(out) == "owned"
    # The database moved behind sqlgen's link; the real directories stay where they are.
    assert out.is_our_link("sqlgen.duckdb")
    assert (out.runs / ownership.LEGACY_RUN / "sqlgen.duckdb").read_bytes() == b"db"
    assert os.lstat(out.root / "payments").st_ino == inode


@pytest.mark.parametrize("kind", ["owned", "new"])
def test_claiming_an_owned_or_new_out_dir_converts_nothing(tmp_path, kind):
    from sqlgen.publish import ownership

    out = _first_layout(tmp_path / "out")
    ownership.claim(out, kind)
    assert not out.runs.exists() and not (out.state / ownership.OWNER).exists()
    assert (out.root / "sqlgen.duckdb").read_bytes() == b"db"


def test_the_database_link_is_made_once_and_durably(tmp_path, monkeypatch):
    out = OutputDir(tmp_path)
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out.ensure_links()
    assert out.is_our_link("sqlgen.duckdb")
    assert os.path.realpath(tmp_path) in synced  # the new link's directory entry
    synced.clear()
    out.ensure_links()  # already there: nothing to do, nothing to sync
    assert synced == []
