-- Raw columns and point-in-time history features of every payment (or, with `modulus`
-- > 1, of the payments of a sample of cards: whole card histories are kept), for
-- `sqlgen report`'s difficulty profile and benchmarks/difficulty.py. History uses only what was known at the payment's time: earlier payments
-- of the card and merchant, and fraud reports received before it (as
-- examples/dbt/models/features/payment_features.sql). Categories come as integer codes.
WITH p AS (
    SELECT
        *,
        epoch_us(event_time) AS t_us,
        epoch_us(fraud_reported_at) AS r_us
    FROM payments
{% if modulus > 1 %}
    WHERE hash(card_id) % {{ modulus | int }} = 0
{% endif %}
),
card_w AS (
    SELECT
        transaction_id,
        count(*) OVER c1h - 1 AS card_n_1h,
        count(*) OVER c24h - 1 AS card_n_24h,
        count(*) OVER c7d - 1 AS card_n_7d,
        coalesce(sum(amount) OVER c1h, 0) - amount AS card_sum_1h,
        coalesce(sum(amount) OVER c24h, 0) - amount AS card_sum_24h,
        coalesce(sum(amount) OVER c7d, 0) - amount AS card_sum_7d,
        amount / nullif(avg(amount) OVER before, 0) AS amount_vs_card_mean,
        (t_us - lag(t_us) OVER byc) / 1e6 AS secs_since_card_prev,
        row_number() OVER (PARTITION BY card_id, merchant_id ORDER BY t_us) = 1
            AS first_merchant_for_card,
        row_number() OVER (PARTITION BY card_id, device_id ORDER BY t_us) = 1
            AND device_id IS NOT NULL AS first_device_for_card,
        row_number() OVER (PARTITION BY card_id, country_code ORDER BY t_us) = 1
            AS first_country_for_card,
        row_number() OVER (PARTITION BY card_id, ip_address ORDER BY t_us) = 1
            AND ip_address IS NOT NULL AS first_ip_for_card,
        row_number() OVER byc = 1 AS first_payment_of_card
    FROM p
    WINDOW
        byc AS (PARTITION BY card_id ORDER BY t_us),
        before AS (PARTITION BY card_id ORDER BY t_us ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
        c1h AS (PARTITION BY card_id ORDER BY t_us RANGE BETWEEN 3600000000 PRECEDING AND CURRENT ROW),
        c24h AS (PARTITION BY card_id ORDER BY t_us RANGE BETWEEN 86400000000 PRECEDING AND CURRENT ROW),
        c7d AS (PARTITION BY card_id ORDER BY t_us RANGE BETWEEN 604800000000 PRECEDING AND CURRENT ROW)
),
net_w AS (
    SELECT
        transaction_id,
        CASE WHEN device_id IS NOT NULL THEN
            (t_us - min(t_us) OVER (PARTITION BY device_id)) / 86400e6 END AS device_age_days,
        CASE WHEN ip_address IS NOT NULL THEN
            (t_us - min(t_us) OVER (PARTITION BY ip_address)) / 86400e6 END AS ip_age_days,
        CASE WHEN device_id IS NOT NULL THEN
            CAST(count(*) OVER (PARTITION BY device_id ORDER BY t_us
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS DOUBLE) END
            AS device_n_before,
        CASE WHEN ip_address IS NOT NULL THEN
            CAST(count(*) OVER (PARTITION BY ip_address ORDER BY t_us
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS DOUBLE) END
            AS ip_n_before
    FROM p
),
merchant_w AS (
    SELECT
        transaction_id,
        count(*) OVER m1h - 1 AS merchant_n_1h,
        count(*) OVER m24h - 1 AS merchant_n_24h
    FROM p
    WINDOW
        m1h AS (PARTITION BY merchant_id ORDER BY t_us RANGE BETWEEN 3600000000 PRECEDING AND CURRENT ROW),
        m24h AS (PARTITION BY merchant_id ORDER BY t_us RANGE BETWEEN 86400000000 PRECEDING AND CURRENT ROW)
),
-- Reports merged into the time line of payments: reports received before each payment.
{% for key in ["merchant_id", "card_id"] %}
events_{{ key }} AS (
    SELECT {{ key }} AS k, t_us AS at_us, 1 AS is_payment, transaction_id FROM p
    UNION ALL
    SELECT {{ key }}, r_us, 0, NULL FROM p WHERE label_fraud AND r_us IS NOT NULL
),
reports_{{ key }} AS (
    SELECT transaction_id, sum(1 - is_payment) OVER (
        PARTITION BY k ORDER BY at_us, is_payment
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS reports
    FROM events_{{ key }}
),
{% endfor %}
homes AS (SELECT customer_id, home_lat, home_lon FROM customers)
SELECT
    -- raw columns
    CAST(p.amount AS DOUBLE) AS amount,
    CAST(((p.t_us // 60000000 + p.time_offset) // 60) % 24 AS INTEGER) AS local_hour,
    CAST(((p.t_us // 60000000 + p.time_offset) // 1440 + 3) % 7 AS INTEGER) AS local_weekday,
    p.time_offset,
    p.latitude,
    p.longitude,
{% for c in categories %}
    (dense_rank() OVER (ORDER BY p.{{ c }}) - 1)::INTEGER AS {{ c }},
{% endfor %}
    CAST(p.is_recurring AS INTEGER) AS is_recurring,
    CAST(p.device_id IS NULL AS INTEGER) AS device_missing,
    CAST(p.ip_address IS NULL AS INTEGER) AS ip_missing,
    -- history features
    w.card_n_1h, w.card_n_24h, w.card_n_7d, w.card_sum_1h, w.card_sum_24h, w.card_sum_7d,
    w.amount_vs_card_mean, w.secs_since_card_prev,
    CAST(w.first_merchant_for_card AS INTEGER) AS first_merchant_for_card,
    CAST(w.first_device_for_card AS INTEGER) AS first_device_for_card,
    CAST(w.first_country_for_card AS INTEGER) AS first_country_for_card,
    CAST(w.first_ip_for_card AS INTEGER) AS first_ip_for_card,
    CAST(w.first_payment_of_card AS INTEGER) AS first_payment_of_card,
    m.merchant_n_1h, m.merchant_n_24h,
    nw.device_age_days, nw.ip_age_days, nw.device_n_before, nw.ip_n_before,
    rm.reports AS merchant_reports_before,
    rc.reports AS card_reports_before,
    2 * 6371 * asin(sqrt(
        pow(sin(radians(p.latitude - h.home_lat) / 2), 2)
        + cos(radians(h.home_lat)) * cos(radians(p.latitude))
        * pow(sin(radians(p.longitude - h.home_lon) / 2), 2))) AS km_from_home,
    -- labels and bookkeeping (not features)
    p.t_us,
    CAST(p.label_fraud AS INTEGER) AS y,
    coalesce(CAST(p.fraud_scenario AS VARCHAR), 'genuine') AS scenario
FROM p
JOIN card_w AS w USING (transaction_id)
JOIN merchant_w AS m USING (transaction_id)
JOIN net_w AS nw USING (transaction_id)
JOIN reports_merchant_id AS rm USING (transaction_id)
JOIN reports_card_id AS rc USING (transaction_id)
JOIN homes AS h USING (customer_id)
ORDER BY p.t_us, p.transaction_id
