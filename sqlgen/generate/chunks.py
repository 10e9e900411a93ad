"""One chunk: numpy draws → Arrow view → templated SQL join and logit → labels → Parquet.

A `ChunkContext` is opened once per process (catalog tables loaded or built, Faker
pools filled, SQL rendered) and reused for every chunk that process runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from sqlgen import arrow_np
from sqlgen.combos import Draws, combo_table
from sqlgen.config import GeneratorConfig
from sqlgen.errors import SqlgenError
from sqlgen.files import file_sha256
from sqlgen.generate.labeler import GENUINE, SCENARIOS, correct_labels
from sqlgen.generate.plan import ChunkSpec
from sqlgen.generate.population import Population
from sqlgen.generate.profiles import profile_for, score_params
from sqlgen.generate.stages import Timer, untimed
from sqlgen.render import render
from sqlgen.schema import payments_schema, static_vocabularies
from sqlgen.seeds import stream
from sqlgen.world.catalogs import build_catalogs, create_enum_types, load_catalogs
from sqlgen.world.pools import Pools
from sqlgen.world.timezone import use_utc


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
    """Per-process state shared by chunks: DuckDB catalogs, popularity tables, pools.

    Opening it (catalogs, samplers) needs only the config and the catalog files, so a
    worker can do it while the driver still fills the Faker pools; `use_pools` then
    adds those.
    """

    def __init__(self, cfg: GeneratorConfig, catalog_dir: Path | None):
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
        # Draw times are UTC microseconds: the cast to TIMESTAMPTZ must not read them as
        # the host's local time.
        use_utc(self.con)
        self.profile = profile = profile_for(cfg.realism)
        if catalog_dir is None:
            build_catalogs(self.con, cfg.catalog, cfg.seed, world=profile.world)
        else:
            load_catalogs(self.con, catalog_dir, profile.catalog_level)
        self.con.execute(render("card_facts.sql"))
        if profile.world:  # the factors of `amount_base` to the configured base currency
            self.con.execute(render("fx_base.sql"), {"base": cfg.money.base_currency})
        self.pop = Population(cfg, self.con)
        self.pools: Pools | None = None
        columns = payments_schema(cfg.output.id_type, profile.name).columns
        if profile.world:  # addresses are computed per household, not picked from a pool
            columns = tuple(
                dataclasses.replace(c, enum=None) if c.name == "ip_address" else c for c in columns
            )
        query_args = {
            "columns": columns,
            "type_attr": "working_type",
            "realism": profile.name,
        }
        self.score_sql = render("chunk_score.sql", **query_args)
        self.rows_sql = render("chunk_rows.sql", **query_args)

        self.params = score_params(cfg)

    def use_pools(self, pools: Pools) -> None:
        """The run's Faker pools as ENUM types and lookup tables (once per context)."""
        if self.pools is not None:
            if self.pools != pools:
                raise ValueError("a chunk context serves one run's pools")
            return
        create_enum_types(
            self.con,
            {
                "ip_address": pools.ip_address,
                "user_agent": pools.user_agent,
                "fraud_scenario": SCENARIOS,
            },
        )
        _create_lookups(self.con, pools)
        # max(1, ...): v3 computes addresses and has no IP pool.
        self.pop.use_pools(max(1, len(pools.ip_address)), len(pools.user_agent))
        self.pools = pools

    @property
    def devices(self):
        return self.pop.devices

    def close(self) -> None:
        self.con.close()


def _create_lookups(con: duckdb.DuckDBPyConnection, pools: Pools) -> None:
    """The code -> value tables chunks join to (see `sql/create_lookup.sql`)."""
    vocab, combos = static_vocabularies(), combo_table()
    pos = combos["channel"] == vocab["channel"].index("pos")
    # Code 0 is genuine, k > 0 scenario k reported, -k scenario k never reported (v3).
    scenario = np.arange(-len(SCENARIOS), len(SCENARIOS) + 1)
    auth = np.arange(len(vocab["decline_reason"]) + 1)
    lookups = {
        "channel_combos": {
            "combo": ("integer", np.arange(len(pos))),
            "channel": ("channel_enum", np.asarray(vocab["channel"])[combos["channel"]]),
            "device_type": (
                "device_type_enum",
                np.asarray(vocab["device_type"])[combos["device_type"]],
            ),
            "pos_entry_mode": (
                "pos_entry_mode_enum",
                np.asarray(vocab["pos_entry_mode"])[combos["pos_entry_mode"]],
            ),
            "remote": ("boolean", ~pos),
        },
        "ip_pool": {
            "ip_idx": ("integer", np.arange(len(pools.ip_address))),
            "ip_address": ("ip_address_enum", pools.ip_address),
        },
        "ua_pool": {
            "ua_idx": ("integer", np.arange(len(pools.user_agent))),
            "user_agent": ("user_agent_enum", pools.user_agent),
        },
        "scenario_codes": {  # code 0 is a genuine payment: no scenario
            "scenario": ("tinyint", scenario),
            "label_fraud": ("boolean", scenario > 0),
            "fraud_scenario": (
                "fraud_scenario_enum",
                [None if c == 0 else SCENARIOS[abs(c) - 1] for c in scenario],
            ),
        },
        "auth_codes": {  # code 0 approved, k > 0 declined for reason k - 1
            "auth": ("tinyint", auth),
            "auth_result": (
                "auth_result_enum",
                np.where(auth > 0, "declined", "approved").astype(object),
            ),
            "decline_reason": ("decline_reason_enum", [None, *vocab["decline_reason"]]),
        },
    }
    for table, columns in lookups.items():
        con.register("lookup_src", arrow_np.table({k: v for k, (_, v) in columns.items()}))
        con.execute(
            render(
                "create_lookup.sql",
                table=table,
                source="lookup_src",
                columns=[(k, t) for k, (t, _) in columns.items()],
            )
        )
        con.unregister("lookup_src")


def quotas(cfg: GeneratorConfig, target: int) -> dict[str, int]:
    """A chunk's labeler quota per scenario (the profile's `quotas` stage)."""
    return profile_for(cfg.realism).quotas(cfg, target)


def draw_chunk(
    ctx: ChunkContext, spec: ChunkSpec, timer: Timer = untimed
) -> tuple[Draws, np.ndarray, dict]:
    """The chunk's numpy draws in time order, injected scenario codes, and quotas."""
    rng = stream(ctx.cfg.seed, "chunk", spec.index)
    share = ctx.profile.quotas(ctx.cfg, spec.fraud_target)
    draws, codes = ctx.profile.draw(ctx.pop, spec, rng, share, timer)
    return draws, codes, share


def label_chunk(ctx: ChunkContext, spec: ChunkSpec, timer: Timer = untimed) -> int:
    """Register the chunk's labelled draws as the Arrow view `draws`.

    The score query runs on the draws first; its logistic draws, corrected to the exact
    fraud counts, come back as the columns `scenario` and `fraud_reported_at`. Returns
    the number of fraud rows. The caller runs `ctx.rows_sql` (alone or inside
    `copy_chunk.sql`), then `release`.
    """
    cfg, profile = ctx.cfg, ctx.profile
    draws, fixed, share = draw_chunk(ctx, spec, timer)
    with timer("arrow view"):
        table = profile.to_arrow(ctx.pop, draws, stream(cfg.seed, "uuids", spec.index))
    params = ctx.params
    if profile.signals is not None:
        with timer("behaviour"):
            signals = profile.signals(ctx.pop, draws)
        for name, values in signals.items():
            table = table.append_column(name, arrow_np.array(values))
        params = {**params, **{f"c_{k}": float(v.mean()) for k, v in signals.items()}}
    with timer("score query"):
        ctx.con.register("draws", table)
        scored = ctx.con.execute(ctx.score_sql, params).fetchnumpy()
        ctx.con.unregister("draws")
    with timer("labels"):
        _check_rows(spec, len(scored["row_idx"]), "scored")
        # Back to draw order by row index, whatever order the query returned.
        logistic = np.zeros(spec.rows, dtype=bool)
        logistic[np.asarray(scored["row_idx"])] = np.asarray(scored["logistic_label"])
        if "blocked" in draws:  # v3: nobody commits new fraud on a blocked card
            # nor on a planned dispute (the holder's own payment, reported later)
            held = draws["blocked"] | draws["dispute"]
            fixed = np.where(held & (fixed == GENUINE), _HELD, fixed)
        label = cfg.label
        rng = stream(cfg.seed, "labels", spec.index)
        merchant = draws["merchant_id"]
        scenario = correct_labels(
            logistic,
            share["logistic"],
            merchant,
            draws["event_us"],
            ctx.pop.merchant_risk[merchant],
            label.burst_size,
            int(label.burst_window_minutes * 60_000_000),
            rng,
            burst_target=share.get("burst", 0),
            fixed=fixed,
        )
        scenario[scenario == _HELD] = GENUINE
        # The issuer decides on the truth; noise changes what is reported afterwards.
        auth = profile.authorise(cfg, draws, scenario, stream(cfg.seed, "auth", spec.index))
        reported = profile.report(cfg, spec, draws, scenario, fixed, auth, rng)
        table = (
            table.append_column("scenario", arrow_np.array(scenario))
            .append_column("fraud_reported_at", reported)
            .append_column("auth", arrow_np.array(auth))
        )
    ctx.con.register("draws", table)
    return int(np.count_nonzero(scenario > GENUINE))  # reported: label_fraud


_HELD = -1  # a row the labeler must leave genuine (v3: on a blocked card, a dispute)


def release(ctx: ChunkContext) -> None:
    ctx.con.unregister("draws")


def _check_rows(spec: ChunkSpec, rows: int, what: str) -> None:
    """Every draw must survive the catalog joins; a lost row is a bug, never output."""
    if rows != spec.rows:
        raise SqlgenError(
            f"internal check failed: chunk {spec.index} {what} {rows} rows, planned {spec.rows}"
        )


def build_chunk(ctx: ChunkContext, spec: ChunkSpec) -> pa.Table:
    """The labelled payments of one chunk as Arrow, columns in `schema/payments.yaml` order."""
    label_chunk(ctx, spec)
    try:
        return ctx.con.sql(ctx.rows_sql).to_arrow_table()
    finally:
        release(ctx)


def write_chunk(ctx: ChunkContext, spec: ChunkSpec, root: Path, timer: Timer = untimed) -> FileStat:
    """Generate one chunk, COPY it to `root/<relpath>`, fsync it, and describe it."""
    fraud = label_chunk(ctx, spec, timer)
    path = root / spec.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with timer("row query + COPY"):
            (written,) = ctx.con.execute(
                render(
                    "copy_chunk.sql",
                    query=ctx.rows_sql,
                    path=path,
                    row_group_size=ctx.cfg.row_group_size,
                    compression=ctx.cfg.compression,
                    compression_level=ctx.cfg.compression_level,
                )
            ).fetchone()
    finally:
        release(ctx)
    _check_rows(spec, written, "written")
    with timer("sha256 + fsync"):
        sha256 = file_sha256(path, fsync=True)
    return FileStat(spec.index, spec.relpath, spec.rows, fraud, path.stat().st_size, sha256)
