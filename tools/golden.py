"""Golden digests: the content of small fixed-seed runs, pinned in tests/golden/digests.json.

Each case is the built-in default config (configs/default.yaml) with a few overrides, run
with 1 and with 2 workers. A table's digest is the md5 of its rows' md5s, sorted (each row
read back from Parquet by DuckDB, all columns cast to text), so it pins content, not file
bytes or row order. `tests/integration/test_golden.py` checks every case against the file.

When a change alters the output on purpose, regenerate and commit the file:

    python tools/golden.py --update        # rewrite tests/golden/digests.json
    python tools/golden.py                 # only print the digests of this checkout
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
DIGESTS = ROOT / "tests" / "golden" / "digests.json"
SEED = 20261205

# name -> overrides of the default config (rows, realism; catalog sizes where useful)
CASES: dict[str, dict[str, Any]] = {
    "v3-20k": {"rows": 20_000, "realism": "v3"},
    "v2-4k": {
        "rows": 4_000,
        "realism": "v2",
        "catalog": {"num_customers": 300, "num_merchants": 60, "num_cards": 450},
    },
    "v1-4k": {
        "rows": 4_000,
        "realism": "v1",
        "catalog": {"num_customers": 300, "num_merchants": 60, "num_cards": 450},
    },
}
WORKERS = (1, 2)


def case_config(name: str, out_dir: Path, num_workers: int):
    """The config of case `name`, writing into `out_dir` with `num_workers` workers."""
    from sqlgen.config import load_config, validate_config

    data = load_config(None).settings()  # derived world sizes follow the case's rows
    for key, value in CASES[name].items():
        if isinstance(value, dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    data.update(seed=SEED, num_workers=num_workers, out_dir=str(out_dir))
    return validate_config(data, f"golden case {name}")


def table_digests(out_dir: Path) -> dict[str, str]:
    """{table: digest} for every published Parquet table under `out_dir`.

    A table is a file's path without its Hive partition folders and part file names
    (`payments`, `catalog/cards`, `catalog/ground_truth/cards`).
    """
    tables: dict[str, list[str]] = {}
    for path in sorted(out_dir.rglob("*.parquet")):
        rel = path.relative_to(out_dir)
        if rel.parts[0].startswith("."):
            continue
        parts = [p for p in rel.parts[:-1] if "=" not in p]
        name = "/".join(parts) if rel.name.startswith("part-") else "/".join([*parts, rel.stem])
        tables.setdefault(name, []).append(str(path))
    con = duckdb.connect()
    digests = {}
    for name, files in sorted(tables.items()):
        count, digest = con.execute(
            "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM ("
            "SELECT md5(CAST(t AS VARCHAR)) AS h "
            "FROM read_parquet(?, hive_partitioning = false) AS t)",
            [files],
        ).fetchone()
        digests[name] = f"{count}:{digest}"
    return digests


def run_case(name: str, num_workers: int, work: Path) -> dict[str, str]:
    """Run case `name` with `num_workers` workers into a folder under `work`; its digests."""
    from sqlgen.runner import run

    out = work / f"{name}-w{num_workers}"
    run(case_config(name, out, num_workers), show_progress=False)
    return table_digests(out)


def current_digests(workers: tuple[int, ...] = (1,)) -> dict[str, dict[str, str]]:
    """Every case's digests from this checkout (each worker count must agree)."""
    found: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="sqlgen-golden-") as tmp:
        for name in CASES:
            for n in workers:
                got = run_case(name, n, Path(tmp))
                if name in found and found[name] != got:
                    raise SystemExit(f"golden: case {name} differs between worker counts")
                found[name] = got
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help=f"rewrite {DIGESTS}")
    args = parser.parse_args(argv)
    digests = current_digests(WORKERS)
    text = json.dumps(digests, indent=2, sort_keys=True) + "\n"
    if args.update:
        DIGESTS.parent.mkdir(parents=True, exist_ok=True)
        DIGESTS.write_text(text, encoding="utf-8")
        print(f"wrote {DIGESTS.relative_to(ROOT)}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
