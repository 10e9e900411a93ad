"""Keys of the legacy generator's `GeneratorConfig`, accepted as aliases of today's.

A config written for the Polars generator loads unchanged: each legacy key found is
moved to its new place and reported in one warning line naming the new key. Keys that
kept their name (`fraud_rate`, `seed`, `catalog.num_cards`, `label.w_amount`, ...) need
nothing here.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlgen.errors import ConfigError

# legacy path -> new path, for keys that only moved or were renamed.
RENAMED: dict[tuple[str, ...], tuple[str, ...]] = {
    ("total_rows",): ("rows",),
    ("feature", "amount_distribution"): ("feature", "amount", "distribution"),
    ("label", "burst_factor"): ("label", "burst_size"),  # `bf` in the legacy labeler
    ("label", "burst_window"): ("label", "burst_window_minutes"),
}

# Amount parameters the legacy config kept beside `amount_distribution` in `feature`,
# bare or prefixed (`amount_mu`, `lognormal_sigma`, ...), named as numpy names them.
_PREFIXES = ("", "amount_", "lognormal_", "normal_", "uniform_")
_PARAMS: dict[str, dict[str, str]] = {  # distribution -> legacy name -> new name
    "lognormal": {"mu": "mu", "mean": "mu", "sigma": "sigma"},
    "normal": {"mean": "mean", "mu": "mean", "std": "std", "sigma": "std", "scale": "std"},
    "uniform": {"low": "low", "high": "high", "min": "low", "max": "high"},
}


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _move(data: dict[str, Any], old: tuple[str, ...], new: tuple[str, ...], notes: list[str]):
    parent = data
    for part in old[:-1]:
        parent = parent.get(part)
        if not isinstance(parent, dict):
            return
    if old[-1] not in parent:
        return
    value = parent.pop(old[-1])
    target = data
    for part in new[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"legacy key '{_dotted(old)}' needs '{part}' to be a section")
        target = nxt
    if new[-1] in target:
        raise ConfigError(
            f"both '{_dotted(old)}' (legacy) and '{_dotted(new)}' are set; keep '{_dotted(new)}'"
        )
    target[new[-1]] = value
    notes.append(f"legacy key '{_dotted(old)}' is now '{_dotted(new)}'; please rename it")


def _amount_params(data: dict[str, Any], notes: list[str]) -> None:
    feature = data.get("feature")
    if not isinstance(feature, dict):
        return
    amount = feature.get("amount")
    tag = amount.get("distribution") if isinstance(amount, dict) else None
    names = _PARAMS.get(tag if isinstance(tag, str) else "lognormal", {})
    for key in list(feature):
        for prefix in _PREFIXES:
            if isinstance(key, str) and key.startswith(prefix) and key[len(prefix) :] in names:
                new = ("feature", "amount", names[key[len(prefix) :]])
                _move(data, ("feature", key), new, notes)
                break


def translate(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of `data` with legacy keys moved to their new names, and one note per key."""
    data = copy.deepcopy(data)  # YAML aliases may share sections; never edit in place
    notes: list[str] = []
    for old, new in RENAMED.items():
        _move(data, old, new, notes)
    _amount_params(data, notes)
    return data, notes
