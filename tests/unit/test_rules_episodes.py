"""Rule-level tests of the fraud plan (`sqlgen.episodes`) on the small v3 world of
`test_rules_generation` (issue 25, sample 94243745)."""

from __future__ import annotations

import numpy as np

from sqlgen.scenarios.base import DAY_US
from tests.unit.test_rules_generation import ctx  # noqa: F401  (module fixture)


def test_attempts_past_the_window_wrap_around_into_it_as_episodes_of_their_own(ctx):  # noqa: F811
    planner = ctx.pop.planner
    a = planner.whole_plan()
    t, wrapped = a["t"], a["wrapped"]
    assert 5 <= wrapped.sum() < len(t) / 2
    # Every time inside [t0, t1) (20 days); a wrapped one keeps its place modulo the
    # window, so they spread over it rather than sit at its edge.
    assert (t >= planner.t0).all() and (t < planner.t1).all()
    assert planner.t1 - planner.t0 == 20 * DAY_US
    days = (t[wrapped] - planner.t0) / DAY_US
    assert len(np.unique(t[wrapped])) == wrapped.sum() and days.max() - days.min() > 3
    # Their episodes are their own: the high bit set on the wrapped rows only.
    high = (a["episode"] >> 31) & 1 == 1
    assert (high == wrapped).all()
