-- Payments and fraud rate by local hour of day, or by calendar day.
SELECT
{% if by == "hour" %}
    hour(event_time + to_minutes(time_offset)) AS x,
{% else %}
    CAST(date_trunc('day', event_time) AS DATE) AS x,
{% endif %}
    count(*) AS payments,
    100.0 * count(*) FILTER (label_fraud) / count(*) AS fraud_pct
FROM payments
GROUP BY ALL
ORDER BY x;
