CREATE OR REPLACE TABLE {{ table | ident }} AS
SELECT * FROM read_parquet({{ path | literal }});
