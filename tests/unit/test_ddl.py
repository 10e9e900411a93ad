"""`sqlgen schema --format`: DDL generated from schema/*.yaml (no data read here; the
Spark DDL is run against real files in tests/readers/test_spark.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import duckdb
import pytest

from sqlgen.cli import main
from sqlgen.errors import SqlgenError
from sqlgen.inspect.ddl import TABLES, hive_string, table_ddl
from sqlgen.schema import payments_schema, table_schema


@pytest.mark.parametrize("id_type", ["string", "uuid"])
def test_duckdb_ddl_creates_the_written_types(id_type):
    con = duckdb.connect()
    con.execute(table_ddl("payments", "duckdb", id_type=id_type))
    described = [(r[0], r[1]) for r in con.execute("DESCRIBE payments").fetchall()]
    expected = [(c.name, c.described_type) for c in payments_schema(id_type, "v3").columns]
    assert described == [*expected, ("year", "INTEGER"), ("month", "INTEGER")]
    assert ("amount_base", "DECIMAL(12,2)") in described
    assert ("transaction_id", "UUID" if id_type == "uuid" else "VARCHAR") in described


@pytest.mark.parametrize("fmt", ["duckdb", "athena", "spark"])
def test_amount_base_is_a_v3_column_only(fmt):
    """v1 and v2 files keep their columns: their DDL has no amount_base; v3's has it
    right after `currency`."""
    names = {}
    for realism in ("v1", "v2", "v3"):
        ddl = table_ddl("payments", fmt, location="/data/payments", realism=realism)
        names[realism] = re.findall(r"^\s+`?(\w+)`? ", ddl, flags=re.MULTILINE)
    assert "amount_base" not in names["v1"] and "amount_base" not in names["v2"]
    v3 = names["v3"]
    assert v3[v3.index("currency") + 1] == "amount_base"
    assert [n for n in v3 if n != "amount_base"] == names["v2"]


@pytest.mark.parametrize(
    ("text", "literal"),
    [("plain", "'plain'"), ("card's", r"'card\'s'"), (r"a\b", r"'a\\b'")],
)
def test_hive_string_escapes_with_backslashes(text, literal):
    assert hive_string(text) == literal


def test_hive_string_rejects_newlines():
    with pytest.raises(ValueError, match="newline"):
        hive_string("two\nlines")


def _columns(ddl: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s+`(\w+)` (\w+(?:\(\d+,\d+\))?)", ddl, flags=re.MULTILINE)


def test_athena_ddl_is_a_partitioned_external_parquet_table():
    ddl = table_ddl("payments", "athena")
    cols = dict(_columns(ddl))
    assert list(cols) == table_schema("payments", "v3").names
    assert cols["transaction_id"] == "string" and cols["event_time"] == "timestamp"
    assert cols["amount"] == "decimal(12,2)" and cols["time_offset"] == "smallint"
    assert cols["amount_base"] == "decimal(12,2)"
    assert "PARTITIONED BY (`year` int, `month` int)" in ddl
    assert "STORED AS PARQUET" in ddl and "LOCATION 's3://YOUR-RAW-BUCKET/payments/';" in ddl
    assert ddl.rstrip().endswith("MSCK REPAIR TABLE `payments`;")
    assert not re.search(r"VARCHAR|TIMESTAMPTZ|UUID\b", ddl.split("(", 1)[1].replace("UUID v", ""))


def test_spark_ddl_types_and_location():
    ddl = table_ddl("payments", "spark", location="/data/run/payments")
    cols = dict(_columns(ddl))
    assert cols["event_time"] == "TIMESTAMP_LTZ" and cols["fraud_reported_at"] == "TIMESTAMP_LTZ"
    assert cols["device_id"] == "STRING" and cols["year"] == "INT"
    assert "LOCATION '/data/run/payments';" in ddl and "Replace LOCATION" not in ddl


def test_catalog_ddl_has_no_partitions():
    ddl = table_ddl("cards", "athena")
    assert [c for c, _ in _columns(ddl)] == ["card_id", "customer_id", "pan_hash", "card_scheme"]
    assert "PARTITIONED" not in ddl and "MSCK" not in ddl
    assert "s3://YOUR-ARTIFACTS-BUCKET/catalogues/cards/" in ddl


@pytest.mark.parametrize("fmt", ["athena", "spark"])
def test_uuid_ids_have_no_hive_type(fmt):
    with pytest.raises(SqlgenError, match=r"transaction_id: .*UUID.*output.id_type: string"):
        table_ddl("payments", fmt, id_type="uuid")


def test_cli_error_is_one_line_and_exit_1(capsys, caplog):
    assert main(["schema", "--format", "spark", "--id-type", "uuid"]) == 1
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "transaction_id" in errors[0].getMessage()
    assert capsys.readouterr().out == ""


def _ddls():
    for realism, tables in (("v3", TABLES), ("v2", TABLES[:4]), ("v1", TABLES[:1])):
        for table in tables:
            for fmt in ("duckdb", "athena", "spark"):
                yield realism, table, fmt


@pytest.mark.parametrize(("realism", "table", "fmt"), list(_ddls()))
def test_every_ddl_splits_on_semicolons_into_whole_statements(realism, table, fmt):
    """The usual way to run a DDL script: split on `;`. No comment or literal holds one
    (payments' descriptions did), so each piece is one whole statement."""
    ddl = table_ddl(table, fmt, "/data/x", realism=realism)
    pieces = [p for p in ddl.split(";") if p.strip()]
    kinds = []
    for piece in pieces:
        code = "\n".join(ln for ln in piece.splitlines() if not ln.lstrip().startswith("--"))
        kinds.append(code.split()[0])
        assert code.count("(") == code.count(")"), piece
        assert len(re.findall(r"(?<!\\)'", code)) % 2 == 0, piece
    expected = ["CREATE"] * (2 if table.startswith("ground_truth.") else 1)
    assert kinds == expected + (["MSCK"] if table == "payments" and fmt != "duckdb" else [])
    if fmt == "duckdb":
        con = duckdb.connect()
        for piece in pieces:
            con.execute(piece)  # each piece runs alone
        name = table if "." in table else f"main.{table}"
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 0


def test_catalog_ddl_describes_the_realism_asked_for():
    v3 = dict(_columns(table_ddl("merchants", "spark", "/x", realism="v3")))
    assert {"city", "city_id", "time_zone"} <= set(v3) and "risk" not in v3
    truth = dict(_columns(table_ddl("ground_truth.merchants", "spark", "/x", realism="v3")))
    assert list(truth) == ["merchant_id", "amount_scale", "risk", "popularity"]
    v2 = dict(_columns(table_ddl("merchants", "spark", "/x", realism="v2")))
    assert {"risk", "popularity", "amount_scale"} <= set(v2) and "city" not in v2
    customers = dict(_columns(table_ddl("customers", "athena", realism="v3")))
    assert {"home_city", "home_city_id", "home_time_zone"} <= set(customers)
    with pytest.raises(SqlgenError, match="realism v3 only"):
        table_ddl("ground_truth.cards", "spark", "/x", realism="v2")
    with pytest.raises(SqlgenError, match="v1 writes no catalog"):
        table_ddl("cards", "duckdb", realism="v1")


def _schema_cli(cwd, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "sqlgen", "schema", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_spark_location_is_absolute_from_the_out_dir(tmp_path):
    # A relative LOCATION would be resolved in Spark's warehouse: an empty table.
    ddl = _schema_cli(tmp_path, "--format", "spark")
    assert f"LOCATION '{tmp_path}/output/payments';" in ddl  # the config's out_dir
    ddl = _schema_cli(tmp_path, "cards", "--format", "spark", "--out-dir", "runs/a/../b")
    assert f"LOCATION '{tmp_path}/runs/b/catalog/cards.parquet';" in ddl
    ddl = _schema_cli(tmp_path, "ground_truth.cards", "--format", "spark", "--out-dir", "o")
    assert f"LOCATION '{tmp_path}/o/catalog/ground_truth/cards.parquet';" in ddl


def test_cli_realism_follows_the_config(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("realism: v2\n")
    text = _schema_cli(tmp_path, "merchants", "--config", str(config))
    assert "merchants (realism v2):" in text and " risk " in text and " city " not in text
    text = _schema_cli(tmp_path, "merchants", "--config", str(config), "--realism", "v3")
    assert " city " in text and " risk " not in text
