-- Per-entity arrays the v2 sampler indexes by id (ids are 0..n-1, in order).
{% if table == "cards" %}
SELECT customer_id AS owner FROM cards ORDER BY card_id;
{% elif table == "customers" %}
SELECT enum_code(home_country)::INTEGER AS country FROM customers ORDER BY customer_id;
{% else %}
SELECT
    enum_code(country_code)::INTEGER AS country,
    CAST(mcc_code AS VARCHAR) AS mcc,
    utc_offset,
    amount_scale,
    risk,
    popularity
FROM merchants
ORDER BY merchant_id;
{% endif %}
