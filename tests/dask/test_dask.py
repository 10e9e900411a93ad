"""Dask distributed: a real LocalCluster (worker processes on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from sqlgen.config import with_overrides
from sqlgen.runner import run
from tests.cli.test_cli import TINY, sqlgen
from tests.s3.test_upload import DEFAULT, LEVELS

distributed = pytest.importorskip("distributed")


def file_hashes(out) -> list[tuple[str, str]]:
    manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
    return [(f["path"], f["sha256"]) for f in manifest["files"]]


def catalog_hashes(out) -> list[tuple[str, str]]:
    manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
    return [(f["path"], f["sha256"]) for f in manifest["catalog_files"]]


@pytest.mark.slow
@LEVELS
def test_dask_localcluster_output_equals_local(tiny, tmp_path, realism):
    tiny = with_overrides(tiny, realism=realism)
    local = with_overrides(tiny, out_dir=tmp_path / "local", executor="local")
    run(local, show_progress=False)
    dask = with_overrides(tiny, out_dir=tmp_path / "dask", executor="dask", num_workers=2)
    result = run(dask, show_progress=False)
    assert result.manifest["fraud_rows"] == tiny.fraud_target
    assert file_hashes(dask.out_dir) == file_hashes(local.out_dir)
    assert catalog_hashes(dask.out_dir) == catalog_hashes(local.out_dir)


@pytest.mark.slow
def test_worker_killed_mid_run_is_survived(tiny, tmp_path):
    cfg = with_overrides(tiny, rows=40_000, batch_size=800, realism=DEFAULT)
    local = with_overrides(cfg, out_dir=tmp_path / "local", executor="local")
    run(local, show_progress=False)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        dask = with_overrides(
            cfg, out_dir=tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address
        )
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(r=run(dask, show_progress=False)))
        thread.start()
        staging = dask.out_dir / ".sqlgen" / "staging"
        deadline = time.monotonic() + 120
        while len(list(staging.rglob("*.parquet"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        thread.join(timeout=300)
        assert "r" in outcome, "run did not finish"
        # The nanny restarted the worker or the other worker took over its tasks.
        assert victim not in client.run(os.getpid).values()
    finally:
        client.close()
        cluster.close()
    assert file_hashes(dask.out_dir) == file_hashes(local.out_dir)


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["dask", "processes"])
def test_chunk_that_always_fails_exits_1_and_publishes_nothing(tmp_path, executor):
    out = tmp_path / "out"
    proc = sqlgen(
        "run",
        "--config",
        TINY,
        "--realism",
        DEFAULT,
        "--out-dir",
        out,
        "--executor",
        executor,
        "--num-workers",
        2,
        "--no-progress",
        env={"SQLGEN_FAIL_CHUNKS": "2"},
    )
    assert proc.returncode == 1, proc.stderr
    assert "chunk 2 failed" in proc.stderr
    assert not (out / "payments").exists()
    assert not any((out / ".sqlgen" / "staging").glob("*"))
