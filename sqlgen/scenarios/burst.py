"""burst: waves of `label.burst_size` frauds at one risky merchant within
±`label.burst_window_minutes` (placed by the labeler, `labeler._bursts`)."""

from sqlgen.scenarios.base import ReportDelay, Scenario

SCENARIO = Scenario(
    name="burst",
    code=2,
    summary="waves of frauds at one risky merchant within a short window",
    weight=0.15,
    report=ReportDelay(median_days=14.0, sigma=0.7, cnp_factor=1.2),
)
