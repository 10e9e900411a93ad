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

    def _episodes(self, k: int, low: int, high: int) -> np.ndarray:
        """Episode number of each of k rows: consecutive runs of low..high rows (the
        last may be short)."""
        sizes = self.rng.integers(low, high + 1, k // low + 1)
        return np.repeat(np.arange(len(sizes)), sizes)[:k]

    def card_testing(self, quota: int) -> None:
        rng, t0, t1 = self.rng, self.spec.t0_us, self.spec.t1_us
        rows = self._take(quota)
        ep = self._episodes(len(rows), 3, 8)
        n_ep = int(ep[-1]) + 1 if len(ep) else 0
        start = rng.integers(t0, max(t0 + 1, t1 - 30 * MINUTE_US), n_ep)
        merchant = rng.choice(self.ctx.testing_merchants, n_ep)
        card = rng.integers(0, len(self.ctx.card_owner), n_ep)
        # Seconds to minutes apart: a running sum of gaps, restarted for each episode.
        gaps = rng.integers(20_000_000, 180_000_000, len(rows))
        total = np.cumsum(gaps)
        first = np.flatnonzero(np.diff(ep, prepend=-1))
        elapsed = total - (total[first] - gaps[first])[ep]
        amount = np.round(rng.uniform(0.5, 5.0, len(rows)), 2)
        self._online(rows, merchant[ep], amount, start[ep] + elapsed, card[ep], CARD_TESTING)

    def compromised_merchant(self, quota: int) -> None:
        d, rng, t1 = self.d, self.rng, self.spec.t1_us
        genuine = np.flatnonzero(self.codes == GENUINE)
        pick = sampling.cdf(self.ctx.merchant_risk[d["merchant_id"][genuine]])
        # Rows grouped by merchant, ascending within each merchant.
        by_merchant = sampling.id_order(d["merchant_id"])
        merchants_sorted = d["merchant_id"][by_merchant]
        for _ in range(50):  # episodes; a merchant with no usable visits is skipped
            if quota <= 0:
                return
            m = d["merchant_id"][genuine[sampling.draw_from_cdf(pick, 1, rng)[0]]]
            lo, hi = np.searchsorted(merchants_sorted, [m, m + 1])
            seen = by_merchant[lo:hi]
            seen = seen[(self.codes[seen] == GENUINE) & (d["event_us"][seen] < t1 - HOUR_US)]
            seen = _distinct_cards(seen, d["card_id"], min(quota, 40))
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
        known = self._take(max(1, quota // 2 + 1))  # one earlier payment per taken-over card
        self.codes[known] = -1  # those payments are kept and stay genuine
        rows = self._take(quota)
        self.codes[known] = GENUINE
        ep = self._episodes(len(rows), 1, 4)
        rows, ep = rows[ep < len(known)], ep[ep < len(known)]
        k = len(rows)
        card = d["card_id"][known][ep]
        start = d["event_us"][known][ep]
        when = start + rng.uniform(HOUR_US, 3 * DAY_US, k)
        late = np.flatnonzero(when >= t1)
        when[late] = rng.uniform(start[late], t1)
        merchant = self.ctx.merchants.draw(k, rng)
        stay = np.flatnonzero(rng.random(k) >= abroad_p)
        home = self.ctx.customer_country[self.ctx.card_owner[card[stay]]]
        local = self.ctx.home_merchants.draw(home, rng)
        merchant[stay[local >= 0]] = local[local >= 0]
        amount = np.round(usual * rng.uniform(2, 2 + 4 * self.strength, k), 2)
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


def _distinct_cards(rows: np.ndarray, card_id: np.ndarray, k: int) -> np.ndarray:
    """Up to k of `rows` with distinct cards, the first visit of each among the earliest
    rows (rows are in random order here); looks at a growing prefix, not all rows."""
    window = 4 * k
    while True:
        _, first = np.unique(card_id[rows[:window]], return_index=True)
        if len(first) >= k or window >= len(rows):
            return rows[np.sort(first)[:k]]
        window *= 4


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
