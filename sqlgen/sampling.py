"""Vectorized numpy draws: Zipf popularity, weighted categories, amounts, times, UUIDs.

Nothing here loops over rows; every function takes a Generator and returns arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sqlgen import arrow_np

if TYPE_CHECKING:
    from sqlgen.config import LognormalAmount, NormalAmount, UniformAmount



def zipf_weights(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Popularity weights k**-s over ranks 1..n, dealt to entities in random order."""
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    weights /= weights.sum()
    return weights[rng.permutation(n)]


def cdf(weights: np.ndarray) -> np.ndarray:
    c = np.cumsum(weights, dtype=np.float64)
    c /= c[-1]
    return c


def draw_from_cdf(table: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn with the probabilities behind a cumulative table (table-driven)."""
    idx = np.searchsorted(table, rng.random(size), side="right")
    return np.minimum(idx, len(table) - 1)


def _guide(table: np.ndarray, bins: int) -> np.ndarray:
    """`searchsorted(table, j / bins, side="right")` for j = 0..bins, computed from the
    table's side: entity i covers the points j / bins below table[i], so a count of
    entities per point and a running sum give the same integers in O(bins) steps."""
    below = np.clip(np.ceil(table * bins), 0, bins + 1).astype(np.int64)
    # Settle rounding exactly as the points j / bins are computed (at most a step or two).
    while (low := (below > 0) & ((below - 1) / bins >= table)).any():
        below -= low
    while (high := (below <= bins) & (below / bins < table)).any():
        below += high
    return np.cumsum(np.bincount(below, minlength=bins + 2)[: bins + 1])


class CdfSampler:
    """Table-driven draws from a fixed distribution over many entities.

    A guide table of the inverse CDF at evenly spaced points settles most draws with
    one lookup; only draws whose bin spans an entity boundary fall back to a binary
    search. Results equal `draw_from_cdf` exactly, several times faster.
    """

    def __init__(self, weights: np.ndarray, max_bins: int = 1 << 22):
        self._build(cdf(weights), max_bins)

    @classmethod
    def from_cdf(
        cls, table: np.ndarray, max_bins: int = 1 << 22, bins: int | None = None
    ) -> CdfSampler:
        """A sampler over a cumulative table already ending at 1 (`bins`: guide bins
        wanted, default 32 per entity; at most `max_bins`)."""
        sampler = cls.__new__(cls)
        sampler._build(table, max_bins, bins)
        return sampler

    def _build(self, table: np.ndarray, max_bins: int, bins: int | None = None) -> None:
        self.cdf = table
        wanted = 32 * len(table) if bins is None else bins
        self.bins = int(min(wanted, max_bins, 1 << 30))  # int32 bin numbers
        guide = np.minimum(_guide(table, self.bins), len(table) - 1)
        # One gather per draw: a bin's entity, or -(e + 1) where the bin spans an
        # entity boundary, e the entity at its start: a short search from e decides.
        settled = np.where(guide[:-1] == guide[1:], guide[:-1], -guide[:-1] - 1)
        small = np.int16 if len(table) < 2**15 else np.int32  # a smaller table, fewer misses
        self.guide = settled.astype(small if len(table) < 2**31 else np.int64)

    def draw(self, size: int, rng: np.random.Generator) -> np.ndarray:
        return self.lookup(rng.random(size))

    def lookup(self, u: np.ndarray) -> np.ndarray:
        """The entity each uniform in [0, 1) falls on."""
        # mode="clip": a u * bins rounded up to `bins` takes the last bin.
        settled = np.take(self.guide, (u * self.bins).astype(np.int32), mode="clip")
        out = settled.astype(np.int64)
        ambiguous = np.flatnonzero(settled < 0)
        if len(ambiguous):
            out[ambiguous] = _search_up(self.cdf, u[ambiguous], -out[ambiguous] - 1)
        return out


def _search_up(table: np.ndarray, u: np.ndarray, start: np.ndarray, steps: int = 4) -> np.ndarray:
    """min(searchsorted(table, u, "right"), len - 1) from a `start` at or just below
    it: a few vectorized steps up, then a binary search where they did not settle
    (or where `start` was above the answer: u rounded into the next bin)."""
    last = len(table) - 1
    found = start
    rows = np.arange(len(u))
    for _ in range(steps):
        at = found[rows]
        rows = rows[(at < last) & (table[at] <= u[rows])]
        if len(rows) == 0:
            break
        found[rows] += 1
    redo = np.flatnonzero(found > 0)
    redo = redo[table[found[redo] - 1] > u[redo]]
    if len(rows) or len(redo):
        redo = np.union1d(rows, redo)
        found[redo] = np.minimum(np.searchsorted(table, u[redo], side="right"), last)
    return found


class GroupSampler:
    """Popularity draws within each row's own group (e.g. merchants of the customer's
    country) through one guide table: group g's share of the table is [g, g + 1) / G."""

    def __init__(self, group: np.ndarray, weights: np.ndarray):
        self.order = np.argsort(group, kind="stable")
        g, w = group[self.order], weights[self.order]
        totals = np.bincount(g, weights=w)
        self.groups = len(totals)
        # Group g's normalized CDF, shifted to [g, g + 1), then all scaled by 1/G.
        within = np.cumsum(w) - np.concatenate([[0.0], np.cumsum(totals)])[g]
        # A group's draws fall in its 1/G of the table: 32 bins per entity of the
        # largest group there, so few draws need the binary search (same results).
        bins = 32 * int(np.bincount(g).max(initial=1)) * self.groups
        self.sampler = CdfSampler.from_cdf((g + within / totals[g]) / self.groups, bins=bins)
        self.known = np.zeros(self.groups + 1, dtype=bool)
        self.known[np.unique(g)] = True

    def draw(self, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Entity ids, or -1 where a row's group has no entities."""
        return self.lookup(groups, rng.random(len(groups)))

    def lookup(self, groups: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The entity of each row's group that the uniform u in [0, 1) falls on (-1: none)."""
        groups = np.minimum(groups, self.groups)
        out = self.order[self.sampler.lookup((groups + u) / self.groups)]
        return np.where(self.known[groups], out, -1)


def time_order(times: np.ndarray, t0_us: int, t1_us: int) -> np.ndarray:
    """Stable argsort of times in [t0, t1): one sort of (time, index) packed in 64 bits
    where they fit, several times faster than `np.argsort(kind="stable")`."""
    return time_sort(times, t0_us, t1_us)[0]


def time_sort(times: np.ndarray, t0_us: int, t1_us: int) -> tuple[np.ndarray, np.ndarray]:
    """`time_order` and the times in that order (read off the sorted keys)."""
    n = len(times)
    index_bits = max(1, (n - 1).bit_length())
    if (t1_us - t0_us).bit_length() + index_bits > 64:
        order = np.argsort(times, kind="stable")
        return order, times[order]
    keys = (times - t0_us).astype(np.uint64) << np.uint64(index_bits)
    keys |= np.arange(n, dtype=np.uint64)
    keys.sort()
    order = (keys & np.uint64((1 << index_bits) - 1)).view(np.int64)  # below 2**63
    keys >>= np.uint64(index_bits)
    times = keys.view(np.int64)  # below 2**63 too (t1 - t0 fits with the index bits)
    times += t0_us
    return order, times


def group_order(group: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """`rows` (default: all) stably sorted by their `group` (non-negative ints): one
    sort of (group, position) packed in 64 bits where they fit."""
    return group_sort(group, rows)[0]


def group_sort(group: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`group_order` and the groups in that order."""
    g = group if rows is None else group[rows]
    bits = max(1, (len(g) - 1).bit_length())
    if len(g) == 0 or int(g.max(initial=0)).bit_length() + bits > 63:
        order = np.argsort(g, kind="stable")
        return (order if rows is None else rows[order]), g[order]
    keys = g.astype(np.uint64)
    keys <<= np.uint64(bits)
    keys |= np.arange(len(g), dtype=np.uint64)
    keys.sort()
    order = (keys & np.uint64((1 << bits) - 1)).view(np.int64)  # below 2**63: same bits
    keys >>= np.uint64(bits)
    groups = keys.view(np.int64) if g.dtype == np.int64 else keys.astype(g.dtype)
    return (order if rows is None else rows[order]), groups


def recent_counts(group: np.ndarray, t: np.ndarray, window: int) -> np.ndarray:
    """For each row, how many rows of its group come before it in (t, row) order with
    t at most `window` earlier. Rows are grouped by one packed sort (none if `t` is
    already in order), then counted lag by lag: a lag's candidates are the rows whose
    previous lag matched, so the passes shrink fast (few rows share a window)."""
    n = len(t)
    in_order = n < 2 or bool(np.all(t[1:] >= t[:-1]))
    order, g = group_sort(group, None if in_order else np.argsort(t, kind="stable"))
    s = t[order]
    # Sorted positions with a match at lag 1 (the only ones with a count), then their
    # counts (`active`: indices into `some` still matching at the current lag).
    some = np.flatnonzero((g[1:] == g[:-1]) & (s[1:] - s[:-1] <= window)) + 1
    count = np.ones(len(some), dtype=np.int64)
    active, lag = np.arange(len(some)), 1
    while len(active):
        lag += 1
        at = some[active]
        active = active[at >= lag]
        at = some[active]
        prev = at - lag
        active = active[(g[prev] == g[at]) & (s[at] - s[prev] <= window)]
        count[active] += 1
    out = np.zeros(n, dtype=np.int64)
    out[order[some]] = count
    return out


def id_order(ids: np.ndarray) -> np.ndarray:
    """Stable argsort of integer ids: a radix sort when they fit 16 bits."""
    if len(ids) and ids.min() >= 0 and ids.max() < 2**16:
        return np.argsort(ids.astype(np.uint16), kind="stable")
    return np.argsort(ids, kind="stable")


def categorical(
    weights: Mapping[str, float], size: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[str]]:
    """Codes into the returned vocabulary, drawn by relative weight."""
    vocab = list(weights)
    w = np.asarray([weights[k] for k in vocab], dtype=np.float64)
    return draw_from_cdf(cdf(w), size, rng).astype(np.int32), vocab


def amounts(
    spec: LognormalAmount | NormalAmount | UniformAmount, size: int, rng: np.random.Generator
) -> np.ndarray:
    # Dispatch on the tag: sampling stays below `config` (which imports the scenarios).
    if spec.distribution == "lognormal":
        values = rng.lognormal(spec.mu, spec.sigma, size)
    elif spec.distribution == "normal":
        values = rng.normal(spec.mean, spec.std, size)
    else:
        values = rng.uniform(spec.low, spec.high, size)
    return np.maximum(values, 0.01)


def sorted_times(t0_us: int, t1_us: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Microsecond timestamps uniform in [t0, t1), in time order."""
    times = rng.integers(t0_us, t1_us, size=size, dtype=np.int64)
    times.sort()
    return times


def uuid4_bytes(size: int, rng: np.random.Generator) -> np.ndarray:
    """Random version-4 UUIDs as a (size, 16) uint8 matrix (raw generator output)."""
    raw = rng.bit_generator.random_raw(2 * size).view(np.uint8).reshape(size, 16)
    return set_uuid4_bits(raw)


def set_uuid4_bits(raw: np.ndarray) -> np.ndarray:
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer: a fast, well-spread hash of uint64 keys (vectorized)."""
    z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)  # a new array
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def bounded(hashes: np.ndarray, n: int) -> np.ndarray:
    """Map uint64 hashes onto 0..n-1 by their top 32 bits (multiply, no division)."""
    if not 0 < n < 2**32:
        raise ValueError(f"bounded: n={n} outside 1..2**32-1")
    top = hashes >> np.uint64(32)
    return ((top * np.uint64(n)) >> np.uint64(32)).astype(np.int64)


def keyed_uuid4(keys: np.ndarray, salt: int) -> np.ndarray:
    """Stable version-4-shaped UUIDs derived from integer keys: same key, same UUID."""
    k = np.asarray(keys, dtype=np.uint64) ^ np.uint64(salt)
    words = np.stack([mix64(k), mix64(k ^ np.uint64(0x5DEECE66D))], axis=1)
    return set_uuid4_bits(np.ascontiguousarray(words).view(np.uint8).reshape(len(k), 16))


def uuid_array(raw: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Arrow `uuid` array (DuckDB reads it as UUID) from a (n, 16) uint8 matrix."""
    validity = None if null is None else arrow_np.bits(~null)
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(raw), [validity, pa.py_buffer(np.ascontiguousarray(raw))]
    )  # zero-copy: Arrow keeps the numpy buffer alive
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def cycle_times(
    t0_us: int,
    t1_us: int,
    size: int,
    rng: np.random.Generator,
    hourly: tuple[float, ...],
    weekday: tuple[float, ...],
) -> np.ndarray:
    """Times in [t0, t1) with intensity hourly[hour] * weekday[day] (unsorted)."""
    hour = 3_600_000_000
    bins = np.arange(t0_us // hour, -(-t1_us // hour), dtype=np.int64)
    lo = np.maximum(bins * hour, t0_us)
    hi = np.minimum((bins + 1) * hour, t1_us)
    day = bins // 24
    weight = (
        np.asarray(hourly)[bins % 24] * np.asarray(weekday)[(day + 3) % 7] * (hi - lo)
    )  # 1970-01-01 was a Thursday: (day + 3) % 7 is Monday-based
    which = CdfSampler(weight).draw(size, rng)
    return lo[which] + (rng.random(size) * (hi - lo)[which]).astype(np.int64)


def dictionary(codes: np.ndarray, vocab: list[str] | pa.Array) -> pa.DictionaryArray:
    indices = arrow_np.array(np.asarray(codes, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, arrow_np.array(vocab))


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` into integers proportional to `weights`, summing exactly to it.

    Each part is its exact share rounded down; the units left over go one each to the
    parts with the largest remainders (ties: the earlier part), so every part is
    within 1 of its exact share.

    Exact shares are kept:

    >>> largest_remainder(10, np.array([5.0, 3.0, 2.0])).tolist()
    [5, 3, 2]

    7 = 3.5 + 2.1 + 1.4: floors 3 + 2 + 1 leave one unit, for the largest remainder (0.5):

    >>> largest_remainder(7, np.array([5.0, 3.0, 2.0])).tolist()
    [4, 2, 1]

    8 = 2.4 + 2.8 + 2.8: two units left, for the two remainders of 0.8:

    >>> largest_remainder(8, np.array([3.0, 3.5, 3.5])).tolist()
    [2, 3, 3]

    Equal remainders go in order, so the split never depends on anything but the input:

    >>> largest_remainder(10, np.ones(3)).tolist()
    [4, 3, 3]
    >>> largest_remainder(2, np.ones(4)).tolist()
    [1, 1, 0, 0]
    """
    share = total * weights / weights.sum()
    base = np.floor(share).astype(np.int64)
    left = total - int(base.sum())
    if left:
        order = np.lexsort((np.arange(len(share)), -(share - base)))
        base[order[:left]] += 1
    return base
