"""Random streams: one per (run seed, purpose, index), never per worker.

Every draw in sqlgen comes from `stream(seed, purpose, *index)`, so what a chunk
contains depends only on the seed and the chunk's index, not on which worker, process
or machine generated it.
"""

from __future__ import annotations

import zlib

import numpy as np


def _purpose_key(purpose: str) -> int:
    return zlib.crc32(purpose.encode())


def stream(seed: int, purpose: str, *index: int) -> np.random.Generator:
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(_purpose_key(purpose), *index))
    return np.random.Generator(np.random.PCG64DXSM(seq))
