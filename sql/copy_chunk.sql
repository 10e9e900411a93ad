-- Write one labelled chunk as one Parquet file. `query` is sqlgen's own rendered row
-- query (`chunk_rows.sql`, rendered once per process), never user input.
-- Small vocabularies are ENUMs, which DuckDB always writes as dictionaries; the only
-- VARCHAR columns left are the text ids, unique per row, so a string dictionary is never
-- kept for them: a 1-byte limit skips building one per row group (same bytes, ~10% less
-- COPY time with text ids).
COPY (
{{ query }}
) TO {{ path | literal }} (FORMAT parquet, COMPRESSION {{ compression | ident }}, {% if compression == "zstd" %}COMPRESSION_LEVEL {{ compression_level | int }}, {% endif %}ROW_GROUP_SIZE {{ row_group_size | int }}, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1);
