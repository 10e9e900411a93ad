"""logistic: the SQL logistic draw (`sql/chunk_score.sql`) on amount, merchant and card
risk and night; the labeler corrects it to the exact count."""

from sqlgen.scenarios.base import ReportDelay, Scenario

SCENARIO = Scenario(
    name="logistic",
    code=1,
    summary="the logistic draw on amount, merchant and card risk, night",
    weight=0.45,
    report=ReportDelay(median_days=10.0, sigma=0.8, cnp_factor=1.3),
)
