"""global-land-mask's `is_land`, read without holding its mask in memory.

Importing `global_land_mask.globe` inflates its 1 km world mask into a 933 MB array.
This reads the same file (`globe_combined_mask_compressed.npz`, shipped in the package)
as a stream, one band of latitude rows at a time, and looks up only the rows the points
fall in: the same answer (`test_land_mask_matches_global_land_mask`) in a few MB.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import numpy as np

BAND_ROWS = 256  # latitude rows (43,200 bytes each) decompressed at a time
MASK_FILE = "globe_combined_mask_compressed.npz"


def mask_file() -> Path:
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("global_land_mask is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / MASK_FILE


def _index(values: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """As `globe.lat_to_index` / `lon_to_index`: clipped to the axis, truncated."""
    values = np.clip(np.asarray(values, dtype=np.float64), axis.min(), axis.max())
    return ((values - axis[0]) / (axis[1] - axis[0])).astype(int)


def is_land(lat: np.ndarray, lon: np.ndarray, path: Path | None = None) -> np.ndarray:
    """True where (lat, lon) is on land, as `global_land_mask.globe.is_land`."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180):
        raise ValueError("latitude must be within ±90 and longitude within ±180")
    with zipfile.ZipFile(path or mask_file()) as z:
        with z.open("lat.npy") as fh:
            lat_axis = np.load(fh)
        with z.open("lon.npy") as fh:
            lon_axis = np.load(fh)
        rows, cols = _index(lat, lat_axis), _index(lon, lon_axis)
        ocean = np.zeros(len(rows), dtype=bool)
        order = np.argsort(rows, kind="stable")
        with z.open("mask.npy") as fh:
            major, _ = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
            if fortran or dtype != np.dtype(bool) or len(shape) != 2:
                raise ValueError(f"{MASK_FILE}: unexpected mask layout {shape} {dtype}")
            width = shape[1]
            start = 0  # first row of the band in hand
            at = 0  # position in `order`
            while at < len(order) and start < shape[0]:
                n = min(BAND_ROWS, shape[0] - start)
                band = np.frombuffer(fh.read(n * width), dtype=bool).reshape(n, width)
                end = np.searchsorted(rows[order], start + n, side="left")
                pick = order[at:end]
                ocean[pick] = band[rows[pick] - start, cols[pick]]
                at, start = end, start + n
    return ~ocean
