"""What a fraud scenario is (`Scenario`), and the `Injector` that rewrites a chunk's
draws for the injected ones.

Injection rewrites who, where, when and how much (the skeleton, before the time sort);
`fraudster_devices` (in the package) then gives the injected rows, in time order, the
fraudster's online channel, a device no customer owns, and random IPs and browsers.
Loops run per episode (a handful of rows), never per row of the chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sqlgen.combos import MINUTE_US, Draws

if TYPE_CHECKING:
    from sqlgen.generate.plan import ChunkSpec
    from sqlgen.generate.population import Population

GENUINE = 0  # the code of a genuine payment
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US


# Planned attempts (v3), one entry per row: `t` (µs), `card`, `merchant`, `code` (the
# scenario; VISIT for a planted genuine payment, DISPUTE for a planted dispute), `ring`
# and `device` (the fraudster's; -1: none), `amount_raw` (before the merchant's price
# level) and `episode` (rows of one episode share their report and the card's block).
Attempts = dict[str, np.ndarray]
VISIT = -2  # a planned genuine payment (a breached merchant's customer), code 0 when written
# A planned dispute (v3 label noise): a genuine card-not-present payment its holder
# reports as fraud (`false_report`); its report blocks the card. Code 0 when written.
DISPUTE = -3


def attempts(
    t: np.ndarray,
    card: np.ndarray,
    merchant: np.ndarray,
    code: int | np.ndarray,
    ring: np.ndarray,
    device: np.ndarray,
    amount_raw: np.ndarray,
    episode: np.ndarray,
    present: np.ndarray | None = None,
) -> Attempts:
    n = len(t)
    return {
        # card present (a counterfeit card in a shop); else online
        "present": np.zeros(n, dtype=bool) if present is None else np.asarray(present, bool),
        "t": np.asarray(t, dtype=np.int64),
        "card": np.asarray(card, dtype=np.int64),
        "merchant": np.asarray(merchant, dtype=np.int64),
        "code": np.broadcast_to(np.asarray(code, dtype=np.int8), (n,)).copy(),
        "ring": np.asarray(ring, dtype=np.int64),
        "device": np.asarray(device, dtype=np.int64),
        "amount_raw": np.asarray(amount_raw, dtype=np.float64),
        "episode": np.asarray(episode, dtype=np.int64),
    }


def spree_sizes(n: int, low: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """Episode sizes in low..high whose sum is exactly n (the last one cut short)."""
    sizes = rng.integers(low, high + 1, n // max(low, 1) + 1)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, n)) + 1
    sizes = sizes[:k]
    if k:
        sizes[-1] -= int(cum[k - 1]) - n
    return sizes[sizes > 0]


def spree_offsets(sizes: np.ndarray, median_gap_us: float, sigma: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Episode index of each attempt and its time after the episode's first attempt:
    lognormal gaps (median `median_gap_us`), the first at 0."""
    ep = np.repeat(np.arange(len(sizes)), sizes)
    gaps = rng.lognormal(np.log(median_gap_us), sigma, len(ep))
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    gaps[first] = 0
    total = np.cumsum(gaps)
    return ep, (total - total[first][ep]).astype(np.int64)


@dataclass(frozen=True)
class ReportDelay:
    """When a fraud of this scenario is reported (realism v3): lognormal days from the
    payment, median `median_days` (x `cnp_factor` for card-not-present payments),
    spread `sigma`, capped at the 120-day chargeback window. v1/v2 use the config's
    one `label.report_delay_*` for every scenario."""

    median_days: float = 7.0
    sigma: float = 0.8
    cnp_factor: float = 1.0


@dataclass(frozen=True)
class Scenario:
    name: str  # the `fraud_scenario` label
    code: int  # stable integer code (draws, lookup tables); never renumbered
    summary: str  # one line for the README, config comments and `sqlgen report`
    # Default relative weight in the config's `scenarios` section; None: not a
    # configurable share (a correction or label noise).
    weight: float | None = None
    # v2: rewrites draws before scoring: inject(injector, quota). None: labeler-made.
    inject: Callable[[Injector, int], None] | None = None
    # v3: plans a day's episodes: plan(planner, attempts, t0_us, t1_us, rng) ->
    # Attempts starting in [t0, t1) (`sqlgen.generate.episodes`; every time within the bounds
    # `Planner._day` checks). None: not planned in v3.
    plan: Callable[..., Attempts] | None = None
    report: ReportDelay = ReportDelay()


def strength(difficulty: float) -> float:
    """How far fraud stands out: e at difficulty 0, 1 at 0.5, 1/e at 1."""
    return math.exp(2 * (0.5 - difficulty))


class Injector:
    """One chunk's injection state: the draws, the codes written so far, the stream."""

    def __init__(
        self, pop: Population, spec: ChunkSpec, draws: Draws, rng: np.random.Generator
    ):
        self.pop, self.spec, self.d, self.rng = pop, spec, draws, rng
        self.codes = np.zeros(spec.rows, dtype=np.int8)
        self.strength = strength(pop.cfg.label.difficulty)

    def take(self, k: int) -> np.ndarray:
        """Up to k random rows not yet used, by rejection: O(k), not O(chunk)."""
        codes, n = self.codes, len(self.codes)
        got = np.empty(0, dtype=np.int64)
        for _ in range(20):
            if len(got) >= k:
                return got[:k]
            cand = self.rng.integers(0, n, 2 * (k - len(got)) + 8)
            cand = np.concatenate([got, cand[codes[cand] == GENUINE]])
            _, first = np.unique(cand, return_index=True)
            got = cand[np.sort(first)]  # distinct, in draw order
        free = np.flatnonzero(codes == GENUINE)  # nearly full chunk: exact fallback
        return self.rng.choice(free, min(k, len(free)), replace=False)

    def online(
        self,
        rows: np.ndarray,
        merchant: np.ndarray,
        amount: np.ndarray,
        times: np.ndarray,
        card: np.ndarray | int,
        code: int,
    ) -> None:
        """Write a fraudster's online payments (their device: `fraudster_devices`)."""
        d = self.d
        d["card_id"][rows] = card
        d["merchant_id"][rows] = merchant
        d["amount_raw"][rows] = amount / self.pop.merchant_scale[merchant]
        d["event_us"][rows] = np.clip(times, self.spec.t0_us, self.spec.t1_us - 1)
        self.codes[rows] = code

    def episodes(self, k: int, low: int, high: int) -> np.ndarray:
        """Episode number of each of k rows: consecutive runs of low..high rows (the
        last may be short)."""
        sizes = self.rng.integers(low, high + 1, k // low + 1)
        return np.repeat(np.arange(len(sizes)), sizes)[:k]
