"""Rule-level test of genuine runs (`draws_v3.genuine_runs`): which payments start a run,
how long runs are, where their rows go and when they happen, on a hand-checked chunk
with a scripted random generator (each draw's parameters checked, its values given)
(issue 25)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sqlgen.generate import draws_v3
from tests.unit.test_rules_generation import DAY0

MIN = 60_000_000


class _Script:
    """A generator that checks each draw's parameters and returns the scripted values."""

    def __init__(self, *steps):
        self.steps = list(steps)

    def _next(self, name, args, kwargs):
        assert self.steps, f"unexpected draw {name}{args}"
        want_name, want_args, want_kwargs, out = self.steps.pop(0)
        assert name == want_name, (name, want_name)
        assert len(args) == len(want_args), (name, args)
        for got, want in zip(args, want_args, strict=True):
            assert np.array_equal(np.asarray(got), np.asarray(want)), (name, got, want)
        assert kwargs == want_kwargs, (name, kwargs)
        return np.asarray(out)

    def random(self, *a, **k):
        return self._next("random", a, k)

    def integers(self, *a, **k):
        return self._next("integers", a, k)

    def choice(self, *a, **k):
        return self._next("choice", a, k)

    def lognormal(self, *a, **k):
        return self._next("lognormal", a, k)

    def uniform(self, *a, **k):
        return self._next("uniform", a, k)


T1 = DAY0 + 10 * 24 * 60 * MIN  # the chunk's end


def _chunk(n_genuine: int):
    """`n_genuine` genuine rows, then two injected ones (codes 1 and 2)."""
    n = n_genuine + 2
    t = np.full(n, DAY0 + 60 * MIN, dtype=np.int64) + np.arange(n) * MIN
    t[0] = T1 - 30 * MIN - 1  # just early enough to start a run
    t[1] = T1 - 30 * MIN  # too late
    t[4] = T1 - 31 * MIN
    d = {
        "event_us": t, "card_id": np.arange(n) + 100, "merchant_id": np.arange(n),
        "remote": np.arange(n) % 2 == 1, "away": np.arange(n) % 3 == 0,
        "latitude": np.arange(n) + 0.5, "longitude": np.arange(n) - 0.5,
        "zone": np.arange(n, dtype=np.int16), "ip_city": np.arange(n) + 1000,
        "amount_raw": np.arange(n) * 10.0 + 10.0,
    }
    codes = np.zeros(n, dtype=np.int8)
    codes[-2:] = [1, 2]
    testing = np.zeros(n, dtype=bool)
    testing[[3, 6]] = True  # digital-goods merchants (`_DIGITAL_RUNS`)
    return SimpleNamespace(is_testing_merchant=testing), SimpleNamespace(t1_us=T1), d, codes


def _u(n_genuine: int):
    # Each genuine row's uniform draw against its rate (4 %, 12 % at digital merchants):
    # row 0 0.0 (starts), 1 0.0 (too late), 2 exactly 0.04 (not below 4 %), 3 0.1 at a
    # digital merchant (starts), 4 0.0 (starts), 5 0.1 (not below 4 %), 6 0.2 at a
    # digital merchant (not below 12 %), the rest 0.5.
    return [0.0, 0.0, 0.04, 0.1, 0.0, 0.1, 0.2] + [0.5] * (n_genuine - 7)


def test_genuine_runs_hand_checked():
    ctx, spec, d, codes = _chunk(16)
    before = {k: v.copy() for k, v in d.items()}
    genuine = np.arange(16)
    rng = _Script(
        ("random", (16,), {}, _u(16)),
        ("integers", (1, 5, 3), {}, [2, 1, 1]),  # run sizes 1-4: 4 rows in all
        # Destinations: 2 * 4 candidates among genuine rows, starters (0, 3) skipped.
        ("choice", (genuine, 8), {"replace": False}, [0, 7, 8, 3, 9, 10, 11, 12]),
        # Gaps: lognormal, median 90 s, sigma 1.
        ("lognormal", (np.log(90e6), 1.0, 4), {}, [10e6, 20e6, 30e6, 40 * MIN]),
        ("uniform", (0.3, 1.5, 4), {}, [0.5, 1.0, 1.25, 1.5]),
    )
    draws_v3.genuine_runs(ctx, spec, d, codes, rng)
    assert not rng.steps
    # Rows 7, 8 follow row 0 (2 rows), 9 follows row 3, 10 follows row 4.
    origin = np.array([0, 0, 3, 4])
    dst = np.array([7, 8, 9, 10])
    for key in ("card_id", "merchant_id", "remote", "away", "latitude", "longitude", "zone",
                "ip_city"):
        assert (d[key][dst] == before[key][origin]).all(), key
    # Times: gaps add up within a run (10 s, then 10 + 20 s), each run from its own
    # start (row 9: 30 s after row 3); row 10, 40 min after row 4 (31 min before the
    # end), is held at the chunk's last microsecond.
    t = before["event_us"]
    assert d["event_us"][dst].tolist() == [t[0] + 10_000_000, t[0] + 30_000_000,
                                           t[3] + 30_000_000, T1 - 1]
    assert d["amount_raw"][dst].tolist() == [10.0 * 0.5, 10.0, 40.0 * 1.25, 50.0 * 1.5]
    rest = np.setdiff1d(np.arange(18), dst)
    for key, v in before.items():
        assert (d[key][rest] == v[rest]).all(), key


def test_no_run_when_the_chunk_has_too_few_genuine_rows():
    # 15 genuine rows, fewer than 4 x 4 rows to write: nothing changes.
    ctx, spec, d, codes = _chunk(15)
    before = {k: v.copy() for k, v in d.items()}
    rng = _Script(("random", (15,), {}, _u(15)), ("integers", (1, 5, 3), {}, [2, 1, 1]))
    draws_v3.genuine_runs(ctx, spec, d, codes, rng)
    assert not rng.steps
    for key, v in before.items():
        assert (d[key] == v).all(), key


def test_no_run_when_none_starts():
    ctx, spec, d, codes = _chunk(16)
    before = {k: v.copy() for k, v in d.items()}
    rng = _Script(("random", (16,), {}, [0.5] * 16), ("integers", (1, 5, 0), {}, []))
    draws_v3.genuine_runs(ctx, spec, d, codes, rng)
    assert not rng.steps
    for key, v in before.items():
        assert (d[key] == v).all(), key
