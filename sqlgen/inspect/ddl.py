"""`sqlgen schema --format`: a table's DDL for DuckDB, Athena/Glue and Spark.

Generated from `schema/*.yaml` for the realism level whose files it describes (v3, the
default, publishes catalogs without their generating parameters, which are the tables
`ground_truth.<table>`), so it follows the schema. Payments are Hive-partitioned by
`year` and `month` (directories `year=YYYY/month=M`); catalogs are one file each.
The LOCATION is absolute (a relative one is resolved by Spark inside its warehouse,
which gives an empty table and no error). No `;` appears but at the end of a
statement, so a DDL script can be split on `;`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlgen.errors import SqlgenError
from sqlgen.render import render
from sqlgen.schema import TableSchema, public_schema, table_schema, truth_schema

FORMATS = ("text", "duckdb", "athena", "spark")
PARTITIONS = {"payments": ("year", "month")}
CATALOGS = ("customers", "merchants", "cards")
TRUTH = "ground_truth"  # the namespace of the ground-truth tables (as in sqlgen.duckdb)
TABLES = ("payments", *CATALOGS, *(f"{TRUTH}.{t}" for t in CATALOGS))

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
    "payments": "s3://YOUR-RAW-BUCKET/payments/",
    "catalog": "s3://YOUR-ARTIFACTS-BUCKET/catalogues/{table}/",
}


def statements(ddl: str) -> list[str]:
    """The DDL's statements, one per `spark.sql(...)` call: split on `;` (no comment or
    string literal holds one), `--` comment lines dropped."""
    out = []
    for chunk in ddl.split(";"):
        lines = [ln for ln in chunk.splitlines() if not ln.lstrip().startswith("--")]
        if text := "\n".join(lines).strip():
            out.append(text)
    return out


def hive_string(text: str) -> str:
    """A single-quoted Hive/Spark string literal (backslash escapes, unlike DuckDB's '').

    >>> print(hive_string("the card's PAN"))
    'the card\\'s PAN'
    """
    if "\x00" in text or "\n" in text:
        raise ValueError("NUL or newline in a DDL string literal")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def comment(text: str) -> str:
    """A column description as DDL carries it: no `;`, which would split a statement,
    and no `'`, which a naive splitter reads as the start of a string.

    >>> comment("NULL when approved; insufficient_funds | do_not_honour")
    'NULL when approved, insufficient_funds | do_not_honour'
    >>> comment("the card's PAN") == "the card\u2019s PAN"
    True
    """
    return text.replace(";", ",").replace("'", "\u2019")


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


def file_schema(table: str, realism: str = "v3", id_type: str = "string") -> TableSchema:
    """The columns of the Parquet files a run of `realism` writes for `table` (payments,
    a catalog, or `ground_truth.<catalog>`)."""
    if table not in TABLES:
        raise SqlgenError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    if table == "payments":
        return table_schema("payments", realism).with_id_type(id_type)
    if id_type != "string":
        raise SqlgenError("--id-type applies to the payments table only")
    if realism == "v1":
        raise SqlgenError(f"realism v1 writes no catalog files, so no {table} table")
    if table.startswith(f"{TRUTH}."):
        if realism != "v3":
            raise SqlgenError(f"{table} exists at realism v3 only (v1, v2 keep no ground truth)")
        return truth_schema(table.removeprefix(f"{TRUTH}."))
    return public_schema(table, "v3") if realism == "v3" else table_schema(table)


def default_location(table: str, out_dir: Path | str) -> str:
    """Where a local run in `out_dir` keeps the table's files, as an absolute path (the
    folder of parts of a catalog written in parts, see `catalog_files`)."""
    root = os.path.abspath(out_dir)
    if table == "payments":
        return os.path.join(root, "payments")
    name = table.removeprefix(f"{TRUTH}.")
    sub = (TRUTH,) if table.startswith(f"{TRUTH}.") else ()
    path = os.path.join(root, "catalog", *sub, f"{name}.parquet")
    parts = path.removesuffix(".parquet")  # a table over catalog.max_size_mb: its parts
    return parts if not os.path.isfile(path) and os.path.isdir(parts) else path


def table_ddl(
    table: str = "payments",
    fmt: str = "duckdb",
    location: str | None = None,
    id_type: str = "string",
    realism: str = "v3",
) -> str:
    """The DDL of `table` in `fmt` (`duckdb`, `athena` or `spark`) for the files of a
    run at `realism`. `location`: the table's files (athena: a placeholder if None)."""
    schema = file_schema(table, realism, id_type)
    namespace, _, name = table.rpartition(".")
    partitions = PARTITIONS.get(table, ())
    if fmt == "duckdb":
        columns = [(c.name, c.type, c.nullable, comment(c.description)) for c in schema.columns]
        return render(
            "ddl_duckdb.sql",
            namespace=namespace,
            table=name,
            columns=columns,
            partitions=partitions,
            realism=realism,
        )
    if fmt not in ("athena", "spark"):
        raise SqlgenError(f"unknown schema format {fmt!r}; choose one of {', '.join(FORMATS)}")
    columns = [
        (c.name, _engine_type(c.type, fmt, c.name), hive_string(comment(c.description)))
        for c in schema.columns
    ]
    if location is None and fmt == "spark":
        raise SqlgenError("a Spark table needs the LOCATION of its files")
    kind = "payments" if table == "payments" else "catalog"
    where = location or PLACEHOLDERS[kind].format(table=table.replace(".", "/"))
    if ";" in where or "\n" in where or "\x00" in where:
        raise SqlgenError(f"LOCATION {where!r}: a `;`, newline or NUL cannot be in DDL")
    quoted = hive_string(where)
    return render(
        f"ddl_{fmt}.sql",
        namespace=namespace,
        table=name,
        columns=columns,
        partitions=partitions,
        location=quoted,
        placeholder=location is None,
        realism=realism,
    )


def table_location(cfg, table: str, fmt: str) -> str | None:
    """The LOCATION `sqlgen schema` writes when none is given, for the run `cfg`
    describes: with S3 delivery (`--s3`, `s3_upload`) the raw bucket's payments prefix
    (the bucket named by the SSM parameter, as `sqlgen run --s3` reads it); otherwise,
    for Spark, the files under `out_dir`, absolute; Athena keeps a placeholder."""
    if cfg.s3_upload:
        if table != "payments":
            raise SqlgenError(
                f"{table}: the S3 catalog objects share the prefix {cfg.s3.catalog_prefix}, and "
                "a table reads a folder; copy the object to a prefix of its own, pass --location"
            )
        from sqlgen.publish.s3 import bucket_from_ssm, clients

        ssm, _ = clients(cfg.s3)
        return f"s3://{bucket_from_ssm(ssm, cfg.s3.raw_bucket_param)}/{cfg.s3.prefix}"
    if fmt == "spark":
        return default_location(table, cfg.out_dir)
    return None
