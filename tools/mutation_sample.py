"""Automatic mutation measure: a random, seeded sample of generated one-line bugs.

Where `tools/mutation_check.py` runs a curated list, this tool *generates* every mutant
of the chosen modules from their Python syntax tree, draws a random sample (seeded:
`--seed` reproduces a sample; without it a fresh seed is drawn and printed), and runs
each mutant against the tests that cover its module group, in a temporary copy of the
repository (`mutation_check`'s copy and pytest runner: the working tree is never
touched). Operators, each applied to one node:

    arith    + <-> -, * <-> /, // -> /, % -> //
    compare  < <-> <=, > <-> >=, == <-> !=, in <-> not in, is <-> is not
    const    an integer constant n -> n + 1 (0 -> 1), a float x -> 2x (0.0 -> 1.0)
    bool     and <-> or, `not x` -> x, True <-> False
    unary    -x -> x
    call     min <-> max, np.minimum <-> np.maximum, any <-> all
    drop     a statement changing state (a call, an augmented assignment, a store
             into an item or attribute) -> pass

Docstrings, strings, `raise`/`log` lines, type annotations and `if TYPE_CHECKING`
blocks are not mutated. Mutants recorded in `mutation/generated/equivalent.yaml` (id and reason,
triaged by hand: no test can tell them apart from the original) are left out of the
score. The score is killed / (run - equivalent) per module group and overall; a mutant
that stops pytest itself (an import or collection error) counts as killed.

    python tools/mutation_sample.py                    # 100 mutants, fresh seed, 2 jobs
    python tools/mutation_sample.py --seed 7 -n 100    # the same sample again
    python tools/mutation_sample.py --list | head       # every mutant id, nothing run
    python tools/mutation_sample.py --rescore run.log   # a run's score after triage
    python tools/mutation_sample.py --rescore run.log --rescore rerun.log  # survivors re-run

Exit status: 0 when the overall score reaches --min-rate (default 0.85), 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.util
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutation_check", ROOT / "tools/mutation_check.py")
mutation_check = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("mutation_check", mutation_check)
_spec.loader.exec_module(mutation_check)

# Module groups: the modules mutated and the tests run against their mutants (tight
# selections: the rule-level tests first, so most mutants fail fast with -x). A test
# path with `*` is a glob (`tests/unit/test_rules_<group>_*.py`: a group's further
# rule files are picked up without editing this table).
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "generation": (
        ("sqlgen/generate/draws_v3.py", "sqlgen/generate/episodes.py", "sqlgen/world/world.py",
         "sqlgen/world/money.py", "sqlgen/world/networks.py", "sqlgen/generate/plan.py",
         "sqlgen/generate/spec.py",
         "sqlgen/scenarios/base.py",
         "sqlgen/scenarios/card_testing.py", "sqlgen/scenarios/account_takeover.py",
         "sqlgen/scenarios/compromised_merchant.py", "sqlgen/scenarios/burst.py"),
        ("tests/unit/test_rules_generation.py", "tests/unit/test_rules_draws.py",
         "tests/unit/test_rules_episodes.py", "tests/unit/test_rules_caps.py",
         "tests/unit/test_rules_v2_injection.py",
         "tests/unit/test_rules_world.py", "tests/unit/test_world.py", "tests/unit/test_plan.py",
         "tests/unit/test_plan_partition.py", "tests/unit/test_rules_overlap.py",
         "tests/unit/test_rules_generation_*.py", "tests/integration/test_fraud_v3.py",
         "-k", "not difficulty_profile and not shuffled"),
    ),
    "labelling": (
        ("sqlgen/generate/labeler.py",),
        ("tests/unit/test_rules_labeler.py", "tests/unit/test_labeler.py",
         "tests/unit/test_rules_labelling_*.py",
         "tests/unit/test_rules_generation.py::test_false_reports_fall_on_genuine_payments_only"),
    ),
    "auth": (
        ("sqlgen/generate/auth.py",),
        ("tests/unit/test_rules_auth.py", "tests/unit/test_auth.py",
         "tests/unit/test_rules_auth_*.py"),
    ),
    "publication": (
        ("sqlgen/publish/writer.py", "sqlgen/publish/ownership.py"),
        ("tests/unit/test_rules_publication.py", "tests/unit/test_publish_order.py",
         "tests/unit/test_rules_publication_*.py",
         "tests/integration/test_publish.py",
         "-k", "not (fault_raised and fallback) and not failing_once and not brackets "
         "and not glob"),
    ),
    "s3": (
        ("sqlgen/publish/s3.py", "sqlgen/publish/s3_commit.py"),
        ("tests/s3/test_rules_s3.py", "tests/s3/test_commit.py", "tests/s3/test_upload.py",
         "tests/s3/test_rules_s3_*.py",
         "-k", "not dask"),
    ),
}
EQUIVALENT = ROOT / "mutation" / "generated" / "equivalent.yaml"

_ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
          ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
            ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
            ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_CALLS = {"min": "max", "max": "min", "any": "all", "all": "any",
          "minimum": "maximum", "maximum": "minimum"}


@dataclass(frozen=True)
class Mutant:
    id: str  # group:file:function:operator:digest (of the text changed and its rank)
    group: str
    file: str
    line: int
    operator: str
    start: int  # character offsets of the replaced source segment
    end: int
    before: str
    after: str


def _offsets(text: str) -> list[int]:
    starts, pos = [], 0
    for line in text.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    return starts


def _skipped_lines(tree: ast.Module) -> set[int]:
    """Lines never mutated: docstrings, raise and log statements, TYPE_CHECKING blocks,
    annotations."""
    skip: set[int] = set()

    def span(node: ast.AST) -> range:
        return range(node.lineno, node.end_lineno + 1)

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str):
            skip.update(span(first))
        if isinstance(node, ast.Raise):
            skip.update(span(node))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            f = node.value.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                    and f.value.id in ("log", "logging", "warnings"):
                skip.update(span(node))
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(span(node))
        if isinstance(node, ast.AnnAssign) and node.value is None:
            skip.update(span(node))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for a in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
                if a.annotation is not None:
                    skip.update(span(a.annotation))
            if node.returns is not None:
                skip.update(span(node.returns))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            skip.update(span(node))
    return skip


def _variants(node: ast.AST) -> list[tuple[str, ast.AST]]:
    """(operator, mutated copy of `node`) for each mutation of this one node."""
    out: list[tuple[str, ast.AST]] = []

    def copy() -> ast.AST:
        return ast.parse(ast.unparse(node), mode="eval").body if isinstance(node, ast.expr) \
            else ast.parse(ast.unparse(node)).body[0]

    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITH:
        m = copy()
        m.op = _ARITH[type(node.op)]()
        out.append(("arith", m))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _COMPARE:
                m = copy()
                m.ops[i] = _COMPARE[type(op)]()
                out.append(("compare", m))
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
        v = node.value
        if isinstance(v, bool):
            out.append(("bool", ast.Constant(not v)))
        elif isinstance(v, int):
            out.append(("const", ast.Constant(v + 1)))
        elif isinstance(v, float):
            out.append(("const", ast.Constant(v * 2 if v else 1.0)))
    elif isinstance(node, ast.BoolOp):
        m = copy()
        m.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        out.append(("bool", m))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.Invert)):
        out.append(("bool" if isinstance(node.op, ast.Not) else "unary", copy().operand))
    elif isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if name in _CALLS:
            m = copy()
            if isinstance(m.func, ast.Name):
                m.func.id = _CALLS[name]
            else:
                m.func.attr = _CALLS[name]
            out.append(("call", m))
    # Dropped: statements that change state (a call, an augmented assignment, a store
    # into an item or attribute); dropping a plain name binding only raises NameError.
    stores = isinstance(node, ast.Assign) and all(
        isinstance(t, (ast.Subscript, ast.Attribute)) for t in node.targets)
    if stores or isinstance(node, ast.AugAssign) or (
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ):
        out.append(("drop", ast.Pass()))
    return out


def mutants_of(group: str, rel: str, root: Path = ROOT) -> list[Mutant]:
    text = (root / rel).read_text()
    tree = ast.parse(text)
    skip = _skipped_lines(tree)
    starts = _offsets(text)
    strings = {id(n) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)}
    inside_fstring = {id(c) for n in ast.walk(tree) if id(n) in strings for c in ast.walk(n)}
    parent = {id(c): n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}

    def qualname(node: ast.AST) -> str:
        names = []
        while id(node) in parent:
            node = parent[id(node)]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(node.name)
        return ".".join(reversed(names)) or "<module>"

    seen: dict[str, int] = {}
    out: list[Mutant] = []
    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or node.lineno in skip or id(node) in inside_fstring:
            continue
        if node.lineno != node.end_lineno and not isinstance(node, (ast.Assign, ast.Expr)):
            continue  # one-line bugs: multi-line expressions are mutated in their parts
        start = starts[node.lineno - 1] + len(
            text[starts[node.lineno - 1]:].encode()[: node.col_offset].decode())
        end = starts[node.end_lineno - 1] + len(
            text[starts[node.end_lineno - 1]:].encode()[: node.end_col_offset].decode())
        before = text[start:end]
        for op, mutated in _variants(node):
            after = ast.unparse(mutated)
            if isinstance(node, ast.expr) and not isinstance(node, (ast.Constant, ast.Name)):
                after = f"({after})"
            # Named by place in the code, not line: the id survives edits elsewhere.
            where = f"{group}:{rel}:{qualname(node)}:{op}"
            key = f"{where}\0{before}\0{after}"
            seen[key] = seen.get(key, 0) + 1
            digest = hashlib.sha1(f"{key}\0{seen[key]}".encode()).hexdigest()[:8]
            mid = f"{where}:{digest}"
            out.append(Mutant(mid, group, rel, node.lineno, op, start, end, before, after))
    return out


def all_mutants(root: Path = ROOT) -> list[Mutant]:
    return [m for group, (files, _) in GROUPS.items() for rel in files
            for m in mutants_of(group, rel, root)]


def sample(mutants: list[Mutant], n: int, seed: int) -> list[Mutant]:
    """`n` mutants drawn without replacement, spread over the groups in proportion to
    their mutant counts but at least n // (2 * groups) from each."""
    rng = random.Random(seed)
    by_group: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_group.setdefault(m.group, []).append(m)
    floor = n // (2 * len(by_group))
    picked: list[Mutant] = []
    for ms in by_group.values():
        picked += rng.sample(ms, min(floor, len(ms)))
    rest = [m for m in mutants if m not in set(picked)]
    picked += rng.sample(rest, min(n - len(picked), len(rest)))
    return sorted(picked, key=lambda m: (m.group, m.file, m.line, m.id))


def load_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    if not path.is_file():
        return {}
    entries = yaml.safe_load(path.read_text()) or []
    return {e["id"]: " ".join(str(e["reason"]).split()) for e in entries}


def selected_tests(repo: Path, group: str) -> tuple[str, ...]:
    """The group's pytest arguments in `repo`: globs expanded (sorted), missing files dropped."""
    out: list[str] = []
    for t in GROUPS[group][1]:
        if not t.startswith("tests/"):
            out.append(t)
        elif "*" in t:
            out.extend(sorted(str(p.relative_to(repo)) for p in repo.glob(t)))
        elif (repo / t.split("::")[0]).exists():
            out.append(t)
    return tuple(out)


def run_mutant(repo: Path, m: Mutant, timeout: float) -> tuple[str, float, str]:
    start = time.monotonic()
    tests = selected_tests(repo, m.group)
    text = (repo / m.file).read_text()
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        copy = mutation_check._copy(repo, Path(tmp))
        (copy / m.file).write_text(text[: m.start] + m.after + text[m.end:])
        try:
            proc = mutation_check._pytest(copy, tests, timeout)
        except mutation_check.subprocess.TimeoutExpired:
            return mutation_check.KILLED, time.monotonic() - start, "timed out"
    status = (mutation_check.SURVIVED if proc.returncode == 0
              else mutation_check.KILLED if proc.returncode in (1, 2) else mutation_check.ERROR)
    return status, time.monotonic() - start, mutation_check._tail(proc, 6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="mutants in the sample")
    parser.add_argument("--seed", type=int, help="sample seed (default: a fresh one)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--group", action="append", choices=sorted(GROUPS), default=[])
    parser.add_argument("--min-rate", type=float, default=0.85)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per pytest run")
    parser.add_argument("--list", action="store_true", help="print every mutant id and stop")
    parser.add_argument("--only", action="append", default=[], metavar="ID")
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--rescore", type=Path, metavar="LOG", action="append", default=[],
                        help="score an earlier run's output again (after triage); given "
                        "again, a later log's result for a mutant (a re-run of the "
                        "survivors with --only) replaces the earlier one")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    if args.rescore:
        equivalent = load_equivalent(repo / "mutation" / "generated" / "equivalent.yaml")
        return rescore(args.rescore, equivalent, args.min_rate)
    mutants = [m for m in all_mutants(repo) if not args.group or m.group in args.group]
    if args.list:
        for m in mutants:
            print(f"{m.id}\t{m.before!r} -> {m.after!r}")
        return 0
    equivalent = load_equivalent(repo / "mutation" / "generated" / "equivalent.yaml")
    if args.only:
        chosen = [m for m in mutants if m.id in args.only]
        seed = None
    else:
        seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
        chosen = sample(mutants, args.n, seed)
    print(f"mutation_sample: {len(chosen)} of {len(mutants)} mutants, seed {seed}", flush=True)
    results: list[tuple[str, str, str]] = []  # (id, group, status)
    started = time.monotonic()
    # One snapshot of the tree for the whole sample: edits made meanwhile do not count.
    with tempfile.TemporaryDirectory(prefix="mutant-snapshot-") as tmp, \
            ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        snapshot = mutation_check._copy(repo, Path(tmp))
        futures = [pool.submit(lambda m: (m, *run_mutant(snapshot, m, args.timeout)), m)
                   for m in chosen]
        for fut in as_completed(futures):  # each as it ends: a long run shows progress
            m, status, seconds, detail = fut.result()
            results.append((m.id, m.group, status))
            print(f"{status:10s} {seconds:6.1f}s  {m.id}  {m.before!r} -> {m.after!r}",
                  flush=True)
            if status == mutation_check.ERROR:
                print("    " + detail.replace("\n", "\n    "), flush=True)
            elif detail == "timed out":  # on a loaded host a survivor may just be slow
                print(f"    timed out after --timeout {args.timeout:g} s: counted killed; "
                      "confirm with --only and a longer --timeout", flush=True)
    print(f"\n{len(results)} mutants in {time.monotonic() - started:.0f} s")
    return _score(results, equivalent, seed, args.min_rate)


def _score(results: list[tuple[str, str, str]], equivalent: dict[str, str], seed,
           min_rate: float) -> int:
    """Print the score per group (equivalent survivors left out); exit status."""
    per: dict[str, list[int]] = {}  # group -> [killed, scored, equivalent]
    for mid, group, status in results:
        eq = mid in equivalent
        k = per.setdefault(group, [0, 0, 0])
        if eq and status == mutation_check.SURVIVED:
            k[2] += 1
            continue
        k[1] += 1
        # An error is pytest stopped by the mutant itself (it breaks importing sqlgen or
        # the tests' collection; the group's test paths are checked to exist): killed.
        k[0] += status in (mutation_check.KILLED, mutation_check.ERROR)
    print("\ngroup        killed / scored  (equivalent)  score")
    for group, (killed, scored, eq) in sorted(per.items()):
        print(f"{group:12s} {killed:6d} / {scored:<6d}  ({eq})  {killed / max(scored, 1):6.0%}")
    killed = sum(v[0] for v in per.values())
    scored = sum(v[1] for v in per.values())
    rate = killed / max(scored, 1)
    print(f"overall      {killed:6d} / {scored:<6d}  ({sum(v[2] for v in per.values())})"
          f"  {rate:6.0%}  (seed {seed}; required {min_rate:.0%})")
    survivors = [mid for mid, _, status in results
                 if status == mutation_check.SURVIVED and mid not in equivalent]
    for mid in sorted(survivors):
        print(f"survived: {mid}")
    return 0 if rate >= min_rate else 1


def rescore(logs: list[Path], equivalent: dict[str, str], min_rate: float) -> int:
    """The score of earlier runs' output, with today's triage of equivalent mutants: the
    mutants of every log (parts of one sample), each with its status in the last log
    that ran it (a re-run of the survivors after new tests, or of time-outs)."""
    results: dict[str, tuple[str, str, str]] = {}
    seed = None
    for log in logs:
        for line in log.read_text().splitlines():
            if line.startswith("mutation_sample:") and seed is None:
                seed = line.rsplit("seed ", 1)[-1]
            parts = line.split()
            if len(parts) >= 3 and parts[0] in (mutation_check.KILLED, mutation_check.SURVIVED,
                                                mutation_check.ERROR) \
                    and parts[1].endswith("s"):
                results[parts[2]] = (parts[2], parts[2].split(":", 1)[0], parts[0])
    return _score(list(results.values()), equivalent, seed, min_rate)


if __name__ == "__main__":
    sys.exit(main())
