-- Copy tables into a new database file; ENUM columns become their declared types so
-- the file stands alone for any DuckDB client.
ATTACH {{ path | literal }} AS target;
{% for table, schema in tables %}
CREATE OR REPLACE TABLE target.{{ table | ident }} AS
{% if schema %}
SELECT
{% for col in schema.columns %}
    CAST({{ col.name | ident }} AS {{ col.type }}) AS {{ col.name | ident }}{{ "," if not loop.last }}
{% endfor %}
FROM {{ table | ident }};
{% else %}
SELECT * FROM {{ table | ident }};
{% endif %}
{% endfor %}
DETACH target;
