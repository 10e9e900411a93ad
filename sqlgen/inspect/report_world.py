"""`sqlgen report`'s "world" section: is the run's geography, time and money believable?

Places (catalog customers and merchants) on land and in their own country, and row
offsets against the time zone of the row's place, are checked with independent data
(global-land-mask, reverse_geocoder, timezonefinder: `pip install 'sqlgen[world]'`),
never with sqlgen's own tables; without those packages they read "n/a". Activity per
card, in-person travel speed and amounts per currency come from the output alone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import numpy as np

from sqlgen.inspect.report_db import WORLD_EXTRA, have
from sqlgen.inspect.tables import fetch, fetch_one, table_text
from sqlgen.render import render
from sqlgen.world import land_mask

SAMPLE_ROWS = 20_000  # rows whose offset is checked (a lookup per row)
SAMPLE_PLACES = 20_000  # customers, and merchants, checked (a geocoder lookup each)
FAR_KM = 50.0  # consecutive in-person payments further apart are moves between places


def place_checks(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not have("global_land_mask", "reverse_geocoder"):
        return [f"  on land / in own country: n/a (needs the world extra: {WORLD_EXTRA})"]
    import reverse_geocoder

    lines = []
    for what in ("customers", "merchants"):
        (total,) = fetch_one(con, render("report_world_places.sql", what=what, count=True))
        rows = fetch(con, render("report_world_places.sql", what=what, rows=SAMPLE_PLACES)).rows
        if not rows:
            continue
        lat, lon, country = (np.asarray(a) for a in zip(*rows, strict=True))
        lat, lon = lat.astype(float), lon.astype(float)
        land = land_mask.is_land(lat, lon).mean()
        found = reverse_geocoder.search(list(zip(lat, lon, strict=True)), mode=1, verbose=False)
        same = np.mean([f["cc"] == c for f, c in zip(found, country, strict=True)])
        sampled = f" (a seeded sample of {len(rows):,})" if len(rows) < total else ""
        lines.append(
            f"  {what:<10} {total:>9,}  on land {100 * land:6.2f}%"
            f"   in own country {100 * same:6.2f}%{sampled}"
        )
    return lines


def offset_check(con: duckdb.DuckDBPyConnection) -> str:
    if not have("timezonefinder"):
        return f"  offsets vs zone: n/a (needs the world extra: {WORLD_EXTRA})"
    from timezonefinder import TimezoneFinder

    rows = fetch(con, render("report_world_places.sql", what="rows", rows=SAMPLE_ROWS)).rows
    finder, zones, right, total, at_sea = TimezoneFinder(), {}, 0, 0, 0
    for lat, lon, when, offset in rows:
        name = finder.timezone_at(lng=lon, lat=lat)
        if name is None:
            continue
        at_sea += name.startswith("Etc/")  # timezonefinder's ocean zones
        zone = zones.setdefault(name, ZoneInfo(name))
        actual = when.replace(tzinfo=dt.UTC).astimezone(zone).utcoffset()
        right += actual == dt.timedelta(minutes=int(offset))
        total += 1
    share, sea = 100 * right / max(total, 1), 100 * at_sea / max(total, 1)
    return (
        f"  time_offset equals the zone offset of place and date: {share:.2f}% of {total:,}"
        f" rows (a seeded sample)\n  rows in an ocean time zone: {sea:.2f}%"
    )


def world_section(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The report's world part, as printable blocks."""
    return [
        "== world: places vs an independent land mask and reverse geocoder",
        "\n".join(place_checks(con)),
        "== world: time offsets vs the zone of the row's place (timezonefinder + zoneinfo)",
        offset_check(con),
        "== world: activity per card and merchant concentration",
        table_text(con, render("report_world_activity.sql")),
        "== world: speed between consecutive in-person payments of a card",
        table_text(con, render("report_world_travel.sql"), {"far_km": FAR_KM}),
        "== world: amounts per currency",
        table_text(con, render("report_world_amounts.sql")),
    ]
