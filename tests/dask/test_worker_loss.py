"""Losing Dask workers: survived while one is alive, and one clear line when not.

Real processes throughout: the CLI's LocalCluster (nanny-supervised worker processes,
restarted when killed) or a `dask scheduler` with a `dask worker`, killed with SIGKILL.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.s3.conftest import aws, moto_url  # noqa: F401 - fixtures used here
from tests.s3.test_upload import DEFAULT, TINY, keys, s3_manifest, setup_buckets, sqlgen

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.slow
SQLGEN = str(Path(sys.executable).parent / "sqlgen")
DASK = str(Path(sys.executable).parent / "dask")


def start(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [SQLGEN, *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def cluster_workers(driver: psutil.Process) -> list[psutil.Process]:
    """The LocalCluster's worker processes (its nannies live in the driver)."""
    found = []
    for child in driver.children():
        try:
            if "spawn_main" in " ".join(child.cmdline()) and child.is_running():
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR sqlgen" in line]


def test_repeated_worker_loss_is_survived(aws, tmp_path):  # noqa: F811
    """Issue 23 (4): four SIGKILLs 2.5 s apart, always of the longest-lived worker (the
    one holding most of the run's state), never both at once. The run goes on and its
    objects are byte for byte a local run's."""
    setup_buckets(aws)
    # A world big enough for 300k payments in the tiny config's two months (daily caps).
    size = ("--rows", 300_000, "--batch-size", 3_000, "--realism", DEFAULT, "--no-progress",
            "--set", "catalog.num_customers=20000", "--set", "catalog.num_cards=30000")
    local = tmp_path / "local"
    assert sqlgen("run", "--config", TINY, "--out-dir", local, *size).returncode == 0
    expected = json.loads((local / ".sqlgen" / "current" / "manifest.json").read_text())

    proc = start(
        "run", "--config", TINY, "--out-dir", tmp_path / "dask", *size, "--s3",
        "--executor", "dask", "--num-workers", 2,
    )  # fmt: skip
    try:
        driver = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        # Chunks are being uploaded: the cluster is up and the run under way.
        while not any(k.endswith(".parquet") for k in keys(aws, "raw-bucket")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.1)
        kills = 0
        while kills < 4 and proc.poll() is None:
            time.sleep(2.5)
            workers = cluster_workers(driver)
            while len(workers) < 2 and proc.poll() is None:  # a restart must be under way
                assert time.monotonic() < deadline + 120, "no worker was restarted"
                time.sleep(0.1)
                workers = cluster_workers(driver)
            if proc.poll() is None:
                min(workers, key=lambda p: p.create_time()).kill()
                kills += 1
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr
    assert kills >= 3, "the run ended before most kills"
    remote = s3_manifest(aws)
    raw = keys(aws, "raw-bucket")
    assert [(f["path"], f["sha256"]) for f in remote["files"]] == [
        (f["path"], f["sha256"]) for f in expected["files"]
    ]
    for entry in remote["files"]:
        assert hashlib.sha256(raw[entry["key"]]).hexdigest() == entry["sha256"], entry["key"]


def test_workers_killed_during_cluster_start_up_say_so(tmp_path):
    """Every worker process dies as it starts (SIGKILL from a `sitecustomize` that only
    a spawned worker runs): one line saying so, exit 1, nothing published."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, signal, sys\n"
        "if '--multiprocessing-fork' in sys.argv:\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    path = [str(hook), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    out = tmp_path / "out"
    proc = start(
        "run", "--config", TINY, "--out-dir", out, "--realism", DEFAULT, "--no-progress",
        "--executor", "dask", "--num-workers", 2, env=env,
    )  # fmt: skip
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 1, stderr
    [line] = error_lines(stderr)
    assert "the Dask LocalCluster could not start its 2 worker processes" in line, line
    assert "Traceback" not in stderr
    assert not (out / "payments").exists()


@pytest.fixture
def one_worker_cluster(tmp_path):
    """A `dask scheduler` and one `dask worker` without a nanny (nothing restarts it)."""
    sched_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(sched_file)],
        **quiet,
    )  # fmt: skip
    procs = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        worker = subprocess.Popen(
            [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"], **quiet
        )
        procs.append(worker)
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=90)
        yield address, worker
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_run_left_without_workers_says_so(one_worker_cluster, tmp_path):
    """The only worker dies mid-run and none joins: after the configured wait, one line
    saying the run cannot go on, exit 1, nothing published."""
    address, worker = one_worker_cluster
    out = tmp_path / "out"
    env = dict(os.environ, SQLGEN_DASK_NO_WORKER_SECONDS="3")
    proc = start(
        "run", "--config", TINY, "--out-dir", out, "--realism", DEFAULT, "--no-progress",
        "--rows", 200_000, "--batch-size", 2_000, "--executor", "dask", "--scheduler", address,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list((out / ".sqlgen" / "staging").rglob("*.parquet")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        worker.kill()
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, stderr
    [line] = error_lines(stderr)
    assert "the Dask cluster has had no worker for 3 s; the run cannot go on" in line, line
    assert "Traceback" not in stderr
    assert not (out / "payments").exists()
