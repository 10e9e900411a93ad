"""Realism v3 merchant-category profiles: how spread a category's amounts are around
its price level (`shape`: the log-amount spread against the config's), and how much
fraud it attracts (`fraud_weight`: resellable goods, digital goods, travel and
quasi-cash far more than groceries or transit). Unknown categories get 1 and 1."""

from __future__ import annotations

import numpy as np

# code: (shape, fraud_weight)
PROFILES = {
    "5411": (0.8, 0.4),  # grocery
    "5812": (0.7, 0.5),  # restaurants
    "5814": (0.6, 0.4),  # fast food
    "5541": (0.5, 0.6),  # fuel
    "5912": (0.8, 0.5),  # pharmacy
    "5311": (1.0, 1.2),  # department store
    "5651": (0.9, 1.5),  # clothing
    "5732": (1.3, 4.0),  # electronics
    "5999": (1.1, 1.5),  # misc retail
    "4111": (0.6, 0.3),  # transit
    "4121": (0.7, 0.5),  # taxi
    "4511": (0.8, 3.0),  # airlines
    "7011": (0.9, 2.0),  # hotels
    "4900": (0.5, 0.3),  # utilities
    "4814": (0.4, 1.5),  # telecom
    "5815": (1.2, 3.0),  # digital goods
    "5967": (1.0, 2.0),  # direct marketing
    "7995": (1.5, 3.0),  # gambling
    "6051": (1.3, 4.0),  # quasi-cash
}


def per_merchant(mcc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(shape, fraud_weight) of each merchant, from its MCC code (strings)."""
    codes, inverse = np.unique(np.asarray(mcc, dtype=object).astype(str), return_inverse=True)
    table = np.asarray([PROFILES.get(c, (1.0, 1.0)) for c in codes], dtype=np.float64)
    return table[inverse, 0], table[inverse, 1]
