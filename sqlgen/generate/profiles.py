"""Realism levels as profiles of the one chunk pipeline.

`chunks` runs the same steps for every level: quotas, draws (with the scenarios written
into them), the Arrow view, behaviour signals, the score query, exact-count labels,
authorisation, label noise and report times, the row query and COPY. A `Profile` says
what each step does at one level; `profile_for(cfg.realism)` picks it once. No other
module of `sqlgen/generate` compares the realism string (`tests/unit/test_profiles.py`);
the runner takes `world` and `catalog_files` from the profile too.

- v1 (legacy): independent columns, no scenarios, raw logit features, everything approved.
- v2: coherent cardholders, scenario quotas injected per chunk, centred and
  difficulty-scaled logit, label noise.
- v3: the world (places, FX, household addresses), the run's planned episodes, behaviour
  signals in the logit, issuer declines, disputes and report times per scenario.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlgen.config import GeneratorConfig
from sqlgen.generate import stages
from sqlgen.generate.draws import skeleton_v2, to_arrow
from sqlgen.generate.draws_v3 import skeleton_v3, to_arrow_v3
from sqlgen.generate.episodes import behaviour
from sqlgen.scenarios import strength


@dataclass(frozen=True)
class Profile:
    """The stages of one realism level (signatures: `sqlgen.generate.stages`)."""

    name: str  # the realism level: the payments schema's and the SQL templates' `realism`
    world: bool  # catalogs in real places, FX to the base currency, household addresses
    catalog_files: bool  # catalogs published beside the payments (v1: workers build them)
    labelled: Callable  # (cfg) -> the run's frauds the chunks label (the plan splits them)
    quotas: Callable  # (cfg, target) -> the chunk's labeler quota per scenario
    draw: Callable  # (pop, spec, rng, share, timer) -> (draws in time order, codes)
    to_arrow: Callable  # (pop, draws, uuid_rng) -> the Arrow view `draws`
    signals: Callable | None  # (pop, draws) -> behaviour features added to the logit
    authorise: Callable  # (cfg, draws, scenario, rng) -> auth codes
    report: Callable  # (cfg, spec, draws, scenario, fixed, auth, rng) -> reported at
    scaled: bool  # logit weights scaled by `label.difficulty`, features centred
    w_amount: float = 1.0  # factor of the amount's weight
    w_night: float = 1.0  # factor of the night's weight

    @property
    def catalog_level(self) -> str | None:
        """The catalog tables' realism (`world.catalogs`): v3's world columns, or none."""
        return self.name if self.world else None


PROFILES = {
    "v1": Profile(
        name="v1",
        world=False,
        catalog_files=False,
        labelled=stages.all_labelled,
        quotas=stages.logistic_only,
        draw=stages.draw_independent,
        to_arrow=to_arrow,
        signals=None,
        authorise=stages.approve_all,
        report=stages.report_exact,
        scaled=False,
    ),
    "v2": Profile(
        name="v2",
        world=False,
        catalog_files=True,
        labelled=stages.all_labelled,
        quotas=stages.scenario_split,
        draw=stages.StagedDraw(
            skeleton_v2, stages.inject_quotas, stages.attributes_cardholders
        ),
        to_arrow=to_arrow,
        signals=None,
        authorise=stages.approve_all,
        report=stages.report_noisy,
        scaled=True,
    ),
    "v3": Profile(
        name="v3",
        world=True,
        catalog_files=True,
        labelled=stages.unplanned,
        quotas=stages.logistic_only,
        draw=stages.StagedDraw(skeleton_v3, stages.play_episodes, stages.attributes_world),
        to_arrow=to_arrow_v3,
        signals=behaviour,
        authorise=stages.issuer_decides,
        report=stages.report_disputes,
        scaled=True,
        # v3's logistic draw leans on behaviour: amount and night count less.
        w_amount=0.35,
        w_night=0.5,
    ),
}


def profile_for(realism: str) -> Profile:
    return PROFILES[realism]


def score_params(cfg: GeneratorConfig) -> dict[str, float]:
    """The bound parameters of `sql/chunk_score.sql`: intercept, weights and centres."""
    profile = profile_for(cfg.realism)
    # Scaled by difficulty: x3 at the default 0.5, from x13 (0) to x0.7 (1).
    scale = 3 * strength(cfg.label.difficulty) ** 1.5 if profile.scaled else 1.0
    label = cfg.label
    return {
        "intercept": math.log(cfg.fraud_rate / (1 - cfg.fraud_rate)),
        "w_amount": label.w_amount * scale * profile.w_amount,
        "w_mrisk": label.w_mrisk * scale,
        "w_crisk": label.w_crisk * scale,
        "w_night": label.w_night * scale * profile.w_night,
        **(
            {
                "w_cnp": label.w_cnp,
                "w_abroad": label.w_abroad,
                "w_velocity": label.w_velocity,
                "w_far": label.w_far,
            }
            if profile.signals is not None
            else {}
        ),
        **(_centres(cfg) if profile.scaled else _UNCENTRED),
    }


# The legacy (v1) formula adds raw features to logit(fraud_rate); with positive weights
# p saturates and the exact-count correction then unlabels nearly at random.
_UNCENTRED = {"c_amount": 0.0, "c_mrisk": 0.0, "c_crisk": 0.0, "c_night": 0.0}


def _centres(cfg: GeneratorConfig) -> dict[str, float]:
    """Typical value of each logit feature, so p stays near fraud_rate on average."""
    amount = cfg.feature.amount
    if amount.distribution == "lognormal":
        c_amount = amount.mu
    elif amount.distribution == "normal":
        c_amount = math.log(amount.mean + 1)
    else:
        c_amount = math.log((amount.low + amount.high) / 2 + 1)
    cat, hourly = cfg.catalog, cfg.temporal.hourly_weights
    return {
        "c_amount": c_amount,
        "c_mrisk": cat.merchant_risk_alpha / (cat.merchant_risk_alpha + cat.merchant_risk_beta),
        "c_crisk": cat.card_risk_alpha / (cat.card_risk_alpha + cat.card_risk_beta),
        "c_night": sum(hourly[:6]) / sum(hourly),
    }
