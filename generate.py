"""Legacy entry point: `python generate.py ...` behaves as `sqlgen run ...`."""

from __future__ import annotations

import sys

from sqlgen.cli import main as _cli_main
from sqlgen.core import generate_dataframe, write_parquet  # noqa: F401 - legacy imports

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "run":
        args = ["run", *args]
    sys.exit(_cli_main(args))
