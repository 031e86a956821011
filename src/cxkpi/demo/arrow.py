"""Turn the generators' numpy code arrays into Arrow columns of the canonical types.

Codes index small label tuples (-1 = null), times are seconds from the period start
(NaN = null) and become ``timestamp[us, UTC]``; ids are built by Arrow compute kernels so
that ten million of them cost well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TIMESTAMP = pa.timestamp("us", tz="UTC")


def _index_type(n: int) -> type[np.integer]:
    if n < 2**7:
        return np.int8
    if n < 2**15:
        return np.int16
    return np.int32


def text(codes: np.ndarray, labels: Sequence[str] | pa.Array) -> pa.Array:
    """Dictionary-encoded string column from integer codes into ``labels`` (-1 is null).

    The generators keep low-cardinality text dictionary-encoded (a few bytes a row);
    ``finalize`` decodes it to plain strings unless compact output was asked for.
    """
    codes = np.asarray(codes)
    dictionary = labels if isinstance(labels, pa.Array) else pa.array(list(labels), type=pa.string())
    mask = codes < 0
    idx = pa.array(np.where(mask, 0, codes).astype(_index_type(len(dictionary))), mask=mask if mask.any() else None)
    return pa.DictionaryArray.from_arrays(idx, dictionary)


def ref(ids: pa.Array, index: np.ndarray) -> pa.Array:
    """Plain string column of ``ids[index]`` (-1 is null), for high-cardinality references."""
    index = np.asarray(index)
    mask = index < 0
    out: pa.Array = ids.take(pa.array(np.where(mask, 0, index), mask=mask if mask.any() else None))
    return out


def finalize(table: pa.Table, compact: bool) -> pa.Table:
    """Decode dictionary text columns to ``string`` unless ``compact`` (then they stay encoded)."""
    if compact:
        return table
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` (negative numbers give null)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    mask = numbers < 0
    digits = pc.cast(pa.array(np.where(mask, 0, numbers), mask=mask), pa.string())
    padded = pc.utf8_lpad(digits, width=width, padding="0")
    out: pa.Array = pc.binary_join_element_wise(pa.scalar(prefix), padded, pa.scalar(""))
    return out


def id_width(n: int, minimum: int = 6) -> int:
    return max(minimum, len(str(max(n, 1))))


def timestamps(seconds: np.ndarray, t0: int) -> pa.Array:
    """Timestamps (UTC, microseconds) from seconds after epoch second ``t0``; NaN is null."""
    seconds = np.asarray(seconds, dtype=np.float64)
    mask = np.isnan(seconds)
    us = (t0 + np.floor(np.where(mask, 0.0, seconds))).astype(np.int64) * 1_000_000
    return pa.array(us, type=TIMESTAMP, mask=mask)


def numbers(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def integers(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64(), mask=mask)


def bools(values: np.ndarray) -> pa.Array:
    """Booleans from int8 codes 1 / 0, -1 = null."""
    values = np.asarray(values)
    return pa.array(values == 1, type=pa.bool_(), mask=values < 0)


def dates(days_since_epoch: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days_since_epoch, dtype=np.int32), type=pa.date32())


def table(columns: dict[str, pa.Array]) -> pa.Table:
    return pa.table(columns)
