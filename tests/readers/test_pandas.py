"""pandas: `read_parquet` on the payments directory, default and pyarrow-backed dtypes."""

from __future__ import annotations

import decimal

import pandas as pd
import pyarrow as pa
import pytest


@pytest.fixture(scope="module")
def frame(published) -> pd.DataFrame:
    return pd.read_parquet(published.payments)


def test_counts_match_the_manifest(published, frame):
    assert len(frame) == published.manifest["rows"]
    assert int(frame["label_fraud"].sum()) == published.manifest["fraud_rows"]


def test_partitions_filter_as_numbers(published, frame):
    # NumPy dtypes: the partitions come back as categoricals of integers (pyarrow's
    # Hive dictionary), which compare for equality; `filters` pushes `<` down.
    assert list(frame["month"].cat.categories) == [1, 2, 3]
    assert (frame["year"] == 2025).all()
    january = pd.read_parquet(published.payments, filters=[("month", "<", 2)])
    assert len(january) == published.rows_in(lambda y, m: m < 2)
    # pyarrow dtypes: `<` works on the column itself.
    arrow = pd.read_parquet(published.payments, dtype_backend="pyarrow")
    assert int((arrow["month"] < 2).sum()) == published.rows_in(lambda y, m: m < 2)
    assert int((arrow["year"] == 2025).sum()) == published.manifest["rows"]


def test_partitions_are_the_utc_year_and_month(frame):
    assert {"year", "month"} <= set(frame.columns)
    utc = frame["event_time"].dt
    assert (utc.year == frame["year"].astype(int)).all()
    assert (utc.month == frame["month"].astype(int)).all()


def test_times_are_utc_aware(published, frame):
    for name in ("event_time", "fraud_reported_at"):
        assert isinstance(frame[name].dtype, pd.DatetimeTZDtype), name
        assert str(frame[name].dt.tz) == "UTC", name
    assert frame["event_time"].min() >= pd.Timestamp(published.start)
    assert frame["event_time"].max() < pd.Timestamp(published.end)


def test_ids_are_uuid_text(frame):
    ids = frame["transaction_id"]
    assert ids.map(type).eq(str).all()
    assert ids.str.len().eq(36).all() and ids.is_unique
    devices = frame["device_id"].dropna()
    assert 0 < len(devices) < len(frame) and devices.str.len().eq(36).all()


def test_amount_is_exact(frame):
    # The default backend gives Decimal objects; exact, if not fast.
    assert isinstance(frame["amount"].iloc[0], decimal.Decimal)


def test_pyarrow_backend_keeps_every_type(published):
    frame = pd.read_parquet(published.payments, dtype_backend="pyarrow")
    assert frame["amount"].dtype == pd.ArrowDtype(pa.decimal128(12, 2))
    assert frame["event_time"].dtype == pd.ArrowDtype(pa.timestamp("us", tz="UTC"))
    assert frame["transaction_id"].dtype == pd.ArrowDtype(pa.string())
    assert frame["amount"].sum() > 0


@pytest.mark.parametrize("name", ["customers", "merchants", "cards"])
def test_catalogs_open(published, name):
    frame = pd.read_parquet(published.catalog / f"{name}.parquet")
    assert len(frame) == published.catalog_rows(name) > 0
