"""The commands a new user meets first, on the default path (realism v3), including a
plain `pip install .`: no Plotly, no world packages, no scikit-learn (issue 22)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.cli.test_cli import error_lines, sqlgen, sqlgen_exe

# On PYTHONPATH as sitecustomize: the optional packages look uninstalled in every
# interpreter (find_spec gives None, import raises ModuleNotFoundError), as after a
# plain `pip install .`.
BLOCKER = """
import sys
_BLOCKED = {"plotly", "global_land_mask", "reverse_geocoder", "timezonefinder", "sklearn"}
class _Hide:
    def __init__(self, finder):
        self.finder = finder
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BLOCKED:
            return None
        find = getattr(self.finder, "find_spec", None)
        return None if find is None else find(name, path, target)
    def __getattr__(self, attr):
        return getattr(self.finder, attr)
sys.meta_path[:] = [_Hide(f) for f in sys.meta_path]
"""


@pytest.fixture(scope="module")
def plain_env(tmp_path_factory) -> dict[str, str]:
    hook = tmp_path_factory.mktemp("plain-install")
    (hook / "sitecustomize.py").write_text(BLOCKER)
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH")) if p)
    env = {"PYTHONPATH": path}
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u, sys;"
         "sys.exit(any(u.find_spec(m) for m in ('plotly', 'global_land_mask', 'sklearn')))"],
        env={**os.environ, **env},
    )
    assert probe.returncode == 0, "the blocker does not hide the optional packages"
    return env


def run_v3(out: Path, rows: int, *extra, env=None) -> None:
    proc = sqlgen("run", "--rows", rows, "--seed", 5, "--out-dir", out, "--no-progress",
                  *extra, env=env)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def v3_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("first-hour") / "out"
    run_v3(out, 20_000)
    return out


def table_rows(text: str, heading: str) -> list[str]:
    """Data lines of the boxed table under `== heading`."""
    block = text[text.index(f"== {heading}\n"):].split("\n== ", 1)[0]
    body = block.split("┤\n", 1)[1].split("\n└", 1)[0]
    return body.splitlines()


# -- 1. report on a plain install ---------------------------------------------------------


def test_report_works_on_a_plain_install_and_names_the_extras(v3_out, plain_env):
    proc = sqlgen("report", "--out-dir", v3_out, env=plain_env)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "== optional sections not available here" in text
    assert "pip install 'sqlgen[world]'" in text and "pip install 'sqlgen[report]'" in text
    assert "on land / in own country: n/a (needs the world extra" in text
    for heading in ("rows and frauds per scenario", "world: amounts per currency",
                    "difficulty profile", "single-feature ROC AUC"):
        assert f"== {heading}" in text


def test_report_html_without_plotly_fails_first(v3_out, plain_env, tmp_path):
    page = tmp_path / "r.html"
    proc = sqlgen("report", "--out-dir", v3_out, "--html", page, env=plain_env)
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1 and "pip install 'sqlgen[report]'" in lines[0], proc.stderr
    assert proc.stdout == ""  # failed before the work, not after
    assert list(tmp_path.iterdir()) == []


# -- 7. every row asked for; csv and json; manifest problems --------------------------------


def test_report_hour_table_has_every_hour(v3_out):
    proc = sqlgen("report", "--out-dir", v3_out)
    assert proc.returncode == 0, proc.stderr
    lines = table_rows(proc.stdout, "fraud rate by local_hour")
    hours = [int(line.split("│")[1]) for line in lines]
    assert hours == list(range(24))


@pytest.mark.parametrize(("flags", "shown"), [((), 40), (("--max-rows", 0), 150),
                                              (("--max-rows", 100), 100),
                                              (("--max-rows", 7), 7)])
def test_sql_prints_the_rows_asked_for(v3_out, flags, shown):
    query = "SELECT transaction_id FROM payments ORDER BY transaction_id LIMIT 150"
    proc = sqlgen("sql", "--out-dir", v3_out, *flags, query)
    assert proc.returncode == 0, proc.stderr
    ids = re.findall(r"│ ([0-9a-f-]{36}) │", proc.stdout)
    assert len(ids) == shown and len(set(ids)) == shown
    assert ("--max-rows 0 prints all" in proc.stdout) == (shown < 150)


def direct(out: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(out / "sqlgen.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(query).fetchall()
    finally:
        con.close()


QUERY = ("SELECT transaction_id, card_id, amount, event_time, fraud_scenario, label_fraud "
         "FROM payments ORDER BY transaction_id LIMIT 300")


def test_sql_csv_is_valid_and_complete(v3_out):
    proc = sqlgen("sql", "--out-dir", v3_out, "--format", "csv", QUERY)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == ["transaction_id", "card_id", "amount", "event_time", "fraud_scenario",
                       "label_fraud"]
    want = direct(v3_out, QUERY)
    assert len(rows) == 1 + len(want) == 301
    for got, row in zip(rows[1:], want, strict=True):
        assert got[0] == row[0] and int(got[1]) == row[1] and Decimal(got[2]) == row[2]
        assert got[3] == row[3].isoformat() and got[4] == (row[4] or "")


def test_sql_json_is_valid_and_complete(v3_out):
    proc = sqlgen("sql", "--out-dir", v3_out, "--format", "json", QUERY)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    want = direct(v3_out, QUERY)
    assert len(records) == len(want) == 300
    for got, row in zip(records, want, strict=True):
        assert got["transaction_id"] == row[0] and got["card_id"] == row[1]
        assert Decimal(str(got["amount"])) == row[2]
        assert got["event_time"] == row[3].isoformat()
        assert got["fraud_scenario"] == row[4] and got["label_fraud"] is row[5]
    empty = sqlgen("sql", "--out-dir", v3_out, "--format", "json", "SELECT 1 AS x WHERE false")
    assert empty.returncode == 0 and json.loads(empty.stdout) == []


@pytest.mark.parametrize(("damage", "expected"), [("missing", "is missing"),
                                                  ("damaged", "is not valid JSON")])
def test_sql_names_a_missing_or_damaged_manifest(tmp_path, damage, expected):
    out = tmp_path / "out"
    run_v3(out, 3000)
    manifest = out / ".sqlgen" / "current" / "manifest.json"
    if damage == "missing":
        manifest.unlink()
    else:
        manifest.write_text('{"run_id": ')
    for command in (("sql", "SELECT count(*) FROM payments"), ("report",)):
        proc = sqlgen(command[0], "--out-dir", out, *command[1:])
        assert proc.returncode == 1
        lines = error_lines(proc)
        assert len(lines) == 1, proc.stderr
        assert str(manifest) in lines[0] and expected in lines[0]
        assert "sqlgen run" in lines[0] and "Permission" not in lines[0]


# -- 10. the report's cost ----------------------------------------------------------------

MEASURE = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
if proc.returncode:
    sys.exit(proc.stderr.decode()[-2000:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB, Linux
"""


def peak_rss_mb(*args, env=None) -> float:
    """Peak resident memory of one `sqlgen` command (its own wrapper process, so the
    peak is that command's alone)."""
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, sqlgen_exe(), *map(str, args)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB: Linux")
def test_report_memory_is_bounded_and_flat(v3_out, plain_env, tmp_path):
    html = tmp_path / "r.html"
    full = peak_rss_mb("report", "--out-dir", v3_out, "--html", html)
    assert full < 800, f"report --html peaked at {full:.0f} MB"
    small, big = tmp_path / "small", tmp_path / "big"
    run_v3(small, 100_000, "--num-workers", 2)
    run_v3(big, 400_000, "--num-workers", 2)
    small_mb = peak_rss_mb("report", "--out-dir", small, env=plain_env)
    big_mb = peak_rss_mb("report", "--out-dir", big, env=plain_env)
    assert max(small_mb, big_mb) < 600, (small_mb, big_mb)
    # 4x the rows: the peak stays about where it was (capped DuckDB, samples); before,
    # it grew with the rows (2.5 GB at a million).
    assert big_mb < small_mb + 100, (small_mb, big_mb)


def test_html_report_respects_the_umask(v3_out, tmp_path):
    page = tmp_path / "report.html"
    proc = subprocess.run(
        [sqlgen_exe(), "report", "--out-dir", str(v3_out), "--html", str(page)],
        capture_output=True, text=True, timeout=600, preexec_fn=lambda: os.umask(0o002),
    )
    assert proc.returncode == 0, proc.stderr
    assert page.stat().st_mode & 0o777 == 0o664
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left


def test_land_mask_matches_global_land_mask():
    import numpy as np

    globe = pytest.importorskip("global_land_mask.globe")
    from sqlgen.world import land_mask

    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(-90, 90, 5000), rng.uniform(-180, 180, 5000)
    lat[:6] = [90, -90, 0, 51.5, 89.99, -89.99]
    lon[:6] = [180, -180, 0, -0.12, 179.99, -179.99]
    got = land_mask.is_land(lat, lon)
    assert got.tolist() == globe.is_land(lat.copy(), lon.copy()).tolist()
    assert got[3] and not got[2]  # London on land, (0, 0) at sea
    assert 0.2 < got.mean() < 0.4


# -- 11. conventions ----------------------------------------------------------------------


def test_every_subcommand_and_flag_has_help():
    import argparse

    from sqlgen.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert {c.dest: c.help for c in sub._choices_actions}.keys() == sub.choices.keys()
    missing = [c.dest for c in sub._choices_actions if not (c.help or "").strip()]
    for name, p in sub.choices.items():
        for action in p._actions:
            if not (action.help or "").strip():
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_unknown_flag_shows_the_subcommand_usage():
    proc = sqlgen("run", "--bogus")
    assert proc.returncode == 1
    assert proc.stderr.startswith("usage: sqlgen run ")
    assert "sqlgen run: error: unrecognized arguments: --bogus" in proc.stderr


def test_sigterm_ends_in_one_line_saying_what_was_kept(tmp_path):
    out = tmp_path / "out"
    run_v3(out, 2000)
    kept = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())["run_id"]
    proc = subprocess.Popen(
        [sqlgen_exe(), "run", "--rows", "3000000", "--batch-size", "100000",
         "--num-workers", "2", "--out-dir", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        staging = out / ".sqlgen" / "staging"
        for _ in range(600):  # until chunks are being written
            if any(staging.rglob("*.parquet")) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    errors = [line for line in err.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert "terminated (SIGTERM); nothing was published" in errors[0]
    assert f"keeps run {kept}" in errors[0]
    assert json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())["run_id"] == kept
    assert not any((out / ".sqlgen" / "staging").iterdir())


@pytest.fixture
def short_tmp():
    """A fresh $TMPDIR with a short path (a Unix socket path has at most 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="sg", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_killed_run_leaves_no_temporary_directory(tmp_path, short_tmp):
    tmp = short_tmp
    out = tmp_path / "out"
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sqlgen_exe(), "run", "--rows", "3000000", "--batch-size", "100000",
         "--num-workers", "2", "--out-dir", str(out), "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        for _ in range(600):
            if any((out / ".sqlgen" / "staging").rglob("*.parquet")) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read()
        proc.kill()  # SIGKILL: no clean-up of its own
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(2)  # the fork server and workers die with the driver
    assert not [p.name for p in tmp.iterdir() if p.name.startswith("pymp-")]
    proc = subprocess.run(
        [sqlgen_exe(), "run", "--rows", "3000", "--num-workers", "2", "--out-dir", str(out),
         "--no-progress"], capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_config_that_is_not_a_regular_file(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "config.yaml"
        os.mkfifo(path)
        what = "FIFO"
    else:
        path, what = Path("/dev/zero"), "character device"
    proc = subprocess.run(
        [sqlgen_exe(), "run", "--config", str(path), "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60,  # a FIFO must not block the read
    )
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1 and f"{path}: is not a regular file (a {what})" in lines[0]
    assert "not found" not in lines[0]
    assert not (tmp_path / "out").exists()


def test_too_many_frauds_for_a_tiny_run_names_the_true_cause(tmp_path):
    proc = sqlgen("run", "--rows", 3, "--set", "fraud_rate=0.5", "--out-dir", tmp_path / "o",
                  "--no-progress")
    assert proc.returncode == 1
    lines = error_lines(proc)
    errors = [line for line in lines if " ERROR " in line]
    assert len(errors) == 1, proc.stderr
    assert "batch_size" not in errors[0]  # it is the month's share of 3 rows
    assert "raise rows or lower fraud_rate" in errors[0]



def test_only_stale_multiprocessing_dirs_of_sqlgen_are_removed(tmp_path):
    from sqlgen.execute.forkserver import remove_stale_temp_dirs

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)  # a process that has exited
    stale = tmp_path / f"sqlgen-{pid}-abcd1234"
    live = tmp_path / f"sqlgen-{os.getpid()}-abcd1234"
    foreign = tmp_path / f"sqlgen-{pid}-wxyz5678"  # holds something not ours
    for d in (stale, live, foreign):
        d.mkdir()
        (d / "listener-q1w2e3").touch()
    (foreign / "notes.txt").write_text("keep me")
    assert remove_stale_temp_dirs(str(tmp_path)) == [stale.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, foreign.name])
