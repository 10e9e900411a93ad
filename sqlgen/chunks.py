"""One chunk: numpy draws → Arrow view → templated SQL join and logit → labels → Parquet.

A `ChunkContext` is opened once per process (catalog tables loaded or built, Faker
pools filled, SQL rendered) and reused for every chunk that process runs.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

from sqlgen import sampling
from sqlgen.catalogs import build_catalogs, load_catalogs
from sqlgen.config import GeneratorConfig
from sqlgen.labeler import correct_labels, scenario_array
from sqlgen.plan import ChunkSpec
from sqlgen.render import render
from sqlgen.schema import reference, table_schema
from sqlgen.seeds import stream

ROW_GROUP_SIZE = 122_880
_LABEL_COLUMNS = ("label_fraud", "fraud_scenario")


@dataclass(frozen=True)
class FileStat:
    """What a written chunk file holds; gathered by the driver for the manifest."""

    index: int
    relpath: str
    rows: int
    fraud_rows: int
    bytes: int
    sha256: str


class ChunkContext:
    """Per-process state shared by chunks: DuckDB catalogs, popularity tables, pools."""

    def __init__(self, cfg: GeneratorConfig, catalog_dir: Path | None, threads: int = 1):
        self.cfg = cfg
        self.con = duckdb.connect(
            config={
                "threads": max(1, threads),
                "preserve_insertion_order": True,
                "arrow_lossless_conversion": True,  # UUIDs stay 16-byte UUIDs through Arrow
            }
        )
        if catalog_dir is None:
            build_catalogs(self.con, cfg.catalog, cfg.seed)
        else:
            load_catalogs(self.con, catalog_dir)
        self.card_cdf = self._popularity_cdf("cards")
        self.merchant_cdf = self._popularity_cdf("merchants")
        self.ip_pool, self.ua_pool = _faker_pools(cfg.seed)
        columns = [c for c in table_schema("payments").columns if c.name not in _LABEL_COLUMNS]
        self.enrich_sql = render("chunk_enrich.sql", columns=columns, realism=cfg.realism)
        self.params = {
            "intercept": math.log(cfg.fraud_rate / (1 - cfg.fraud_rate)),
            "w_amount": cfg.label.w_amount,
            "w_mrisk": cfg.label.w_mrisk,
            "w_crisk": cfg.label.w_crisk,
            "w_night": cfg.label.w_night,
        }

    def _popularity_cdf(self, table: str) -> np.ndarray:
        weights = self.con.table(table).select("popularity").fetchnumpy()["popularity"]
        return sampling.cdf(np.asarray(weights, dtype=np.float64))

    def close(self) -> None:
        self.con.close()


def _faker_pools(seed: int) -> tuple[pa.Array, pa.Array]:
    ref = reference()
    fake = Faker()
    fake.seed_instance(seed)
    ips = [fake.ipv4_public() for _ in range(ref["ip_pool_size"])]
    uas = [fake.user_agent() for _ in range(ref["user_agent_pool_size"])]
    return pa.array(ips), pa.array(uas)


def draw_chunk(ctx: ChunkContext, spec: ChunkSpec) -> pa.Table:
    """The numpy samples of one chunk, from its own random stream."""
    cfg, ref, n = ctx.cfg, reference(), spec.rows
    rng = stream(cfg.seed, "chunk", spec.index)
    channel, channels = sampling.categorical(ref["channels"], n, rng)
    device = np.zeros(n, dtype=np.int32)
    entry = np.zeros(n, dtype=np.int32)
    devices: list[str] = []
    entries: list[str] = []
    for code, name in enumerate(channels):
        mask = channel == code
        k = int(np.count_nonzero(mask))
        d_codes, d_vocab = sampling.categorical(ref["device_types"][name], k, rng)
        e_codes, e_vocab = sampling.categorical(ref["pos_entry_modes"][name], k, rng)
        device[mask] = d_codes + len(devices)
        entry[mask] = e_codes + len(entries)
        devices += d_vocab
        entries += e_vocab
    return pa.table(
        {
            "row_idx": np.arange(n, dtype=np.int32),
            "event_us": sampling.sorted_times(spec.t0_us, spec.t1_us, n, rng),
            "card_id": sampling.draw_from_cdf(ctx.card_cdf, n, rng).astype(np.int64),
            "merchant_id": sampling.draw_from_cdf(ctx.merchant_cdf, n, rng).astype(np.int64),
            "amount_raw": sampling.amounts(cfg.feature.amount, n, rng),
            "channel": sampling.dictionary(channel, channels),
            "device_type": sampling.dictionary(device, devices),
            "pos_entry_mode": sampling.dictionary(entry, entries),
            "is_recurring": rng.random(n) < ref["recurring_rate"],
            "dlat": rng.normal(0, 0.02, n),
            "dlon": rng.normal(0, 0.02, n),
            "transaction_id": sampling.uuid4(n, rng),
            "device_id": sampling.uuid4(n, rng, null_rate=ref["device_null_rate"]),
            "ip_address": sampling.dictionary(rng.integers(0, len(ctx.ip_pool), n), ctx.ip_pool),
            "user_agent": sampling.dictionary(rng.integers(0, len(ctx.ua_pool), n), ctx.ua_pool),
            "u_label": rng.random(n),
        }
    )


def build_chunk(ctx: ChunkContext, spec: ChunkSpec) -> pa.Table:
    """The labelled payments of one chunk, columns in `schema/payments.yaml` order."""
    draws = draw_chunk(ctx, spec)
    ctx.con.register("draws", draws)
    try:
        enriched = ctx.con.sql(ctx.enrich_sql, params=ctx.params).to_arrow_table()
    finally:
        ctx.con.unregister("draws")
    label = ctx.cfg.label
    scenario = correct_labels(
        enriched.column("logistic_label").to_numpy(),
        spec.fraud_target,
        enriched.column("merchant_id").to_numpy(),
        enriched.column("event_us").to_numpy(),
        enriched.column("merchant_risk").to_numpy(),
        label.burst_size,
        int(label.burst_window_minutes * 60_000_000),
        stream(ctx.cfg.seed, "labels", spec.index),
    )
    names = table_schema("payments").names
    table = enriched.select([n for n in names if n not in _LABEL_COLUMNS])
    table = table.append_column("label_fraud", pa.array(scenario > 0))
    table = table.append_column("fraud_scenario", scenario_array(scenario))
    return table.select(names)


def write_chunk(ctx: ChunkContext, table: pa.Table, spec: ChunkSpec, root: Path) -> FileStat:
    """COPY one chunk to `root/<relpath>`, fsync it, and describe it."""
    path = root / spec.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    ctx.con.register("chunk", table)
    try:
        ctx.con.execute(
            render(
                "copy_chunk.sql",
                columns=table_schema("payments").columns,
                source="chunk",
                path=path,
                row_group_size=ROW_GROUP_SIZE,
            )
        )
    finally:
        ctx.con.unregister("chunk")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
        os.fsync(fh.fileno())
    fraud = int(pc.sum(table.column("label_fraud")).as_py() or 0)
    return FileStat(
        spec.index, spec.relpath, table.num_rows, fraud, path.stat().st_size, digest.hexdigest()
    )
