SELECT type_name FROM duckdb_types() WHERE logical_type = 'ENUM';
