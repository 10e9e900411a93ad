"""`sqlgen validate`: does an output directory hold exactly what its manifest says?"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from sqlgen.errors import SqlgenError
from sqlgen.files import file_sha256
from sqlgen.publish.ownership import LEGACY_RUN
from sqlgen.publish.writer import DATABASE, SUCCESS, OutputDir, database_marker
from sqlgen.render import exact_path, render
from sqlgen.schema import payments_schema

# What validate reads from the manifest, with the JSON type each field must have.
_RUN_FIELDS = {"run_id": str, "rows": int, "fraud_rows": int, "fraud_target": int, "files": list}
_FILE_FIELDS = {"path": str, "rows": int, "fraud_rows": int, "bytes": int, "sha256": str}
_CATALOG_FIELDS = {"path": str, "bytes": int, "sha256": str}


def _field_problem(entry: object, fields: dict[str, type], where: str) -> str | None:
    if not isinstance(entry, dict):
        return f"'{where.rstrip('.')}' is not a JSON object" if where else "not a JSON object"
    for key, kind in fields.items():
        if key not in entry:
            return f"'{where}{key}' is missing"
        value = entry[key]
        # JSON true/false load as bool, a subclass of int: not a count.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"'{where}{key}' is {type(value).__name__}, expected {kind.__name__}"
        if kind is int and value < 0:
            return f"'{where}{key}' is negative ({value})"
    return None


def manifest_problem(manifest: object) -> str | None:
    """Why a loaded manifest cannot be checked (a missing key, a wrong type), or None."""
    problem = _field_problem(manifest, _RUN_FIELDS, "")
    if problem:
        return problem
    catalogs = manifest.get("catalog_files", [])
    if not isinstance(catalogs, list):
        return f"'catalog_files' is {type(catalogs).__name__}, expected list"
    for name, entries, fields in (
        ("files", manifest["files"], _FILE_FIELDS),
        ("catalog_files", catalogs, _CATALOG_FIELDS),
    ):
        for i, entry in enumerate(entries):
            if problem := _field_problem(entry, fields, f"{name}[{i}]."):
                return problem
    return None


def _file_facts(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list, int, int]:
    src = f"read_parquet({exact_path(path)}, hive_partitioning = false)"
    columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    rows, frauds = con.execute(
        f"SELECT count(*), count(*) FILTER (label_fraud) FROM {src}"
    ).fetchone()
    return columns, rows, frauds


def null_problems(
    con: duckdb.DuckDBPyConnection, path: Path, rel: str, realism: str | None = None
) -> list[str]:
    """One problem per column that schema/payments.yaml declares non-nullable but that
    holds nulls in this file (the file's schema already checked)."""
    required = [c.name for c in payments_schema(realism=realism).columns if not c.nullable]
    counts = con.execute(render("validate_nulls.sql", columns=required, path=path)).fetchone()
    return [f"{rel}: {n} nulls in non-nullable column {name}"
            for name, n in zip(required, counts, strict=True) if n]


def _id_type(manifest: dict) -> str:
    """The run's `output.id_type`; a manifest without one is checked against the default."""
    config = manifest.get("config")
    output = config.get("output") if isinstance(config, dict) else None
    id_type = output.get("id_type") if isinstance(output, dict) else None
    return id_type if id_type in ("string", "uuid") else "string"


_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_GLOB_ESCAPE = re.compile(r"\[([*?\[])\]")


def database_problems(out: OutputDir, manifest: dict) -> list[str]:
    """Does `sqlgen.duckdb` describe this folder: the run `payments/` holds, and a
    `payments` view that reads this folder's files?"""
    run_id, published = out.current_run_name(), manifest["run_id"]
    if run_id is None:
        return []  # the first layout's database: converted by the next `sqlgen run`
    if run_id not in (published, LEGACY_RUN):  # `legacy`: a converted first-layout run
        return [f"sqlgen.duckdb is run {run_id} but payments/ holds run {published}"]
    database = Path(os.path.realpath(out.current / DATABASE))
    if not database.is_file():
        return [f"{database} is missing; run `sqlgen run` on this out_dir again"]
    con = duckdb.connect(str(database), read_only=True)
    try:
        view = con.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'payments' AND NOT temporary"
        ).fetchone()
        if view is None:
            return ["sqlgen.duckdb has no payments view"]
        if database_marker(run_id) not in view[0]:
            # An earlier sqlgen's view names absolute paths: of this folder, unless moved.
            root = os.path.realpath(out.root) + "/"
            for literal in _LITERAL.findall(view[0]):
                path = _GLOB_ESCAPE.sub(r"\1", literal.replace("''", "'"))
                if path.startswith("/") and not path.startswith(root):
                    return [
                        f"sqlgen.duckdb's payments view reads {path}, outside this folder "
                        "(moved or copied since an earlier sqlgen wrote it); run `sqlgen run` "
                        "on this out_dir again"
                    ]
            return []
        rows = con.execute("SELECT count(*) FROM payments").fetchone()[0]
    except duckdb.Error as exc:
        return [f"sqlgen.duckdb: the payments view fails ({str(exc).splitlines()[0]})"]
    finally:
        con.close()
    if rows != manifest["rows"]:
        return [
            f"sqlgen.duckdb's payments view shows {rows} rows, manifest says {manifest['rows']}"
        ]
    return []


def validate(out_dir: Path, fraud_target: int | None = None) -> tuple[list[str], str]:
    """Problems found (empty when valid) and a one-line summary."""
    out = OutputDir(out_dir)
    out.recover_for_reading()
    problems: list[str] = []
    where = out.manifest_file().relative_to(out.root)
    try:
        manifest = out.read_manifest()
    except SqlgenError as exc:
        if isinstance(exc.__cause__, ValueError):  # JSONDecodeError, UnicodeDecodeError
            return [f"{where} is not valid JSON ({exc.__cause__})"], ""
        return [str(exc)], ""
    except Exception as exc:
        return [str(exc)], ""
    if problem := manifest_problem(manifest):
        return [f"{where} is malformed: {problem}"], ""
    current, held = out.current_run_name(), out.published_run()
    if current not in (None, LEGACY_RUN) and held not in (None, current):
        return [f"sqlgen.duckdb is run {current} but payments/ holds run {held}"], ""
    if not (out.payments / SUCCESS).is_file():
        problems.append(f"payments/{SUCCESS} is missing")
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {str(p.relative_to(out.root)) for p in out.payments.rglob("*.parquet")}
    problems += [f"missing file: {p}" for p in sorted(set(listed) - on_disk)]
    problems += [f"extra file not in manifest: {p}" for p in sorted(on_disk - set(listed))]
    expected_cols = [
        (c.name, c.described_type)
        for c in payments_schema(_id_type(manifest), manifest.get("realism")).columns
    ]
    con = duckdb.connect()
    rows = frauds = 0
    for rel in sorted(set(listed) & on_disk):
        entry, path = listed[rel], out.root / rel
        if path.stat().st_size != entry["bytes"]:
            problems.append(f"{rel}: {path.stat().st_size} bytes, manifest says {entry['bytes']}")
        if file_sha256(path) != entry["sha256"]:
            problems.append(f"{rel}: sha256 differs from the manifest")
        try:
            columns, n, f = _file_facts(con, path)
        except duckdb.Error as exc:
            problems.append(f"{rel}: unreadable Parquet ({str(exc).splitlines()[0]})")
            continue
        if columns != expected_cols:
            problems.append(f"{rel}: schema differs from schema/payments.yaml")
        else:
            try:  # reads the column data: a damaged page shows here, not in the footer
                problems += null_problems(con, path, rel, manifest.get("realism"))
            except duckdb.Error as exc:
                problems.append(f"{rel}: unreadable Parquet ({str(exc).splitlines()[0]})")
                continue
        if n != entry["rows"] or f != entry["fraud_rows"]:
            problems.append(
                f"{rel}: {n} rows / {f} frauds, manifest says "
                f"{entry['rows']} / {entry['fraud_rows']}"
            )
        rows, frauds = rows + n, frauds + f
    for entry in manifest.get("catalog_files", []):
        path = out.root / entry["path"]
        if not path.is_file():
            problems.append(f"missing catalog file: {entry['path']}")
        elif file_sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 differs from the manifest")
    target = manifest["fraud_target"] if fraud_target is None else fraud_target
    if frauds != target and not any("unreadable" in p or "missing" in p for p in problems):
        problems.append(f"{frauds} fraud rows, the config's target is {target}")
    if not problems:
        problems += database_problems(out, manifest)
    if manifest["rows"] != sum(f["rows"] for f in manifest["files"]):
        problems.append("manifest row total does not match its files")
    if manifest["fraud_rows"] != sum(f["fraud_rows"] for f in manifest["files"]):
        problems.append("manifest fraud total does not match its files")
    summary = (
        f"valid: {len(listed)} files, {rows:,} rows, {frauds:,} frauds "
        f"(target {target:,}), run {manifest['run_id']}"
    )
    return problems, summary
