"""Realism v3 fraud episodes, planned per day from the seed and materialized by the chunks.

Fraud is done by **rings** (`Rings`): a small population of fraudsters, each with its
own city, devices, addresses, favourite merchants and working hours, reused across
victims. The **plan** holds every planned attempt of the run: per scenario with a v3
planner (card testing, account takeover, a merchant's breach window and cash-out, burst
waves), episodes of several attempts on victim cards, each episode reported after a
delay (scenario and channel profile, capped at the 120-day chargeback window) and its
card **blocked** at the report.

The plan depends on the config and seed only, never on chunking: it is made of day
blocks, each drawn from its own stream (`seeds.stream(seed, "episodes", day)`) with an
exact number of attempts per scenario (largest remainder over days), so any block can
be computed on its own, and a process computes only the blocks its chunks need
(`Planner.plan`; at 10 billion rows the whole plan would be about 100 million
attempts). An attempt ends near its day: at most a burst's window before it and
`_LATE_US` (200 days) after it, checked as each block is made; so a chunk's attempts
come from a bounded range of days, and a block (never before its episode's first
attempt) can matter to a chunk only if its day starts before the chunk's end plus that
window. Blocks accumulate as a running minimum over the days in order; the attempts of
days already computed that end later are kept for the next chunks (so a process costs
about the prefix of days up to its last chunk); a chunk taken out of order recomputes
the days that reach it. Fraud attempts planned past the window's end wrap around to its
start (`_WRAP_US`), so both ends see the middle's rate; every process computes the days
that can wrap first. Each chunk takes the attempts of its time slice
(`Planner.materialize`), applies blocks (`Planner.settle`: declined `card_blocked`, the
holder's later payments move to a replacement card) and gives the fraud rows the ring's
device, address and browser (`Planner.devices`).

Label noise is planned too (`dispute_quotas`, `Planner._chosen`): each day's disputes
(false reports: a holder's own approved online payment, reported as fraud later) go on
cards still open at their time, and their report blocks the card like any report; the
chunk leaves as many of its frauds unreported (`labeler.add_noise_v3`).

Genuine life makes the same signals at realistic rates: new devices, trips (the world
module), big purchases, small digital purchases; each card has its own spending level,
which fraud amounts follow too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from sqlgen import sampling
from sqlgen.combos import Draws, combo_code, combo_table, own_kind, vocab_code
from sqlgen.errors import SqlgenError
from sqlgen.generate import draws_v3
from sqlgen.generate.spec import ChunkSpec, to_us
from sqlgen.sampling import largest_remainder
from sqlgen.scenarios import DISPUTE, REGISTRY, VISIT, by_code, card_testing, planned_quotas
from sqlgen.scenarios import code as scenario_code
from sqlgen.scenarios.base import DAY_US, HOUR_US, Attempts, attempts
from sqlgen.schema import static_vocabularies
from sqlgen.seeds import stream
from sqlgen.world import networks, world

if TYPE_CHECKING:
    from sqlgen.generate.population import Population

CAP_US = 120 * DAY_US  # chargeback window: no report later than this
# An attempt ends before this long after the start of the day that planned it (enforced
# in `Planner._day`): episodes start on their day, a breached card's first attempt at
# most 1 + 14 + 30 days later (window start and length, cash-out delay) in the ring's
# hours of that day (+1), and a retry comes at most CAP + 5 days after its episode's
# first attempt: 171 days; the rest is margin for long gaps within a spree (lognormal:
# 29 days is over 7 sigma of a takeover's 45-minute gaps).
_LATE_US = 200 * DAY_US
# Fraud attempts planned past the window's end wrap around to its start (time modulo the
# window), so every day gets the same expected fraud whatever the scenario's lags (no
# pile-up in the last hours, no ramp-up at the start). Only these can pass the end (a
# retry after the block is kept only when it falls inside the window): a breached card's
# cash-out (at most 1 + 14 + 30 days after its day, +1 for the ring's hours) and spree
# gaps; the days that close to the end are computed first by every process (`_wrap_in`).
_WRAP_US = 60 * DAY_US
_KEEP_US = DAY_US  # attempts kept before the latest slice (slices a little out of order)
# A slice before the floor: the attempts of this long before it are kept too (at least
# 4 slices of its length).
_BACK_US = 4 * DAY_US
_CACHED_DAYS = 4  # day blocks kept for reuse
_ATTEMPTS_PER_RING = 100  # rings in a run: planned attempts / this (at least 20)
_PROXY_SHARE = 0.8  # of fraud rows seen near the victim's home (residential proxies)
_RING_DEVICES = (2, 8)  # devices per ring (inclusive)
_RING_IPS = 4  # addresses per ring (proxies, a few hosting ranges)
# Rings replace each device and each address on its own clock (`networks.lease_epochs`):
# a device lasts 7 to 120 days, an address 3 to 60 days.
_RING_DEVICE_DAYS = (7.0, 120.0)
_RING_IP_DAYS = (3.0, 60.0)
# Of the attempts of these scenarios, this share uses the victim's own device and
# network (malware, remote access, someone of the household).
_OWN_DEVICE = {"account_takeover": 0.45, "compromised_merchant": 0.25, "logistic": 0.3,
               "burst": 0.1}
# Of a scenario's attempts from the ring's devices, this share come through an
# anti-detect browser that shows a new fingerprint for each payment: a device never
# seen before, as a genuine guest checkout or new browser is.
# Card-testing bots rotate fingerprints as well.
_FRESH_FINGERPRINT = {"burst": 0.6, "card_testing": 0.6}
_RING_FAVOURITES = 12  # merchants a ring cashes out at
_FAVOURITE_SHARE = 0.15  # of a ring's attempts at its favourites (else anywhere online)
# Cloned cards are mostly used near where they were skimmed (a local crew, or a mule of
# the ring in the victim's town): this share of card-present fraud is at a shop of the
# victim's own shopping town, the rest in the ring's city.
LOCAL_CASHOUT = 0.6
# Of a ring's card-not-present attempts, this share are mail or telephone orders (the
# genuine remote share of moto in `schema/reference.yaml`, 5 of 38): channel moto,
# entry manual, like the holder's own phone orders.
_MOTO_SHARE = 5 / 38
_NIGHT_RINGS = 0.2  # rings working at night, local time (centred near 02:00)
_RETRY_SHARE = 0.3  # episodes whose ring tries the card again after its block
_CARD_LEVEL_SIGMA = 0.5  # spread of cards' spending levels (log scale)
_NEW_DEVICE = 0.15  # genuine remote payments from a new device (phone, browser, guest)
_BIG_PURCHASE = 0.01  # genuine payments several times the card's usual
_MICRO_SHARE = 0.5  # genuine payments at digital-goods merchants that are small sums
_AFTER_BLOCK_REPORT_US = (60_000_000, HOUR_US)  # an attempt after the block: reported this soon
_TRY_BLOCKED = 0.5  # of a holder's payments in the grace days still tried on the old card
_SALT_RING_DEVICE = 0x51A6
_SALT_IP = 0x1B7E
FALSE_REPORT = scenario_code("false_report")
_CANDIDATES = 4  # cards tried per planned dispute: the first open one at its time


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
        # Night rings work around 02:00 local; the others keep ordinary hours, drawn
        # from the genuine daily rhythm, so the hour alone tells little.
        hourly = np.asarray(pop.cfg.temporal.hourly_weights, dtype=np.float64)
        day = sampling.CdfSampler(hourly).draw(n, rng) + rng.random(n)
        self.hour = np.where(night, rng.normal(2.0, 2.0, n), day) % 24
        self.n_dev = rng.integers(_RING_DEVICES[0], _RING_DEVICES[1] + 1, n)
        # Favourites: online merchants by popularity x what their category is worth to
        # fraud (electronics, digital goods, travel; `mcc_profiles`).
        fav = sampling.CdfSampler(w.remote_popularity * w.fraud_weight)
        self.favourites = fav.draw(n * _RING_FAVOURITES, rng).reshape(n, _RING_FAVOURITES)
        self.remote = w.remote
        self.home_merchants = pop.home_merchants
        self.customer_country, self.card_owner = pop.customer_country, pop.card_owner
        self.in_city = w.in_city
        self.victim_town = w.customer_shop_city
        self.seed = seed

    def shops(self, ring: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A shop in each ring's city (-1 where the city has none)."""
        return self.in_city.draw(self.city[ring], rng)

    def cashout_shops(self, ring: np.ndarray, card: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
        """Where a cloned card is used in person: a shop of the victim's own shopping
        town (`LOCAL_CASHOUT` of the time: no distance from home to give it away), else
        a shop of the ring's city (-1 where that city has none)."""
        ring_shop = self.shops(ring, rng)
        local = self.in_city.draw(self.victim_town[self.card_owner[card]], rng)
        near = (rng.random(len(ring)) < LOCAL_CASHOUT) & (local >= 0)
        return np.where(near, local, ring_shop)

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


def too_many_frauds(spec: ChunkSpec, k: int, batch_size: int) -> str:
    """Why a chunk cannot hold its planned frauds, and what would help: a chunk smaller
    than batch_size is cut by its month (rows are split by month first), so a bigger
    batch_size changes nothing there."""
    where = f"chunk {spec.index} ({spec.year}-{spec.month:02d}) holds {k} planned fraud rows"
    if spec.rows >= batch_size:
        return f"{where} in {spec.rows} payments; raise batch_size or lower fraud_rate"
    return (
        f"{where} in only {spec.rows} payments (its month's share of the rows), more than "
        "half; raise rows or lower fraud_rate"
    )


class Planner:
    """Per-process v3 fraud state: rings, card spending levels, and the day blocks of the
    plan its chunks need."""

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
        risk = pop.merchant_risk * pop.merchant_popularity * pop.world.fraud_weight
        self._breach = sampling.CdfSampler(risk if risk.sum() > 0 else np.ones(len(risk)))
        self._risky: sampling.CdfSampler | None = None
        self._by_country: sampling.GroupSampler | None = None
        self._n_days = int((self.t1 - self.t0) // DAY_US)
        self._planners = [s for s in REGISTRY if s.plan is not None and self.totals.get(s.name)]
        self._per_day = {s.name: largest_remainder(self.totals[s.name],
                                                   campaigns(cfg.seed, s.code, self._n_days))
                         for s in self._planners}
        self._disputes = dispute_quotas(cfg, self._per_day, self._n_days)
        # How far before its day an attempt can come: a burst's wave reaches back by its
        # window (`burst.plan`); everything else starts on its day.
        self.early = int(cfg.label.burst_window_minutes * 60e6) + HOUR_US
        # Per card, its earliest block over the days computed so far: exact for any
        # comparison with a time before the end of a slice `plan` has served (which
        # `materialize` asks for before `settle` and `place` compare).
        self.card_block = np.full(n_cards, np.iinfo(np.int64).max, dtype=np.int64)
        self._upto = 0  # days [0, _upto) are in card_block
        self._settled = 0  # the disputes of days [0, _settled) too
        self._floor = self.t0
        self._pending = _empty()
        self._behind = (0, 0, _empty())  # (t0, t1, attempts ending in [t0, t1))
        self._cache: dict[int, Attempts] = {}
        self._wrapped: Attempts | None = None  # the wrapped attempts (`_wrap_in`)
        # Each day's first and last attempt time once computed (else the bounds).
        day0 = self.t0 + DAY_US * np.arange(self._n_days, dtype=np.int64)
        self._ends = np.stack([day0 - self.early, day0 + _LATE_US - 1], axis=1)
        self.computed: Counter[int] = Counter()  # day -> times its block was computed
        self._lock = threading.Lock()  # a Dask worker may run chunks in threads

    # -- what scenario planners use ------------------------------------------------
    def victims(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self.pop.world.cards.draw(k, rng)

    def victims_in(self, country: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Cards (by payments) of holders living in each given country (any card where
        a country has none)."""
        if self._by_country is None:
            w = self.pop.world
            owner_country = self.pop.customer_country[self.pop.card_owner[:w.n_cards]]
            self._by_country = sampling.GroupSampler(owner_country, w.card_weights)
        card = self._by_country.draw(country, rng)
        return np.where(card >= 0, card, self.victims(len(country), rng))

    def risky_victims(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """Cards by payments x hidden card risk (the logistic draw's card risk)."""
        if self._risky is None:
            active = self.pop.world.n_cards
            w = self.pop.card_popularity[:active] * self.pop.card_risk[:active]
            self._risky = sampling.CdfSampler(w if w.sum() > 0 else np.ones(active))
        return self._risky.draw(k, rng)

    def breach_merchants(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self._breach.draw(k, rng)

    def amounts(self, card: np.ndarray, rng: np.random.Generator, shift: float) -> np.ndarray:
        """Amounts (before the merchant's price level) from each card's own level, shifted
        up by exp(shift) on average: fraud spends like the victim, somewhat more."""
        base = sampling.amounts(self.cfg.feature.amount, len(card), rng)
        return base * self.card_level[card] * np.exp(shift + rng.normal(0, 0.3, len(card)))

    # -- the plan --------------------------------------------------------------------
    # The plan is made of day blocks (`_day`), each computable on its own. A chunk needs
    # the attempts whose final time falls in its window and the blocks that can come
    # before its end; both come from a bounded range of days (`_days_for`), because an
    # attempt of day d ends in [day start - `self.early`, day start + `_LATE_US`) and a
    # block comes after its episode's first attempt (`_day` enforces both). `card_block`
    # is the running minimum over the days computed so far (`_upto`, a prefix that only
    # grows): extra later days never change a comparison with an earlier time.
    # `_pending` holds, in time order, the computed days' attempts that end at or after
    # `_floor` (which only rises), so chunks taken in time order are served from it; a
    # chunk before the floor (out of order) is served from `_behind`, recomputed from the
    # days reaching it (the exact first and last time of each day computed: `_ends`).
    def plan(self, t0_us: int, t1_us: int) -> Attempts:
        """Planned rows in time order, holding every one of the time slice [t0, t1)
        (and maybe others: take the slice with a search on `t`); brings `card_block` up
        to date for times before t1. Works for slices asked in any order."""
        with self._lock:
            self._wrap_in()
            lo, hi = self._days_for(t0_us, t1_us)
            if t0_us < self._floor:  # out of order: from the store behind the floor
                b0, b1, behind = self._behind
                if b0 <= t0_us and t1_us <= b1:
                    return behind
                # Recompute the days reaching the slice, and a few days before it (slices
                # taken backwards then recompute only now and then).
                self._extend(hi, t1_us)
                b0 = max(self.t0, t0_us - max(_BACK_US, 4 * (t1_us - t0_us)))
                lo = self._days_for(b0, t1_us)[0]
                days = lo + np.flatnonzero((self._ends[lo:hi + 1, 0] < t1_us)
                                           & (self._ends[lo:hi + 1, 1] >= b0))
                first = max(0, (b0 - self.t0) // DAY_US)
                behind = _by_time([_between(self._wrapped, b0, t1_us)]
                                  + [_between(_unwrapped(self._day(d)), b0, t1_us)
                                     for d in days.tolist()]
                                  + [_between(self._chosen(e), b0, t1_us)
                                     for e in range(first, self._dispute_days(t1_us) + 1)])
                self._behind = (b0, t1_us, behind)
                return behind
            self._floor = max(self._floor, t0_us - _KEEP_US)
            self._extend(hi, t1_us)
            return self._pending

    def whole_plan(self) -> Attempts:
        """Every planned row of the run in time order (what the slices add up to); also
        completes `card_block`. Holds the whole plan at once: for tests."""
        with self._lock:
            parts = [self._day(d) for d in range(self._n_days)]
            for a in parts:
                self._block(a)
            self._settled = 0
            return _by_time(parts + self._settle_disputes(self._n_days - 1))

    def _days_for(self, t0_us: int, t1_us: int) -> tuple[int, int]:
        """The days whose attempts can end in [t0, t1), the last one also the last
        whose blocks can come before t1."""
        lo = (t0_us - _LATE_US - self.t0) // DAY_US + 1
        hi = -((self.t0 - t1_us - self.early) // DAY_US) - 1  # ceil(...) - 1
        return max(0, lo), min(self._n_days - 1, hi)

    def _extend(self, last: int, t1_us: int) -> None:
        """Compute days up to `last`: their blocks into `card_block`, their attempts
        ending at or after the floor into `_pending`; then the disputes that can come
        before t1 (`_chosen`, after the days that can block a card before their day's
        end)."""
        disputes = self._dispute_days(t1_us)
        if disputes >= self._settled:
            last = max(last, self._need(disputes))
        elif last < self._upto:
            return
        keep = _between(self._pending, self._floor, self.t1)
        parts = [keep]
        for d in range(self._upto, last + 1):
            a = self._day(d)
            self._block(a)
            parts.append(_between(_unwrapped(a), self._floor, self.t1))
        self._upto = max(self._upto, last + 1)
        parts += [_between(a, self._floor, self.t1) for a in self._settle_disputes(disputes)]
        self._pending = _by_time(parts)

    def wrap_days(self) -> list[int]:
        """The days whose attempts can wrap around the window: the first (a burst
        reaching back before the start) and those within `_WRAP_US` of the end."""
        first = -(-self.early // DAY_US)
        last = max(0, self._n_days - 1 - _WRAP_US // DAY_US)
        return sorted({*range(min(first, self._n_days)), *range(last, self._n_days)})

    def _wrap_in(self) -> None:
        """Once per process, before any slice: the wrapped attempts of the wrap days
        (kept: they land near the window's start or end) and their blocks, which can
        come anywhere in the window."""
        if self._wrapped is not None:
            return
        parts = []
        for d in self.wrap_days():
            a = self._day(d)
            w = {k: v[a["wrapped"]] for k, v in a.items()}
            self._block(w)
            parts.append(w)
        self._wrapped = _by_time(parts)
        self._pending = _by_time([self._pending, self._wrapped])

    def _block(self, a: Attempts) -> None:
        """Every report blocks its card: a fraud's, and a dispute's (true or not)."""
        fraud = (a["code"] > 0) | (a["code"] == DISPUTE)
        np.minimum.at(self.card_block, a["card"][fraud], a["block"][fraud])

    def _settle_disputes(self, last: int) -> list[Attempts]:
        """Choose the disputes of the days up to `last` (`_chosen`), in day order, and
        block their cards; returns them."""
        parts = []
        for e in range(self._settled, last + 1):
            a = self._chosen(e)
            self._block(a)
            parts.append(a)
        self._settled = max(self._settled, last + 1)
        return parts

    def _chosen(self, day: int) -> Attempts:
        """The day's disputes: each takes the first of its `_CANDIDATES` candidates
        (`_dispute`) whose card is still open at the candidate's time (none open: no
        dispute). Exact and the same whenever it is computed once the days that can
        block a card before the day's end are in `card_block` (`_need`) and the
        disputes of the days before it too: a dispute's own report comes a day or more
        after it, past its day's end, so no dispute of the day or later changes it."""
        k = int(self._disputes[day])
        if k == 0:
            return _empty()
        a = self._dispute(day, k * _CANDIDATES)
        open_ = (a["t"] < self.card_block[a["card"]]).reshape(k, _CANDIDATES)
        pick = np.flatnonzero(open_.any(axis=1))
        rows = pick * _CANDIDATES + open_[pick].argmax(axis=1)
        return {key: v[rows] for key, v in a.items()}

    def _need(self, day: int) -> int:
        """The last day whose blocks can come before the end of `day`."""
        start = self.t0 + day * DAY_US
        return self._days_for(start, start + DAY_US)[1]

    def _dispute_days(self, t1_us: int) -> int:
        """The last day whose disputes can come before t1 (a dispute is on its day)."""
        return min(self._n_days - 1, (t1_us - 1 - self.t0) // DAY_US)

    def _day(self, day: int) -> Attempts:
        """One day block of the plan: the episodes planned on that day (drawn from its
        own stream), with report times, in plan order (not time order). A few recent
        blocks are cached."""
        if day in self._cache:
            return self._cache[day]
        self.computed[day] += 1
        rng = stream(self.seed, "episodes", day)
        t0 = self.t0 + day * DAY_US
        parts = []
        for s in self._planners:
            k = int(self._per_day[s.name][day])
            if k == 0:
                continue
            a = s.plan(self, k, t0, t0 + DAY_US, rng)
            # Globally unique episode ids: (day, scenario, local episode).
            a["episode"] = (np.int64(day) * 256 + s.code) << 32 | a["episode"]
            parts.append(self._report(a, s, rng, day))
        a = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else _empty()
        own = a["t"][~a["wrapped"]]
        if len(own):
            self._ends[day] = own.min(), own.max()
        else:
            self._ends[day] = 1, 0  # nothing ends in any slice
        self._cache[day] = a
        if len(self._cache) > _CACHED_DAYS:
            del self._cache[next(iter(self._cache))]
        return a

    def _report(self, a: Attempts, scenario, rng: np.random.Generator, day: int) -> Attempts:
        """Times inside the run (fraud wraps around the window, planted visits outside
        it are dropped); each episode's report (first attempt + delay, capped) and
        block; some rings try again after the block."""
        t0 = self.t0 + day * DAY_US
        t = a["t"]
        if len(t) and (t.min() < t0 - self.early or t.max() >= t0 + _LATE_US
                       or t.max(initial=0) >= max(self.t1, t0 + _WRAP_US)):
            raise SqlgenError(
                f"internal error: day {day} of the fraud plan has attempts outside "
                f"[day - {self.early} us, day + {_LATE_US} us) or past the window's end "
                f"more than {_WRAP_US} us after the day: the plan would not partition")
        outside = (t < self.t0) | (t >= self.t1)
        if (outside & (a["code"] == VISIT)).any():
            a = {k: v[~(outside & (a["code"] == VISIT))] for k, v in a.items()}
            outside = (a["t"] < self.t0) | (a["t"] >= self.t1)
        # The wrapped part of an episode is an episode of its own (its own report).
        a["t"][outside] = self.t0 + (a["t"][outside] - self.t0) % (self.t1 - self.t0)
        a["episode"][outside] |= np.int64(1) << 31
        a["wrapped"] = outside
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
        ok = (again < self.t1) & (again < t0 + _LATE_US)
        a["t"][retry[ok]] = again[ok]
        block = np.full(len(a["t"]), np.iinfo(np.int64).max, dtype=np.int64)
        block[rows] = report[ep]
        a["block"] = block
        # Attempts before the block are reported with it; those after it are seen by
        # the issuer and reported soon after (a minute to an hour): never at the
        # payment's own instant, so a point-in-time feature never counts its own report.
        a["reported"] = np.where(fraud, block, 0)
        after = np.flatnonzero(fraud & (a["t"] >= block))
        a["reported"][after] = a["t"][after] + rng.integers(
            _AFTER_BLOCK_REPORT_US[0], _AFTER_BLOCK_REPORT_US[1], len(after))
        return a

    def _dispute(self, day: int, k: int) -> Attempts:
        """The day's planned disputes (friendly fraud, from their own stream): a holder
        pays online at a merchant they would use (domestic or anywhere online, as
        `draws_v3.place`), in their local daily rhythm and at their card's level, and
        later reports it as fraud (`false_report`'s delay profile, capped at the
        chargeback window, at least a day later); the issuer blocks the card at the
        report, as at any report. A dispute on a card already blocked at its time is
        not chosen (`_chosen`)."""
        rng = stream(self.seed, "disputes", day)
        t0 = self.t0 + day * DAY_US
        w = self.pop.world
        card = self.victims(k, rng)
        date = self.cfg.temporal.start_date + dt.timedelta(days=day)
        for _ in range(3):  # a card in a drawer that month pays nothing (`skeleton_v3`)
            asleep = np.flatnonzero(draws_v3.dormant(card, date.year * 12 + date.month, w.seed))
            if len(asleep) == 0:
                break
            card[asleep] = self.victims(len(asleep), rng)
        owner = self.pop.card_owner[card]
        hourly = np.asarray(self.cfg.temporal.hourly_weights, dtype=np.float64)
        local_h = sampling.CdfSampler(hourly).draw(k, rng) + rng.random(k)
        offset_us = world.standard_offsets()[w.customer_zone[owner]].astype(np.int64) * 60_000_000
        t = t0 + ((local_h * HOUR_US).astype(np.int64) - offset_us) % DAY_US
        domestic = rng.random(k) < self.cfg.behaviour.home_share
        local = w.domestic.draw(self.pop.customer_country[owner], rng)
        merchant = np.where(domestic & (local >= 0), local, w.remote.draw(k, rng))
        none = np.full(k, -1, dtype=np.int64)
        a = attempts(t, card, merchant, DISPUTE, none, none, self.amounts(card, rng, 0.0),
                     (np.int64(day) * 256 + FALSE_REPORT) << 32 | np.arange(k, dtype=np.int64))
        r = by_code(FALSE_REPORT).report
        days = np.minimum(rng.lognormal(np.log(r.median_days * r.cnp_factor), r.sigma, k),
                          CAP_US / DAY_US)
        # A day or more later: past the end of its day (`_chosen` relies on it).
        a["block"] = t + np.maximum((days * DAY_US).astype(np.int64), DAY_US)
        a["reported"] = a["block"].copy()
        a["wrapped"] = np.zeros(k, dtype=bool)
        return a

    # -- one chunk ---------------------------------------------------------------------
    def materialize(self, spec: ChunkSpec, d: Draws, rng: np.random.Generator) -> np.ndarray:
        """Write the plan's rows of this time slice over random rows of the skeleton;
        return their codes (VISIT for planted genuine visits, DISPUTE for planted
        disputes, on cards still open at their time: `_chosen`). Also gives genuine rows
        their card's spending level, some big purchases and small digital ones."""
        n = spec.rows
        level = self.card_level[d["card_id"]]
        big = rng.random(n) < _BIG_PURCHASE
        level[big] *= rng.lognormal(1.2, 0.4, int(big.sum()))
        d["amount_raw"] *= level
        micro = self.pop.is_testing_merchant[d["merchant_id"]] & (rng.random(n) < _MICRO_SHARE)
        d["amount_raw"][micro] = rng.choice(card_testing.MICRO_PRICES,
                                            int(micro.sum())) / self.pop.merchant_scale[
            d["merchant_id"][micro]]
        a = self.plan(spec.t0_us, spec.t1_us)
        lo, hi = np.searchsorted(a["t"], [spec.t0_us, spec.t1_us])
        k = int(hi - lo)
        if k > n // 2:
            raise SqlgenError(too_many_frauds(spec, k, self.cfg.batch_size))
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
        d["plan_code"] = codes.copy()
        d["present"] = np.zeros(n, dtype=bool)
        d["present"][rows] = a["present"][sl]
        return codes

    def settle(self, spec: ChunkSpec, d: Draws, codes: np.ndarray,
               rng: np.random.Generator) -> None:
        """Blocks: a holder's payments after the card's block move to their replacement
        card (`catalogs`: card num_cards + customer, never blocked: no one else pays
        with it), but for `auth.blocked_grace_days` some are still tried on the old one
        (declined `card_blocked`, see `place`)."""
        from sqlgen.generate.draws_v3 import place_rows  # v3 only

        grace = int(self.cfg.auth.blocked_grace_days * DAY_US)
        t = d["event_us"]
        block = self.card_block[d["card_id"]]
        after = np.flatnonzero(t >= block)  # few rows: those of blocked cards
        # The holder's payments: genuine rows and planted visits (a breached merchant's
        # customer: on a card blocked by then, the visit is made with the new card).
        after = after[(codes[after] == 0) | (codes[after] == VISIT)]
        # In the grace days the holder still tries the old card now and then.
        tries = (t[after] < block[after] + grace) & (rng.random(len(codes))[after] < _TRY_BLOCKED)
        move = after[~tries]
        if len(move):
            spare = self.cfg.catalog.num_cards + self.pop.card_owner[d["card_id"][move]]
            d["card_id"][move] = spare
            place_rows(self.pop, d, move[codes[move] == 0], rng)  # a visit stays put

    def place(self, d: Draws, codes: np.ndarray, rng: np.random.Generator) -> None:
        """After the daily cap (which may move rows): which rows hit a blocked card;
        fraud rows online, seen at the ring's city or, through a residential proxy, near
        the victim's home; planted visits and disputes are the holder's own online
        payments (`dispute` marks the disputes)."""
        d["blocked"] = d["event_us"] >= self.card_block[d["card_id"]]
        w = self.pop.world
        fraud = np.flatnonzero(codes > 0)
        # Where the ring's address geolocates (`draws_v3.locate_remote` places the row
        # there): its own city, or through a residential proxy the victim's home town.
        d["fraud_city"] = np.full(len(codes), -1, dtype=np.int64)
        city = self.rings.city[d["ring"][fraud]]
        proxy = rng.random(len(fraud)) < _PROXY_SHARE
        home = w.customer_home[self.pop.card_owner[d["card_id"][fraud]]]
        d["fraud_city"][fraud] = np.where(proxy, home, city)
        d["proxy"] = np.zeros(len(codes), dtype=bool)
        d["proxy"][fraud] = proxy
        # On the victim's own device (`devices`), the victim's home network.
        d["ip_city"][fraud] = home
        d["away"][fraud] = False
        d["zone"][fraud] = world.cities().zone[d["fraud_city"][fraud]]
        d["remote"][fraud] = True
        # Counterfeit cards are used in person, at the shop.
        shop = np.flatnonzero(d["present"])
        m = d["merchant_id"][shop]
        d["latitude"][shop], d["longitude"][shop] = w.merchant_lat[m], w.merchant_lon[m]
        d["zone"][shop] = w.merchant_zone[m]
        d["remote"][shop] = False
        # Planted visits and disputes: the holder's own online payments, from home.
        d["dispute"] = codes == DISPUTE
        visits = np.flatnonzero((codes == VISIT) | d["dispute"])
        owner = self.pop.card_owner[d["card_id"][visits]]
        d["ip_city"][visits] = w.customer_home[owner]
        d["away"][visits] = False
        d["zone"][visits] = w.customer_zone[owner]
        d["remote"][visits] = True
        codes[visits] = 0

    def devices(self, d: Draws, rng: np.random.Generator) -> None:
        """Fraud rows (time order): the ring's device, browser and address, online (some
        on the victim's own device and network, left as the holder's); genuine remote
        payments sometimes come from a new device."""
        f = np.flatnonzero(d["fraud_device"] >= 0)
        own = np.zeros(len(f), dtype=bool)
        u = rng.random(len(f))
        for name, share in _OWN_DEVICE.items():
            own |= (d["plan_code"][f] == scenario_code(name)) & (u < share)
        f = f[~own]
        dev = d["fraud_device"][f]
        # Rings replace each device on its own clock: a device is (ring slot, period).
        day = (d["event_us"][f] - self.t0) / DAY_US
        period = networks.lease_epochs(dev, day, *_RING_DEVICE_DAYS, self.seed)
        key = (dev.astype(np.uint64) << np.uint64(16)) | (period.astype(np.uint64)
                                                          & np.uint64(0xFFFF))
        h = sampling.mix64(key ^ np.uint64(self.seed ^ _SALT_RING_DEVICE))
        u1 = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        u2 = (sampling.mix64(h) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        kind = own_kind(u1).astype(np.int64)
        d["device_uuid"][f] = sampling.keyed_uuid4(key, self.seed ^ _SALT_RING_DEVICE)
        vocab = static_vocabularies()
        n_dev, n_ent = len(vocab["device_type"]), len(vocab["pos_entry_mode"])
        ecom = vocab_code("channel", "ecom")
        entry = np.where(rng.random(len(f)) < 0.8, vocab_code("pos_entry_mode", "ecommerce"),
                         vocab_code("pos_entry_mode", "credential_on_file"))
        combo = (ecom * n_dev + kind) * n_ent + entry
        # Phone and mail orders too, as the holder's own remote payments are.
        moto = rng.random(len(f)) < _MOTO_SHARE
        d["combo"][f] = np.where(moto, combo_code("moto", "desktop", "manual"), combo)
        d["ua_idx"][f] = networks.device_user_agents(
            kind, vocab["device_type"], u2, self.cfg.temporal.end_date.year)
        # Addresses too: one per (ring, city, slot, period), in a provider block of the
        # city's country; the row is placed there (`draws_v3.locate_remote`). Residential
        # proxies exit through real households of the city: a customer's own address.
        city = d["fraud_city"][f]
        slot_key = ((d["ring"][f].astype(np.uint64) << np.uint64(20)) ^ city.astype(np.uint64)
                    ) * np.uint64(_RING_IPS) + (dev % _RING_IPS).astype(np.uint64)
        ip_period = networks.lease_epochs(slot_key, day, *_RING_IP_DAYS, self.seed)
        ip_key = slot_key << np.uint64(16) | (ip_period.astype(np.uint64) & np.uint64(0xFFFF))
        h = sampling.mix64(ip_key ^ np.uint64(self.seed ^ _SALT_IP))
        d["ip"][f] = networks.country_ip(h, world.cities().country[city], self.seed)
        d["ip_city"][f] = city
        proxy = f[d["proxy"][f]]
        host = self.pop.world.residents.draw(d["ip_city"][proxy], rng)
        found = host >= 0
        proxy, host = proxy[found], host[found]
        zero = np.zeros(len(host), dtype=np.int64)
        lease = networks.lease_epochs(networks.household_lines(host, zero, self.seed),
                                      (d["event_us"][proxy] - self.t0) / DAY_US,
                                      *draws_v3.LEASE_DAYS, self.seed)
        d["ip"][proxy] = networks.household_ips(host, zero, self.seed,
                                                self.pop.customer_country[host], lease)
        d["device_null"][f] = False
        d["device_fresh"][f] = False
        u = rng.random(len(f))
        fresh = np.zeros(len(f), dtype=bool)
        for name, share in _FRESH_FINGERPRINT.items():
            fresh |= (d["plan_code"][f] == scenario_code(name)) & (u < share)
        d["device_fresh"][f[fresh]] = True
        # A new fingerprint shows a browser of its own too (of the device's kind, by
        # popularity), not the ring device's every time.
        d["ua_idx"][f[fresh]] = networks.device_user_agents(
            kind[fresh], vocab["device_type"], rng.random(int(fresh.sum())),
            self.cfg.temporal.end_date.year)
        d["is_recurring"][f] = False
        remote = combo_table()["channel"][d["combo"]] != vocab_code("channel", "pos")
        fresh = remote & (d["fraud_device"] < 0) & (rng.random(len(remote)) < _NEW_DEVICE)
        d["device_fresh"] |= fresh
        d["device_null"] &= ~fresh


def dispute_quotas(cfg, per_day: dict[str, np.ndarray], n_days: int) -> np.ndarray:
    """Disputes planned per day: `label.noise_rate` of the run's frauds (rounded), over
    the days by each day's planned attempts plus its share of the frauds the chunks draw
    themselves. Each chunk leaves as many of its frauds unreported as it plants disputes
    (`labeler.add_noise_v3`), so both fraud counts stay exact."""
    weight = np.full(n_days, max(0, cfg.fraud_target - sum(planned_quotas(cfg).values()))
                     / max(n_days, 1), dtype=np.float64)
    for quota in per_day.values():
        weight += quota
    total = round(cfg.label_noise_rate * cfg.fraud_target)
    if total == 0 or weight.sum() <= 0:
        return np.zeros(n_days, dtype=np.int64)
    return largest_remainder(total, weight)


_CAMPAIGN_DAYS = 20  # about one campaign per this many days, per scenario
_CAMPAIGN_HEIGHT = 0.8  # a campaign's peak over the base rate (lognormal median)


def campaigns(seed: int, code: int, days: int) -> np.ndarray:
    """Relative daily intensity of a scenario: a base rate plus campaigns (bumps of 2-10
    days at random times and heights), from the seed: the mix drifts, quotas vary."""
    rng = stream(seed, "campaigns", code)
    k = 1 + days // _CAMPAIGN_DAYS
    centre = rng.uniform(0, days, k)
    width = rng.uniform(2, 10, k)
    height = _CAMPAIGN_HEIGHT * rng.lognormal(0, 0.6, k)
    d = np.arange(days)[:, None]
    return 1 + (height * np.exp(-0.5 * ((d - centre) / width) ** 2)).sum(axis=1)


def _between(a: Attempts, t0_us: int, t1_us: int) -> Attempts:
    keep = (a["t"] >= t0_us) & (a["t"] < t1_us)
    return a if keep.all() else {k: v[keep] for k, v in a.items()}


def _by_time(parts: list[Attempts]) -> Attempts:
    """Parts as one table in time order; ties by episode id (unique to its day and
    scenario) and code, so the order never depends on how the parts were gathered."""
    parts = [p for p in parts if len(p["t"])]
    if not parts:
        return _empty()
    a = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((a["code"], a["episode"], a["t"]))
    return {k: v[order] for k, v in a.items()}


def _empty() -> Attempts:
    z = np.zeros(0, dtype=np.int64)
    return {"t": z, "card": z, "merchant": z, "code": z.astype(np.int8), "ring": z,
            "device": z, "amount_raw": z.astype(np.float64), "episode": z, "block": z,
            "reported": z, "present": z.astype(bool), "wrapped": z.astype(bool)}


def behaviour(pop: Population, d: Draws) -> dict[str, np.ndarray]:
    """v3 logistic signals a history would show, per row of a chunk (time order):
    card not present, merchant abroad for the holder, log(1 + the card's payments in the
    hour before, within the chunk), log(1 + km from the holder's home) / log(20,000)."""
    card, t = d["card_id"], d["event_us"]
    owner = pop.card_owner[card]
    # Earlier payments of the same card within the hour; minutes instead of microseconds
    # where packed (card, time) keys would overflow 62 bits.
    t_min = int(t.min()) if len(t) else 0  # times from the chunk's first payment
    t_rel, hour = t - t_min, HOUR_US
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


def _unwrapped(a: Attempts) -> Attempts:
    """A day's attempts in their own time (the wrapped ones are served from
    `Planner._wrapped`)."""
    return a if not a["wrapped"].any() else {k: v[~a["wrapped"]] for k, v in a.items()}
