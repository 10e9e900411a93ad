"""Rule-level tests of authorisation's edges (`sqlgen.generate.auth`): the screening with
one fraud caught or one candidate, and the clamp that keeps a decline rate of 0 or 1
finite in the logit (what it does to fraud far from the median amount)."""

from __future__ import annotations

import math

import numpy as np

from sqlgen.config import AuthConfig
from sqlgen.generate.auth import APPROVED, authorise, reason_code


class _Grid:
    """An rng whose uniforms are the evenly spaced grid (k + 0.5) / n: shares come out
    exact (to 1/n), no sampling noise."""

    def random(self, n):
        return (np.arange(n) + 0.5) / n


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_one_fraud_caught_flags_its_one_genuine_candidate():
    # Row 0: a fraud attempt, stopped (rate 1: p = 1 - 1e-6 > u = 0.25) and, with the
    # grid's u = 0.5 below 0.7 (suspected_fraud's share of fraud reasons), declined
    # `suspected_fraud`. Row 1: the one approved genuine payment (decline rate 0). One
    # caught x 5 false positives over one candidate: p = min(1, 5) = 1, so it is flagged.
    fraud = np.array([True, False])
    none = np.zeros(2, dtype=bool)
    cfg = AuthConfig(genuine_decline_rate=0.0, fraud_decline_rate=1.0)
    out = authorise(fraud, none, ~none, np.array([10.0, 10.0]), none, cfg, _Grid())
    sf = reason_code("suspected_fraud")
    assert out.tolist() == [sf, sf]
    # Without the fraud (nothing caught) the genuine payment stays approved.
    out = authorise(none, none, ~none, np.array([10.0, 10.0]), none, cfg, _Grid())
    assert out.tolist() == [APPROVED, APPROVED]


def test_screening_shares_false_positives_over_candidates_by_weight():
    # One fraud caught (as above), 10 approved genuine candidates of one amount in one
    # channel: equal weights, p = 5 x 1 / 10 = 0.5 each; the screening's uniforms are the
    # grid 0.05, 0.15, ..., 0.95, so exactly the five below 0.5 are flagged.
    n = 11
    fraud = np.r_[True, np.zeros(10, bool)]
    none = np.zeros(n, dtype=bool)
    cfg = AuthConfig(genuine_decline_rate=0.0, fraud_decline_rate=1.0)
    out = authorise(fraud, none, ~none, np.full(n, 10.0), none, cfg, _Grid())
    sf = reason_code("suspected_fraud")
    assert out[0] == sf
    assert out[1:].tolist() == [sf] * 5 + [APPROVED] * 5


def test_a_rate_of_zero_or_one_acts_as_one_in_a_million_in_the_logit():
    # Fraud attempts at three amounts, interleaved so each sees the whole grid of
    # uniforms: 1, e^20 and e^40 EUR; the median log amount is 20. The logit of a rate
    # clamped to [1e-6, 1 - 1e-6] is -+13.8155; the slope 0.5 moves it by -+10 at the
    # extremes, so far from the median a rate of 0 (or 1) still declines (or approves)
    # a visible share: expit(-13.8155 + 10) = 2.15% at e^40 EUR.
    n = 30_000
    amount = np.tile([1.0, math.e**20, math.e**40], n // 3)
    one = np.ones(n, dtype=bool)
    clamp = math.log(1e-6 / (1 - 1e-6))
    for rate, logit in ((0.0, clamp), (1.0, -clamp)):
        cfg = AuthConfig(genuine_decline_rate=0.0, fraud_decline_rate=rate)
        out = authorise(one, ~one, one, amount, ~one, cfg, _Grid())
        declined = (out != APPROVED).reshape(-1, 3).mean(axis=0)
        want = [_expit(logit - 10), _expit(logit), _expit(logit + 10)]
        assert np.allclose(declined, want, atol=3 / n), (rate, declined, want)


def test_a_caught_fraud_with_no_genuine_candidate_leaves_the_rest_quietly():
    # Row 0 a fraud stopped `suspected_fraud` (as above); row 1 genuine but declined
    # (genuine rate 0.9 above its uniform 0.75: not approved, so no candidate for the
    # screening). The screening has nothing to flag: the decisions stand, and no
    # statistic of an empty set is taken (numpy would warn "Mean of empty slice" on the
    # user's terminal).
    import warnings

    fraud = np.array([True, False])
    none = np.zeros(2, dtype=bool)
    cfg = AuthConfig(genuine_decline_rate=0.9, fraud_decline_rate=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = authorise(fraud, none, ~none, np.array([10.0, 10.0]), none, cfg, _Grid())
    assert out[0] == reason_code("suspected_fraud") and out[1] != APPROVED
