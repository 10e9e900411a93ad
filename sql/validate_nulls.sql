{# Nulls per non-nullable column of one payments file (`sqlgen validate`). #}
SELECT
{% for column in columns %}
    count(*) FILTER ({{ column | ident }} IS NULL){{ "," if not loop.last }}
{% endfor %}
FROM read_parquet({{ path | exact_path }}, hive_partitioning = false);
