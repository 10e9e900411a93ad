"""fill: random fraud rows when bursts cannot place the remainder (the legacy rule)."""

from sqlgen.scenarios.base import ReportDelay, Scenario

SCENARIO = Scenario(
    name="fill",
    code=3,
    summary="random frauds when bursts cannot place the remainder (legacy rule)",
    report=ReportDelay(median_days=10.0, sigma=0.8),
)
