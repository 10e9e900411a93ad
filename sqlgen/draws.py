"""The numpy samples of one chunk, before SQL: v1 (legacy, independent rows) and v2
(coherent cardholders: home country, own devices, daily and weekly cycles).

A chunk's draws are a dict of equal-length arrays; `to_arrow` turns them into the Arrow
table that DuckDB joins to the catalogs. Vocabulary columns are integer codes into
`schema.static_vocabularies()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sqlgen import sampling
from sqlgen.schema import reference, static_vocabularies

if TYPE_CHECKING:
    from sqlgen.chunks import ChunkContext
    from sqlgen.plan import ChunkSpec

Draws = dict[str, np.ndarray]
MINUTE_US = 60_000_000


def vocab_code(vocab: str, value: str) -> int:
    return static_vocabularies()[vocab].index(value)


def _channel_columns(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Channel, device type and entry mode codes; device and entry depend on channel."""
    ref = reference()
    channel, names = sampling.categorical(ref["channels"], n, rng)
    channel = np.asarray([vocab_code("channel", c) for c in names], np.int32)[channel]
    device = np.zeros(n, dtype=np.int32)
    entry = np.zeros(n, dtype=np.int32)
    for name in ref["channels"]:
        mask = channel == vocab_code("channel", name)
        k = int(np.count_nonzero(mask))
        d, d_vocab = sampling.categorical(ref["device_types"][name], k, rng)
        e, e_vocab = sampling.categorical(ref["pos_entry_modes"][name], k, rng)
        device[mask] = np.asarray([vocab_code("device_type", v) for v in d_vocab], np.int32)[d]
        entry[mask] = np.asarray([vocab_code("pos_entry_mode", v) for v in e_vocab], np.int32)[e]
    return channel, device, entry


def _payment_columns(
    cfg,
    n: int,
    rng: np.random.Generator,
    channel: np.ndarray,
    device: np.ndarray,
    entry: np.ndarray,
) -> Draws:
    """Columns drawn the same way at both realism levels."""
    ref = reference()
    return {
        "amount_raw": sampling.amounts(cfg.feature.amount, n, rng),
        "channel": channel,
        "device_type": device,
        "pos_entry_mode": entry,
        "is_recurring": rng.random(n) < ref["recurring_rate"],
        "dlat": rng.normal(0, 0.02, n),
        "dlon": rng.normal(0, 0.02, n),
        "device_null": rng.random(n) < ref["device_null_rate"],
    }


def draw_v1(ctx: ChunkContext, spec: ChunkSpec, rng: np.random.Generator) -> Draws:
    """Legacy draws: every column independent, uniform times."""
    cfg, n = ctx.cfg, spec.rows
    channel, device, entry = _channel_columns(n, rng)
    return {
        "event_us": sampling.sorted_times(spec.t0_us, spec.t1_us, n, rng),
        "card_id": ctx.cards.draw(n, rng),
        "merchant_id": ctx.merchants.draw(n, rng),
        **_payment_columns(cfg, n, rng, channel, device, entry),
        "device_key": np.zeros(n, dtype=np.uint64),
        "device_fresh": np.ones(n, dtype=bool),  # legacy: a new device every payment
        "ip_idx": rng.integers(0, len(ctx.ip_pool), n),
        "ua_idx": rng.integers(0, len(ctx.ua_pool), n),
        "u_label": rng.random(n),
    }


def draw_v2(ctx: ChunkContext, spec: ChunkSpec, rng: np.random.Generator) -> Draws:
    """Coherent draws: cards pay mostly at home, from their owner's few devices, in the
    configured daily and weekly rhythm of the merchant's local time."""
    cfg, ref, n = ctx.cfg, reference(), spec.rows
    cards = ctx.cards.draw(n, rng)
    owner = ctx.card_owner[cards]
    merchant = ctx.merchants.draw(n, rng)  # abroad or online: any merchant
    at_home = np.flatnonzero(rng.random(n) < cfg.behaviour.home_share)
    local = ctx.home_merchants.draw(ctx.customer_country[owner[at_home]], rng)
    found = local >= 0  # a home country without merchants keeps the global draw
    merchant[at_home[found]] = local[found]
    channel, device, entry = _channel_columns(n, rng)

    # A customer has 1..max_devices devices; each device keeps its id, IP and browser.
    seed = np.uint64(cfg.seed)
    devices = 1 + sampling.mix64(owner.astype(np.uint64) ^ seed) % np.uint64(
        cfg.behaviour.max_devices
    )
    slot = np.minimum(rng.geometric(0.6, n) - 1, devices.astype(np.int64) - 1)
    key = (owner.astype(np.uint64) << np.uint64(6)) | slot.astype(np.uint64)
    ip_idx = sampling.mix64(key ^ seed ^ np.uint64(0x1F)) % np.uint64(len(ctx.ip_pool))
    roaming = rng.random(n) < 0.05  # mobile networks, hotels: another IP now and then
    ip_idx = np.where(roaming, rng.integers(0, len(ctx.ip_pool), n), ip_idx.astype(np.int64))
    ua_idx = sampling.mix64(key ^ seed ^ np.uint64(0x2F)) % np.uint64(len(ctx.ua_pool))
    remote = channel != vocab_code("channel", "pos")
    kinds = ref["device_types"]["ecom"]
    own_kind = np.asarray([vocab_code("device_type", k) for k in kinds], np.int32)[
        sampling.draw_from_cdf(
            sampling.cdf(np.asarray(list(kinds.values()), float)),
            n,
            _HashRng(sampling.mix64(key ^ seed ^ np.uint64(0x3F))),
        )
    ]
    device = np.where(remote & (channel != vocab_code("channel", "moto")), own_kind, device)

    local = sampling.cycle_times(
        spec.t0_us, spec.t1_us, n, rng, cfg.temporal.hourly_weights, cfg.temporal.weekday_weights
    )
    span = spec.t1_us - spec.t0_us
    utc = spec.t0_us + (local - ctx.merchant_offset[merchant] * MINUTE_US - spec.t0_us) % span
    return {
        "event_us": utc,
        "card_id": cards,
        "merchant_id": merchant,
        **_payment_columns(cfg, n, rng, channel, device, entry),
        "device_key": key,
        "device_fresh": np.zeros(n, dtype=bool),
        "ip_idx": ip_idx,
        "ua_idx": ua_idx.astype(np.int64),
        "u_label": rng.random(n),
    }


class _HashRng:
    """Uniforms taken from per-row hashes, so a device's kind never changes."""

    def __init__(self, hashes: np.ndarray):
        self.hashes = hashes

    def random(self, size: int) -> np.ndarray:
        return (self.hashes[:size] >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def sort_by_time(draws: Draws) -> Draws:
    order = np.argsort(draws["event_us"], kind="stable")
    return {k: v[order] for k, v in draws.items()}


def to_arrow(ctx: ChunkContext, draws: Draws, rng: np.random.Generator) -> pa.Table:
    """Arrow view of the draws. Random UUIDs are made here, after sorting, from `rng`
    (moving 16-byte rows around costs more than drawing them)."""
    vocab = static_vocabularies()
    n = len(draws["event_us"])
    device = sampling.keyed_uuid4(draws["device_key"], int(ctx.cfg.seed) ^ 0xDE71CE)
    fresh = np.flatnonzero(draws["device_fresh"])
    device[fresh] = sampling.uuid4_bytes(len(fresh), rng)
    return pa.table(
        {
            "row_idx": np.arange(n, dtype=np.int32),
            "event_us": draws["event_us"],
            "card_id": draws["card_id"],
            "merchant_id": draws["merchant_id"],
            "amount_raw": draws["amount_raw"],
            "channel": sampling.dictionary(draws["channel"], list(vocab["channel"])),
            "device_type": sampling.dictionary(draws["device_type"], list(vocab["device_type"])),
            "pos_entry_mode": sampling.dictionary(
                draws["pos_entry_mode"], list(vocab["pos_entry_mode"])
            ),
            "is_recurring": draws["is_recurring"],
            "remote": draws["channel"] != vocab_code("channel", "pos"),
            "dlat": draws["dlat"],
            "dlon": draws["dlon"],
            "transaction_id": sampling.uuid_array(sampling.uuid4_bytes(n, rng)),
            "device_id": sampling.uuid_array(device, draws["device_null"]),
            "ip_address": sampling.dictionary(draws["ip_idx"], ctx.ip_pool),
            "user_agent": sampling.dictionary(draws["ua_idx"], ctx.ua_pool),
            "u_label": draws["u_label"],
        }
    )
