"""The numpy samples of one chunk, before SQL: v1 (legacy, independent rows) and v2
(coherent cardholders: home country, own devices, daily and weekly cycles).

A chunk's draws are a dict of equal-length arrays; `to_arrow` turns them into the Arrow
table that DuckDB joins to the catalogs and lookup tables. v2 draws in two steps so the
time sort moves as little as possible: `skeleton_v2` (who pays whom, when, how much),
which fraud scenarios then rewrite, and after the sort `attributes_v2` (channel, device,
IP, jitter), drawn directly in time order.

Vocabulary columns are integer codes: `combo` numbers a (channel, device_type,
pos_entry_mode) triple (`combo_table`), `ip_idx`/`ua_idx` index the Faker pools.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sqlgen import arrow_np, sampling
from sqlgen.combos import (
    MINUTE_US,
    Draws,
    combo_table,
    own_kind,
    vocab_code,
    with_device,
)
from sqlgen.schema import reference, static_vocabularies
from sqlgen.world import networks

if TYPE_CHECKING:
    from sqlgen.generate.plan import ChunkSpec
    from sqlgen.generate.population import Population

_ROAMING = 0.05  # share of payments from another IP than the device's usual one
_SLOT_P = 0.6  # a customer's first device is used 60% of the time, the next 24%, ...


@cache
def _combos() -> sampling.CdfSampler:
    return sampling.CdfSampler(combo_table()["weight"])


def _row_noise(n: int, rng: np.random.Generator) -> Draws:
    """Independent per-row draws shared by both realism levels."""
    ref = reference()
    jitter = rng.standard_normal((2, n), dtype=np.float32) * np.float32(0.02)  # degrees
    return {
        "is_recurring": rng.random(n) < ref["recurring_rate"],
        "dlat": jitter[0],
        "dlon": jitter[1],
        "device_null": rng.random(n) < ref["device_null_rate"],
        "u_label": rng.random(n),
    }


def draw_v1(pop: Population, spec: ChunkSpec, rng: np.random.Generator) -> Draws:
    """Legacy draws: every column independent, uniform times (drawn in order)."""
    cfg, n = pop.cfg, spec.rows
    return {
        "event_us": sampling.sorted_times(spec.t0_us, spec.t1_us, n, rng),
        "card_id": pop.cards.draw(n, rng),
        "merchant_id": pop.merchants.draw(n, rng),
        "amount_raw": sampling.amounts(cfg.feature.amount, n, rng),
        "combo": _combos().draw(n, rng),
        "ip_idx": rng.integers(0, pop.n_ip, n),
        "ua_idx": rng.integers(0, pop.n_ua, n),
        **_row_noise(n, rng),
    }


def skeleton_v2(pop: Population, spec: ChunkSpec, rng: np.random.Generator) -> Draws:
    """Who pays whom, when and how much: cards pay mostly in their owner's home
    country, in the configured daily and weekly rhythm of the merchant's local time.
    Unsorted; fraud scenarios rewrite rows of it before the time sort."""
    cfg, n = pop.cfg, spec.rows
    cards = pop.cards.draw(n, rng)
    owner = pop.card_owner[cards]
    merchant = np.full(n, -1, dtype=np.int64)
    at_home = np.flatnonzero(rng.random(n) < cfg.behaviour.home_share)
    merchant[at_home] = pop.home_merchants.draw(pop.customer_country[owner[at_home]], rng)
    # Abroad or online, or a home country without merchants: any merchant.
    away = np.flatnonzero(merchant < 0)
    merchant[away] = pop.merchants.draw(len(away), rng)
    local = sampling.cycle_times(
        spec.t0_us, spec.t1_us, n, rng, cfg.temporal.hourly_weights, cfg.temporal.weekday_weights
    )
    span = spec.t1_us - spec.t0_us
    utc = spec.t0_us + (local - pop.merchant_offset[merchant] * MINUTE_US - spec.t0_us) % span
    return {
        "event_us": utc,
        "card_id": cards,
        "merchant_id": merchant,
        "amount_raw": sampling.amounts(cfg.feature.amount, n, rng),
    }


def sort_by_time(draws: Draws, codes: np.ndarray, spec: ChunkSpec) -> tuple[Draws, np.ndarray]:
    order, times = sampling.time_sort(draws["event_us"], spec.t0_us, spec.t1_us)
    # np.take: a little faster than fancy indexing for these 1-D gathers.
    out = {k: times if k == "event_us" else np.take(v, order) for k, v in draws.items()}
    return out, np.take(codes, order)


def attributes_v2(pop: Population, skeleton: Draws, rng: np.random.Generator) -> Draws:
    """The rest of each payment, drawn in time order: a customer has 1..max_devices
    devices, each with its own id, kind, IP and browser; remote payments come from one
    of them, mostly the first."""
    cfg, n = pop.cfg, len(skeleton["event_us"])
    owner = pop.card_owner[skeleton["card_id"]]
    u = rng.random(n)
    slot = np.zeros(n, dtype=np.int64)  # geometric: P(slot >= k) = (1 - p)^k
    for k in range(1, cfg.behaviour.max_devices):
        slot += u < (1 - _SLOT_P) ** k
    slot = np.minimum(slot, pop.devices.count[owner] - 1)
    device = pop.devices.rows(owner, slot)
    ip_idx = device["ip_idx"]
    roaming = np.flatnonzero(rng.random(n) < _ROAMING)
    ip_idx[roaming] = rng.integers(0, pop.n_ip, len(roaming))

    combo = _combos().draw(n, rng)
    ecom = np.flatnonzero(combo_table()["channel"][combo] == vocab_code("channel", "ecom"))
    combo[ecom] = with_device(combo[ecom], device["kind"][ecom])
    return {
        **skeleton,
        "combo": combo,
        "device_uuid": device["uuid"],
        "device_fresh": np.zeros(n, dtype=bool),
        "ip_idx": ip_idx,
        "ua_idx": device["ua_idx"],
        **_row_noise(n, rng),
    }


class Devices:
    """Each customer's devices: how many (`count`), and what each keeps: its id, IP,
    browser and kind, all derived from its key (owner, slot) and the seed. Tabulated
    once per process when the catalog is small enough (rows then gather), derived per
    row otherwise; the values are the same.
    """

    TABLE_LIMIT = 1 << 22  # devices

    def __init__(
        self,
        seed: int,
        customers: int,
        max_devices: int,
        n_ip: int,
        n_ua: int,
        world: int | None = None,
    ):
        self.seed, self.max_devices, self.n_ip, self.n_ua = seed, max_devices, n_ip, n_ua
        self.world = world  # v3: the run's last year (browsers shipped by then)
        # How many devices (1..max_devices) each customer has, fixed by the seed.
        ids = np.arange(customers, dtype=np.uint64)
        self.count = 1 + (sampling.mix64(ids ^ np.uint64(seed)) % np.uint64(max_devices)).astype(
            np.int64
        )
        self.table = None
        if customers * max_devices <= self.TABLE_LIMIT:
            owner = np.repeat(np.arange(customers), max_devices)
            slot = np.tile(np.arange(max_devices), customers)
            self.table = self._derive(owner, slot)
            self.table["uuid"] = self.table["uuid"].view(np.uint64)  # rows of 2 words

    def rows(self, owner: np.ndarray, slot: np.ndarray, skip: tuple[str, ...] = ()) -> Draws:
        """The devices' columns (those in `skip` may be left out)."""
        if self.table is None:
            return self._derive(owner, slot)
        idx = owner * self.max_devices + slot
        # np.take: a row gather of the 2-word UUIDs is ~8x faster than fancy indexing.
        out = {k: np.take(v, idx, axis=0) for k, v in self.table.items() if k not in skip}
        out["uuid"] = out["uuid"].view(np.uint8)
        return out

    def _derive(self, owner: np.ndarray, slot: np.ndarray) -> Draws:
        key = (owner.astype(np.uint64) << np.uint64(6)) | slot.astype(np.uint64)
        seed = np.uint64(self.seed)
        h = sampling.mix64(key ^ seed ^ np.uint64(0x1F))
        h2 = sampling.mix64(h)
        out = {
            "uuid": sampling.keyed_uuid4(key, self.seed ^ 0xDE71CE),
            "ip_idx": sampling.bounded(h, self.n_ip).astype(np.int32),
            "ua_idx": sampling.bounded(h2, self.n_ua).astype(np.int32),
            "kind": own_kind((h2 >> np.uint64(11)).astype(np.float64) / float(1 << 53)).astype(
                np.int8
            ),
        }
        if self.world is not None:  # v3: the household's address, a browser fitting the device
            out["ip"] = networks.household_ips(owner, slot, self.seed)
            u = (sampling.mix64(h2) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
            kinds = static_vocabularies()["device_type"]
            out["ua_idx"] = networks.device_user_agents(out["kind"], kinds, u, self.world)
        return out


def to_arrow(pop: Population, draws: Draws, rng: np.random.Generator) -> pa.Table:
    """Arrow view of the draws. Random UUIDs are made here, after sorting, from `rng`
    (moving 16-byte rows around costs more than drawing them)."""
    n = len(draws["event_us"])
    if "device_uuid" in draws:  # v2: the owner's device, or a fresh one where flagged
        device = draws["device_uuid"]
        fresh = np.flatnonzero(draws["device_fresh"])
        device[fresh] = sampling.uuid4_bytes(len(fresh), rng)
    else:  # v1: a new device every payment
        device = sampling.uuid4_bytes(n, rng)
    return arrow_np.table(
        {
            "row_idx": np.arange(n, dtype=np.int32),
            "event_us": draws["event_us"],
            "card_id": draws["card_id"],
            "merchant_id": draws["merchant_id"],
            "amount_raw": draws["amount_raw"],
            "combo": draws["combo"].astype(np.int32),
            "is_recurring": draws["is_recurring"],
            "dlat": draws["dlat"],
            "dlon": draws["dlon"],
            "transaction_id": sampling.uuid_array(sampling.uuid4_bytes(n, rng)),
            "device_id": sampling.uuid_array(device, draws["device_null"]),
            "ip_idx": draws["ip_idx"].astype(np.int32),
            "ua_idx": draws["ua_idx"].astype(np.int32),
            "u_label": draws["u_label"],
        }
    )
