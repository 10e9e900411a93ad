"""Which directories sqlgen may write: only an out_dir it owns.

An out_dir is owned once `.sqlgen/owner` exists in it. sqlgen claims a new directory
(or one holding none of the names it publishes), converts an out_dir written by the
first layout (real `payments/` and a `.sqlgen/lock`, no marker), and refuses anything
else: a `payments`, `catalog` or `sqlgen.duckdb` it did not make, or an out_dir inside
another sqlgen output. In an owned out_dir, `payments/` and `catalog/` are sqlgen's when
they are real directories whose inode numbers the published run (or the publication in
progress) recorded, or, for a copied out_dir, when `payments/` holds exactly the files
the published run's manifest lists; the symlinks of the previous layout (through
`.sqlgen/current`) are sqlgen's too. `status` writes nothing, so a refusal touches
nothing; `claim` runs with the writer lock held.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlgen.errors import SqlgenError
from sqlgen.files import write_durable

if TYPE_CHECKING:
    from sqlgen.publish.writer import OutputDir

OWNER = "owner"
DATABASE = "sqlgen.duckdb"
INODES = "inodes.json"  # in a run directory: inode numbers of its payments/ and catalog/
DIRS = ("payments", "catalog")  # real directories at out_dir/<name>, exchanged into place
LEGACY_RUN = "legacy"  # the run directory a converted previous-layout out_dir becomes


def is_sqlgen_output(path: Path) -> bool:
    state = path / ".sqlgen"
    return (state / OWNER).is_file() or (state / "lock").is_file()


def _enclosing_output(root: Path) -> Path | None:
    candidates = [*root.parents, *Path(os.path.realpath(root)).parents]
    return next((p for p in candidates if is_sqlgen_output(p)), None)


def _foreign(out: OutputDir, path: Path) -> SqlgenError:
    return SqlgenError(
        f"{path} exists and was not made by sqlgen; sqlgen touches nothing it did not "
        "create: move it away or choose another --out-dir"
    )


def _empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def status(out: OutputDir) -> str:
    """'owned', 'legacy' (previous layout) or 'new'; raises if sqlgen may not write here."""
    root = out.root
    if root.exists() and not root.is_dir():
        raise SqlgenError(f"out_dir {root} exists and is not a directory")
    parent = _enclosing_output(root)
    if parent is not None:
        raise SqlgenError(
            f"out_dir {root} is inside the sqlgen output {parent}; choose a directory outside it"
        )
    if (out.state / OWNER).is_file():
        kind = "owned"
    elif (out.state / "lock").is_file():
        kind = "legacy"
    elif os.path.lexists(out.state) and not _empty_dir(out.state):
        raise _foreign(out, out.state)
    else:
        kind = "new"  # an empty `.sqlgen` is a first run killed before its marker
    for name, path in out.published_links().items():
        if not os.path.lexists(path) or out.is_our_link(name):
            continue
        if kind == "legacy" and not path.is_symlink():
            continue  # the first layout's real directory or file: converted by `claim`
        if kind == "owned" and _published_dir(out, name):
            continue
        raise _foreign(out, path)
    return kind


def _published_dir(out: OutputDir, name: str) -> bool:
    """Is `out_dir/<name>` (payments or catalog) the real directory sqlgen published?"""
    path = out.root / name
    if name == "sqlgen.duckdb" or path.is_symlink() or not path.is_dir():
        return False
    if os.lstat(path).st_ino in out.recorded_inodes(name):
        return True
    # A copied or restored out_dir has new inode numbers: accept a payments/ holding
    # exactly the Parquet files the published run's manifest lists, and a catalog/
    # beside it holding only catalog files.
    runs = {out.current_run_name()}
    try:
        manifest = json.loads(out.manifest_file().read_text())
        if manifest.get("run_id") not in runs:
            return False
        if name == "payments":
            listed = {e["path"] for e in manifest["files"]}
            found = {str(p.relative_to(out.root)) for p in path.rglob("*.parquet")}
            return found == listed
        listed = {e["path"] for e in manifest.get("catalog_files", [])}
        found = {str(p.relative_to(out.root)) for p in path.rglob("*") if not p.is_dir()}
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return False
    return found <= listed


def mark(out: OutputDir) -> None:
    """Write the owner marker (before the lock file, so that a `.sqlgen/lock` without
    a marker can only come from the previous layout)."""
    body = json.dumps({"created_by": "sqlgen", "layout": 2}).encode()
    out.write_durable(out.state / OWNER, body)


def claim(out: OutputDir, kind: str) -> None:
    """Finish claiming an out_dir of `kind` (from `status`) once the lock is held."""
    if kind == "legacy" and not (out.state / OWNER).is_file():
        _convert_legacy(out)
        mark(out)


def _convert_legacy(out: OutputDir) -> None:
    """Adopt the first layout's published run as the run `runs/legacy`: its real
    `payments/` and `catalog/` stay where they are (their inode numbers are recorded),
    its database file moves into the run directory behind the `sqlgen.duckdb` link.

    Each step can be repeated, so a kill halfway is finished by the next run; nothing is
    deleted here (the run is replaced, as before, by the next publication).
    """
    run = out.runs / LEGACY_RUN
    run.mkdir(parents=True, exist_ok=True)
    for name in DIRS:
        (out.root / name).mkdir(exist_ok=True)
    inodes = {name: os.lstat(out.root / name).st_ino for name in DIRS}
    write_durable(run / INODES, json.dumps(inodes).encode())
    if os.path.lexists(out.database) and not out.database.is_symlink():
        os.rename(out.database, run / DATABASE)
    if not os.path.lexists(out.current):
        out.point_current(LEGACY_RUN)
    out.ensure_links()
