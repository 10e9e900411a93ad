"""Dask workers that share no disk with the driver, delivering to S3 (moto over HTTP).

A real `dask scheduler` and three `dask worker` processes; each worker runs under
`unshare -m` with a private tmpfs mounted over this test's directory (the parent of the
driver's out_dir) and its TMPDIR inside that tmpfs, so it cannot see the driver's files
and the driver cannot see its scratch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.runner import run
from tests.s3.conftest import aws, moto_url  # noqa: F401 - fixtures used here
from tests.s3.test_upload import LEVELS, TINY, catalog_keys, keys, s3_manifest, setup_buckets

distributed = pytest.importorskip("distributed")
DASK = str(Path(sys.executable).parent / "dask")


def _unshare_reason() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare(1) is not installed"
    if os.geteuid() != 0:
        return "unshare -m with a tmpfs mount needs root"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare -m is not permitted here: {probe.stderr.decode().strip()}"
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_unshare_reason() is not None, reason=str(_unshare_reason())),
]

# $1: directory to hide behind a private tmpfs; $2: dask; $3: scheduler; $4: worker name.
WORKER = (
    'mount -t tmpfs tmpfs "$1" && mkdir "$1/scratch" && cd "$1/scratch" && '
    'TMPDIR="$1/scratch" exec "$2" worker "$3" --nthreads 1 --no-nanny --name "$4" '
    '--local-directory "$1/scratch" --no-dashboard'
)


def worker_env() -> dict[str, str]:
    """This environment (AWS settings included), with this tree's sqlgen importable."""
    import sqlgen

    env = dict(os.environ)
    root = str(Path(sqlgen.__file__).resolve().parents[1])
    if root not in env.get("PYTHONPATH", "").split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def start_worker(hidden: Path, address: str, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["unshare", "-m", "sh", "-c", WORKER, "sh", str(hidden), DASK, address, name],
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.fixture
def cluster(tmp_path, aws):  # noqa: F811
    """(scheduler address, worker processes, hidden dir); workers inherit the AWS env."""
    sched_file = tmp_path / "scheduler.json"
    procs = [
        subprocess.Popen(
            [
                DASK,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        workers = [start_worker(tmp_path, address, f"w{i}") for i in range(3)]
        procs += workers
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(3, timeout=90)
        yield address, workers, tmp_path
    finally:
        for proc in reversed(procs):  # workers (their tmpfs goes with them), then scheduler
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL if proc is not procs[0] else signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir()}


@LEVELS
def test_workers_without_shared_disk_survive_a_kill(aws, cluster, tmp_path, realism):  # noqa: F811
    """Workers derive the catalogs (v3: with their ground truth) from the config and seed;
    none are shipped (issue 23, 1; issue 27)."""
    from sqlgen.publish.s3 import clients

    clients.cache_clear()  # the driver's clients talk to this test's server
    address, workers, hidden = cluster
    setup_buckets(aws)
    cfg = with_overrides(load_config(TINY), rows=40_000, batch_size=1_000, realism=realism)
    local = with_overrides(cfg, out_dir=tmp_path / "local", executor="local")
    expected = run(local, show_progress=False).manifest

    out = tmp_path / "driver" / "out"
    dask = with_overrides(cfg, out_dir=out, executor="dask", scheduler=address, s3_upload=True)
    outcome: dict = {}

    def target():
        try:
            outcome["result"] = run(dask, show_progress=False)
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.monotonic() + 120
    while len(keys(aws, "raw-bucket")) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = workers[0]
    os.kill(victim.pid, signal.SIGKILL)  # mid-run: the two others take over its tasks
    uploaded_at_kill = len(keys(aws, "raw-bucket"))
    thread.join(timeout=300)
    assert "result" in outcome, outcome.get("error", "run did not finish")
    assert victim.wait(timeout=10) == -signal.SIGKILL

    # The bucket holds exactly the run, byte for byte what a local run writes.
    remote = s3_manifest(aws)
    raw = keys(aws, "raw-bucket")
    assert uploaded_at_kill < len(remote["files"]), "the kill came after the run"
    assert [(f["path"], f["sha256"]) for f in remote["files"]] == [
        (f["path"], f["sha256"]) for f in expected["files"]
    ]
    for entry in remote["files"]:
        assert hashlib.sha256(raw[entry["key"]]).hexdigest() == entry["sha256"]
    assert set(raw) == {f["key"] for f in remote["files"]} | {
        ".sqlgen/payments/manifest.json",
        "payments/_SUCCESS",
    }
    catalogues = keys(aws, "artifacts-bucket")
    assert set(catalogues) == catalog_keys(remote["run_id"], realism)
    assert [hashlib.sha256(catalogues[e["key"]]).hexdigest() for e in remote["catalog_files"]] == [
        e["sha256"] for e in expected["catalog_files"]
    ]
    # The driver published nothing locally and left nothing but its lock.
    assert files_under(out) == {".sqlgen/lock", ".sqlgen/owner"}
    # The workers really could not see the driver's disk, and kept no chunk files (nor
    # catalog files: they derive the catalogs in memory).
    for proc in workers[1:]:
        seen = subprocess.run(
            ["nsenter", "-t", str(proc.pid), "-m", "find", str(hidden)],
            capture_output=True,
            text=True,
            check=True,
        )
        paths = [Path(line).relative_to(hidden) for line in seen.stdout.split()]
        assert {p.parts[0] for p in paths if p.parts} == {"scratch"}, paths
        assert not [p for p in paths if p.name.startswith("part-")], paths
