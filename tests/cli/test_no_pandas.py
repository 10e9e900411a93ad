"""`sqlgen run` never imports pandas (pyarrow's `pa.array` would, in every process,
costing about 0.6 s of CPU each), and `arrow_np` builds what `pa.array` builds."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from sqlgen import arrow_np
from tests.cli.test_cli import sqlgen

# Put on PYTHONPATH as sitecustomize: every interpreter of the run (driver, fork server,
# workers) appends its pid to the log when anything asks to import pandas.
HOOK = """
import os, sys
class _Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            with open(os.environ["PANDAS_IMPORT_LOG"], "a") as log:
                log.write(f"{os.getpid()}\\n")
        return None
sys.meta_path.insert(0, _Watch())
"""


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas not installed")
@pytest.mark.parametrize("realism", ["v1", "v2", "v3"])
def test_run_imports_no_pandas_in_any_process(tmp_path, realism):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    log, seen = tmp_path / "pandas.log", tmp_path / "seen.log"
    # The watch itself works: an interpreter that imports pandas is logged.
    # The hook first, then any PYTHONPATH already given (a worktree's code under test).
    path = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": path, "PANDAS_IMPORT_LOG": str(seen)}
    probe = sqlgen("sql", "--help", env=env)  # any interpreter start
    assert probe.returncode == 0
    subprocess.run([sys.executable, "-c", "import pandas"], env={**env}, check=True)
    assert seen.read_text().strip()

    env["PANDAS_IMPORT_LOG"] = str(log)
    proc = sqlgen(
        "run",
        "--rows",
        30000,
        "--batch-size",
        10000,
        "--num-workers",
        2,
        "--realism",
        realism,
        "--out-dir",
        tmp_path / "out",
        "--no-progress",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert not log.exists(), f"pandas imported by pids {log.read_text().split()}"


CASES = [
    (np.array([1, -2, 3], dtype=np.int8), None, None),
    (np.array([1, 2, 3], dtype=np.int32), None, np.array([False, True, False])),
    (np.array([1, 2, 3], dtype=np.uint64), None, None),
    (np.array([0.5, -7.25, 3.0], dtype=np.float32), None, None),
    (np.array([0.5, 1.5, 3.0]), None, np.array([True, False, False])),
    (np.array([True, False, True, True, False, False, True, False, True]), None, None),
    (np.array([True, False, True]), None, np.array([False, False, True])),
    (
        np.array([1_700_000_000_000_000, 5], dtype=np.int64),
        pa.timestamp("us", tz="UTC"),
        np.array([False, True]),
    ),
    (np.array([1_700_000_000_000_000], dtype=np.int64), pa.timestamp("us"), None),
    (np.array(["a", "", "Zürich", "東京"], dtype=object), None, None),
    (np.array(["x", None, "yy"], dtype=object), None, None),
    (np.array(["x", "y", "zz"]), None, np.array([False, True, False])),
    (["EUR", "JPY"], None, None),
    (np.array([], dtype=np.int64), None, None),
]


@pytest.mark.parametrize(("values", "type_", "mask"), CASES)
def test_arrow_np_builds_what_pa_array_builds(values, type_, mask):
    got = arrow_np.array(values, type=type_, mask=mask)
    want = pa.array(values, type=type_, mask=mask)
    got.validate(full=True)
    assert got.type == want.type
    assert got.equals(want), (got, want)


def test_table_and_numbers_round_trip():
    t = arrow_np.table({"a": np.arange(5, dtype=np.int64), "b": np.linspace(0, 1, 5)})
    assert t.schema == pa.schema([("a", pa.int64()), ("b", pa.float64())])
    assert arrow_np.numbers(t.column("b")).tolist() == np.linspace(0, 1, 5).tolist()
    sliced = arrow_np.array(np.arange(10, dtype=np.int32)).slice(3, 4)
    assert arrow_np.numbers(sliced).tolist() == [3, 4, 5, 6]
    stamp = arrow_np.array(np.array([86_400_000_000]), type=pa.timestamp("us"))
    assert stamp.to_pylist() == [dt.datetime(1970, 1, 2)]
