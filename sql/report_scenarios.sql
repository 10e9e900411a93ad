-- Rows and frauds per scenario (genuine rows as 'genuine'; v3: `reported` is the rows
-- labelled fraud, fewer than `rows` where some frauds were never reported). v3 averages
-- amount_base (one currency); v1 and v2 `amount`, in each payment's currency.
SELECT
    coalesce(CAST(fraud_scenario AS VARCHAR), 'genuine') AS scenario,
    count(*) AS rows,
    count(*) FILTER (label_fraud) AS reported,
    round(100.0 * count(*) / sum(count(*)) OVER (), 3) AS pct_of_rows,
    round(avg({{ "amount_base" if base | default(false) else "amount" }}), 2) AS avg_amount,
    round(avg(date_diff('minute', event_time, fraud_reported_at)) / 1440.0, 2)
        AS avg_report_delay_days
FROM payments
GROUP BY ALL
ORDER BY rows DESC;
