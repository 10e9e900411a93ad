"""Rule-level tests of the chunk plan (`sqlgen.generate.plan`) and of its time unit and
chunk record (`sqlgen.generate.spec`), on small hand-checked inputs (issue 25)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.generate.plan import _months, plan_chunks
from sqlgen.generate.spec import ChunkSpec, to_us
from tests.conftest import TINY

D = 86_400_000_000  # a day in microseconds


def test_to_us_counts_integer_microseconds_from_the_unix_epoch():
    assert to_us(dt.datetime(1970, 1, 1)) == 0
    assert to_us(dt.datetime(1970, 1, 2, 0, 0, 0, 7)) == D + 7
    # 2025-01-30 is day 20118 after the epoch (55 years, 14 of them leap, + 29 days).
    t = to_us(dt.datetime(2025, 1, 30, 0, 0, 1, 1))
    assert t == 20_118 * D + 1_000_001
    assert type(t) is int  # an exact integer, never a float


def test_a_chunk_spec_is_frozen_and_names_its_hive_partition():
    s = ChunkSpec(12, 100, 3, 0, D, 2025, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.rows = 5  # type: ignore[misc]
    assert hash(s) == hash(ChunkSpec(12, 100, 3, 0, D, 2025, 3))
    assert s.relpath == "year=2025/month=3/part-00012.parquet"


def _cfg(rows, batch, start, end, fraud_rate=0.02):
    return with_overrides(load_config(TINY), rows=rows, batch_size=batch, fraud_rate=fraud_rate,
                          temporal={"start_date": start, "end_date": end})


def test_months_are_cut_at_each_first_of_the_month_across_a_new_year():
    start, end = dt.datetime(2024, 11, 15), dt.datetime(2025, 2, 3)
    got = _months(start, end)
    firsts = [dt.datetime(2024, 12, 1), dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1)]
    bounds = [to_us(x) for x in (start, *firsts, end)]
    assert got == [(2024, 11, bounds[0], bounds[1]), (2024, 12, bounds[1], bounds[2]),
                   (2025, 1, bounds[2], bounds[3]), (2025, 2, bounds[3], bounds[4])]


def test_plan_hand_checked_rows_slices_and_fraud_quotas():
    # 20 rows over 30 Jan - 1 Feb 2025 (the end date is inclusive): January has 2 of
    # the 3 days (13.33 rows -> 13), February 1 (6.67 -> 7). Batch 3: January in
    # ceil(13/3) = 5 chunks [3, 3, 3, 2, 2] (2.6 each, the three units left to the first
    # three), February in 3 chunks [3, 2, 2].
    specs = plan_chunks(_cfg(20, 3, "2025-01-30", "2025-02-01", fraud_rate=0.25))
    jan, feb = to_us(dt.datetime(2025, 1, 30)), to_us(dt.datetime(2025, 2, 1))
    assert [s.rows for s in specs] == [3, 3, 3, 2, 2, 3, 2, 2]
    assert [(s.year, s.month) for s in specs] == [(2025, 1)] * 5 + [(2025, 2)] * 3
    assert [s.index for s in specs] == list(range(8))
    # Slice bounds: t0 + floor(rows before * span / month rows), exact integers.
    # January: 2 days x 3/13 = 39_876_923_076.9 us (floor, not rounded: the float
    # sum t0 + 39_876_923_076.92 would land on ...077), 6/13, 9/13, 11/13.
    jan_cuts = [0, 39_876_923_076, 79_753_846_153, 119_630_769_230, 146_215_384_615, 2 * D]
    feb_cuts = [0, 37_028_571_428, 61_714_285_714, D]  # 1 day x 3/7, 5/7
    want = [(jan + a, jan + b) for a, b in itertools.pairwise(jan_cuts)] \
        + [(feb + a, feb + b) for a, b in itertools.pairwise(feb_cuts)]
    assert [(s.t0_us, s.t1_us) for s in specs] == want
    # 5 frauds (0.25 x 20) split by rows: exact shares 0.75 x 3, 0.5 x 2, 0.75, 0.5 x 2;
    # floors 0, the 5 units to the four 0.75s and the first 0.5.
    assert [s.fraud_target for s in specs] == [1, 1, 1, 1, 0, 1, 0, 0]


def test_a_month_with_no_rows_has_no_chunk():
    # 1 row over 31 Jan - 1 Feb: the tie goes to January; February gets none.
    specs = plan_chunks(_cfg(1, 1000, "2025-01-31", "2025-02-01"))
    t0 = to_us(dt.datetime(2025, 1, 31))
    assert [(s.rows, s.t0_us, s.t1_us, s.month) for s in specs] == [(1, t0, t0 + D, 1)]


def test_a_month_within_the_batch_size_is_one_chunk_and_the_last_day_counts():
    specs = plan_chunks(_cfg(10, 1000, "2025-03-01", "2025-03-31"))
    assert len(specs) == 1
    s = specs[0]
    assert (s.rows, s.t0_us, s.t1_us) == (10, to_us(dt.datetime(2025, 3, 1)),
                                          to_us(dt.datetime(2025, 4, 1)))
    # Larger months than the batch: ceil(rows / batch) chunks, no fewer.
    assert len(plan_chunks(_cfg(10, 4, "2025-03-01", "2025-03-31"))) == 3
