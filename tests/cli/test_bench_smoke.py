"""Keeps the benchmark scripts working (tiny sizes, one repeat); asserts no speed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_script(name: str, *args: str) -> str:
    """Run a benchmark script; its stdout, after checking it exited 0."""
    script = str(ROOT / "benchmarks" / name)
    proc = subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_bench_prints_table_with_ratios():
    out = run_script("bench.py", "--rows", "20000", "--repeat", "1")
    for tool in ("sqlgen", "write floor", "legacy-style"):
        assert tool in out
    assert "sqlgen/floor time =" in out and "speed-up over legacy =" in out
    assert "chunks=" in out  # sqlgen's phase timings were parsed


@pytest.mark.slow
def test_chunk_stages_prints_every_stage():
    out = run_script("chunk_stages.py", "--rows", "20000", "--chunks", "2")
    stages = ["skeleton", "scenarios", "time sort", "attributes", "arrow view", "score query"]
    stages += ["labels", "row query + COPY", "sha256 + fsync"]
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    for stage in stages:
        assert stage in lines, stage
        assert float(lines[stage].split()[-3]) > 0  # ms per chunk
    assert "; 2 chunks, " in out  # the first two chunks of the planned run
    assert "COPY of the last chunk's finished rows from a table" in out


@pytest.mark.slow
def test_world_scale_prints_one_row_per_world():
    out = run_script("world_scale.py", "--cards", "1000,3000", "--rows", "5000")
    rows = [ln.split() for ln in out.splitlines() if ln.lstrip().startswith(("1,000", "3,000"))]
    assert [r[0] for r in rows] == ["1,000", "3,000"]
    for r in rows:
        run_s, catalog_s, _, _, driver, worker, tree = (float(v.replace(",", "")) for v in r[1:8])
        assert 0 < catalog_s < run_s and driver > 0 and worker > 0 and tree >= driver
