"""Rule-level tests of v3 false reports (issue 24, item 3: a lifecycle for every fraud):
disputes are planned run-wide (`episodes.dispute_quotas`, `Planner._dispute`, `_chosen`),
and a dispute's report blocks its card like any report; a chunk plants the disputes of
its slice (`Planner.materialize`, `place`) and the issuer approves them
(`stages.issuer_decides`). The labeller's side is tested with the labeller: as many
frauds unreported (`labeler.add_noise_v3`, `test_rules_labeler`), the planned report kept
(`report_times_v3`, `test_rules_labelling_reports`). Hand-checked on made-up inputs and
on the small v3 world of `test_rules_generation`."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sqlgen import sampling
from sqlgen.config import with_overrides
from sqlgen.generate import draws_v3, stages
from sqlgen.generate.auth import APPROVED
from sqlgen.generate.chunks import draw_chunk
from sqlgen.generate.episodes import CAP_US, Planner, dispute_quotas
from sqlgen.generate.labeler import FALSE_REPORT
from sqlgen.generate.plan import plan_chunks
from sqlgen.scenarios import DISPUTE, ReportDelay, planned_quotas
from sqlgen.scenarios.base import DAY_US, HOUR_US
from sqlgen.world import world
from tests.unit.test_rules_generation import ctx  # noqa: F401  (module fixture)

MAX = np.iinfo(np.int64).max


# -- how many disputes, which days -----------------------------------------------------
@pytest.mark.parametrize(("noise", "per_day", "unplanned", "want"), [
    # 4% of 40 frauds = 1.6 -> 2 disputes, by planned attempts 10 : 30: 0.5 and 1.5,
    # floors 0 + 1, the unit left to the first of the tied remainders.
    (0.04, [10, 0, 30, 0], 0, [1, 0, 1, 0]),
    # 10% of 40 = 4: exactly 1 and 3.
    (0.10, [10, 0, 30, 0], 0, [1, 0, 3, 0]),
    # 8 frauds the chunks draw themselves, 2 a day: weights 12, 2, 32, 2 of 48;
    # 25% of 48 = 12: exactly 3, 0.5, 8, 0.5 -> 3, 1, 8, 0 (ties: the earlier day).
    (0.25, [10, 0, 30, 0], 8, [3, 1, 8, 0]),
    (0.0, [10, 0, 30, 0], 0, [0, 0, 0, 0]),  # no noise: no dispute
])
def test_disputes_per_day_are_the_noise_rate_of_the_runs_frauds_by_each_days_fraud(
        monkeypatch, noise, per_day, unplanned, want):
    from sqlgen.generate import episodes

    planned = sum(per_day)
    monkeypatch.setattr(episodes, "planned_quotas", lambda cfg: {"x": cfg._planned})
    cfg = SimpleNamespace(fraud_target=planned + unplanned, label_noise_rate=noise,
                          _planned=planned)
    got = dispute_quotas(cfg, {"x": np.array(per_day)}, len(per_day))
    assert got.tolist() == want
    assert got.sum() == round(noise * (planned + unplanned))


def test_the_run_plans_round_noise_rate_times_its_frauds(ctx):  # noqa: F811
    cfg = ctx.cfg
    assert cfg.label_noise_rate == 0.04
    p = Planner(ctx.pop)
    assert p._disputes.sum() == round(0.04 * cfg.fraud_target)
    assert sum(planned_quotas(cfg).values()) == cfg.fraud_target  # all frauds planned


# -- a day's disputes ------------------------------------------------------------------
@pytest.fixture(scope="module")
def disputes(ctx):  # noqa: F811
    """2,000 disputes of day 3, every holder paying at 10:xx local time."""
    p = Planner(ctx.pop)
    weights = [0.0] * 10 + [1.0] + [0.0] * 13
    p.cfg = with_overrides(ctx.cfg, temporal={"hourly_weights": weights})
    return p, p._dispute(3, 2_000)


def test_a_dispute_is_the_holders_own_online_payment_in_their_day(ctx, disputes):  # noqa: F811
    p, a = disputes
    pop, w = ctx.pop, ctx.pop.world
    t0 = p.t0 + 3 * DAY_US
    assert (a["code"] == DISPUTE).all()
    assert (a["ring"] == -1).all() and (a["device"] == -1).all()  # no fraudster
    assert not a["present"].any() and not a["wrapped"].any()
    assert ((a["t"] >= t0) & (a["t"] < t0 + DAY_US)).all()  # on its day
    # In the holder's local time (standard offset, minutes east of UTC): 10:xx.
    owner = pop.card_owner[a["card"]]
    offset_us = world.standard_offsets()[w.customer_zone[owner]].astype(np.int64) * 60_000_000
    assert ((a["t"] + offset_us) % DAY_US // HOUR_US == 10).all()
    assert len(np.unique(offset_us)) > 1  # several zones: the sign matters
    # Active cards, none asleep that month; merchants of the catalog.
    assert (a["card"] < w.n_cards).all()
    date = p.cfg.temporal.start_date
    month = date.year * 12 + date.month
    assert not draws_v3.dormant(a["card"], month, w.seed).any()
    assert ((a["merchant"] >= 0) & (a["merchant"] < len(pop.merchant_risk))).all()
    # At the card's own spending level, unshifted: over the level, amounts are the
    # configured amounts (median kept, x exp(N(0, 0.3)) noise).
    ratio = a["amount_raw"] / p.card_level[a["card"]]
    plain = sampling.amounts(p.cfg.feature.amount, 20_000, np.random.default_rng(1))
    assert 0.85 < np.median(ratio) / np.median(plain) < 1.18
    # Domestic merchants (behaviour.home_share) for most.
    home = pop.customer_country[owner]
    share = (pop.merchant_country[a["merchant"]] == home).mean()
    assert share > 0.5


def test_a_disputes_report_blocks_its_card_within_the_chargeback_window(disputes):
    _, a = disputes
    delay = a["reported"] - a["t"]
    assert (a["block"] == a["reported"]).all()  # blocked at the report
    assert (delay >= DAY_US).all() and (delay <= CAP_US).all()
    # false_report's delay profile: lognormal, median 30 days (card not present x1).
    assert 24 < np.median(delay) / DAY_US < 37


@pytest.mark.parametrize(("median", "want"), [(1e-6, DAY_US), (1e4, CAP_US)])
def test_a_disputes_report_comes_a_day_or_more_later_within_the_chargeback_window(
        ctx, monkeypatch, median, want):  # noqa: F811
    """At least a day (past the end of its day, which `_chosen` relies on), at most the
    120-day window, whatever the delay profile."""
    from sqlgen.generate import episodes

    slow = SimpleNamespace(report=ReportDelay(median, 0.01))
    monkeypatch.setattr(episodes, "by_code", lambda c: slow if c == FALSE_REPORT else None)
    a = Planner(ctx.pop)._dispute(3, 50)
    assert (a["block"] - a["t"] == want).all()


def test_every_dispute_of_the_plan_blocks_its_card(ctx):  # noqa: F811
    p = Planner(ctx.pop)
    a = p.whole_plan()
    d = a["code"] == DISPUTE
    assert 0 < d.sum() <= p._disputes.sum()
    assert (p.card_block[a["card"][d]] <= a["block"][d]).all()
    # Some dispute is its card's first report: the card's block is the dispute's.
    assert (p.card_block[a["card"][d]] == a["block"][d]).any()


# -- a chunk's disputes ----------------------------------------------------------------
def _dispute_chunk(ctx):  # noqa: F811
    """The first chunk with a planned dispute, its planner after `plan`, and that
    dispute's plan index."""
    for spec in plan_chunks(ctx.cfg):
        p = Planner(ctx.pop)
        a = p.plan(spec.t0_us, spec.t1_us)
        sl = np.flatnonzero((a["t"] >= spec.t0_us) & (a["t"] < spec.t1_us)
                            & (a["code"] == DISPUTE))
        if len(sl):
            return spec, p, a, sl
    raise AssertionError("no chunk plants a dispute")


def test_a_dispute_takes_its_first_candidate_open_at_its_time(ctx, monkeypatch):  # noqa: F811
    """Three disputes of four candidates each (cards 10.., times 1000 + j): the first
    candidate whose card is open at its time (its block later than it); none open: no
    dispute."""
    p = Planner(ctx.pop)
    p._disputes = np.zeros(p._n_days, np.int64)
    p._disputes[2] = 3
    n = 3 * 4
    t = 1_000 + np.arange(n, dtype=np.int64)
    cand = {"t": t, "card": 10 + np.arange(n, dtype=np.int64),
            "code": np.full(n, DISPUTE, np.int8), "block": t + DAY_US}
    monkeypatch.setattr(p, "_dispute", lambda day, k: dict(cand) if (day, k) == (2, n)
                        else pytest.fail(f"asked for {k} candidates of day {day}"))
    block = np.full(len(p.card_block), MAX)
    # Dispute 0: candidate 0 blocked at its instant, candidate 1 a microsecond after it.
    block[10], block[11] = t[0], t[1] + 1
    # Dispute 1: candidates 4, 5, 6 blocked before, 7 open.
    block[14:17] = t[4:7] - 1
    # Dispute 2: all four blocked.
    block[18:22] = t[8:12]
    p.card_block = block
    chosen = p._chosen(2)
    assert chosen["card"].tolist() == [11, 17]
    assert chosen["t"].tolist() == [t[1], t[7]]
    assert p._chosen(0)["t"].tolist() == []  # a day without disputes


def test_every_dispute_of_the_plan_is_on_a_card_open_at_its_time(ctx):  # noqa: F811
    p = Planner(ctx.pop)
    a = p.whole_plan()
    d = a["code"] == DISPUTE
    assert d.any()
    # Before the card's block by any report of the run (its own is later).
    assert (a["t"][d] < p.card_block[a["card"][d]]).all()


def test_a_chunk_plants_its_disputes_as_the_holders_approved_online_payments(ctx):  # noqa: F811
    spec, _, a, sl = _dispute_chunk(ctx)
    draws, codes, _ = draw_chunk(ctx, spec)
    dispute = draws["dispute"]
    assert dispute.sum() == len(sl) and (codes[dispute] == 0).all()  # genuine rows
    assert (draws["fraud_device"][dispute] == -1).all()
    assert draws["remote"][dispute].all() and not draws["blocked"][dispute].any()
    assert sorted(draws["reported_us"][dispute].tolist()) == sorted(
        a["reported"][sl].tolist())
    assert (draws["reported_us"][dispute] > draws["event_us"][dispute]).all()
    # From home, on the holder's own devices: no ring, not away.
    assert not draws["away"][dispute].any() and (draws["ring"][dispute] == -1).all()


def test_the_issuer_approves_a_dispute_whatever_its_draws(ctx):  # noqa: F811
    cfg = with_overrides(ctx.cfg, auth={"genuine_decline_rate": 0.9})
    n = 400
    dispute = np.zeros(n, dtype=bool)
    dispute[::4] = True
    draws = {"remote": np.ones(n, bool), "amount_base": np.full(n, 50.0),
             "blocked": np.zeros(n, bool), "dispute": dispute}
    auth = stages.issuer_decides(cfg, draws, np.zeros(n, np.int8),
                                 np.random.default_rng(2))
    assert (auth[dispute] == APPROVED).all()
    assert (auth[~dispute] != APPROVED).mean() > 0.8  # the others are declined at 90%


def test_a_blocked_cards_later_payments_follow_the_lifecycle(ctx, monkeypatch):  # noqa: F811
    """The dispute's block is the card's: `settle` moves the holder's payments after it
    to the replacement card (some tried on the old one in the grace days)."""
    spec, p, a, sl = _dispute_chunk(ctx)
    i = int(sl[0])
    card, report = int(a["card"][i]), int(a["reported"][i])
    assert p.card_block[card] <= report
    block = int(p.card_block[card])
    d = {"event_us": np.array([block - 1, block + 3 * DAY_US]),
         "card_id": np.array([card, card])}
    calls = []
    monkeypatch.setattr(draws_v3, "place_rows",
                        lambda pop, d_, rows, rng: calls.append(rows.tolist()))
    p.settle(spec, d, np.zeros(2, np.int8), np.random.default_rng(0))
    spare = ctx.cfg.catalog.num_cards + int(ctx.pop.card_owner[card])
    assert d["card_id"].tolist() == [card, spare] and calls == [[1]]
