"""sqlgen end to end against two baselines measured in the same run.

    python benchmarks/bench.py                      # 1M and 10M rows, medians of 3
    python benchmarks/bench.py --rows 200000 --repeat 1

For each size: `sqlgen run` (a subprocess, start-up included) on the built-in default
config; the write floor (DuckDB COPY of the same rows, already built, same encodings and
partitioning: `write_floor.py`); and the legacy-style generator (`legacy_baseline.py`).
Prints wall time, rows/s, CPU seconds and CPU µs per row (whole process tree: on a quiet
host with N cores wall time is about CPU / N, and CPU varies less with the host's noise),
peak RSS (whole process tree), sqlgen's time per phase, and the
ratios sqlgen/floor (time; 1.0 = as fast as writing) and legacy/sqlgen (speed-up).
Machines here are noisy: compare ratios from one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure

HERE = Path(__file__).resolve().parent


def sqlgen_cmd(rows: int, out: Path, workers: int) -> list[str]:
    exe = Path(sys.executable).parent / "sqlgen"
    return [
        str(exe),
        "run",
        "--rows",
        str(rows),
        "--out-dir",
        str(out),
        "--num-workers",
        str(workers),
        "--no-progress",
    ]


def phases(stderr: str) -> dict[str, float]:
    found = re.findall(r"timings: (\{.*\})", stderr)
    return json.loads(found[-1]) if found else {}


def median_of(runs: list, key) -> float:
    return statistics.median(key(r) for r in runs)


def bench_size(rows: int, args, work: Path) -> list[dict]:
    """Interleaved rounds (sqlgen, floor, legacy, sqlgen, ...), so the host's drift in
    speed touches all three alike; medians over rounds."""
    out = work / "sqlgen"
    with_legacy = rows <= args.legacy_max_rows
    sq, floor, legacy = [], [], []
    for _ in range(args.repeat):
        sq.append(measure(sqlgen_cmd(rows, out, args.workers)))
        floor.append(
            measure([sys.executable, str(HERE / "write_floor.py"), str(out), str(work / "floor")])
        )
        if with_legacy:
            legacy.append(
                measure(
                    [
                        sys.executable,
                        str(HERE / "legacy_baseline.py"),
                        str(rows),
                        str(work / "legacy.parquet"),
                        "--workers",
                        str(args.workers),
                    ]
                )
            )
    sq_time = median_of(sq, lambda r: r.seconds)
    phase = {
        k: statistics.median(phases(r.stderr).get(k, 0.0) for r in sq) for k in phases(sq[0].stderr)
    }
    floor_time = median_of(floor, lambda r: json.loads(r.stdout)["copy_seconds"])
    results = [
        {
            "rows": rows,
            "tool": "sqlgen",
            "seconds": sq_time,
            "rss": max(r.peak_rss_mb for r in sq),
            "cpu": median_of(sq, lambda r: r.cpu_seconds),
            "phases": " ".join(f"{k}={v:.2f}" for k, v in phase.items()),
        },
        {
            "rows": rows,
            "tool": "write floor",
            "seconds": floor_time,
            "rss": max(r.peak_rss_mb for r in floor),
            "phases": "COPY only",
        },
    ]
    if with_legacy:
        results.append(
            {
                "rows": rows,
                "tool": "legacy-style",
                "seconds": median_of(legacy, lambda r: r.seconds),
                "rss": max(r.peak_rss_mb for r in legacy),
                "cpu": median_of(legacy, lambda r: r.cpu_seconds),
                "phases": "",
            }
        )
    # Ratios per round (same minutes of the host), then their median.
    floors = [json.loads(r.stdout)["copy_seconds"] for r in floor]
    results[0]["vs_floor"] = statistics.median(
        a.seconds / f for a, f in zip(sq, floors, strict=True)
    )
    if with_legacy:
        results[0]["vs_legacy"] = statistics.median(
            b.seconds / a.seconds for a, b in zip(sq, legacy, strict=True)
        )
    return results


def print_table(results: list[dict]) -> None:
    print(
        f"\nmachine: {platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"
    )
    head = (
        f"{'rows':>12} {'tool':<13} {'seconds':>8} {'rows/s':>11} {'CPU s':>7} "
        f"{'µs CPU/row':>10} {'peak RSS MB':>11}  phases"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        cpu = r.get("cpu")
        cpu_cols = f"{cpu:>7.1f} {cpu / r['rows'] * 1e6:>10.2f}" if cpu else f"{'':>7} {'':>10}"
        print(
            f"{r['rows']:>12,} {r['tool']:<13} {r['seconds']:>8.2f} "
            f"{r['rows'] / r['seconds']:>11,.0f} {cpu_cols} {r['rss']:>11,.0f}  {r['phases']}"
        )
    print()
    for r in results:
        if r["tool"] != "sqlgen":
            continue
        line = f"{r['rows']:>12,} rows: sqlgen/floor time = {r['vs_floor']:.2f}x"
        if "vs_legacy" in r:
            line += f", sqlgen speed-up over legacy = {r['vs_legacy']:.1f}x"
        print(line + " (medians of per-round ratios)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", default="1000000,10000000", help="comma-separated sizes (default 1M,10M)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--legacy-max-rows",
        type=int,
        default=10_000_000,
        help="skip the slow legacy baseline above this size",
    )
    args = parser.parse_args()
    results = []
    for rows in [int(x) for x in args.rows.split(",")]:
        with tempfile.TemporaryDirectory(prefix="sqlgen-bench-") as tmp:
            results += bench_size(rows, args, Path(tmp))
        print(f"done {rows:,} rows", file=sys.stderr)
    print_table(results)


if __name__ == "__main__":
    main()
