"""Rule-level tests of authorisation (`sqlgen.generate.auth.authorise`) on hand-made rows:
which rows each rule reads, its rates, the amount slope's sign and size, and the order
of the overrides (card-present CVV, blocked cards)."""

from __future__ import annotations

import math

import numpy as np

from sqlgen.config import AuthConfig
from sqlgen.generate.auth import APPROVED, authorise, reason_code, reasons


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_fraud_declines_follow_the_amount_slope_around_the_median():
    n = 40_000
    # Half the fraud attempts at e^2 EUR, half at e^4: the median's log is 3 (between).
    amount = np.r_[np.full(n, math.e**2), np.full(n, math.e**4)]
    fraud = np.ones(2 * n, dtype=bool)
    none = np.zeros(2 * n, dtype=bool)
    cfg = AuthConfig(genuine_decline_rate=0.0, fraud_decline_rate=0.3)
    out = authorise(fraud, none, ~none, amount, none, cfg, np.random.default_rng(2))
    low, high = (out[:n] != APPROVED).mean(), (out[n:] != APPROVED).mean()
    logit = math.log(0.3 / 0.7)
    # slope 0.5 per unit of log amount, 1 unit either side of the centre
    assert abs(low - _expit(logit - 0.5)) < 0.01
    assert abs(high - _expit(logit + 0.5)) < 0.01


def test_each_kind_of_row_gets_its_own_rate_and_reasons():
    n = 30_000
    kind = np.repeat([0, 1, 2], n)  # genuine, fraud, card testing
    fraud, testing = kind >= 1, kind == 2
    remote = np.ones(3 * n, dtype=bool)
    amount = np.full(3 * n, 20.0)  # one amount: fraud at its centre, p = the rate
    cfg = AuthConfig(genuine_decline_rate=0.1, fraud_decline_rate=0.4, testing_decline_rate=0.8)
    out = authorise(fraud, testing, remote, amount, np.zeros(3 * n, bool), cfg,
                    np.random.default_rng(4))
    declined = (out != APPROVED).reshape(3, n).mean(axis=1)
    # Fraud and card testing: their configured rates. Genuine rows: more than their
    # rate, the screening's false positives (`suspected_fraud`) on top.
    assert np.allclose(declined[1:], [0.4, 0.8], atol=0.012)
    assert declined[0] > 0.15 + 0.05
    # Genuine rows alone (no fraud stopped, so no screening): the configured rate, x1.5
    # online and x0.7 in person.
    online = np.arange(2 * n) % 2 == 0
    alone = authorise(np.zeros(2 * n, bool), np.zeros(2 * n, bool), online,
                      np.full(2 * n, 20.0), np.zeros(2 * n, bool), cfg,
                      np.random.default_rng(5))
    rates = [(alone[online] != APPROVED).mean(), (alone[~online] != APPROVED).mean()]
    assert np.allclose(rates, [0.15, 0.07], atol=0.01)
    names = np.asarray(("approved", *reasons()))
    fraud_reasons = set(names[out[n:2 * n]]) - {"approved"}
    assert fraud_reasons == {"suspected_fraud", "do_not_honour", "invalid_cvv"}
    testing_reasons = set(names[out[2 * n:]]) - {"approved"}
    assert testing_reasons == {"invalid_cvv", "do_not_honour", "suspected_fraud",
                               "insufficient_funds", "expired_card"}
    assert "card_blocked" not in set(names[out])


def test_card_present_rows_never_fail_on_cvv_and_blocked_overrides_all():
    n = 20_000
    testing = np.ones(n, dtype=bool)
    remote = np.arange(n) % 2 == 0
    blocked = np.arange(n) % 4 == 1  # some card-present, no remote one
    cfg = AuthConfig(testing_decline_rate=1.0)
    out = authorise(testing, testing, remote, np.full(n, 5.0), blocked, cfg,
                    np.random.default_rng(6))
    cvv, dnh = reason_code("invalid_cvv"), reason_code("do_not_honour")
    assert (out[remote] == cvv).mean() > 0.35  # remote tests mostly fail on the CVV
    present = ~remote & ~blocked
    assert not (out[present] == cvv).any()
    assert (out[present] == dnh).mean() > 0.55  # 45% CVV moved to do_not_honour + 20%
    assert (out[blocked] == reason_code("card_blocked")).all()
    assert not (out[~blocked] == reason_code("card_blocked")).any()


def _shares(codes: np.ndarray) -> dict[str, float]:
    names = np.asarray(("approved", *reasons()))[codes]
    kinds, counts = np.unique(names, return_counts=True)
    return dict(zip(kinds.tolist(), (counts / counts.sum()).tolist(), strict=True))


class _Grid:
    """An rng whose uniforms are the evenly spaced grid (k + 0.5) / n: shares come out
    exact (to 1/n), no sampling noise."""

    def random(self, n):
        return (np.arange(n) + 0.5) / n


def test_reasons_follow_their_weights():
    n = 10_000
    one = np.ones(n, dtype=bool)
    # Genuine declines: reference.yaml's weights (45, 28, 8, 7, 12 of 100; none blocked).
    out = authorise(~one, ~one, one, np.full(n, 20.0), ~one,
                    AuthConfig(genuine_decline_rate=0.999), _Grid())
    got = _shares(out[out != APPROVED])
    want = {"insufficient_funds": 0.45, "do_not_honour": 0.28, "invalid_cvv": 0.08,
            "expired_card": 0.07, "suspected_fraud": 0.12}
    assert set(got) == set(want)
    assert all(abs(got[k] - want[k]) < 0.0005 for k in want), got
    # Card testing: 45, 20, 20, 10, 5 of 100.
    out = authorise(one, one, one, np.full(n, 2.0), ~one, AuthConfig(testing_decline_rate=1.0),
                    _Grid())
    got = _shares(out)
    want = {"invalid_cvv": 0.45, "do_not_honour": 0.20, "suspected_fraud": 0.20,
            "insufficient_funds": 0.10, "expired_card": 0.05}
    assert set(got) == set(want)
    assert all(abs(got[k] - want[k]) < 0.0005 for k in want), got
    # Other fraud: 70, 20, 10 of 100.
    out = authorise(one, ~one, one, np.full(n, 50.0), ~one, AuthConfig(fraud_decline_rate=1.0),
                    _Grid())
    got = _shares(out)
    want = {"suspected_fraud": 0.70, "do_not_honour": 0.20, "invalid_cvv": 0.10}
    assert set(got) == set(want)
    assert all(abs(got[k] - want[k]) < 0.0005 for k in want), got


def test_tiny_amounts_count_as_one_cent():
    # Interleaved groups (each sees the whole grid of uniforms): 0.005 (read as 0.01),
    # 0.015 and 1.0 EUR; the median log amount is log(0.015).
    n = 30_000
    amount = np.tile([0.005, 0.015, 1.0], n // 3)
    one = np.ones(n, dtype=bool)
    out = authorise(one, ~one, one, amount, ~one,
                    AuthConfig(genuine_decline_rate=0.0, fraud_decline_rate=0.3), _Grid())
    declined = (out != APPROVED).reshape(-1, 3).mean(axis=0)
    logit = math.log(0.3 / 0.7)
    want = [_expit(logit + 0.5 * math.log(0.01 / 0.015)), 0.3,
            _expit(logit + 0.5 * math.log(1 / 0.015))]
    assert np.allclose(declined, want, atol=0.0005), (declined, want)


def test_rates_at_their_bounds():
    n = 10_000
    one = np.ones(n, dtype=bool)
    amount = np.random.default_rng(0).lognormal(3, 1, n)  # the slope cannot lift p past 1
    for rate, declined in ((0.0, 0.0), (1.0, 1.0)):
        cfg = AuthConfig(genuine_decline_rate=0.0, fraud_decline_rate=rate,
                         testing_decline_rate=rate)
        for testing in (~one, one):
            out = authorise(one, testing, one, amount, ~one, cfg, np.random.default_rng(1))
            assert (out != APPROVED).mean() == declined, (rate, testing[0])


def test_screen_declines_five_genuine_per_fraud_caught_by_channel_and_amount():
    # 2,000 fraud attempts all stopped (about 70% of them `suspected_fraud`), then
    # 90,000 approved genuine rows in three interleaved kinds: online at 0.04 EUR, online
    # at 0 EUR (read as one cent) and in person at 0.04 EUR. The median log amount is
    # log(0.04), so the weights are sqrt(amount / 0.04) x 3 online: 3 : 1.5 : 1.
    n_fraud, n = 2_000, 90_000
    fraud = np.r_[np.ones(n_fraud, bool), np.zeros(n, bool)]
    remote = np.r_[np.ones(n_fraud, bool), np.tile([True, True, False], n // 3)]
    amount = np.r_[np.ones(n_fraud), np.tile([0.04, 0.0, 0.04], n // 3)]
    none = np.zeros(len(fraud), bool)
    cfg = AuthConfig(genuine_decline_rate=0.0, fraud_decline_rate=1.0)
    out = authorise(fraud, none, remote, amount, none, cfg, np.random.default_rng(3))
    sf = reason_code("suspected_fraud")
    caught = int((out[:n_fraud] == sf).sum())
    assert 0.65 < caught / n_fraud < 0.75
    flagged = (out[n_fraud:] == sf).reshape(-1, 3).sum(axis=0)
    assert set(np.unique(out[n_fraud:])) == {APPROVED, sf}
    # Five false positives per fraud caught, shared 3 : 1.5 : 1 (6 : 3 : 2).
    assert abs(flagged.sum() / (5 * caught) - 1) < 0.05, (flagged, caught)
    assert np.allclose(flagged / flagged.sum(), [6 / 11, 3 / 11, 2 / 11], atol=0.015), flagged
