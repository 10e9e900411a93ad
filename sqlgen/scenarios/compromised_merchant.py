"""compromised_merchant: cards seen at one (risky) merchant are used online elsewhere
1-10 days later."""

from __future__ import annotations

import numpy as np

from sqlgen import sampling
from sqlgen.scenarios.base import (
    DAY_US,
    GENUINE,
    HOUR_US,
    VISIT,
    Attempts,
    Injector,
    ReportDelay,
    Scenario,
    attempts,
    spree_offsets,
    spree_sizes,
)


def inject(inj: Injector, quota: int) -> None:
    d, rng, t1, pop = inj.d, inj.rng, inj.spec.t1_us, inj.pop
    genuine = np.flatnonzero(inj.codes == GENUINE)
    pick = sampling.cdf(pop.merchant_risk[d["merchant_id"][genuine]])
    # Rows grouped by merchant, ascending within each merchant.
    by_merchant = sampling.id_order(d["merchant_id"])
    merchants_sorted = d["merchant_id"][by_merchant]
    for _ in range(50):  # episodes; a merchant with no usable visits is skipped
        if quota <= 0:
            return
        m = d["merchant_id"][genuine[sampling.draw_from_cdf(pick, 1, rng)[0]]]
        lo, hi = np.searchsorted(merchants_sorted, [m, m + 1])
        seen = by_merchant[lo:hi]
        seen = seen[(inj.codes[seen] == GENUINE) & (d["event_us"][seen] < t1 - HOUR_US)]
        seen = _distinct_cards(seen, d["card_id"], min(quota, 40))
        if len(seen) == 0:
            continue
        inj.codes[seen] = -1  # the visits themselves stay genuine
        rows = inj.take(len(seen))
        inj.codes[seen] = GENUINE
        seen = seen[: len(rows)]
        when = d["event_us"][seen] + rng.uniform(1, 10, len(seen)) * DAY_US
        late = when >= t1
        when[late] = rng.uniform(d["event_us"][seen][late] + HOUR_US, t1)
        elsewhere = pop.merchants.draw(len(rows), rng)
        amount = np.round(rng.lognormal(4.0, 0.8, len(rows)) * inj.strength, 2) + 1
        inj.online(
            rows, elsewhere, amount, when.astype(np.int64), d["card_id"][seen].copy(),
            SCENARIO.code,
        )
        quota -= len(rows)


def _distinct_cards(rows: np.ndarray, card_id: np.ndarray, k: int) -> np.ndarray:
    """Up to k of `rows` with distinct cards, the first visit of each among the earliest
    rows (rows are in random order here); looks at a growing prefix, not all rows."""
    window = 4 * k
    while True:
        _, first = np.unique(card_id[rows[:window]], return_index=True)
        if len(first) >= k or window >= len(rows):
            return rows[np.sort(first)[:k]]
        window *= 4


_COUNTERFEIT = 0.35  # of breached cards cashed out in person with a cloned card


def plan(pl, n: int, t0: int, t1: int, rng: np.random.Generator) -> Attempts:
    """v3: a merchant's breach window: 4-15 cards pay there (genuine visits) during a
    window of 3-14 days; one ring later cashes each card out (1-3 attempts, 2-30 days
    after the visit) at its favourite merchants."""
    sizes = spree_sizes(n, 1, 3, rng)  # attempts per victim card
    v = len(sizes)
    per_breach = spree_sizes(v, 4, 15, rng)
    breach = np.repeat(np.arange(len(per_breach)), per_breach)
    b = len(per_breach)
    breached = pl.breach_merchants(b, rng)  # the merchant of each breach
    w0 = rng.integers(t0, t1, b)
    w_len = rng.uniform(3, 14, b) * DAY_US
    visit = (w0[breach] + rng.random(v) * w_len[breach]).astype(np.int64)
    card = pl.victims(v, rng)
    ring = pl.rings.pick(b, rng)[breach]
    first = visit + (rng.uniform(2, 30, v) * DAY_US).astype(np.int64)
    first = pl.rings.start_near(ring, first, rng)
    ep, offset = spree_offsets(sizes, 3 * 3600e6, 1.0, rng)
    # Skimmed cards are cloned and used in shops near where they were skimmed (the
    # victim's town) or of the ring's city; the others online.
    shop = pl.rings.cashout_shops(ring, card, rng)
    present = (rng.random(v) < _COUNTERFEIT) & (shop >= 0)
    merchant = np.where(present[ep], shop[ep], pl.rings.merchants(ring[ep], card[ep], rng))
    device = np.where(present, -1, pl.rings.device(ring, rng))
    amount = pl.amounts(card[ep], rng, shift=0.0) * np.where(present[ep], 1.0, 1.6)
    fraud = attempts(first[ep] + offset, card[ep], merchant, SCENARIO.code, ring[ep],
                     device[ep], amount, ep, present[ep])
    visits = attempts(visit, card, breached[breach], VISIT, np.full(v, -1), np.full(v, -1),
                      pl.amounts(card, rng, shift=0.0), np.arange(v))
    return {k: np.concatenate([fraud[k], visits[k]]) for k in fraud}


SCENARIO = Scenario(
    name="compromised_merchant",
    code=5,
    summary="cards seen at one risky merchant are used online elsewhere days later",
    weight=0.10,
    inject=inject,
    plan=plan,
    report=ReportDelay(median_days=21.0, sigma=0.6, cnp_factor=1.0),
)
