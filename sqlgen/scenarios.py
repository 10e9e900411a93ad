"""v2 fraud scenarios injected into a chunk's draws before SQL.

Each scenario overwrites randomly chosen rows of the chunk with the pattern it names and
returns their codes; the labeler then fills the logistic and burst shares around them.
Loops run per episode (a handful of rows), never per row of the chunk.

- card_testing: a run of 3-8 tiny online payments on one card at one merchant, seconds
  to minutes apart.
- compromised_merchant: cards seen at one merchant are used elsewhere 1-10 days later.
- account_takeover: a known card pays from a new device and IP, often abroad, with
  amounts several times its usual.

Injection rewrites who, where, when and how much (the skeleton, before the time sort);
`fraudster_devices` then gives the injected rows, in time order, the fraudster's
online channel, a device no customer owns, and random IPs and browsers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sqlgen import sampling
from sqlgen.draws import MINUTE_US, Draws, combo_code
from sqlgen.labeler import CARD_TESTING, COMPROMISED, GENUINE, TAKEOVER

if TYPE_CHECKING:
    from sqlgen.chunks import ChunkContext
    from sqlgen.plan import ChunkSpec

HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
TESTING_MCCS = ("5815", "5999", "5967")  # digital goods, misc retail, direct marketing


def strength(difficulty: float) -> float:
    """How far fraud stands out: e at difficulty 0, 1 at 0.5, 1/e at 1."""
    return math.exp(2 * (0.5 - difficulty))


class Injector:
    def __init__(self, ctx: ChunkContext, spec: ChunkSpec, draws: Draws, rng: np.random.Generator):
        self.ctx, self.spec, self.d, self.rng = ctx, spec, draws, rng
        self.codes = np.zeros(spec.rows, dtype=np.int8)
        self.strength = strength(ctx.cfg.label.difficulty)

    def _take(self, k: int) -> np.ndarray:
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

    def _online(
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
        d["amount_raw"][rows] = amount / self.ctx.merchant_scale[merchant]
        d["event_us"][rows] = np.clip(times, self.spec.t0_us, self.spec.t1_us - 1)
        self.codes[rows] = code

    def _episodes(self, rows: np.ndarray, low: int, high: int) -> list[np.ndarray]:
        """Split rows into consecutive episodes of low..high rows (the last may be short)."""
        sizes = self.rng.integers(low, high + 1, len(rows) // low + 1)
        bounds = np.cumsum(sizes)
        bounds = bounds[bounds < len(rows)]
        return [e for e in np.split(rows, bounds) if len(e)]

    def card_testing(self, quota: int) -> None:
        rng, t0, t1 = self.rng, self.spec.t0_us, self.spec.t1_us
        merchants = self.ctx.testing_merchants
        for rows in self._episodes(self._take(quota), 3, 8):
            k = len(rows)
            start = int(rng.integers(t0, max(t0 + 1, t1 - 30 * MINUTE_US)))
            gaps = rng.integers(20_000_000, 180_000_000, k).cumsum()
            amount = np.round(rng.uniform(0.5, 5.0, k), 2)
            merchant = int(rng.choice(merchants))
            card = int(rng.integers(0, len(self.ctx.card_owner)))
            self._online(rows, np.full(k, merchant), amount, start + gaps, card, CARD_TESTING)

    def compromised_merchant(self, quota: int) -> None:
        d, rng, t1 = self.d, self.rng, self.spec.t1_us
        genuine = np.flatnonzero(self.codes == GENUINE)
        pick = sampling.cdf(self.ctx.merchant_risk[d["merchant_id"][genuine]])
        for _ in range(50):  # episodes; a merchant with no usable visits is skipped
            if quota <= 0:
                return
            m = d["merchant_id"][genuine[sampling.draw_from_cdf(pick, 1, rng)[0]]]
            seen = np.flatnonzero(d["merchant_id"] == m)
            seen = seen[(self.codes[seen] == GENUINE) & (d["event_us"][seen] < t1 - HOUR_US)]
            _, first = np.unique(d["card_id"][seen], return_index=True)
            seen = seen[first][: min(quota, 40)]
            if len(seen) == 0:
                continue
            self.codes[seen] = -1  # the visits themselves stay genuine
            rows = self._take(len(seen))
            self.codes[seen] = GENUINE
            seen = seen[: len(rows)]
            when = d["event_us"][seen] + rng.uniform(1, 10, len(seen)) * DAY_US
            late = when >= t1
            when[late] = rng.uniform(d["event_us"][seen][late] + HOUR_US, t1)
            elsewhere = self.ctx.merchants.draw(len(rows), rng)
            amount = np.round(rng.lognormal(4.0, 0.8, len(rows)) * self.strength, 2) + 1
            self._online(
                rows,
                elsewhere,
                amount,
                when.astype(np.int64),
                d["card_id"][seen].copy(),
                COMPROMISED,
            )
            quota -= len(rows)

    def account_takeover(self, quota: int) -> None:
        d, rng, t1 = self.d, self.rng, self.spec.t1_us
        abroad_p = min(0.9, 0.6 * self.strength)
        spec = self.ctx.cfg.feature.amount
        usual = float(np.exp(spec.mu)) if hasattr(spec, "mu") else 30.0
        episodes_guess = max(1, quota // 2 + 1)
        known_all = self._take(episodes_guess)
        self.codes[known_all] = -1  # the cards' own earlier payments: kept, stay genuine
        episodes = self._episodes(self._take(quota), 1, 4)
        self.codes[known_all] = GENUINE
        for known, rows in zip(known_all, episodes, strict=False):
            card = d["card_id"][known]
            start = d["event_us"][known]
            when = start + rng.uniform(HOUR_US, 3 * DAY_US, len(rows))
            when = np.where(when >= t1, rng.uniform(start, t1, len(rows)), when)
            merchant = self.ctx.merchants.draw(len(rows), rng)
            home = self.ctx.customer_country[self.ctx.card_owner[card]]
            stay = rng.random(len(rows)) >= abroad_p
            local = self.ctx.home_merchants.draw(np.full(int(stay.sum()), home), rng)
            merchant[np.flatnonzero(stay)[local >= 0]] = local[local >= 0]
            amount = np.round(usual * rng.uniform(2, 2 + 4 * self.strength, len(rows)), 2)
            self._online(rows, merchant, amount, when.astype(np.int64), card, TAKEOVER)


def inject(
    ctx: ChunkContext,
    spec: ChunkSpec,
    draws: Draws,
    quotas: dict[str, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """Inject the scenario quotas into `draws`; return codes and the unplaced remainder."""
    injector = Injector(ctx, spec, draws, rng)
    for name in ("card_testing", "compromised_merchant", "account_takeover"):
        if quotas.get(name):
            getattr(injector, name)(quotas[name])
    placed = int(np.count_nonzero(injector.codes))
    wanted = sum(
        quotas.get(n, 0) for n in ("card_testing", "compromised_merchant", "account_takeover")
    )
    return injector.codes, wanted - placed


INJECTED = (CARD_TESTING, COMPROMISED, TAKEOVER)


def fraudster_devices(ctx: ChunkContext, draws: Draws, codes: np.ndarray, rng) -> None:
    """Online payments from a fresh device, IP and browser for the injected rows."""
    rows = np.flatnonzero(np.isin(codes, INJECTED))
    k = len(rows)
    draws["combo"][rows] = combo_code("ecom", "desktop", "ecommerce")
    draws["device_fresh"][rows] = True  # a random device id, not one of the customer's
    draws["device_null"][rows] = False
    draws["is_recurring"][rows] = False
    draws["ip_idx"][rows] = rng.integers(0, ctx.n_ip, k)
    draws["ua_idx"][rows] = rng.integers(0, ctx.n_ua, k)
