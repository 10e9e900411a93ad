"""The catalogs as built in DuckDB: each entity placed and priced by its own country."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from sqlgen.schema import reference
from sqlgen.world.catalogs import build_catalogs


@pytest.fixture(scope="module")
def catalog():
    from sqlgen.config import load_config
    from tests.conftest import TINY

    cfg = load_config(TINY)
    con = duckdb.connect()
    build_catalogs(con, cfg.catalog, cfg.seed)
    con.register("ref_countries", pa.Table.from_pylist(reference()["countries"]))
    yield con
    con.close()


@pytest.mark.parametrize(
    ("table", "country", "lat", "lon"),
    [
        ("customers", "home_country", "home_lat", "home_lon"),
        ("merchants", "country_code", "latitude", "longitude"),
    ],
)
def test_locations_lie_around_their_country(catalog, table, country, lat, lon):
    got = catalog.sql(
        f"""
        SELECT abs(t.{lat} - r.lat) / r.spread AS dlat, abs(t.{lon} - r.lon) / r.spread AS dlon
        FROM {table} t JOIN ref_countries r ON r.code = CAST(t.{country} AS VARCHAR)
        """
    ).fetchnumpy()
    n = len(got["dlat"])
    assert n == catalog.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    # Normal around the centre with sd = spread: within 5 sd, and about 68% within 1.
    assert np.all(got["dlat"] < 5) and np.all(got["dlon"] < 5)
    assert np.mean(got["dlat"] < 1) == pytest.approx(0.68, abs=0.1)
    assert np.mean(got["dlon"] < 1) == pytest.approx(0.68, abs=0.1)


def test_merchants_carry_their_countrys_currency_and_offset(catalog):
    wrong = catalog.execute(
        """
        SELECT count(*) FILTER (CAST(m.currency AS VARCHAR) <> r.currency
                                OR m.utc_offset <> r.utc_offset),
               count(DISTINCT r.code)
        FROM merchants m JOIN ref_countries r ON r.code = CAST(m.country_code AS VARCHAR)
        """
    ).fetchall()[0]
    assert wrong[0] == 0 and wrong[1] > 5
