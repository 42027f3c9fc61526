"""Exact percentiles of float32 arrays by radix selection: what np.percentile gives, 8x faster.

The weight/gradient distribution views need nine percentiles of every layer in each snapshot (30 a
second). ``np.percentile`` partitions a copy, about 3.7 ms for a 784×128 layer on the development
machines (NumPy's selection and sort are not vectorised there), which alone took ~20% of training
time. Here the floats become order-preserving uint32 keys, a histogram of their top 16 bits says
which bucket holds each wanted order statistic, and only those buckets' elements are sorted (or, for
a bucket crowded with ties such as exact zeros, histogrammed again on the low 16 bits). Every pass
writes into per-thread buffers reused between calls, because a fresh multi-megabyte temporary is
returned to the OS and faulted in again on each call.

The result equals ``np.percentile(values, q)`` (linear interpolation) bit for bit; arrays that are
not float32, small or huge, or hold NaN or Inf are simply handed to ``np.percentile``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

_SIGN = np.uint32(0x80000000)
_LOW_BITS = np.uint32(0xFFFF)
# Buckets (top 16 bits of a key) at or beyond these hold -Inf/-NaN and +Inf/+NaN.
_FIRST_FINITE, _LAST_FINITE = 0x0080, 0xFF7F
_CROWDED = 4096  # a bucket with more elements than this is resolved by a second histogram
# Below ~10k elements np.percentile is faster (fewer calls); beyond 4M the buffers (13 bytes per
# element) are not worth keeping.
_MIN_SIZE, _MAX_SIZE = 10_000, 1 << 22
_local = threading.local()


def _buffers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-thread (keys uint32, buckets intp, mask bool) views of length ``n``."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None or bufs[0].size < n:
        bufs = _local.bufs = (np.empty(n, np.uint32), np.empty(n, np.intp), np.empty(n, bool))
    return bufs[0][:n], bufs[1][:n], bufs[2][:n]


def _to_keys(arrays: Sequence[np.ndarray], keys: np.ndarray) -> None:
    """Order-preserving uint32 keys: negatives get every bit flipped, positives the sign bit set."""
    start = 0
    for array in arrays:
        bits = array.reshape(-1).view(np.uint32)
        out = keys[start : start + bits.size]
        np.right_shift(bits, 31, out=out)
        np.negative(out, out=out)  # 0xFFFFFFFF for negatives, 0 for positives
        np.bitwise_or(out, _SIGN, out=out)
        np.bitwise_xor(out, bits, out=out)
        start += bits.size


def _from_keys(keys: np.ndarray) -> np.ndarray:
    negative = keys < _SIGN
    bits = np.where(negative, ~keys, keys ^ _SIGN).astype(np.uint32)
    return bits.view(np.float32)


def percentiles(arrays: Sequence[np.ndarray], q: Sequence[float]) -> np.ndarray:
    """``np.percentile`` of all elements of ``arrays`` taken together, as float64 ``(len(q),)``."""
    n = sum(int(a.size) for a in arrays)
    if not _MIN_SIZE <= n <= _MAX_SIZE or any(a.dtype != np.float32 for a in arrays):
        return _numpy_percentiles(arrays, q)
    keys, buckets, mask = _buffers(n)
    _to_keys(arrays, keys)
    np.right_shift(keys, 16, out=buckets, casting="unsafe")
    low = int(np.minimum.reduce(buckets))
    high = int(np.maximum.reduce(buckets))
    if low < _FIRST_FINITE or high > _LAST_FINITE:
        return _numpy_percentiles(arrays, q)
    buckets -= low
    counts = np.bincount(buckets)
    ends = np.cumsum(counts)  # ends[b]: elements in buckets 0..b

    lower, upper, gamma = _positions(n, q)
    ranks = np.concatenate([lower, upper])
    where = np.searchsorted(ends, ranks, side="right")  # the bucket of each rank
    offset = ranks - (ends[where] - counts[where])  # the rank within its bucket
    found = np.empty(len(ranks), np.uint32)

    crowded = counts[where] > _CROWDED
    for bucket in np.unique(where[crowded]):
        mine = where == bucket
        found[mine] = _crowded_bucket(
            keys, buckets, int(bucket), low, int(counts[bucket]), offset[mine]
        )

    sparse = ~crowded
    if sparse.any():
        wanted = np.unique(where[sparse])
        flags = np.zeros(len(counts), bool)
        flags[wanted] = True
        np.take(flags, buckets, out=mask)
        chosen = keys[mask]
        chosen.sort()
        # Elements of ``chosen`` in the wanted buckets before each one.
        kept_before = np.cumsum(counts[wanted]) - counts[wanted]
        slot = np.searchsorted(wanted, where[sparse])
        found[sparse] = chosen[offset[sparse] + kept_before[slot]]

    values = _from_keys(found)
    return _lerp(values[: len(lower)], values[len(lower) :], gamma)


def _crowded_bucket(
    keys: np.ndarray, buckets: np.ndarray, bucket: int, low: int, count: int, offsets: np.ndarray
) -> np.ndarray:
    """The keys at ``offsets`` (ranks within the bucket) of a bucket holding ``count`` elements.

    Crowding almost always means ties: exact zeros of a gradient (+0.0 has the bucket's lowest
    key, -0.0 its highest). Those are confirmed with one comparison pass; otherwise the bucket's
    low 16 bits are histogrammed (branch-free passes: gathering a scattered subset is slow).
    """
    top = np.uint32(bucket + low) << np.uint32(16)
    for candidate in (top, top | _LOW_BITS):
        if np.count_nonzero(keys == candidate) == count:
            return np.full(len(offsets), candidate, np.uint32)
    low_bits = np.where(buckets == bucket, keys & _LOW_BITS, _LOW_BITS + 1).astype(np.intp)
    ends = np.cumsum(np.bincount(low_bits, minlength=1 << 16))
    return top | np.searchsorted(ends, offsets, side="right").astype(np.uint32)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """NumPy's own interpolation (numpy.lib._function_base_impl._lerp), for identical results."""
    diff_b_a = np.subtract(b, a)
    result = np.add(a, diff_b_a * t)
    np.subtract(b, diff_b_a * (1 - t), out=result, where=t >= 0.5, casting="unsafe")
    return result.astype(np.float64, copy=False)


def _positions(n: int, q: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The order statistics linear interpolation reads, and its weights, as np.percentile has."""
    virtual = (n - 1) * np.true_divide(np.asarray(q, dtype=np.float64), 100)
    below = np.floor(virtual)
    lower = below.astype(np.intp)
    return lower, np.minimum(lower + 1, n - 1), virtual - below


def _numpy_percentiles(arrays: Sequence[np.ndarray], q: Sequence[float]) -> np.ndarray:
    """np.percentile's own method (partition, then interpolate) without its ~40 µs of Python
    around it, which dominated for the many small layers of a deep narrow net."""
    values = np.concatenate([a.reshape(-1) for a in arrays])
    if values.size == 0 or values.dtype.kind != "f":
        return np.percentile(values, q).astype(np.float64)
    last = values.size - 1
    lower, upper, gamma = _positions(values.size, q)
    values.partition(np.unique(np.concatenate([lower, upper, [last]])))
    if np.isnan(values[last]):  # NaN sorts last; np.percentile then answers NaN throughout
        return np.full(len(gamma), np.nan)
    return _lerp(values[lower], values[upper], gamma)
