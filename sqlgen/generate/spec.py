"""A chunk of the plan (`ChunkSpec`: its rows, time slice, month and fraud quota) and
the run's time unit, UTC microseconds since the epoch (`to_us`).

Below the plan (`plan`) and the draws that read a chunk's slice (`draws`, `draws_v3`,
`episodes`), so the plan may ask the realism profiles (`profiles`) what a level labels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_EPOCH = dt.datetime(1970, 1, 1)


def to_us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class ChunkSpec:
    index: int
    rows: int
    fraud_target: int
    t0_us: int  # inclusive
    t1_us: int  # exclusive
    year: int
    month: int

    @property
    def relpath(self) -> str:
        """File path relative to the payments root (Hive partition + part name).

        `month=1`, not `month=01`: DuckDB's Hive inference types a value as a number
        only when it reads back the same, so a zero-padded month stays VARCHAR."""
        return f"year={self.year}/month={self.month}/part-{self.index:05d}.parquet"
