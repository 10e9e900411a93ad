-- Points to check against independent geography: catalog places and a sample of rows.
{% if what == "customers" %}
SELECT home_lat AS lat, home_lon AS lon, CAST(home_country AS VARCHAR) AS country
FROM customers;
{% elif what == "merchants" %}
SELECT latitude AS lat, longitude AS lon, CAST(country_code AS VARCHAR) AS country
FROM merchants;
{% else %}
SELECT latitude AS lat, longitude AS lon, event_time, time_offset
FROM payments
USING SAMPLE {{ rows | int }} ROWS (reservoir, 7);  -- a constant: DuckDB binds none here
{% endif %}
