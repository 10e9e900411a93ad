-- Points to check against independent geography: seeded samples of the catalog places
-- and of the rows (the same run gives the same sample), or the catalog's size.
{% if what in ("customers", "merchants") and count | default(false) %}
SELECT count(*) FROM {{ what | ident }};
{% elif what == "customers" %}
SELECT home_lat AS lat, home_lon AS lon, CAST(home_country AS VARCHAR) AS country
FROM customers
USING SAMPLE {{ rows | int }} ROWS (reservoir, 7);  -- a constant: DuckDB binds none here
{% elif what == "merchants" %}
SELECT latitude AS lat, longitude AS lon, CAST(country_code AS VARCHAR) AS country
FROM merchants
USING SAMPLE {{ rows | int }} ROWS (reservoir, 7);
{% else %}
SELECT latitude AS lat, longitude AS lon, event_time, time_offset
FROM payments
USING SAMPLE {{ rows | int }} ROWS (reservoir, 7);
{% endif %}
