"""Rule-level tests of the out_dir's helpers (`sqlgen.publish.writer`) on hand-made
directories: fsync of a tree, atomic replacement, the exchange, path checks, the
`current` pointer, recorded inode numbers, the lock, cleanup of older runs, the roll-back
of an untouched journal, repair of a broken `current`, the manifest and the view."""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
from pathlib import Path

import pytest

import sqlgen.publish.writer as writer
from sqlgen.errors import SqlgenError
from sqlgen.publish import ownership
from sqlgen.publish.writer import OutputDir

RUN1 = "20261205T070000Z-00000001"
RUN2 = "20261205T080000Z-00000002"


def _fsyncs(monkeypatch) -> list[str]:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


# -- fsync and atomic replacement -------------------------------------------------------


def test_sync_tree_syncs_files_then_directories_bottom_up_not_through_symlinks(
        tmp_path, monkeypatch):
    root = tmp_path / "run"
    (root / "sub" / "deep").mkdir(parents=True)
    for f in ("a", "sub/b", "sub/deep/c"):
        (root / f).write_text(f)
    outside = tmp_path / "outside"
    outside.write_text("not ours")
    (root / "sub" / "link").symlink_to(outside)
    fds = len(os.listdir("/proc/self/fd"))
    synced = _fsyncs(monkeypatch)
    writer.sync_tree(root)
    monkeypatch.undo()
    files = {str(root / f) for f in ("a", "sub/b", "sub/deep/c")}
    dirs = [str(root / "sub" / "deep"), str(root / "sub"), str(root)]
    assert set(synced[:3]) == files  # every file first, the symlink's target never
    assert synced[3:] == dirs  # then each directory after those below it
    assert len(os.listdir("/proc/self/fd")) == fds  # every descriptor closed


def test_write_atomically_syncs_the_temporary_file_renames_it_then_syncs_the_directory(
        tmp_path, monkeypatch):
    path = tmp_path / "publish.json"
    path.write_text("old")
    events = []
    real_rename = os.rename
    synced = _fsyncs(monkeypatch)
    monkeypatch.setattr(os, "rename", lambda a, b: (events.append((str(a), str(b))),
                                                    real_rename(a, b)))
    writer.write_atomically(path, b"new")
    monkeypatch.undo()
    assert synced == [str(tmp_path / "publish.json.tmp"), str(tmp_path)]
    assert events == [(str(tmp_path / "publish.json.tmp"), str(path))]
    assert path.read_text() == "new" and not (tmp_path / "publish.json.tmp").exists()


# -- the exchange, inodes, real directories ---------------------------------------------


def test_exchange_paths_swaps_two_entries_relative_to_the_working_directory(
        tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "mark").write_text("a")
    (tmp_path / "b").write_text("b")  # a directory and a file: any two entries
    monkeypatch.chdir(tmp_path)
    assert writer.exchange_paths(Path("a"), Path("b")) is True
    assert (tmp_path / "a").read_text() == "b"
    assert (tmp_path / "b" / "mark").read_text() == "a"


def test_exchange_paths_raises_on_a_missing_path(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(OSError) as info:
        writer.exchange_paths(tmp_path / "a", tmp_path / "missing")
    assert info.value.errno == errno.ENOENT
    assert (tmp_path / "a").is_dir()


def test_exchange_paths_is_false_where_the_filesystem_cannot(monkeypatch):
    class Libc:
        @staticmethod
        def renameat2(*args):
            Libc.args = args
            import ctypes

            ctypes.set_errno(errno.EINVAL)
            return -1

    monkeypatch.setattr(writer.ctypes, "CDLL", lambda *a, **k: Libc)
    assert writer.exchange_paths(Path("/x/a"), Path("/x/b")) is False
    # AT_FDCWD (-100) for both, and the RENAME_EXCHANGE flag (2).
    assert Libc.args == (-100, b"/x/a", -100, b"/x/b", 2)


def test_lstat_inode_and_real_directory_do_not_follow_symlinks(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "d")
    assert writer.is_real_dir(tmp_path / "d") and not writer.is_real_dir(tmp_path / "link")
    assert not writer.is_real_dir(tmp_path / "missing")
    assert writer._lstat_ino(tmp_path / "link") == os.lstat(tmp_path / "link").st_ino
    assert writer._lstat_ino(tmp_path / "link") != os.stat(tmp_path / "d").st_ino
    assert writer._lstat_ino(tmp_path / "missing") is None


# -- paths DuckDB cannot open -----------------------------------------------------------


@pytest.mark.parametrize(("name", "said"), [("a?b", "'?'"), ("a\\b", "'\\'"),
                                            ("a?\\b", "'?' and '\\'")])
def test_out_dir_names_duckdb_cannot_open_are_refused(tmp_path, name, said):
    with pytest.raises(SqlgenError, match="contains " + re.escape(said) + ", which"):
        OutputDir(tmp_path / name)


def test_a_symlinked_out_dir_is_checked_where_it_resolves(tmp_path):
    (tmp_path / "a?b").mkdir()
    (tmp_path / "plain").symlink_to(tmp_path / "a?b")
    with pytest.raises(SqlgenError, match=r"a\?b contains '\?'"):
        OutputDir(tmp_path / "plain")
    OutputDir(tmp_path / "fine")  # nothing to refuse


def test_an_empty_out_dir_is_refused():
    with pytest.raises(SqlgenError, match="out_dir is empty"):
        OutputDir("")


# -- the current pointer, the database link, the manifest's place -----------------------


def test_point_current_replaces_a_stale_pointer_then_swaps_durably(tmp_path, monkeypatch):
    out = OutputDir(tmp_path)
    out.state.mkdir()
    (out.state / "current.new").write_text("stale")
    os.symlink(f"runs/{RUN1}", out.current)
    events = []
    synced = _fsyncs(monkeypatch)
    real_symlink, real_rename = os.symlink, os.rename
    monkeypatch.setattr(os, "symlink", lambda a, b: (events.append(("symlink", str(b), a)),
                                                     real_symlink(a, b)))
    monkeypatch.setattr(os, "rename", lambda a, b: (events.append(("rename", str(a), str(b))),
                                                    real_rename(a, b)))
    out.point_current(RUN2, lambda step: events.append(("fault", step)))
    monkeypatch.undo()
    new = str(out.state / "current.new")
    assert events == [("fault", "symlink"), ("symlink", new, f"runs/{RUN2}"),
                      ("fault", "swap"), ("rename", new, str(out.current))]
    assert synced == [str(out.state)]
    assert out.current_run_name() == RUN2 and not os.path.lexists(new)


def test_current_run_name_reads_only_a_symlink(tmp_path):
    out = OutputDir(tmp_path)
    assert out.current_run_name() is None
    out.current.mkdir(parents=True)  # a real directory is not a pointer
    assert out.current_run_name() is None


def test_is_our_link_needs_a_symlink_to_exactly_our_target(tmp_path):
    out = OutputDir(tmp_path)
    assert OutputDir.link_target("sqlgen.duckdb") == ".sqlgen/current/sqlgen.duckdb"
    (tmp_path / "sqlgen.duckdb").symlink_to("elsewhere/sqlgen.duckdb")
    assert not out.is_our_link("sqlgen.duckdb")
    with pytest.raises(FileExistsError):
        out.ensure_links()  # never replaces what is there
    (tmp_path / "sqlgen.duckdb").unlink()
    (tmp_path / "sqlgen.duckdb").write_text("a file")
    assert not out.is_our_link("sqlgen.duckdb")
    assert set(out.published_links()) == {"payments", "catalog", "sqlgen.duckdb"}


def test_the_manifest_is_the_runs_or_an_earlier_versions_in_payments(tmp_path):
    out = OutputDir(tmp_path)
    new = out.state / "current" / "manifest.json"
    legacy = tmp_path / "payments" / "_manifest.json"
    assert out.manifest_file() == new  # neither: the place it belongs
    legacy.parent.mkdir()
    legacy.write_text("{}")
    assert out.manifest_file() == legacy
    new.parent.mkdir(parents=True)
    new.write_text("{}")
    assert out.manifest_file() == new  # the run's own wins


def test_recorded_inodes_come_from_the_journal_and_the_published_run(tmp_path):
    out = OutputDir(tmp_path)
    (out.runs / RUN1).mkdir(parents=True)
    os.symlink(f"runs/{RUN1}", out.current)
    (out.runs / RUN1 / "inodes.json").write_text(json.dumps({"payments": 21, "catalog": 22}))
    assert out.recorded_inodes("payments") == {21}
    out.journal.write_text(json.dumps({"run_id": RUN2,
                                       "inodes": {"payments": 11, "catalog": 12}}))
    assert out.recorded_inodes("payments") == {11, 21}
    assert out.recorded_inodes("catalog") == {12, 22}
    out.journal.write_text("not json")  # unreadable: ignored, not an error
    assert out.recorded_inodes("catalog") == {22}


# -- the lock ---------------------------------------------------------------------------


def test_the_lock_marks_a_new_out_dir_and_is_exclusive_while_held(tmp_path):
    out = OutputDir(tmp_path / "out")
    with out.lock():
        marker = json.loads((out.state / ownership.OWNER).read_text())
        assert marker["created_by"] == "sqlgen"
        fd = os.open(out.state / "lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(out.state / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released
    finally:
        os.close(fd)


# -- a published out_dir, hand-made -----------------------------------------------------


def _published(root: Path, run_id: str = RUN1, current: bool = True) -> OutputDir:
    """An owned out_dir where `run_id` is published: real payments/ and catalog/ whose
    inode numbers its inodes.json records, a database, and (if `current`) the pointer."""
    out = OutputDir(root)
    for name in ("payments", "catalog"):
        (root / name).mkdir(parents=True)
    run = out.runs / run_id
    run.mkdir(parents=True)
    (run / "sqlgen.duckdb").write_text(run_id)
    inodes = {n: os.lstat(root / n).st_ino for n in ("payments", "catalog")}
    (run / "inodes.json").write_text(json.dumps(inodes))
    ownership.mark(out)
    (out.state / "lock").touch()
    if current:
        os.symlink(f"runs/{run_id}", out.current)
    return out


def test_remove_old_runs_keeps_the_published_run_and_what_is_not_a_run(tmp_path):
    out = _published(tmp_path)
    for name in (RUN2, "legacy", "notes"):
        (out.runs / name).mkdir()
    (out.runs / "20261205T060000Z-00000000").symlink_to(tmp_path / "payments")
    # Directories the publication displaced, inside the published run.
    (out.runs / RUN1 / "payments").mkdir()
    (out.runs / RUN1 / "catalog.prev").mkdir()
    (out.runs / RUN1 / "payments.prev").symlink_to(tmp_path / "catalog")
    # While a publication is pending: nothing is removed.
    out.journal.write_text("{}")
    out.remove_old_runs()
    assert (out.runs / RUN2).is_dir() and (out.runs / RUN1 / "payments").is_dir()
    out.journal.unlink()
    out.remove_old_runs()
    assert sorted(p.name for p in out.runs.iterdir()) == [
        "20261205T060000Z-00000000", RUN1, "notes"]
    assert sorted(p.name for p in (out.runs / RUN1).iterdir()) == ["inodes.json",
                                                                    "sqlgen.duckdb"]
    assert (tmp_path / "catalog").is_dir()  # a symlink is unlinked, never followed


def test_remove_old_runs_keeps_the_run_directory_of_the_symlinked_layout(tmp_path):
    # Previous layout: out_dir/payments is a symlink through current, the run's own
    # payments/ is the published one.
    out = _published(tmp_path)
    (tmp_path / "payments").rmdir()
    (tmp_path / "payments").symlink_to(".sqlgen/current/payments")
    (out.runs / RUN1 / "payments").mkdir()
    (out.runs / RUN1 / "catalog").mkdir()
    out.remove_old_runs()
    assert (out.runs / RUN1 / "payments").is_dir()
    assert not (out.runs / RUN1 / "catalog").exists()  # catalog/ is real: displaced


def test_without_a_published_run_every_run_directory_goes(tmp_path):
    out = _published(tmp_path, current=False)
    (out.runs / RUN2).mkdir()
    out.remove_old_runs()
    assert list(out.runs.iterdir()) == []


def test_sweep_removes_what_killed_runs_left(tmp_path):
    out = _published(tmp_path)
    (out.staging / RUN2 / "payments").mkdir(parents=True)
    (out.state / "current.new").symlink_to("runs/x")
    (out.state / "publish.json.tmp").write_text("{")
    (out.runs / RUN2).mkdir()
    out.sweep()
    assert sorted(p.name for p in out.state.iterdir()) == ["current", "lock", "owner", "runs"]
    assert [p.name for p in out.runs.iterdir()] == [RUN1]


def test_committed_reads_the_pointer_and_the_journal(tmp_path):
    out = _published(tmp_path)
    assert out.committed(RUN1) and not out.committed(RUN2)
    out.journal.write_text(json.dumps({"run_id": RUN2,
                                       "inodes": {"payments": 1, "catalog": 2}}))
    assert out.committed(RUN2) and not out.committed(RUN1)  # RUN1 is being replaced
    out.journal.write_text("{")  # unreadable: nothing is proven committed
    assert not out.committed(RUN2) and not out.committed(RUN1)


def _journal(out: OutputDir, run_id: str, inodes: dict) -> None:
    out.journal.write_text(json.dumps({"run_id": run_id, "inodes": inodes}))


def test_an_untouched_journal_is_rolled_back_durably(tmp_path, monkeypatch):
    out = _published(tmp_path)
    (out.runs / RUN2).mkdir()
    _journal(out, RUN2, {"payments": 1, "catalog": 2})
    assert not out.abandon_if_untouched(RUN1)  # another run's journal: kept
    assert out.journal.exists()
    synced = _fsyncs(monkeypatch)
    assert out.abandon_if_untouched(RUN2)
    assert not out.journal.exists() and synced == [str(out.state)]
    assert not out.abandon_if_untouched(RUN2)  # no journal now


@pytest.mark.parametrize("moved", ["payments", "catalog", "prev", "current"])
def test_a_journal_is_not_rolled_back_once_anything_moved(tmp_path, moved):
    out = _published(tmp_path)
    run = out.runs / RUN2
    run.mkdir()
    inodes = {"payments": 1, "catalog": 2}
    if moved in ("payments", "catalog"):  # that directory was exchanged already
        inodes[moved] = os.lstat(tmp_path / moved).st_ino
    elif moved == "prev":  # the fallback moved the published catalog aside
        (run / "catalog.prev").mkdir()
    else:
        os.unlink(out.current)
        os.symlink(f"runs/{RUN2}", out.current)
    _journal(out, RUN2, inodes)
    assert not out.abandon_if_untouched(RUN2)
    assert out.journal.exists()


def test_current_is_broken_needs_every_condition(tmp_path):
    out = _published(tmp_path, current=False)
    assert out.current_is_broken()
    os.symlink("runs/gone", out.current)  # dangling: broken too
    assert out.current_is_broken()
    os.unlink(out.current)
    os.symlink(f"runs/{RUN1}", out.current)  # fine
    assert not out.current_is_broken()
    os.unlink(out.current)
    (tmp_path / "catalog").rmdir()  # no published catalog/: nothing to repair
    assert not out.current_is_broken()
    (tmp_path / "catalog").mkdir()
    (out.state / "owner").unlink()  # not ours
    assert not out.current_is_broken()


def test_repair_points_current_at_the_run_proven_published(tmp_path, caplog):
    out = _published(tmp_path, current=False)
    # A run with no database (sorted first): never the published one, even with the
    # right inode numbers; nor a directory whose name is not a run's.
    for name in ("20261205T060000Z-00000000", "0-not-a-run"):
        (out.runs / name).mkdir()
        (out.runs / name / "inodes.json").write_text(
            (out.runs / RUN1 / "inodes.json").read_text())
    (out.runs / "0-not-a-run" / "sqlgen.duckdb").write_text("db")
    with caplog.at_level(logging.WARNING, logger="sqlgen"):
        out.repair_current()
    assert out.current_run_name() == RUN1
    assert "missing: re-pointed at run " + RUN1 in caplog.text
    out.repair_current()  # not broken now: nothing to do
    assert out.current_run_name() == RUN1


def test_repair_without_a_proven_run_says_what_to_do(tmp_path):
    out = _published(tmp_path, current=False)
    (out.runs / RUN1 / "inodes.json").write_text(json.dumps({"payments": 1, "catalog": 2}))
    os.symlink("runs/gone", out.current)
    with pytest.raises(SqlgenError, match="is dangling and no run under"):
        out.repair_current()


def test_an_earlier_versions_copy_is_published_by_its_legacy_manifest(tmp_path):
    out = _published(tmp_path, current=False)
    (out.runs / RUN1 / "inodes.json").write_text(json.dumps({"payments": 1, "catalog": 2}))
    (tmp_path / "payments" / "x.parquet").write_text("p")  # no run manifest lists it
    (tmp_path / "payments" / "_manifest.json").write_text(json.dumps({"run_id": RUN1}))
    assert out.published_run() == RUN1
    (tmp_path / "payments" / "_manifest.json").write_text(json.dumps({"run_id": RUN2}))
    assert out.published_run() is None


def test_reading_repairs_current_unless_a_run_holds_the_lock(tmp_path):
    out = _published(tmp_path, current=False)
    fd = os.open(out.state / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fds = len(os.listdir("/proc/self/fd"))
        out.recover_for_reading()  # a run is live: left alone
        assert out.current_run_name() is None
        assert len(os.listdir("/proc/self/fd")) == fds  # its probe of the lock closed
    finally:
        os.close(fd)
    out.recover_for_reading()
    assert out.current_run_name() == RUN1
    # The lock file is free again afterwards.
    fd = os.open(out.state / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


def test_taking_the_lock_repairs_a_missing_current_first(tmp_path):
    out = _published(tmp_path, current=False)
    with out.lock():
        assert out.current_run_name() == RUN1


def test_taking_the_lock_converts_a_first_layout_out_dir(tmp_path):
    root = tmp_path / "out"
    (root / "payments").mkdir(parents=True)
    (root / "sqlgen.duckdb").write_text("db")
    (root / ".sqlgen").mkdir()
    (root / ".sqlgen" / "lock").touch()
    out = OutputDir(root)
    with out.lock():
        assert out.is_our_link("sqlgen.duckdb") and out.current_run_name() == "legacy"
    assert (out.runs / "legacy" / "sqlgen.duckdb").read_text() == "db"
    assert ownership.status(out) == "owned"


def test_a_fault_before_cleanup_is_a_warning_and_removes_nothing(tmp_path, monkeypatch,
                                                                 caplog):
    out = _published(tmp_path)
    (out.runs / RUN2).mkdir()
    steps = []

    def fault(step):
        steps.append(step)
        raise OSError(errno.EIO, "injected")

    monkeypatch.setattr(writer, "fault_point", fault)
    with caplog.at_level(logging.WARNING, logger="sqlgen"):
        out.cleanup_after_publish()
    assert steps == ["cleanup"] and (out.runs / RUN2).is_dir()
    assert "could not remove older runs" in caplog.text
    monkeypatch.undo()
    out.cleanup_after_publish()
    assert not (out.runs / RUN2).exists()


def test_a_failed_cleanup_is_a_warning(tmp_path, monkeypatch, caplog):
    out = _published(tmp_path)

    def fail():
        raise OSError(errno.EACCES, "denied")

    monkeypatch.setattr(out, "remove_old_runs", fail)
    with caplog.at_level(logging.WARNING, logger="sqlgen"):
        out.cleanup_after_publish()
    assert "could not remove older runs" in caplog.text


# -- the manifest and the view ----------------------------------------------------------


def test_the_manifest_is_written_beside_the_staged_run_with_an_empty_success(tmp_path):
    out = OutputDir(tmp_path)
    out.stage(RUN1)
    out.write_manifest(RUN1, {"run_id": RUN1, "b": 1, "a": [2]})
    body = (out.staged_run(RUN1) / "manifest.json").read_text()
    assert json.loads(body) == {"run_id": RUN1, "b": 1, "a": [2]}
    assert body.index('"a"') < body.index('"b"')  # sorted keys
    assert (out.staged_run(RUN1) / "payments" / "_SUCCESS").read_bytes() == b""


def test_reading_a_missing_or_broken_manifest_says_so(tmp_path):
    out = _published(tmp_path)
    with pytest.raises(SqlgenError, match=r"no published run \(missing "
                                          r"\.sqlgen/current/manifest\.json\)"):
        out.read_manifest()
    (out.runs / RUN1 / "manifest.json").write_text("{")
    with pytest.raises(SqlgenError, match="is not valid JSON"):
        out.read_manifest()
    (out.runs / RUN1 / "manifest.json").write_text('{"run_id": "x"}')
    assert out.read_manifest() == {"run_id": "x"}


def test_the_view_reads_the_published_files_beside_the_database(tmp_path):
    import duckdb

    root = tmp_path / "out"
    out = _published(root)
    rel = "payments/year=2026/month=3/part-0.parquet"
    (root / rel).parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 7 AS x UNION ALL SELECT 8) TO '{root / rel}' (FORMAT parquet)")
    # A second file in payments/ that the manifest does not list: never read.
    con.execute(f"COPY (SELECT 99 AS x) TO '{root / 'payments/stray.parquet'}' "
                "(FORMAT parquet)")
    con.close()
    database = out.runs / RUN1 / "sqlgen.duckdb"
    database.unlink()
    manifest = {"run_id": RUN1, "files": [{"path": rel}]}
    assert writer.published_files(root, manifest) == [os.path.realpath(root) + "/" + rel]
    assert writer.database_marker(RUN1) == f"/.sqlgen/runs/{RUN1}/sqlgen.duckdb.tmp"
    writer.add_payments_view(database, root, manifest)
    out.ensure_links()
    db = duckdb.connect(str(out.database_file()), read_only=True)
    try:
        rows = db.execute("SELECT x, year, month FROM payments ORDER BY x").fetchall()
    finally:
        db.close()
    assert rows == [(7, 2026, 3), (8, 2026, 3)]
    assert out.database_file() == Path(os.path.realpath(database))
