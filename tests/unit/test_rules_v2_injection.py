"""Rule-level tests of v2 scenario injection (`scenarios.*.inject`, `base.Injector`) on
one drawn chunk: quotas met exactly, each scenario's shape (cards, merchants, amounts,
gaps) as its module says."""

from __future__ import annotations

import numpy as np
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.generate.chunks import ChunkContext, draw_chunk
from sqlgen.generate.plan import plan_chunks
from sqlgen.scenarios import code
from sqlgen.world.pools import make_pools
from tests.conftest import TINY


@pytest.fixture(scope="module")
def chunk():
    cfg = with_overrides(load_config(TINY), realism="v2", rows=8_000, batch_size=8_000,
                         fraud_rate=0.05, temporal={"start_date": "2025-03-01",
                                                    "end_date": "2025-03-31"})
    ctx = ChunkContext(cfg, None)
    ctx.use_pools(make_pools(cfg.seed))
    spec = plan_chunks(cfg)[0]
    draws, codes, share = draw_chunk(ctx, spec)
    return ctx, spec, draws, codes, share


def test_each_injected_scenario_fills_its_quota_on_distinct_rows(chunk):
    _, spec, draws, codes, share = chunk
    for name in ("card_testing", "compromised_merchant", "account_takeover"):
        assert share[name] > 5
        assert (codes == code(name)).sum() == share[name], name
    t = draws["event_us"]
    assert ((t >= spec.t0_us) & (t < spec.t1_us)).all()


def test_card_testing_rows_are_small_sums_seconds_to_minutes_apart(chunk):
    ctx, _, draws, codes, _ = chunk
    rows = np.flatnonzero(codes == code("card_testing"))
    amount = draws["amount_raw"][rows] * ctx.pop.merchant_scale[draws["merchant_id"][rows]]
    assert amount.min() >= 0.5 - 1e-9 and amount.max() <= 5.0 + 1e-9
    assert np.allclose(amount, np.round(amount, 2))
    # Consecutive attempts on one card at one merchant: 20 s to 3 min apart.
    order = rows[np.lexsort((draws["event_us"][rows], draws["card_id"][rows]))]
    same = (np.diff(draws["card_id"][order]) == 0) & (np.diff(draws["merchant_id"][order]) == 0)
    gaps = np.diff(draws["event_us"][order])[same]
    assert len(gaps) > 5
    assert gaps.min() >= 20_000_000 and gaps.max() < 180_000_000 * 8


def test_compromised_merchant_cards_were_seen_at_one_merchant_before(chunk):
    _, _, draws, codes, _ = chunk
    fraud = np.flatnonzero(codes == code("compromised_merchant"))
    genuine = codes == 0
    card, t = draws["card_id"], draws["event_us"]
    for r in fraud:
        visits = np.flatnonzero(genuine & (card == card[r]) & (t < t[r]))
        assert len(visits), r  # the card paid genuinely before it was used elsewhere


def test_account_takeover_keeps_each_cards_earlier_payment_genuine(chunk):
    from types import SimpleNamespace

    from sqlgen.scenarios import account_takeover
    from sqlgen.scenarios.base import Injector

    ctx, spec, draws, _, _ = chunk
    # 300 rows, one card each (row i is card i's only payment), in time order; a quota
    # of 120 attacks needs 61 earlier payments: many rows, so clashes would show.
    n = 300
    d = {k: np.asarray(v)[:n].copy() for k, v in draws.items()
         if isinstance(v, np.ndarray) and len(v) == len(draws["card_id"])}
    d["card_id"] = np.arange(n)
    d["event_us"] = np.linspace(spec.t0_us, spec.t0_us + 10 * 86_400_000_000, n).astype(
        np.int64)
    before = {k: v.copy() for k, v in d.items()}
    small = SimpleNamespace(rows=n, t0_us=spec.t0_us, t1_us=spec.t1_us)
    inj = Injector(ctx.pop, small, d, np.random.default_rng(6))
    account_takeover.inject(inj, 120)
    attacks = np.flatnonzero(inj.codes == code("account_takeover"))
    assert len(attacks) > 60
    for r in attacks:
        c = d["card_id"][r]  # the card's earlier payment: row c, untouched and genuine
        assert inj.codes[c] == 0 and d["card_id"][c] == c, r
        assert d["event_us"][c] == before["event_us"][c] < d["event_us"][r], r


def test_compromised_merchant_fraud_comes_an_hour_or_more_after_the_visit(chunk):
    from types import SimpleNamespace

    from sqlgen.scenarios import compromised_merchant
    from sqlgen.scenarios.base import Injector

    ctx, spec, draws, _, _ = chunk
    # 300 rows, one card each, all at one risky merchant: half in the chunk's last 50
    # minutes (too late to be the visit before a fraud), half days before.
    n, hour = 300, 3_600_000_000
    d = {k: np.asarray(v)[:n].copy() for k, v in draws.items()
         if isinstance(v, np.ndarray) and len(v) == len(draws["card_id"])}
    d["card_id"] = np.arange(n)
    m = int(np.argmax(ctx.pop.merchant_risk))
    d["merchant_id"][:] = m
    late = np.arange(n) % 2 == 0
    d["event_us"] = np.where(late, spec.t1_us - 50 * 60_000_000,
                             spec.t1_us - 3 * 86_400_000_000).astype(np.int64)
    visits = dict(enumerate(d["event_us"].copy().tolist()))
    small = SimpleNamespace(rows=n, t0_us=spec.t0_us, t1_us=spec.t1_us)
    inj = Injector(ctx.pop, small, d, np.random.default_rng(8))
    compromised_merchant.inject(inj, 60)
    fraud = np.flatnonzero(inj.codes == code("compromised_merchant"))
    assert len(fraud) == 60
    for r in fraud:
        c = int(d["card_id"][r])
        assert not late[c] and d["event_us"][r] - visits[c] >= hour, (r, c)
