"""The output directory: ownership, locking, staging, journalled publication, manifest,
database file.

Layout of `out_dir`:

    payments/                                real directory: the published run's Hive tree
                                             (year=/month=/part-*.parquet) and an empty
                                             _SUCCESS - nothing else
    catalog/                                 real directory: the run's catalog Parquet
    sqlgen.duckdb -> .sqlgen/current/sqlgen.duckdb   a symlink, created once
    .sqlgen/owner                            marks an out_dir sqlgen owns
    .sqlgen/lock                             held by the running `sqlgen run`
    .sqlgen/current -> runs/<run_id>         the published run's database: one symlink
    .sqlgen/runs/<run_id>/                   sqlgen.duckdb, manifest.json and inodes.json
                                             of a run (and,
                                             until cleanup, the directories it displaced)
    .sqlgen/staging/<run_id>/                where a run is written, invisible to readers
    .sqlgen/publish.json                     the journal of a publication in progress

Publication (`publish`): the staged run is renamed into `runs/` and every file and
directory of it fsynced; then the journal `publish.json` is written atomically - the
commit point. From there publication only rolls forward (`complete`): the run's
`payments/` and `catalog/` are exchanged with `out_dir/payments` and `out_dir/catalog`
(`renameat2(RENAME_EXCHANGE)`, or two renames where the filesystem cannot), the
database gets its `payments` view over the published files, `current` is swapped by
one `rename`, and the journal is removed. Which exchanges already happened is read from
the inode numbers the journal records, so any sqlgen command that finds a journal
(`recover`) finishes the publication. A failure or kill before the journal leaves the
previous run as it was (a failure also removes the failed run's directory at once);
after it, the new run is completed. A missing or dangling `current` is re-pointed at the
run whose recorded inode numbers (or, in a copy, manifest) prove it published.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from sqlgen.errors import SqlgenError
from sqlgen.faults import fault_point
from sqlgen.files import write_durable
from sqlgen.publish import ownership
from sqlgen.publish.ownership import DATABASE, DIRS, INODES
from sqlgen.render import render

log = logging.getLogger("sqlgen")

STATE_DIR = ".sqlgen"
# The run's manifest lives in its run directory (`.sqlgen/current/manifest.json` once
# published), not in payments/: readers that open payments/ by its directory (Polars)
# refuse a non-empty file that is not Parquet. `_SUCCESS` in payments/ stays empty.
MANIFEST = "manifest.json"
LEGACY_MANIFEST = "_manifest.json"  # payments/_manifest.json: out_dirs of earlier versions
SUCCESS = "_SUCCESS"
JOURNAL = "publish.json"
PUBLISHED = (*DIRS, DATABASE)
# Steps of publication, in order; `faults.fault_point` can fail the process before each.
# "journal" is the commit point: before it the previous run stays, after it the new one
# is completed. FALLBACK_STEPS happen only without renameat2 (between the two renames).
PUBLISH_STEPS = (
    "promote",
    "fsync",
    "links",
    "journal",
    "exchange_payments",
    "exchange_catalog",
    "view",
    "symlink",
    "swap",
    "unjournal",
    "cleanup",
)
FALLBACK_STEPS = ("place_payments", "place_catalog")
COMMITTED_STEPS = PUBLISH_STEPS[PUBLISH_STEPS.index("exchange_payments") :]
_RUN_NAME = re.compile(rf"^(\d{{8}}T\d{{6,12}}Z-[0-9a-f]{{8}}|{ownership.LEGACY_RUN})$")


def _no_fault(step: str) -> None:
    return None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(root: Path) -> None:
    """fsync every file, then every directory bottom-up, of a tree (symlinks not followed)."""
    dirs = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                fsync_file(path)
        dirs += [Path(dirpath, d) for d in dirnames]
    for path in reversed(dirs):
        fsync_dir(path)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` by `data` durably: temporary file, fsync, rename, fsync the dir."""
    tmp = path.with_name(path.name + ".tmp")
    write_durable(tmp, data)
    os.rename(tmp, path)
    fsync_dir(path.parent)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


def exchange_paths(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths (Linux `renameat2(RENAME_EXCHANGE)`);
    False where the platform or the filesystem cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    res = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if res == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), str(b))


def _lstat_ino(path: Path) -> int | None:
    try:
        return os.lstat(path).st_ino
    except FileNotFoundError:
        return None


def is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


# DuckDB parses these in a database file's path: `?` starts options (the WAL of
# `a?b/x.duckdb` goes to `a.wal?b/x.duckdb`), `\` is read as `/` (so `a\b` may open
# another file, `a/b`). Every other character a file name can hold works.
DATABASE_PATH_CHARS = ("?", "\\")


def check_database_path(root: Path) -> None:
    """Refuse, before any work, an out_dir whose database DuckDB cannot open."""
    for path in {str(root), os.path.realpath(root)}:
        if found := [f"'{c}'" for c in DATABASE_PATH_CHARS if c in path]:
            raise SqlgenError(
                f"out_dir {path} contains {' and '.join(found)}, which DuckDB "
                "cannot have in a database path; choose a directory name without them"
            )


class OutputDir:
    def __init__(self, root: Path):
        if not str(root):
            raise SqlgenError("out_dir is empty; give a directory")
        self.root = Path(root).absolute()
        check_database_path(self.root)
        self.state = self.root / STATE_DIR
        self.payments = self.root / "payments"
        self.catalog = self.root / "catalog"
        self.database = self.root / DATABASE
        self.runs = self.state / "runs"
        self.current = self.state / "current"
        self.staging = self.state / "staging"
        self.journal = self.state / JOURNAL

    write_durable = staticmethod(write_durable)

    # -- the database link and the current pointer --------------------------------------

    def published_links(self) -> dict[str, Path]:
        return {name: self.root / name for name in PUBLISHED}

    @staticmethod
    def link_target(name: str) -> str:
        return f"{STATE_DIR}/current/{name}"

    def is_our_link(self, name: str) -> bool:
        """`out_dir/<name>` is sqlgen's symlink through `current` (the database; payments
        and catalog only in out_dirs written by the previous, symlinked layout)."""
        path = self.root / name
        return path.is_symlink() and os.readlink(path) == self.link_target(name)

    def ensure_links(self) -> None:
        """Create `sqlgen.duckdb` as a symlink through `current` (once per out_dir)."""
        if not self.is_our_link(DATABASE):
            os.symlink(self.link_target(DATABASE), self.database)  # fails if anything is there
            fsync_dir(self.root)

    def point_current(self, run_name: str, fault: Callable[[str], None] = _no_fault) -> None:
        """Atomically make `runs/<run_name>` the published run (one rename of a symlink)."""
        tmp = self.state / "current.new"
        if os.path.lexists(tmp):
            tmp.unlink()
        fault("symlink")
        os.symlink(f"runs/{run_name}", tmp)
        fault("swap")
        os.rename(tmp, self.current)
        fsync_dir(self.state)

    def current_run_name(self) -> str | None:
        if not self.current.is_symlink():
            return None
        return Path(os.readlink(self.current)).name

    def manifest_file(self) -> Path:
        """The published run's manifest, `.sqlgen/current/manifest.json`; an out_dir
        published by an earlier version keeps it at `payments/_manifest.json`."""
        path = self.current / MANIFEST
        legacy = self.payments / LEGACY_MANIFEST
        return legacy if not path.is_file() and legacy.is_file() else path

    def database_file(self) -> Path:
        """The published run's database file, resolved once so a reader keeps one run."""
        return Path(os.path.realpath(self.database))

    def recorded_inodes(self, name: str) -> set[int]:
        """Inode numbers sqlgen recorded for `out_dir/<name>`: the published run's and,
        while a publication is in progress, the new run's."""
        found = set()
        sources = [self.journal]
        if (run := self.current_run_name()) is not None:
            sources.append(self.runs / run / INODES)
        for path in sources:
            with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
                data = json.loads(path.read_text())
                found.add(int(data.get("inodes", data)[name]))
        return found

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Claim the out_dir and hold the exclusive writer lock: a second run on the same
        out_dir fails at once. Refuses (touching nothing) an out_dir sqlgen does not own;
        in one it owns, first repairs a missing or dangling `current`."""
        if self.current_is_broken():
            self._unless_locked(self.repair_current)
        kind = ownership.status(self)
        self.state.mkdir(parents=True, exist_ok=True)
        if kind == "new":
            ownership.mark(self)
        fh = open(self.state / "lock", "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise SqlgenError(
                f"another sqlgen run is writing to {self.root}; wait for it to finish "
                "or choose another --out-dir"
            ) from None
        try:
            ownership.claim(self, kind)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def sweep(self) -> None:
        """With the lock held: finish an interrupted publication, then remove what killed
        or failed runs left (staging, a temporary pointer or journal, older runs)."""
        self.recover()
        shutil.rmtree(self.staging, ignore_errors=True)
        for tmp in ("current.new", f"{JOURNAL}.tmp"):
            with contextlib.suppress(FileNotFoundError):
                (self.state / tmp).unlink()
        self.remove_old_runs()

    def remove_old_runs(self) -> None:
        """Delete every run directory sqlgen made except the published one, and the
        directories publication displaced; nothing while a publication is pending."""
        keep = self.current_run_name()
        if not self.runs.is_dir() or self.journal.exists():
            return
        for entry in self.runs.iterdir():
            if entry.name != keep and _RUN_NAME.match(entry.name) and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
        if keep is None:
            return
        for name in DIRS:
            if not is_real_dir(self.root / name):
                continue  # previous layout: the run's own directory is still the published one
            for displaced in (self.runs / keep / name, self.runs / keep / f"{name}.prev"):
                if displaced.is_symlink():
                    displaced.unlink()
                elif displaced.exists():
                    shutil.rmtree(displaced, ignore_errors=True)

    def staged_run(self, run_id: str) -> Path:
        return self.staging / run_id

    def stage(self, run_id: str) -> tuple[Path, Path]:
        """Fresh staging directories (payments, catalog) for one run."""
        base = self.staged_run(run_id)
        (base / "payments").mkdir(parents=True)
        (base / "catalog").mkdir()
        return base / "payments", base / "catalog"

    def publish(self, run_id: str, manifest: dict[str, Any] | None) -> Path:
        """Make the staged run `run_id` the published one; return its run directory.

        `manifest` (None for a catalogs-only run) lists the files the database's
        `payments` view reads. Every step before the journal can fail or be killed and
        leave the previous run untouched; from the journal on, publication rolls forward.
        """
        staged, run = self.staged_run(run_id), self.runs / run_id
        self.runs.mkdir(exist_ok=True)
        fault_point("promote")
        os.rename(staged, run)
        inodes = {name: os.lstat(run / name).st_ino for name in DIRS}
        write_durable(run / INODES, json.dumps(inodes).encode())
        fault_point("fsync")
        sync_tree(run)
        fsync_dir(self.runs)
        fault_point("links")
        self.ensure_links()
        fault_point("journal")
        entry = {
            "run_id": run_id,
            "previous": self.current_run_name(),
            "inodes": inodes,
            "view": manifest is not None,
        }
        write_atomically(self.journal, json.dumps(entry, indent=2).encode())  # commit point
        self.complete(entry, fault_point)
        return run

    def read_journal(self) -> dict[str, Any] | None:
        if not self.journal.is_file():
            return None
        try:
            entry = json.loads(self.journal.read_text())
            run_id, inodes = entry["run_id"], entry["inodes"]
            if not _RUN_NAME.match(run_id) or set(inodes) != set(DIRS):
                raise ValueError(run_id)
        except (ValueError, KeyError, TypeError) as exc:
            raise SqlgenError(
                f"{self.journal} is unreadable ({exc}); sqlgen cannot tell which run to complete"
            ) from exc
        return entry

    def committed(self, run_id: str) -> bool:
        """Has publication of `run_id` passed its commit point (journal written)?"""
        if self.current_run_name() == run_id and not self.journal.exists():
            return True
        with contextlib.suppress(SqlgenError):
            entry = self.read_journal()
            return entry is not None and entry["run_id"] == run_id
        return False

    def complete(self, entry: dict[str, Any], fault: Callable[[str], None] = _no_fault) -> None:
        """Roll the journalled publication forward from wherever it stopped."""
        run_id = entry["run_id"]
        run = self.runs / run_id
        for name in DIRS:
            fault(f"exchange_{name}")
            self._put_in_place(name, run, int(entry["inodes"][name]), fault)
        fsync_dir(self.root)
        fsync_dir(run)
        fault("view")
        if entry.get("view") and self.current_run_name() != run_id:
            manifest = json.loads((run / MANIFEST).read_text())
            if manifest.get("run_id") != run_id:
                raise SqlgenError(f"{run / MANIFEST} is not the manifest of run {run_id}")
            add_payments_view(run / DATABASE, self.root, manifest)
            fsync_file(run / DATABASE)
            fsync_dir(run)
        if self.current_run_name() != run_id:
            self.point_current(run_id, fault)
        fault("unjournal")
        self.journal.unlink()
        fsync_dir(self.state)

    def _put_in_place(
        self, name: str, run: Path, ino: int, fault: Callable[[str], None] = _no_fault
    ) -> None:
        """Make `run/<name>` (inode `ino`) be `out_dir/<name>`, if it is not already."""
        target, src = self.root / name, run / name
        found = _lstat_ino(target)
        if found == ino and is_real_dir(target):
            return  # done before (an exchange is its own inverse: compare inodes)
        if _lstat_ino(src) != ino:
            raise SqlgenError(f"cannot complete publication: {src} is missing")
        if found is None:
            os.rename(src, target)  # first publication, or the second rename of the fallback
        elif not exchange_paths(src, target):
            # No atomic exchange here (not Linux, or the filesystem refuses): move the
            # published directory aside, then the new one in. The journal covers the
            # moment between them: recovery finds `target` missing and finishes.
            os.rename(target, run / f"{name}.prev")
            fault(f"place_{name}")
            os.rename(src, target)

    def abandon(self, run_id: str) -> None:
        """After `run_id` failed before its commit point: remove what it made under
        `.sqlgen` (the promoted run directory, a temporary journal), so a failure for a
        full disk frees its space at once. The published run is not touched."""
        if self.committed(run_id) or self.current_run_name() == run_id:
            return
        run = self.runs / run_id
        if any(os.path.lexists(run / f"{name}.prev") for name in DIRS):
            return  # holds a published directory moved aside: never delete that
        shutil.rmtree(run, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.state / f"{JOURNAL}.tmp").unlink()
        self.discard(run_id)

    def recover(self) -> None:
        """With the lock held: complete a publication a killed or failed run committed."""
        entry = self.read_journal()
        if entry is not None:
            log.info("completing the interrupted publication of run %s", entry["run_id"])
            self.complete(entry)

    def abandon_if_untouched(self, run_id: str) -> bool:
        """Drop the journal of `run_id` if nothing visible moved yet (roll back); True if
        so. Used only when rolling forward fails in the run that wrote the journal."""
        with contextlib.suppress(SqlgenError):
            entry = self.read_journal()
            if entry is None or entry["run_id"] != run_id or self.current_run_name() == run_id:
                return False
            run = self.runs / run_id
            if any(_lstat_ino(self.root / n) == int(entry["inodes"][n]) for n in DIRS):
                return False
            if any(os.path.lexists(run / f"{n}.prev") for n in DIRS):
                return False  # a published directory is moved aside: finish, not undo
            self.journal.unlink()
            fsync_dir(self.state)
            return True
        return False

    def current_is_broken(self) -> bool:
        """Is `current` missing or dangling in an owned out_dir where a run is published
        (real `payments/`, `catalog/`) and no publication is pending?"""
        return (
            (self.state / ownership.OWNER).is_file()
            and not self.journal.exists()
            and not (self.current / DATABASE).is_file()
            and all(is_real_dir(self.root / name) for name in DIRS)
        )

    def published_run(self) -> str | None:
        """The run directory whose recorded inode numbers are those of `payments/` and
        `catalog/`; in a copied out_dir (new inode numbers), the one whose manifest lists
        exactly the files in `payments/`. None if no run with a database is proven published."""
        here = {name: _lstat_ino(self.root / name) for name in DIRS}
        runs = sorted(self.runs.iterdir()) if self.runs.is_dir() else []
        runs = [r for r in runs if _RUN_NAME.match(r.name) and (r / DATABASE).is_file()]
        for run in runs:
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError, AttributeError):
                inodes = json.loads((run / INODES).read_text())
                if all(int(inodes[name]) == here[name] for name in DIRS):
                    return run.name
        # A copy: the run whose manifest lists exactly the Parquet files in payments/.
        on_disk = {str(p.relative_to(self.root)) for p in self.payments.rglob("*.parquet")}
        for run in runs:
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError, AttributeError):
                manifest = json.loads((run / MANIFEST).read_text())
                if {entry["path"] for entry in manifest["files"]} == on_disk:
                    return run.name
        # An earlier version's copy: payments/_manifest.json names the run.
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            named = json.loads((self.payments / LEGACY_MANIFEST).read_text()).get("run_id")
            return next((r.name for r in runs if r.name == named), None)
        return None

    def repair_current(self) -> None:
        """With the lock held: re-point a missing or dangling `current` at the run that
        is published here, or say in one line what to do."""
        if not self.current_is_broken():
            return
        was = "dangling" if self.current.is_symlink() else "missing"
        run = self.published_run()
        if run is None:
            raise SqlgenError(
                f"{self.current} is {was} and no run under {self.runs} holds the published "
                f"payments/ and catalog/, so sqlgen cannot tell what {self.root} holds: move "
                "payments/ and catalog/ away and run `sqlgen run` again, or use another "
                "--out-dir"
            )
        log.warning("%s was %s: re-pointed at run %s, published here", self.current, was, run)
        self.point_current(run)

    def recover_for_reading(self) -> None:
        """Before reading: complete an interrupted publication, or repair a missing or
        dangling `current`, if no run holds the lock (a live run is left alone, and what
        it shows is read as is)."""
        if self.journal.is_file() or self.current_is_broken():
            self._unless_locked(self._tidy)

    def _tidy(self) -> None:
        try:
            self.recover()
        except (OSError, SqlgenError, duckdb.Error) as exc:
            log.warning("could not complete the interrupted publication in %s: %s", self.root, exc)
        self.repair_current()

    def _unless_locked(self, action: Callable[[], None]) -> None:
        """Do `action` holding the writer lock, unless a run holds it (then nothing)."""
        try:
            fd = os.open(self.state / "lock", os.O_RDWR)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return
        try:
            action()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def cleanup_after_publish(self) -> None:
        """Remove older runs; a failure here is a warning (the run is published)."""
        try:
            fault_point("cleanup")
            self.remove_old_runs()
        except OSError as exc:
            log.warning("could not remove older runs (the next run will): %s", exc)

    def discard(self, run_id: str) -> None:
        shutil.rmtree(self.staged_run(run_id), ignore_errors=True)

    def write_manifest(self, run_id: str, manifest: dict[str, Any]) -> None:
        """The staged run's manifest (in its run directory) and the empty `_SUCCESS`
        of its payments/ (Hadoop's marker of a finished output directory)."""
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        write_durable(self.staged_run(run_id) / MANIFEST, body)
        write_durable(self.staged_run(run_id) / "payments" / SUCCESS, b"")

    # -- reading ------------------------------------------------------------------------

    def read_manifest(self) -> dict[str, Any]:
        path = self.manifest_file()
        if not path.is_file():
            raise SqlgenError(
                f"{self.root}: no published run (missing {path.relative_to(self.root)})"
            )
        try:
            return json.loads(path.read_bytes())
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise SqlgenError(
                f"{path} is not valid JSON ({exc}); restore it, or run "
                "`sqlgen run` for this out_dir again"
            ) from exc

    def build_database(self, con: duckdb.DuckDBPyConnection, tables: list[str], tmp: Path) -> Path:
        """Write the tables of `con` into a new database file at `tmp` (not yet visible)."""
        tmp.unlink(missing_ok=True)
        con.execute(render("attach_copy_tables.sql", path=tmp, tables=tables))
        return tmp


def published_files(root: Path, manifest: dict[str, Any]) -> list[str]:
    """Absolute paths of a run's payments files where they are published
    (`out_dir/payments/...`), as the manifest lists them."""
    base = os.path.realpath(root)
    return [os.path.join(base, f["path"]) for f in manifest["files"]]


def database_marker(run_id: str) -> str:
    """How DuckDB's default `temp_directory` ends when this run's database is the one it
    opened: the database's resolved path (`<folder>/.sqlgen/runs/<run_id>/sqlgen.duckdb`)
    plus `.tmp`. The payments view finds its folder by it (see sql/payments_view.sql)."""
    return f"/{STATE_DIR}/runs/{run_id}/{DATABASE}.tmp"


def add_payments_view(database: Path, root: Path, manifest: dict[str, Any]) -> None:
    """Create the `payments` view over exactly the run's published files (no glob of a
    user path), found beside the database file wherever its folder is moved or copied.
    DuckDB reads the files to bind the view, so this runs once they are in place under
    `out_dir/payments`, before the database is published."""
    run_id = database.parent.name
    where = os.path.realpath(root)
    moved = (
        f"this sqlgen.duckdb (run {run_id}) was published in {where} and is read from "
        "elsewhere (moved or copied, and ATTACHed or opened with another temp_directory): "
        "open <folder>/sqlgen.duckdb itself, or use `sqlgen sql --out-dir <folder>`"
    )
    sql = render(
        "payments_view.sql",
        temp=False,
        relpaths=[f["path"] for f in manifest["files"]],
        files=published_files(root, manifest),
        marker=database_marker(run_id),
        database=os.path.realpath(database),
        moved=moved,
    )
    db = duckdb.connect(str(database))
    try:
        db.execute(sql)
    finally:
        db.close()
