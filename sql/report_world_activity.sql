-- Payments per card per UTC day and per calendar month: percentiles over cards that pay.
WITH per_day AS (SELECT count(*) AS n FROM payments GROUP BY card_id, event_time::DATE),
     per_month AS (SELECT count(*) AS n FROM payments
                   GROUP BY card_id, date_trunc('month', event_time))
SELECT 'per card per day' AS activity,
       quantile_cont(n, 0.5) AS p50, quantile_cont(n, 0.9) AS p90,
       quantile_cont(n, 0.99) AS p99, max(n) AS max
FROM per_day
UNION ALL
SELECT 'per card per month', quantile_cont(n, 0.5), quantile_cont(n, 0.9),
       quantile_cont(n, 0.99), max(n)
FROM per_month
UNION ALL
SELECT 'top merchant, % of payments', NULL, NULL, NULL,
       round(100.0 * max(n) / sum(n), 2)
FROM (SELECT count(*) AS n FROM payments GROUP BY merchant_id);
