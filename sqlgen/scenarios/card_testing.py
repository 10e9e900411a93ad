"""card_testing: a run of 3-8 tiny online payments on one card at one digital-goods or
misc merchant, seconds to minutes apart."""

from __future__ import annotations

import numpy as np

from sqlgen import sampling
from sqlgen.combos import MINUTE_US
from sqlgen.scenarios.base import (
    Attempts,
    Injector,
    ReportDelay,
    Scenario,
    attempts,
    spree_offsets,
    spree_sizes,
)

TESTING_MCCS = ("5815", "5999", "5967")  # digital goods, misc retail, direct marketing


def inject(inj: Injector, quota: int) -> None:
    rng, t0, t1, pop = inj.rng, inj.spec.t0_us, inj.spec.t1_us, inj.pop
    rows = inj.take(quota)
    ep = inj.episodes(len(rows), 3, 8)
    n_ep = int(ep[-1]) + 1 if len(ep) else 0
    start = rng.integers(t0, max(t0 + 1, t1 - 30 * MINUTE_US), n_ep)
    merchant = rng.choice(pop.testing_merchants, n_ep)
    card = rng.integers(0, len(pop.card_owner), n_ep)
    # Seconds to minutes apart: a running sum of gaps, restarted for each episode.
    gaps = rng.integers(20_000_000, 180_000_000, len(rows))
    total = np.cumsum(gaps)
    first = np.flatnonzero(np.diff(ep, prepend=-1))
    elapsed = total - (total[first] - gaps[first])[ep]
    amount = np.round(rng.uniform(0.5, 5.0, len(rows)), 2)
    inj.online(rows, merchant[ep], amount, start[ep] + elapsed, card[ep], SCENARIO.code)


# Small digital sums in EUR before conversion (the merchant's price level and currency
# follow): the price points of genuine in-app purchases, top-ups and donations
# (`episodes` gives genuine payments at these merchants the same ones), so a test buys
# what a holder would.
MICRO_PRICES = np.asarray([0.99, 1.49, 1.99, 2.99, 4.99])
_SMALL = 0.15  # a test at an ordinary shop: the low end of its usual amounts
DIGITAL = 0.4  # of runs at digital-goods and misc merchants (frictionless small sums)


def plan(pl, n: int, t0: int, t1: int, rng: np.random.Generator) -> Attempts:
    """v3: a ring tests stolen card numbers: runs of 3-8 small attempts on one card at
    one merchant, about a minute apart, from one of its devices."""
    sizes = spree_sizes(n, 3, 8, rng)
    k = len(sizes)
    ring = pl.rings.pick(k, rng)
    start = pl.rings.start(ring, t0, t1, rng)
    ep, offset = spree_offsets(sizes, 60e6, 0.8, rng)
    card = pl.victims(k, rng)
    # `DIGITAL` at digital-goods and misc merchants with a small price point; the others
    # at shops the holder might use, with a small purchase for that shop.
    digital = rng.random(k) < DIGITAL
    merchant = np.where(digital, rng.choice(pl.pop.testing_merchants, k),
                        pl.rings.merchants(ring, card, rng))[ep]
    small = sampling.amounts(pl.cfg.feature.amount, len(ep), rng) * _SMALL
    amount = np.where(digital[ep], rng.choice(MICRO_PRICES, len(ep)) / pl.pop.merchant_scale[
        merchant], small)
    device = pl.rings.device(ring, rng)
    return attempts(start[ep] + offset, card[ep], merchant, SCENARIO.code, ring[ep],
                    device[ep], amount, ep)


SCENARIO = Scenario(
    name="card_testing",
    code=4,
    summary="runs of tiny online payments on one card at one merchant, minutes apart",
    weight=0.15,
    inject=inject,
    plan=plan,
    report=ReportDelay(median_days=3.0, sigma=0.7),
)
