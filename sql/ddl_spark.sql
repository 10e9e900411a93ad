-- Spark SQL: sqlgen's {{ (namespace ~ ".") if namespace }}{{ table }} Parquet as a table{{ "" if partitions else " (realism " ~ realism ~ ")" }}.
{% if namespace %}
CREATE DATABASE IF NOT EXISTS `{{ namespace | ident }}`;
{% endif %}
CREATE TABLE IF NOT EXISTS {{ "`" ~ (namespace | ident) ~ "`." if namespace }}`{{ table | ident }}` (
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
