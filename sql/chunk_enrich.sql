-- One chunk: join the numpy draws (Arrow view `draws`) to the catalogs, compute the
-- logistic fraud probability and its draw. Parameters: $intercept, $w_amount,
-- $w_mrisk, $w_crisk, $w_night.
WITH joined AS (
    SELECT
        d.row_idx,
        d.transaction_id,
        make_timestamp(d.event_us) AS event_time,
        co.utc_offset AS time_offset,
        c.customer_id,
        d.merchant_id,
        d.card_id,
        c.pan_hash,
{% if realism == "v2" %}
        -- v2: each merchant category has its own price level.
        round(greatest(d.amount_raw * mc.amount_scale, 0.01), 2) AS amount,
{% else %}
        round(d.amount_raw, 2) AS amount,
{% endif %}
        co.currency,
        m.country_code,
        m.mcc_code,
        d.channel,
        d.device_type,
        c.card_scheme,
        d.pos_entry_mode,
        d.is_recurring,
        least(greatest(m.latitude + d.dlat, -90.0), 90.0) AS latitude,
        least(greatest(m.longitude + d.dlon, -180.0), 180.0) AS longitude,
        d.device_id,
        d.ip_address,
        d.user_agent,
        m.risk AS merchant_risk,
        c.risk AS card_risk,
        d.u_label,
        d.event_us
    FROM draws AS d
    JOIN cards AS c ON c.card_id = d.card_id
    JOIN merchants AS m ON m.merchant_id = d.merchant_id
    JOIN countries AS co ON co.code = m.country_code
{% if realism == "v2" %}
    JOIN mccs AS mc ON mc.code = m.mcc_code
{% endif %}
),
scored AS (
    SELECT
        *,
        1.0 / (1.0 + exp(-(
            $intercept
            + $w_amount * ln(amount + 1)
            + $w_mrisk * merchant_risk
            + $w_crisk * card_risk
            + $w_night * CAST(hour(event_time + to_minutes(time_offset)) < 6 AS DOUBLE)
        ))) AS fraud_p
    FROM joined
)
SELECT
{% for col in columns %}
    CAST({{ col.name | ident }} AS {{ col.type }}) AS {{ col.name | ident }},
{% endfor %}
    merchant_risk,
    event_us,
    u_label < fraud_p AS logistic_label
FROM scored
ORDER BY row_idx
