-- One chunk, in two modes over the same joins (the Arrow view `draws` holds the
-- chunk's numpy samples; one DuckDB thread keeps them in draw order):
--   mode "score": what the Python labeler needs, including the logistic draw;
--   mode "rows":  the labelled rows in schema order, pairing each row with its label
--                 (Arrow view `labels`) by position; a misaligned pair fails loudly.
-- Parameters: $intercept, $w_amount, $w_mrisk, $w_crisk, $w_night, and the centres
-- $c_* that v2 subtracts from each feature (0 in v1, the legacy formula) so that the
-- base rate stays near fraud_rate and the weights only rank payments.
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
{% if realism == "v2" %}
        -- v2: in-store payments happen at the merchant, remote ones near the customer.
        least(greatest(CASE WHEN d.remote THEN cu.home_lat ELSE m.latitude END + d.dlat,
                       -90.0), 90.0) AS latitude,
        least(greatest(CASE WHEN d.remote THEN cu.home_lon ELSE m.longitude END + d.dlon,
                       -180.0), 180.0) AS longitude,
{% else %}
        least(greatest(m.latitude + d.dlat, -90.0), 90.0) AS latitude,
        least(greatest(m.longitude + d.dlon, -180.0), 180.0) AS longitude,
{% endif %}
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
{% if realism == "v2" %}
    JOIN customers AS cu ON cu.customer_id = c.customer_id
{% endif %}
),
scored AS (
    SELECT
        *,
        1.0 / (1.0 + exp(-(
            $intercept
            + $w_amount * (ln(amount + 1) - $c_amount)
            + $w_mrisk * (merchant_risk - $c_mrisk)
            + $w_crisk * (card_risk - $c_crisk)
            + $w_night * (CAST(hour(event_time + to_minutes(time_offset)) < 6 AS DOUBLE)
                          - $c_night)
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
{% elif col.name in ("fraud_scenario", "fraud_reported_at") %}
    CAST(l.{{ col.name | ident }} AS {{ col | attr(type_attr) }}) AS {{ col.name | ident }}{{ "," if not loop.last }}
{% else %}
    CAST(s.{{ col.name | ident }} AS {{ col | attr(type_attr) }}) AS {{ col.name | ident }}{{ "," if not loop.last }}
{% endif %}
{% endfor %}
FROM scored AS s
POSITIONAL JOIN labels AS l
{% endif %}
