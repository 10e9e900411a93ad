"""`output.id_type: uuid` keeps DuckDB's 16-byte UUID type, with the same ids as text."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from sqlgen.config import load_config, validate_config
from sqlgen.publish.validate import validate
from sqlgen.runner import run
from tests.conftest import TINY


@pytest.fixture(scope="module")
def uuid_run(tmp_path_factory):
    data = load_config(TINY).model_dump(mode="json")
    data["out_dir"] = str(tmp_path_factory.mktemp("uuid") / "out")
    data["output"] = {"id_type": "uuid"}
    data["realism"] = "v3"  # as the `published` run it is compared with
    cfg = validate_config(data)
    run(cfg, show_progress=False)
    return cfg


def test_uuid_logical_type_is_written(uuid_run):
    for path in sorted((uuid_run.out_dir / "payments").rglob("*.parquet")):
        schema = pq.ParquetFile(path).schema
        for name in ("transaction_id", "device_id"):
            col = schema.column(schema.names.index(name))
            assert col.physical_type == "FIXED_LEN_BYTE_ARRAY" and col.length == 16
            assert col.logical_type.type == "UUID", (path, name)


def test_validate_accepts_the_uuid_schema(uuid_run):
    problems, summary = validate(uuid_run.out_dir)
    assert problems == [] and summary.startswith("valid:")


def test_same_ids_as_the_text_run(uuid_run, published):
    con = duckdb.connect()
    query = "SELECT {col} FROM read_parquet(?) ORDER BY event_time, customer_id, card_id, amount"
    as_uuid = con.execute(
        query.format(col="transaction_id::VARCHAR, device_id::VARCHAR"),
        [str(uuid_run.out_dir / "payments" / "**" / "*.parquet")],
    ).fetchall()
    as_text = con.execute(
        query.format(col="transaction_id, device_id"),
        [str(published.payments / "**" / "*.parquet")],
    ).fetchall()
    assert len(as_text) == published.manifest["rows"] and as_uuid == as_text
