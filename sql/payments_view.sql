-- The database file users open: catalogs as tables, payments as a view over exactly
-- the files of its run (listed from the manifest, glob characters escaped, never a glob),
-- found beside the database file itself, so that a run folder moved, copied or archived
-- reads its own files. DuckDB gives a query one constant that says where the database
-- it opened lives: the default `temp_directory`, `<resolved database path>.tmp`. When it
-- ends with this run's `marker` (`/.sqlgen/runs/<run_id>/sqlgen.duckdb.tmp`) the folder
-- is what precedes it. Otherwise (the database ATTACHed to another one, or another
-- temp_directory set) the view reads the files where the run was published, and only if
-- the database is still there: read from anywhere else, it fails naming the problem
-- rather than show another folder's files.
-- With `temp`: the view `sqlgen sql` and `sqlgen report` read, made on their own
-- connection over the files of the folder they were given (it hides the stored one).
{% set options %}hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}{% endset %}
{% if temp %}
CREATE OR REPLACE TEMP VIEW payments AS
SELECT * FROM read_parquet(
    [
{% for path in files %}
        {{ path | exact_path }}{{ "," if not loop.last }}
{% endfor %}
    ],
    {{ options }}
);
{% else %}
CREATE OR REPLACE VIEW payments AS
SELECT * FROM read_parquet(
    CASE WHEN suffix(current_setting('temp_directory'), {{ marker | literal }})
    THEN list_transform(
        [
{% for path in relpaths %}
            {{ path | exact_path }}{{ "," if not loop.last }}
{% endfor %}
        ],
        lambda f: regexp_replace(
            left(current_setting('temp_directory'), -{{ marker | length }}),
            '([*?\[])', '[\1]', 'g'
        ) || '/' || f
    )
    ELSE [
{% for path in files %}
        {{ path | exact_path }}{{ "," if not loop.last }}
{% endfor %}
    ]
    END,
    {{ options }}
)
WHERE suffix(current_setting('temp_directory'), {{ marker | literal }})
    OR EXISTS (SELECT 1 FROM duckdb_databases() WHERE path = {{ database | literal }})
    OR error({{ moved | literal }});
{% endif %}
