"""Publication you can trust (issue 13): ownership, a journalled publication of real
directories, exact files.

In-process runs of the tiny config; the killed-process variants are in
`tests/cli/test_safety.py`.
"""

from __future__ import annotations

import hashlib
import os
import re
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
from sqlgen.publish.writer import COMMITTED_STEPS, FALLBACK_STEPS, PUBLISH_STEPS, OutputDir
from sqlgen.render import render, sql_string
from sqlgen.runner import build_catalogs_only, run
from tests.conftest import TINY


def tree_digest(root: Path) -> dict[str, str]:
    """Every regular file under `root` (symlinks not followed) and its SHA-256."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            if not path.is_symlink():
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def published(out: Path) -> tuple[str, dict[str, str]]:
    """The published run's id and the files readers see through the documented paths;
    fails unless `validate` passes."""
    problems, _ = validate(out)
    assert problems == []
    run_id = OutputDir(out).read_manifest()["run_id"]
    seen = {}
    for name in ("payments", "catalog"):
        seen |= {f"{name}/{k}": v for k, v in tree_digest(out / name).items()}
    seen["sqlgen.duckdb"] = hashlib.sha256((out / "sqlgen.duckdb").read_bytes()).hexdigest()
    return run_id, seen


def run_dirs(out: Path) -> list[str]:
    return sorted(p.name for p in (out / ".sqlgen" / "runs").iterdir())


@pytest.fixture
def good(tiny):
    """A published run of the tiny config (the `G` of the issue)."""
    run(tiny, show_progress=False)
    return tiny


# -- layout -------------------------------------------------------------------------------


def assert_real_layout(out: Path) -> dict:
    """`payments/` and `catalog/` are real directories that `find`, `cp -r` and `du`
    see into; `payments/` holds the run's Hive tree and an empty `_SUCCESS` only (the
    manifest is in the run's directory, `.sqlgen/current/manifest.json`)."""
    manifest = OutputDir(out).read_manifest()
    for name in ("payments", "catalog"):
        assert (out / name).is_dir() and not (out / name).is_symlink(), name
    walked = set()
    for dirpath, _, files in os.walk(out / "payments"):
        walked |= {str(Path(dirpath, f).relative_to(out)) for f in files}
    listed = {f["path"] for f in manifest["files"]}
    legacy = OutputDir(out).manifest_file().parent.name == "payments"  # an earlier layout's
    assert walked == listed | {"payments/_SUCCESS"} | (
        {"payments/_manifest.json"} & walked if legacy else set()
    )
    assert (out / "payments" / "_SUCCESS").stat().st_size == 0
    catalogs = {str(p.relative_to(out)) for p in (out / "catalog").rglob("*") if p.is_file()}
    assert catalogs == {f["path"] for f in manifest.get("catalog_files", [])}
    # What ../shared/tools/fresh-install-check runs: find does not follow a symlink root.
    found = subprocess.run(
        ["find", str(out / "payments"), "-name", "*.parquet"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(found) == len(manifest["files"]) > 0
    return manifest


def test_layout_is_real_directories_and_one_current_pointer(good, tmp_path):
    out = good.out_dir
    state = out / ".sqlgen"
    assert (state / "owner").is_file()
    first = run_dirs(out)
    assert len(first) == 1
    assert os.readlink(state / "current") == f"runs/{first[0]}"
    assert os.readlink(out / "sqlgen.duckdb") == ".sqlgen/current/sqlgen.duckdb"
    assert_real_layout(out)
    run(with_overrides(good, seed=8), show_progress=False)
    second = run_dirs(out)
    assert len(second) == 1 and second != first  # the older run is gone after the swap
    assert assert_real_layout(out)["seed"] == 8
    # The run directory keeps only the database, the manifest and the inode record:
    # nothing displaced.
    assert sorted(p.name for p in (state / "runs" / second[0]).iterdir()) == [
        "inodes.json",
        "manifest.json",
        "sqlgen.duckdb",
    ]
    assert not any((state / "staging").iterdir())
    assert not (state / "publish.json").exists()
    shutil.copytree(out / "payments", tmp_path / "copy")  # `cp -r out/payments x` copies data
    assert len(list((tmp_path / "copy").rglob("*.parquet"))) == len(
        OutputDir(out).read_manifest()["files"]
    )


def test_database_view_reads_exactly_the_published_files_from_any_cwd(good, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    con = duckdb.connect(str(good.out_dir / "sqlgen.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM payments").fetchone()[0] == good.rows
        view = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'payments'").fetchone()
    finally:
        con.close()
    # Exact files: beside the database (its run's marker), or where it was published.
    assert "**" not in view[0] and ".sqlgen/current" not in view[0]
    assert f"{os.path.realpath(good.out_dir)}/payments/year=" in view[0]


# -- 1. never touch what sqlgen did not make ----------------------------------------------


def _foreign_payments(d: Path) -> Path:
    (d / "payments").mkdir()
    (d / "payments" / "keep.txt").write_text("x")
    return d / "payments"


def _foreign_catalog(d: Path) -> Path:
    (d / "catalog").mkdir()
    (d / "catalog" / "keep.txt").write_text("x")
    return d / "catalog"


def _database_file(d: Path) -> Path:
    (d / "sqlgen.duckdb").write_text("mine")
    return d / "sqlgen.duckdb"


def _database_directory(d: Path) -> Path:  # issue case 4: exit 1 after publishing
    (d / "sqlgen.duckdb").mkdir()
    return d / "sqlgen.duckdb"


def _foreign_link(d: Path) -> Path:
    (d / "elsewhere").mkdir()
    (d / "payments").symlink_to("elsewhere")
    return d / "payments"


@pytest.mark.parametrize(
    "make",
    [_foreign_payments, _foreign_catalog, _database_file, _database_directory, _foreign_link],
)
def test_foreign_entries_are_refused_and_untouched(tiny, make):
    d = tiny.out_dir
    d.mkdir()
    culprit = make(d)
    before = tree_digest(d), sorted(p.name for p in d.iterdir())
    expected = re.escape(f"{culprit} exists and was not made by sqlgen")
    with pytest.raises(SqlgenError, match=expected):
        run(tiny, show_progress=False)
    assert (tree_digest(d), sorted(p.name for p in d.iterdir())) == before
    assert not (d / ".sqlgen").exists()


def test_foreign_entry_appearing_in_an_owned_dir_is_refused(good):
    out = good.out_dir
    before = published(out)
    (out / "sqlgen.duckdb").unlink()
    (out / "sqlgen.duckdb").mkdir()
    with pytest.raises(SqlgenError, match=r"sqlgen\.duckdb exists and was not made by sqlgen"):
        run(with_overrides(good, seed=8), show_progress=False)
    assert (out / "sqlgen.duckdb").is_dir()
    assert OutputDir(out).read_manifest()["run_id"] == before[0]


@pytest.mark.parametrize("name", ["payments", "catalog"])
def test_foreign_directory_in_place_of_a_published_one_is_refused(good, tmp_path, name):
    out = good.out_dir
    os.rename(out / name, tmp_path / "published")
    (out / name).mkdir()
    (out / name / "keep.txt").write_text("x")
    with pytest.raises(SqlgenError, match=rf"{name} exists and was not made by sqlgen"):
        run(with_overrides(good, seed=8), show_progress=False)
    assert [p.name for p in (out / name).iterdir()] == ["keep.txt"]


def test_a_copied_out_dir_is_still_ours(good, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(good.out_dir, copy, symlinks=True)  # new inode numbers
    run(with_overrides(good, out_dir=copy, seed=8), show_progress=False)
    assert assert_real_layout(copy)["seed"] == 8


def test_foreign_state_dir_is_refused_an_empty_one_reused(tiny):
    (tiny.out_dir / ".sqlgen").mkdir(parents=True)
    run(tiny, show_progress=False)  # empty: a first run killed before its marker
    other = with_overrides(tiny, out_dir=tiny.out_dir.parent / "other")
    (other.out_dir / ".sqlgen").mkdir(parents=True)
    (other.out_dir / ".sqlgen" / "mine.txt").write_text("x")
    with pytest.raises(SqlgenError, match="exists and was not made by sqlgen"):
        run(other, show_progress=False)
    assert [p.name for p in (other.out_dir / ".sqlgen").iterdir()] == ["mine.txt"]


def test_other_files_in_a_new_out_dir_are_left_alone(tiny):
    tiny.out_dir.mkdir()
    (tiny.out_dir / "notes.txt").write_text("keep")
    run(tiny, show_progress=False)
    assert (tiny.out_dir / "notes.txt").read_text() == "keep"


# -- 3. nested output ---------------------------------------------------------------------


@pytest.mark.parametrize("inner", ["payments/inner", "sub", ".sqlgen/runs/x", "catalog"])
def test_out_dir_inside_another_output_is_refused(good, inner):
    before = published(good.out_dir)
    nested = with_overrides(good, out_dir=good.out_dir / inner)
    with pytest.raises(SqlgenError, match="is inside the sqlgen output"):
        run(nested, show_progress=False)
    assert published(good.out_dir) == before
    assert not os.path.lexists(good.out_dir / inner) or inner == "catalog"


# -- 2. one run, one commit point: every rename, exchange, symlink fails in turn ---------


@pytest.fixture(params=["exchange", "fallback"])
def mode(request, monkeypatch):
    """Publication with renameat2, or on a filesystem without it (two renames)."""
    if request.param == "fallback":
        monkeypatch.setattr(sqlgen.publish.writer, "exchange_paths", lambda a, b: False)
    return request.param


def journal(out: Path) -> Path:
    return out / ".sqlgen" / "publish.json"


def test_each_rename_exchange_or_symlink_failing_once(good, mode, monkeypatch):
    """Any one call failing: before the journal the previous run stays; after it the
    run completes its own publication (the failed step is retried once)."""
    calls = []
    real = {name: getattr(os, name) for name in ("rename", "replace", "symlink")}
    real["exchange_paths"] = sqlgen.publish.writer.exchange_paths
    owners = {name: (os if name != "exchange_paths" else sqlgen.publish.writer) for name in real}

    def counting(name):
        def call(*args, **kwargs):
            calls.append(name)
            return real[name](*args, **kwargs)

        return call

    for name in real:
        monkeypatch.setattr(owners[name], name, counting(name))
    run(with_overrides(good, seed=8), show_progress=False)  # count them on a rerun
    total = len(calls)
    assert total >= 4  # promotion, journal, payments, catalog, current
    for k in range(total):
        before = published(good.out_dir)
        seen = []

        def failing(name, k=k, seen=seen):
            def call(*args, **kwargs):
                seen.append(name)
                if len(seen) == k + 1:
                    raise OSError(16, "injected: device or resource busy")
                return real[name](*args, **kwargs)

            return call

        for name in real:
            monkeypatch.setattr(owners[name], name, failing(name))
        seed = 9 + k % 2
        try:
            run(with_overrides(good, seed=seed), show_progress=False)
            failed = False
        except OSError as exc:
            assert "injected" in str(exc)
            failed = True
        for name in real:
            monkeypatch.setattr(owners[name], name, real[name])
        where = f"call {k + 1} of {total} ({seen[k]})"
        if failed:
            assert published(good.out_dir) == before, where
        else:
            assert published(good.out_dir)[0] != before[0], where
            assert OutputDir(good.out_dir).read_manifest()["seed"] == seed, where
        assert not journal(good.out_dir).exists(), where
        assert_real_layout(good.out_dir)
    run(with_overrides(good, seed=11), show_progress=False)
    assert OutputDir(good.out_dir).read_manifest()["seed"] == 11
    assert len(run_dirs(good.out_dir)) == 1


def test_an_exchange_that_always_fails_publishes_nothing(good, monkeypatch):
    """Issue 13's bind mount: `out/payments` cannot be exchanged (EBUSY) at all. The
    journal is dropped, since nothing visible moved: exit 1, the previous run as it was."""
    before = published(good.out_dir)

    def busy(a, b):
        raise OSError(16, "injected: device or resource busy", str(b))

    monkeypatch.setattr(sqlgen.publish.writer, "exchange_paths", busy)
    with pytest.raises(OSError, match="injected"):
        run(with_overrides(good, seed=8), show_progress=False)
    assert published(good.out_dir) == before
    assert not journal(good.out_dir).exists()
    monkeypatch.undo()
    run(with_overrides(good, seed=8), show_progress=False)
    assert OutputDir(good.out_dir).read_manifest()["seed"] == 8


def test_first_run_failing_at_the_database_link_publishes_nothing(tiny, monkeypatch):
    real = os.symlink

    def symlink(*args, **kwargs):
        raise OSError(1, "injected: symlinks not supported here")

    monkeypatch.setattr(os, "symlink", symlink)
    with pytest.raises(OSError, match="injected"):
        run(tiny, show_progress=False)
    assert not os.path.lexists(tiny.out_dir / ".sqlgen" / "current")
    assert not os.path.lexists(tiny.out_dir / "payments")
    monkeypatch.setattr(os, "symlink", real)
    run(tiny, show_progress=False)
    assert validate(tiny.out_dir)[0] == []


@pytest.mark.parametrize("step", PUBLISH_STEPS + FALLBACK_STEPS)
def test_fault_raised_at_each_publication_step(good, mode, monkeypatch, step):
    if step in FALLBACK_STEPS and mode == "exchange":
        pytest.skip("only the two-rename fallback has this step")
    before = published(good.out_dir)
    monkeypatch.setenv(FAULT_ENV, f"publish:{step}:raise")
    if step in COMMITTED_STEPS or step in FALLBACK_STEPS:
        # After the journal: the run completes its own publication (a warning).
        run(with_overrides(good, seed=8), show_progress=False)
        monkeypatch.delenv(FAULT_ENV)
        assert published(good.out_dir)[0] != before[0]
        assert assert_real_layout(good.out_dir)["seed"] == 8
        assert len(run_dirs(good.out_dir)) == (2 if step == "cleanup" else 1)
    else:
        with pytest.raises(OSError, match=f"injected fault before publication step '{step}'"):
            run(with_overrides(good, seed=8), show_progress=False)
        monkeypatch.delenv(FAULT_ENV)
        assert published(good.out_dir) == before
    assert not journal(good.out_dir).exists()
    run(with_overrides(good, seed=9), show_progress=False)
    assert assert_real_layout(good.out_dir)["seed"] == 9
    assert len(run_dirs(good.out_dir)) == 1
    assert not any((good.out_dir / ".sqlgen" / "staging").iterdir())


def test_fallback_reruns_keep_the_published_catalog(good, mode):
    """Issue 14: without renameat2 every rerun lost the published catalog."""
    for seed in (8, 9, 10):
        run(with_overrides(good, seed=seed), show_progress=False)
        manifest = assert_real_layout(good.out_dir)
        assert manifest["seed"] == seed and len(manifest["catalog_files"]) == 3
        assert validate(good.out_dir)[0] == []
        assert len(run_dirs(good.out_dir)) == 1


def test_staged_files_are_fsynced_before_the_journal(good, mode, monkeypatch):
    """Issue 14: every file and directory of the new run, and the journal itself, are
    fsynced before the journal is renamed into place (the commit point); the exchanges
    are made durable before the pointer swap, and the swap before the journal goes."""
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def rename(src, dst, *args, **kwargs):
        events.append(("rename", os.fspath(dst)))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    run(with_overrides(good, seed=8), show_progress=False)
    state = good.out_dir / ".sqlgen"
    commit = events.index(("rename", str(state / "publish.json")))
    synced = {path for kind, path in events[:commit] if kind == "fsync"}
    run_dir = Path(os.path.realpath(state / "current"))
    every = {str(p) for p in (good.out_dir / "payments").rglob("*")}
    every |= {str(p) for p in (good.out_dir / "catalog").rglob("*")}
    # Where they were when synced: under the run directory, before being exchanged in.
    every = {p.replace(str(good.out_dir), str(run_dir), 1) for p in every}
    every |= {str(run_dir), str(run_dir / "payments"), str(run_dir / "catalog")}
    every |= {str(run_dir / "sqlgen.duckdb"), str(run_dir.parent), str(state / "publish.json.tmp")}
    assert every - synced == set()
    swap = events.index(("rename", str(state / "current")))
    assert ("fsync", str(good.out_dir)) in events[commit:swap]
    assert ("fsync", str(state)) in events[swap:]


def test_a_reader_completes_an_interrupted_publication(good, monkeypatch):
    """A journal left by a killed run: a reader holding no lock completes it; while a
    live run holds the lock, the reader reads as is and leaves the journal alone."""
    out = good.out_dir
    real = OutputDir.complete

    def stop_after_payments(self, entry, fault=None):
        self._put_in_place("payments", self.runs / entry["run_id"],
                           int(entry["inodes"]["payments"]))  # fmt: skip
        raise KeyboardInterrupt  # as if killed between the two exchanges

    monkeypatch.setattr(OutputDir, "complete", stop_after_payments)

    def broken(self):
        if self.journal.exists():
            raise OSError(5, "injected: recovery fails too")

    monkeypatch.setattr(OutputDir, "recover", broken)
    monkeypatch.setattr(OutputDir, "abandon_if_untouched", lambda self, run_id: False)
    with pytest.raises(SqlgenError, match="is committed"):
        run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.undo()
    assert journal(out).is_file()
    import fcntl

    with open(out / ".sqlgen" / "lock", "a+") as held:  # a live run holds the lock
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        problems, _ = validate(out)
        assert journal(out).is_file() and problems  # new payments beside old catalogs
        fcntl.flock(held, fcntl.LOCK_UN)
    assert real is OutputDir.complete
    assert "4000" in run_sql(out, "SELECT count(*) FROM payments")  # completes it
    assert not journal(out).exists()
    assert published(out)[0] and OutputDir(out).read_manifest()["seed"] == 8
    assert assert_real_layout(out)["seed"] == 8


# -- 6. exact files, never globs ----------------------------------------------------------


def test_glob_characters_in_out_dir_read_exactly_the_runs_files(tiny, tmp_path):
    sibling = with_overrides(tiny, out_dir=tmp_path / "runA", rows=2000)
    starry = with_overrides(tiny, out_dir=tmp_path / "run*", rows=1000)
    run(sibling, show_progress=False)
    run(starry, show_progress=False)
    assert "1000" in run_sql(starry.out_dir, "SELECT count(*) FROM payments")
    assert "2000" in run_sql(sibling.out_dir, "SELECT count(*) FROM payments")
    assert validate(starry.out_dir)[0] == []
    con = open_database(starry.out_dir)  # what `sqlgen report` reads
    try:
        scenarios = con.execute(render("report_scenarios.sql")).fetchall()
    finally:
        con.close()
    assert sum(row[1] for row in scenarios) == 1000


@pytest.mark.parametrize("name", ["r[ab]", "with space", "it's"])
def test_brackets_spaces_and_quotes_in_out_dir(tiny, tmp_path, name):
    decoy = with_overrides(tiny, out_dir=tmp_path / "ra", rows=2000)  # what r[ab] would glob
    run(decoy, show_progress=False)
    cfg = with_overrides(tiny, out_dir=tmp_path / name, rows=1000)
    run(cfg, show_progress=False)
    assert "1000" in run_sql(cfg.out_dir, "SELECT count(*) FROM payments")
    assert validate(cfg.out_dir)[0] == []


# -- 5. sqlgen sql cannot write or reach files --------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A published run `out` beside another one, `sibling` (shared: tests only read)."""
    tmp = tmp_path_factory.mktemp("sandbox")
    cfg = with_overrides(load_config(TINY), out_dir=tmp / "out")
    run(cfg, show_progress=False)
    run(with_overrides(cfg, out_dir=tmp / "sibling"), show_progress=False)
    return cfg.out_dir, tmp


@pytest.mark.parametrize(
    "query",
    [
        "COPY (SELECT 1) TO '{part}' (FORMAT parquet, USE_TMP_FILE false)",
        "COPY (SELECT 1) TO '{tmp}/x.csv'",
        "ATTACH '{tmp}/other.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "EXPORT DATABASE '{tmp}/exported'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_parquet('{tmp}/sibling/payments/**/*.parquet')",
        "SELECT * FROM read_text('{part}')",
        "SELECT 1; COPY (SELECT 1) TO '{tmp}/y.csv'",
        "EXPLAIN ANALYZE COPY (SELECT 1) TO '{tmp}/z.csv'",
    ],
)
def test_sql_cannot_write_or_reach_other_files(sandbox, query):
    out, tmp = sandbox
    part = next((out / "payments").rglob("*.parquet"))
    before = published(out)
    with pytest.raises(SqlgenError):
        run_sql(out, query.format(part=part, tmp=tmp))
    assert published(out) == before
    assert sorted(p.name for p in tmp.iterdir()) == ["out", "sibling"]


def test_sql_still_reads_catalogs_and_payments(sandbox):
    text = run_sql(
        sandbox[0],
        "SELECT count(*) AS n FROM payments p JOIN cards c USING (card_id) WHERE c.card_id >= 0",
    )
    assert "4000" in text


# -- 10. catalogs over a payments run -----------------------------------------------------


@pytest.mark.parametrize(
    "change", [{"seed": 8}, {"realism": "v1"}, {"catalog": {"num_cards": 451}}]
)
def test_catalogs_with_other_inputs_over_a_run_are_refused(good, change):
    before = published(good.out_dir)
    with pytest.raises(SqlgenError, match="made with other catalogs"):
        build_catalogs_only(with_overrides(good, **change))
    assert published(good.out_dir) == before


def test_v1_run_over_a_v2_run_keeps_no_v2_catalog(good):
    run(with_overrides(good, realism="v1"), show_progress=False)
    assert list((good.out_dir / "catalog").iterdir()) == []  # none of v2's catalogs stay
    assert validate(good.out_dir)[0] == []


def test_catalogs_matching_the_run_change_nothing(good):
    before = published(good.out_dir)
    build_catalogs_only(good)
    assert published(good.out_dir) == before


def test_catalogs_alone_are_a_run_of_their_own(tiny):
    build_catalogs_only(tiny)
    out = tiny.out_dir
    assert sorted(p.name for p in (out / "catalog").iterdir()) == [
        "cards.parquet",
        "customers.parquet",
        "merchants.parquet",
    ]
    con = duckdb.connect(str(out / "sqlgen.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM cards").fetchone()[0] == tiny.catalog.num_cards
    con.close()
    build_catalogs_only(with_overrides(tiny, seed=8))  # no payments yet: replaced
    run(tiny, show_progress=False)
    assert validate(out)[0] == []
    assert len(run_dirs(out)) == 1


# -- migration from the previous layout ---------------------------------------------------


def make_legacy(src: Path, legacy: Path) -> str:
    """An out_dir as the previous sqlgen left it: real directories, `.sqlgen/lock`."""
    legacy.mkdir()
    shutil.copytree(src / "payments", legacy / "payments")
    shutil.copytree(src / "catalog", legacy / "catalog")
    shutil.copyfile(src / "sqlgen.duckdb", legacy / "sqlgen.duckdb")
    # That layout kept the manifest in payments/.
    shutil.copyfile(OutputDir(src).manifest_file(), legacy / "payments" / "_manifest.json")
    con = duckdb.connect(str(legacy / "sqlgen.duckdb"))  # the first layout's view: a glob
    glob = sql_string(legacy / "payments" / "**" / "*.parquet")
    con.execute(f"CREATE OR REPLACE VIEW payments AS SELECT * FROM read_parquet({glob})")
    con.close()
    (legacy / ".sqlgen").mkdir()
    (legacy / ".sqlgen" / "lock").touch()
    return OutputDir(legacy).read_manifest()["run_id"]


def test_previous_layout_is_converted_without_losing_the_run(good, tmp_path, monkeypatch):
    legacy = tmp_path / "legacy"
    old_id = make_legacy(good.out_dir, legacy)
    assert validate(legacy)[0] == []
    with pytest.raises(SqlgenError, match="written by an older sqlgen"):
        run_sql(legacy, "SELECT 1")
    rerun = with_overrides(good, out_dir=legacy, seed=8)
    # Conversion itself interrupted (the database link fails): moved, not deleted.
    real = OutputDir.ensure_links

    def broken(self):
        raise OSError(1, "injected: no symlink")

    monkeypatch.setattr(OutputDir, "ensure_links", broken)
    with pytest.raises(OSError, match="injected"):
        run(rerun, show_progress=False)
    assert (legacy / ".sqlgen" / "runs" / "legacy" / "sqlgen.duckdb").is_file()
    assert validate(legacy)[0] == []
    monkeypatch.setattr(OutputDir, "ensure_links", real)
    # The next run finishes the conversion; its own publication fails here.
    monkeypatch.setenv(FAULT_ENV, "publish:promote:raise")
    with pytest.raises(OSError, match="injected"):
        run(rerun, show_progress=False)
    # Converted, not lost: the old run stays in its real directories.
    assert (legacy / "sqlgen.duckdb").is_symlink()
    assert assert_real_layout(legacy)["run_id"] == old_id
    assert validate(legacy)[0] == []
    monkeypatch.delenv(FAULT_ENV)
    run(with_overrides(good, out_dir=legacy, seed=8), show_progress=False)
    assert validate(legacy)[0] == []
    assert assert_real_layout(legacy)["seed"] == 8


def test_symlinked_layout_is_replaced_by_real_directories(good, tmp_path):
    """An out_dir of the previous layout (payments, catalog symlinks through `current`):
    readable as is, and the next run puts real directories in their place."""
    out = good.out_dir
    state = out / ".sqlgen"
    run_dir = Path(os.path.realpath(state / "current"))
    for name in ("payments", "catalog"):
        os.rename(out / name, run_dir / name)
        os.symlink(f".sqlgen/current/{name}", out / name)
    from sqlgen.publish.writer import add_payments_view

    add_payments_view(run_dir / "sqlgen.duckdb", run_dir, OutputDir(out).read_manifest())
    assert validate(out)[0] == []
    assert "4000" in run_sql(out, "SELECT count(*) FROM payments")
    run(with_overrides(good, seed=8), show_progress=False)
    assert assert_real_layout(out)["seed"] == 8
    assert "4000" in run_sql(out, "SELECT count(*) FROM payments")
    assert len(run_dirs(out)) == 1
