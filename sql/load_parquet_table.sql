CREATE OR REPLACE TEMP VIEW {{ view | ident }} AS
SELECT * FROM read_parquet({{ path | exact_path }});
