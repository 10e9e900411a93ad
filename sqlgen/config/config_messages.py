"""Turns a config `ValidationError` into one short line naming every field at fault.

Every unknown key is listed, each with the closest valid key at its place when there is
one ("did you mean 'rows'?"); other problems follow. Echoed input is cut short, so the
line stays short whatever the input.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from sqlgen.config.yaml_loader import clip, short

MAX_UNKNOWN = 50  # unknown keys listed; a config has about 70 settings in all
MAX_PROBLEMS = 5  # other problems listed before "(+N more)"
_TAGS = ("lognormal", "normal", "uniform")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (a union lists its members)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def fields_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Valid keys of the section at `loc` (a pydantic error location, union tags included)."""
    models = [root]
    for part in loc:
        chosen = [m for m in models if m.model_fields.get(str(part)) is not None]
        if chosen:
            models = _models_in(chosen[0].model_fields[str(part)].annotation)
        else:  # a discriminated union's tag names the member
            models = [m for m in models if _tag(m) == part] or models
    return sorted({name for m in models for name in m.model_fields})


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("distribution")
    args = typing.get_args(field.annotation) if field else ()
    return args[0] if len(args) == 1 else None


def _path(loc: tuple[Any, ...]) -> str:
    parts = [clip(str(p), 40) for p in loc if p not in _TAGS and not str(p).startswith("function-")]
    return ".".join(parts)


def _unknown(root: type[BaseModel], err: dict[str, Any]) -> str:
    *parent, key = err["loc"]
    path = _path(tuple(err["loc"]))
    close = difflib.get_close_matches(str(key), fields_at(root, tuple(parent)), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown field '{path}'{hint}"


def _problem(err: dict[str, Any]) -> str:
    loc = _path(tuple(err["loc"]))
    msg = clip(err["msg"].removeprefix("Value error, "), 200)
    shown = err.get("input")
    if "input" in err and err["type"] != "missing" and not isinstance(shown, dict | list | tuple):
        return f"invalid field '{loc or '<top>'}': {msg} (got {short(shown)})"
    return f"invalid field '{loc or '<top>'}': {msg}"


def describe(root: type[BaseModel], exc: ValidationError) -> str:
    """All of `exc` as one line: unknown keys first, then other problems."""
    errors = exc.errors()
    unknown = [_unknown(root, e) for e in errors if e["type"] == "extra_forbidden"]
    others = [_problem(e) for e in errors if e["type"] != "extra_forbidden"]
    parts = unknown[:MAX_UNKNOWN] + others[:MAX_PROBLEMS]
    left = len(unknown) - len(unknown[:MAX_UNKNOWN]) + len(others) - len(others[:MAX_PROBLEMS])
    if left:
        parts.append(f"(+{left} more)")
    return "; ".join(parts)
