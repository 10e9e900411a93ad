"""The output directory: locking, staging, atomic publication, manifest, database file.

Layout of `out_dir`:

    payments/                      the published run: year=YYYY/month=MM/part-*.parquet,
                                   _manifest.json, _SUCCESS
    catalog/                       v2 catalog Parquet
    sqlgen.duckdb                  catalogs + a `payments` view
    .sqlgen/lock                   held by the running `sqlgen run`
    .sqlgen/staging/<run_id>/      where a run writes, invisible to readers of payments/

A finished run replaces `payments/` with one atomic directory exchange (Linux
`renameat2(RENAME_EXCHANGE)`), so readers see the old run or the new one, never a mix.
A run killed at any moment leaves the previous run in place; the next run sweeps its
staging.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from sqlgen.errors import SqlgenError
from sqlgen.render import render

STATE_DIR = ".sqlgen"
MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
DATABASE = "sqlgen.duckdb"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths; False where the platform cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    res = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if res == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(staged: Path, target: Path) -> None:
    """Put `staged` at `target`; whatever was at `target` moves to `staged`."""
    for sub in sorted(staged.rglob("*"), reverse=True):
        if sub.is_dir():
            fsync_dir(sub)
    fsync_dir(staged)
    if target.is_symlink():
        target.unlink()
    if not target.exists():
        os.rename(staged, target)
    elif not _exchange(staged, target):
        # No atomic exchange here (not Linux, or the filesystem refuses): two renames,
        # with a moment where `target` is absent but never half-filled.
        aside = staged.with_name(staged.name + ".old")
        os.rename(target, aside)
        os.rename(staged, target)
        os.rename(aside, staged)
    fsync_dir(target.parent)


class OutputDir:
    def __init__(self, root: Path):
        self.root = Path(root).absolute()
        self.state = self.root / STATE_DIR
        self.payments = self.root / "payments"
        self.catalog = self.root / "catalog"
        self.database = self.root / DATABASE

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock: a second run on the same out_dir fails at once."""
        self.state.mkdir(parents=True, exist_ok=True)
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
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def sweep(self) -> None:
        """Remove staging left by killed or failed runs (call with the lock held)."""
        shutil.rmtree(self.state / "staging", ignore_errors=True)
        for tmp in self.state.glob(f"{DATABASE}.tmp-*"):
            tmp.unlink(missing_ok=True)

    def stage(self, run_id: str) -> tuple[Path, Path]:
        """Fresh staging directories (payments, catalog) for one run."""
        base = self.state / "staging" / run_id
        (base / "payments").mkdir(parents=True)
        (base / "catalog").mkdir()
        return base / "payments", base / "catalog"

    def publish(self, staged_payments: Path | None, staged_catalog: Path | None) -> None:
        """Swap staged directories into place; the previous ones end up in staging."""
        if staged_catalog is not None:
            swap_in(staged_catalog, self.catalog)
        if staged_payments is not None:
            swap_in(staged_payments, self.payments)

    def discard(self, run_id: str) -> None:
        shutil.rmtree(self.state / "staging" / run_id, ignore_errors=True)

    def write_manifest(self, staged_payments: Path, manifest: dict[str, Any]) -> None:
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        write_durable(staged_payments / MANIFEST, body)
        write_durable(staged_payments / SUCCESS, b"")

    def read_manifest(self) -> dict[str, Any]:
        path = self.payments / MANIFEST
        if not path.is_file():
            raise SqlgenError(f"{self.root}: no published run (missing payments/{MANIFEST})")
        return json.loads(path.read_text())

    def write_database(self, con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
        """Replace `sqlgen.duckdb` atomically with catalog tables (and the payments view
        when a run is published)."""
        tmp = self.state / f"{DATABASE}.tmp-{os.getpid()}"
        self.build_database(con, tables, tmp)
        self.install_database(tmp)

    def build_database(self, con: duckdb.DuckDBPyConnection, tables: list[str], tmp: Path) -> Path:
        """Write the tables of `con` into a new database file at `tmp` (not yet visible)."""
        tmp.unlink(missing_ok=True)
        con.execute(render("attach_copy_tables.sql", path=tmp, tables=tables))
        return tmp

    def install_database(self, tmp: Path) -> None:
        """Add the `payments` view if a run is published, then put `tmp` in place."""
        if (self.payments / SUCCESS).is_file():
            db = duckdb.connect(str(tmp))
            try:
                db.execute(render("payments_view.sql", glob=self.payments / "**" / "*.parquet"))
            finally:
                db.close()
        os.replace(tmp, self.database)
        fsync_dir(self.root)
