"""Curated mutation check: does the test suite catch the bugs a reviewer would plant?

Each `mutation/*.yaml` file is a list of entries

    - id: night-sign                  # unique over all files
      file: sql/chunk_score.sql       # relative to the repository root
      find: "+ $w_night *"            # exact text, must occur exactly once in `file`
      replace: "- $w_night *"         # the plausible bug
      tests: [tests/unit/test_score_sql.py]   # pytest node ids or paths that should fail
      bug: night term's sign flipped  # what a user would suffer

For each entry the tool copies the repository (without .git, virtualenvs or outputs) to
a temporary directory, applies the edit there, and runs
`python -m pytest -x -q -p no:cacheprovider <tests>` in the copy with PYTHONPATH pointing
at it, so the working tree is never touched. The mutant is *killed* when the tests fail
(or cannot even be collected), *survived* when they pass, and an *error* when the edit
cannot be applied or pytest cannot run the named tests. A baseline run of the same tests
on an unmutated copy comes first: a test that already fails would kill every mutant.

    python tools/mutation_check.py                      # every mutation/*.yaml
    python tools/mutation_check.py mutation/core.yaml --jobs 2
    python tools/mutation_check.py --only night-sign --only ip-pool-ua-index

Exit status: 0 when the kill rate (killed / all entries run) reaches --min-rate, 1 when
it does not, 2 when the mutation files are invalid or the baseline fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("id", "file", "find", "replace", "tests", "bug")
# Never copied: version control, virtualenvs, caches and generated output.
IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".ci-venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "*.egg-info",
    "output*",
    "build",
    "dist",
)
KILLED, SURVIVED, ERROR = "killed", "survived", "error"


class MutationFileError(Exception):
    pass


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    find: str
    replace: str
    tests: tuple[str, ...]
    bug: str
    source: str  # the YAML file it came from


@dataclass(frozen=True)
class Result:
    mutation: Mutation
    status: str
    seconds: float
    detail: str  # last lines of pytest's output, or why the edit failed


def load_mutations(paths: list[Path]) -> list[Mutation]:
    """Every entry of the given YAML files, checked for shape and unique ids."""
    out: list[Mutation] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            entries = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise MutationFileError(f"{path}: {exc}") from None
        if not isinstance(entries, list):
            raise MutationFileError(f"{path}: expected a YAML list of mutations")
        for n, entry in enumerate(entries, 1):
            where = f"{path} entry {n}"
            if not isinstance(entry, dict):
                raise MutationFileError(f"{where}: expected a mapping")
            missing = [f for f in FIELDS if f not in entry]
            unknown = sorted(set(entry) - set(FIELDS))
            if missing or unknown:
                raise MutationFileError(f"{where}: missing {missing}, unknown {unknown}")
            tests = entry["tests"]
            if isinstance(tests, str):
                tests = [tests]
            if not tests or not all(isinstance(t, str) for t in tests):
                raise MutationFileError(f"{where}: `tests` must be a non-empty list of strings")
            for key in ("id", "file", "find", "replace", "bug"):
                if not isinstance(entry[key], str):
                    raise MutationFileError(f"{where}: `{key}` must be a string")
            if entry["find"] == entry["replace"]:
                raise MutationFileError(f"{where}: `replace` equals `find`")
            if entry["id"] in seen:
                raise MutationFileError(
                    f"{where}: duplicate id {entry['id']!r} (also in {seen[entry['id']]})"
                )
            seen[entry["id"]] = str(path)
            out.append(
                Mutation(
                    entry["id"],
                    entry["file"],
                    entry["find"],
                    entry["replace"],
                    tuple(tests),
                    " ".join(entry["bug"].split()),
                    str(path),
                )
            )
    return out


def _copy(repo: Path, tmp: Path) -> Path:
    copy = tmp / "repo"
    shutil.copytree(repo, copy, ignore=IGNORE, symlinks=True)
    return copy


def _pytest(copy: Path, tests: tuple[str, ...], timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)  # the copy's code, never the working tree's
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


def _tail(proc: subprocess.CompletedProcess, lines: int = 15) -> str:
    return "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-lines:])


def run_mutation(repo: Path, m: Mutation, timeout: float) -> Result:
    start = time.monotonic()

    def result(status: str, detail: str) -> Result:
        return Result(m, status, time.monotonic() - start, detail)

    try:
        text = (repo / m.file).read_text()
    except OSError as exc:
        return result(ERROR, f"cannot read {m.file}: {exc}")
    count = text.count(m.find)
    if count != 1:
        return result(ERROR, f"`find` occurs {count} times in {m.file}, expected exactly once")
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        copy = _copy(repo, Path(tmp))
        (copy / m.file).write_text(text.replace(m.find, m.replace))
        try:
            proc = _pytest(copy, m.tests, timeout)
        except subprocess.TimeoutExpired:
            # A mutant that hangs the tests is caught too (a user would notice).
            return result(KILLED, f"tests timed out after {timeout:g} s")
    # pytest: 0 all passed, 1 some failed, 2 interrupted (e.g. the mutant breaks
    # collection); 3-5 are pytest's own trouble (internal error, usage, nothing collected).
    if proc.returncode == 0:
        return result(SURVIVED, _tail(proc))
    if proc.returncode in (1, 2):
        return result(KILLED, _tail(proc))
    return result(ERROR, f"pytest exit {proc.returncode}: {_tail(proc)}")


def baseline(repo: Path, mutations: list[Mutation], timeout: float) -> str | None:
    """Run every named test on an unmutated copy; the reason it fails, or None."""
    tests = tuple(dict.fromkeys(t for m in mutations for t in m.tests))
    with tempfile.TemporaryDirectory(prefix="mutant-baseline-") as tmp:
        proc = _pytest(_copy(repo, Path(tmp)), tests, timeout)
    if proc.returncode != 0:
        return f"pytest exit {proc.returncode}\n{_tail(proc, 30)}"
    return None


def _table(results: list[Result]) -> str:
    headers = ("id", "file", "bug", "result", "s")
    rows = [
        (r.mutation.id, r.mutation.file, r.mutation.bug, r.status, f"{r.seconds:.1f}")
        for r in results
    ]
    widths = [min(60, max(len(h), *(len(row[i]) for row in rows))) for i, h in enumerate(headers)]

    def line(cells) -> str:
        cut = [c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(cells, widths, strict=True)]
        return "  ".join(c.ljust(w) for c, w in zip(cut, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line("-" * w for w in widths), *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="mutation YAML files")
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--only", action="append", default=[], metavar="ID", help="run this id")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once")
    parser.add_argument("--min-rate", type=float, default=0.85, help="kill rate required")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per pytest run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("-v", "--verbose", action="store_true", help="pytest output of each")
    args = parser.parse_args(argv)

    repo = args.repo.resolve()
    files = args.files or sorted((repo / "mutation").glob("*.yaml"))
    try:
        mutations = load_mutations(files)
    except MutationFileError as exc:
        print(f"mutation_check: {exc}", file=sys.stderr)
        return 2
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in mutations})
        if unknown:
            print(f"mutation_check: unknown id(s) {', '.join(unknown)}", file=sys.stderr)
            return 2
        mutations = [m for m in mutations if m.id in args.only]
    if not mutations:
        print("mutation_check: no mutations to run", file=sys.stderr)
        return 2
    if not args.no_baseline:
        failed = baseline(repo, mutations, args.timeout)
        if failed:
            print(f"mutation_check: the tests fail without any mutation: {failed}", file=sys.stderr)
            return 2

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda m: run_mutation(repo, m, args.timeout), mutations))

    print(_table(results))
    for r in results:
        if r.status != KILLED or args.verbose:
            print(f"\n--- {r.mutation.id} ({r.status}): {r.mutation.bug}\n{r.detail}")
    killed = sum(r.status == KILLED for r in results)
    rate = killed / len(results)
    survivors = [r.mutation.id for r in results if r.status == SURVIVED]
    errors = [r.mutation.id for r in results if r.status == ERROR]
    print(
        f"\nkilled {killed}/{len(results)} = {rate:.0%} (required {args.min_rate:.0%})"
        + (f"; survived: {', '.join(survivors)}" if survivors else "")
        + (f"; errors: {', '.join(errors)}" if errors else "")
    )
    return 0 if rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
