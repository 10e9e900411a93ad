-- DuckDB: the {{ schema.table }} table as sqlgen writes it to Parquet{{ " (plus Hive partition columns year, month)" if partitions }}.
CREATE TABLE {{ schema.table | ident }} (
{% for col in schema.columns %}
    {{ col.name | ident }} {{ col.type }}{{ " NOT NULL" if not col.nullable }}{{ "," if not loop.last or partitions }}  -- {{ col.description }}
{% endfor %}
{% for p in partitions %}
    {{ p | ident }} INTEGER{{ "," if not loop.last }}  -- Hive partition
{% endfor %}
);
