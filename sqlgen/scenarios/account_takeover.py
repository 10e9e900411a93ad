"""account_takeover: a known card pays from a new device and IP, often abroad, with
amounts several times its usual."""

from __future__ import annotations

import numpy as np

from sqlgen.scenarios.base import (
    DAY_US,
    GENUINE,
    HOUR_US,
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
    abroad_p = min(0.9, 0.6 * inj.strength)
    spec = pop.cfg.feature.amount
    usual = float(np.exp(spec.mu)) if hasattr(spec, "mu") else 30.0
    known = inj.take(max(1, quota // 2 + 1))  # one earlier payment per taken-over card
    inj.codes[known] = -1  # those payments are kept and stay genuine
    rows = inj.take(quota)
    inj.codes[known] = GENUINE
    ep = inj.episodes(len(rows), 1, 4)
    rows, ep = rows[ep < len(known)], ep[ep < len(known)]
    k = len(rows)
    card = d["card_id"][known][ep]
    start = d["event_us"][known][ep]
    when = start + rng.uniform(HOUR_US, 3 * DAY_US, k)
    late = np.flatnonzero(when >= t1)
    when[late] = rng.uniform(start[late], t1)
    merchant = pop.merchants.draw(k, rng)
    stay = np.flatnonzero(rng.random(k) >= abroad_p)
    home = pop.customer_country[pop.card_owner[card[stay]]]
    local = pop.home_merchants.draw(home, rng)
    merchant[stay[local >= 0]] = local[local >= 0]
    amount = np.round(usual * rng.uniform(2, 2 + 4 * inj.strength, k), 2)
    inj.online(rows, merchant, amount, when.astype(np.int64), card, SCENARIO.code)


def plan(pl, n: int, t0: int, t1: int, rng: np.random.Generator) -> Attempts:
    """v3: a ring takes over a card: a spree of 2-8 online payments, tens of minutes to
    hours apart, at its favourite merchants, from its devices and addresses, amounts
    from the card's own spending level (somewhat above it)."""
    sizes = spree_sizes(n, 2, 8, rng)
    k = len(sizes)
    ring = pl.rings.pick(k, rng)
    start = pl.rings.start(ring, t0, t1, rng)
    ep, offset = spree_offsets(sizes, 45 * 60e6, 1.2, rng)
    card = pl.victims(k, rng)
    merchant = pl.rings.merchants(ring[ep], card[ep], rng)
    amount = pl.amounts(card[ep], rng, shift=0.35)
    device = pl.rings.device(ring, rng)
    return attempts(start[ep] + offset, card[ep], merchant, SCENARIO.code, ring[ep],
                    device[ep], amount, ep)


SCENARIO = Scenario(
    name="account_takeover",
    code=6,
    summary="a known card pays from a new device and IP, often abroad, big amounts",
    weight=0.15,
    inject=inject,
    plan=plan,
    report=ReportDelay(median_days=5.0, sigma=0.8),
)
