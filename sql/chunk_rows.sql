-- One chunk's labelled rows, in schema order and working types. The Arrow view `draws`
-- holds the numpy samples (codes, not strings): the catalogs and the small lookup tables
-- (channel_combos, ip_pool, ua_pool, scenario_codes, auth_codes; v3 also fx_base) turn
-- them into values, ENUM labels included, by hash joins on integer keys. The draws carry their labels (`scenario`,
-- `fraud_reported_at`) and authorisation outcome (`auth`); one DuckDB thread keeps draw order.
{% from "_chunk_macros.sql" import amount %}
WITH labelled AS (
    SELECT
        d.transaction_id,
        make_timestamp(d.event_us) AS event_time,
{% if realism == "v3" %}
        d.time_offset,  -- v3: the IANA zone offset of the payment's place at that date
{% else %}
        m.utc_offset AS time_offset,
{% endif %}
        c.customer_id,
        d.merchant_id,
        d.card_id,
        c.pan_hash,
{% if realism == "v2" %}
        -- v2: each merchant category has its own price level.
{% endif %}
        {{ amount(realism) }} AS amount,
        m.currency,
{% if realism == "v3" %}
        -- v3: the amount in the run's base currency at the FX table's rates, rounded
        -- half up to the base currency's minor units, in exact integers (sql/fx_base.sql).
        ((2 * CAST(round({{ amount(realism) }} * 100) AS BIGINT) * fx.num + fx.den)
         // (2 * fx.den)) * fx.step * 0.01 AS amount_base,
{% endif %}
        m.country_code,
        m.mcc_code,
        k.channel,
        k.device_type,
        c.card_scheme,
        k.pos_entry_mode,
        d.is_recurring,
{% if realism == "v3" %}
        -- v3: the place drawn in numpy (the shop in person, the holder's place online).
        d.latitude,
        d.longitude,
{% elif realism == "v2" %}
        -- v2: in-store payments happen at the merchant, remote ones near the customer.
        least(greatest(CASE WHEN k.remote THEN c.home_lat ELSE m.latitude END + d.dlat,
                       -90.0), 90.0) AS latitude,
        least(greatest(CASE WHEN k.remote THEN c.home_lon ELSE m.longitude END + d.dlon,
                       -180.0), 180.0) AS longitude,
{% else %}
        least(greatest(m.latitude + d.dlat, -90.0), 90.0) AS latitude,
        least(greatest(m.longitude + d.dlon, -180.0), 180.0) AS longitude,
{% endif %}
        d.device_id,
{% if realism == "v3" %}
        -- v3: card-present payments have no IP or browser; addresses are computed
        -- (concat_ws: one call instead of seven string operations, ~35% less time).
        CASE WHEN k.remote THEN concat_ws('.', d.ip >> 24, (d.ip >> 16) & 255,
                                          (d.ip >> 8) & 255, d.ip & 255)
        END AS ip_address,
        CASE WHEN k.remote THEN ua.user_agent END AS user_agent,
{% else %}
        ip.ip_address,
        ua.user_agent,
{% endif %}
        s.label_fraud,
        s.fraud_scenario,
        a.auth_result,
        a.decline_reason,
        d.fraud_reported_at
    FROM draws AS d
    JOIN card_facts AS c ON c.card_id = d.card_id
    JOIN merchants AS m ON m.merchant_id = d.merchant_id
{% if realism == "v3" %}
    JOIN fx_base AS fx ON fx.currency = m.currency
{% endif %}
    JOIN channel_combos AS k ON k.combo = d.combo
{% if realism != "v3" %}
    JOIN ip_pool AS ip ON ip.ip_idx = d.ip_idx
{% endif %}
    JOIN ua_pool AS ua ON ua.ua_idx = d.ua_idx
    JOIN scenario_codes AS s ON s.scenario = d.scenario
    JOIN auth_codes AS a ON a.auth = d.auth
)
SELECT
{% for col in columns %}
    CAST({{ col.name | ident }} AS {{ col | attr(type_attr) }}) AS {{ col.name | ident }}{{ "," if not loop.last }}
{% endfor %}
FROM labelled
