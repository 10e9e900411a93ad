"""Issue 22, items 3 and 4 through the console script: out_dir values that must be refused
in one line before any work, and names the file system takes that must work."""

from __future__ import annotations

import os
import subprocess

import duckdb
import pytest

from tests.cli.test_cli import TINY, error_lines, sqlgen

V3 = ("--realism", "v3")  # the default realism (tiny.yaml is v2)


@pytest.mark.parametrize(
    "how",
    [
        ("--config", "{cfg}"),  # out_dir: "" in the file
        ("--config", TINY, "--set", 'out_dir=""'),
        ("--config", TINY, "--set", "out_dir=' '"),
    ],
    ids=["config", "set", "set-blank"],
)
def test_empty_out_dir_setting_is_refused(tmp_path, how):
    cfg = tmp_path / "empty.yaml"
    cfg.write_text(TINY.read_text().replace("out_dir: output-tiny", 'out_dir: ""'))
    work = tmp_path / "cwd"
    work.mkdir()
    args = [a.format(cfg=cfg) if isinstance(a, str) else a for a in how]
    proc = sqlgen("run", *args, *V3, "--no-progress", cwd=work)
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert "invalid field 'out_dir': is empty; give a directory" in lines[0]
    assert list(work.iterdir()) == []  # nothing claimed, nothing published


@pytest.mark.parametrize("name", ["a?b", "back\\slash", "x?y\\z"])
def test_out_dir_duckdb_cannot_open_is_refused_before_any_work(tmp_path, name):
    out = tmp_path / name
    proc = sqlgen("run", "--config", TINY, *V3, "--out-dir", out, "--no-progress")
    assert proc.returncode == 1
    errors = [line for line in error_lines(proc) if " ERROR " in line]
    assert len(errors) == 1 and "which DuckDB cannot have in a database path" in errors[0]
    assert "plan:" not in proc.stderr  # refused before planning, let alone generating
    assert list(tmp_path.iterdir()) == []
    for command in ("sql", "validate"):
        extra = ("SELECT 1",) if command == "sql" else ()
        proc = sqlgen(command, "--out-dir", out, *extra)
        assert proc.returncode == 1 and "cannot have in a database path" in proc.stderr


@pytest.mark.parametrize("name", ["h#sh 100%", "qu'o\"te", "ünïcødé €", "sp a*ce [x]"])
def test_any_other_name_works_end_to_end(tmp_path, name):
    out = tmp_path / name
    proc = sqlgen("run", "--config", TINY, *V3, "--out-dir", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    proc = sqlgen("sql", "--out-dir", out, "SELECT count(*) AS n FROM payments")
    assert proc.returncode == 0 and "4000" in proc.stdout, proc.stderr
    assert sqlgen("validate", "--out-dir", out).returncode == 0
    con = duckdb.connect(str(out / "sqlgen.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM payments").fetchone()[0] == 4000
    finally:
        con.close()


def test_sql_report_validate_on_a_copied_and_a_moved_run_folder(tmp_path):
    """What ../shared/tools/fresh-install-check does: `cp -a out copied`, then `sqlgen sql`
    and `sqlgen validate` on the copy (sql failed: "file system operations are
    disabled"); and the original moved away, with another run in its place."""
    out = tmp_path / "out"
    assert sqlgen("run", "--config", TINY, *V3, "--out-dir", out, "--no-progress").returncode == 0
    subprocess.run(["cp", "-a", str(out), str(tmp_path / "copied")], check=True)
    os.rename(out, tmp_path / "moved")
    proc = sqlgen("run", "--config", TINY, *V3, "--rows", 3000, "--out-dir", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    for name, rows in (("copied", 4000), ("moved", 4000), ("out", 3000)):
        folder = tmp_path / name
        proc = sqlgen("sql", "--out-dir", folder, "SELECT count(*) AS n FROM payments")
        assert proc.returncode == 0 and str(rows) in proc.stdout, (name, proc.stderr)
        proc = sqlgen("validate", "--out-dir", folder)
        assert proc.returncode == 0 and f"{rows:,} rows" in proc.stdout, (name, proc.stderr)
    reports = {name: sqlgen("report", "--out-dir", tmp_path / name) for name in ("moved", "out")}
    assert all(r.returncode == 0 and "per scenario" in r.stdout for r in reports.values())
    assert reports["moved"].stdout != reports["out"].stdout  # 4000 rows, not the new 3000
