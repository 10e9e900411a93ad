"""`pyarrow.dataset` over the payments (Hive partitions) and the catalog files."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from sqlgen.schema import public_schema


@pytest.fixture(scope="module")
def table(published) -> pa.Table:
    dataset = ds.dataset(published.payments, format="parquet", partitioning="hive")
    return dataset.to_table()


def test_partitions_filter_as_numbers(published):
    dataset = ds.dataset(published.payments, partitioning="hive")  # nothing else given
    assert pa.types.is_integer(dataset.schema.field("month").type)
    assert pa.types.is_integer(dataset.schema.field("year").type)
    january = dataset.count_rows(filter=ds.field("month") < 2)
    assert january == published.rows_in(lambda y, m: m < 2)
    assert dataset.count_rows(filter=ds.field("year") == 2025) == published.manifest["rows"]


def test_counts_match_the_manifest(published, table):
    assert table.num_rows == published.manifest["rows"]
    assert pc.sum(table["label_fraud"]).as_py() == published.manifest["fraud_rows"]


def test_partitions_are_the_utc_year_and_month(published, table):
    assert {"year", "month"} <= set(table.column_names)
    utc = table["event_time"]
    assert pc.all(pc.equal(pc.year(utc), pc.cast(table["year"], pa.int64()))).as_py()
    assert pc.all(pc.equal(pc.month(utc), pc.cast(table["month"], pa.int64()))).as_py()
    assert pc.min(utc).as_py() >= published.start and pc.max(utc).as_py() < published.end


def test_types_are_natural(table):
    for name in ("transaction_id", "device_id"):
        assert table.schema.field(name).type == pa.string(), name
    for name in ("event_time", "fraud_reported_at"):
        assert table.schema.field(name).type == pa.timestamp("us", tz="UTC"), name
    assert table.schema.field("amount").type == pa.decimal128(12, 2)
    lengths = pc.utf8_length(table["transaction_id"])
    assert pc.min(lengths).as_py() == pc.max(lengths).as_py() == 36
    ids = table["transaction_id"].to_pylist()
    assert len(set(ids)) == len(ids) and all(i == i.lower() and i[14] == "4" for i in ids[:50])


def test_file_metadata_marks_instants_and_strings(published):
    path = sorted(published.payments.rglob("*.parquet"))[0]
    schema = pq.ParquetFile(path).schema
    event = schema.column(schema.names.index("event_time"))
    assert json.loads(event.logical_type.to_json())["isAdjustedToUTC"] is True
    assert event.physical_type == "INT64"
    tid = schema.column(schema.names.index("transaction_id"))
    assert tid.physical_type == "BYTE_ARRAY" and tid.logical_type.type == "STRING"


def test_fraud_reported_after_the_payment(table):
    frauds = table.filter(table["label_fraud"])
    assert frauds["fraud_reported_at"].null_count == 0
    later = pc.greater(frauds["fraud_reported_at"], frauds["event_time"])
    assert pc.all(later).as_py()


@pytest.mark.parametrize("name", ["customers", "merchants", "cards"])
def test_catalogs_open(published, name):
    catalog = ds.dataset(published.catalog / f"{name}.parquet", format="parquet").to_table()
    assert catalog.num_rows == published.catalog_rows(name) > 0
    assert catalog.column_names == public_schema(name, "v3").names
