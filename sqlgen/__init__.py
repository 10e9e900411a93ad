"""sqlgen: realistic, labelled synthetic card payments, generated with DuckDB.

Layers, bottom to top (docs/architecture.md; `tests/unit/test_layers.py` keeps imports
flowing downwards): foundations (the modules directly in this folder: errors, resources,
schema, seeds, render, arrow_np, sampling, combos, files, faults), `scenarios/`,
`config/`, `world/`, `generate/`, `publish/`, `execute/`, `inspect/`, and on top the
entry points (`cli`, `runner`, `__main__`) and the Python API (`core`, this module).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "generate_dataframe", "load_config", "write_parquet"]


def __getattr__(name: str):
    # The API is imported lazily so `import sqlgen` stays cheap for the CLI.
    if name in ("generate_dataframe", "write_parquet", "load_config"):
        from sqlgen import core

        return getattr(core, name)
    raise AttributeError(name)
