"""Realism v3 fraud episodes, planned once per run and materialized by the chunks.

Fraud is done by **rings** (`Rings`): a small population of fraudsters, each with its
own city, devices, addresses, favourite merchants and working hours, reused across
victims. The **plan** (`Planner.plan`) holds every planned attempt of the run: per
scenario with a v3 planner (card testing, account takeover, a merchant's breach
window and cash-out, burst waves), episodes of several attempts on victim cards, each
episode reported after a delay (scenario and channel profile, capped at the 120-day
chargeback window) and its card **blocked** at the report.

The plan depends on the config and seed only, never on chunking: it is made of day
blocks, each drawn from its own stream (`seeds.stream(seed, "episodes", day)`) with an
exact number of attempts per scenario (largest remainder over days), so any block can
be computed on its own. A process computes the whole plan once (about one entry per
fraud) and each chunk takes the attempts that fall in its time slice
(`Planner.materialize`), applies blocks (`Planner.settle`: declined `card_blocked`,
the holder's later payments move to a replacement card) and gives the fraud rows the
ring's device, address and browser (`Planner.devices`).

Genuine life makes the same signals at realistic rates: new devices, trips (the world
module), big purchases, small digital purchases; each card has its own spending level,
which fraud amounts follow too.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from sqlgen import networks, sampling, world
from sqlgen.draws import Draws, _own_kind, combo_table, vocab_code
from sqlgen.errors import SqlgenError
from sqlgen.plan import ChunkSpec, largest_remainder, to_us
from sqlgen.scenarios import REGISTRY, VISIT, split_quota
from sqlgen.scenarios.base import DAY_US, HOUR_US, Attempts
from sqlgen.schema import static_vocabularies
from sqlgen.seeds import stream

if TYPE_CHECKING:
    from sqlgen.population import Population

CAP_US = 120 * DAY_US  # chargeback window: no report later than this
_ATTEMPTS_PER_RING = 40  # rings in a run: planned attempts / this (at least 20)
_PROXY_SHARE = 0.6  # of fraud rows seen near the victim's home (residential proxies)
_RING_DEVICES = (2, 8)  # devices per ring (inclusive)
_RING_IPS = 4  # addresses per ring (proxies, a few hosting ranges)
_RING_FAVOURITES = 12  # merchants a ring cashes out at
_FAVOURITE_SHARE = 0.4  # of a ring's attempts at its favourites (else anywhere online)
_NIGHT_RINGS = 0.3  # rings working at night, local time (centred near 02:00)
_RETRY_SHARE = 0.3  # episodes whose ring tries the card again after its block
_CARD_LEVEL_SIGMA = 0.5  # spread of cards' spending levels (log scale)
_NEW_DEVICE = 0.03  # genuine remote payments from a new device (phone, browser, guest)
_BIG_PURCHASE = 0.01  # genuine payments several times the card's usual
_MICRO_SHARE = 0.3  # genuine payments at digital-goods merchants that are small sums
_TRY_BLOCKED = 0.25  # of a holder's payments in the grace days still tried on the old card
_SALT_RING_DEVICE = 0x51A6
_SALT_IP = 0x1B7E


class Rings:
    """The fraudster population: everything a ring reuses, tabulated by ring id."""

    def __init__(self, pop: Population, n: int, seed: int):
        rng = stream(seed, "rings")
        w = pop.world
        self.n = n
        owner = rng.integers(0, len(w.customer_home), n)
        self.city = w.customer_home[owner]  # rings live where people live
        self.zone = world.cities().zone[self.city]
        self.offset_min = world.standard_offsets()[self.zone].astype(np.int64)
        night = rng.random(n) < _NIGHT_RINGS
        self.hour = np.where(night, rng.normal(2.0, 2.0, n), rng.uniform(0, 24, n)) % 24
        self.n_dev = rng.integers(_RING_DEVICES[0], _RING_DEVICES[1] + 1, n)
        self.favourites = w.remote.draw(n * _RING_FAVOURITES, rng).reshape(n, _RING_FAVOURITES)
        self.remote = w.remote
        self.home_merchants = pop.home_merchants
        self.customer_country, self.card_owner = pop.customer_country, pop.card_owner
        self.in_city = w.in_city
        self.seed = seed

    def shops(self, ring: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A shop in each ring's city (-1 where the city has none)."""
        return self.in_city.draw(self.city[ring], rng)

    def pick(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.n, k)

    def device(self, ring: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A device of each ring (global device index)."""
        return ring * _RING_DEVICES[1] + (rng.random(len(ring)) * self.n_dev[ring]).astype(
            np.int64)

    def merchants(self, ring: np.ndarray, card: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
        """Where a ring spends a card: its favourites, or like the holder would (a
        merchant of the holder's country, else anywhere online)."""
        fav = self.favourites[ring, rng.integers(0, _RING_FAVOURITES, len(ring))]
        country = self.customer_country[self.card_owner[card]]
        local = self.home_merchants.draw(country, rng)
        local = np.where(local >= 0, local, self.remote.draw(len(ring), rng))
        return np.where(rng.random(len(ring)) < _FAVOURITE_SHARE, fav, local)

    def start(self, ring: np.ndarray, t0: int, t1: int, rng: np.random.Generator) -> np.ndarray:
        """A time in the day [t0, t1) in each ring's working hours (its local time)."""
        day0 = t0 // DAY_US * DAY_US
        local_h = self.hour[ring] + rng.normal(0, 2.5, len(ring))
        t = day0 + (local_h * HOUR_US).astype(np.int64) - self.offset_min[ring] * 60_000_000
        return t0 + (t - t0) % max(t1 - t0, 1)

    def start_near(self, ring: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The ring's working hours on the day of each given time."""
        day0 = t // DAY_US * DAY_US
        return self.start(ring, 0, DAY_US, rng) + day0


class Planner:
    """Per-process v3 fraud state: rings, card spending levels, and the run's plan."""

    def __init__(self, pop: Population):
        cfg = pop.cfg
        self.pop, self.cfg, self.seed = pop, cfg, cfg.seed
        self.t0 = to_us(dt.datetime.combine(cfg.temporal.start_date, dt.time()))
        self.t1 = to_us(dt.datetime.combine(cfg.temporal.end_date, dt.time())) + DAY_US
        self.totals = planned_quotas(cfg)
        total = sum(self.totals.values())
        self.rings = Rings(pop, max(20, total // _ATTEMPTS_PER_RING), cfg.seed)
        n_cards = len(pop.card_owner)
        self.card_level = np.exp(stream(cfg.seed, "card_level").normal(
            0, _CARD_LEVEL_SIGMA, n_cards))
        risk = pop.merchant_risk * pop.merchant_popularity
        self._breach = sampling.CdfSampler(risk if risk.sum() > 0 else np.ones(len(risk)))
        self._plan: Attempts | None = None
        self.card_block = np.full(n_cards, np.iinfo(np.int64).max, dtype=np.int64)

    # -- what scenario planners use ------------------------------------------------
    def victims(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self.pop.world.cards.draw(k, rng)

    def breach_merchants(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self._breach.draw(k, rng)

    def amounts(self, card: np.ndarray, rng: np.random.Generator, shift: float) -> np.ndarray:
        """Amounts (before the merchant's price level) from each card's own level, shifted
        up by exp(shift) on average: fraud spends like the victim, somewhat more."""
        base = sampling.amounts(self.cfg.feature.amount, len(card), rng)
        return base * self.card_level[card] * np.exp(shift + rng.normal(0, 0.3, len(card)))

    # -- the plan --------------------------------------------------------------------
    def plan(self) -> Attempts:
        """Every planned row of the run, in time order, with report times; fills
        `card_block`. Computed once per process."""
        if self._plan is None:
            self._plan = self._build()
        return self._plan

    def _build(self) -> Attempts:
        days = int((self.t1 - self.t0) // DAY_US)
        planners = [s for s in REGISTRY if s.plan is not None and self.totals.get(s.name)]
        per_day = {s.name: largest_remainder(self.totals[s.name], np.ones(days))
                   for s in planners}
        parts = []
        for day in range(days):
            rng = stream(self.seed, "episodes", day)
            t0 = self.t0 + day * DAY_US
            for s in planners:
                k = int(per_day[s.name][day])
                if k == 0:
                    continue
                a = s.plan(self, k, t0, t0 + DAY_US, rng)
                # Globally unique episode ids: (day, scenario, local episode).
                a["episode"] = (np.int64(day) * 256 + s.code) << 32 | a["episode"]
                parts.append(self._report(a, s, rng))
        if not parts:
            return _empty()
        a = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        order = np.argsort(a["t"], kind="stable")
        a = {k: v[order] for k, v in a.items()}
        fraud = a["code"] > 0
        np.minimum.at(self.card_block, a["card"][fraud], a["block"][fraud])
        return a

    def _report(self, a: Attempts, scenario, rng: np.random.Generator) -> Attempts:
        """Times inside the run; each episode's report (first attempt + delay, capped)
        and block; some rings try again after the block."""
        late = a["t"] >= self.t1
        a["t"][late] = self.t1 - 1 - rng.integers(0, 6 * HOUR_US, int(late.sum()))
        early = a["t"] < self.t0
        a["t"][early] = self.t0 + rng.integers(0, HOUR_US, int(early.sum()))
        fraud = a["code"] > 0
        ep = np.unique(a["episode"][fraud], return_inverse=True)[1]
        first = np.full(ep.max(initial=-1) + 1, np.iinfo(np.int64).max)
        np.minimum.at(first, ep, a["t"][fraud])
        r = scenario.report
        days = np.minimum(rng.lognormal(np.log(r.median_days * r.cnp_factor), r.sigma,
                                        len(first)), CAP_US / DAY_US)
        report = first + (days * DAY_US).astype(np.int64)
        # Some rings come back after the block: the episode's last attempt moves there.
        rows = np.flatnonzero(fraud)
        last = np.zeros(len(first), dtype=np.int64)
        last[ep] = rows  # rows are grouped by episode in order: the last one wins
        several = np.bincount(ep, minlength=len(first)) >= 2
        retry = last[several & (rng.random(len(first)) < _RETRY_SHARE)]
        again = report[ep[np.searchsorted(rows, retry)]] + rng.integers(
            HOUR_US, 5 * DAY_US, len(retry))
        ok = again < self.t1
        a["t"][retry[ok]] = again[ok]
        block = np.full(len(a["t"]), np.iinfo(np.int64).max, dtype=np.int64)
        block[rows] = report[ep]
        a["block"] = block
        # Attempts after the block are known at once; the others when reported.
        a["reported"] = np.where(fraud, np.maximum(block, a["t"]), 0)
        a["reported"][fraud & (a["t"] >= block)] = a["t"][fraud & (a["t"] >= block)]
        return a

    # -- one chunk ---------------------------------------------------------------------
    def materialize(self, spec: ChunkSpec, d: Draws, rng: np.random.Generator) -> np.ndarray:
        """Write the plan's rows of this time slice over random rows of the skeleton;
        return their codes (VISIT for planted genuine visits). Also gives genuine rows
        their card's spending level, some big purchases and small digital ones."""
        n = spec.rows
        level = self.card_level[d["card_id"]]
        big = rng.random(n) < _BIG_PURCHASE
        level[big] *= rng.lognormal(1.2, 0.4, int(big.sum()))
        d["amount_raw"] *= level
        testing = np.zeros(len(self.pop.merchant_scale), dtype=bool)
        testing[self.pop.testing_merchants] = True
        micro = testing[d["merchant_id"]] & (rng.random(n) < _MICRO_SHARE)
        d["amount_raw"][micro] = rng.choice([0.99, 1.49, 1.99, 2.99, 4.99],
                                            int(micro.sum())) / self.pop.merchant_scale[
            d["merchant_id"][micro]]
        a = self.plan()
        lo, hi = np.searchsorted(a["t"], [spec.t0_us, spec.t1_us])
        k = int(hi - lo)
        if k > n // 2:
            raise SqlgenError(
                f"chunk {spec.index} holds {k} planned fraud rows in {n} payments; "
                "raise batch_size or lower fraud_rate")
        rows = rng.choice(n, k, replace=False)
        codes = np.zeros(n, dtype=np.int8)
        sl = slice(lo, lo + k)
        codes[rows] = a["code"][sl]
        d["card_id"][rows] = a["card"][sl]
        d["merchant_id"][rows] = a["merchant"][sl]
        d["event_us"][rows] = a["t"][sl]
        d["amount_raw"][rows] = a["amount_raw"][sl]
        d["fraud_device"] = np.full(n, -1, dtype=np.int64)
        d["fraud_device"][rows] = a["device"][sl]
        d["ring"] = np.full(n, -1, dtype=np.int64)
        d["ring"][rows] = a["ring"][sl]
        d["reported_us"] = np.zeros(n, dtype=np.int64)
        d["reported_us"][rows] = a["reported"][sl]
        d["present"] = np.zeros(n, dtype=bool)
        d["present"][rows] = a["present"][sl]
        return codes

    def settle(self, spec: ChunkSpec, d: Draws, codes: np.ndarray,
               rng: np.random.Generator) -> None:
        """Blocks: a holder's payments after the card's block move to their new card
        (here: another card), but for `auth.blocked_grace_days` some are still tried on
        the old one (declined `card_blocked`, see `place`)."""
        from sqlgen.draws_v3 import place_rows  # v3 only

        grace = int(self.cfg.auth.blocked_grace_days * DAY_US)
        t = d["event_us"]
        block = self.card_block[d["card_id"]]
        after = np.flatnonzero(t >= block)  # few rows: those of blocked cards
        after = after[codes[after] == 0]
        # In the grace days the holder still tries the old card now and then.
        tries = (t[after] < block[after] + grace) & (rng.random(len(codes))[after] < _TRY_BLOCKED)
        move = after[~tries]
        for _ in range(4):
            if len(move) == 0:
                break
            d["card_id"][move] = self.pop.world.cards.draw(len(move), rng)
            place_rows(self.pop, d, move, rng)
            # Only moved rows changed card: only they can be after a block again.
            move = move[d["event_us"][move] >= self.card_block[d["card_id"][move]]]

    def place(self, d: Draws, codes: np.ndarray, rng: np.random.Generator) -> None:
        """After the daily cap (which may move rows): which rows hit a blocked card;
        fraud rows online, seen at the ring's city or, through a residential proxy, near
        the victim's home; planted visits are the holder's own online payments."""
        d["blocked"] = d["event_us"] >= self.card_block[d["card_id"]]
        w = self.pop.world
        fraud = np.flatnonzero(codes > 0)
        city = self.rings.city[d["ring"][fraud]]
        d["latitude"][fraud], d["longitude"][fraud] = world.near(city, rng)
        d["zone"][fraud] = world.cities().zone[city]
        proxy = fraud[rng.random(len(fraud)) < _PROXY_SHARE]
        owner = self.pop.card_owner[d["card_id"][proxy]]
        home = w.customer_home[owner]
        d["latitude"][proxy], d["longitude"][proxy] = world.near(home, rng)
        d["zone"][proxy] = w.customer_zone[owner]
        d["remote"][fraud] = True
        # Counterfeit cards are used in person, at the shop.
        shop = np.flatnonzero(d["present"])
        m = d["merchant_id"][shop]
        d["latitude"][shop], d["longitude"][shop] = w.merchant_lat[m], w.merchant_lon[m]
        d["zone"][shop] = w.merchant_zone[m]
        d["remote"][shop] = False
        visits = np.flatnonzero(codes == VISIT)
        owner = self.pop.card_owner[d["card_id"][visits]]
        d["latitude"][visits], d["longitude"][visits] = w.customer_lat[owner], w.customer_lon[
            owner]
        d["zone"][visits] = w.customer_zone[owner]
        d["remote"][visits] = True
        codes[visits] = 0

    def devices(self, d: Draws, rng: np.random.Generator) -> None:
        """Fraud rows (time order): the ring's device, browser and address, online;
        genuine remote payments sometimes come from a new device."""
        f = np.flatnonzero(d["fraud_device"] >= 0)
        dev = d["fraud_device"][f]
        # Rings replace their devices every week: a device is (ring slot, week).
        week = d["event_us"][f] // (7 * DAY_US)
        key = (dev.astype(np.uint64) << np.uint64(16)) | (week.astype(np.uint64)
                                                          & np.uint64(0xFFFF))
        h = sampling.mix64(key ^ np.uint64(self.seed ^ _SALT_RING_DEVICE))
        u1 = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        u2 = (sampling.mix64(h) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        kind = _own_kind(u1).astype(np.int64)
        d["device_uuid"][f] = sampling.keyed_uuid4(key, self.seed ^ _SALT_RING_DEVICE)
        vocab = static_vocabularies()
        n_dev, n_ent = len(vocab["device_type"]), len(vocab["pos_entry_mode"])
        ecom = vocab_code("channel", "ecom")
        entry = np.where(rng.random(len(f)) < 0.8, vocab_code("pos_entry_mode", "ecommerce"),
                         vocab_code("pos_entry_mode", "credential_on_file"))
        d["combo"][f] = (ecom * n_dev + kind) * n_ent + entry
        d["ua_idx"][f] = networks.device_user_agents(
            kind, vocab["device_type"], u2, self.cfg.temporal.end_date.year)
        # Proxies too: an address per (ring, slot, week).
        ip_key = (d["ring"][f].astype(np.uint64) * np.uint64(_RING_IPS)
                  + (dev % _RING_IPS).astype(np.uint64)) << np.uint64(16) | (
            week.astype(np.uint64) & np.uint64(0xFFFF))
        d["ip"][f] = networks.public_ip(sampling.mix64(ip_key ^ np.uint64(self.seed ^ _SALT_IP)))
        d["device_null"][f] = False
        d["device_fresh"][f] = False
        d["is_recurring"][f] = False
        remote = combo_table()["channel"][d["combo"]] != vocab_code("channel", "pos")
        fresh = remote & (d["fraud_device"] < 0) & (rng.random(len(remote)) < _NEW_DEVICE)
        d["device_fresh"] |= fresh
        d["device_null"] &= ~fresh


def planned_quotas(cfg) -> dict[str, int]:
    """Attempts per v3-planned scenario over the whole run (exact)."""
    share = split_quota(cfg, cfg.fraud_target)
    return {s.name: share.get(s.name, 0) for s in REGISTRY if s.plan is not None}


def _empty() -> Attempts:
    z = np.zeros(0, dtype=np.int64)
    return {"t": z, "card": z, "merchant": z, "code": z.astype(np.int8), "ring": z,
            "device": z, "amount_raw": z.astype(np.float64), "episode": z, "block": z,
            "reported": z, "present": z.astype(bool)}


def behaviour(pop: Population, d: Draws) -> dict[str, np.ndarray]:
    """v3 logistic signals a history would show, per row of a chunk (time order):
    card not present, merchant abroad for the holder, log(1 + the card's payments in the
    hour before, within the chunk), log(1 + km from the holder's home) / log(20,000)."""
    card, t = d["card_id"], d["event_us"]
    owner = pop.card_owner[card]
    # Earlier payments of the same card within the hour; minutes instead of microseconds
    # where packed (card, time) keys would overflow 62 bits.
    t_min = int(t.min(initial=0))
    t_rel, hour = (t - t_min if t_min else t), HOUR_US
    if (int(card.max(initial=0)) + 1) * (int(t_rel.max(initial=0)) + hour + 1) >= 1 << 62:
        t_rel, hour = t_rel // 60_000_000, 60
    count = sampling.recent_counts(card, t_rel, hour)
    some = np.flatnonzero(count)  # log1p(0) = 0 elsewhere
    velocity = np.zeros(len(t))
    velocity[some] = np.log1p(count[some].astype(np.float64))
    # Distance from home: 0 km where the row is at the home point (most remote rows).
    w = pop.world
    lat, lon = d["latitude"], d["longitude"]
    moved = lat != w.customer_lat[owner]
    same = np.flatnonzero(~moved)
    moved[same] = lon[same] != w.customer_lon[owner[same]]
    moved = np.flatnonzero(moved)
    far = np.zeros(len(t))
    p1, home = np.radians(lat[moved]), owner[moved]
    dlon = w.customer_lon[home] - lon[moved]
    km = world.km_from_radians(p1, np.cos(p1), w.customer_rad[home], w.customer_cos[home], dlon)
    far[moved] = np.log1p(km) / np.log(20_000.0)
    return {
        "cnp": d["remote"].astype(np.float64),
        "abroad": (pop.merchant_country[d["merchant_id"]] != pop.customer_country[owner]).astype(
            np.float64),
        "velocity": velocity,
        "far": far,
    }
