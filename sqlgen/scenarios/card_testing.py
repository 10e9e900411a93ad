"""card_testing: a run of 3-8 tiny online payments on one card at one digital-goods or
misc merchant, seconds to minutes apart."""

from __future__ import annotations

import numpy as np

from sqlgen.draws import MINUTE_US
from sqlgen.scenarios.base import Injector, ReportDelay, Scenario

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


SCENARIO = Scenario(
    name="card_testing",
    code=4,
    summary="runs of tiny online payments on one card at one merchant, minutes apart",
    weight=0.15,
    inject=inject,
    report=ReportDelay(median_days=3.0, sigma=0.7),
)
