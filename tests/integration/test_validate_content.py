"""`sqlgen validate` reads what the files hold (issue 25): nulls in the non-nullable
columns of schema/payments.yaml, and each column's type, not only its name."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.files import file_sha256
from sqlgen.publish.validate import validate
from sqlgen.publish.writer import OutputDir
from sqlgen.runner import run
from sqlgen.schema import payments_schema
from tests.conftest import TINY


@pytest.fixture
def out(tmp_path):
    out = tmp_path / "out"
    cfg = with_overrides(load_config(TINY), out_dir=out, rows=800, batch_size=400,
                         realism="v3")
    run(cfg, show_progress=False)
    assert validate(out)[0] == []
    return out


def _rewrite(out, change) -> str:
    """Rewrite the first payments file through `change(table)`, keeping the manifest's
    bytes and checksum right: only the file's content differs. Returns its path."""
    manifest_path = OutputDir(out).manifest_file()
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["files"][0]
    path = out / entry["path"]
    pq.write_table(change(pq.read_table(path)), path)
    entry["bytes"], entry["sha256"] = path.stat().st_size, file_sha256(path)
    manifest_path.write_text(json.dumps(manifest))
    return entry["path"]


def test_a_column_of_another_type_is_reported(out):
    def narrow(table):
        i = table.schema.get_field_index("merchant_id")
        return table.set_column(i, pa.field("merchant_id", pa.int32()),
                                table["merchant_id"].cast(pa.int32()))

    rel = _rewrite(out, narrow)  # same names, same values: only merchant_id's type
    assert validate(out)[0] == [f"{rel}: schema differs from schema/payments.yaml"]


def test_nulls_in_non_nullable_columns_are_reported(out):
    schema = {c.name: c for c in payments_schema().columns}
    assert not schema["merchant_id"].nullable and not schema["amount"].nullable
    assert schema["device_id"].nullable  # nulls allowed there: never reported

    def with_nulls(table):
        n = table.num_rows
        first, two = pa.array([i == 0 for i in range(n)]), pa.array([i < 2 for i in range(n)])
        for name, mask in (("merchant_id", first), ("amount", two)):
            col = table[name]
            table = table.set_column(table.schema.get_field_index(name),
                                     table.schema.field(name),
                                     pc.if_else(mask, pa.scalar(None, col.type), col))
        return table

    rel = _rewrite(out, with_nulls)
    assert validate(out)[0] == [
        f"{rel}: 1 nulls in non-nullable column merchant_id",
        f"{rel}: 2 nulls in non-nullable column amount",
    ]
