"""Exact-count fraud labels: correct the logistic draw to the chunk's fraud quota.

Overshoot unlabels random frauds. Undershoot adds bursts: waves of `burst_size` frauds
at one merchant (picked by risk) within ±window of the wave's time, then random fill
if still short. Loops run per wave, never per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

SCENARIOS = ("logistic", "burst", "fill")
GENUINE, LOGISTIC, BURST, FILL = 0, 1, 2, 3


def correct_labels(
    logistic: np.ndarray,
    target: int,
    merchant_id: np.ndarray,
    event_us: np.ndarray,
    merchant_risk: np.ndarray,
    burst_size: int,
    window_us: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Scenario codes per row (GENUINE, LOGISTIC, BURST, FILL) with exactly `target` frauds."""
    n = len(logistic)
    if not 0 <= target <= n:
        raise ValueError(f"fraud target {target} outside 0..{n}")
    scenario = np.where(logistic, LOGISTIC, GENUINE).astype(np.int8)
    have = int(np.count_nonzero(logistic))
    if have > target:
        drop = rng.choice(np.flatnonzero(scenario), have - target, replace=False)
        scenario[drop] = GENUINE
    elif have < target:
        missing = _bursts(
            scenario,
            target - have,
            merchant_id,
            event_us,
            merchant_risk,
            burst_size,
            window_us,
            rng,
        )
        if missing:
            fill = rng.choice(np.flatnonzero(scenario == GENUINE), missing, replace=False)
            scenario[fill] = FILL
    return scenario


def _bursts(
    scenario, missing, merchant_id, event_us, merchant_risk, burst_size, window_us, rng
) -> int:
    order = np.lexsort((event_us, merchant_id))
    m_sorted, t_sorted = merchant_id[order], event_us[order]
    genuine = scenario == GENUINE
    weight = np.where(genuine, merchant_risk, 0.0)
    if weight.sum() <= 0:
        return missing
    waves = max(1, missing // burst_size)
    # Each wave is anchored on a genuine payment picked by merchant risk: its merchant
    # is the burst's merchant, its time (jittered) the wave's time.
    anchors = rng.choice(len(scenario), waves, p=weight / weight.sum())
    jitter = rng.integers(-window_us, window_us + 1, waves)
    for anchor, shift in zip(anchors, jitter, strict=True):
        if missing == 0:
            break
        m, t = merchant_id[anchor], event_us[anchor] + shift
        lo_m, hi_m = np.searchsorted(m_sorted, [m, m + 1])
        seg = t_sorted[lo_m:hi_m]
        lo, hi = np.searchsorted(seg, [t - window_us, t + window_us + 1])
        cand = order[lo_m + lo : lo_m + hi]
        cand = cand[scenario[cand] == GENUINE]
        take = min(burst_size, missing, len(cand))
        if take:
            scenario[rng.choice(cand, take, replace=False)] = BURST
            missing -= take
    return missing


def scenario_array(codes: np.ndarray) -> pa.DictionaryArray:
    """Arrow dictionary column of scenario names; NULL for genuine rows."""
    indices = pa.array(codes.astype(np.int32) - 1, mask=codes == GENUINE)
    return pa.DictionaryArray.from_arrays(indices, pa.array(SCENARIOS))
