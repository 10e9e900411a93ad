from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from sqlgen import generate_dataframe, write_parquet
from sqlgen.config import with_overrides
from sqlgen.publish.writer import OutputDir
from sqlgen.runner import run
from sqlgen.schema import table_schema


def rows_of(out: Path, realism: str | None = None) -> list[tuple]:
    con = duckdb.connect()
    cols = ", ".join(table_schema("payments", realism).names)
    return con.execute(
        f"SELECT {cols} FROM read_parquet('{out}/payments/**/*.parquet') ORDER BY transaction_id"
    ).fetchall()


@pytest.fixture
def published(tiny):
    run(tiny, show_progress=False)
    return tiny


def test_schema_names_types_and_order(published):
    con = duckdb.connect()
    described = con.execute(
        "DESCRIBE SELECT * FROM read_parquet("
        f"'{published.out_dir}/payments/**/*.parquet', hive_partitioning=false)"
    ).fetchall()
    expected = [(c.name, c.described_type) for c in table_schema("payments").columns]
    assert [(r[0], r[1]) for r in described] == expected


def test_exact_counts_and_partitions(published):
    con = duckdb.connect()
    src = f"read_parquet('{published.out_dir}/payments/**/*.parquet', hive_partitioning=true)"
    total, frauds, bad_part, bad_scen = con.execute(f"""
        SELECT count(*), count(*) FILTER (label_fraud),
               count(*) FILTER (year(event_time AT TIME ZONE 'UTC') <> year
                                OR month(event_time AT TIME ZONE 'UTC') <> month::INT),
               count(*) FILTER (label_fraud <> (fraud_scenario IS NOT NULL))
        FROM {src}""").fetchone()
    assert total == published.rows
    assert frauds == published.fraud_target
    assert bad_part == 0 and bad_scen == 0
    manifest = json.loads((published.out_dir / ".sqlgen" / "current" / "manifest.json").read_text())
    assert manifest["rows"] == total and manifest["fraud_rows"] == frauds


def test_rows_coherent_with_catalogs(published):
    out = published.out_dir
    con = duckdb.connect(str(out / "sqlgen.duckdb"), read_only=True)
    checks = con.execute("""
        SELECT
          count(*) FILTER (p.customer_id <> c.customer_id OR p.pan_hash <> c.pan_hash
                           OR p.card_scheme <> c.card_scheme),
          count(*) FILTER (p.mcc_code <> m.mcc_code OR p.country_code <> m.country_code),
          count(*) FILTER (p.currency <> co.currency OR p.time_offset <> co.utc_offset),
          count(*) FILTER (c.card_id IS NULL OR m.merchant_id IS NULL),
          count(*) FILTER (p.amount <= 0 OR abs(p.latitude) > 90 OR abs(p.longitude) > 180),
          count(*) FILTER (p.time_offset NOT BETWEEN -720 AND 840),
          count(*) FILTER (length(p.pan_hash) <> 64),
          count(DISTINCT p.transaction_id) = count(*),
          avg(CASE WHEN p.device_id IS NULL THEN 1 ELSE 0 END)
        FROM payments p
        LEFT JOIN cards c USING (card_id)
        LEFT JOIN merchants m USING (merchant_id)
        LEFT JOIN countries co ON co.code = p.country_code
    """).fetchone()
    assert checks[:7] == (0, 0, 0, 0, 0, 0, 0)
    assert checks[7] is True
    assert checks[8] == pytest.approx(0.10, abs=0.03)
    # a country has exactly one currency
    assert (
        con.execute(
            "SELECT max(n) FROM (SELECT count(DISTINCT currency) n FROM payments "
            "GROUP BY country_code)"
        ).fetchone()[0]
        == 1
    )
    # channel-coherent devices and entry modes
    assert (
        con.execute(
            "SELECT count(*) FROM payments WHERE (channel = 'pos') <> "
            "(device_type = 'pos_terminal')"
        ).fetchone()[0]
        == 0
    )


def test_uuid_version_4(published):
    con = duckdb.connect()
    src = f"read_parquet('{published.out_dir}/payments/**/*.parquet')"
    bad = con.execute(f"""SELECT count(*) FROM {src}
        WHERE substr(transaction_id::VARCHAR, 15, 1) <> '4'""").fetchone()[0]
    assert bad == 0


@pytest.mark.slow
@pytest.mark.parametrize("realism", ["v2", "v3"])
def test_same_rows_for_1_2_3_workers(tiny, tmp_path, realism):
    outputs = []
    for workers in (1, 2, 3):
        cfg = with_overrides(
            tiny, num_workers=workers, out_dir=tmp_path / f"w{workers}", realism=realism
        )
        run(cfg, show_progress=False)
        outputs.append(cfg.out_dir)
    first = rows_of(outputs[0])
    assert len(first) == tiny.rows
    for other in outputs[1:]:
        assert rows_of(other) == first
    hashes = [
        [f["sha256"] for f in OutputDir(o).read_manifest()["files"]]
        for o in outputs
    ]
    assert hashes[0] == hashes[1] == hashes[2]


def test_rerun_replaces_files_byte_identical(published):
    out = published.out_dir
    files = sorted(p.relative_to(out) for p in (out / "payments").rglob("*.parquet"))
    before = {p: (out / p).read_bytes() for p in files}
    run(published, show_progress=False)
    after = sorted(p.relative_to(out) for p in (out / "payments").rglob("*.parquet"))
    assert after == files
    assert all((out / p).read_bytes() == before[p] for p in files)
    assert (out / "payments").is_dir() and not (out / "payments").is_symlink()
    assert len(list((out / ".sqlgen" / "runs").iterdir())) == 1  # the older run is gone
    assert not any((out / ".sqlgen" / "staging").glob("*"))


def test_v1_and_v2_differ_in_persistence_and_both_label_exactly(tiny, tmp_path):
    v1 = with_overrides(tiny, realism="v1", out_dir=tmp_path / "v1")
    run(v1, show_progress=False)
    assert not any((v1.out_dir / "catalog").iterdir())  # v1 persists no catalogs
    v2 = with_overrides(tiny, realism="v2", out_dir=tmp_path / "v2")
    run(v2, show_progress=False)
    assert sorted(p.name for p in (v2.out_dir / "catalog").iterdir()) == [
        "cards.parquet",
        "customers.parquet",
        "merchants.parquet",
    ]
    for cfg in (v1, v2):
        con = duckdb.connect()
        frauds = con.execute(
            f"SELECT count(*) FILTER (label_fraud) FROM "
            f"read_parquet('{cfg.out_dir}/payments/**/*.parquet')"
        ).fetchone()[0]
        assert frauds == cfg.fraud_target


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ({"w_amount": 2.0}, {"logistic"}),  # overshoot: random unlabelling
        ({"w_amount": -3.0, "w_mrisk": 0, "w_crisk": 0, "w_night": 0}, {"burst"}),
    ],  # undershoot
)
def test_both_correction_paths_end_to_end(tiny, label, expected):
    cfg = with_overrides(tiny, label=label)
    table = generate_dataframe(cfg)
    scenarios = {s for s in table.column("fraud_scenario").to_pylist() if s}
    assert expected <= scenarios
    assert sum(table.column("label_fraud").to_pylist()) == cfg.fraud_target


def test_generate_dataframe_matches_run_and_write_parquet(published, tmp_path):
    table = generate_dataframe(published)
    assert table.column_names == table_schema("payments").names
    path = write_parquet(table, tmp_path / "all.parquet")
    con = duckdb.connect()
    cols = ", ".join(table_schema("payments").names)
    mine = con.execute(f"SELECT {cols} FROM '{path}' ORDER BY transaction_id").fetchall()
    assert mine == rows_of(published.out_dir)


def test_catalog_size_limit_is_enforced(tiny):
    # A catalog over the bound is written in parts (tests/integration/test_catalog_parts.py);
    # a bound no single row fits is refused, and nothing is published.
    cfg = with_overrides(tiny, catalog={**tiny.settings()["catalog"], "max_size_mb": 1e-6})
    from sqlgen.errors import SqlgenError

    with pytest.raises(SqlgenError, match=r"one row is already .* over catalog.max_size_mb"):
        run(cfg, show_progress=False)
    assert not (cfg.out_dir / "payments").exists()


def test_chunks_smaller_than_catalogs_keep_labels_aligned(tiny):
    # 50-row chunks against 450 cards: the join must still keep draw order.
    cfg = with_overrides(tiny, rows=1500, batch_size=50)
    result = run(cfg, show_progress=False)
    assert len(result.manifest["files"]) >= 30
    assert result.manifest["fraud_rows"] == cfg.fraud_target


def test_row_group_size_sets_parquet_layout_not_rows(tiny, tmp_path):
    import pyarrow.parquet as pq

    tiny = with_overrides(tiny, rows=30_000, batch_size=15_000)
    small = with_overrides(tiny, row_group_size=2048, out_dir=tmp_path / "small")
    run(small, show_progress=False)
    run(tiny, show_progress=False)
    files = sorted((small.out_dir / "payments").rglob("*.parquet"))
    sizes = [
        pq.ParquetFile(f).metadata.row_group(i).num_rows
        for f in files
        for i in range(pq.ParquetFile(f).metadata.num_row_groups)
    ]
    assert max(sizes) == 2048 and len(sizes) > len(files)
    assert rows_of(small.out_dir) == rows_of(tiny.out_dir)


def test_v3_generate_dataframe_matches_run(tiny, tmp_path):
    """v3 catalogs built in process (API) and loaded from Parquet (run) give the same rows."""
    cfg = with_overrides(tiny, realism="v3")
    run(cfg, show_progress=False)
    path = write_parquet(generate_dataframe(cfg), tmp_path / "all.parquet")
    cols = ", ".join(table_schema("payments", "v3").names)  # amount_base included
    mine = duckdb.connect().execute(f"SELECT {cols} FROM '{path}' ORDER BY transaction_id")
    assert mine.fetchall() == rows_of(cfg.out_dir, "v3")
