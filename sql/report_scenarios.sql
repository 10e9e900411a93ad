-- Rows and frauds per scenario (genuine rows as 'genuine').
SELECT
    coalesce(CAST(fraud_scenario AS VARCHAR), 'genuine') AS scenario,
    count(*) AS rows,
    round(100.0 * count(*) / sum(count(*)) OVER (), 3) AS pct_of_rows,
    round(avg(amount), 2) AS avg_amount,
    round(avg(date_diff('minute', event_time, fraud_reported_at)) / 1440.0, 2)
        AS avg_report_delay_days
FROM payments
GROUP BY ALL
ORDER BY rows DESC;
