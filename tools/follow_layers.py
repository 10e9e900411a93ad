"""Rewrite flat module paths (`sqlgen.writer`, `sqlgen/draws.py`) to the layer folders.

A merge helper: code written before the package was split into layers (issue 26) imports
`sqlgen.<module>`; this rewrites such imports, dotted names (monkeypatch targets) and
file paths (mutation entries) to `sqlgen.<layer>.<module>`. Text already in the new
layout is left alone, so it can run over a whole tree. Then `ruff check --fix` sorts the
imports.

    python tools/follow_layers.py                 # every .py and mutation/*.yaml
    python tools/follow_layers.py tests/unit/test_x.py ...

Names that moved between modules are not followed (`draws.combo_table` and friends are in
`sqlgen.combos`, `writer.file_sha256`/`write_durable` in `sqlgen.files`,
`plan.largest_remainder` in `sqlgen.sampling`, `episodes.planned_quotas` in
`sqlgen.scenarios`): the import error says which.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "config": ("config_doc", "config_messages", "yaml_loader", "legacy"),
    "world": (
        "world", "land_mask", "timezone", "money", "networks", "mcc_profiles", "catalogs",
        "pools", "catalog_files",
    ),
    "generate": (
        "plan", "population", "draws", "draws_v3", "episodes", "labeler", "auth", "chunks",
    ),
    "publish": ("writer", "ownership", "validate", "s3", "s3_commit", "s3_inflight"),
    "execute": (
        "executors", "executor_api", "dask_executor", "remote", "tasks", "forkserver",
        "lifetime", "progress",
    ),
    "inspect": (
        "report", "report_db", "report_difficulty", "report_world", "html_report", "ddl",
        "inspect", "tables",
    ),
}  # fmt: skip
MOVED = {m: layer for layer, modules in LAYERS.items() for m in modules}
_ALT = "|".join(sorted(MOVED, key=len, reverse=True))
_LAYER_ALT = "|".join(LAYERS)
# `sqlgen.<module>` not already followed by one of its layer's modules
_DOT = re.compile(rf"(?<![\w.])sqlgen\.({_ALT})\b(?!\.(?:{_ALT})\b)")
_PATH = re.compile(rf"(?<![\w/])sqlgen/({_ALT})\.py\b")
_FROM = re.compile(
    r"^([ \t]*)from sqlgen(\.(?:" + _LAYER_ALT + r"))? import (\([^)]*\)|[^\n]+)", re.M
)
_NEW_FROM = re.compile(rf"^[ \t]*from sqlgen\.({_LAYER_ALT}) import ", re.M)


def _dot(match: re.Match) -> str:
    module = match[1]
    layer = MOVED[module]
    # `from sqlgen.world import world, money`: already the layer package
    text, end = match.string, match.end()
    line_start = text.rfind("\n", 0, match.start()) + 1
    if module == layer and _NEW_FROM.match(text, line_start):
        rest = text[end:]
        names = (
            rest[rest.index("(") + 1 : rest.index(")")]
            if rest.startswith(" import (")
            else (rest.split("\n", 1)[0].removeprefix(" import ").split("#")[0])
        )
        if all(n.split(" as ")[0].strip() in LAYERS[layer] for n in names.split(",") if n.strip()):
            return match[0]
    return f"sqlgen.{layer}.{module}"


def _split_from(match: re.Match) -> str:
    indent, package, body = match[1], match[2], match[3]
    if package:  # already `from sqlgen.<layer> import ...`
        return match[0]
    comment = ""
    if not body.startswith("("):
        body, _, comment = body.partition("#")
        comment = f"  #{comment}".rstrip() if comment else ""
    names = [n.strip() for n in body.strip("()").replace("\n", " ").split(",") if n.strip()]
    groups: dict[str, list[str]] = {}
    for name in names:
        base = name.split(" as ")[0].strip()
        groups.setdefault(f"sqlgen.{MOVED[base]}" if base in MOVED else "sqlgen", []).append(name)
    if list(groups) == ["sqlgen"]:
        return match[0]
    lines = [f"{indent}from {pkg} import {', '.join(ns)}" for pkg, ns in groups.items()]
    lines[0] += comment
    return "\n".join(lines)


def follow(text: str) -> str:
    """`text` with flat module paths rewritten to the layer folders (idempotent)."""
    text = _DOT.sub(_dot, text)
    text = _FROM.sub(_split_from, text)
    text = _PATH.sub(lambda m: f"sqlgen/{MOVED[m[1]]}/{m[1]}.py", text)
    text = text.replace("sqlgen/config.py", "sqlgen/config/__init__.py")
    return re.sub(r"(?<![\w/])sqlgen/templates\b", "sqlgen/inspect/templates", text)


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [
        *(p for d in ("sqlgen", "tests", "tools", "benchmarks") for p in (ROOT / d).rglob("*.py")),
        ROOT / "generate.py",
        *(ROOT / "mutation").rglob("*.yaml"),
    ]
    for path in paths:
        if path.resolve() == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        new = follow(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
