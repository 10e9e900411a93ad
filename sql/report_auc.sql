-- Single-feature ROC AUC of one column, out of sample: scored on the last 30% of time.
-- Numbers score as themselves; categories by their fraud rate over the first 70% of
-- time (unseen ones by the overall rate). Ties share their average rank.
WITH cut AS (SELECT quantile_disc(event_time, 0.7) AS t FROM payments),
{% if kind == "category" %}
train AS (
    SELECT {{ column | ident }} AS v, avg(CAST(label_fraud AS DOUBLE)) AS rate
    FROM payments, cut WHERE event_time < cut.t GROUP BY ALL
),
base AS (
    SELECT avg(CAST(label_fraud AS DOUBLE)) AS rate FROM payments, cut WHERE event_time < cut.t
),
s AS (
    SELECT coalesce(train.rate, base.rate) AS score, CAST(p.label_fraud AS INTEGER) AS y
    FROM payments AS p
    CROSS JOIN cut
    CROSS JOIN base
    LEFT JOIN train ON train.v = p.{{ column | ident }}
    WHERE p.event_time >= cut.t AND p.{{ column | ident }} IS NOT NULL
),
{% else %}
s AS (
    SELECT
{% if kind == "time" %}
        CAST(epoch({{ column | ident }}) AS DOUBLE) AS score,
{% else %}
        CAST({{ column | ident }} AS DOUBLE) AS score,
{% endif %}
        CAST(label_fraud AS INTEGER) AS y
    FROM payments, cut
    WHERE event_time >= cut.t AND {{ column | ident }} IS NOT NULL
),
{% endif %}
g AS (SELECT score, count(*) AS n, sum(y) AS pos FROM s GROUP BY score),
r AS (
    SELECT n, pos,
           coalesce(sum(n) OVER (ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING
                                 AND 1 PRECEDING), 0) AS before
    FROM g
),
t AS (
    SELECT sum(pos * (before + (n + 1) / 2.0)) AS rank_sum,
           sum(pos) AS p, sum(n) - sum(pos) AS q
    FROM r
)
SELECT CASE WHEN p > 0 AND q > 0 THEN (rank_sum - p * (p + 1) / 2.0) / (p * q) END AS auc
FROM t;
