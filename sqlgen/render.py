"""Renders the SQL templates in `sql/` and quotes the few literals DuckDB cannot bind.

Jinja shapes a statement (which columns, which joins); values travel as bound
parameters. `COPY ... TO` and `read_parquet` need file paths inline, so those go
through `sql_string`, the only place a literal is spliced. `read_parquet` expands glob
characters even in a single path, so a path it reads goes through `exact_path`, which
brackets them (`[*]` matches only `*`): a user's `run*` never reads a sibling `runA`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from sqlgen.resources import resource_dir
from sqlgen.schema import check_identifier


def sql_string(value: str | Path) -> str:
    """A single-quoted SQL string literal."""
    text = str(value)
    if "\x00" in text:
        raise ValueError("NUL byte in SQL literal")
    return "'" + text.replace("'", "''") + "'"


def glob_escape(value: str | Path) -> str:
    """`value` as a DuckDB glob pattern that matches exactly that one path.

    >>> glob_escape("/data/run*/r[ab]/x?.parquet")
    '/data/run[*]/r[[]ab]/x[?].parquet'
    """
    return "".join(f"[{c}]" if c in "*?[" else c for c in str(value))


def exact_path(value: str | Path) -> str:
    """A SQL literal naming exactly one file for `read_parquet` (glob characters escaped)."""
    return sql_string(glob_escape(value))


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("sql"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ident"] = check_identifier
    env.filters["literal"] = sql_string
    env.filters["exact_path"] = exact_path
    return env


def render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)
