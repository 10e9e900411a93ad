"""Locates the data directories (`sql/`, `schema/`, `configs/`) shipped with sqlgen.

A wheel carries them under `sqlgen/_data/`; a source checkout or editable install keeps
them at the repository root. Both layouts resolve here and nowhere else.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def resource_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"sqlgen data directory '{name}' is missing from the installation")


def default_config_path() -> Path:
    return resource_dir("configs") / "default.yaml"
