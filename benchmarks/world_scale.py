"""World-size sweep: `sqlgen run` at a fixed row count over worlds of growing size.

    python benchmarks/world_scale.py                          # 75k, 1M cards; 1M rows
    python benchmarks/world_scale.py --cards 75000,1000000,10000000 --rows 1000000
    python benchmarks/world_scale.py --cards 20000 --rows 20000 --executor dask

For each world (cards given, customers and merchants in the derived ratios of
`sqlgen.world_size`: 1.5 cards a customer, 15 a merchant): `sqlgen run` as a subprocess
on the built-in default config, measured as a process tree (`_measure.py`): wall
seconds, the run's own catalog and chunk phases (its `timings` log line), the peak RSS
of the driver (the sqlgen process), of the largest other process (a worker, or the
forkserver / Dask nanny it forks from) and of the whole tree at once. Prints one table
and the host's load average before and after (the machines here are shared: figures
are for comparing worlds within one sweep).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure
from bench import phases

from sqlgen.world_size import derived_sizes


def run_cmd(cards: int, rows: int, out: Path, args) -> list[str]:
    sizes = derived_sizes(rows, 1.0, cards=cards)
    exe = Path(sys.executable).parent / "sqlgen"
    cmd = [str(exe), "run", "--rows", str(rows), "--out-dir", str(out), "--no-progress",
           "--num-workers", str(args.workers), "--executor", args.executor]
    for name, value in sizes.items():
        cmd += ["--set", f"catalog.{name}={value}"]
    return cmd


def sweep_one(cards: int, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="sqlgen-world-") as tmp:
        m = measure(run_cmd(cards, args.rows, Path(tmp) / "out", args))
        catalog_mb = sum(p.stat().st_size for p in (Path(tmp) / "out" / "catalog").rglob("*")
                         if p.is_file()) / 2**20
    t = phases(m.stderr)
    return {"cards": cards, "seconds": m.seconds, "catalogs": t.get("catalogs", 0.0),
            "chunks": t.get("chunks", 0.0), "driver": m.root_peak_mb,
            "worker": m.child_peak_mb, "tree": m.peak_rss_mb, "cpu": m.cpu_seconds,
            "catalog_mb": catalog_mb}


def print_table(results: list[dict], args, load: tuple) -> None:
    print(f"\nmachine: {platform.machine()}, {psutil.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB; load average before "
          f"{load[0]:.1f}, after {load[1]:.1f} (1 min)")
    print(f"{args.rows:,} rows, {args.workers} workers, executor {args.executor}")
    head = (f"{'cards':>11} {'run s':>7} {'catalog s':>9} {'chunks s':>8} {'CPU s':>7} "
            f"{'driver MB':>9} {'worker MB':>9} {'tree MB':>8} {'catalog files MB':>16}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['cards']:>11,} {r['seconds']:>7.1f} {r['catalogs']:>9.1f} "
              f"{r['chunks']:>8.1f} {r['cpu']:>7.1f} {r['driver']:>9,.0f} "
              f"{r['worker']:>9,.0f} {r['tree']:>8,.0f} {r['catalog_mb']:>16,.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", default="75000,1000000",
                        help="comma-separated world sizes in cards (default 75k,1M)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="payments a run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executor", default="processes",
                        choices=("local", "processes", "dask"))
    args = parser.parse_args()
    before = os.getloadavg()[0]
    results = []
    for cards in [int(x) for x in args.cards.split(",")]:
        results.append(sweep_one(cards, args))
        print(f"done {cards:,} cards", file=sys.stderr)
    print_table(results, args, (before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
