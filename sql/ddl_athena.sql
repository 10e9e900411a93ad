-- Athena / Glue: sqlgen's {{ (namespace ~ ".") if namespace }}{{ table }} Parquet as an external table{{ "" if partitions else " (realism " ~ realism ~ ")" }}.
{% if placeholder %}
-- Replace LOCATION (or pass --location): Athena reads every file under that prefix.
{% endif %}
{% if not partitions %}
-- Athena reads a folder, not a file: put {{ table }}.parquet in a folder of its own.
{% else %}
-- Then MSCK REPAIR TABLE registers the year=/month= partitions (run it after each upload).
{% endif %}
{% if namespace %}
CREATE DATABASE IF NOT EXISTS `{{ namespace | ident }}`;
{% endif %}
CREATE EXTERNAL TABLE IF NOT EXISTS {{ "`" ~ (namespace | ident) ~ "`." if namespace }}`{{ table | ident }}` (
{% for name, type, comment in columns %}
  `{{ name | ident }}` {{ type }} COMMENT {{ comment }}{{ "," if not loop.last }}
{% endfor %}
)
{% if partitions %}
PARTITIONED BY ({% for p in partitions %}`{{ p | ident }}` int{{ ", " if not loop.last }}{% endfor %})
{% endif %}
STORED AS PARQUET
LOCATION {{ location }};
{% if partitions %}
MSCK REPAIR TABLE `{{ table | ident }}`;
{% endif %}
