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


# -- issue 25, sample 2060912937: which run a copied out_dir holds; the lock's file ----

PART = "payments/year=2026/month=1/part-0.parquet"


def _owned(root, manifest_run=RUN, files=(PART,), inodes=None, current=True):
    """An owned out_dir as a copy leaves it (inode numbers not the recorded ones): real
    payments/ (one Parquet file) and catalog/, run RUN with a database, its manifest
    (naming `manifest_run`, listing `files`) and inodes.json (`inodes`, else bogus)."""
    from sqlgen.publish import ownership

    out = OutputDir(root)
    (root / PART).parent.mkdir(parents=True)
    (root / PART).write_bytes(b"p")
    (root / "catalog").mkdir()
    run = out.runs / RUN
    run.mkdir(parents=True)
    (run / "sqlgen.duckdb").write_bytes(b"db")
    manifest = {"run_id": manifest_run, "files": [{"path": f} for f in files]}
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "inodes.json").write_text(json.dumps(inodes or {"payments": 1, "catalog": 2}))
    ownership.mark(out)
    if current:
        os.symlink(f"runs/{RUN}", out.current)
    return out


def test_a_copied_payments_dir_is_ours_only_under_the_published_runs_manifest(tmp_path):
    from sqlgen.publish import ownership

    assert ownership.status(_owned(tmp_path / "a")) == "owned"
    # The same files, but the manifest in current/ names another run: not proven ours.
    other = _owned(tmp_path / "b", manifest_run="20261205T060000Z-ffffffff")
    with pytest.raises(SqlgenError, match="payments"):
        ownership.status(other)


def test_a_copied_out_dir_is_found_published_by_its_manifests_exact_file_set(tmp_path):
    assert _owned(tmp_path / "a", current=False).published_run() == RUN
    listed_more = (PART, "payments/year=2026/month=2/part-0.parquet")
    assert _owned(tmp_path / "b", files=listed_more, current=False).published_run() is None
    assert _owned(tmp_path / "c", files=(), current=False).published_run() is None


def test_a_run_is_published_by_inodes_only_if_both_directories_match(tmp_path):
    root = tmp_path / "out"
    out = _owned(root, files=(), current=False)  # the manifest proves nothing
    real = {n: os.lstat(root / n).st_ino for n in ("payments", "catalog")}
    off = {**real, "catalog": real["catalog"] + 1}
    (out.runs / RUN / "inodes.json").write_text(json.dumps(off))
    assert out.published_run() is None  # payments/ matches, catalog/ does not
    (out.runs / RUN / "inodes.json").write_text(json.dumps(real))
    assert out.published_run() == RUN


def test_current_is_broken_only_without_a_pending_publication(tmp_path):
    out = _owned(tmp_path / "out", current=False)
    assert out.current_is_broken()  # owned, real directories, no current, no journal
    out.journal.write_text("{}")
    assert not out.current_is_broken()  # a publication in progress completes it instead


def test_building_the_database_replaces_a_stale_temporary_file(tmp_path):
    import duckdb

    tmp = tmp_path / "sqlgen.duckdb.tmp"
    stale = duckdb.connect(str(tmp))
    stale.execute("CREATE TABLE stale AS SELECT 1 AS x")
    stale.close()
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 7 AS y")
    OutputDir(tmp_path / "out").build_database(con, [("", "t", None)], tmp)
    con.close()
    db = duckdb.connect(str(tmp), read_only=True)
    try:
        assert db.execute("SELECT table_name FROM information_schema.tables").fetchall() == [("t",)]
        assert db.execute("SELECT y FROM t").fetchall() == [(7,)]
    finally:
        db.close()


def test_the_lock_closes_its_file_when_released(tmp_path, monkeypatch):
    from sqlgen.publish import writer

    opened = []

    def tracking_open(*args, **kwargs):
        fh = open(*args, **kwargs)  # noqa: SIM115 - closed by the code under test
        opened.append(fh)
        return fh

    monkeypatch.setattr(writer, "open", tracking_open, raising=False)
    out = OutputDir(tmp_path / "out")
    with out.lock():
        assert [fh.closed for fh in opened] == [False]
        # A second run on the same out_dir is refused, and closes the file it opened.
        with pytest.raises(SqlgenError, match="another sqlgen run"), out.lock():
            pass
        assert [fh.closed for fh in opened] == [False, True]
    assert [fh.closed for fh in opened] == [True, True]
