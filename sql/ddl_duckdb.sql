-- DuckDB: the {{ (namespace ~ ".") if namespace }}{{ table }} table as sqlgen writes it to Parquet{{ " (plus Hive partition columns year, month)" if partitions else " at realism " ~ realism }}.
{% if namespace %}
CREATE SCHEMA IF NOT EXISTS {{ namespace | ident }};
{% endif %}
CREATE TABLE {{ (namespace | ident) ~ "." if namespace }}{{ table | ident }} (
{% for name, type, nullable, comment in columns %}
    {{ name | ident }} {{ type }}{{ " NOT NULL" if not nullable }}{{ "," if not loop.last or partitions }}  -- {{ comment }}
{% endfor %}
{% for p in partitions %}
    {{ p | ident }} INTEGER{{ "," if not loop.last }}  -- Hive partition
{% endfor %}
);
