"""The output directory: locking, staging, atomic publication, manifest, database file.

Layout of `out_dir`:

    payments -> .sqlgen/runs/<run_id>/payments   the published run (a symlink)
    catalog  -> .sqlgen/catalogs/<run_id>        v2 catalog Parquet (a symlink)
    sqlgen.duckdb                                catalogs + a `payments` view
    .sqlgen/lock                                 held by the running `sqlgen run`

A run writes everything under `.sqlgen/runs/<run_id>/`, invisible to readers of
`out_dir/payments/**`, then swaps the `payments` link with one atomic rename. A run
killed at any moment leaves the previous run in place; the next run sweeps its debris.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
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


def write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


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

    def _published(self, link: Path) -> Path | None:
        return link.resolve() if link.is_symlink() else None

    def sweep(self) -> None:
        """Remove staging left by killed or failed runs (call with the lock held)."""
        keep = {self._published(self.payments), self._published(self.catalog)}
        for kind in ("runs", "catalogs"):
            base = self.state / kind
            if not base.is_dir():
                continue
            for entry in base.iterdir():
                if entry.resolve() not in keep and not any(
                    k is not None and entry.resolve() in k.parents for k in keep
                ):
                    shutil.rmtree(entry, ignore_errors=True)
        for tmp in self.root.glob(".*.tmp-*"):
            tmp.unlink(missing_ok=True)

    def stage_run(self, run_id: str) -> Path:
        path = self.state / "runs" / run_id / "payments"
        path.mkdir(parents=True)
        return path

    def stage_catalogs(self, run_id: str) -> Path:
        path = self.state / "catalogs" / run_id
        path.mkdir(parents=True)
        return path

    def _swap_link(self, link: Path, target: Path) -> Path | None:
        """Point `link` at `target` with one atomic rename; return the old target."""
        old = self._published(link)
        if link.exists() and not link.is_symlink():
            # A plain directory from another tool: moved aside once, then linked.
            aside = self.state / "replaced" / f"{link.name}-{dt.datetime.now():%Y%m%d%H%M%S}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            link.rename(aside)
        tmp = self.root / f".{link.name}.tmp-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target.relative_to(self.root))
        os.replace(tmp, link)
        fsync_dir(self.root)
        return old

    def publish(self, staged_payments: Path | None, staged_catalog: Path | None) -> None:
        olds = []
        if staged_catalog is not None:
            fsync_dir(staged_catalog)
            olds.append(self._swap_link(self.catalog, staged_catalog))
        if staged_payments is not None:
            fsync_dir(staged_payments)
            olds.append(self._swap_link(self.payments, staged_payments))
        for old in olds:
            if old is not None and old not in (staged_payments, staged_catalog):
                shutil.rmtree(old.parent if old.name == "payments" else old, ignore_errors=True)

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
        """Replace `sqlgen.duckdb` atomically with catalog tables and the payments view."""
        tmp = self.state / f"{DATABASE}.tmp-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        con.execute(render("attach_copy_tables.sql", path=tmp, tables=tables))
        if (self.payments / SUCCESS).is_file():
            db = duckdb.connect(str(tmp))
            try:
                db.execute(render("payments_view.sql", glob=self.payments / "**" / "*.parquet"))
            finally:
                db.close()
        os.replace(tmp, self.database)
        fsync_dir(self.root)
