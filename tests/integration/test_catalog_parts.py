"""Catalogs over `catalog.max_size_mb` written as parts (`catalog_files`): each file
within the bound, read back whole by DuckDB and pyarrow, loaded by the workers into
the same world (same payments bytes), listed by the manifest, and valid."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.errors import SqlgenError
from sqlgen.runner import run
from sqlgen.world.catalog_files import table_files, write_table
from tests.conftest import TINY

TABLES = ("customers", "merchants", "cards")
BOUND_MB = 0.01  # 10 KiB: tiny.yaml's 750 cards (450 + 300 replacements) need several


def _run(out: Path, **catalog) -> None:
    cfg = with_overrides(load_config(TINY), realism="v3", out_dir=out, num_workers=2,
                         executor="processes")
    if catalog:
        cfg = with_overrides(cfg, catalog={**cfg.settings()["catalog"], **catalog})
    run(cfg, show_progress=False)


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("parts")
    _run(root / "whole")
    _run(root / "parts", max_size_mb=BOUND_MB)
    return root / "whole", root / "parts"


def test_big_tables_are_parts_within_the_bound(runs):
    _, out = runs
    cards = table_files(out / "catalog" / "cards.parquet")
    assert len(cards) >= 3 and cards[0].name == "part-00000.parquet"
    assert not (out / "catalog" / "cards.parquet").exists()
    assert len(table_files(out / "catalog" / "ground_truth" / "cards.parquet")) >= 2
    for p in (out / "catalog").rglob("*.parquet"):
        assert p.stat().st_size <= BOUND_MB * 2**20, p


def test_parts_read_back_whole_by_duckdb_and_pyarrow(runs):
    whole, out = runs
    con = duckdb.connect()
    for table in TABLES:
        for sub in ("", "ground_truth/"):
            one = con.execute(f"SELECT * FROM read_parquet('{whole}/catalog/{sub}{table}.parquet')"
                              " ORDER BY 1").fetchall()
            parts = table_files(out / "catalog" / sub / f"{table}.parquet")
            many = con.execute("SELECT * FROM read_parquet(?) ORDER BY 1",
                               [[str(p) for p in parts]]).fetchall()
            assert many == one, (sub, table)
            folder = parts[0].parent if len(parts) > 1 else parts[0]
            assert ds.dataset(folder).to_table().num_rows == len(one)
    # the database file's tables hold every part's rows
    db = duckdb.connect(str(out / "sqlgen.duckdb"), read_only=True)
    n_cards = 450 + 300  # cards and one replacement card per customer
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == n_cards
    assert db.execute("SELECT count(*) FROM ground_truth.cards").fetchone()[0] == n_cards


def test_workers_load_the_same_world_from_parts(runs):
    whole, out = runs
    assert _digests(out / "payments") == _digests(whole / "payments")


def test_manifest_lists_every_part_and_validate_passes(runs):
    _, out = runs
    import json
    manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
    listed = {e["path"] for e in manifest["catalog_files"]}
    assert listed == {f"catalog/{k}" for k in _digests(out / "catalog")}
    assert "catalog/cards/part-00001.parquet" in listed
    exe = Path(sys.executable).parent / "sqlgen"
    proc = subprocess.run([str(exe), "validate", "--out-dir", str(out)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_split_by_key_order_into_equal_row_ranges(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS k, md5(range::VARCHAR) AS v "
                "FROM range(20000) ORDER BY random()")
    files = write_table(con, "t", tmp_path / "t.parquet", None, "k", 0.2)
    assert len(files) >= 2 and all(f.stat().st_size <= 0.2 * 2**20 for f in files)
    firsts = [con.execute("SELECT min(k), max(k), count(*) FROM read_parquet(?)",
                          [str(f)]).fetchone() for f in files]
    per = firsts[0][2]
    # part i holds keys i*per .. (i+1)*per - 1: contiguous, in order, the last one shorter
    assert [(lo, hi) for lo, hi, _ in firsts] == [
        (i * per, min(20000, (i + 1) * per) - 1) for i in range(len(files))]
    # a table that fits stays one file
    assert write_table(con, "t", tmp_path / "u.parquet", None, "k", 100) == [tmp_path / "u.parquet"]


def test_bound_below_one_row_is_refused(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS k FROM range(10)")
    with pytest.raises(SqlgenError, match="one row is already"):
        write_table(con, "t", tmp_path / "t.parquet", None, "k", 1e-6)
    assert not (tmp_path / "t").exists() and not (tmp_path / "t.parquet").exists()


def test_schema_location_of_a_table_in_parts_is_its_folder(runs):
    from sqlgen.inspect.ddl import default_location
    whole, out = runs
    assert default_location("cards", out) == str(out / "catalog" / "cards")
    assert default_location("ground_truth.cards", out) == str(out / "catalog/ground_truth/cards")
    assert default_location("cards", whole) == str(whole / "catalog" / "cards.parquet")


def test_parts_of_uneven_compression_are_split_again(tmp_path):
    # the first half compresses to nothing, the second not at all: equal row ranges sized
    # from the whole file's size leave the later parts over the bound, so it splits again
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS k, CASE WHEN range < 30000 THEN 'same' "
                "ELSE md5(range::VARCHAR) || md5((range + 1)::VARCHAR) END AS v FROM range(60000)")
    whole = write_table(con, "t", tmp_path / "w.parquet", None, "k", 100)[0]
    bound = whole.stat().st_size / 2**20 / 3
    files = write_table(con, "t", tmp_path / "t.parquet", None, "k", bound)
    assert len(files) > 4  # more than the 4 parts the whole file's size suggests
    assert all(f.stat().st_size <= bound * 2**20 for f in files)
    assert con.execute("SELECT count(*), count(DISTINCT k) FROM read_parquet(?)",
                       [[str(f) for f in files]]).fetchone() == (60000, 60000)
