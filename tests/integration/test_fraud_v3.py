"""Realism v3 fraud: ground truth apart, authorisation, card lifecycle, hard invariants."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.runner import run
from sqlgen.validate import validate
from tests.conftest import TINY

GENERATING = {"risk", "popularity", "amount_scale"}


@pytest.fixture(scope="module")
def v3_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("v3") / "out"
    cfg = with_overrides(
        load_config(TINY),
        rows=40_000,
        batch_size=10_000,
        realism="v3",
        out_dir=out,
        catalog={"num_customers": 600, "num_merchants": 150, "num_cards": 900},
    )
    run(cfg, show_progress=False)
    return cfg, duckdb.connect(str(out / "sqlgen.duckdb"), read_only=True)


def test_catalogs_carry_no_generating_parameters(v3_run):
    cfg, con = v3_run
    catalog = cfg.out_dir / "catalog"
    for table in ("customers", "merchants", "cards"):
        public = set(pq.read_schema(catalog / f"{table}.parquet").names)
        assert not public & GENERATING, table
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ?", [table]).fetchall()}
        assert cols and not cols & GENERATING, table
        truth = set(pq.read_schema(catalog / "ground_truth" / f"{table}.parquet").names)
        assert truth & GENERATING, table
    # The ground truth is queryable beside the catalogs and keyed like them.
    (n,) = con.execute(
        "SELECT count(*) FROM merchants JOIN ground_truth.merchants USING (merchant_id)"
    ).fetchone()
    assert n == cfg.catalog.num_merchants


def test_v3_run_validates_with_its_ground_truth(v3_run):
    cfg, _ = v3_run
    problems, _ = validate(cfg.out_dir)
    assert problems == []
    manifest_paths = (cfg.out_dir / "payments" / "_manifest.json").read_text()
    assert "catalog/ground_truth/cards.parquet" in manifest_paths
