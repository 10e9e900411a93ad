-- Write a table of finished payment rows as one Parquet file, as a chunk's COPY does.
COPY {{ table | ident }} TO {{ path | literal }} (FORMAT parquet, COMPRESSION {{ compression | ident }}, ROW_GROUP_SIZE {{ row_group_size | int }});
