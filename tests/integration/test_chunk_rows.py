"""`sql/chunk_rows.sql` through the real chunk writer: each output column from its source.

One v2 chunk of the tiny config is written with `write_chunk`; a spy on `release`
keeps the chunk's labelled draws (the Arrow view the row query read). Each Parquet row
is matched to its draw by transaction id and every column is recomputed in numpy from
the draw, the catalog tables and the Faker pools. Values are compared, not types.
"""

from __future__ import annotations

import uuid as uuidlib

import duckdb
import numpy as np
import pytest

from sqlgen.combos import combo_table
from sqlgen.config import load_config, with_overrides
from sqlgen.generate import chunks
from sqlgen.generate.chunks import ChunkContext, write_chunk
from sqlgen.generate.labeler import SCENARIOS
from sqlgen.generate.plan import plan_chunks
from sqlgen.schema import static_vocabularies
from sqlgen.world.catalogs import build_catalogs, write_catalogs
from sqlgen.world.pools import make_pools
from tests.conftest import TINY

JITTER = 0.2  # degrees: 10 standard deviations of the location jitter


@pytest.fixture(scope="module")
def chunk(tmp_path_factory):
    """(file rows, their draws, catalog arrays, pools, context) of one written v2 chunk."""
    tmp = tmp_path_factory.mktemp("rows")
    cfg = with_overrides(load_config(TINY), out_dir=tmp / "out", realism="v2")
    con = duckdb.connect()
    build_catalogs(con, cfg.catalog, cfg.seed)
    write_catalogs(con, tmp / "catalog", cfg.catalog.max_size_mb, cfg.realism)
    con.close()
    ctx = ChunkContext(cfg, tmp / "catalog")
    pools = make_pools(cfg.seed)
    ctx.use_pools(pools)
    spec = plan_chunks(cfg)[0]

    seen = {}
    release = chunks.release

    def spy(c):
        seen["draws"] = c.con.sql(
            "SELECT * EXCLUDE (transaction_id, device_id), "
            "CAST(transaction_id AS VARCHAR) AS tid, CAST(device_id AS VARCHAR) AS did "
            "FROM draws ORDER BY row_idx"
        ).fetchnumpy()
        release(c)

    mp = pytest.MonkeyPatch()
    mp.setattr(chunks, "release", spy)
    try:
        write_chunk(ctx, spec, tmp / "payments")
    finally:
        mp.undo()
    rows = duckdb.sql(
        f"""
        SELECT CAST(transaction_id AS VARCHAR) AS tid, epoch_us(event_time) AS event_us,
               time_offset, customer_id, merchant_id, card_id, CAST(pan_hash AS VARCHAR) AS pan,
               CAST(amount AS DOUBLE) AS amount, CAST(currency AS VARCHAR) AS currency,
               CAST(country_code AS VARCHAR) AS country, CAST(mcc_code AS VARCHAR) AS mcc,
               CAST(channel AS VARCHAR) AS channel, CAST(device_type AS VARCHAR) AS device,
               CAST(card_scheme AS VARCHAR) AS scheme,
               CAST(pos_entry_mode AS VARCHAR) AS entry, is_recurring, latitude, longitude,
               CAST(device_id AS VARCHAR) AS did, CAST(ip_address AS VARCHAR) AS ip,
               CAST(user_agent AS VARCHAR) AS ua, label_fraud,
               CAST(fraud_scenario AS VARCHAR) AS scenario,
               epoch_us(fraud_reported_at) AS reported_us
        FROM read_parquet('{tmp / "payments" / spec.relpath}')
        """
    ).fetchnumpy()
    draws = seen["draws"]
    # Match rows to draws by transaction id (whatever order the file holds).
    position = {t: i for i, t in enumerate(draws["tid"])}
    order = np.asarray([position[t] for t in rows["tid"]])
    assert len(order) == len(draws["tid"]) == spec.rows
    d = {k: np.asarray(v)[order] for k, v in draws.items()}
    m = ctx.con.sql("SELECT * FROM merchants ORDER BY merchant_id").fetchnumpy()
    c = ctx.con.sql("SELECT * FROM card_facts ORDER BY card_id").fetchnumpy()
    m = {k: np.asarray(v.astype(str) if v.dtype == object else v) for k, v in m.items()}
    c = {k: np.asarray(v.astype(str) if v.dtype == object else v) for k, v in c.items()}
    rows = {k: np.asarray(v) for k, v in rows.items()}
    yield rows, d, m, c, pools, ctx
    ctx.close()


def _remote(d) -> np.ndarray:
    pos = static_vocabularies()["channel"].index("pos")
    return combo_table()["channel"][d["combo"]] != pos


def test_rows_are_the_draws_keys(chunk):
    rows, d, _, c, _, _ = chunk
    assert np.array_equal(rows["event_us"], d["event_us"])
    assert np.array_equal(rows["merchant_id"], d["merchant_id"])
    assert np.array_equal(rows["card_id"], d["card_id"])
    assert np.array_equal(rows["customer_id"], c["customer_id"][d["card_id"]])
    assert np.array_equal(rows["pan"], c["pan_hash"][d["card_id"]])
    assert np.array_equal(rows["scheme"], c["card_scheme"][d["card_id"]])
    assert np.array_equal(rows["is_recurring"], d["is_recurring"])
    # The device id as drawn (NULL where the draw says so), compared as text.
    assert [str(x).lower() for x in rows["did"]] == [str(x).lower() for x in d["did"]]
    assert 0.03 < np.mean([x is None for x in rows["did"]]) < 0.2  # ~10% NULL


def test_merchant_columns_come_from_the_merchant(chunk):
    rows, d, m, _, _, _ = chunk
    mid = d["merchant_id"]
    assert np.array_equal(rows["currency"], m["currency"][mid])
    assert np.array_equal(rows["country"], m["country_code"][mid])
    assert np.array_equal(rows["mcc"], m["mcc_code"][mid])
    assert np.array_equal(rows["time_offset"], m["utc_offset"][mid])
    # v2 amounts: the draw times the merchant category's price level, in cents.
    want = np.round(np.maximum(d["amount_raw"] * m["amount_scale"][mid], 0.01), 2)
    assert np.allclose(rows["amount"], want, rtol=0, atol=0.0051)
    assert len(np.unique(m["amount_scale"][mid])) > 1  # the scale is really exercised


def test_in_store_rows_are_at_the_merchant(chunk):
    rows, d, m, _, _, _ = chunk
    here = ~_remote(d)
    mid = d["merchant_id"][here]
    assert here.sum() > 100
    lat = np.clip(m["latitude"][mid] + d["dlat"][here].astype(np.float64), -90, 90)
    lon = np.clip(m["longitude"][mid] + d["dlon"][here].astype(np.float64), -180, 180)
    assert np.allclose(rows["latitude"][here], lat, rtol=0, atol=1e-9)
    assert np.allclose(rows["longitude"][here], lon, rtol=0, atol=1e-9)
    assert np.all(np.abs(rows["latitude"][here] - m["latitude"][mid]) < JITTER)
    assert np.all(np.abs(rows["longitude"][here] - m["longitude"][mid]) < JITTER)


def test_remote_rows_are_near_the_customers_home(chunk):
    rows, d, m, c, _, _ = chunk
    away = _remote(d)
    card = d["card_id"][away]
    assert away.sum() > 100
    lat = np.clip(c["home_lat"][card] + d["dlat"][away].astype(np.float64), -90, 90)
    lon = np.clip(c["home_lon"][card] + d["dlon"][away].astype(np.float64), -180, 180)
    assert np.allclose(rows["latitude"][away], lat, rtol=0, atol=1e-9)
    assert np.allclose(rows["longitude"][away], lon, rtol=0, atol=1e-9)
    assert np.all(np.abs(rows["latitude"][away] - c["home_lat"][card]) < JITTER)
    # Not at the merchant: remote payments happen elsewhere (merchants abroad included).
    far = np.abs(rows["latitude"][away] - m["latitude"][d["merchant_id"][away]]) > JITTER
    assert far.mean() > 0.5


def test_ip_and_user_agent_come_from_their_pools(chunk):
    rows, d, _, _, pools, _ = chunk
    ip, ua = np.asarray(pools.ip_address), np.asarray(pools.user_agent)
    assert np.array_equal(rows["ip"], ip[d["ip_idx"]])
    assert np.array_equal(rows["ua"], ua[d["ua_idx"]])


def test_each_device_keeps_its_ip_and_browser(chunk):
    """Own devices (not fraudsters' fresh ones) pay from their IP, but 5% roaming, and
    always with their browser: the pool entries at the device's own indexes."""
    rows, _, _, _, pools, ctx = chunk
    table = ctx.devices.table
    uuids = table["uuid"].view(np.uint8).reshape(-1, 16)

    device = {str(uuidlib.UUID(bytes=u.tobytes())): i for i, u in enumerate(uuids)}
    own = np.asarray([did in device for did in rows["did"]])
    assert own.mean() > 0.8
    idx = np.asarray([device[did] for did in rows["did"][own]])
    ip, ua = np.asarray(pools.ip_address), np.asarray(pools.user_agent)
    assert np.array_equal(rows["ua"][own], ua[table["ua_idx"][idx]])
    at_home_ip = rows["ip"][own] == ip[table["ip_idx"][idx]]
    assert 0.85 < at_home_ip.mean() < 1.0


def test_channel_triple_and_labels_come_from_the_draws(chunk):
    rows, d, _, _, _, _ = chunk
    vocab, combos = static_vocabularies(), combo_table()
    for col, name in (
        ("channel", "channel"),
        ("device", "device_type"),
        ("entry", "pos_entry_mode"),
    ):
        want = np.asarray(vocab[name])[combos[name][d["combo"]]]
        assert np.array_equal(rows[col], want), col
    code = d["scenario"].astype(int)
    assert np.array_equal(rows["label_fraud"], code > 0)
    names = np.asarray([None, *SCENARIOS], dtype=object)[code]
    assert list(rows["scenario"]) == list(names)
    fraud = code > 0
    assert np.array_equal(
        rows["reported_us"][fraud], d["fraud_reported_at"][fraud].astype(np.int64)
    )
    assert np.all(rows["reported_us"][fraud] > rows["event_us"][fraud])
