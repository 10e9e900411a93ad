"""The fraud scenario registry: every scenario is one module of this package.

Each module defines `SCENARIO`, a `Scenario` (name, stable code, default config weight,
injector, report-delay profile); the registry collects them, ordered by code, and the
rest of sqlgen derives from it: the labeler's codes, the chunk quota order, the ENUM of
`fraud_scenario`, the config's `scenarios` section and the injected set. Adding a
scenario is adding a module with a new code; codes are written into data and never
reused or renumbered.

>>> [s.name for s in REGISTRY][:3]
['logistic', 'burst', 'fill']
>>> code("account_takeover")
6
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

import numpy as np

from sqlgen.combos import Draws, combo_code
from sqlgen.sampling import largest_remainder
from sqlgen.scenarios.base import DISPUTE, GENUINE, VISIT, Injector, ReportDelay, Scenario, strength

if TYPE_CHECKING:
    from sqlgen.generate.plan import ChunkSpec
    from sqlgen.generate.population import Population

__all__ = [
    "DISPUTE",
    "GENUINE",
    "INJECTED",
    "NAMES",
    "REGISTRY",
    "VISIT",
    "Injector",
    "ReportDelay",
    "Scenario",
    "by_code",
    "code",
    "configurable",
    "fraudster_devices",
    "inject",
    "planned_quotas",
    "split_quota",
    "strength",
]


def _discover() -> tuple[Scenario, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        scenario = getattr(module, "SCENARIO", None)
        if isinstance(scenario, Scenario):
            found.append(scenario)
    found.sort(key=lambda s: s.code)
    codes = [s.code for s in found]
    if len(set(codes)) != len(codes) or min(codes) <= GENUINE:
        raise RuntimeError(f"scenario codes must be distinct and positive: {codes}")
    if len({s.name for s in found}) != len(found):
        raise RuntimeError("scenario names must be distinct")
    return tuple(found)


REGISTRY: tuple[Scenario, ...] = _discover()
_BY_NAME = {s.name: s for s in REGISTRY}
_BY_CODE = {s.code: s for s in REGISTRY}
# ENUM labels of `fraud_scenario`, by code (a gap in the codes would be an unused label).
NAMES: tuple[str, ...] = tuple(
    _BY_CODE[c].name if c in _BY_CODE else f"retired_{c}" for c in range(1, REGISTRY[-1].code + 1)
)
# Codes of the scenarios that rewrite draws before scoring (their rows are fixed).
INJECTED: tuple[int, ...] = tuple(s.code for s in REGISTRY if s.inject is not None)


def code(name: str) -> int:
    return _BY_NAME[name].code


def by_code(value: int) -> Scenario:
    return _BY_CODE[value]


def configurable() -> tuple[Scenario, ...]:
    """Scenarios with a weight in the config's `scenarios` section, in quota order."""
    return tuple(s for s in REGISTRY if s.weight is not None)


def split_quota(cfg, target: int) -> dict[str, int]:
    """Split a fraud quota over the configurable scenarios, in code order (v1: logistic
    and its corrections)."""
    if cfg.realism == "v1":
        return {"logistic": target}
    names = [s.name for s in configurable()]
    weights = np.asarray([getattr(cfg.scenarios, n) for n in names], dtype=np.float64)
    return dict(zip(names, largest_remainder(target, weights).tolist(), strict=True))


def planned_quotas(cfg) -> dict[str, int]:
    """Attempts per v3-planned scenario over the whole run (exact)."""
    share = split_quota(cfg, cfg.fraud_target)
    return {s.name: share.get(s.name, 0) for s in REGISTRY if s.plan is not None}


def inject(
    pop: Population,
    spec: ChunkSpec,
    draws: Draws,
    quotas: dict[str, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """Inject the scenario quotas into `draws` (in code order); return the codes and the
    unplaced remainder."""
    injector = Injector(pop, spec, draws, rng)
    wanted = 0
    for s in REGISTRY:
        if s.inject is not None and quotas.get(s.name):
            s.inject(injector, quotas[s.name])
            wanted += quotas[s.name]
    placed = int(np.count_nonzero(injector.codes))
    return injector.codes, wanted - placed


def fraudster_devices(pop: Population, draws: Draws, codes: np.ndarray, rng) -> None:
    """Online payments from a fresh device, IP and browser for the injected rows."""
    rows = np.flatnonzero(np.isin(codes, INJECTED))
    k = len(rows)
    draws["combo"][rows] = combo_code("ecom", "desktop", "ecommerce")
    draws["device_fresh"][rows] = True  # a random device id, not one of the customer's
    draws["device_null"][rows] = False
    draws["is_recurring"][rows] = False
    draws["ip_idx"][rows] = rng.integers(0, pop.n_ip, k)
    draws["ua_idx"][rows] = rng.integers(0, pop.n_ua, k)
