"""Issue 13 through the console script: kills at each publication step, exit codes that
tell the truth, workers that die with the driver, a sandboxed `sqlgen sql`."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sqlgen import cli
from sqlgen.faults import FAULT_ENV
from sqlgen.publish.writer import COMMITTED_STEPS, FALLBACK_STEPS, PUBLISH_STEPS
from tests.cli.test_cli import TINY, error_lines, sqlgen, sqlgen_exe


def manifest(out: Path) -> dict:
    return json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())


def assert_valid(out: Path) -> None:
    check = sqlgen("validate", "--out-dir", out)
    assert check.returncode == 0, check.stderr


@pytest.fixture
def good(tmp_path) -> Path:
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return out


# Runs the console script's main with renameat2 reported unsupported (the fallback).
_FALLBACK = (
    "import sys, sqlgen.publish.writer as w; w.exchange_paths = lambda a, b: False; "
    "from sqlgen import cli; sys.exit(cli.main(sys.argv[1:]))"
)


def sqlgen_fallback(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _FALLBACK, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )


def count_parquet_with_find(out: Path) -> int:
    """What ../shared/tools/fresh-install-check counts."""
    found = subprocess.run(
        ["find", str(out / "payments"), "-name", "*.parquet"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return len(found.stdout.split())


@pytest.mark.parametrize(
    ("runner", "steps"),
    [
        (sqlgen, PUBLISH_STEPS),
        (sqlgen_fallback, ("exchange_payments", *FALLBACK_STEPS, "exchange_catalog", "swap")),
    ],
    ids=["exchange", "fallback"],
)
def test_sigkill_at_each_publication_step(good, runner, steps):
    previous = manifest(good)
    for seed, step in enumerate(steps, start=20):
        proc = runner(
            "run", "--config", TINY, "--out-dir", good, "--seed", seed, "--no-progress",
            env={FAULT_ENV: f"publish:{step}:kill"},
        )  # fmt: skip
        assert proc.returncode == -signal.SIGKILL, (step, proc.stderr)
        if step not in COMMITTED_STEPS and step not in FALLBACK_STEPS:
            assert manifest(good) == previous, step  # untouched, even read directly
        assert_valid(good)  # completes a committed publication first
        assert not (good / ".sqlgen" / "publish.json").exists(), step
        if step in COMMITTED_STEPS or step in FALLBACK_STEPS:
            assert manifest(good)["seed"] == seed, step  # rolled forward
            previous = manifest(good)
        else:
            assert manifest(good) == previous, step
        assert not (good / "payments").is_symlink()
        assert count_parquet_with_find(good) == len(previous["files"]) > 0
    proc = runner("run", "--config", TINY, "--out-dir", good, "--seed", 6)
    assert proc.returncode == 0, proc.stderr
    assert_valid(good)
    assert manifest(good)["seed"] == 6
    assert len(list((good / ".sqlgen" / "runs").iterdir())) == 1
    assert not any((good / ".sqlgen" / "staging").iterdir())


def test_fresh_install_check_counts_the_published_files(tmp_path):
    """The acceptance tool's own check: `find out/payments -name '*.parquet'` sees the
    run (a symlinked payments/ showed nothing), and `du` counts its bytes."""
    out = tmp_path / "out"
    proc = sqlgen("run", "--config", TINY, "--out-dir", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    files = manifest(out)["files"]
    assert count_parquet_with_find(out) == len(files) > 0
    du = subprocess.run(["du", "-sk", str(out / "payments")], capture_output=True, text=True)
    assert int(du.stdout.split()[0]) * 1024 >= sum(f["bytes"] for f in files)


def test_empty_out_dir_is_refused(tmp_path):
    (tmp_path / "payments").mkdir()
    (tmp_path / "payments" / "keep.txt").write_text("x")
    proc = sqlgen("run", "--config", TINY, "--out-dir", "", cwd=tmp_path)
    assert proc.returncode == 1
    assert error_lines(proc)[-1].endswith("--out-dir is empty; give a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payments"]
    assert (tmp_path / "payments" / "keep.txt").read_text() == "x"


def test_foreign_payments_dir_exit_1_nothing_touched(tmp_path):
    d = tmp_path / "D"
    (d / "payments").mkdir(parents=True)
    (d / "payments" / "keep.txt").write_text("x")
    proc = sqlgen("run", "--config", TINY, "--out-dir", d)
    assert proc.returncode == 1
    assert f"{d / 'payments'} exists and was not made by sqlgen" in error_lines(proc)[-1]
    assert sorted(p.name for p in d.iterdir()) == ["payments"]
    assert [p.name for p in (d / "payments").iterdir()] == ["keep.txt"]


def test_nested_out_dir_exit_1(good):
    previous = manifest(good)
    proc = sqlgen("run", "--config", TINY, "--out-dir", good / "payments" / "inner")
    assert proc.returncode == 1
    assert "is inside the sqlgen output" in error_lines(proc)[-1]
    assert manifest(good) == previous
    assert_valid(good)


def test_sql_copy_onto_a_published_file_exit_1(good):
    part = next((good / "payments").rglob("*.parquet"))
    before = part.read_bytes()
    proc = sqlgen("sql", "--out-dir", good, f"COPY (SELECT 1) TO '{part}'")
    assert proc.returncode == 1
    assert len(error_lines(proc)) == 1 and "not allowed" in proc.stderr
    assert part.read_bytes() == before
    assert_valid(good)


@pytest.mark.parametrize("region", [None, ""])
def test_s3_without_region_exit_1_before_generating(good, tmp_path, monkeypatch, region):
    previous = manifest(good)
    for key in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    env = {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    if region is not None:
        env["AWS_DEFAULT_REGION"] = region
    proc = sqlgen("run", "--config", TINY, "--out-dir", good, "--seed", 5, "--s3", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "--s3: cannot create an AWS client" in error_lines(proc)[-1]
    assert manifest(good) == previous
    assert len(list((good / ".sqlgen" / "runs").iterdir())) == 1


def test_interrupt_during_upload_says_published_exit_2(tmp_path, monkeypatch, caplog):
    import sqlgen.runner

    class InterruptedDelivery:
        error = None

        def finish(self, *args, **kwargs):
            raise KeyboardInterrupt

        def abandon(self):
            pass

    monkeypatch.setattr(sqlgen.runner, "check_s3_reachable", lambda cfg: None)
    monkeypatch.setattr(sqlgen.runner, "_begin_delivery", lambda cfg, run_id: InterruptedDelivery())
    out = tmp_path / "out"
    with caplog.at_level(logging.ERROR, logger="sqlgen"):
        code = cli.main(["run", "--config", str(TINY), "--out-dir", str(out), "--s3"])
    assert code == 2
    assert f"published locally at {out}; upload interrupted" in caplog.text
    assert "nothing was published" not in caplog.text
    assert_valid(out)


def start_driver(out: Path, *extra: str) -> subprocess.Popen:
    args = [sqlgen_exe(), "run", "--config", str(TINY), "--out-dir", str(out), "--no-progress"]
    args += ["--rows", "3000000", "--batch-size", "100000", "--num-workers", "2"]
    args += ["--executor", "processes", "--log-level", "WARNING", *extra]
    return subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def workers_of(proc: subprocess.Popen, at_least: int = 4) -> list[psutil.Process]:
    """The driver's process tree once the fork server and both workers run."""
    driver = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kids = driver.children(recursive=True)
        if len(kids) >= at_least:  # resource tracker, fork server, two workers
            return kids
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError("the workers did not start")


def alive(procs: list[psutil.Process]) -> list[int]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_the_driver(tmp_path, sig):
    proc = start_driver(tmp_path / "out")
    kids = workers_of(proc)
    time.sleep(0.5)  # mid-chunk
    os.kill(proc.pid, sig)  # the driver only, as the OOM killer would
    proc.wait(timeout=30)
    deadline = time.monotonic() + 5
    while alive(kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = alive(kids)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    proc.stderr.close()


def test_ctrl_c_one_line_no_worker_tracebacks(tmp_path):
    out = tmp_path / "out"
    proc = start_driver(out)
    kids = workers_of(proc)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    _, err = proc.communicate(timeout=60)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert proc.returncode == 1
    assert len(lines) == 1, lines
    assert lines[0].endswith(f"interrupted; nothing was published: {out} has no published run")
    deadline = time.monotonic() + 5
    while alive(kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive(kids) == []
    assert not (out / "payments").exists()


def test_report_html_into_a_directory_leaves_no_temp(good, tmp_path):
    pytest.importorskip("plotly")
    reports = tmp_path / "reports"
    reports.mkdir()
    proc = sqlgen("report", "--out-dir", good, "--html", reports)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in reports.iterdir()] == ["report.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "reports"]
    assert "<html" in (reports / "report.html").read_text()[:500].lower()


def test_report_html_failed_write_leaves_no_temp(tmp_path, monkeypatch):
    from sqlgen.inspect import html_report

    def broken(src, dst):
        raise OSError(28, "injected: no space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="injected"):
        html_report.write_file_atomically(tmp_path / "report.html", "<html></html>")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("where", "s3", "code", "message"),
    [
        ("publish", False, 1, "interrupted; nothing was published"),
        ("cleanup_after_publish", False, 0, "interrupted after run"),
        ("cleanup_after_publish", True, 2, "upload interrupted"),
    ],
)
def test_ctrl_c_message_tells_what_was_published(
    good, monkeypatch, caplog, where, s3, code, message
):
    import sqlgen.runner
    from sqlgen.publish.writer import OutputDir

    previous = manifest(good)
    real = getattr(OutputDir, where)

    def interrupted(self, *args):
        if where == "cleanup_after_publish":
            real(self, *args)  # the run is published, then Ctrl-C
        raise KeyboardInterrupt

    class Delivery:  # never reached: the interrupt comes first
        error = None
        abandoned = False

        def abandon(self):
            Delivery.abandoned = True

    monkeypatch.setattr(OutputDir, where, interrupted)
    monkeypatch.setattr(sqlgen.runner, "check_s3_reachable", lambda cfg: None)
    monkeypatch.setattr(sqlgen.runner, "_begin_delivery", lambda cfg, run_id: Delivery())
    args = ["run", "--config", str(TINY), "--out-dir", str(good), "--seed", "5"]
    with caplog.at_level(logging.WARNING, logger="sqlgen"):
        assert cli.main(args + (["--s3"] if s3 else [])) == code
    assert message in caplog.text
    assert Delivery.abandoned  # the run failed: its in-flight marker goes
    assert_valid(good)
    assert (manifest(good) == previous) is (where == "publish")
