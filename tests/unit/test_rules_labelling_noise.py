"""Rule-level tests of the legacy label noise (`labeler.add_noise`, realism v1/v2) on
hand-made chunks: how many frauds are missed (rate x frauds, rounded), that as many
genuine payments are falsely reported, and the cap when frauds outnumber them."""

from __future__ import annotations

import numpy as np

from sqlgen.generate.labeler import FALSE_REPORT, add_noise


def _chunk(frauds: int, n: int) -> np.ndarray:
    scenario = np.zeros(n, dtype=np.int8)
    scenario[:frauds] = 1
    return scenario


def test_one_missed_fraud_is_still_noise():
    # 10 frauds x 0.1 = 1: one fraud unlabelled, one genuine payment reported.
    scenario = _chunk(10, 30)
    add_noise(scenario, 0.1, np.random.default_rng(3))
    assert (scenario[:10] == 0).sum() == 1 and (scenario[:10] == 1).sum() == 9
    assert np.flatnonzero(scenario == FALSE_REPORT).min() >= 10
    assert (scenario == FALSE_REPORT).sum() == 1
    assert (scenario != 0).sum() == 10  # the fraud count is unchanged


def test_noise_is_capped_by_the_genuine_payments_there_are():
    # 8 frauds of 10 rows at rate 0.5: 4 wanted, but only 2 genuine payments can be
    # falsely reported, so 2 of each.
    scenario = _chunk(8, 10)
    add_noise(scenario, 0.5, np.random.default_rng(1))
    assert (scenario[8:] == FALSE_REPORT).all()
    assert (scenario[:8] == 0).sum() == 2 and (scenario[:8] == 1).sum() == 6


def test_a_rate_rounding_to_no_fraud_changes_nothing():
    scenario = _chunk(4, 20)  # 4 x 0.1 = 0.4 rounds to 0
    add_noise(scenario, 0.1, np.random.default_rng(2))
    assert scenario.tolist() == _chunk(4, 20).tolist()
