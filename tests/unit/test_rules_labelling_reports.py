"""Rule-level tests of the v3 label noise and report times at their edges
(`labeler.add_noise_v3`, `labeler.report_times_v3`): every fraud unreported once when
the chunk has as many disputes, and the one-second floor of a report's delay."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sqlgen.generate.labeler import FALSE_REPORT, add_noise_v3, report_times_v3

DAY = 86_400_000_000


def test_as_many_disputes_as_frauds_leave_every_fraud_unreported_once():
    # 10 frauds and 12 planned disputes: k = min(12, 10) = 10, so each fraud is missed
    # exactly once (drawn without replacement) and 10 of the disputes are reported.
    scenario = np.r_[np.arange(1, 11) % 6 + 1, np.zeros(12)].astype(np.int8)
    before = scenario.copy()
    dispute = np.r_[np.zeros(10, bool), np.ones(12, bool)]
    for seed in range(5):
        s = before.copy()
        add_noise_v3(s, dispute, np.random.default_rng(seed))
        assert (s[:10] == -before[:10]).all(), seed
        assert (s[10:] == FALSE_REPORT).sum() == 10 and (s[10:] == 0).sum() == 2


class _Tiny:
    """An rng whose lognormal draws are a billionth of their median: delays far below
    a second."""

    def lognormal(self, mean, sigma, size=None):
        return np.exp(mean) * 1e-9


def test_a_report_comes_at_least_one_second_after_the_payment():
    scenario = np.arange(1, 8, dtype=np.int8)  # one row of every scenario code (1..7)
    event = np.full(7, 100 * DAY, dtype=np.int64)
    out = report_times_v3(scenario, event, np.zeros(7, bool), np.zeros(7, np.int8),
                          np.zeros(7, np.int64), _Tiny())
    delay = out.cast(pa.int64()).to_numpy() - event
    assert delay.tolist() == [1_000_000] * 7  # exactly the floor: one second, in us


def test_a_reported_dispute_keeps_its_planned_report():
    day = DAY
    # A reported dispute with its planned report, a false report without one (its
    # scenario's median, 30 days), a genuine row, and a dispute left genuine.
    scenario = np.array([FALSE_REPORT, FALSE_REPORT, 0, 0], dtype=np.int8)
    disputed = np.array([True, False, False, True])
    event = np.full(4, 100 * day, dtype=np.int64)
    planned_reported = np.array([125, 0, 0, 140], dtype=np.int64) * day

    class Median:
        def lognormal(self, mean, sigma, size=None):
            return np.exp(mean)

    out = report_times_v3(scenario, event, np.ones(4, bool), np.zeros(4, np.int8),
                          planned_reported, Median(), disputed=disputed)
    assert out.is_null().to_pylist() == [False, False, True, True]
    t = out.cast(pa.int64()).to_numpy(zero_copy_only=False)
    assert t[0] == 125 * day  # as planned
    assert t[1] == 130 * day  # not planned: false_report's median, 30 days
