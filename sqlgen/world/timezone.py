"""UTC DuckDB sessions: payments times are UTC instants (TIMESTAMPTZ).

DuckDB reads a TIMESTAMP cast to TIMESTAMPTZ, and takes hours, days and months of a
TIMESTAMPTZ, in the session's TimeZone, which defaults to the host's. The setting needs
the ICU extension, which is not loaded yet when `duckdb.connect(config=...)` applies it,
so it is set on the open connection.
"""

from __future__ import annotations

import duckdb

from sqlgen.render import render


def use_utc(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute(render("set_utc.sql"))
    return con
