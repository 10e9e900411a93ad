from __future__ import annotations

import numpy as np
import pytest

from sqlgen.combos import combo_code, combo_table
from sqlgen.generate.draws import Devices
from sqlgen.schema import static_vocabularies


def test_device_table_equals_per_row_derivation():
    tabled = Devices(seed=5, customers=300, max_devices=3, n_ip=97, n_ua=13)
    derived = Devices(seed=5, customers=300, max_devices=3, n_ip=97, n_ua=13)
    derived.table = None
    rng = np.random.default_rng(0)
    owner, slot = rng.integers(0, 300, 5000), rng.integers(0, 3, 5000)
    a, b = tabled.rows(owner, slot), derived.rows(owner, slot)
    assert tabled.table is not None and set(a) == {"uuid", "ip_idx", "ua_idx", "kind"}
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert a["uuid"].shape == (5000, 16)
    assert a["ip_idx"].max() < 97 and a["ua_idx"].max() < 13
    # One device, one identity: same key, same values; another seed, other ids.
    same = (owner == owner[0]) & (slot == slot[0])
    assert len(np.unique(a["uuid"][same], axis=0)) == 1
    other = Devices(seed=6, customers=300, max_devices=3, n_ip=97, n_ua=13).rows(owner, slot)
    assert not np.array_equal(other["uuid"], a["uuid"])


def test_combo_table_weights_follow_reference():
    table = combo_table()
    vocab = static_vocabularies()
    share = table["weight"] / table["weight"].sum()
    pos = combo_code("pos", "pos_terminal", "chip")
    assert table["weight"][pos] > 0
    assert table["weight"][combo_code("pos", "mobile", "chip")] == 0  # terminals only
    assert table["weight"][combo_code("ecom", "mobile", "chip")] == 0  # no chip online
    assert vocab["channel"][table["channel"][pos]] == "pos"
    assert vocab["pos_entry_mode"][table["pos_entry_mode"][pos]] == "chip"
    ecom = share[table["channel"] == vocab["channel"].index("ecom")].sum()
    assert ecom == pytest.approx(0.33)
