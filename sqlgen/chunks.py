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

from sqlgen import sampling
from sqlgen.catalogs import build_catalogs, create_enum_types, load_catalogs
from sqlgen.config import GeneratorConfig
from sqlgen.labeler import SCENARIOS, correct_labels, scenario_array
from sqlgen.plan import ChunkSpec
from sqlgen.pools import Pools
from sqlgen.render import render
from sqlgen.schema import reference, table_schema
from sqlgen.seeds import stream

ROW_GROUP_SIZE = 122_880


@dataclass(frozen=True)
class FileStat:
    """What a written chunk file holds; gathered by the driver for the manifest."""

    index: int
    relpath: str
    rows: int
    fraud_rows: int
    bytes: int
    sha256: str
    uploaded: bool = False  # shipped to S3 by the worker that wrote it
    upload_error: str | None = None


class ChunkContext:
    """Per-process state shared by chunks: DuckDB catalogs, popularity tables, pools."""

    def __init__(self, cfg: GeneratorConfig, catalog_dir: Path | None, pools: Pools):
        self.cfg = cfg
        self.con = duckdb.connect(
            config={
                # One thread: chunk queries then keep draw order without a sort, and
                # parallelism comes from running chunks in several workers.
                "threads": 1,
                # Keep the star join as written: draws probe the catalogs' hash tables,
                # so rows come out in draw order even when a chunk is smaller than a
                # catalog (the optimizer would otherwise build on the draws).
                "disabled_optimizers": "join_order,build_side_probe_side",
                "preserve_insertion_order": True,
                "arrow_lossless_conversion": True,  # UUIDs stay 16-byte UUIDs through Arrow
            }
        )
        if catalog_dir is None:
            build_catalogs(self.con, cfg.catalog, cfg.seed)
        else:
            load_catalogs(self.con, catalog_dir)
        self.cards = self._popularity("cards")
        self.merchants = self._popularity("merchants")
        self.ip_pool = pa.array(pools.ip_address)
        self.ua_pool = pa.array(pools.user_agent)
        create_enum_types(
            self.con,
            {
                "ip_address": pools.ip_address,
                "user_agent": pools.user_agent,
                "fraud_scenario": SCENARIOS,
            },
        )
        self.query_args = {
            "columns": table_schema("payments").columns,
            "type_attr": "working_type",
            "realism": cfg.realism,
        }
        self.score_sql = render("chunk_query.sql", mode="score", **self.query_args)
        self.rows_sql = render("chunk_query.sql", mode="rows", **self.query_args)
        self.query_args["mode"] = "rows"

        self.params = {
            "intercept": math.log(cfg.fraud_rate / (1 - cfg.fraud_rate)),
            "w_amount": cfg.label.w_amount,
            "w_mrisk": cfg.label.w_mrisk,
            "w_crisk": cfg.label.w_crisk,
            "w_night": cfg.label.w_night,
        }

    def _popularity(self, table: str) -> sampling.CdfSampler:
        weights = self.con.table(table).select("popularity").fetchnumpy()["popularity"]
        return sampling.CdfSampler(np.asarray(weights, dtype=np.float64))

    def close(self) -> None:
        self.con.close()


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
            "card_id": ctx.cards.draw(n, rng),
            "merchant_id": ctx.merchants.draw(n, rng),
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


def label_chunk(ctx: ChunkContext, spec: ChunkSpec) -> int:
    """Register the chunk's draws (view `draws`) and labels (view `labels`).

    Returns the number of fraud rows. The caller runs a "rows" query, then `release`.
    """
    ctx.con.register("draws", draw_chunk(ctx, spec))
    inputs = ctx.con.execute(ctx.score_sql, ctx.params).fetchnumpy()
    label = ctx.cfg.label
    scenario = correct_labels(
        np.asarray(inputs["logistic_label"]),
        spec.fraud_target,
        np.asarray(inputs["merchant_id"]),
        np.asarray(inputs["event_us"]),
        np.asarray(inputs["merchant_risk"]),
        label.burst_size,
        int(label.burst_window_minutes * 60_000_000),
        stream(ctx.cfg.seed, "labels", spec.index),
    )
    labels = pa.table(
        {
            "row_idx": np.asarray(inputs["row_idx"]),
            "label_fraud": scenario > 0,
            "fraud_scenario": scenario_array(scenario),
        }
    )
    ctx.con.register("labels", labels)
    return int(np.count_nonzero(scenario))


def release(ctx: ChunkContext) -> None:
    ctx.con.unregister("labels")
    ctx.con.unregister("draws")


def build_chunk(ctx: ChunkContext, spec: ChunkSpec) -> pa.Table:
    """The labelled payments of one chunk as Arrow, columns in `schema/payments.yaml` order."""
    label_chunk(ctx, spec)
    try:
        return ctx.con.sql(ctx.rows_sql, params=ctx.params).to_arrow_table()
    finally:
        release(ctx)


def write_chunk(ctx: ChunkContext, spec: ChunkSpec, root: Path) -> FileStat:
    """Generate one chunk, COPY it to `root/<relpath>`, fsync it, and describe it."""
    fraud = label_chunk(ctx, spec)
    path = root / spec.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        ctx.con.execute(
            render(
                "copy_chunk.sql",
                path=path,
                row_group_size=ROW_GROUP_SIZE,
                compression=ctx.cfg.compression,
                **ctx.query_args,
            ),
            ctx.params,
        )
    finally:
        release(ctx)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
        os.fsync(fh.fileno())
    return FileStat(
        spec.index, spec.relpath, spec.rows, fraud, path.stat().st_size, digest.hexdigest()
    )
