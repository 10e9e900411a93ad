"""`sqlgen schema --format`: a table's DDL for DuckDB, Athena/Glue and Spark.

Generated from `schema/*.yaml`, so it follows the schema. Payments are Hive-partitioned
by `year` and `month` (directories `year=YYYY/month=MM`); catalogs are one file each.
"""

from __future__ import annotations

import re

from sqlgen.errors import SqlgenError
from sqlgen.render import render
from sqlgen.schema import TableSchema, table_schema

FORMATS = ("text", "duckdb", "athena", "spark")
PARTITIONS = {"payments": ("year", "month")}

# DuckDB type -> Hive type (Athena/Glue) and Spark SQL type. ENUM vocabularies are
# written as plain strings; TIMESTAMPTZ is a UTC instant, which Spark calls TIMESTAMP_LTZ.
_HIVE = {
    "BIGINT": "bigint",
    "BOOLEAN": "boolean",
    "DOUBLE": "double",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TIMESTAMPTZ": "timestamp",
    "VARCHAR": "string",
}
_SPARK = {**{k: v.upper() for k, v in _HIVE.items()}, "INTEGER": "INT"}
_SPARK["TIMESTAMPTZ"] = "TIMESTAMP_LTZ"
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")

PLACEHOLDERS = {
    ("athena", "payments"): "s3://YOUR-RAW-BUCKET/payments/",
    ("athena", "catalog"): "s3://YOUR-ARTIFACTS-BUCKET/catalogues/{table}/",
    ("spark", "payments"): "output/payments",
    ("spark", "catalog"): "output/catalog/{table}.parquet",
}


def statements(ddl: str) -> list[str]:
    """The DDL's statements, one per `spark.sql(...)` call (each ends its line with `;`,
    and no string literal spans lines)."""
    return [s.strip() for s in ddl.split(";\n") if s.strip()]


def hive_string(text: str) -> str:
    """A single-quoted Hive/Spark string literal (backslash escapes, unlike DuckDB's '').

    >>> print(hive_string("the card's PAN"))
    'the card\\'s PAN'
    """
    if "\x00" in text or "\n" in text:
        raise ValueError("NUL or newline in a DDL string literal")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _engine_type(duck: str, engine: str, column: str) -> str:
    mapping = _HIVE if engine == "athena" else _SPARK
    if duck in mapping:
        return mapping[duck]
    if m := _DECIMAL.match(duck):
        return f"{'decimal' if engine == 'athena' else 'DECIMAL'}({m[1]},{m[2]})"
    raise SqlgenError(
        f"column {column}: DuckDB type {duck} has no {engine} equivalent"
        + (" (write ids as text: output.id_type: string)" if duck == "UUID" else "")
    )


def table_ddl(
    table: str = "payments", fmt: str = "duckdb", location: str | None = None, id_type="string"
) -> str:
    """The DDL of `table` in `fmt` (`duckdb`, `athena` or `spark`)."""
    schema: TableSchema = table_schema(table)
    if table == "payments":
        schema = schema.with_id_type(id_type)
    elif id_type != "string":
        raise SqlgenError("--id-type applies to the payments table only")
    if fmt == "duckdb":
        return render("ddl_duckdb.sql", schema=schema, partitions=PARTITIONS.get(table, ()))
    if fmt not in ("athena", "spark"):
        raise SqlgenError(f"unknown schema format {fmt!r}; choose one of {', '.join(FORMATS)}")
    kind = "payments" if table == "payments" else "catalog"
    where = location or PLACEHOLDERS[(fmt, kind)].format(table=table)
    columns = [
        (c.name, _engine_type(c.type, fmt, c.name), hive_string(c.description))
        for c in schema.columns
    ]
    return render(
        f"ddl_{fmt}.sql",
        table=schema.table,
        columns=columns,
        partitions=PARTITIONS.get(table, ()),
        location=hive_string(where),
        placeholder=location is None,
    )
