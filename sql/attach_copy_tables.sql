-- Copy tables into a new database file; ENUM columns become their declared types so
-- the file stands alone for any DuckDB client. `tables` holds (schema, table, columns):
-- a schema other than the default (v3: `ground_truth`) is created first.
ATTACH {{ path | literal }} AS target;
{% for dest_schema, table, schema in tables %}
{% if dest_schema %}
CREATE SCHEMA IF NOT EXISTS target.{{ dest_schema | ident }};
{% endif %}
CREATE OR REPLACE TABLE target.{% if dest_schema %}{{ dest_schema | ident }}.{% endif %}{{ table | ident }} AS
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
