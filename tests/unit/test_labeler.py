from __future__ import annotations

import numpy as np
import pytest

from sqlgen.generate.labeler import BURST, FILL, GENUINE, LOGISTIC, correct_labels
from sqlgen.seeds import stream

MINUTE = 60_000_000


def _inputs(n=20_000, merchants=50, seed=0):
    rng = stream(seed, "labeler-test")
    merchant = rng.integers(0, merchants, n)
    times = np.sort(rng.integers(0, 7 * 24 * 60 * MINUTE, n))
    risk = rng.beta(2, 20, merchants)[merchant]
    return merchant, times, risk


@pytest.mark.parametrize("target", [0, 1, 150, 999])
def test_overshoot_unlabels_at_random_to_exact_count(target):
    merchant, times, risk = _inputs()
    logistic = stream(1, "l").random(len(merchant)) < 0.05  # ~1000 frauds
    codes = correct_labels(logistic, target, merchant, times, risk, 5, 30 * MINUTE, stream(2, "c"))
    assert np.count_nonzero(codes) == target
    assert set(np.unique(codes)) <= {GENUINE, LOGISTIC}
    assert np.all(logistic[codes == LOGISTIC])


def test_undershoot_adds_bursts_at_one_merchant_within_window():
    merchant, times, risk = _inputs()
    logistic = np.zeros(len(merchant), dtype=bool)
    logistic[:10] = True
    target, size, window = 400, 5, 30 * MINUTE
    codes = correct_labels(logistic, target, merchant, times, risk, size, window, stream(3, "c"))
    assert np.count_nonzero(codes) == target
    bursts = np.flatnonzero(codes == BURST)
    assert len(bursts) > target // 2
    # Every burst row has at least one other burst row at its merchant within 2*window.
    clustered = 0
    for i in bursts:
        near = (merchant[bursts] == merchant[i]) & (np.abs(times[bursts] - times[i]) <= 2 * window)
        clustered += np.count_nonzero(near) > 1
    assert clustered / len(bursts) > 0.9
    # Bursts prefer risky merchants.
    assert risk[bursts].mean() > risk.mean()


def test_undershoot_falls_back_to_fill_when_bursts_cannot_place():
    n = 100
    merchant = np.arange(n)  # every merchant seen once: a burst finds one row at most
    times = np.arange(n) * 10_000 * MINUTE
    risk = np.full(n, 0.1)
    codes = correct_labels(np.zeros(n, bool), 60, merchant, times, risk, 5, MINUTE, stream(4, "c"))
    assert np.count_nonzero(codes) == 60
    assert np.count_nonzero(codes == FILL) > 0


def test_labels_reproducible():
    merchant, times, risk = _inputs()
    logistic = np.zeros(len(merchant), bool)
    a = correct_labels(logistic, 50, merchant, times, risk, 5, MINUTE, stream(5, "c"))
    b = correct_labels(logistic, 50, merchant, times, risk, 5, MINUTE, stream(5, "c"))
    assert np.array_equal(a, b)


def test_target_out_of_range_rejected():
    merchant, times, risk = _inputs(n=10)
    with pytest.raises(ValueError):
        correct_labels(np.zeros(10, bool), 11, merchant, times, risk, 5, MINUTE, stream(0, "c"))


def _dense(n=20_000, merchants=20, seed=0):
    """A day of payments at equally risky merchants: ~40 per merchant in any hour."""
    rng = stream(seed, "burst-test")
    merchant = rng.integers(0, merchants, n)
    times = np.sort(rng.integers(0, 24 * 60 * MINUTE, n))
    return merchant, times, np.full(n, 0.1)


@pytest.mark.parametrize("size", [2, 3, 5, 8])
@pytest.mark.parametrize("seed", range(4))
def test_one_burst_is_burst_size_rows_at_one_merchant_within_the_window(size, seed):
    merchant, times, risk = _dense(seed=seed)
    window = 30 * MINUTE
    none = np.zeros(len(merchant), bool)
    codes = correct_labels(
        none, 0, merchant, times, risk, size, window, stream(seed, "c"), burst_target=size
    )
    burst = np.flatnonzero(codes == BURST)
    assert np.count_nonzero(codes) == len(burst) == size  # no fill: one full wave placed it
    assert len(np.unique(merchant[burst])) == 1
    # All within ±window of the wave's time, so at most 2 * window apart.
    assert np.ptp(times[burst]) <= 2 * window


@pytest.mark.parametrize("size", [3, 5])
def test_every_burst_is_a_full_wave(size):
    merchant, times, risk = _dense(seed=9)
    window = 10 * MINUTE
    waves = 12
    codes = correct_labels(
        np.zeros(len(merchant), bool),
        0,
        merchant,
        times,
        risk,
        size,
        window,
        stream(9, "c"),
        burst_target=waves * size,
    )
    burst = np.flatnonzero(codes == BURST)
    assert len(burst) == waves * size
    # Every merchant holds whole waves, and each burst row has a wave's worth of burst
    # rows (itself included) at its merchant within 2 * window.
    per_merchant = np.bincount(merchant[burst])
    assert np.all(per_merchant % size == 0), per_merchant
    for i in burst:
        near = (merchant[burst] == merchant[i]) & (np.abs(times[burst] - times[i]) <= 2 * window)
        assert np.count_nonzero(near) >= size
