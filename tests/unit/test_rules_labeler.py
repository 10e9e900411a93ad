"""Rule-level tests of the labeller's exact-count correction (`labeler.correct_labels`)
on hand-made chunks: which rows it may relabel and how many."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sqlgen.generate.labeler import (
    BURST,
    FALSE_REPORT,
    FILL,
    LOGISTIC,
    add_noise_v3,
    correct_labels,
    report_times,
    report_times_v3,
)


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


def test_target_zero_and_all_free_rows_are_allowed():
    merchant, event, risk = _inputs()
    out = correct_labels(np.ones(40, bool), 0, merchant, event, risk, 3, 10,
                         np.random.default_rng(1))
    assert (out == 0).all()
    out = correct_labels(np.zeros(40, bool), 40, merchant, event, risk, 3, 10,
                         np.random.default_rng(1))
    assert (out != 0).all()


class _Median:
    """An rng whose lognormal draws are their median (times `factor`)."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def lognormal(self, mean, sigma, size=None):
        value = np.exp(mean) * self.factor
        return value if size is None else np.broadcast_to(value, (size,)).copy()


DAY = 86_400_000_000


def test_report_times_are_the_payment_plus_the_delay_in_days():
    scenario = np.array([0, 1, 0, 2], dtype=np.int8)
    event = np.array([10, 20, 30, 40], dtype=np.int64) * DAY
    out = report_times(scenario, event, 2.5, 0.8, _Median()).to_pylist()
    assert out[0] is None and out[2] is None
    assert [v.timestamp() * 1e6 for v in (out[1], out[3])] == [22.5 * DAY, 42.5 * DAY]


def test_v3_report_times_per_scenario_channel_and_cap():
    # logistic (10 d, x1.3 remote), card testing (3 d), a planned row, one lone row of
    # account takeover (5 d), and genuine.
    scenario = np.array([1, 1, 4, 6, 5, 0], dtype=np.int8)
    remote = np.array([False, True, True, False, True, False])
    planned = np.array([0, 0, 0, 0, 5, 0], dtype=np.int8)
    planned_reported = np.array([0, 0, 0, 0, 77, 0], dtype=np.int64) * DAY
    event = np.full(6, 100 * DAY, dtype=np.int64)
    out = report_times_v3(scenario, event, remote, planned, planned_reported, _Median())
    assert out.is_null().to_pylist() == [False] * 5 + [True]
    delay = out.cast(pa.int64()).to_numpy(zero_copy_only=False)[:5] - event[:5]
    assert delay[4] == (77 - 100) * DAY  # the planned report, as planned
    # exp(log(d)) is d to within a float's rounding: 1 microsecond at most.
    assert np.abs(delay[:4] - np.array([10.0, 13.0, 3.0, 5.0]) * DAY).max() <= 1
    # Capped at the 120-day chargeback window.
    out = report_times_v3(scenario, event, remote, planned, planned_reported, _Median(50.0))
    delay = out.cast(pa.int64()).to_numpy(zero_copy_only=False)[:4] - event[:4]
    assert delay.tolist() == [120 * DAY] * 4


# ---- v3 label noise (`labeler.add_noise_v3`) ----------------------------------------


def _noise_chunk():
    """40 rows: 10 frauds (codes 1..6) and 30 genuine payments, of which rows 20, 22 and
    25 are the chunk's planned disputes (`Planner.materialize`)."""
    scenario = np.zeros(40, dtype=np.int8)
    scenario[:10] = [1, 1, 2, 3, 4, 4, 5, 6, 1, 5]
    dispute = np.zeros(40, dtype=bool)
    dispute[[20, 22, 25]] = True
    return scenario, dispute


def test_v3_noise_reports_the_disputes_and_unreports_as_many_frauds():
    scenario, dispute = _noise_chunk()
    before = scenario.copy()
    disputed = add_noise_v3(scenario, dispute, np.random.default_rng(5))
    missed = np.flatnonzero(scenario < 0)
    false = np.flatnonzero(scenario == FALSE_REPORT)
    assert false.tolist() == [20, 22, 25] and (disputed == dispute).all()
    assert len(missed) == 3 and set(missed) <= set(range(10))  # only true frauds ...
    assert (scenario[missed] == -before[missed]).all()  # ... and they keep their scenario
    assert ((scenario > 0).sum(), (before > 0).sum()) == (10, 10)  # reported count exact
    true_fraud = (scenario != 0) & (scenario != FALSE_REPORT)
    assert true_fraud.sum() == 10 and (true_fraud == (before > 0)).all()  # truth kept
    untouched = np.setdiff1d(np.arange(40), np.concatenate([missed, false]))
    assert (scenario[untouched] == before[untouched]).all()


def test_v3_noise_without_disputes_changes_nothing_and_is_deterministic():
    scenario, dispute = _noise_chunk()
    before = scenario.copy()
    disputed = add_noise_v3(scenario, np.zeros(40, dtype=bool), np.random.default_rng(5))
    assert (scenario == before).all() and not disputed.any()
    a, b = before.copy(), before.copy()
    add_noise_v3(a, dispute, np.random.default_rng(9))
    add_noise_v3(b, dispute, np.random.default_rng(9))
    assert (a == b).all()


def test_v3_noise_reports_no_more_disputes_than_the_chunk_has_frauds():
    """Two frauds, three disputes: two disputes reported (both frauds unreported), the
    third stays a genuine payment; a dispute flag on a fraud row is ignored."""
    scenario = np.array([3, 0, 0, 0, 6, 0], dtype=np.int8)
    dispute = np.array([True, True, True, False, False, True])
    disputed = add_noise_v3(scenario, dispute, np.random.default_rng(3))
    assert scenario[[0, 4]].tolist() == [-3, -6]
    assert (scenario[[1, 2, 5]] == FALSE_REPORT).sum() == 2 and scenario[3] == 0
    assert disputed.sum() == 2 and (disputed <= dispute).all() and not disputed[0]
    assert (scenario[[1, 2, 5]] == FALSE_REPORT).tolist() == disputed[[1, 2, 5]].tolist()


def test_v3_noise_unreports_frauds_uniformly():
    """Over many chunks, each fraud is unreported with probability k / frauds: counts
    within 4.5 binomial sigmas."""
    scenario, dispute = _noise_chunk()
    trials, k = 2_000, 3
    missed = np.zeros(40)
    rng = np.random.default_rng(11)
    for _ in range(trials):
        s = scenario.copy()
        add_noise_v3(s, dispute, rng)
        missed += s < 0
    p = k / 10
    sigma = np.sqrt(trials * p * (1 - p))
    assert np.abs(missed[:10] - trials * p).max() < 4.5 * sigma
    assert missed[10:].sum() == 0


def test_v3_unreported_frauds_have_no_report_false_reports_come_after_the_payment():
    scenario = np.array([-1, -4, 7, 7, 0, 1], dtype=np.int8)  # 7: false_report
    remote = np.ones(6, dtype=bool)
    planned = np.zeros(6, dtype=np.int8)
    event = np.full(6, 100 * DAY, dtype=np.int64)
    out = report_times_v3(scenario, event, remote, planned, np.zeros(6, dtype=np.int64),
                          np.random.default_rng(4))
    assert out.is_null().to_pylist() == [True, True, False, False, True, False]
    t = out.cast(pa.int64()).to_numpy(zero_copy_only=False)
    assert (t[[2, 3]] - event[[2, 3]] >= 1_000_000).all()  # at least a second later
    assert (t[[2, 3]] - event[[2, 3]] <= 120 * DAY).all()  # within the chargeback window


def test_every_planned_scenario_keeps_its_planned_report_logistic_too():
    codes = np.array([1, 2, 4, 5, 6], dtype=np.int8)  # every planned scenario (v3)
    event = np.full(5, 100 * DAY, dtype=np.int64)
    planned_reported = event + np.arange(1, 6) * DAY
    out = report_times_v3(codes, event, np.ones(5, bool), codes, planned_reported,
                          _Median(50.0))
    assert out.cast(pa.int64()).to_numpy().tolist() == planned_reported.tolist()


def test_a_last_missing_fraud_is_a_burst_of_one_not_fill():
    # One payment per merchant, far apart: no window holds two payments.
    n = 6
    merchant = np.arange(n)
    event = np.arange(n, dtype=np.int64) * 10**9
    out = correct_labels(np.zeros(n, bool), 0, merchant, event, np.ones(n), 3, 1_000,
                         np.random.default_rng(4), burst_target=1)
    assert (out == BURST).sum() == 1 and (out != 0).sum() == 1
    # Two missing: no lone payment makes a burst then; both are fill.
    out = correct_labels(np.zeros(n, bool), 0, merchant, event, np.ones(n), 3, 1_000,
                         np.random.default_rng(4), burst_target=2)
    assert (out == FILL).sum() == 2 and (out != 0).sum() == 2


def test_a_burst_can_take_every_payment_of_merchant_zero():
    # Three payments a second apart at merchant 0 (the only one with risk): one wave
    # within the 10 s window takes all three.
    merchant = np.array([0, 0, 0, 1, 1])
    event = np.array([0, 1, 2, 500, 900], dtype=np.int64) * 1_000_000
    risk = np.array([1.0, 1.0, 1.0, 0.0, 0.0])
    for seed in range(5):
        out = correct_labels(np.zeros(5, bool), 0, merchant, event, risk, 3, 10_000_000,
                             np.random.default_rng(seed), burst_target=3)
        assert out.tolist() == [BURST] * 3 + [0, 0], seed


def test_bursts_get_three_waves_per_burst_needed_plus_one_then_fill():
    # Merchant 0: three payments at one instant (risk 1 each); merchants 1-12: one lone
    # payment each, far apart (risk 1). A wave is anchored on a payment by risk, so it
    # lands on merchant 0 (a burst of 3) with probability 3/15 = 0.2; elsewhere its
    # window holds one payment and it is skipped. One burst of 3 is wanted: 3 x (1 + 1)
    # = 6 waves, so it is all fill with probability 0.8**6 = 0.262.
    merchant = np.r_[[0, 0, 0], np.arange(1, 13)]
    event = np.r_[[0, 0, 0], np.arange(1, 13) * 10**9].astype(np.int64)
    risk = np.ones(15)
    outcomes = []
    for seed in range(2_000):
        out = correct_labels(np.zeros(15, bool), 0, merchant, event, risk, 3, 1_000_000,
                             np.random.default_rng(seed), burst_target=3)
        assert (out != 0).sum() == 3
        burst = (out == BURST).sum()
        assert burst in (0, 3) and (burst == 0 or (out[:3] == BURST).all())
        outcomes.append(burst == 0)
    assert abs(np.mean(outcomes) - 0.8**6) < 0.035, np.mean(outcomes)
