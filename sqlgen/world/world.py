"""Realism v3 places: the shipped cities table, their IANA zones, and UTC offsets.

`schema/cities.csv.gz` (made by `tools/make_cities.py` from GeoNames) lists populated
places with country, coordinates, population and time zone. People and shops are put
in them by population; a point near a place stays within its `radius_km`.
`ZoneOffsets` tabulates each zone's UTC offset over a time slice once (zoneinfo runs
per zone and day, never per row); rows then gather their offset with numpy.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

from sqlgen.resources import resource_dir
from sqlgen.schema import reference

MINUTE_US = 60_000_000
BUCKET_US = 15 * MINUTE_US  # offsets change on quarter hours at most (Adelaide: :30)
DAY_US = 24 * 60 * MINUTE_US
EARTH_KM = 6371.0


@dataclass(frozen=True)
class Cities:
    name: np.ndarray  # object (str)
    country: np.ndarray  # int64: index into reference.yaml countries
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    zone: np.ndarray  # int64: index into `zones`
    radius_km: np.ndarray  # how far from the point people and shops sit (tools/make_cities.py)
    zones: tuple[str, ...]  # IANA names, sorted

    def __len__(self) -> int:
        return len(self.lat)


@cache
def cities() -> Cities:
    codes = {c["code"]: i for i, c in enumerate(reference()["countries"])}
    with gzip.open(resource_dir("schema") / "cities.csv.gz", "rb") as raw:
        rows = [
            r
            for r in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
            if r["country"] in codes
        ]
    zones = tuple(sorted({r["time_zone"] for r in rows}))
    zone_code = {z: i for i, z in enumerate(zones)}
    return Cities(
        name=np.asarray([r["name"] for r in rows], dtype=object),
        country=np.asarray([codes[r["country"]] for r in rows], dtype=np.int64),
        lat=np.asarray([float(r["lat"]) for r in rows]),
        lon=np.asarray([float(r["lon"]) for r in rows]),
        population=np.asarray([float(r["population"]) for r in rows]),
        zone=np.asarray([zone_code[r["time_zone"]] for r in rows], dtype=np.int64),
        radius_km=np.asarray([float(r["radius_km"]) for r in rows]),
        zones=zones,
    )


def near(city: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points drawn around the given cities, denser near the centre (radius r·u²)."""
    c = cities()
    radius = c.radius_km[city] * rng.random(len(city)) ** 2
    angle = rng.random(len(city)) * 2 * np.pi
    dlat = np.degrees(radius * np.cos(angle) / EARTH_KM)
    dlon = np.degrees(radius * np.sin(angle) / EARTH_KM) / np.cos(np.radians(c.lat[city]))
    return c.lat[city] + dlat, (c.lon[city] + dlon + 180.0) % 360.0 - 180.0


def km_between(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (haversine), vectorized."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    return km_from_radians(p1, np.cos(p1), p2, np.cos(p2), np.asarray(lon2) - np.asarray(lon1))


def km_from_radians(p1, cos1, p2, cos2, dlon) -> np.ndarray:
    """`km_between` from latitudes in radians with their cosines (tabulated by callers
    for fixed places) and the longitude difference lon2 - lon1 in degrees."""
    dp, dl = p2 - p1, np.radians(dlon)
    h = np.sin(dp / 2) ** 2 + cos1 * cos2 * np.sin(dl / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


@cache
def _zone(name: str) -> ZoneInfo:
    """The zone, kept: zoneinfo's own cache holds 8 zones strongly and the rest weakly, so
    each chunk's `ZoneOffsets` would read most zone files again."""
    return ZoneInfo(name)


def _utc(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)


def _offset_minutes(zone: ZoneInfo, us: int) -> int:
    return int(_utc(us).astimezone(zone).utcoffset().total_seconds() // 60)


@cache
def standard_offsets() -> np.ndarray:
    """Each zone's standard (winter) offset in minutes: the smaller of mid-January's and
    mid-July's, 2025 (int16, by zone index)."""
    probes = [dt.datetime(2025, m, 15, tzinfo=dt.UTC) for m in (1, 7)]
    return np.asarray(
        [
            min(int(p.astimezone(ZoneInfo(z)).utcoffset().total_seconds() // 60) for p in probes)
            for z in cities().zones
        ],
        dtype=np.int16,
    )


class ZoneOffsets:
    """UTC offset (minutes) of every zone over [t0, t1), in quarter-hour buckets.

    zoneinfo is asked once per zone and day; only a day whose offset changes (a
    daylight-saving switch) is resolved per bucket."""

    def __init__(self, zones: tuple[str, ...], t0_us: int, t1_us: int):
        self.b0 = t0_us // BUCKET_US
        buckets = -(-t1_us // BUCKET_US) - self.b0
        per_day = DAY_US // BUCKET_US
        days = -(-buckets // per_day)
        self.table = np.empty((len(zones), days * per_day), dtype=np.int16)
        for z, name in enumerate(zones):
            tz = _zone(name)
            edges = [
                _offset_minutes(tz, (self.b0 + d * per_day) * BUCKET_US) for d in range(days + 1)
            ]
            for d in range(days):
                row = self.table[z, d * per_day : (d + 1) * per_day]
                if edges[d] == edges[d + 1]:
                    row[:] = edges[d]
                else:
                    start = (self.b0 + d * per_day) * BUCKET_US
                    row[:] = [_offset_minutes(tz, start + b * BUCKET_US) for b in range(per_day)]
        self.table = self.table[:, :buckets]

    def at(self, zone: np.ndarray, utc_us: np.ndarray) -> np.ndarray:
        """Offset in minutes of each row's zone at its UTC time (int16)."""
        return self.table[zone, utc_us // BUCKET_US - self.b0]

    def middle(self) -> np.ndarray:
        """Each zone's offset at the middle of the slice (int64)."""
        return self.table[:, self.table.shape[1] // 2].astype(np.int64)
