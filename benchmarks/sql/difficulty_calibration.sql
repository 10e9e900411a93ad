-- Calibration figures: card-not-present share of fraud value (in EUR, `fx` bound from
-- schema/money.yaml), fraud rate cross-border vs domestic (merchant country against the
-- card holder's home country), fraud rate by local hour, prevented vs lost fraud value.
WITH p AS (
    SELECT p.*, CAST(p.amount AS DOUBLE) / fx.per_eur AS eur, c.home_country,
           ((epoch_us(p.event_time) // 60000000 + p.time_offset) // 60) % 24 AS local_hour
    FROM payments AS p
    JOIN fx ON fx.currency = CAST(p.currency AS VARCHAR)
    JOIN customers AS c USING (customer_id)
)
SELECT
    sum(eur) FILTER (label_fraud AND channel <> 'pos') / sum(eur) FILTER (label_fraud)
        AS cnp_share_of_fraud_value,
    avg(CAST(label_fraud AS DOUBLE)) FILTER (CAST(country_code AS VARCHAR) <> CAST(home_country AS VARCHAR))
        / avg(CAST(label_fraud AS DOUBLE)) FILTER (CAST(country_code AS VARCHAR) = CAST(home_country AS VARCHAR))
        AS cross_border_rate_ratio,
    sum(eur) FILTER (label_fraud AND auth_result = 'declined')
        / sum(eur) FILTER (label_fraud AND auth_result = 'approved') AS prevented_vs_lost_value
FROM p
