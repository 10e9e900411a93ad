{#- Persist a catalog table (or, with `columns`, some of its columns) as Parquet. -#}
COPY (SELECT {% if columns is defined and columns %}{% for c in columns %}{{ c | ident }}{{ ", " if not loop.last }}{% endfor %}{% else %}*{% endif %} FROM {{ table | ident }})
TO {{ path | literal }} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {{ row_group_size | int }});
