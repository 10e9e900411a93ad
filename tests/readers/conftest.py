"""One small published run (tiny config at the default realism, v3: catalogs and
ground truth exist) that every reader in this package opens.

It is written by the real console script with the host time zone set to
Asia/Kolkata (UTC+05:30): a writer that let DuckDB read its UTC times as local time
would shift every instant and misplace rows across the partitions' month edges.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from sqlgen.publish.writer import OutputDir
from tests.conftest import TINY

WRITER_TZ = "Asia/Kolkata"


@dataclass(frozen=True)
class Run:
    out: Path
    manifest: dict

    @property
    def payments(self) -> Path:
        return self.out / "payments"

    @property
    def catalog(self) -> Path:
        return self.out / "catalog"

    @property
    def start(self) -> dt.datetime:
        day = dt.date.fromisoformat(self.manifest["config"]["temporal"]["start_date"])
        return dt.datetime.combine(day, dt.time(), dt.UTC)

    @property
    def end(self) -> dt.datetime:
        day = dt.date.fromisoformat(self.manifest["config"]["temporal"]["end_date"])
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)

    def rows_in(self, keep) -> int:
        """Rows of the manifest's files whose partition (year, month), as numbers, is kept:
        what a reader's `WHERE` on the Hive columns must count."""
        total = 0
        for entry in self.manifest["files"]:
            year, month = re.search(r"/year=(\d+)/month=(\d+)/", entry["path"]).groups()
            total += entry["rows"] if keep(int(year), int(month)) else 0
        return total

    def duckdb_instants(self) -> dict[str, int]:
        """transaction_id -> event_time in UTC microseconds, as DuckDB reads the files."""
        con = duckdb.connect()
        rows = con.execute(
            "SELECT transaction_id, epoch_us(event_time) FROM read_parquet(?)",
            [str(self.payments / "**" / "*.parquet")],
        ).fetchall()
        return dict(rows)

    def catalog_rows(self, table: str) -> int:
        con = duckdb.connect()
        return con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(self.catalog / f"{table}.parquet")]
        ).fetchone()[0]


# The marks of every pyspark test module (`pytestmark = SPARK_MARKS`).
SPARK_MARKS = [
    pytest.mark.skipif(
        shutil.which("java") is None, reason="pyspark needs a Java runtime (java not on PATH)"
    ),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def spark_builder(app: str, time_zone: str, warehouse: Path):
    """A local[2] SparkSession builder with the settings every reader test shares: no
    UI, two shuffle partitions, a private warehouse, a session time zone that is not
    UTC (instants must survive any zone)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", time_zone)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.warehouse.dir", str(warehouse))
    )


def sqlgen_run(out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": WRITER_TZ}
    cmd = [sys.executable, "-m", "sqlgen", "run", "--config", str(TINY), "--out-dir", str(out)]
    return subprocess.run(
        [*cmd, "--no-progress", *extra], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("readers") / "out"
    proc = sqlgen_run(out, "--realism", "v3")  # the default level (tiny.yaml says v2)
    assert proc.returncode == 0, proc.stderr
    manifest = OutputDir(out).read_manifest()
    assert manifest["config"]["realism"] == "v3" and manifest["fraud_rows"] > 0
    run = Run(out, manifest)
    # The partition filters of the tests below select something and not everything.
    assert 0 < run.rows_in(lambda y, m: m < 2) < manifest["rows"]
    return run
