"""false_report: genuine payments reported as fraud (label noise, `label.noise_rate`)."""

from sqlgen.scenarios.base import ReportDelay, Scenario

SCENARIO = Scenario(
    name="false_report",
    code=7,
    summary="genuine payments reported as fraud (label noise)",
    report=ReportDelay(median_days=30.0, sigma=0.6),
)
