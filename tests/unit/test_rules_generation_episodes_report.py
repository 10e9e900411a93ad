"""Rule-level tests of an episode's report, block, retry and wrap (`Planner._report`)
on hand-made attempts and a scripted rng: every time below is worked out by hand
(issue 25)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from sqlgen.errors import SqlgenError
from sqlgen.generate.episodes import VISIT, Planner
from sqlgen.generate.plan import to_us
from sqlgen.scenarios.base import DAY_US, HOUR_US
from tests.unit.test_rules_generation_episodes_rings import Scripted

T = to_us(dt.datetime(2025, 3, 3))  # the run's start
MAX = np.iinfo(np.int64).max
MIN = 60_000_000
# A scenario reporting after a median of 3 days, x 2 for card-not-present.
SCENARIO = SimpleNamespace(report=SimpleNamespace(median_days=3.0, cnp_factor=2.0, sigma=0.7))


def _planner(days: int, early: int) -> Planner:
    p = Planner.__new__(Planner)
    p.t0, p.t1, p.early = T, T + days * DAY_US, early
    return p


def _attempts(rows) -> dict:
    """rows: (t, code, episode, card)."""
    t, code, ep, card = (np.array(c) for c in zip(*rows, strict=True))
    n = len(t)
    return {"t": t.astype(np.int64), "card": card.astype(np.int64),
            "merchant": np.zeros(n, np.int64), "code": code.astype(np.int8),
            "ring": np.zeros(n, np.int64), "device": np.zeros(n, np.int64),
            "amount_raw": np.ones(n), "episode": ep.astype(np.int64),
            "present": np.zeros(n, bool)}


# Day 2 of a 10-day run (D = T + 2 days), attempts may start 2 days before their day.
D = T + 2 * DAY_US
H = HOUR_US
ROWS = [
    (D + 1 * H, 1, 0, 10), (D + 3 * H, 1, 0, 10),  # ep 0: two attempts, comes back
    (D + 2 * H, 1, 1, 11), (D + 4 * H, 1, 1, 11), (D + 6 * H, 1, 1, 11),  # ep 1: u = 0.3
    (D + 5 * H, 1, 2, 12), (D + 11 * H, 1, 2, 12),  # ep 2: its 2nd attempt at its report
    (T + 9 * DAY_US + 12 * H, 1, 3, 13), (T + 10 * DAY_US + 12 * H, 1, 3, 13),  # ep 3 wraps
    (T + 11 * DAY_US, VISIT, 4, 20), (D + 4 * H, VISIT, 4, 21),  # a visit outside: dropped
    (D + 8 * H, 1, 5, 14), (D + 9 * H, 1, 5, 14),  # ep 5: reported after 120 days (cap)
    (T + 10 * DAY_US, 1, 6, 15),  # ep 6: at the window's end exactly: wraps to its start
    (T, 1, 7, 16),  # ep 7: at the window's start exactly (its day's earliest): stays
]
# Fraud episodes in id order: 0, 1, 2, 3, 5, 7, then the wrapped 3 | 2^31, 6 | 2^31.
DAYS = (1.5, 2.0, 0.25, 1.0, 200.0, 0.5, 0.5, 1.0)  # report delays (lognormal draws)
U = (0.1, 0.3, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9)  # retry draws: < 0.3 comes back


def _report(ints="lo"):
    p = _planner(10, 2 * DAY_US)
    rng = Scripted(u=U, lognormal=DAYS, ints=ints)
    a = p._report(_attempts(ROWS), SCENARIO, rng, 2)
    return a, rng


def test_report_block_retry_and_wrap_by_hand():
    a, rng = _report()
    assert len(a["t"]) == len(ROWS) - 1  # the visit outside the window is dropped
    # The report delay: lognormal around log(median x cnp factor) = log 6 days.
    kind, mean, sigma, size = rng.calls[0]
    assert kind == "lognormal" and mean == pytest.approx(np.log(6.0)) and sigma == 0.7
    assert size == 8
    # Retries: an hour to 5 days after the report; after-block reports a minute to an hour.
    assert rng.calls[2] == ("integers", HOUR_US, 5 * DAY_US, 2)  # eps 0 and 5
    assert rng.calls[3][:3] == ("integers", MIN, HOUR_US)
    r0 = D + 1 * H + int(1.5 * DAY_US)  # ep 0: first attempt + 1.5 days
    r1 = D + 2 * H + 2 * DAY_US
    r2 = D + 11 * H  # D + 5 h + 6 h
    r3 = T + 10 * DAY_US + 12 * H  # T + 9.5 d + 1 d
    r5 = D + 8 * H + 120 * DAY_US  # 200 days capped at the 120-day chargeback window
    r7 = T + DAY_US // 2
    r3w = T + 12 * H + DAY_US // 2  # the wrapped part: T + 0.5 d, its own report + 0.5 d
    r6w = T + DAY_US  # T (wrapped from the end) + 1 day
    want = [
        (D + 1 * H, False, r0, r0), (r0 + H, False, r0, r0 + H + MIN),  # came back
        (D + 2 * H, False, r1, r1), (D + 4 * H, False, r1, r1), (D + 6 * H, False, r1, r1),
        (D + 5 * H, False, r2, r2), (D + 11 * H, False, r2, D + 11 * H + MIN),
        (T + 9 * DAY_US + 12 * H, False, r3, r3), (T + 12 * H, True, r3w, r3w),
        (D + 4 * H, False, MAX, 0),  # the visit: never blocked nor reported
        (D + 8 * H, False, r5, r5), (D + 9 * H, False, r5, r5),  # retry past the end: kept
        (T, True, r6w, r6w),
        (T, False, r7, r7),
    ]
    got = [(int(t), bool(w), int(b), int(r)) for t, w, b, r in
           zip(a["t"], a["wrapped"], a["block"], a["reported"], strict=True)]
    assert got == want
    # The wrapped parts are episodes of their own: bit 31 set, nothing else changed.
    assert (a["episode"] >> 31).tolist() == [0] * 8 + [1, 0, 0, 0, 1, 0]
    assert (a["episode"] & 0xFF).tolist() == [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 7]
    assert a["code"].tolist() == [1] * 9 + [VISIT] + [1] * 4


def test_retries_and_late_reports_at_the_high_ends_of_their_ranges():
    a, _ = _report(ints="hi")
    r0 = D + 1 * H + int(1.5 * DAY_US)
    back = r0 + 5 * DAY_US - 1  # the latest a ring comes back: 5 days after the block
    assert a["t"][1] == back and a["block"][1] == r0
    assert a["reported"][1] == back + HOUR_US - 1  # seen within the hour
    assert a["reported"][6] == D + 11 * H + HOUR_US - 1


def test_a_retry_is_kept_only_inside_the_run_and_the_days_reach():
    # One episode of two attempts on day 0 of a 300-day run, reported after 120 days:
    # the ring comes back 5 days after (ints "hi"), before the window's end and before
    # the day's reach (200 days): moved. With a 124-day run it would land past the end.
    rows = [(T + H, 1, 0, 1), (T + 2 * H, 1, 0, 1)]
    for days, moved in ((300, True), (126, True), (125, False)):
        p = _planner(days, HOUR_US)
        a = p._report(_attempts(rows), SCENARIO, Scripted(u=(0.0,), lognormal=(120.0,),
                                                          ints="hi"), 0)
        back = T + H + 125 * DAY_US - 1
        assert (a["t"][1] == back) == moved, days
        # The window's end exactly: a retry landing on it is outside.
        if days == 300:
            for t1, moved in ((back, False), (back + 1, True)):
                p.t1 = t1
                a = p._report(_attempts(rows), SCENARIO,
                              Scripted(u=(0.0,), lognormal=(120.0,), ints="hi"), 0)
                assert (a["t"][1] == back) == moved, t1
    # The day's reach (day 75: before T + 275 days): a retry at or after it stays put.
    p = _planner(400, HOUR_US)
    for first, moved in ((T + 150 * DAY_US, True), (T + 150 * DAY_US + 1, False)):
        rows = [(first, 1, 0, 1), (first + H, 1, 0, 1)]
        a = p._report(_attempts(rows), SCENARIO, Scripted(u=(0.0,), lognormal=(120.0,),
                                                          ints="hi"), 75)
        # back 120 days + 5 days - 1 us after the first attempt: T + 275 d - 1 us or on it
        assert (a["t"][1] == first + 125 * DAY_US - 1) == moved, first


@pytest.mark.parametrize(("days", "early", "times", "ok"), [
    # Day 2 (D = T + 2 days), attempts allowed in [D - early, D + 200 days) and, past the
    # run's end, before D + 60 days (the wrap).
    (300, 2 * DAY_US, [T, D + H], True),
    (300, 2 * DAY_US, [T - 1, D + H], False),
    (300, 2 * DAY_US, [D, D + 200 * DAY_US - 1], True),
    (300, 2 * DAY_US, [D, D + 200 * DAY_US], False),
    (10, 2 * DAY_US, [D, D + 60 * DAY_US - 1], True),
    (10, 2 * DAY_US, [D, D + 60 * DAY_US], False),
    (10, HOUR_US, [D - HOUR_US, D], True),
    (10, HOUR_US, [D - HOUR_US - 1, D], False),
])
def test_attempts_outside_their_days_reach_are_an_internal_error(days, early, times, ok):
    p = _planner(days, early)
    a = _attempts([(t, 1, k, k) for k, t in enumerate(times)])
    rng = Scripted(u=(0.9,), lognormal=(1.0,))
    if ok:
        assert len(p._report(a, SCENARIO, rng, 2)["t"]) == 2
    else:
        with pytest.raises(SqlgenError, match="outside"):
            p._report(a, SCENARIO, rng, 2)


def test_visits_inside_the_window_are_kept_unblocked():
    # Day 0: a visit at the window's start exactly (kept), one at its end (dropped).
    p = _planner(10, HOUR_US)
    rows = [(T, VISIT, 0, 1), (T + H, VISIT, 0, 2), (T + 10 * DAY_US, VISIT, 0, 3)]
    a = p._report(_attempts(rows), SCENARIO, Scripted(), 0)
    assert a["t"].tolist() == [T, T + H] and not a["wrapped"].any()
    assert a["card"].tolist() == [1, 2]
    assert a["block"].tolist() == [MAX, MAX] and a["reported"].tolist() == [0, 0]


def test_the_window_is_half_open_when_no_visit_is_dropped():
    # Day 0, fraud only: at the start exactly (inside), at the end exactly (wraps to
    # the start: an episode of its own).
    p = _planner(10, HOUR_US)
    rows = [(T, 1, 0, 1), (T + 10 * DAY_US, 1, 1, 2)]
    a = p._report(_attempts(rows), SCENARIO, Scripted(u=(0.9,)), 0)
    assert a["t"].tolist() == [T, T] and a["wrapped"].tolist() == [False, True]
    assert (a["episode"] >> 31).tolist() == [0, 1]
