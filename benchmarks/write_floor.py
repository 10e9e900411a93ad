"""Write-floor baseline: DuckDB COPY of an already-built table, nothing generated.

Loads a finished sqlgen run's payments into a DuckDB table with the same column types
and ENUM encodings sqlgen writes with, then times `COPY ... PARTITION_BY (year, month)`
with the run's codec and row group size (read from its manifest). No sqlgen run can be
faster than writing its own rows.

    python benchmarks/write_floor.py SQLGEN_OUT_DIR DEST_DIR
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import duckdb

from sqlgen.generate.labeler import SCENARIOS
from sqlgen.render import sql_string
from sqlgen.schema import payments_schema, static_vocabularies
from sqlgen.world.catalogs import create_enum_types
from sqlgen.world.timezone import use_utc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    manifest = args.source / ".sqlgen" / "current" / "manifest.json"
    layout = json.loads(manifest.read_text())["config"]
    id_type = layout.get("output", {}).get("id_type", "string")
    realism = layout.get("realism")  # v3 writes amount_base
    level = (
        f"COMPRESSION_LEVEL {int(layout.get('compression_level', 1))}, "
        if layout["compression"] == "zstd"
        else ""
    )
    con = use_utc(duckdb.connect(config={"threads": args.threads}))  # UTC year/month
    src = sql_string(args.source / "payments" / "**" / "*.parquet")
    vocab = dict(static_vocabularies())
    for column in ("ip_address", "user_agent", "pan_hash"):
        vocab[column] = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT {column} FROM read_parquet({src}) ORDER BY 1"
            ).fetchall()
        ]
    vocab["fraud_scenario"] = SCENARIOS
    create_enum_types(con, vocab)
    cols = ", ".join(
        f"CAST({c.name} AS {c.working_type}) AS {c.name}"
        for c in payments_schema(id_type, realism).columns
    )
    con.execute(
        f"CREATE TABLE p AS SELECT {cols}, year(event_time) AS year, "
        f"month(event_time) AS month FROM read_parquet({src}, hive_partitioning=false)"
    )
    shutil.rmtree(args.dest, ignore_errors=True)
    start = time.perf_counter()
    con.execute(
        f"COPY p TO {sql_string(args.dest)} (FORMAT parquet, COMPRESSION "
        f"{layout['compression']}, {level}PARTITION_BY (year, month), "
        f"ROW_GROUP_SIZE {int(layout['row_group_size'])}, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1)"
    )
    print(
        json.dumps(
            {
                "copy_seconds": time.perf_counter() - start,
                "rows": con.execute("SELECT count(*) FROM p").fetchone()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
