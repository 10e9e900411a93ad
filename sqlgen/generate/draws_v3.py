"""Realism v3 draws: a believable world. Cards pay in their holder's local rhythm, in
person where the holder is (home, or a trip's destination), remotely from their own
devices and networks; amounts are in the merchant's currency on price points; each
row's `time_offset` is its place's IANA zone offset on that date.

`World` holds the per-process arrays (places of customers and merchants, samplers);
`skeleton_v3` draws who, when, where and how much (fraud scenarios then rewrite rows);
`settle_v3` bounds each card's payments per day and month and places injected rows;
`attributes_v3` draws channel, device, network and amounts after the time sort.
"""

from __future__ import annotations

import calendar
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sqlgen import arrow_np, sampling
from sqlgen.combos import MINUTE_US, Draws, combo_table, vocab_code, with_device
from sqlgen.errors import SqlgenError
from sqlgen.generate.draws import to_arrow
from sqlgen.schema import reference
from sqlgen.world import mcc_profiles, money, networks, world

if TYPE_CHECKING:
    from sqlgen.generate.plan import ChunkSpec
    from sqlgen.generate.population import Population

DAY_US = 24 * 60 * MINUTE_US
WEEK_US = 7 * DAY_US
_MONDAY_US = 4 * DAY_US  # 1970-01-05, the first Monday: trips are Monday-based weeks
_SALT_TRIP = 0x7219
_DOMESTIC_TRIPS = 0.5
_LOAD = 4  # a card's expected payments per day stay below cap / _LOAD
_SETTLE_ROUNDS = 16  # moves of over-cap payments to random cards (few rows after the 1st)
# No merchant's popularity above this share of the catalog's (Zipf weights are clipped,
# the excess spread over the rest): a big chain is several merchants, as in card data.
_MAX_MERCHANT_SHARE = 0.002
SUBSCRIPTION_MCCS = ("4814", "4900", "5815", "5967")  # telecom, utilities, digital, direct
_RECURRING_P = 0.7  # of stored-credential payments at those merchants
_CARRIER_P = 0.5  # mobile payments over the carrier's network rather than home Wi-Fi
_ROAMING = 0.05
# Genuine devices and home addresses are replaced now and then, each on its own clock
# (`networks.lease_epochs`): a device lives 45 days to 2 years (a new phone, a cleared
# browser), a broadband lease 7 days to a year.
_DEVICE_LIFE_DAYS = (20.0, 500.0)
LEASE_DAYS = (7.0, 365.0)
_SALT_DEVICE_EPOCH = 0xDE71CE  # the device table's UUID salt (`draws.Devices`)


def bounded_weights(weights: np.ndarray, cap: float) -> np.ndarray:
    """Weights normalized with no entity above `cap` of the total (the excess spread
    over the others); uniform if the cap cannot hold."""
    w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    if cap * len(w) <= 1:
        return np.full(len(w), 1 / len(w))
    for _ in range(50):
        over = w > cap
        if not over.any():
            break
        free = w[~over].sum()
        w = np.where(over, cap, w * (1 - cap * over.sum()) / free)
    return w


class World:
    """Per-process v3 state: where customers, merchants and cities are, and samplers."""

    def __init__(self, ctx: Population, customers: dict, merchants: dict):
        cfg, c = ctx.cfg, world.cities()
        self.seed = cfg.seed
        self.city_zone, self.city_country = c.zone, c.country
        self.customer_lat = np.asarray(customers["lat"], dtype=np.float64)
        # Home latitudes in radians and their cosines, for distances from home.
        self.customer_rad = np.radians(self.customer_lat)
        self.customer_cos = np.cos(self.customer_rad)
        self.customer_lon = np.asarray(customers["lon"], dtype=np.float64)
        home = np.asarray(customers["city"], dtype=np.int64)
        self.merchant_city = np.asarray(merchants["city"], dtype=np.int64)
        self.merchant_lat = np.asarray(merchants["lat"], dtype=np.float64)
        self.merchant_lon = np.asarray(merchants["lon"], dtype=np.float64)
        self.merchant_zone = c.zone[self.merchant_city].astype(np.int16)
        self.merchant_currency = np.asarray(merchants["currency"], dtype=np.int64)
        mcc = np.asarray(merchants["mcc"], dtype=object)
        self.subscription = np.isin(mcc, SUBSCRIPTION_MCCS)
        popularity = bounded_weights(merchants["popularity"], _MAX_MERCHANT_SHARE)
        self.in_city = sampling.GroupSampler(self.merchant_city, popularity)
        country = np.asarray(merchants["country"], dtype=np.int64)
        self.domestic = sampling.GroupSampler(country, popularity)
        self.remote = sampling.CdfSampler(popularity)
        self.remote_popularity = popularity
        # Shops are in some places only: people shop in the nearest place with shops in
        # their own country (their home town if it has any); trips go to such places.
        shops = np.unique(self.merchant_city)
        self.shop_city = _nearest_within_country(c, shops)
        self.customer_home = home
        # Customers by home city, weighted by how much they pay (residential proxies
        # exit through busy households' connections).
        activity = np.bincount(ctx.card_owner, weights=ctx.card_popularity,
                               minlength=len(home))
        self.residents = sampling.GroupSampler(home, activity + 1e-12)
        self.customer_shop_city = self.shop_city[home]
        self.customer_zone = c.zone[home].astype(np.int16)
        self.destinations = sampling.GroupSampler(c.country[shops], c.population[shops])
        self.destination_city = shops
        weights = np.asarray([x["weight"] for x in reference()["countries"]], dtype=np.float64)
        self.countries = sampling.CdfSampler(weights)
        # Cards: popularity bounded so a card's expected payments a day stay well under
        # the cap; the cap itself is enforced per chunk (`settle_v3`).
        days = (cfg.temporal.end_date - cfg.temporal.start_date).days + 1
        per_day = cfg.rows / days
        # Replacement cards (ids from num_cards on) are never drawn: see `catalogs`.
        if len(ctx.card_popularity) != cfg.catalog.num_cards + cfg.catalog.num_customers:
            raise SqlgenError(
                f"the cards catalog holds {len(ctx.card_popularity):,} cards, not "
                f"num_cards + num_customers (one replacement card each): made by another "
                "sqlgen version or config; rebuild it with `sqlgen catalogs`")
        active = cfg.catalog.num_cards
        card_pop = np.asarray(ctx.card_popularity)[:active]
        cap_share = cfg.behaviour.max_card_payments_per_day / _LOAD / per_day
        self.card_weights = bounded_weights(card_pop, cap_share)
        self.cards = sampling.CdfSampler(self.card_weights)
        self.n_cards = active  # cards payments are moved to over a cap
        self.n_all_cards = len(ctx.card_popularity)
        self._offsets: dict[tuple[int, int], world.ZoneOffsets] = {}
        self.t0_us = int(np.datetime64(cfg.temporal.start_date, "us").astype(np.int64))
        self.amount_shape, self.fraud_weight = mcc_profiles.per_merchant(mcc)
        self._carrier_cities: np.ndarray | None = None

    def carrier_city(self, key: np.ndarray) -> np.ndarray:
        """The city of each mobile carrier gateway (`networks.carrier_keys`): a city of
        its country by population, fixed by the seed."""
        if self._carrier_cities is None:
            n = len(reference()["countries"]) * networks.CARRIER_IPS_PER_COUNTRY
            k = np.arange(n, dtype=np.uint64)
            h = sampling.mix64(k ^ np.uint64(self.seed ^ 0xCA7C17))
            u = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
            pick = self.destinations.lookup(
                (k // np.uint64(networks.CARRIER_IPS_PER_COUNTRY)).astype(np.int64), u)
            self._carrier_cities = np.where(pick >= 0, self.destination_city[pick], -1)
        return self._carrier_cities[key]  # -1: a country without shops (the caller's city)

    def offsets(self, spec: ChunkSpec) -> world.ZoneOffsets:
        key = (spec.t0_us, spec.t1_us)
        if key not in self._offsets:
            self._offsets = {key: world.ZoneOffsets(world.cities().zones, *key)}
        return self._offsets[key]

    def trips(self, owner: np.ndarray, utc: np.ndarray, trip_rate: float):
        """Each row's trip: destination city (-1 at home) and whether it is a travel
        day (out on Monday, back on Sunday: no in-person payment). A trip is decided
        per (customer, week) by hashing, so any chunk finds the same trips."""
        days = (utc - _MONDAY_US) // DAY_US
        week = days // 7
        first, last = (int(week.min()), int(week.max())) if len(week) else (0, 0)
        weeks = last - first + 1
        customers = len(self.customer_home)
        if customers * weeks < len(owner):  # a chunk's rows: hash each (customer, week) once
            table = self._destinations(
                np.repeat(np.arange(customers), weeks),
                np.tile(np.arange(first, first + weeks), customers),
                trip_rate,
            )
            dest = np.take(table, owner * weeks + (week - first))
        else:
            dest = self._destinations(owner, week, trip_rate)
        # Out on Monday, back on Sunday (days of the week of trips only).
        travel_day = np.zeros(len(owner), dtype=bool)
        away = np.flatnonzero(dest >= 0)
        day = days[away] - 7 * week[away]
        travel_day[away] = (day == 0) | (day == 6)
        return dest, travel_day

    def _destinations(self, owner: np.ndarray, week: np.ndarray, trip_rate: float) -> np.ndarray:
        """The city each customer travels to in each week (-1: at home)."""
        key = owner.astype(np.uint64)
        key <<= np.uint64(24)
        key ^= week.astype(np.uint64)
        key ^= np.uint64(self.seed ^ _SALT_TRIP)
        h = sampling.mix64(key)
        # u < trip_rate for u = top 53 bits / 2**53, compared as integers
        away = np.flatnonzero(h >> np.uint64(11) < np.uint64(int(trip_rate * (1 << 53))))
        dest = np.full(len(owner), -1, dtype=np.int64)
        if len(away):
            h2 = sampling.mix64(h[away])
            u2 = (h2 >> np.uint64(11)).astype(np.float64) / float(1 << 53)
            u3 = (sampling.mix64(h2) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
            home_country = self.city_country[self.customer_home[owner[away]]]
            abroad = self.countries.lookup(u2 / (1 - _DOMESTIC_TRIPS) % 1.0)
            country = np.where(u2 < _DOMESTIC_TRIPS, home_country, abroad)
            pick = self.destinations.lookup(country, u3)
            dest[away] = np.where(pick >= 0, self.destination_city[np.maximum(pick, 0)], -1)
        return dest


def _nearest_within_country(c: world.Cities, shops: np.ndarray) -> np.ndarray:
    """For every city, the nearest city of `shops` in the same country (itself if it
    is one; the nearest anywhere if its country has none)."""
    out = np.empty(len(c), dtype=np.int64)
    for country in np.unique(c.country):
        mine = np.flatnonzero(c.country == country)
        cand = shops[c.country[shops] == country]
        if len(cand) == 0:
            cand = shops
        d = world.km_between(c.lat[mine, None], c.lon[mine, None], c.lat[cand], c.lon[cand])
        out[mine] = cand[np.argmin(d, axis=1)]
    return out


def _local_times(spec: ChunkSpec, offset_min: np.ndarray, cfg, rng) -> np.ndarray:
    """UTC times in [t0, t1) whose local time (UTC + offset) follows the daily and
    weekly cycles; drawn per distinct offset, so no row leaves the slice."""
    utc = np.empty(len(offset_min), dtype=np.int64)
    tw = cfg.temporal
    order = np.argsort(offset_min.astype(np.int16), kind="stable")  # a radix sort
    ranked = offset_min[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    values = ranked[starts]
    for off, lo, hi in zip(values, starts, [*starts[1:], len(order)], strict=True):
        rows = order[lo:hi]
        shift = int(off) * MINUTE_US
        local = sampling.cycle_times(
            spec.t0_us + shift,
            spec.t1_us + shift,
            len(rows),
            rng,
            tw.hourly_weights,
            tw.weekday_weights,
        )
        utc[rows] = local - shift
    return utc


def _pos_share() -> float:
    channels = reference()["channels"]
    return channels["pos"] / sum(channels.values())


def place_rows(ctx: Population, d: Draws, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Where the given rows happen and at which merchant (`place`), written into `d`."""
    for key, values in place(ctx, d["card_id"][rows], d["event_us"][rows], rng).items():
        d[key][rows] = values


def place(ctx: Population, card: np.ndarray, utc: np.ndarray, rng: np.random.Generator) -> Draws:
    """Where payments of these cards at these times happen and at which merchant: in
    person at a shop of the holder's current place, remotely at home (or from the
    trip's destination). Columns merchant_id, remote, away, latitude, longitude, zone,
    ip_city (the city of a remote payment's network before the device is known: home,
    or the trip's destination; -1 in person)."""
    w, cfg = ctx.world, ctx.cfg
    owner = ctx.card_owner[card]
    dest, travel_day = w.trips(owner, utc, cfg.behaviour.trip_rate)
    remote = (rng.random(len(card)) >= _pos_share()) | travel_day
    on_trip = (dest >= 0) & ~travel_day
    here = np.where(on_trip, dest, w.customer_shop_city[owner])
    merchant = np.full(len(card), -1, dtype=np.int64)
    pos = np.flatnonzero(~remote)
    merchant[pos] = w.in_city.draw(here[pos], rng)
    rem = np.flatnonzero(merchant < 0)  # remote (or, defensively, a place with no shop)
    remote[rem] = True
    domestic = rng.random(len(rem)) < cfg.behaviour.home_share
    o = owner[rem]
    local = w.domestic.draw(ctx.customer_country[o], rng)
    anywhere = w.remote.draw(len(rem), rng)
    merchant[rem] = np.where(domestic & (local >= 0), local, anywhere)
    # The row's place: the shop in person; home, or somewhere in the trip's city, online.
    lat, lon = w.merchant_lat[merchant], w.merchant_lon[merchant]
    zone = w.merchant_zone[merchant]
    lat[rem], lon[rem], zone[rem] = w.customer_lat[o], w.customer_lon[o], w.customer_zone[o]
    away = np.flatnonzero(remote & on_trip)
    lat[away], lon[away] = world.near(dest[away], rng)
    zone[away] = w.city_zone[dest[away]]
    ip_city = np.where(remote, np.where(on_trip, dest, w.customer_home[owner]), -1)
    return {
        "merchant_id": merchant,
        "remote": remote,
        "away": dest >= 0,
        "latitude": lat,
        "longitude": lon,
        "zone": zone,
        "ip_city": ip_city,
    }


def skeleton_v3(ctx: Population, spec: ChunkSpec, rng: np.random.Generator) -> Draws:
    """Who pays whom, when, where and how much (unsorted)."""
    cfg, n, w = ctx.cfg, spec.rows, ctx.world
    cards = w.cards.draw(n, rng)
    # Some cards lie in a drawer some months: their draws go to other cards.
    for _ in range(3):
        asleep = np.flatnonzero(dormant(cards, spec.year * 12 + spec.month, w.seed))
        if len(asleep) == 0:
            break
        cards[asleep] = w.cards.draw(len(asleep), rng)
    owner = ctx.card_owner[cards]
    middle = w.offsets(spec).middle()
    utc = _local_times(spec, middle[w.customer_zone[owner]], cfg, rng)
    amount = sampling.amounts(cfg.feature.amount, n, rng)
    placed = place(ctx, cards, utc, rng)
    # `placed`: merchant_id, remote, away (on a trip: its network is not the
    # household's), latitude, longitude, zone, ip_city.
    spec_amount = cfg.feature.amount
    if spec_amount.distribution == "lognormal":  # each category's own spread of amounts
        centre = np.exp(spec_amount.mu)
        amount = centre * (amount / centre) ** w.amount_shape[placed["merchant_id"]]
    return {"event_us": utc, "card_id": cards, "amount_raw": amount, **placed}


_RUNS = 0.04  # of genuine payments followed by a run of more at the same merchant
_RUN_GAP_US = 90e6  # median gap within a run (a retry, another item in an app)
# At digital-goods and misc merchants (`population.testing_merchants`) runs are more
# common: in-app purchases and top-ups come several small sums at a time, the shape of
# a card test.
_DIGITAL_RUNS = 0.12


def genuine_runs(ctx: Population, spec: ChunkSpec, d: Draws, codes: np.ndarray,
                 rng: np.random.Generator) -> None:
    """Genuine life makes velocity too: some payments (`_RUNS`; `_DIGITAL_RUNS` at
    digital-goods merchants) are followed within minutes by 1-4 more of the same card
    at the same merchant (a retry after a decline, more items in an app, a split bill),
    written over other random genuine rows of the chunk."""
    genuine = np.flatnonzero(codes == 0)
    rate = np.where(ctx.is_testing_merchant[d["merchant_id"][genuine]], _DIGITAL_RUNS, _RUNS)
    src = genuine[rng.random(len(genuine)) < rate]
    src = src[d["event_us"][src] < spec.t1_us - 30 * 60_000_000]
    sizes = rng.integers(1, 5, len(src))
    k = int(sizes.sum())
    if k == 0 or len(genuine) < 4 * k:
        return
    free = np.ones(len(codes), dtype=bool)
    free[src] = False
    dst = rng.choice(genuine, 2 * k, replace=False)
    dst = dst[free[dst]][:k]
    if len(dst) < k:
        return
    origin = np.repeat(src, sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gaps = rng.lognormal(np.log(_RUN_GAP_US), 1.0, k)
    total = np.cumsum(gaps)
    elapsed = total - np.repeat(total[first] - gaps[first], sizes)
    t = d["event_us"][origin] + elapsed.astype(np.int64)
    t = np.minimum(t, spec.t1_us - 1)
    for key in ("card_id", "merchant_id", "remote", "away", "latitude", "longitude", "zone",
                "ip_city"):
        d[key][dst] = d[key][origin]
    d["event_us"][dst] = t
    d["amount_raw"][dst] = d["amount_raw"][origin] * rng.uniform(0.3, 1.5, k)


_DORMANT = 0.15  # of card-months in which a card is not used


def dormant(card: np.ndarray, month: int, seed: int) -> np.ndarray:
    """Whether each card sleeps in the month (a hash of card, month and seed)."""
    h = sampling.mix64((card.astype(np.uint64) << np.uint64(20)) ^ np.uint64(month)
                       ^ np.uint64(seed ^ 0xD0E5))
    return (h >> np.uint64(11)) < np.uint64(int(_DORMANT * (1 << 53)))


def _over_cap(key: np.ndarray, cap: np.ndarray, genuine: np.ndarray) -> np.ndarray:
    """Genuine rows beyond their key's cap (fraud rows count first)."""
    if len(key) and key.max() < 1 << 26:  # a count per (card, day): no sort needed
        counts = np.bincount(key)[key]
    else:
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        counts = counts[inverse]
    hot = np.flatnonzero(counts > cap)
    if len(hot) == 0:
        return hot
    order = hot[np.lexsort((genuine[hot], key[hot]))]
    k = key[order]
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    rank = np.arange(len(k)) - np.repeat(start, np.diff(np.r_[start, len(k)]))
    return order[(rank >= cap[order]) & genuine[order]]


def card_slots(
    cap: int, card: np.ndarray, period: np.ndarray, a_us: np.ndarray, b_us: np.ndarray,
    length_us: int,
) -> np.ndarray:
    """Each card's share of its `cap` per period (a day or a month of `length_us`) in
    the part [a_us, b_us) of the period a chunk covers: the card's `cap` slots sit at
    evenly spaced points of the period shifted by a phase hashed from (card, period),
    and the chunk gets those in its part. Over the chunks covering a period the shares
    add up to exactly `cap` (any chunking), and each is `cap * (b - a) / length`
    rounded down or up, so a sliver of a day still has room on some cards."""
    mixed = (card.astype(np.uint64) * np.uint64(0x9E3779B1)
             + period.astype(np.uint64) * np.uint64(0x85EBCA77)) & np.uint64(0xFFFFFFFF)
    phase = (mixed.astype(np.float64) / 2.0**32 * length_us).astype(np.int64)
    return (cap * b_us + phase) // length_us - (cap * a_us + phase) // length_us


def _chunk_caps(
    behaviour, spec: ChunkSpec, card: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The daily and monthly cap of each row's card in this chunk (`card_slots`)."""
    day_start = day * DAY_US
    a = np.maximum(day_start, spec.t0_us) - day_start
    b = np.minimum(day_start + DAY_US, spec.t1_us) - day_start
    daily = card_slots(behaviour.max_card_payments_per_day, card, day, a, b, DAY_US)
    # Chunks never cross a month: the chunk's part of its month, likewise.
    days = calendar.monthrange(spec.year, spec.month)[1]
    month_start = _month_start_us(spec.year, spec.month)
    n = len(card)
    monthly = card_slots(
        behaviour.max_card_payments_per_month, card,
        np.full(n, spec.year * 12 + spec.month - 1, dtype=np.int64),
        np.full(n, spec.t0_us - month_start, dtype=np.int64),
        np.full(n, spec.t1_us - month_start, dtype=np.int64),
        days * DAY_US,
    )
    return daily, monthly


def _month_start_us(year: int, month: int) -> int:
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1_000_000


def settle_v3(
    ctx: Population, spec: ChunkSpec, d: Draws, codes: np.ndarray, rng: np.random.Generator,
    block: np.ndarray | None = None,
) -> None:
    """After fraud injection: injected rows are remote at the merchant's place; genuine
    payments beyond a card's daily or monthly cap move to other cards (a few rounds),
    never onto a card already blocked at their time (`block`: each card's block time).
    Raises when the caps cannot hold."""
    w = ctx.world
    inj = np.flatnonzero(codes != 0)
    m = d["merchant_id"][inj]
    d["remote"][inj] = True
    d["latitude"][inj], d["longitude"][inj] = w.merchant_lat[m], w.merchant_lon[m]
    d["zone"][inj] = w.merchant_zone[m]
    genuine = codes == 0
    day = d["event_us"] // DAY_US
    d0 = spec.t0_us // DAY_US
    behaviour = ctx.cfg.behaviour
    card = d["card_id"]
    rows = np.arange(len(card))  # the first round checks every row
    for _ in range(_SETTLE_ROUNDS):
        c, dy, g = card[rows], day[rows], genuine[rows]
        cap, month_cap = _chunk_caps(behaviour, spec, c, dy)
        key = c * (spec.t1_us // DAY_US - d0 + 1) + (dy - d0)
        over = rows[np.union1d(_over_cap(key, cap, g), _over_cap(c, month_cap, g))]
        if len(over) == 0:
            return
        card[over] = _unblocked_cards(w.n_cards, d["event_us"][over], block, rng)
        place_rows(ctx, d, over, rng)
        # Only the cards that gained rows can be over a cap now: the others kept their
        # first `cap` genuine payments (fraud counts first) or fewer.
        gained = np.zeros(w.n_all_cards, dtype=bool)
        gained[card[over]] = True
        rows = np.flatnonzero(gained[card])
    # The few left (a sliver of a day has room on few cards): onto cards with room.
    c, dy, g = card[rows], day[rows], genuine[rows]
    cap, month_cap = _chunk_caps(behaviour, spec, c, dy)
    key = c * (spec.t1_us // DAY_US - d0 + 1) + (dy - d0)
    over = rows[np.union1d(_over_cap(key, cap, g), _over_cap(c, month_cap, g))]
    if len(over):
        _onto_free_cards(ctx, spec, d, over, block, rng)


def _onto_free_cards(ctx: Population, spec: ChunkSpec, d: Draws, over: np.ndarray,
                     block: np.ndarray | None, rng: np.random.Generator) -> None:
    """Move the rows `over` to distinct cards with room left that day and month (and
    not blocked by then); raises when there are not enough."""
    card, n_cards = d["card_id"], ctx.world.n_cards
    day = d["event_us"] // DAY_US
    every = np.arange(n_cards, dtype=np.int64)
    behaviour = ctx.cfg.behaviour
    _, month_cap = _chunk_caps(behaviour, spec, every, np.full(n_cards, day[over[0]]))
    # Counts over the active cards (v3's replacement cards, ids from n_cards up, are not
    # candidates for moved payments).
    month_room = month_cap - np.bincount(card, minlength=n_cards)[:n_cards]
    for dy in np.unique(day[over]).tolist():
        rows = over[day[over] == dy]
        day_cap, _ = _chunk_caps(behaviour, spec, every, np.full(n_cards, dy))
        used = np.bincount(card[day == dy], minlength=n_cards)[:n_cards]
        room = (day_cap > used) & (month_room > 0)
        if block is not None:
            room &= block[:n_cards] > d["event_us"][rows].max()
        free = np.flatnonzero(room)
        if len(free) < len(rows):
            raise SqlgenError(
                f"chunk {spec.index}: {len(rows) - len(free)} payments stay above a card's "
                "daily or monthly cap (no card has room left); raise "
                "behaviour.max_card_payments_per_day or _per_month, or catalog.num_cards")
        pick = rng.choice(free, len(rows), replace=False)
        card[rows] = pick
        month_room[pick] -= 1
    place_rows(ctx, d, over, rng)


def _unblocked_cards(
    n_cards: int, t: np.ndarray, block: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """Random cards for payments at times `t`, none blocked by then (a moved payment is
    the holder's own: it never lands on a card the issuer already blocked)."""
    new = rng.integers(0, n_cards, len(t))
    return new if block is None else unblocked(new, t, block, rng)


def unblocked(card: np.ndarray, t: np.ndarray, block: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """`card` with each entry blocked at its time `t` (t >= block[card]) replaced by a
    card drawn uniformly among those not blocked by then. Raises when none is left."""
    bad = np.flatnonzero(t >= block[card])
    if len(bad) == 0:
        return card
    # Blocks later than every time here are all alike (and may be known or not yet,
    # depending on the days computed so far): clipped, free cards stay in id order.
    known = np.minimum(block, t[bad].max() + 1)
    order = np.argsort(known, kind="stable")
    first_free = np.searchsorted(known[order], t[bad], side="right")
    free = len(block) - first_free
    if (free == 0).any():
        raise SqlgenError("every card is blocked: no card left for a holder's payment; "
                          "raise catalog.num_cards or lower fraud_rate")
    out = card.copy()
    out[bad] = order[first_free + (rng.random(len(bad)) * free).astype(np.int64)]
    return out


_AIRLINER_KMH = 900.0
_RUSHED_US = 60_000_000  # in-person payments closer in time than this may be too fast


def same_shop_when_rushed(s: Draws, zone_of_merchant: np.ndarray) -> None:
    """A card's next in-person payment within a minute that would need more than
    airliner speed (two shops of one town, seconds apart) happens at the same shop.
    Trips already keep moves between places slow; this settles those within one."""
    order, card = sampling.group_sort(s["card_id"], np.flatnonzero(~s["remote"]))
    # A card's consecutive in-person payments within the minute (cards and times stay).
    t = s["event_us"][order]
    close = np.flatnonzero((card[1:] == card[:-1]) & (t[1:] - t[:-1] < _RUSHED_US))
    pairs = order[close], order[close + 1]
    for _ in range(4):
        a, b = pairs
        near = np.flatnonzero(s["merchant_id"][a] != s["merchant_id"][b])
        a, b = a[near], b[near]
        km = world.km_between(
            s["latitude"][a], s["longitude"][a], s["latitude"][b], s["longitude"][b]
        )
        hours = (s["event_us"][b] - s["event_us"][a]) / 3.6e9
        fast = km > _AIRLINER_KMH * hours
        if not fast.any():
            return
        a, b = a[fast], b[fast]
        for key in ("merchant_id", "latitude", "longitude"):
            s[key][b] = s[key][a]
        s["zone"][b] = zone_of_merchant[s["merchant_id"][b]]


def attributes_v3(ctx: Population, spec: ChunkSpec, s: Draws, rng: np.random.Generator) -> Draws:
    """Channel, device, network, amount and offset of each row, in time order.
    In person: a terminal, no device id, IP or browser. Remote: one of the holder's
    devices, with its browser and an address of the household (or the carrier)."""
    cfg, w, n = ctx.cfg, ctx.world, len(s["event_us"])
    same_shop_when_rushed(s, w.merchant_zone)
    owner = ctx.card_owner[s["card_id"]]
    remote = s["remote"]
    combos = combo_table()
    pos_code = vocab_code("channel", "pos")
    is_pos = combos["channel"] == pos_code
    combo = np.empty(n, dtype=np.int64)
    r = np.flatnonzero(remote)
    p = np.flatnonzero(~remote)
    combo[p] = np.flatnonzero(is_pos)[
        sampling.CdfSampler(combos["weight"][is_pos]).draw(len(p), rng)
    ]
    combo[r] = np.flatnonzero(~is_pos)[
        sampling.CdfSampler(combos["weight"][~is_pos]).draw(len(r), rng)
    ]

    u = rng.random(n)
    slot = np.zeros(n, dtype=np.int64)
    for k in range(1, cfg.behaviour.max_devices):
        slot += u < 0.4**k
    slot = np.minimum(slot, ctx.devices.count[owner] - 1)
    # v3 devices carry browser and kind (the pool index is v2's; the address below)
    device = ctx.devices.rows(owner, slot, skip=("ip_idx", "ip"))
    kind = device["kind"]
    # Devices are replaced now and then: a later lifetime of a slot is a new device.
    day = (s["event_us"] - w.t0_us) / DAY_US
    dev_key = (owner.astype(np.uint64) << np.uint64(6)) | slot.astype(np.uint64)
    epoch = networks.lease_epochs(dev_key, day, *_DEVICE_LIFE_DAYS, w.seed)
    new = np.flatnonzero(remote & (epoch > 0))
    device["uuid"][new] = sampling.keyed_uuid4(
        dev_key[new] ^ (epoch[new].astype(np.uint64) << np.uint64(48)),
        w.seed ^ _SALT_DEVICE_EPOCH)
    ecom = np.flatnonzero(combos["channel"][combo] == vocab_code("channel", "ecom"))
    combo[ecom] = with_device(combo[ecom], kind[ecom])

    # Home broadband: the household's line, in a provider block of its country, the
    # current lease's address; its place is the home town.
    home_country = ctx.customer_country[owner]
    line = networks.household_lines(owner, slot, w.seed)
    lease = networks.lease_epochs(line, day, *LEASE_DAYS, w.seed)
    ip = networks.household_ips(owner, slot, w.seed, home_country, lease)
    ip_city = s["ip_city"].copy()
    mobile = np.flatnonzero(
        (kind == vocab_code("device_type", "mobile")) & (rng.random(n) < _CARRIER_P)
    )
    u = rng.random(len(mobile))
    ip[mobile] = networks.carrier_ips(home_country[mobile], u, w.seed)
    gateway = w.carrier_city(networks.carrier_keys(home_country[mobile], u))
    ip_city[mobile] = np.where(gateway >= 0, gateway, ip_city[mobile])
    elsewhere = np.flatnonzero(s["away"] | (rng.random(n) < _ROAMING))
    ip_city[elsewhere] = s["ip_city"][elsewhere]
    ip[elsewhere] = networks.random_ips(
        len(elsewhere), rng, w.city_country[np.maximum(ip_city[elsewhere], 0)], w.seed)

    stored = combos["pos_entry_mode"][combo] == vocab_code("pos_entry_mode", "credential_on_file")
    recurring = remote & stored & w.subscription[s["merchant_id"]] & (rng.random(n) < _RECURRING_P)
    base = s["amount_raw"] * ctx.merchant_scale[s["merchant_id"]]
    currency = w.merchant_currency[s["merchant_id"]]
    return {
        **s,
        "combo": combo,
        "device_uuid": device["uuid"],
        "device_fresh": np.zeros(n, dtype=bool),
        "device_null": ~remote,
        "ip": ip,
        "ip_city": ip_city,
        "ip_idx": np.zeros(n, dtype=np.int32),  # unused in v3 (scenarios write it)
        "ua_idx": device["ua_idx"],
        "is_recurring": recurring,
        "amount_base": base,
        "amount": money.local_amounts(base, currency, rng),
        "time_offset": w.offsets(spec).at(s["zone"], s["event_us"]),
        "u_label": rng.random(n),
        "dlat": np.zeros(n, dtype=np.float32),  # v2's jitter columns, unused in v3
        "dlon": np.zeros(n, dtype=np.float32),
    }


def locate_remote(ctx: Population, spec: ChunkSpec, d: Draws) -> None:
    """Card-not-present payments have no shop: they carry the location an IP
    geolocation gives, the centre of the city of their address (`ip_city`), shared by
    every payment from that address, genuine or not; their offset is that city's."""
    r = np.flatnonzero(d["remote"])
    city = d["ip_city"][r]
    c = world.cities()
    d["latitude"][r], d["longitude"][r] = c.lat[city], c.lon[city]
    d["zone"][r] = c.zone[city]
    d["time_offset"][r] = ctx.world.offsets(spec).at(d["zone"][r], d["event_us"][r])


def to_arrow_v3(ctx: Population, d: Draws, rng: np.random.Generator) -> pa.Table:
    """v2's Arrow view (ids made the same way) plus what v3 computed in numpy."""
    table = to_arrow(ctx, d, rng)
    for name in ("amount_base", "amount", "latitude", "longitude", "time_offset", "ip"):
        table = table.append_column(name, arrow_np.array(d[name]))
    return table
