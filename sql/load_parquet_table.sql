CREATE OR REPLACE TEMP VIEW {{ view | ident }} AS
SELECT * FROM read_parquet([{% for f in path %}{{ f | exact_path }}{{ ", " if not loop.last }}{% endfor %}]);
