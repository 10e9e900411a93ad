"""Rule-level tests of the v3 caps' arithmetic (`draws_v3.card_slots`, `_chunk_caps`,
`_month_start_us`, `_over_cap`) and of the choice of unblocked cards (`unblocked`,
`_unblocked_cards`), on hand-checked inputs (issue 25)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from sqlgen.errors import SqlgenError
from sqlgen.generate import draws_v3
from sqlgen.generate.spec import to_us

D = draws_v3.DAY_US
H = D // 24
MAX = np.iinfo(np.int64).max


def test_time_units_in_microseconds():
    assert D == 86_400_000_000
    assert draws_v3.WEEK_US == 7 * 86_400_000_000
    # The first Monday after the epoch: 1970-01-05, four days in.
    assert to_us(dt.datetime(1970, 1, 5)) == draws_v3._MONDAY_US
    assert dt.datetime(1970, 1, 5).weekday() == 0


def _slots(cap, card, period, a, b, length):
    n = len(card)
    return draws_v3.card_slots(
        cap, np.asarray(card, dtype=np.int64), np.full(n, period, dtype=np.int64),
        np.asarray(a, dtype=np.int64) + np.zeros(n, np.int64),
        np.asarray(b, dtype=np.int64) + np.zeros(n, np.int64), length)


def test_card_slots_phase_is_the_hashed_fraction_of_the_period():
    # With a period of 2**32 us the phase is the 32-bit hash itself:
    # card 1, period 0: 0x9E3779B1 = 2_654_435_761, so its one slot (cap 1) sits at
    # 2**32 - 2_654_435_761 = 1_640_531_535 us into the period.
    L = 2**32
    assert _slots(1, [1, 1], 0, 0, [1_640_531_534, 1_640_531_535], L).tolist() == [0, 1]
    assert _slots(1, [1], 0, 1_640_531_535, L, L).tolist() == [0]  # the slot was before
    # Card 0, period 1: 0x85EBCA77 = 2_246_822_519, slot at 2_048_144_777.
    assert _slots(1, [0, 0], 1, 0, [2_048_144_776, 2_048_144_777], L).tolist() == [0, 1]
    # Card 3: 3 x 0x9E3779B1 = 7_963_307_283 wraps to 32 bits: 3_668_339_987, slot at
    # 626_627_309.
    assert _slots(1, [3, 3], 0, 0, [626_627_308, 626_627_309], L).tolist() == [0, 1]
    # Card 0, period 0: phase 0, cap 2: slots at L/2 and L (a slot falls to the part
    # it ends: floor(cap x b / L) - floor(cap x a / L)).
    assert _slots(2, [0, 0, 0], 0, [0, 1, L // 2], [1, L // 2, L // 2 + 1], L).tolist() \
        == [0, 1, 0]


def test_card_slots_over_a_day():
    # Card 1 on day 0: phase 0.618034 x 1 day = 53_398_136_457 us; cap 3 puts its slots
    # at (1 day - phase) / 3 = 3.0557 h, then 8 h apart (11.06 h, 19.06 h).
    card = [1] * 6
    a = [0, 0, 3 * H + 4 * H // 60, 3 * H + 4 * H // 60, 0, 19 * H]
    b = [3 * H, 3 * H + 4 * H // 60, 11 * H, 11 * H + 4 * H // 60, D, D]
    assert _slots(3, card, 0, a, b, D).tolist() == [0, 1, 0, 1, 3, 1]


def test_month_start_is_midnight_utc_of_the_first():
    assert draws_v3._month_start_us(2025, 3) == to_us(dt.datetime(2025, 3, 1))
    assert draws_v3._month_start_us(2024, 12) == to_us(dt.datetime(2024, 12, 1))


def test_chunk_caps_read_the_chunks_part_of_the_day_and_the_month():
    behaviour = SimpleNamespace(max_card_payments_per_day=3, max_card_payments_per_month=40)
    march = to_us(dt.datetime(2025, 3, 1))
    card = np.arange(2_000, dtype=np.int64)
    # A chunk of 5 March 06:00-18:00; rows on that day (day number since the epoch).
    t0, t1 = march + 4 * D + 6 * H, march + 4 * D + 18 * H
    day = np.full(len(card), (march + 4 * D) // D)
    spec = SimpleNamespace(t0_us=t0, t1_us=t1, year=2025, month=3)
    daily, monthly = draws_v3._chunk_caps(behaviour, spec, card, day)
    # The day's part [6 h, 18 h) of that day's slots (period: the day number).
    assert daily.tolist() == _slots(3, card, day[0], 6 * H, 18 * H, D).tolist()
    # The month's part [4.25 d, 4.75 d) of March's 31 days, period year * 12 + month - 1
    # (months since year 0, January = 0).
    want = _slots(40, card, 2025 * 12 + 2, 4 * D + 6 * H, 4 * D + 18 * H, 31 * D)
    assert monthly.tolist() == want.tolist()
    assert 0 < monthly.sum() < len(card)  # 40 x 0.5 / 31 = 0.65 a card: some 0, some 1
    # Rows of a day the chunk covers from its start: the part [0, 18 h).
    spec = SimpleNamespace(t0_us=march + 4 * D, t1_us=t1, year=2025, month=3)
    daily, _ = draws_v3._chunk_caps(behaviour, spec, card, day)
    assert daily.tolist() == _slots(3, card, day[0], 0, 18 * H, D).tolist()
    # And a chunk starting within the day and running past its end: [6 h, 24 h).
    spec = SimpleNamespace(t0_us=t0, t1_us=march + 9 * D, year=2025, month=3)
    daily, _ = draws_v3._chunk_caps(behaviour, spec, card, day)
    assert daily.tolist() == _slots(3, card, day[0], 6 * H, D, D).tolist()


def test_over_cap_keeps_the_first_cap_rows_of_a_key_fraud_first():
    key = np.array([5, 5, 5, 5, 7, 7, 9, 11, 11], dtype=np.int64)
    cap = np.array([2, 2, 2, 2, 1, 1, 0, 2, 2], dtype=np.int64)
    genuine = np.array([1, 0, 1, 1, 1, 1, 1, 1, 1], dtype=bool)
    # Key 5: 4 rows over a cap of 2; the fraud row (1) counts first, then rows 0, 2, 3
    # in order: 2 and 3 are over. Key 7: row 5 over. Key 9 (cap 0): row 6. Key 11: 2
    # rows within its cap of 2.
    want = [2, 3, 5, 6]
    assert draws_v3._over_cap(key, cap, genuine).tolist() == want
    # Large keys (no count array of that size): counted by sorting, the same answer.
    big = key + (1 << 40)
    assert draws_v3._over_cap(big, cap, genuine).tolist() == want
    assert draws_v3._over_cap(big[:4], cap[:4], genuine[:4]).tolist() == [2, 3]
    # A fraud row over the cap stays (only genuine rows move).
    assert draws_v3._over_cap(np.array([3, 3]), np.array([0, 0]),
                              np.array([False, True])).tolist() == [1]
    # A lone fraud row over a cap of 0 stays too; small and large keys together.
    assert draws_v3._over_cap(np.array([3]), np.array([0]), np.array([False])).tolist() == []
    mixed = np.array([1, 1 << 40, 1 << 40], dtype=np.int64)
    assert draws_v3._over_cap(mixed, np.array([0, 1, 1]), np.ones(3, bool)).tolist() == [0, 2]
    # Exactly at the cap: nothing over; no rows at all: nothing.
    assert draws_v3._over_cap(key[7:], cap[7:], genuine[7:]).tolist() == []
    empty = np.array([], dtype=np.int64)
    assert draws_v3._over_cap(empty, empty, empty.astype(bool)).tolist() == []


class _Uniform:
    """An rng whose uniform draws are given."""

    def __init__(self, u):
        self.u = list(u)

    def random(self, n):
        out, self.u = self.u[:n], self.u[n:]
        assert len(out) == n
        return np.array(out)


def test_unblocked_picks_among_free_cards_in_block_then_id_order():
    block = np.array([10, 20, MAX, 5, 30, 36], dtype=np.int64)
    card = np.array([0, 1, 2, 3, 0, 4], dtype=np.int64)
    t = np.array([9, 20, 31, 4, 10, 35], dtype=np.int64)
    # Blocked at their time (t >= block): rows 1 (20 >= 20), 4 (10 >= 10), 5 (35 >= 30).
    # Blocks clipped at max t + 1 = 36: [10, 20, 36, 5, 30, 36], cards by clipped block,
    # ties by id: 3, 0, 1, 4, 2, 5. Free at t = 20: the last 3 (4, 2, 5); at 10: the
    # last 4 (1, 4, 2, 5); at 35: the last 2 (2, 5). u picks floor(u x free).
    out = draws_v3.unblocked(card, t, block, _Uniform([0.99, 0.0, 0.0]))
    assert out.tolist() == [0, 5, 2, 3, 1, 2]
    out = draws_v3.unblocked(card, t, block, _Uniform([0.0, 0.99, 0.6]))
    assert out.tolist() == [0, 4, 2, 3, 5, 5]
    # None blocked: the same array back, no draw made.
    assert draws_v3.unblocked(card[:1], t[:1], block, _Uniform([])).tolist() == [0]
    # At t = 40 every card of [10, 20, 30, 5] is blocked.
    with pytest.raises(SqlgenError, match="every card is blocked"):
        draws_v3.unblocked(np.array([0, 1]), np.array([40, 0]), block[[0, 1, 4, 3]],
                           _Uniform([0.5]))


class _Integers:
    def __init__(self):
        self.calls = []

    def integers(self, lo, hi, n):
        self.calls.append((lo, hi, n))
        return np.arange(n, dtype=np.int64) % hi

    def random(self, n):
        return np.zeros(n)


def test_unblocked_cards_draw_uniformly_over_the_active_cards():
    rng = _Integers()
    t = np.array([100, 100, 100], dtype=np.int64)
    assert draws_v3._unblocked_cards(5, t, None, rng).tolist() == [0, 1, 2]
    assert rng.calls == [(0, 5, 3)]
    # With blocks: card 1 blocked at 50 is replaced by the first free card by block then
    # id (cards 0, 2, 3, 4: never blocked, clipped alike; u = 0 takes card 0).
    block = np.array([MAX, 50, MAX, MAX, MAX], dtype=np.int64)
    assert draws_v3._unblocked_cards(5, t, block, rng).tolist() == [0, 0, 2]
