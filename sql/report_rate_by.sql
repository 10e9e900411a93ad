-- Fraud rate by one dimension.
WITH p AS (
    SELECT
{% if dimension == "local_hour" %}
        hour(event_time + to_minutes(time_offset)) AS local_hour,
{% elif dimension == "amount_decile" %}
        ntile(10) OVER (ORDER BY amount) AS amount_decile,
{% else %}
        CAST({{ dimension | ident }} AS VARCHAR) AS {{ dimension | ident }},
{% endif %}
        label_fraud
    FROM payments
)
SELECT
    {{ dimension | ident }},
    count(*) AS rows,
    count(*) FILTER (label_fraud) AS frauds,
    round(100.0 * count(*) FILTER (label_fraud) / count(*), 3) AS fraud_pct
FROM p
GROUP BY ALL
ORDER BY {{ "fraud_pct DESC" if dimension in ("mcc_code", "channel") else dimension | ident }}
{% if dimension == "mcc_code" %}
LIMIT 20
{% endif %}
;
