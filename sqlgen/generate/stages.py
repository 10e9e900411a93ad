"""The stages a realism profile (`profiles`) plugs into the one chunk pipeline (`chunks`).

A stage is a plain function of the population, the chunk and its random streams. The
pipeline calls them in a fixed order; each level's `Profile` names which function does
each step. Stages of the same job share a signature:

- draw: `(pop, spec, rng, share, timer) -> (draws, codes)`, numpy draws in time order and
  the scenario codes written into them (`share["logistic"]` may grow by the scenarios'
  unplaced remainder). v1 draws in one step; v2 and v3 in the steps of `StagedDraw`.
- labelled: `(cfg) -> frauds`, the run's frauds the chunks label (`plan` splits them).
- quotas: `(cfg, target) -> {scenario: count}`, the chunk's labeler quota.
- authorise: `(cfg, draws, scenario, rng) -> auth codes` (0 approved, k > 0 reason k - 1).
- report: `(cfg, spec, draws, scenario, fixed, auth, rng) -> fraud_reported_at`, label
  noise applied to `scenario` in place first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sqlgen.combos import Draws
from sqlgen.generate.auth import APPROVED, authorise
from sqlgen.generate.draws import attributes_v2, draw_v1, sort_by_time
from sqlgen.generate.draws_v3 import (
    attributes_v3,
    genuine_runs,
    locate_remote,
    settle_v3,
)
from sqlgen.generate.labeler import (
    FALSE_REPORT,
    GENUINE,
    add_noise,
    add_noise_v3,
    report_times,
    report_times_v3,
)
from sqlgen.scenarios import code, fraudster_devices, inject, planned_quotas, split_quota
from sqlgen.seeds import stream

if TYPE_CHECKING:
    from sqlgen.config import GeneratorConfig
    from sqlgen.generate.plan import ChunkSpec
    from sqlgen.generate.population import Population

# A stage timer: called with a stage name, returns the context that times it.
# `benchmarks/chunk_stages.py` passes one that adds up seconds per stage.
Timer = Callable[[str], AbstractContextManager]


def untimed(_stage: str) -> AbstractContextManager:
    return contextlib.nullcontext()


# --- draw ---------------------------------------------------------------------------


def draw_independent(
    pop: Population, spec: ChunkSpec, rng: np.random.Generator, share: dict, timer: Timer
) -> tuple[Draws, np.ndarray]:
    """v1: every column independent, times drawn in order; no scenario is injected."""
    with timer("draws"):
        return draw_v1(pop, spec, rng), np.zeros(spec.rows, dtype=np.int8)


@dataclass(frozen=True)
class StagedDraw:
    """Who pays whom, when and how much (`skeleton`, unsorted); the scenarios written
    over it (`scenarios`, with the chunk's "scenarios" stream); the time sort; then the
    rest of each payment drawn in time order (`attributes`)."""

    skeleton: Callable[..., Draws]  # (pop, spec, rng)
    scenarios: Callable[..., np.ndarray]  # (pop, spec, skeleton, share, scenario_rng)
    attributes: Callable[..., Draws]  # (pop, spec, skeleton, codes, rng, scenario_rng)

    def __call__(
        self,
        pop: Population,
        spec: ChunkSpec,
        rng: np.random.Generator,
        share: dict,
        timer: Timer,
    ) -> tuple[Draws, np.ndarray]:
        with timer("skeleton"):
            skeleton = self.skeleton(pop, spec, rng)
        with timer("scenarios"):
            scenario_rng = stream(pop.cfg.seed, "scenarios", spec.index)
            codes = self.scenarios(pop, spec, skeleton, share, scenario_rng)
        with timer("time sort"):
            skeleton, codes = sort_by_time(skeleton, codes, spec)
        with timer("attributes"):
            draws = self.attributes(pop, spec, skeleton, codes, rng, scenario_rng)
        return draws, codes


def inject_quotas(
    pop: Population, spec: ChunkSpec, skeleton: Draws, share: dict, rng: np.random.Generator
) -> np.ndarray:
    """v2: each scenario's chunk quota injected; what finds no room goes to the logistic."""
    codes, unplaced = inject(pop, spec, skeleton, share, rng)
    share["logistic"] += unplaced
    return codes


def attributes_cardholders(
    pop: Population,
    spec: ChunkSpec,
    skeleton: Draws,
    codes: np.ndarray,
    rng: np.random.Generator,
    scenario_rng: np.random.Generator,
) -> Draws:
    draws = attributes_v2(pop, skeleton, rng)
    fraudster_devices(pop, draws, codes, scenario_rng)
    return draws


def play_episodes(
    pop: Population, spec: ChunkSpec, skeleton: Draws, share: dict, rng: np.random.Generator
) -> np.ndarray:
    """v3: the world's genuine traffic, the run's planned episodes of this time slice
    written over it, then caps and blocks settled."""
    planner, seed = pop.planner, pop.cfg.seed
    codes = planner.materialize(spec, skeleton, rng)
    planner.settle(spec, skeleton, codes, rng)
    genuine_runs(pop, spec, skeleton, codes, stream(seed, "runs", spec.index))
    settle_v3(pop, spec, skeleton, codes, stream(seed, "settle", spec.index),
              block=planner.card_block)
    planner.place(skeleton, codes, rng)
    return codes


def attributes_world(
    pop: Population,
    spec: ChunkSpec,
    skeleton: Draws,
    codes: np.ndarray,
    rng: np.random.Generator,
    scenario_rng: np.random.Generator,
) -> Draws:
    draws = attributes_v3(pop, spec, skeleton, rng)
    pop.planner.devices(draws, scenario_rng)
    locate_remote(pop, spec, draws)
    return draws


# --- quotas -------------------------------------------------------------------------


def logistic_only(cfg: GeneratorConfig, target: int) -> dict[str, int]:
    """The chunk's whole quota goes to the logistic draw (v1; v3, whose scenarios the
    run's planner places, `sqlgen.generate.episodes`)."""
    return {"logistic": target}


def scenario_split(cfg: GeneratorConfig, target: int) -> dict[str, int]:
    """The chunk's quota split over the configurable scenarios by their weights (v2)."""
    return split_quota(cfg, target)


def all_labelled(cfg: GeneratorConfig) -> int:
    """The run's frauds the chunks label: all of them (v1, v2)."""
    return cfg.fraud_target


def unplanned(cfg: GeneratorConfig) -> int:
    """v3: the frauds the run's planned episodes leave to the chunks' logistic draw."""
    return cfg.fraud_target - sum(planned_quotas(cfg).values())


# --- authorise ----------------------------------------------------------------------


def approve_all(
    cfg: GeneratorConfig, draws: Draws, scenario: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    return np.zeros(len(scenario), dtype=np.int8)


def issuer_decides(
    cfg: GeneratorConfig, draws: Draws, scenario: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """v3: the issuer declines on the truth (`sqlgen.generate.auth`)."""
    fraud = (scenario != GENUINE) & (scenario != FALSE_REPORT)
    blocked = draws.get("blocked", np.zeros(len(scenario), dtype=bool))
    auth = authorise(
        fraud,
        scenario == code("card_testing"),
        draws["remote"],
        draws["amount_base"],
        blocked,
        cfg.auth,
        rng,
    )
    # A planned dispute is of an approved payment: a declined one cannot be charged
    # back (it is on a card still open at its time, `Planner.materialize`).
    if "dispute" in draws:
        auth[draws["dispute"]] = APPROVED
    return auth


# --- report -------------------------------------------------------------------------


def report_exact(cfg, spec, draws, scenario, fixed, auth, rng) -> np.ndarray:
    """v1: labels as drawn; lognormal report delays."""
    label = cfg.label
    return report_times(
        scenario,
        draws["event_us"],
        label.report_delay_median_days,
        label.report_delay_sigma,
        rng,
    )


def report_noisy(cfg, spec, draws, scenario, fixed, auth, rng) -> np.ndarray:
    """v2: a share of labels flipped (`label_noise_rate`), then as v1."""
    add_noise(scenario, cfg.label_noise_rate, rng)
    return report_exact(cfg, spec, draws, scenario, fixed, auth, rng)


def report_disputes(cfg, spec, draws, scenario, fixed, auth, rng) -> np.ndarray:
    """v3: the chunk's planned disputes reported (false reports) and as many of its
    frauds never reported (`labeler.add_noise_v3`); report times per scenario, the
    planned ones as planned (`labeler.report_times_v3`)."""
    disputed = add_noise_v3(scenario, draws["dispute"], stream(cfg.seed, "noise", spec.index))
    return report_times_v3(
        scenario, draws["event_us"], draws["remote"], fixed, draws["reported_us"], rng,
        disputed=disputed,
    )
