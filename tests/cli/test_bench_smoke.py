"""Keeps benchmarks/bench.py working (tiny size, one repeat); asserts no speed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_prints_table_with_ratios():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--rows", "20000", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for tool in ("sqlgen", "write floor", "legacy-style"):
        assert tool in out
    assert "sqlgen/floor time =" in out and "speed-up over legacy =" in out
    assert "chunks=" in out  # sqlgen's phase timings were parsed
