-- The database file users open: catalogs as tables, payments as a view over exactly
-- the files of its run (listed from the manifest, absolute, glob characters escaped),
-- so it never reads another run's or a sibling directory's files.
CREATE OR REPLACE VIEW payments AS
SELECT * FROM read_parquet(
    [
{% for path in files %}
        {{ path | exact_path }}{{ "," if not loop.last }}
{% endfor %}
    ],
    hive_partitioning = true,
    hive_types = {'year': INTEGER, 'month': INTEGER}
);
