"""Rule-level tests of the labeller's bursts (`labeler.correct_labels` -> `_bursts`) on
hand-made chunks of a few payments: which payments a wave's window holds (its jitter and
both ends), the anchor's risk weight, and chunks whose rows are not in time order."""

from __future__ import annotations

import numpy as np

from sqlgen.generate.labeler import BURST, FILL, correct_labels

W = 10  # the burst window, microseconds: a wave at t takes payments in [t - W, t + W]
SEEDS = range(60)


def _label(merchant, event, risk, burst_target, seed, burst_size=2, window=W):
    n = len(merchant)
    return correct_labels(np.zeros(n, bool), 0, np.asarray(merchant),
                          np.asarray(event, dtype=np.int64), np.asarray(risk, dtype=float),
                          burst_size, window, np.random.default_rng(seed),
                          burst_target=burst_target)


def _bursts_of_two(event, risk):
    """Over SEEDS: how many labellings make both payments of merchant 0 one burst.

    Payment 0 has no risk (never a wave's anchor), payment 1 has: every wave is anchored
    on payment 1, at its time plus a jitter uniform in [-W, W]."""
    made = 0
    for seed in SEEDS:
        out = _label([0, 0], event, risk, 2, seed)
        assert (out != 0).sum() == 2  # exactly the target, bursts or fill
        made += bool((out == BURST).all())
    return made


def test_a_wave_is_jittered_both_ways_up_to_the_window():
    # Payment 1 at 20, payment 0 at 0: one window [t - 10, t + 10] holds both only for
    # t = 10, the jitter -W exactly (1 in 21 per wave, 6 waves: 25% of labellings).
    early = _bursts_of_two([0, 20], [0.0, 1.0])
    # Payment 0 at 40, payment 1 at 20: only the jitter +W exactly (t = 30) holds both.
    late = _bursts_of_two([40, 20], [0.0, 1.0])
    assert early > 0 and late > 0, (early, late)
    # Payment 0 at 41: 21 from the anchor, out of reach of any jitter in [-W, W].
    assert _bursts_of_two([41, 20], [0.0, 1.0]) == 0
    assert _bursts_of_two([-1, 20], [0.0, 1.0]) == 0


def test_waves_are_anchored_by_risk_however_small():
    # Merchant 0: three payments at one instant with a tiny risk (total 0.03); merchant
    # 1: none. A burst of 3 is wanted: every wave lands on merchant 0 and takes all 3.
    out = _label([0, 0, 0, 1], [0, 0, 0, 0], [0.01, 0.01, 0.01, 0.0], 3, 1, burst_size=3)
    assert out.tolist() == [BURST] * 3 + [0]


def test_without_any_risk_there_are_no_bursts_only_fill():
    # No genuine payment has risk: no wave can be anchored, the shortfall is all fill
    # (rather than waves anchored on an arbitrary payment).
    for seed in range(10):
        out = _label([0, 0, 0, 1], [0, 0, 0, 0], [0.0] * 4, 2, seed)
        assert (out == FILL).sum() == 2 and not (out == BURST).any()


def test_a_chunk_out_of_time_order_is_sorted_by_time_within_each_merchant():
    # Merchant 0's payments come as times 1000, 0, 5 (not in time order); only the one
    # at 0 has risk. Every wave is anchored on it (t in [-10, 10]); the window takes the
    # payments at 0 and 5 when t >= -5 (16 of 21 jitters), never the one at 1000.
    made = 0
    for seed in SEEDS:
        out = _label([0, 0, 0], [1000, 0, 5], [0.0, 1.0, 0.0], 2, seed)
        assert out[0] != BURST
        made += out[1:].tolist() == [BURST, BURST]
    # Fill only when all 6 waves miss: (5/21)^6 < 1e-3.
    assert made == len(SEEDS)


def test_waves_are_never_anchored_on_a_fraud():
    # Merchant 0: three genuine payments with a tiny risk. Merchant 1: two planned
    # frauds (risk 1: only a genuine payment's risk counts) and three genuine payments
    # without risk. Every wave is anchored at merchant 0, so its burst is there.
    merchant = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    event = np.zeros(8, dtype=np.int64)
    risk = np.array([1e-9] * 3 + [1.0, 1.0, 0.0, 0.0, 0.0])
    fixed = np.zeros(8, dtype=np.int8)
    fixed[3:5] = 4  # planned card testing
    for seed in range(5):
        out = correct_labels(np.zeros(8, bool), 0, merchant, event, risk, 3, W,
                             np.random.default_rng(seed), burst_target=3, fixed=fixed)
        assert out.tolist() == [BURST] * 3 + [4, 4, 0, 0, 0], seed


def test_no_wave_reaches_past_its_anchor_plus_twice_the_window():
    # Anchor at 20 (the only risk), payments without risk at 21 and 41: a wave at
    # t = 31 would hold both (its window [21, 41]) but needs the jitter +11 > W, so the
    # payment at 41 is never in a burst (waves at t <= 30 hold 20 and 21 instead).
    for seed in range(200):
        out = _label([0, 0, 0], [20, 21, 41], [1.0, 0.0, 0.0], 2, seed)
        assert out[2] != BURST, seed
