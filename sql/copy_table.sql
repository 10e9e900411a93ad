{#- Persist a catalog table (or, with `columns`, some of its columns) as Parquet; with
    `part_rows`, only the part `part` of that many rows in `order_by` order. -#}
COPY (SELECT {% if columns is defined and columns %}{% for c in columns %}{{ c | ident }}{{ ", " if not loop.last }}{% endfor %}{% else %}*{% endif %} FROM {{ table | ident }}
{%- if part_rows is defined and part_rows %} ORDER BY {{ order_by | ident }} LIMIT {{ part_rows | int }} OFFSET {{ (part * part_rows) | int }}{% endif %})
TO {{ path | literal }} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {{ row_group_size | int }});
