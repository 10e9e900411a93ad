"""burst: waves of `label.burst_size` frauds at one risky merchant within
±`label.burst_window_minutes` (placed by the labeler, `labeler._bursts`)."""

from __future__ import annotations

import numpy as np

from sqlgen.scenarios.base import Attempts, ReportDelay, Scenario, attempts, spree_sizes

SAME_COUNTRY = 0.8  # of a wave's cards (after its first) held in the merchant's country
# Of waves, this share are cloned cards cashed out in person at one shop of the ring's
# city within the window (a crew buying gift cards or goods with a batch of counterfeit
# cards): no device or address; the others online.
CLONED = 0.35


def plan(pl, n: int, t0: int, t1: int, rng: np.random.Generator) -> Attempts:
    """v3: a cash-out wave: a ring uses `label.burst_size` (±2) stolen cards at one of
    its favourite merchants within ±`label.burst_window_minutes`: many cards at one
    merchant in a short time; `CLONED` of the waves in person, with cloned cards at a
    shop of the ring's city."""
    label = pl.cfg.label
    size = label.burst_size
    sizes = spree_sizes(n, max(1, size - 2), size + 2, rng)
    k = len(sizes)
    ring = pl.rings.pick(k, rng)
    centre = pl.rings.start(ring, t0, t1, rng)
    wave = np.repeat(np.arange(k), sizes)
    card = pl.victims(len(wave), rng)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    shop = pl.rings.shops(ring, rng)
    cloned = (rng.random(k) < CLONED) & (shop >= 0)
    merchant = np.where(cloned, shop, pl.rings.merchants(ring, card[first], rng))
    # Card numbers are sold in batches by issuer country: most of a wave's other cards
    # are of holders of the merchant's country (a domestic purchase for each of them).
    rest = np.flatnonzero(rng.random(len(wave)) < SAME_COUNTRY)
    rest = rest[rest != first[wave[rest]]]
    card[rest] = pl.victims_in(pl.pop.merchant_country[merchant[wave[rest]]], rng)
    window = int(label.burst_window_minutes * 60e6)
    t = centre[wave] + rng.integers(-window, window + 1, len(wave))
    device = np.where(cloned[wave], -1, pl.rings.device(ring[wave], rng))
    return attempts(t, card, merchant[wave], SCENARIO.code, ring[wave], device,
                    pl.amounts(card, rng, shift=0.15),
                    np.arange(len(wave)), cloned[wave])  # each card is its own episode

SCENARIO = Scenario(
    name="burst",
    code=2,
    summary="waves of frauds at one risky merchant within a short window",
    weight=0.15,
    plan=plan,
    report=ReportDelay(median_days=14.0, sigma=0.7, cnp_factor=1.2),
)
