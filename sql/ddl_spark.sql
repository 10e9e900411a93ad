-- Spark SQL: sqlgen's {{ table }} Parquet as a table.
{% if placeholder %}
-- Replace LOCATION (or pass --location) with the run's {{ "payments directory" if partitions else "catalog file" }}.
{% endif %}
CREATE TABLE IF NOT EXISTS `{{ table | ident }}` (
{% for name, type, comment in columns %}
  `{{ name | ident }}` {{ type }} COMMENT {{ comment }}{{ "," if not loop.last or partitions }}
{% endfor %}
{% for p in partitions %}
  `{{ p | ident }}` INT{{ "," if not loop.last }}
{% endfor %}
)
USING PARQUET
{% if partitions %}
PARTITIONED BY ({% for p in partitions %}`{{ p | ident }}`{{ ", " if not loop.last }}{% endfor %})
{% endif %}
LOCATION {{ location }};
{% if partitions %}
MSCK REPAIR TABLE `{{ table | ident }}`;
{% endif %}
