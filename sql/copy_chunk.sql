-- Write one labelled chunk as one Parquet file.
COPY (
{% include "chunk_rows.sql" %}
) TO {{ path | literal }} (FORMAT parquet, COMPRESSION {{ compression | ident }}, ROW_GROUP_SIZE {{ row_group_size | int }});
