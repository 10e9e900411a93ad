"""Publication safety: SIGKILL mid-run, concurrent runs, and `sqlgen validate`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import TINY, sqlgen, sqlgen_exe


def start_run(out: Path, *extra) -> subprocess.Popen:
    args = [
        sqlgen_exe(),
        "run",
        "--config",
        str(TINY),
        "--out-dir",
        str(out),
        "--no-progress",
        "--rows",
        "150000",
        "--batch-size",
        "6000",
        *map(str, extra),
    ]
    return subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def run_id(out: Path) -> str:
    return json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())["run_id"]


def visible_files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in (out / "payments").rglob("*.parquet")}


@pytest.mark.slow
def test_sigkill_at_any_moment_keeps_previous_run(tmp_path):
    out = tmp_path / "out"
    started = time.monotonic()
    first = start_run(out)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    took = time.monotonic() - started
    previous = run_id(out)
    files = visible_files(out)
    killed = 0
    # Kill moments spread over a run's length: start-up, chunks, publication.
    for delay in (0.1 * took, 0.3 * took, 0.5 * took, 0.7 * took, 0.9 * took):
        proc = start_run(out, "--seed", 99)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait(timeout=60)
        killed += rc == -signal.SIGKILL
        check = sqlgen("validate", "--out-dir", out)
        assert check.returncode == 0, check.stderr
        if run_id(out) == previous:
            assert visible_files(out) == files
    assert killed >= 3  # most kills landed mid-run, not after it
    # The next run sweeps the debris and publishes normally.
    proc = start_run(out)
    assert proc.wait(timeout=300) == 0
    assert not any((out / ".sqlgen" / "staging").glob("*"))
    assert sqlgen("validate", "--out-dir", out).returncode == 0


def test_second_concurrent_run_fails_at_once(tmp_path):
    out = tmp_path / "out"
    first = start_run(out)
    deadline = time.monotonic() + 60
    while not any((out / ".sqlgen" / "staging").glob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "first run ended before the second started"
    second = sqlgen("run", "--config", TINY, "--out-dir", out, "--rows", 1000)
    assert second.returncode == 1
    assert "another sqlgen run is writing to" in second.stderr
    assert first.wait(timeout=300) == 0
    check = sqlgen("validate", "--out-dir", out)
    assert check.returncode == 0 and "150,000 rows" in check.stdout


@pytest.fixture
def valid_out(tmp_path) -> Path:
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return out


def test_validate_passes_with_summary(valid_out):
    proc = sqlgen("validate", "--config", TINY, "--out-dir", valid_out)
    assert proc.returncode == 0
    assert proc.stdout.startswith("valid: 6 files, 4,000 rows, 80 frauds")


def test_validate_catches_flipped_byte_missing_and_extra_file(valid_out):
    files = sorted((valid_out / "payments").rglob("*.parquet"))
    data = bytearray(files[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    files[0].write_bytes(bytes(data))
    files[1].unlink()
    extra = files[2].with_name("part-99999.parquet")
    extra.write_bytes(files[2].read_bytes())
    proc = sqlgen("validate", "--out-dir", valid_out)
    assert proc.returncode == 1
    err = proc.stderr
    assert f"{files[0].relative_to(valid_out)}: sha256 differs" in err
    assert f"missing file: {files[1].relative_to(valid_out)}" in err
    assert f"extra file not in manifest: {extra.relative_to(valid_out)}" in err


def test_validate_catches_wrong_target(valid_out, tmp_path):
    cfg = tmp_path / "other.yaml"
    cfg.write_text(TINY.read_text().replace("fraud_rate: 0.02", "fraud_rate: 0.03"))
    proc = sqlgen("validate", "--config", cfg, "--out-dir", valid_out)
    assert proc.returncode == 1
    assert "80 fraud rows, the config's target is 120" in proc.stderr


def test_validate_without_a_run(tmp_path):
    proc = sqlgen("validate", "--out-dir", tmp_path)
    assert proc.returncode == 1 and "no published run" in proc.stderr


def test_validate_checks_v2_catalog_files(valid_out):
    manifest = json.loads((valid_out / ".sqlgen" / "current" / "manifest.json").read_text())
    assert {e["path"] for e in manifest["catalog_files"]} == {
        "catalog/cards.parquet",
        "catalog/customers.parquet",
        "catalog/merchants.parquet",
    }
    cards = valid_out / "catalog" / "cards.parquet"
    cards.write_bytes(cards.read_bytes() + b"\0")
    proc = sqlgen("validate", "--out-dir", valid_out)
    assert proc.returncode == 1
    assert "catalog/cards.parquet: sha256 differs" in proc.stderr
