-- Write one labelled chunk as one Parquet file. `query` is sqlgen's own rendered row
-- query (`chunk_rows.sql`, rendered once per process), never user input.
COPY (
{{ query }}
) TO {{ path | literal }} (FORMAT parquet, COMPRESSION {{ compression | ident }}, ROW_GROUP_SIZE {{ row_group_size | int }});
