"""Rule-level tests of the v2 injectors (`card_testing.inject`, `account_takeover.inject`,
`compromised_merchant.inject`) on a tiny hand-made chunk and population: every draw is
recorded, so each written column is checked against the rule that makes it (issue 25)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sqlgen.scenarios import account_takeover, card_testing, compromised_merchant
from sqlgen.scenarios.base import DAY_US, HOUR_US, Injector

MINUTE_US = 60_000_000
T0 = 1_000 * DAY_US
# Pinned rule values (in one place): card testing gaps 20 s - 3 min, sums 0.50-5.00,
# runs of 3-8 starting at least 30 minutes before the chunk's end.
TESTING_GAP_US = (20_000_000, 180_000_000)
TESTING_AMOUNT = (0.5, 5.0)
TESTING_RUN = (3, 8)
ATO_RUN = (1, 4)
ATO_AFTER_US = (HOUR_US, 3 * DAY_US)  # the takeover: 1 hour to 3 days after the known one
ATO_ABROAD = (0.6, 0.9)  # abroad share 0.6 x strength, at most 0.9
CM_CARDS = 40  # at most 40 cards per breached merchant
CM_AFTER_DAYS = (1, 10)
CM_AMOUNT = (4.0, 0.8)  # lognormal (mu, sigma) x strength, + 1


class _Rng:
    """A real generator with recorded calls; `random` draws may be scripted."""

    def __init__(self, seed=0, random=None):
        self.g = np.random.default_rng(seed)
        self.script = random
        self.calls = []

    def random(self, n=None):
        out = self.g.random(n) if self.script is None else np.resize(self.script, n)
        self.calls.append(("random", (n,), out))
        return out

    def __getattr__(self, name):
        f = getattr(self.g, name)

        def call(*args, **kw):
            out = f(*args, **kw)
            self.calls.append((name, args, out))
            return out
        return call

    def last(self, name, args=None):
        def match(c):
            return len(c[1]) >= len(args) and all(
                np.isscalar(x) and x == y for x, y in zip(c[1], args, strict=False))
        return [c for c in self.calls if c[0] == name and (args is None or match(c))]


class _Const:
    def __init__(self, value):
        self.value, self.sizes = value, []

    def draw(self, n, rng):
        self.sizes.append(n)
        return np.full(n, self.value, dtype=np.int64)


def _home_shop(country):
    """The local merchant of country c: 0 in country 0, none (-1) in 2, else 60 + c."""
    country = np.asarray(country)
    return np.where(country == 2, -1, np.where(country == 0, 0, 60 + country))


class _HomeShop:
    def draw(self, country, rng):
        return _home_shop(country)


USUAL_20 = math.log(20.0)


def _pop(difficulty=0.5, mu=USUAL_20, n_merchants=100):
    amount = SimpleNamespace(mu=mu) if mu is not None else SimpleNamespace()
    return SimpleNamespace(
        cfg=SimpleNamespace(label=SimpleNamespace(difficulty=difficulty),
                            feature=SimpleNamespace(amount=amount)),
        merchant_scale=np.where(np.arange(n_merchants) == 3, 2.0, 1.0),
        testing_merchants=np.array([3]),
        card_owner=np.arange(500),  # card i: customer i
        customer_country=np.arange(500) % 4,
        merchants=_Const(50),
        home_merchants=_HomeShop(),
        merchant_risk=np.where(np.arange(n_merchants) == 1, 1.0, 0.0),
    )


def _inj(pop, n, t1, rng, d=None):
    d = d or {"card_id": np.arange(n) + 1_000, "merchant_id": np.zeros(n, np.int64),
              "amount_raw": np.ones(n), "event_us": np.full(n, T0, np.int64)}
    inj = Injector(pop, SimpleNamespace(rows=n, t0_us=T0, t1_us=t1), d, rng)
    takes, eps = [], []
    take, episodes = inj.take, inj.episodes

    def rec_take(k):
        takes.append(k)
        return take(k)

    def rec_episodes(k, low, high):
        out = episodes(k, low, high)
        eps.append(((k, low, high), out))
        return out
    inj.take, inj.episodes = rec_take, rec_episodes
    return inj, takes, eps


def test_card_testing_inject_runs_gaps_amounts_and_start():
    rng = _Rng(1)
    inj, takes, eps = _inj(_pop(), 400, T0 + 10 * DAY_US, rng)
    card_testing.inject(inj, 60)
    assert takes[0] == 60
    (args, ep), = eps
    assert args == (60, *TESTING_RUN)
    rows = np.flatnonzero(inj.codes == 4)
    assert len(rows) == 60
    n_ep = int(ep[-1]) + 1
    (_, (lo, hi, k), start), = rng.last("integers", (T0,))
    assert (lo, hi, k) == (T0, T0 + 10 * DAY_US - 30 * MINUTE_US, n_ep)
    (_, (_, _, kc), card), = rng.last("integers", (0, 500))
    assert kc == n_ep
    (_, (_g_lo, _g_hi, kg), gaps), = rng.last("integers", TESTING_GAP_US)
    assert kg == 60
    (_, (a_lo, a_hi, ka), u), = rng.last("uniform")
    assert (a_lo, a_hi, ka) == (*TESTING_AMOUNT, 60)
    got = inj.d
    # Per row i of the take order: episode ep[i], time start + the episode's running gaps
    # (its first row one gap after the start), card and the test merchant (3, level 2).
    first = np.flatnonzero(np.diff(ep, prepend=-1))
    elapsed = np.concatenate([np.cumsum(gaps[a:b]) for a, b in
                              zip(first, [*first[1:], len(ep)], strict=True)])
    want_t = np.sort(start[ep] + elapsed)
    assert (np.sort(got["event_us"][rows]) == want_t).all()
    assert sorted(got["card_id"][rows].tolist()) == sorted(card[ep].tolist())
    assert (got["merchant_id"][rows] == 3).all()
    assert np.allclose(np.sort(got["amount_raw"][rows] * 2.0), np.sort(np.round(u, 2)))


def test_card_testing_inject_in_a_chunk_shorter_than_half_an_hour_starts_at_its_start():
    rng = _Rng(2)
    inj, _, _ = _inj(_pop(), 50, T0 + 10 * MINUTE_US, rng)
    card_testing.inject(inj, 10)
    (_, (lo, hi, _k), start), = rng.last("integers", (T0,))
    assert (lo, hi) == (T0, T0 + 1) and (start == T0).all()
    t = inj.d["event_us"][inj.codes == 4]
    assert (t >= T0 + 20_000_000).all() and (t <= T0 + 10 * MINUTE_US - 1).all()


def _ato_chunk(n, t1, known_at):
    d = {"card_id": np.arange(n) % 7, "merchant_id": np.zeros(n, np.int64),
         "amount_raw": np.ones(n), "event_us": np.full(n, known_at, np.int64)}
    return d


@pytest.mark.parametrize("difficulty", [0.5, 0.0])
def test_account_takeover_inject(difficulty):
    # strength 1 (abroad share 0.6, amounts 2-6 x usual) or e (abroad 0.9: capped).
    strength = math.exp(2 * (0.5 - difficulty))
    abroad_p = min(ATO_ABROAD[1], ATO_ABROAD[0] * strength)
    u = [0.05, abroad_p - 1e-9, abroad_p, 0.95]  # stay home from abroad_p on
    rng = _Rng(3, random=u)
    t1 = T0 + 2 * DAY_US
    n = 300
    known_at = np.where(np.arange(n) % 2 == 0, T0, t1 - 2 * HOUR_US)  # late ones wrap
    d = _ato_chunk(n, t1, 0)
    d["event_us"] = known_at.astype(np.int64)
    inj, takes, eps = _inj(_pop(difficulty), n, t1, rng, d)
    before = {k: v.copy() for k, v in d.items()}
    account_takeover.inject(inj, 40)
    assert takes == [40 // 2 + 1, 40]
    (args, _ep), = eps
    assert args == (40, *ATO_RUN)
    assert set(np.unique(inj.codes).tolist()) == {0, 6}  # the known rows back to genuine
    rows = np.flatnonzero(inj.codes == 6)
    assert 0 < len(rows) <= 40
    # Each attack: a known row's card, 1 h - 3 days later (or, past the chunk's end, in
    # [the known payment, t1)); the known payment itself untouched.
    (_, (lo, hi, k), _after), = rng.last("uniform", ATO_AFTER_US[:1])
    assert (lo, hi) == ATO_AFTER_US and k == len(rows)
    t = d["event_us"][rows]
    assert (t < t1).all()
    cards = d["card_id"][rows]
    for r in rows:
        earlier = np.flatnonzero((inj.codes == 0) & (d["card_id"] == d["card_id"][r])
                                 & (d["event_us"] <= d["event_us"][r]))
        assert len(earlier), r
    assert len(np.unique(t)) > len(rows) // 2  # late ones spread, not piled at t1 - 1
    untouched = inj.codes == 0
    assert (d["card_id"][untouched] == before["card_id"][untouched]).all()
    # Where: stay home (u >= abroad_p) at the home country's merchant (60 + country;
    # none in country 2: the drawn one, 50); abroad: the drawn one (50).
    stay = np.resize(u, len(rows)) >= abroad_p
    country = cards % 4
    m = d["merchant_id"][rows]
    assert set(m.tolist()) <= {0, 50, 61, 63}
    assert (m == 50).any() and (m != 50).any() and stay.any()
    home_rows = m != 50
    assert (m[home_rows] == _home_shop(country[home_rows])).all()
    # Amounts: usual (20) x U(2, 2 + 4 x strength), to the cent.
    (_, (a_lo, a_hi, _), v), = rng.last("uniform", (2,))
    assert (a_lo, a_hi) == pytest.approx((2, 2 + 4 * strength))
    assert np.allclose(np.sort(d["amount_raw"][rows]), np.sort(np.round(20.0 * v, 2)))


@pytest.mark.parametrize(("difficulty", "abroad_p"), [(0.5, 0.6), (0.0, 0.9)])
def test_account_takeover_merchant_rule_per_attack(difficulty, abroad_p):
    # One attack per known payment (episodes of one row), stay home from abroad_p on:
    # 0.6 x strength (1 at difficulty 0.5), at most 0.9 (strength e at difficulty 0).
    u = [0.1, abroad_p, abroad_p - 1e-9, 0.95, 0.7, 0.7]
    rng = _Rng(4, random=u)
    n, t1 = 60, T0 + 30 * DAY_US
    d = _ato_chunk(n, t1, T0)
    d["card_id"] = np.arange(n) * 4  # customers of country 0, whose local merchant is 0
    inj, _takes, _eps = _inj(_pop(difficulty), n, t1, rng, d)
    inj.episodes = lambda k, low, high: np.arange(k)  # every attack its own episode
    known_rows = []
    take = inj.take

    def rec(k):
        out = take(k)
        known_rows.append(out)
        return out
    inj.take = rec
    account_takeover.inject(inj, 6)
    known, rows = known_rows
    # 6 attacks, 4 known payments: episodes 4 and 5 have no card and are dropped.
    assert len(known) == 4 and (inj.codes == 6).sum() == 4
    attack = rows[:4]
    assert (d["card_id"][attack] == d["card_id"][known]).all()
    country = d["card_id"][known] % 4
    stay = np.asarray(u[:4]) >= abroad_p
    assert stay.tolist() == [False, True, False, True]
    local = _home_shop(country)
    want = np.where(stay & (local >= 0), local, 50)
    assert d["merchant_id"][attack].tolist() == want.tolist()
    gap = d["event_us"][attack] - T0
    assert (gap >= HOUR_US).all() and (gap < 3 * DAY_US).all()


def test_account_takeover_usual_amount_without_a_lognormal_is_30():
    rng = _Rng(5)
    n, t1 = 100, T0 + 30 * DAY_US
    inj, _, _ = _inj(_pop(mu=None), n, t1, rng, _ato_chunk(n, t1, T0))
    account_takeover.inject(inj, 10)
    a = inj.d["amount_raw"][inj.codes == 6]
    assert len(a) and (a >= 60.0).all() and (a <= 180.0).all()  # 30 x U(2, 6)


def test_account_takeover_with_no_quota_still_keeps_one_known_row():
    rng = _Rng(6)
    inj, takes, _ = _inj(_pop(), 20, T0 + DAY_US, rng)
    account_takeover.inject(inj, 0)
    assert takes == [1, 0] and (inj.codes == 0).all()


def _breach_chunk(n, t1, visit_at):
    # rows 0..59: visits at the risky merchant 1, cards 0..59; the rest elsewhere.
    m = np.where(np.arange(n) < 60, 1, 0)
    return {"card_id": np.where(np.arange(n) < 60, np.arange(n), 1_000 + np.arange(n)),
            "merchant_id": m.astype(np.int64), "amount_raw": np.ones(n),
            "event_us": np.where(np.arange(n) < 60, visit_at, T0).astype(np.int64)}


def test_compromised_merchant_inject_episodes_of_at_most_40_cards():
    rng = _Rng(7)
    n, t1 = 400, T0 + 40 * DAY_US
    pop = _pop()
    d = _breach_chunk(n, t1, T0 + DAY_US)
    visits = d["event_us"][:60].copy()
    inj, takes, _ = _inj(pop, n, t1, rng, d)
    compromised_merchant.inject(inj, 2 * CM_CARDS + 1)
    fraud = np.flatnonzero(inj.codes == 5)
    assert len(fraud) == 2 * CM_CARDS + 1
    assert pop.merchants.sizes == [CM_CARDS, CM_CARDS, 1]  # the quota's last one too
    assert takes == pop.merchants.sizes
    assert (d["merchant_id"][fraud] == 50).all()
    # Each fraud: a visited card, 1-10 days after its visit.
    c = d["card_id"][fraud]
    assert (c < 60).all()
    gap = d["event_us"][fraud] - visits[c]
    assert (gap >= CM_AFTER_DAYS[0] * DAY_US).all() and (gap < CM_AFTER_DAYS[1] * DAY_US).all()
    (_, (mu, sigma, k), _x), *_ = rng.last("lognormal")
    assert (mu, sigma, k) == (*CM_AMOUNT, CM_CARDS)
    first = np.sort(d["amount_raw"][fraud])
    assert (first >= 1.0).all()
    allx = np.concatenate([c_[2] for c_ in rng.last("lognormal")])
    assert np.allclose(first, np.sort(np.round(allx, 2) + 1))  # strength 1, plus 1 EUR


def test_compromised_merchant_inject_late_frauds_spread_before_the_end():
    rng = _Rng(8)
    t1 = T0 + 20 * DAY_US
    n = 300
    d = _breach_chunk(n, t1, t1 - 2 * HOUR_US)  # every visit 2 h before the end
    pop = _pop(difficulty=0.0)  # strength e: amounts x e
    inj, _, _ = _inj(pop, n, t1, rng, d)
    compromised_merchant.inject(inj, 30)
    fraud = np.flatnonzero(inj.codes == 5)
    assert len(fraud) == 30
    t = d["event_us"][fraud]
    assert (t >= t1 - HOUR_US).all() and (t < t1).all()
    assert len(np.unique(t)) == 30  # drawn in [visit + 1 h, t1), not clipped to t1 - 1
    x = rng.last("lognormal")[0][2]
    assert np.allclose(np.sort(d["amount_raw"][fraud]),
                       np.sort(np.round(x * math.e, 2) + 1))


def test_compromised_merchant_inject_skips_when_no_visit_is_usable():
    rng = _Rng(9)
    t1 = T0 + 20 * DAY_US
    d = _breach_chunk(200, t1, t1 - HOUR_US)  # all visits too late (an hour is not before)
    inj, _, _ = _inj(_pop(), 200, t1, rng, d)
    compromised_merchant.inject(inj, 10)
    assert (inj.codes == 0).all()


@pytest.fixture
def alarm():
    """Fail a test that loops for more than 20 s (a window that never grows)."""
    import signal

    def stop(*_):
        raise TimeoutError("looped")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_compromised_merchant_inject_tries_50_breaches_at_most(alarm):
    # The risky merchant's visits are all of one card: each breach yields one fraud, so
    # a quota of 60 stops at 50 episodes.
    rng = _Rng(10)
    n, t1 = 600, T0 + 40 * DAY_US
    d = _breach_chunk(n, t1, T0 + DAY_US)
    d["card_id"][:60] = 0
    inj, _, _ = _inj(_pop(), n, t1, rng, d)
    compromised_merchant.inject(inj, 60)
    assert (inj.codes == 5).sum() == 50


def test_distinct_cards_first_visit_of_each_card_in_row_order(alarm):
    assert compromised_merchant._distinct_cards(np.arange(3), np.array([0, 0, 1]), 5).tolist() == [
        0, 2]  # fewer cards than asked: all of them
    card = np.array([0] * 8 + [1, 1, 2, 3] + [4] * 8)
    rows = np.arange(20)
    # window 4k = 8 sees one card: it grows (x4) to see all; the first visit of each
    assert compromised_merchant._distinct_cards(rows, card, 2).tolist() == [0, 8]
    assert compromised_merchant._distinct_cards(rows, card, 4).tolist() == [0, 8, 10, 11]
    assert compromised_merchant._distinct_cards(rows, card, 9).tolist() == [0, 8, 10, 11, 12]
    assert compromised_merchant._distinct_cards(rows[::-1], card, 1).tolist() == [19]
