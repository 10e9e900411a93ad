"""The fraud plan's calibration constants (`sqlgen.generate.episodes`), pinned in one
table (issue 25).

Each value is the one the module's comments and docs/realism give for it; a
recalibration (issue 24) changes the module and this table together. The other
`test_rules_generation_episodes_*` files check that the code reads these constants
where it should (units, signs, boundaries); this file pins their values and units.
"""

from __future__ import annotations

import pytest

from sqlgen.generate import episodes

DAY = 86_400_000_000  # microseconds
HOUR = 3_600_000_000

# name -> expected value (microsecond durations written in days / hours by hand).
EXPECTED = {
    "CAP_US": 120 * DAY,  # the 120-day chargeback window
    "_LATE_US": 200 * DAY,
    "_WRAP_US": 60 * DAY,
    "_KEEP_US": 1 * DAY,
    "_BACK_US": 4 * DAY,
    "_CACHED_DAYS": 4,
    "_ATTEMPTS_PER_RING": 100,
    "_PROXY_SHARE": 0.8,
    "_RING_DEVICES": (2, 8),
    "_RING_IPS": 4,
    "_RING_DEVICE_DAYS": (7.0, 120.0),  # a ring's device lasts 7 to 120 days
    "_RING_IP_DAYS": (3.0, 60.0),  # an address 3 to 60 days
    "_OWN_DEVICE": {"account_takeover": 0.45, "compromised_merchant": 0.25,
                    "logistic": 0.3, "burst": 0.1},
    "_FRESH_FINGERPRINT": {"burst": 0.6, "card_testing": 0.6},
    "_RING_FAVOURITES": 12,
    "_FAVOURITE_SHARE": 0.15,
    "LOCAL_CASHOUT": 0.6,
    "_MOTO_SHARE": 5 / 38,  # 5 of 38 genuine remote payments are moto
    "_NIGHT_RINGS": 0.2,
    "_RETRY_SHARE": 0.3,
    "_CARD_LEVEL_SIGMA": 0.5,
    "_NEW_DEVICE": 0.15,
    "_BIG_PURCHASE": 0.01,
    "_MICRO_SHARE": 0.5,
    "_AFTER_BLOCK_REPORT_US": (60_000_000, HOUR),  # a minute to an hour
    "_TRY_BLOCKED": 0.5,
    "_SALT_RING_DEVICE": 0x51A6,
    "_SALT_IP": 0x1B7E,
    "_CAMPAIGN_DAYS": 20,
    "_CAMPAIGN_HEIGHT": 0.8,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_constant_value_and_unit(name):
    got = getattr(episodes, name)
    want = EXPECTED[name]
    assert type(got) is type(want), (name, got)
    if isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12), name
    else:
        assert got == want, name


def test_moto_share_is_five_of_thirty_eight():
    assert pytest.approx(0.131578947, abs=1e-9) == episodes._MOTO_SHARE
