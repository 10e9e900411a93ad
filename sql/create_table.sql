-- Materialize a source (Arrow view or Parquet view) as a typed table in schema order.
CREATE OR REPLACE TABLE {{ schema.table | ident }} AS
SELECT
{% for col in schema.columns %}
    CAST({{ col.name | ident }} AS {{ col.working_type }}) AS {{ col.name | ident }}{{ "," if not loop.last }}
{% endfor %}
FROM {{ source | ident }}
ORDER BY {{ schema.columns[0].name | ident }};
