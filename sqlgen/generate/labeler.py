"""Exact-count fraud labels: correct the logistic draw to the chunk's fraud quota.

Overshoot unlabels random frauds. Undershoot adds bursts: waves of `burst_size` frauds
at one merchant (picked by risk) within ±window of the wave's time, then random fill
if still short. Loops run per wave, never per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sqlgen import arrow_np, sampling
from sqlgen.scenarios import GENUINE, NAMES, REGISTRY, code

SCENARIOS = NAMES  # `fraud_scenario` labels, by code (code 0 is genuine)
LOGISTIC, BURST, FILL = code("logistic"), code("burst"), code("fill")
FALSE_REPORT = code("false_report")
_DAY_US = 86_400_000_000
_CAP_DAYS = 120.0  # chargeback window: v3 reports come within it


def correct_labels(
    logistic: np.ndarray,
    target: int,
    merchant_id: np.ndarray,
    event_us: np.ndarray,
    merchant_risk: np.ndarray,
    burst_size: int,
    window_us: int,
    rng: np.random.Generator,
    *,
    burst_target: int = 0,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Scenario codes per row: exactly `target` logistic frauds plus `burst_target` burst
    frauds. A logistic shortfall becomes bursts, then random fill (the legacy rule).

    Rows already coded in `fixed` (injected scenarios) keep their code and are never
    chosen again.
    """
    n = len(logistic)
    scenario = np.zeros(n, dtype=np.int8) if fixed is None else fixed.astype(np.int8)
    free = int(np.count_nonzero(scenario == GENUINE))
    if not 0 <= target + burst_target <= free:
        raise ValueError(f"fraud target {target + burst_target} outside 0..{free}")
    drawn = np.asarray(logistic, dtype=bool) & (scenario == GENUINE)
    scenario[drawn] = LOGISTIC
    have = int(np.count_nonzero(drawn))
    if have > target:
        drop = rng.choice(np.flatnonzero(drawn), have - target, replace=False)
        scenario[drop] = GENUINE
    missing = burst_target + max(0, target - have)
    if missing:
        missing = _bursts(
            scenario, missing, merchant_id, event_us, merchant_risk, burst_size, window_us, rng
        )
    if missing:
        fill = rng.choice(np.flatnonzero(scenario == GENUINE), missing, replace=False)
        scenario[fill] = FILL
    return scenario


def add_noise(scenario: np.ndarray, rate: float, rng: np.random.Generator) -> None:
    """Miss `rate` of the frauds and falsely report as many genuine payments (in place).

    The fraud count is unchanged; missed frauds look genuine, false reports are named.
    """
    frauds = np.flatnonzero(scenario != GENUINE)
    k = min(round(rate * len(frauds)), len(scenario) - len(frauds))
    if k <= 0:
        return
    genuine = np.flatnonzero(scenario == GENUINE)
    scenario[rng.choice(frauds, k, replace=False)] = GENUINE
    scenario[rng.choice(genuine, k, replace=False)] = FALSE_REPORT


def add_noise_v3(
    scenario: np.ndarray, dispute: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """v3 label noise, in place: the chunk's planned disputes (`dispute`, friendly
    fraud: approved card-not-present payments of cards still open, their report and
    block planned run-wide by `sqlgen.generate.episodes`) become false reports, and as
    many of the chunk's frauds are never reported, so both the reported count
    (label_fraud) and the true count stay exact. Returns the rows made false reports.

    An unreported fraud keeps its scenario as a negative code (`-code`: label_fraud
    false, fraud_scenario still the truth, no fraud_reported_at); any fraud can be one.
    Its card may still be blocked: by its episode's other reports, or, when none is
    reported, for a reason the data does not show (issuers also reissue cards after a
    breach). A chunk with fewer frauds than disputes reports only as many disputes (the
    others stay genuine payments; their card's block is one the data does not explain).
    """
    frauds = np.flatnonzero(scenario > GENUINE)
    planted = np.flatnonzero(dispute & (scenario == GENUINE))
    k = min(len(planted), len(frauds))
    disputed = np.zeros(len(scenario), dtype=bool)
    if k <= 0:
        return disputed
    missed = rng.choice(frauds, k, replace=False)
    scenario[missed] = -scenario[missed]
    disputed[planted if k == len(planted) else rng.choice(planted, k, replace=False)] = True
    scenario[disputed] = FALSE_REPORT
    return disputed


def report_times(
    scenario: np.ndarray,
    event_us: np.ndarray,
    median_days: float,
    sigma: float,
    rng: np.random.Generator,
) -> pa.Array:
    """`fraud_reported_at`: payment time plus a lognormal delay; NULL for genuine rows."""
    reported = np.zeros(len(scenario), dtype=np.int64)
    frauds = np.flatnonzero(scenario != GENUINE)
    delay = rng.lognormal(np.log(median_days), sigma, len(frauds)) * _DAY_US
    reported[frauds] = np.asarray(event_us, dtype=np.int64)[frauds] + delay.astype(np.int64)
    return arrow_np.array(reported, type=pa.timestamp("us", tz="UTC"), mask=scenario == GENUINE)


def report_times_v3(
    scenario: np.ndarray,
    event_us: np.ndarray,
    remote: np.ndarray,
    planned: np.ndarray,
    planned_reported: np.ndarray,
    rng: np.random.Generator,
    disputed: np.ndarray | None = None,
) -> pa.Array:
    """v3 `fraud_reported_at`: planned episodes and planned disputes (`disputed`) bring
    their own (`sqlgen.generate.episodes`); other frauds get their scenario's delay
    profile (`Scenario.report`, card-not-present payments x `cnp_factor`), capped at the
    120-day chargeback window."""
    reported = np.zeros(len(scenario), dtype=np.int64)
    own = (planned > 0) & (scenario == planned)
    if disputed is not None:
        own |= disputed & (scenario == FALSE_REPORT)
    reported[own] = planned_reported[own]
    for s in REGISTRY:
        rows = np.flatnonzero((scenario == s.code) & ~own)
        if len(rows) == 0:
            continue
        r = s.report
        median = np.where(remote[rows], r.median_days * r.cnp_factor, r.median_days)
        days = np.minimum(rng.lognormal(np.log(median), r.sigma), _CAP_DAYS)
        # At least a second after the payment: never at its own instant.
        delay = np.maximum((days * _DAY_US).astype(np.int64), 1_000_000)
        reported[rows] = np.asarray(event_us, dtype=np.int64)[rows] + delay
    # Genuine rows and unreported frauds (negative codes) have no report.
    return arrow_np.array(reported, type=pa.timestamp("us"), mask=scenario <= GENUINE)


def _merchant_then_time(merchant_id: np.ndarray, event_us: np.ndarray) -> np.ndarray:
    """Row order by (merchant, time). Chunk rows come in time order, so a stable sort on
    the merchant alone suffices."""
    if np.any(np.diff(event_us) < 0):
        return np.lexsort((event_us, merchant_id))
    return sampling.id_order(merchant_id)


def _bursts(
    scenario, missing, merchant_id, event_us, merchant_risk, burst_size, window_us, rng
) -> int:
    order = _merchant_then_time(merchant_id, event_us)
    t_sorted = event_us[order]
    # Where each merchant's rows start in `order` (ids are small non-negative ints).
    starts = np.concatenate([[0], np.cumsum(np.bincount(merchant_id))])
    genuine = scenario == GENUINE
    weight = np.where(genuine, merchant_risk, 0.0)
    if weight.sum() <= 0:
        return missing
    # Spare waves: one whose window holds a single payment is skipped, not a burst.
    waves = 3 * (missing // burst_size + 1)
    # Each wave is anchored on a genuine payment picked by merchant risk: its merchant
    # is the burst's merchant, its time (jittered) the wave's time.
    anchors = sampling.draw_from_cdf(sampling.cdf(weight), waves, rng)
    jitter = rng.integers(-window_us, window_us + 1, waves)
    for anchor, shift in zip(anchors, jitter, strict=True):
        if missing == 0:
            break
        m, t = merchant_id[anchor], event_us[anchor] + shift
        lo_m, hi_m = starts[m], starts[m + 1]
        seg = t_sorted[lo_m:hi_m]
        lo, hi = np.searchsorted(seg, [t - window_us, t + window_us + 1])
        cand = order[lo_m + lo : lo_m + hi]
        cand = cand[scenario[cand] == GENUINE]
        take = min(burst_size, missing, len(cand))
        if take and (take >= 2 or missing == 1):
            scenario[rng.choice(cand, take, replace=False)] = BURST
            missing -= take
    return missing
