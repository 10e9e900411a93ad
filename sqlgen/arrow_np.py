"""numpy → Arrow from the numpy buffers, without `pa.array`'s pandas probe.

`pa.array` (and `pa.table` over numpy values) first asks pandas whether its input is a
pandas object, which imports pandas wherever it is installed: about 0.6 s of CPU in the
driver and again in every worker, for nothing, since sqlgen hands it numpy only. These
build the same arrays directly from the buffers (zero-copy for numbers; the buffers keep
the numpy arrays alive). Anything else falls back to `pa.array`.

>>> array(np.array([1, 2, 3], dtype=np.int16)).to_pylist()
[1, 2, 3]
>>> array(np.array([True, False, True]), mask=np.array([False, True, False])).to_pylist()
[True, None, True]
>>> array(np.array(["a", "ßx", None], dtype=object)).to_pylist()
['a', 'ßx', None]
>>> numbers(array(np.array([0.5, 2.0]))[1:]).tolist()
[2.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa


def bits(values: np.ndarray) -> pa.Buffer:
    """Arrow's bit-packed booleans (least significant bit first)."""
    return pa.py_buffer(np.packbits(np.asarray(values, dtype=bool), bitorder="little"))


def array(
    values: np.ndarray | Sequence | pa.Array,
    type: pa.DataType | None = None,
    mask: np.ndarray | None = None,
) -> pa.Array:
    """`pa.array(values, type, mask)` for numpy numbers, booleans and strings."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values if type is None else values.cast(type)
    values = np.asarray(values)
    if values.ndim != 1:
        return pa.array(values, type=type, mask=mask)
    n = len(values)
    validity = None if mask is None else bits(~np.asarray(mask, dtype=bool))
    kind = values.dtype.kind
    if kind == "b" and type in (None, pa.bool_()):
        return pa.Array.from_buffers(pa.bool_(), n, [validity, bits(values)])
    if kind in "iuf":
        arrow_type = type if type is not None else pa.from_numpy_dtype(values.dtype)
        width = _fixed_width(arrow_type)
        if (
            width is not None
            and values.dtype.itemsize == width
            and (pa.types.is_floating(arrow_type) == (kind == "f"))
        ):
            data = pa.py_buffer(np.ascontiguousarray(values))
            return pa.Array.from_buffers(arrow_type, n, [validity, data])
    if kind in "OU" and type in (None, pa.string()):
        return _strings(values, mask)
    return pa.array(values, type=type, mask=mask)


def table(columns: Mapping[str, object]) -> pa.Table:
    """`pa.table` over a dict of numpy arrays (or Arrow arrays)."""
    return pa.table({name: array(v) for name, v in columns.items()})


def numbers(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A null-free numeric Arrow column as numpy (`to_numpy` probes pandas too)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count or _fixed_width(column.type) is None:
        return column.to_numpy(zero_copy_only=False)
    dtype = _numpy_dtype(column.type)
    return np.frombuffer(column.buffers()[1], dtype=dtype, count=len(column) + column.offset)[
        column.offset :
    ]


def _numpy_dtype(t: pa.DataType) -> np.dtype:
    kind = "f" if pa.types.is_floating(t) else "u" if pa.types.is_unsigned_integer(t) else "i"
    return np.dtype(f"{kind}{t.bit_width // 8}")


def _fixed_width(t: pa.DataType) -> int | None:
    """Bytes per value of a numpy-compatible Arrow type (timestamps are int64)."""
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_timestamp(t):
        return t.bit_width // 8
    return None


def _strings(values: np.ndarray, mask: np.ndarray | None) -> pa.Array:
    """UTF-8 strings from str (or None) values, vectorized: encode to a fixed-width byte
    matrix, then keep each row's first len bytes."""
    null = np.equal(values, None) if values.dtype.kind == "O" else np.zeros(len(values), bool)
    if mask is not None:
        null |= np.asarray(mask, dtype=bool)
    text = np.where(null, "", values).astype(str)
    encoded = np.char.encode(text, "utf-8")
    if encoded.dtype.itemsize * len(encoded) >= 1 << 31:
        return pa.array(values, mask=null)
    lengths = np.char.str_len(encoded).astype(np.int64)
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    width = max(encoded.dtype.itemsize, 1)
    matrix = np.frombuffer(encoded.tobytes(), dtype=np.uint8).reshape(len(values), width)
    data = matrix[np.arange(width) < lengths[:, None]]
    validity = bits(~null) if null.any() else None
    return pa.Array.from_buffers(
        pa.string(), len(values), [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
