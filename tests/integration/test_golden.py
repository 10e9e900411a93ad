"""Golden digests: small fixed-seed runs give exactly the content pinned in
tests/golden/digests.json, with 1 and with 2 workers.

A change that alters the output on purpose regenerates the file (and says so in its commit):

    python tools/golden.py --update
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("golden", ROOT / "tools" / "golden.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

EXPECTED = json.loads(golden.DIGESTS.read_text(encoding="utf-8"))
HOW = "intentional output change? regenerate with: python tools/golden.py --update"


def test_every_case_is_pinned():
    assert sorted(EXPECTED) == sorted(golden.CASES), HOW
    assert all("payments" in tables for tables in EXPECTED.values())


@pytest.mark.slow
@pytest.mark.parametrize("workers", golden.WORKERS)
@pytest.mark.parametrize("case", sorted(golden.CASES))
def test_output_matches_golden_digests(case, workers, tmp_path):
    got = golden.run_case(case, workers, tmp_path)
    assert got == EXPECTED[case], HOW


def test_digest_is_of_content_not_order(tmp_path):
    import duckdb

    (tmp_path / "t").mkdir()
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, s)) TO '{tmp_path}/t/a.parquet'"
    )
    con.execute(
        f"COPY (SELECT * FROM (VALUES (2, 'b'), (1, 'a')) v(id, s)) TO '{tmp_path}/t/b.parquet'"
    )
    con.execute(
        f"COPY (SELECT * FROM (VALUES (2, 'c'), (1, 'a')) v(id, s)) TO '{tmp_path}/t/c.parquet'"
    )
    digests = golden.table_digests(tmp_path)
    assert digests["t/a"].startswith("2:") and digests["t/a"] == digests["t/b"]
    assert digests["t/c"] != digests["t/a"]
