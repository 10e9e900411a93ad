"""Rule-level tests of the v3 caps (`draws_v3.card_slots`, `settle_v3`) and of the
replacement of blocked cards (`draws_v3.unblocked`), on small hand-checked inputs."""

from __future__ import annotations

import datetime as dt
import itertools

import duckdb
import numpy as np
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.errors import SqlgenError
from sqlgen.generate.draws_v3 import DAY_US, card_slots, unblocked
from sqlgen.runner import run
from tests.conftest import TINY

HOUR = DAY_US // 24


def _slots(cap, cards, a, b, period=0, length=DAY_US):
    cards = np.asarray(cards, dtype=np.int64)
    n = len(cards)
    return card_slots(cap, cards, np.full(n, period, dtype=np.int64),
                      np.full(n, a, dtype=np.int64), np.full(n, b, dtype=np.int64), length)


def test_a_whole_period_gets_the_whole_cap():
    assert _slots(3, range(50), 0, DAY_US).tolist() == [3] * 50
    assert _slots(0, range(5), 0, DAY_US).tolist() == [0] * 5


def test_chunk_shares_add_up_to_the_cap_for_any_cut():
    # A day cut at 6 h, 7 h and 21 h: four chunks; each card's shares sum to 3.
    cuts = [0, 6 * HOUR, 7 * HOUR, 21 * HOUR, DAY_US]
    cards = np.arange(400)
    parts = np.stack([_slots(3, cards, a, b) for a, b in itertools.pairwise(cuts)])
    assert (parts.sum(axis=0) == 3).all()
    # Each share is the exact share rounded down or up: 0.75, 0.125, 1.75, 0.375.
    exact = 3 * np.diff(cuts) / DAY_US
    assert ((parts >= np.floor(exact)[:, None]) & (parts <= np.ceil(exact)[:, None])).all()
    # A one-hour sliver (3 / 24 of a slot) still has room on some cards, not on all:
    # about an eighth of them (the old floored share gave every card 0 there).
    sliver = parts[1]
    assert 20 < sliver.sum() < 80


def test_shares_depend_on_card_and_period_not_on_the_rest():
    a = _slots(3, [5, 6, 7], 0, 2 * HOUR, period=10)
    assert a.tolist() == _slots(3, [5, 6, 7], 0, 2 * HOUR, period=10).tolist()
    many = [_slots(3, [5], 0, 2 * HOUR, period=p)[0] for p in range(40)]
    assert 0 < sum(many) < 40  # the phase moves with the period


def test_unblocked_replaces_only_blocked_cards_by_free_ones():
    block = np.array([10, 20, np.iinfo(np.int64).max, 5], dtype=np.int64)
    card = np.array([0, 1, 2, 3, 0], dtype=np.int64)
    t = np.array([9, 20, 31, 4, 10], dtype=np.int64)
    out = unblocked(card, t, block, np.random.default_rng(1))
    # Row 1 (t = block of card 1: blocked from that moment) and row 4 are replaced.
    assert out[[0, 2, 3]].tolist() == [0, 2, 3]
    assert out[1] == 2  # at t=20 only card 2 is still free
    assert out[4] in (1, 2)  # at t=10 cards 1 and 2 are free
    assert (t < block[out]).all()
    with pytest.raises(SqlgenError, match="every card is blocked"):
        unblocked(card, t, np.array([10, 20, 30, 5]), np.random.default_rng(1))


def _cap_cfg(tmp_path, cards: int):
    return with_overrides(
        load_config(TINY), rows=8_000, batch_size=700, realism="v3", out_dir=tmp_path / "out",
        catalog={"num_customers": 400, "num_merchants": 100, "num_cards": cards},
        temporal={"start_date": dt.date(2025, 1, 1), "end_date": dt.date(2025, 1, 10)},
        behaviour={"max_card_payments_per_day": 3},
    )


def test_daily_cap_holds_when_chunks_split_days(tmp_path):
    """Issue 25: 700-row chunks cut days into slivers whose floored share of a cap of 3
    was 0, and the settling loop left 47 card-days above 3 without a word."""
    cfg = _cap_cfg(tmp_path, 600)
    run(cfg, show_progress=False)
    con = duckdb.connect(str(cfg.out_dir / "sqlgen.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    over, busiest = con.execute(
        """SELECT count(*) FILTER (n > 3), max(n) FROM (
               SELECT count(*) n FROM payments WHERE NOT label_fraud
               GROUP BY card_id, event_time::DATE)""").fetchone()
    assert over == 0 and busiest == 3  # binding, and held


def test_a_cap_that_cannot_hold_fails_loudly(tmp_path):
    # 800 payments a day on 20 cards of 3 a day: no way to keep the cap.
    with pytest.raises(SqlgenError, match="above a card's daily or monthly cap"):
        run(_cap_cfg(tmp_path, 20), show_progress=False)


def test_payments_moved_off_a_full_card_never_land_on_a_blocked_one(tmp_path):
    from sqlgen.generate.chunks import ChunkContext
    from sqlgen.generate.draws_v3 import settle_v3
    from sqlgen.generate.plan import plan_chunks
    from sqlgen.world.pools import make_pools

    cfg = with_overrides(_cap_cfg(tmp_path, 600), batch_size=8_000)
    ctx = ChunkContext(cfg, None)
    ctx.use_pools(make_pools(cfg.seed))
    spec = plan_chunks(cfg)[0]
    assert spec.t1_us - spec.t0_us >= 2 * DAY_US  # whole days in this chunk
    n = 60  # on card 0 in one day: 57 over its cap of 3
    t = np.full(n, spec.t0_us + DAY_US + 12 * HOUR, dtype=np.int64) + np.arange(n)
    d = {"event_us": t, "card_id": np.zeros(n, dtype=np.int64),
         "merchant_id": np.zeros(n, dtype=np.int64), "remote": np.zeros(n, dtype=bool),
         "away": np.zeros(n, dtype=bool), "latitude": np.zeros(n), "longitude": np.zeros(n),
         "zone": np.zeros(n, dtype=np.int16), "ip_city": np.full(n, -1, dtype=np.int64)}
    block = np.full(600, spec.t0_us, dtype=np.int64)  # blocked since the chunk's start...
    free = np.arange(0, 600, 3)
    block[free] = np.iinfo(np.int64).max  # ... but a third of the cards
    settle_v3(ctx.pop, spec, d, np.zeros(n, dtype=np.int8), np.random.default_rng(0),
              block=block)
    moved = d["card_id"] != 0
    assert moved.sum() == n - 3
    assert np.isin(d["card_id"][moved], free).all()
    assert np.bincount(d["card_id"]).max() <= 3


def test_leftovers_go_only_to_cards_free_at_the_latest_moved_payment(tmp_path):
    """The last resort (`_onto_free_cards`): cards with room that day and not blocked
    by the latest of the payments it moves; too few such cards is an error."""
    from sqlgen.generate.chunks import ChunkContext
    from sqlgen.generate.draws_v3 import _onto_free_cards
    from sqlgen.generate.plan import plan_chunks
    from sqlgen.world.pools import make_pools

    cfg = with_overrides(_cap_cfg(tmp_path, 600), batch_size=8_000)
    ctx = ChunkContext(cfg, None)
    ctx.use_pools(make_pools(cfg.seed))
    spec = plan_chunks(cfg)[0]
    noon = spec.t0_us + DAY_US + 12 * HOUR
    t = np.array([noon, noon + HOUR, noon + 5 * HOUR, noon + 6 * HOUR], dtype=np.int64)
    n = len(t)
    d = {"event_us": t, "card_id": np.zeros(n, dtype=np.int64),
         "merchant_id": np.zeros(n, dtype=np.int64), "remote": np.zeros(n, dtype=bool),
         "away": np.zeros(n, dtype=bool), "latitude": np.zeros(n), "longitude": np.zeros(n),
         "zone": np.zeros(n, dtype=np.int16), "ip_city": np.full(n, -1, dtype=np.int64)}
    block = np.full(600, spec.t0_us, dtype=np.int64)
    block[[10, 11]] = np.iinfo(np.int64).max  # free all day
    block[[20, 21]] = noon + 3 * HOUR  # blocked between the moved payments
    with pytest.raises(SqlgenError, match="no card has room left"):
        _onto_free_cards(ctx.pop, spec, d, np.arange(n), block, np.random.default_rng(0))
    block[[30, 31]] = np.iinfo(np.int64).max
    _onto_free_cards(ctx.pop, spec, d, np.arange(n), block, np.random.default_rng(0))
    assert sorted(d["card_id"].tolist()) == [10, 11, 30, 31]
    # Placed for their new holders: a merchant's or the holder's own place, not (0, 0).
    assert (d["latitude"] != 0).all() and (d["longitude"] != 0).all()
