"""account_takeover: a known card pays from a new device and IP, often abroad, with
amounts several times its usual."""

from __future__ import annotations

import numpy as np

from sqlgen.scenarios.base import DAY_US, GENUINE, HOUR_US, Injector, ReportDelay, Scenario


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


SCENARIO = Scenario(
    name="account_takeover",
    code=6,
    summary="a known card pays from a new device and IP, often abroad, big amounts",
    weight=0.15,
    inject=inject,
    report=ReportDelay(median_days=5.0, sigma=0.8),
)
