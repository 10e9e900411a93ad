-- Share of fraud and genuine payments per log10(amount) bin of width 0.1.
WITH b AS (
    SELECT round(log10(greatest(CAST(amount AS DOUBLE), 0.01)), 1) AS bin, label_fraud
    FROM payments
)
SELECT
    bin,
    count(*) FILTER (NOT label_fraud) / (SELECT count(*) FILTER (NOT label_fraud) FROM b)
        AS genuine_share,
    count(*) FILTER (label_fraud) / (SELECT greatest(count(*) FILTER (label_fraud), 1) FROM b)
        AS fraud_share
FROM b
GROUP BY bin
ORDER BY bin;
