"""What `sqlgen report` reads through, and which optional packages it found.

The report's database connection is capped (`MEMORY_LIMIT`): DuckDB spills big sorts and
windows to a temporary directory of the report's own, removed afterwards, so the report
stays well under 1 GB at any run size. Everything row-sized is aggregated in SQL; the
parts that need Python per row (geocoders, the difficulty profile) read seeded samples.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from sqlgen.errors import SqlgenError
from sqlgen.inspect.inspect import has_payments_view, open_database

MEMORY_LIMIT = "256MB"  # DuckDB's share of the report's memory
WORLD_MODULES = ("global_land_mask", "reverse_geocoder", "timezonefinder")
WORLD_EXTRA = "pip install 'sqlgen[world]'"
REPORT_EXTRA = "pip install 'sqlgen[report]'"


def have(*modules: str) -> bool:
    """Every module importable (without importing it)."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except (ImportError, ValueError):
        return False


def require_plotly() -> None:
    """Fail at once, before any work, when `--html` cannot be written."""
    if not have("plotly"):
        raise SqlgenError(f"`report --html` needs Plotly: {REPORT_EXTRA}")


def missing_extras() -> list[str]:
    """A heading naming the sections that a missing extra would add (none: nothing)."""
    lines = []
    if not have(*WORLD_MODULES):
        lines.append(
            "  world checks of places (on land, in own country) and of time offsets: "
            f"{WORLD_EXTRA}"
        )
    if not have("plotly"):
        lines.append(f"  `report --html` (charts): {REPORT_EXTRA}")
    return ["== optional sections not available here", "\n".join(lines)] if lines else []


@contextlib.contextmanager
def report_database(out_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The run's database for the report: read-only, memory capped, spilling to a
    temporary directory that is removed on the way out."""
    spill = tempfile.mkdtemp(prefix="sqlgen-report-")
    try:
        con = open_database(out_dir, memory_limit=MEMORY_LIMIT, temp_directory=spill)
        try:
            if not has_payments_view(con):
                raise SqlgenError(
                    f"{out_dir} holds catalogs only; run `sqlgen run` for this out_dir to "
                    "have payments to report on"
                )
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
