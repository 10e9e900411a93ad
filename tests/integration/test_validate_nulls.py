"""`sqlgen validate` checks the non-nullable columns of schema/payments.yaml for nulls
(issue 25: it compared names and types only)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sqlgen.config import load_config, with_overrides
from sqlgen.runner import run
from sqlgen.schema import payments_schema
from sqlgen.validate import validate
from sqlgen.writer import file_sha256
from tests.conftest import TINY


def test_nulls_in_non_nullable_columns_are_reported(tmp_path):
    out = tmp_path / "out"
    cfg = with_overrides(load_config(TINY), out_dir=out, rows=800, batch_size=400,
                         realism="v3")
    run(cfg, show_progress=False)
    assert validate(out)[0] == []
    manifest_path = out / "payments" / "_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["files"][0]
    path = out / entry["path"]
    table = pq.read_table(path)
    schema = {c.name: c for c in payments_schema().columns}
    assert not schema["merchant_id"].nullable and not schema["amount"].nullable
    assert schema["device_id"].nullable  # nulls allowed there: never reported
    n = table.num_rows
    first, two = pa.array([i == 0 for i in range(n)]), pa.array([i < 2 for i in range(n)])
    for name, mask in (("merchant_id", first), ("amount", two)):
        col = table[name]
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name),
                                 pc.if_else(mask, pa.scalar(None, col.type), col))
    pq.write_table(table, path)
    # The file stays what the manifest says (bytes, checksum, rows): only the nulls differ.
    entry["bytes"], entry["sha256"] = path.stat().st_size, file_sha256(path)
    manifest_path.write_text(json.dumps(manifest))
    problems, _ = validate(out)
    assert problems == [
        f"{entry['path']}: 1 nulls in non-nullable column merchant_id",
        f"{entry['path']}: 2 nulls in non-nullable column amount",
    ]
