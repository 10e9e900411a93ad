-- Amounts per currency: size, whole amounts and .99 price points.
SELECT currency,
       count(*) AS rows,
       min(amount) AS min,
       quantile_cont(amount, 0.5) AS p50,
       quantile_cont(amount, 0.99) AS p99,
       round(100.0 * avg((amount = round(amount))::INT), 1) AS pct_whole,
       round(100.0 * avg((amount - floor(amount) = 0.99)::INT), 1) AS pct_99
FROM payments
GROUP BY ALL
ORDER BY rows DESC;
