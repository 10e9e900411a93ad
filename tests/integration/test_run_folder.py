"""Issue 22: a run folder is self-contained (moved, copied, archived), sqlgen repairs or
names its own damaged state, and a failed run leaves nothing behind. In-process runs of
the tiny config at the default realism, read back with DuckDB."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

import sqlgen.publish.writer
from sqlgen.config import load_config, with_overrides
from sqlgen.errors import SqlgenError
from sqlgen.faults import FAULT_ENV
from sqlgen.inspect.inspect import open_database, run_sql
from sqlgen.publish.validate import validate
from sqlgen.publish.writer import COMMITTED_STEPS, PUBLISH_STEPS, OutputDir
from sqlgen.render import glob_escape, sql_string
from sqlgen.runner import run
from tests.conftest import TINY
from tests.integration.test_publish import published, run_dirs, tree_digest


@pytest.fixture
def good(tmp_path):
    """A published v3 run of the tiny config in `tmp_path/out`."""
    cfg = with_overrides(load_config(TINY), out_dir=tmp_path / "out", realism="v3")
    run(cfg, show_progress=False)
    return cfg


def state_entries(out: Path) -> list[str]:
    """Everything under `.sqlgen` but the run directories' own files."""
    state = out / ".sqlgen"
    found = []
    for dirpath, dirnames, files in os.walk(state):
        rel = Path(dirpath).relative_to(state)
        if len(rel.parts) >= 2 and rel.parts[0] == "runs":
            continue
        found += [str(rel / name) for name in dirnames + files]
    return sorted(found)


# -- item 6: a failed run removes what it made -----------------------------------------


@pytest.mark.parametrize("step", PUBLISH_STEPS[: PUBLISH_STEPS.index(COMMITTED_STEPS[0])])
def test_failure_before_the_commit_point_leaves_nothing_of_the_run(good, monkeypatch, step):
    out = good.out_dir
    before, entries = published(out), state_entries(out)
    monkeypatch.setenv(FAULT_ENV, f"publish:{step}:raise")
    with pytest.raises(OSError, match="injected"):
        run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.delenv(FAULT_ENV)
    assert published(out) == before  # the previous run, byte for byte
    assert run_dirs(out) == [before[0]]  # the failed run's promoted directory is gone
    assert state_entries(out) == entries  # no publish.json.tmp, no staging/<run>


def test_disk_full_writing_the_journal_frees_the_failed_run(good, monkeypatch):
    """ENOSPC halfway through `publish.json.tmp`: the half-written journal and the
    promoted run (its database) are removed at once, not by the next run."""
    out = good.out_dir
    before, entries = published(out), state_entries(out)
    real = sqlgen.publish.writer.write_durable

    def full(path, data):
        if path.name == "publish.json.tmp":
            real(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(sqlgen.publish.writer, "write_durable", full)
    with pytest.raises(OSError, match="No space left"):
        run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.undo()
    assert published(out) == before
    assert run_dirs(out) == [before[0]]
    assert state_entries(out) == entries
    run(with_overrides(good, seed=8), show_progress=False)  # and the next run works
    assert published(out)[0] != before[0]


# -- item 2: a run folder moved, copied or archived reads its own files ----------------

CHECKSUM = "SELECT count(*), sum(hash(transaction_id)) FROM {}"


def own_files(out: Path) -> tuple:
    """What `out/payments` holds, read straight from its Parquet files."""
    con = duckdb.connect()
    try:
        glob = glob_escape(f"{os.path.realpath(out)}/payments/") + "**/*.parquet"
        return con.execute(CHECKSUM.format(f"read_parquet({sql_string(glob)})")).fetchone()
    finally:
        con.close()


def through_database(database: str | Path) -> tuple:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(CHECKSUM.format("payments")).fetchone()
    finally:
        con.close()


def through_sqlgen(out: Path) -> tuple:
    """What `sqlgen sql` and `sqlgen report` read (the sandboxed connection)."""
    con = open_database(out)
    try:
        return con.execute(CHECKSUM.format("payments")).fetchone()
    finally:
        con.close()


def assert_reads_its_own_files(out: Path, cwd: Path, monkeypatch) -> None:
    expected = own_files(out)
    resolved = Path(os.path.realpath(out / "sqlgen.duckdb"))
    assert ".sqlgen/runs/" in str(resolved)
    for where in (cwd, Path("/"), out):
        monkeypatch.chdir(where)
        for path in (out / "sqlgen.duckdb", resolved):
            assert through_database(path) == expected, (where, path)
            assert through_database(os.path.relpath(path, where)) == expected, (where, path)
    assert through_sqlgen(out) == expected
    assert validate(out)[0] == []


def test_an_archived_run_folder_reads_its_own_files(good, tmp_path, monkeypatch):
    """Issue 22's case: `mv out archive/run-21`, a new run in `out`; the archived
    database showed the new run's payments beside the old run's catalogs."""
    out = good.out_dir
    archive = tmp_path / "archive" / "run-21"
    archive.parent.mkdir()
    old = own_files(out)
    os.rename(out, archive)
    run(with_overrides(good, seed=8), show_progress=False)
    assert own_files(out) != old
    assert own_files(archive) == old
    assert_reads_its_own_files(archive, tmp_path, monkeypatch)
    assert_reads_its_own_files(out, tmp_path, monkeypatch)


def test_a_copied_run_folder_reads_its_own_files(good, tmp_path, monkeypatch):
    out, copy = good.out_dir, tmp_path / "copied"
    old = own_files(out)
    subprocess.run(["cp", "-a", str(out), str(copy)], check=True)
    run(with_overrides(good, seed=8), show_progress=False)  # the original changes
    assert own_files(copy) == old != own_files(out)
    assert_reads_its_own_files(copy, tmp_path, monkeypatch)
    shutil.rmtree(out)  # and the original is gone
    assert_reads_its_own_files(copy, tmp_path, monkeypatch)
    run(with_overrides(good, out_dir=copy, seed=9), show_progress=False)  # still ours
    assert_reads_its_own_files(copy, tmp_path, monkeypatch)


def test_an_attached_database_reads_its_folder_or_fails_naming_it(good, tmp_path):
    """ATTACHed (dbt-duckdb does), the database does not know where it is: it reads the
    folder it was published in while it is still there, and otherwise fails."""
    out, archive = good.out_dir, tmp_path / "archive"
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_string(out / 'sqlgen.duckdb')} AS s (READ_ONLY)")
        assert con.execute(CHECKSUM.format("s.payments")).fetchone() == own_files(out)
    finally:
        con.close()
    os.rename(out, archive)
    run(good, show_progress=False)  # the same file names at the old paths, other rows
    run(with_overrides(good, seed=8), show_progress=False)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_string(archive / 'sqlgen.duckdb')} AS s (READ_ONLY)")
        with pytest.raises(duckdb.Error, match=f"was published in {os.path.realpath(out)}"):
            con.execute(CHECKSUM.format("s.payments")).fetchone()
    finally:
        con.close()


def test_validate_notices_a_database_describing_another_folder(good, tmp_path):
    out = good.out_dir
    sibling = with_overrides(good, out_dir=tmp_path / "sibling", seed=8)
    run(sibling, show_progress=False)
    # A view over another folder's files, as a moved database of an earlier sqlgen has.
    files = [str(p) for p in sorted((sibling.out_dir / "payments").rglob("*.parquet"))]
    con = duckdb.connect(str(out / "sqlgen.duckdb"))
    try:
        view = con.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'payments'"
        ).fetchone()[0]
        con.execute(
            "CREATE OR REPLACE VIEW payments AS SELECT * FROM read_parquet("
            f"[{', '.join(map(sql_string, files))}], hive_partitioning = true)"
        )
    finally:
        con.close()
    problems = validate(out)[0]
    assert len(problems) == 1 and "outside this folder" in problems[0], problems
    assert str(sibling.out_dir.resolve() / "payments") in problems[0]
    con = duckdb.connect(str(out / "sqlgen.duckdb"))
    con.execute("DROP VIEW payments")
    con.execute(view)  # back to its own view
    con.close()
    assert validate(out)[0] == []
    # The database of another run (copied over from the sibling folder).
    other = OutputDir(sibling.out_dir).current_run_name()
    own = OutputDir(out).current_run_name()
    shutil.copytree(sibling.out_dir / ".sqlgen" / "runs" / other, out / ".sqlgen" / "runs" / other)
    OutputDir(out).point_current(other)
    problems = validate(out)[0]
    assert problems == [
        f"sqlgen.duckdb is run {other} but payments/ holds run {own}"
    ]


# -- item 5: a missing or dangling `current` -------------------------------------------


def break_current(out: Path, how: str) -> str:
    current = out / ".sqlgen" / "current"
    run_id = os.readlink(current)
    current.unlink()
    if how == "dangling":
        os.symlink("runs/20200101T000000000000Z-00000000", current)
    return run_id


@pytest.mark.parametrize("how", ["missing", "dangling"])
@pytest.mark.parametrize("command", ["run", "validate", "sql"])
def test_a_broken_current_is_repaired_by_the_next_command(good, how, command):
    out = good.out_dir
    before = published(out)
    target = break_current(out, how)
    if command == "run":
        run(with_overrides(good, seed=8), show_progress=False)
        assert published(out)[0] != before[0]
    elif command == "validate":
        assert validate(out)[0] == []
    else:
        assert "4000" in run_sql(out, "SELECT count(*) FROM payments")
    if command != "run":
        assert os.readlink(out / ".sqlgen" / "current") == target
        assert published(out) == before


def test_a_copied_folder_with_no_current_is_repaired_from_its_manifest(good, tmp_path):
    copy = tmp_path / "copied"
    shutil.copytree(good.out_dir, copy, symlinks=True)  # new inode numbers
    target = break_current(copy, "missing")
    assert "4000" in run_sql(copy, "SELECT count(*) FROM payments")
    assert os.readlink(copy / ".sqlgen" / "current") == target


@pytest.mark.parametrize("how", ["missing", "dangling"])
def test_a_current_that_cannot_be_repaired_says_what_to_do(good, how):
    out = good.out_dir
    break_current(out, how)
    shutil.rmtree(out / ".sqlgen" / "runs")  # the run's database is gone
    data = {n: tree_digest(out / n) for n in ("payments", "catalog")}
    expected = f"current is {how} and no run under .* move payments/ and catalog/ away"
    for command in (
        lambda: run(with_overrides(good, seed=8), show_progress=False),
        lambda: validate(out),
        lambda: run_sql(out, "SELECT 1"),
    ):
        with pytest.raises(SqlgenError, match=expected):
            command()
    assert {n: tree_digest(out / n) for n in ("payments", "catalog")} == data
