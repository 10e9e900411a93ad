"""The issuer's authorisation outcome of each payment (realism v3): approved, or
declined with a reason. Codes: 0 approved, k > 0 declined for `REASONS[k - 1]`.

Genuine payments are sometimes declined (insufficient funds, do not honour, ...), fraud
attempts often (prevented fraud), card testing mostly, and every payment on a blocked
card is declined `card_blocked`. Decisions are outcomes, not features: a model that
reads them learns the issuer's rules, not fraud.
"""

from __future__ import annotations

import math

import numpy as np

from sqlgen import sampling
from sqlgen.config import AuthConfig
from sqlgen.schema import reference, static_vocabularies

APPROVED = 0
_FRAUD_AMOUNT_SLOPE = 0.5  # logit of a fraud decline per unit of log amount
# Screening stops many genuine payments per fraud it catches: genuine `suspected_fraud`
# declines per fraud attempt declined `suspected_fraud` (in expectation), falling on
# card-not-present and larger payments more often (what the issuer's rules look at).
SCREEN_FALSE_POSITIVES = 5.0
_SCREEN_REMOTE = 3.0  # weight of a card-not-present payment against one in person
_REMOTE_DECLINES, _PRESENT_DECLINES = 1.5, 0.7  # genuine decline rate x, by channel


def reasons() -> tuple[str, ...]:
    return static_vocabularies()["decline_reason"]


def reason_code(name: str) -> int:
    return reasons().index(name) + 1


# Reasons a stopped fraud attempt gets (relative weights).
_FRAUD_REASONS = {"suspected_fraud": 70, "do_not_honour": 20, "invalid_cvv": 10}
_TESTING_REASONS = {
    "invalid_cvv": 45, "do_not_honour": 20, "suspected_fraud": 20,
    "insufficient_funds": 10, "expired_card": 5,
}


def _draw(weights: dict[str, float], rng: np.random.Generator, n: int) -> np.ndarray:
    names = list(weights)
    pick = sampling.CdfSampler(np.asarray([weights[k] for k in names], float)).draw(n, rng)
    return np.asarray([reason_code(k) for k in names], dtype=np.int8)[pick]


def authorise(
    fraud: np.ndarray,
    testing: np.ndarray,
    remote: np.ndarray,
    amount_base: np.ndarray,
    blocked: np.ndarray,
    cfg: AuthConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Auth codes per row. `fraud`: fraud attempts (label_fraud); `testing`: card-testing
    attempts; `remote`: card not present; `blocked`: the card was blocked before."""
    n = len(fraud)
    out = np.zeros(n, dtype=np.int8)
    u = rng.random(n)
    # Card-not-present payments are declined more often than card-present ones (the
    # same rate on average over the channel mix).
    rate = cfg.genuine_decline_rate * np.where(remote, _REMOTE_DECLINES, _PRESENT_DECLINES)
    genuine = np.flatnonzero(~fraud & (u < rate))
    weights = {k: v for k, v in reference()["decline_reasons"].items() if v > 0}
    out[genuine] = _draw(weights, rng, len(genuine))
    # Fraud: larger amounts are stopped more often (prevented > lost by value).
    f = np.flatnonzero(fraud & ~testing)
    if len(f):
        log_amount = np.log(np.maximum(amount_base[f], 0.01))
        centre = float(np.median(log_amount))
        p = 1 / (1 + np.exp(-(_logit(cfg.fraud_decline_rate)
                               + _FRAUD_AMOUNT_SLOPE * (log_amount - centre))))
        stop = f[u[f] < p]
        out[stop] = _draw(_FRAUD_REASONS, rng, len(stop))
    t = np.flatnonzero(testing)
    stop = t[u[t] < cfg.testing_decline_rate]
    out[stop] = _draw(_TESTING_REASONS, rng, len(stop))
    _screen(out, fraud, remote, amount_base, rng)
    # A card-present payment has no CVV to get wrong.
    out[(out == reason_code("invalid_cvv")) & ~remote] = reason_code("do_not_honour")
    out[blocked] = reason_code("card_blocked")
    return out


def _screen(out: np.ndarray, fraud: np.ndarray, remote: np.ndarray, amount_base: np.ndarray,
            rng: np.random.Generator) -> None:
    """The screening's false positives: approved genuine payments declined
    `suspected_fraud`, `SCREEN_FALSE_POSITIVES` per fraud it stopped, by weight (card
    not present, amount against the median), in place."""
    sf = reason_code("suspected_fraud")
    caught = int(np.count_nonzero((out == sf) & fraud))
    cand = np.flatnonzero(~fraud & (out == APPROVED))
    if caught == 0 or len(cand) == 0:
        return
    log_amount = np.log(np.maximum(amount_base[cand], 0.01))
    w = np.where(remote[cand], _SCREEN_REMOTE, 1.0) * np.clip(
        np.exp(0.5 * (log_amount - np.median(log_amount))), 0.2, 5.0)
    p = np.minimum(1.0, SCREEN_FALSE_POSITIVES * caught * w / w.sum())
    out[cand[rng.random(len(cand)) < p]] = sf


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))
