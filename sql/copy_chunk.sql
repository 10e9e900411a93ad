-- Write one labelled chunk as one Parquet file, columns in schema order.
COPY (
    SELECT
{% for col in columns %}
        CAST({{ col.name | ident }} AS {{ col.type }}) AS {{ col.name | ident }}{{ "," if not loop.last }}
{% endfor %}
    FROM {{ source | ident }}
) TO {{ path | literal }} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {{ row_group_size | int }});
