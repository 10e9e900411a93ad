"""Local executors against a Dask LocalCluster on this machine, same config and seed.

    python benchmarks/bench_dask.py --rows 2000000 --repeat 3

Runs `sqlgen run` with `--executor local` (one process), `processes` and `dask`
(a LocalCluster started by sqlgen) and prints wall time, rows/s, peak RSS and the time
ratio against `processes`. It also checks that all three wrote identical files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure

EXECUTORS = ("local", "processes", "dask")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "sqlgen")
    rows, hashes = [], {}
    with tempfile.TemporaryDirectory(prefix="sqlgen-dask-bench-") as tmp:
        for executor in EXECUTORS:
            out = Path(tmp) / executor
            cmd = [
                exe,
                "run",
                "--rows",
                str(args.rows),
                "--out-dir",
                str(out),
                "--executor",
                executor,
                "--num-workers",
                str(args.workers),
                "--no-progress",
            ]
            runs = [measure(cmd) for _ in range(args.repeat)]
            manifest = json.loads((out / ".sqlgen" / "current" / "manifest.json").read_text())
            hashes[executor] = [f["sha256"] for f in manifest["files"]]
            rows.append(
                (
                    executor,
                    statistics.median(r.seconds for r in runs),
                    max(r.peak_rss_mb for r in runs),
                )
            )
    base = dict((e, s) for e, s, _ in rows)["processes"]
    print(
        f"{'executor':<10} {'seconds':>8} {'rows/s':>11} {'peak RSS MB':>11} {'vs processes':>13}"
    )
    for executor, seconds, rss in rows:
        print(
            f"{executor:<10} {seconds:>8.2f} {args.rows / seconds:>11,.0f} {rss:>11,.0f} "
            f"{seconds / base:>12.2f}x"
        )
    same = all(h == hashes["local"] for h in hashes.values())
    print(f"identical files across executors: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
