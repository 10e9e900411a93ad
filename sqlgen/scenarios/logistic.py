"""logistic: the SQL logistic draw (`sql/chunk_score.sql`) on amount, merchant and card
risk and night; the labeler corrects it to the exact count (v1, v2). In v3 it is planned
like every other fraud (`plan`), so its report blocks the card too."""

from __future__ import annotations

import numpy as np

from sqlgen.scenarios.base import (
    Attempts,
    ReportDelay,
    Scenario,
    attempts,
    spree_offsets,
    spree_sizes,
)

_RISKY_MERCHANT = 0.3  # of attempts at merchants by hidden risk x popularity
_COUNTERFEIT = 0.3  # of cards used in person with a cloned card (`Rings.cashout_shops`)


def plan(pl, n: int, t0: int, t1: int, rng: np.random.Generator) -> Attempts:
    """v3: a stolen card (riskier cards more often) used a few times, hours to days
    apart, by a fraudster of a ring: at risky merchants or where the holder would
    shop, online from the ring's devices or (30%) in person with a cloned card (mostly
    in the victim's town), in the ring's hours (night for some), amounts a little above
    the card's own level."""
    sizes = spree_sizes(n, 1, 4, rng)
    k = len(sizes)
    ring = pl.rings.pick(k, rng)
    start = pl.rings.start(ring, t0, t1, rng)
    ep, offset = spree_offsets(sizes, 6 * 3600e6, 1.3, rng)
    card = pl.risky_victims(k, rng)
    risky = rng.random(len(ep)) < _RISKY_MERCHANT
    merchant = np.where(risky, pl.breach_merchants(len(ep), rng),
                        pl.rings.merchants(ring[ep], card[ep], rng))
    shop = pl.rings.cashout_shops(ring, card, rng)
    present = (rng.random(k) < _COUNTERFEIT) & (shop >= 0)
    merchant = np.where(present[ep], shop[ep], merchant)
    amount = pl.amounts(card[ep], rng, shift=0.2)
    device = np.where(present, -1, pl.rings.device(ring, rng))
    return attempts(start[ep] + offset, card[ep], merchant, SCENARIO.code, ring[ep],
                    device[ep], amount, ep, present[ep])


SCENARIO = Scenario(
    name="logistic",
    code=1,
    summary="the logistic draw on amount, merchant and card risk, night",
    weight=0.45,
    plan=plan,
    report=ReportDelay(median_days=10.0, sigma=0.8, cnp_factor=1.3),
)
