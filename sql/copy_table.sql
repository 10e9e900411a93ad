COPY (SELECT * FROM {{ table | ident }})
TO {{ path | literal }} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {{ row_group_size | int }});
