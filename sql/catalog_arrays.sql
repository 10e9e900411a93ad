-- Per-entity arrays the v2 sampler indexes by id (ids are 0..n-1, in order); `world`
-- (realism v3) adds each entity's place (a row of the cities table).
{% if table == "cards" %}
SELECT customer_id AS owner FROM cards ORDER BY card_id;
{% elif table == "customers" %}
SELECT
    enum_code(home_country)::INTEGER AS country
{%- if world %},
    home_city_id AS city,
    home_lat AS lat,
    home_lon AS lon
{%- endif %}

FROM customers
ORDER BY customer_id;
{% else %}
SELECT
    enum_code(country_code)::INTEGER AS country,
    CAST(mcc_code AS VARCHAR) AS mcc,
    utc_offset,
    amount_scale,
    risk,
    popularity
{%- if world %},
    city_id AS city,
    enum_code(currency)::INTEGER AS currency,
    latitude AS lat,
    longitude AS lon
{%- endif %}

FROM merchants
ORDER BY merchant_id;
{% endif %}
