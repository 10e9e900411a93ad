"""Which directories sqlgen may write: only an out_dir it owns.

An out_dir is owned once `.sqlgen/owner` exists in it. sqlgen claims a new directory
(or one holding none of the names it publishes), converts an out_dir written by the
previous layout (real `payments/` and a `.sqlgen/lock`, no marker), and refuses
anything else: a `payments`, `catalog` or `sqlgen.duckdb` it did not make, or an
out_dir inside another sqlgen output. `status` writes nothing, so a refusal touches
nothing; `claim` runs with the writer lock held.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlgen.errors import SqlgenError

if TYPE_CHECKING:
    from sqlgen.writer import OutputDir

OWNER = "owner"
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
            continue  # the previous layout's real directory or file: converted by `claim`
        raise _foreign(out, path)
    return kind


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
    """Move the previous layout's published run into `runs/legacy` and point links at it.

    Each step can be repeated, so a kill halfway is finished by the next run; nothing is
    deleted here (the run is replaced, as before, by the next publication).
    """
    run = out.runs / LEGACY_RUN
    run.mkdir(parents=True, exist_ok=True)
    for name, path in out.published_links().items():
        if os.path.lexists(path) and not path.is_symlink():
            os.rename(path, run / name)
    for name in ("payments", "catalog"):
        (run / name).mkdir(exist_ok=True)
    if not os.path.lexists(out.current):
        out.point_current(LEGACY_RUN)
    out.ensure_links()
