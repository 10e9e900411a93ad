-- The database file users open: catalogs as tables, payments as a view over the
-- published Parquet (through the `payments` link, so it follows every new run).
CREATE OR REPLACE VIEW payments AS
SELECT * FROM read_parquet(
    {{ glob | literal }},
    hive_partitioning = true,
    hive_types = {'year': INTEGER, 'month': INTEGER}
);
