"""A chunk's draws (a dict of equal-length column arrays) and the numbered
(channel, device_type, pos_entry_mode) triples, `combo`s, every realism level draws from.

Shared by the draws of every realism level and by the fraud scenarios, so it sits below
them.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from sqlgen import sampling
from sqlgen.schema import reference, static_vocabularies

Draws = dict[str, np.ndarray]
MINUTE_US = 60_000_000


def vocab_code(vocab: str, value: str) -> int:
    return static_vocabularies()[vocab].index(value)


@cache
def combo_table() -> dict[str, np.ndarray]:
    """Every (channel, device_type, pos_entry_mode) triple, numbered, with its weight:
    P(channel) * P(device | channel) * P(entry | channel) from `reference.yaml`."""
    ref, vocab = reference(), static_vocabularies()
    shape = tuple(len(vocab[v]) for v in ("channel", "device_type", "pos_entry_mode"))
    c, d, e = (a.ravel() for a in np.indices(shape))
    weight = np.zeros(len(c))
    for name, share in ref["channels"].items():
        devices, entries = ref["device_types"][name], ref["pos_entry_modes"][name]
        p_dev = np.asarray([devices.get(v, 0) for v in vocab["device_type"]], float)
        p_ent = np.asarray([entries.get(v, 0) for v in vocab["pos_entry_mode"]], float)
        on = c == vocab_code("channel", name)
        weight[on] = share * (p_dev / p_dev.sum())[d[on]] * (p_ent / p_ent.sum())[e[on]]
    return {"channel": c, "device_type": d, "pos_entry_mode": e, "weight": weight}


def combo_code(channel: str, device_type: str, pos_entry_mode: str) -> int:
    vocab = static_vocabularies()
    c = vocab_code("channel", channel)
    d = vocab_code("device_type", device_type)
    e = vocab_code("pos_entry_mode", pos_entry_mode)
    return (c * len(vocab["device_type"]) + d) * len(vocab["pos_entry_mode"]) + e


def own_kind(u: np.ndarray) -> np.ndarray:
    """Device type codes of the cardholder's own devices (the ecom mix), from uniforms."""
    kinds = reference()["device_types"]["ecom"]
    codes = np.asarray([vocab_code("device_type", k) for k in kinds])
    return codes[sampling.CdfSampler(np.asarray(list(kinds.values()), float)).lookup(u)]


def with_device(combo: np.ndarray, device: np.ndarray) -> np.ndarray:
    """Each combo with its device type replaced (a gather from `_device_swaps`)."""
    table = _device_swaps()
    return np.take(table, combo * table.shape[1] + device)


@cache
def _device_swaps() -> np.ndarray:
    """combo x device type -> the combo with that device type, raveled (n_combo rows)."""
    vocab = static_vocabularies()
    n_dev, n_ent = len(vocab["device_type"]), len(vocab["pos_entry_mode"])
    combo, device = np.indices((len(combo_table()["channel"]), n_dev))
    table = (combo // (n_dev * n_ent) * n_dev + device) * n_ent + combo % n_ent
    return table.astype(np.int64)
