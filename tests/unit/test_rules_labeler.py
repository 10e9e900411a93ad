"""Rule-level tests of the labeller's exact-count correction (`labeler.correct_labels`)
on hand-made chunks: which rows it may relabel and how many."""

from __future__ import annotations

import numpy as np

from sqlgen.labeler import BURST, FILL, LOGISTIC, correct_labels


def _inputs(n=40):
    merchant = np.arange(n) % 4
    event = np.arange(n, dtype=np.int64) * 1_000_000
    risk = np.array([0.1, 0.9, 0.2, 0.3])[merchant]  # each row's merchant's risk
    return merchant, event, risk


def test_overshoot_unlabels_only_logistic_draws_never_planned_frauds():
    merchant, event, risk = _inputs()
    fixed = np.zeros(40, dtype=np.int8)
    fixed[:5] = 4  # planned card testing
    logistic = np.zeros(40, dtype=bool)
    logistic[3:20] = True  # 17 draws, 2 of them on planned rows (ignored there)
    out = correct_labels(logistic, 6, merchant, event, risk, 3, 10_000_000,
                         np.random.default_rng(1), fixed=fixed)
    assert (out[:5] == 4).all()  # planned frauds keep their code
    assert (out == LOGISTIC).sum() == 6
    assert set(np.flatnonzero(out == LOGISTIC)) <= set(range(5, 20))
    assert not np.isin(out, [BURST, FILL]).any()


def test_undershoot_adds_whole_bursts_then_fill():
    merchant, event, risk = _inputs()
    logistic = np.zeros(40, dtype=bool)
    logistic[[7, 9]] = True
    out = correct_labels(logistic, 2, merchant, event, risk, 3, 10_000_000,
                         np.random.default_rng(2), burst_target=3)
    assert (out == LOGISTIC).sum() == 2 and out[7] == out[9] == LOGISTIC
    burst = np.flatnonzero(out == BURST)
    assert len(burst) == 3 and len(set(merchant[burst])) == 1  # one wave at one merchant
    assert np.ptp(event[burst]) <= 2 * 10_000_000
    # Exactly the target, whatever the draw: fill makes up what bursts cannot.
    out = correct_labels(np.zeros(40, bool), 39, merchant, event, risk, 3, 10_000_000,
                         np.random.default_rng(3))
    assert (out != 0).sum() == 39
