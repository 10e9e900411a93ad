"""The output directory: ownership, locking, staging, atomic publication, manifest,
database file.

Layout of `out_dir`:

    payments -> .sqlgen/current/payments     symlinks, created once, through `current`
    catalog -> .sqlgen/current/catalog
    sqlgen.duckdb -> .sqlgen/current/sqlgen.duckdb
    .sqlgen/owner                            marks an out_dir sqlgen owns
    .sqlgen/lock                             held by the running `sqlgen run`
    .sqlgen/current -> runs/<run_id>         the published run: one symlink
    .sqlgen/runs/<run_id>/                   immutable runs: payments/ (Parquet,
                                             _manifest.json, _SUCCESS), catalog/,
                                             sqlgen.duckdb
    .sqlgen/staging/<run_id>/                where a run is written, invisible to readers

Publication (`publish`): the staged run is renamed into `runs/`, its database gets the
`payments` view over the run's exact files, every file and directory of it is
fsynced, and a new `current` symlink replaces the old one by one `rename`: readers see
the old run or the new one, never a mix. Older runs are removed only after that. A run
killed or failing at any instant before the `rename` leaves the previous run as it
was; the next run sweeps the debris.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from sqlgen import ownership
from sqlgen.errors import SqlgenError
from sqlgen.faults import fault_point
from sqlgen.render import render

log = logging.getLogger("sqlgen")

STATE_DIR = ".sqlgen"
MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
DATABASE = "sqlgen.duckdb"
PUBLISHED = ("payments", "catalog", DATABASE)  # readable at out_dir/<name>, via `current`
# Steps of publication, in order; `faults.fault_point` can fail the process before each.
PUBLISH_STEPS = ("promote", "view", "fsync", "links", "symlink", "swap", "cleanup")
_RUN_NAME = re.compile(rf"^(\d{{8}}T\d{{6,12}}Z-[0-9a-f]{{8}}|{ownership.LEGACY_RUN})$")


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


def file_sha256(path: Path, fsync: bool = False) -> str:
    """SHA-256 hex of a file, read in blocks; optionally fsync it while open."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
        if fsync:
            os.fsync(fh.fileno())
    return digest.hexdigest()


def write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


class OutputDir:
    def __init__(self, root: Path):
        if not str(root):
            raise SqlgenError("out_dir is empty; give a directory")
        self.root = Path(root).absolute()
        self.state = self.root / STATE_DIR
        self.payments = self.root / "payments"
        self.catalog = self.root / "catalog"
        self.database = self.root / DATABASE
        self.runs = self.state / "runs"
        self.current = self.state / "current"
        self.staging = self.state / "staging"

    write_durable = staticmethod(write_durable)

    # -- links and the current pointer -------------------------------------------------

    def published_links(self) -> dict[str, Path]:
        return {name: self.root / name for name in PUBLISHED}

    @staticmethod
    def link_target(name: str) -> str:
        return f"{STATE_DIR}/current/{name}"

    def is_our_link(self, name: str) -> bool:
        path = self.root / name
        return path.is_symlink() and os.readlink(path) == self.link_target(name)

    def ensure_links(self) -> None:
        """Create the documented paths as symlinks through `current` (once per out_dir)."""
        made = False
        for name, path in self.published_links().items():
            if not self.is_our_link(name):
                os.symlink(self.link_target(name), path)  # fails if anything is there
                made = True
        if made:
            fsync_dir(self.root)

    def point_current(self, run_name: str) -> None:
        """Atomically make `runs/<run_name>` the published run (one rename of a symlink)."""
        tmp = self.state / "current.new"
        if os.path.lexists(tmp):
            tmp.unlink()
        fault_point("symlink")
        os.symlink(f"runs/{run_name}", tmp)
        fault_point("swap")
        os.rename(tmp, self.current)
        fsync_dir(self.state)

    def current_run_name(self) -> str | None:
        if not self.current.is_symlink():
            return None
        return Path(os.readlink(self.current)).name

    def run_root(self) -> Path:
        """Directory holding the published run's payments/, catalog/ and database, resolved
        once so a reader sees one run even if another is published meanwhile; `root`
        for a previous-layout out_dir."""
        name = self.current_run_name()
        return self.root if name is None else Path(os.path.realpath(self.runs / name))

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Claim the out_dir and hold the exclusive writer lock: a second run on the same
        out_dir fails at once. Refuses (touching nothing) an out_dir sqlgen does not own."""
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
        """Remove what killed or failed runs left (call with the lock held): staging,
        a temporary pointer, and run directories that are not the published one."""
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.state / "current.new").unlink()
        self.remove_old_runs()

    def remove_old_runs(self) -> None:
        """Delete every run directory sqlgen made except the published one."""
        keep = self.current_run_name()
        if not self.runs.is_dir():
            return
        for entry in self.runs.iterdir():
            if entry.name != keep and _RUN_NAME.match(entry.name) and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)

    def staged_run(self, run_id: str) -> Path:
        return self.staging / run_id

    def stage(self, run_id: str) -> tuple[Path, Path]:
        """Fresh staging directories (payments, catalog) for one run."""
        base = self.staged_run(run_id)
        (base / "payments").mkdir(parents=True)
        (base / "catalog").mkdir()
        return base / "payments", base / "catalog"

    def publish(self, run_id: str, manifest: dict[str, Any] | None) -> Path:
        """Make the staged run `run_id` the published one, atomically; return its directory.

        `manifest` (None for a catalogs-only run) lists the files the database's
        `payments` view reads. Every step before the `current` swap can fail or be
        killed and leave the previous run untouched; the swap is one `rename`.
        """
        staged, run = self.staged_run(run_id), self.runs / run_id
        self.runs.mkdir(exist_ok=True)
        fault_point("promote")
        os.rename(staged, run)
        fault_point("view")
        if manifest is not None and (run / DATABASE).is_file():
            add_payments_view(run / DATABASE, run, manifest)
        fault_point("fsync")
        sync_tree(run)
        fsync_dir(self.runs)
        fault_point("links")
        self.ensure_links()
        self.point_current(run_id)
        return run

    def cleanup_after_publish(self) -> None:
        """Remove older runs; a failure here is a warning (the run is published)."""
        try:
            fault_point("cleanup")
            self.remove_old_runs()
        except OSError as exc:
            log.warning("could not remove older runs (the next run will): %s", exc)

    def discard(self, run_id: str) -> None:
        shutil.rmtree(self.staged_run(run_id), ignore_errors=True)

    def write_manifest(self, staged_payments: Path, manifest: dict[str, Any]) -> None:
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        write_durable(staged_payments / MANIFEST, body)
        write_durable(staged_payments / SUCCESS, b"")

    # -- reading ------------------------------------------------------------------------

    def read_manifest(self, run: Path | None = None) -> dict[str, Any]:
        path = (run or self.run_root()) / "payments" / MANIFEST
        if not path.is_file():
            raise SqlgenError(f"{self.root}: no published run (missing payments/{MANIFEST})")
        return json.loads(path.read_text())

    def build_database(self, con: duckdb.DuckDBPyConnection, tables: list[str], tmp: Path) -> Path:
        """Write the tables of `con` into a new database file at `tmp` (not yet visible)."""
        tmp.unlink(missing_ok=True)
        con.execute(render("attach_copy_tables.sql", path=tmp, tables=tables))
        return tmp


def run_files(run: Path, manifest: dict[str, Any]) -> list[str]:
    """Absolute paths of a run's payments files, as the manifest lists them."""
    base = os.path.realpath(run)
    return [os.path.join(base, f["path"]) for f in manifest["files"]]


def add_payments_view(database: Path, run: Path, manifest: dict[str, Any]) -> None:
    """Create the `payments` view over exactly the run's files (no glob of a user path)."""
    db = duckdb.connect(str(database))
    try:
        db.execute(render("payments_view.sql", files=run_files(run, manifest)))
    finally:
        db.close()
