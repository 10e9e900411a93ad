"""Legacy-style baseline: the generator sqlgen replaces, reduced to its hot path.

Per chunk, in a `multiprocessing.Pool(workers)`: per-row `str(uuid.uuid4())` and per-row
`random.choice` picks from Faker-sized pools, columns assembled into a DataFrame
(Polars when installed, as the legacy code did; pyarrow otherwise), then the chunks are
concatenated in the parent and written as one Parquet file.

    python benchmarks/legacy_baseline.py ROWS DEST_FILE [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 500_000
COUNTRIES = ["DE", "FR", "IT", "ES", "NL", "BE", "AT", "IE", "PT", "FI", "GR"]
CHANNELS = ["pos", "ecom", "moto"]
DEVICES = ["mobile", "desktop", "tablet", "pos_terminal"]
SCHEMES = ["visa", "mastercard", "amex", "discover"]
MODES = ["chip", "contactless", "magstripe", "ecommerce", "manual"]
MCCS = ["5411", "5812", "5814", "5541", "5912", "5311", "5651", "5732", "5999", "4111"]


def _chunk(args: tuple[int, int]) -> pa.Table:
    rows, seed = args
    rng = np.random.default_rng(seed)
    random.seed(seed)
    ips = [
        f"{random.randint(1, 223)}.{random.randint(0, 255)}.{random.randint(0, 255)}."
        f"{random.randint(1, 254)}"
        for _ in range(5000)
    ]
    uas = [f"Mozilla/5.0 (agent {i})" for i in range(400)]
    amount = np.round(rng.lognormal(3.4, 1.0, rows), 2)
    data = {
        "transaction_id": [str(uuid.uuid4()) for _ in range(rows)],
        # Polars takes ms/us/ns datetimes only ("incorrect NumPy datetime resolution" for s).
        "event_time": rng.integers(1_735_689_600, 1_743_465_600, rows)
        .astype("datetime64[s]")
        .astype("datetime64[us]"),
        "time_offset": rng.integers(-720, 840, rows),
        "customer_id": rng.integers(0, 50_000, rows),
        "merchant_id": rng.integers(0, 5_000, rows),
        "card_id": rng.integers(0, 75_000, rows),
        "pan_hash": [f"{random.getrandbits(256):064x}" for _ in range(rows)],
        "amount": amount,
        "currency": ["EUR"] * rows,
        "country_code": [random.choice(COUNTRIES) for _ in range(rows)],
        "mcc_code": [random.choice(MCCS) for _ in range(rows)],
        "channel": [random.choice(CHANNELS) for _ in range(rows)],
        "device_type": [random.choice(DEVICES) for _ in range(rows)],
        "card_scheme": [random.choice(SCHEMES) for _ in range(rows)],
        "pos_entry_mode": [random.choice(MODES) for _ in range(rows)],
        "is_recurring": rng.random(rows) < 0.06,
        "latitude": rng.uniform(-90, 90, rows),
        "longitude": rng.uniform(-180, 180, rows),
        "device_id": [str(uuid.uuid4()) if random.random() > 0.1 else None for _ in range(rows)],
        "ip_address": [random.choice(ips) for _ in range(rows)],
        "user_agent": [random.choice(uas) for _ in range(rows)],
        "label_fraud": rng.random(rows) < 0.01,
    }
    try:
        import polars as pl

        return pl.DataFrame(data).to_arrow()
    except ImportError:
        return pa.table(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sizes = [CHUNK] * (args.rows // CHUNK) + ([args.rows % CHUNK] if args.rows % CHUNK else [])
    start = time.perf_counter()
    with multiprocessing.Pool(args.workers) as pool:
        tables = list(pool.imap_unordered(_chunk, [(n, i) for i, n in enumerate(sizes)]))
    table = pa.concat_tables(tables)
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, args.dest, compression="snappy")
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": table.num_rows}))


if __name__ == "__main__":
    main()
