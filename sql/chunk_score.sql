-- The chunk's logistic fraud draw, for the Python labeler to correct to exact counts.
-- The Arrow view `draws` holds the chunk's numpy samples; one DuckDB thread keeps them
-- in draw order. Parameters: $intercept, the weights $w_*, and the centres $c_* that v2
-- subtracts from each feature (0 in v1, the legacy formula) so that the base rate stays
-- near fraud_rate and the weights only rank payments.
{% from "_chunk_macros.sql" import amount %}
SELECT
    d.row_idx,
    d.u_label < 1.0 / (1.0 + exp(-(
        $intercept
        + $w_amount * (ln({{ amount(realism, base=true) }} + 1) - $c_amount)
        + $w_mrisk * (m.risk - $c_mrisk)
        + $w_crisk * (c.risk - $c_crisk)
        -- night: local hour < 6 (integer arithmetic; the shift keeps times >= 1700 positive)
        -- (v3: the offset of the payment's place at that date; else the merchant's)
{% set offset = "d.time_offset" if realism == "v3" else "m.utc_offset" %}
        + $w_night * (CAST((d.event_us + {{ offset }}::BIGINT * 60000000 + 8640000000000000)
                           // 3600000000 % 24 < 6 AS DOUBLE) - $c_night)
{% if realism == "v3" %}
        -- v3: behaviour a history reveals (`sqlgen.episodes.behaviour`), centred per chunk
        + $w_cnp * (d.cnp - $c_cnp)
        + $w_abroad * (d.abroad - $c_abroad)
        + $w_velocity * (d.velocity - $c_velocity)
        + $w_far * (d.far - $c_far)
{% endif %}
    ))) AS logistic_label
FROM draws AS d
JOIN cards AS c ON c.card_id = d.card_id
JOIN merchants AS m ON m.merchant_id = d.merchant_id
