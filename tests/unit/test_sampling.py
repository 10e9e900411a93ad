from __future__ import annotations

import uuid

import numpy as np
import pytest

from sqlgen import sampling
from sqlgen.config import LognormalAmount, NormalAmount, UniformAmount
from sqlgen.seeds import stream


def rng(i=0):
    return stream(123, "test", i)


@pytest.mark.parametrize("exponent", [0.0, 0.8, 1.2])
def test_zipf_rank_frequency_follows_exponent(exponent):
    n = 500
    weights = sampling.zipf_weights(n, exponent, rng())
    draws = sampling.draw_from_cdf(sampling.cdf(weights), 400_000, rng(1))
    counts = np.sort(np.bincount(draws, minlength=n))[::-1]
    ranks = np.arange(1, 51)
    # log-log slope of the top-50 rank-frequency curve estimates -exponent
    slope = np.polyfit(np.log(ranks), np.log(counts[:50]), 1)[0]
    assert slope == pytest.approx(-exponent, abs=0.08)


def test_zipf_weights_are_permuted_not_sorted():
    weights = sampling.zipf_weights(1000, 1.0, rng())
    assert weights.sum() == pytest.approx(1.0)
    assert np.argmax(weights) != 0 or np.argmax(weights[1:]) != 0


def test_beta_risk_mean_within_tolerance():
    draws = rng().beta(2.0, 20.0, 200_000)
    assert draws.mean() == pytest.approx(2 / 22, rel=0.02)


def test_categorical_frequencies():
    codes, vocab = sampling.categorical({"a": 1, "b": 3}, 100_000, rng())
    assert vocab == ["a", "b"]
    assert np.mean(codes == 1) == pytest.approx(0.75, abs=0.01)


@pytest.mark.parametrize(
    ("spec", "mean"),
    [
        (LognormalAmount(mu=3.0, sigma=0.5), np.exp(3.0 + 0.125)),
        (NormalAmount(distribution="normal", mean=80, std=10), 80.0),
        (UniformAmount(distribution="uniform", low=10, high=30), 20.0),
    ],
)
def test_amount_distributions(spec, mean):
    values = sampling.amounts(spec, 200_000, rng())
    assert values.min() >= 0.01
    assert values.mean() == pytest.approx(mean, rel=0.02)


def test_sorted_times_in_range_and_ordered():
    t = sampling.sorted_times(1000, 5000, 10_000, rng())
    assert t.min() >= 1000 and t.max() < 5000
    assert np.all(np.diff(t) >= 0)


def test_uuid4_version_variant_and_nulls():
    r = rng()
    arr = sampling.uuid_array(sampling.uuid4_bytes(20_000, r), r.random(20_000) < 0.1)
    values = arr.storage.to_pylist()
    present = [uuid.UUID(bytes=v) for v in values if v is not None]
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in present)
    assert len(set(present)) == len(present)
    assert arr.null_count / len(arr) == pytest.approx(0.1, abs=0.01)


def test_streams_are_reproducible_and_distinct():
    assert stream(1, "x", 0).random() == stream(1, "x", 0).random()
    assert stream(1, "x", 0).random() != stream(1, "x", 1).random()
    assert stream(1, "x", 0).random() != stream(1, "y", 0).random()


@pytest.mark.parametrize("n", [1, 7, 5000])
def test_cdf_sampler_equals_binary_search(n):
    weights = sampling.zipf_weights(n, 1.1, rng())
    sampler = sampling.CdfSampler(weights, max_bins=max(4, 2 * n))
    fast = sampler.draw(100_000, rng(5))
    exact = sampling.draw_from_cdf(sampling.cdf(weights), 100_000, rng(5))
    assert np.array_equal(fast, exact)


@pytest.mark.parametrize(
    "weights",
    [
        [1.0],
        [1.0, 1.0, 1.0, 1.0],  # cdf values fall exactly on bin edges
        [0.0, 2.0, 0.0, 0.0, 1.0, 0.0],  # zero weights: empty entities
        sampling.zipf_weights(3000, 1.3, np.random.default_rng(3)),
    ],
)
def test_guide_table_equals_binary_search_at_every_point(weights):
    table = sampling.cdf(np.asarray(weights, dtype=np.float64))
    for bins in (1, 3, 8, 32 * len(table)):
        points = np.arange(bins + 1, dtype=np.float64) / bins
        expected = np.searchsorted(table, points, side="right")
        assert np.array_equal(sampling._guide(table, bins), expected)


def test_keyed_uuids_are_stable_per_key_and_distinct_across_keys():
    keys = np.array([1, 2, 1, 3], dtype=np.uint64)
    raw = sampling.keyed_uuid4(keys, salt=99)
    assert bytes(raw[0]) == bytes(raw[2]) and bytes(raw[0]) != bytes(raw[1])
    assert all(uuid.UUID(bytes=bytes(r)).version == 4 for r in raw)
    assert bytes(sampling.keyed_uuid4(keys, salt=7)[0]) != bytes(raw[0])


def test_cycle_times_follow_hourly_weights():
    hourly = tuple([0.0] * 6 + [1.0] * 18)  # nothing before 06:00
    t = sampling.cycle_times(0, 14 * 86_400_000_000, 50_000, rng(), hourly, (1.0,) * 7)
    hours = (t // 3_600_000_000) % 24
    assert hours.min() >= 6
    assert t.min() >= 0 and t.max() < 14 * 86_400_000_000


def test_group_sampler_stays_in_group_and_follows_weights():
    group = np.array([0, 0, 2, 2, 2, 5])  # groups 1, 3 and 4 have no entities
    weights = np.array([1.0, 3.0, 1.0, 1.0, 2.0, 7.0])
    sampler = sampling.GroupSampler(group, weights)
    asked = np.repeat(np.arange(7), 40_000)  # 6 is past the last group
    got = sampler.draw(asked, rng())
    assert np.array_equal(got < 0, np.isin(asked, [1, 3, 4, 6]))
    ok = got >= 0
    assert np.array_equal(group[got[ok]], asked[ok])
    share = np.bincount(got[asked == 2], minlength=6)[2:5] / 40_000
    assert share == pytest.approx([0.25, 0.25, 0.5], abs=0.01)
    assert np.mean(got[asked == 0] == 1) == pytest.approx(0.75, abs=0.01)


@pytest.mark.parametrize("span", [1000, 1 << 50])
def test_time_order_is_a_stable_argsort(span):
    times = rng().integers(0, 50, 20_000) * (span // 50)  # many ties
    order = sampling.time_order(times + 7, 7, 7 + span)
    assert np.array_equal(order, np.argsort(times, kind="stable"))


def test_cycle_times_follow_weekday_weights_monday_first():
    import datetime as dt

    weekday = (1.0, 1.0, 1.0, 1.0, 1.0, 20.0, 1.0)  # Saturday busy
    t = sampling.cycle_times(0, 28 * 86_400_000_000, 20_000, rng(), (1.0,) * 24, weekday)
    epoch = dt.datetime(1970, 1, 1)
    days = [(epoch + dt.timedelta(microseconds=int(x))).weekday() for x in t]
    share = np.bincount(days, minlength=7) / len(t)
    assert share[5] == pytest.approx(20 / 26, abs=0.02)
    assert share.argmax() == 5


@pytest.mark.parametrize("groups", [1, 5, 1000, 2**40])
def test_group_order_is_a_stable_argsort(groups):
    rng = np.random.default_rng(5)
    group = rng.integers(0, groups, 3000)
    rows = np.flatnonzero(rng.random(3000) < 0.7)
    expected = rows[np.argsort(group[rows], kind="stable")]
    assert np.array_equal(sampling.group_order(group, rows), expected)


@pytest.mark.parametrize("in_order", [True, False])
def test_recent_counts_count_earlier_rows_of_the_group_in_the_window(in_order):
    rng = np.random.default_rng(6)
    group = rng.integers(0, 40, 2000)
    t = rng.integers(0, 500, 2000)  # many ties
    if in_order:
        t.sort()
    rank = np.argsort(t, kind="stable")  # (t, row) order
    pos = np.empty_like(rank)
    pos[rank] = np.arange(len(t))
    expected = [
        np.count_nonzero((group == group[i]) & (pos < pos[i]) & (t >= t[i] - 30))
        for i in range(len(t))
    ]
    assert np.array_equal(sampling.recent_counts(group, t, 30), expected)
