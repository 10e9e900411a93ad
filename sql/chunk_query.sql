-- One chunk, in two modes over the same joins (the Arrow view `draws` holds the
-- chunk's numpy samples; one DuckDB thread keeps them in draw order):
--   mode "score": what the Python labeler needs, including the logistic draw;
--   mode "rows":  the labelled rows in schema order, pairing each row with its label
--                 (Arrow view `labels`) by position; a misaligned pair fails loudly.
-- Parameters: $intercept, $w_amount, $w_mrisk, $w_crisk, $w_night.
WITH joined AS (
    SELECT
        d.row_idx,
        d.transaction_id,
        make_timestamp(d.event_us) AS event_time,
        m.utc_offset AS time_offset,
        c.customer_id,
        d.merchant_id,
        d.card_id,
        c.pan_hash,
{% if realism == "v2" %}
        -- v2: each merchant category has its own price level.
        round(greatest(d.amount_raw * m.amount_scale, 0.01), 2) AS amount,
{% else %}
        round(d.amount_raw, 2) AS amount,
{% endif %}
        m.currency,
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
{% if mode == "score" %}
SELECT
    row_idx,
    merchant_id,
    event_us,
    merchant_risk,
    u_label < fraud_p AS logistic_label
FROM scored
{% else %}
SELECT
{% for col in columns %}
{% if col.name == "label_fraud" %}
    CASE WHEN l.row_idx = s.row_idx THEN l.label_fraud
         ELSE error('sqlgen: chunk rows and labels out of step') END AS label_fraud,
{% elif col.name == "fraud_scenario" %}
    CAST(l.fraud_scenario AS {{ col | attr(type_attr) }}) AS fraud_scenario{{ "," if not loop.last }}
{% else %}
    CAST(s.{{ col.name | ident }} AS {{ col | attr(type_attr) }}) AS {{ col.name | ident }}{{ "," if not loop.last }}
{% endif %}
{% endfor %}
FROM scored AS s
POSITIONAL JOIN labels AS l
{% endif %}
