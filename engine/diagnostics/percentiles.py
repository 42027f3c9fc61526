"""Exact percentiles of many float32 arrays at once by radix selection: np.percentile's numbers.

The weight/gradient distribution views need nine percentiles of the weights and of the gradients
of every layer in each snapshot (30 a second). ``np.percentile`` partitions a copy: about 3.7 ms
for a 784×128 layer on the development machines (NumPy's selection is not vectorised there; ~25 ns
per element on fresh data), which alone took ~20% of training time, and ~100 µs for each small
layer of a deep net. Here every group's floats are copied into one buffer and turned into
order-preserving uint32 keys; one histogram of their top 16 bits (each group's range of buckets
laid after the previous group's) says which bucket holds each wanted order statistic, and only the
elements of those buckets are sorted (a bucket crowded with ties, such as a gradient's exact
zeros, is settled by counting instead). So a whole network costs about what one large layer
costs, in ~40 NumPy calls. Every pass writes into per-thread buffers reused between calls: a fresh
multi-megabyte temporary is returned to the OS and faulted in again on each call.

Results equal ``np.percentile(values, q)`` (linear interpolation) bit for bit. Groups that are
small, huge, not float32, or hold NaN or Inf take np.percentile's own route (partition, then
interpolate).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

_SIGN = np.uint32(0x80000000)
_LOW_BITS = np.uint32(0xFFFF)
# Buckets (top 16 bits of a key) below/above these hold -Inf/-NaN and +Inf/+NaN.
_FIRST_FINITE, _LAST_FINITE = 0x0080, 0xFF7F
_CROWDED = 4096  # a wanted bucket with more elements than this is settled without sorting it
# Groups below _SMALL elements are partitioned (cheaper than their share of a radix pass). Radix
# batches hold at most _BATCH elements (the buffers keep 17 bytes per element) and _BINS buckets.
_SMALL, _BATCH, _BINS = 1_000, 1 << 21, 1 << 21
_local = threading.local()
_POSITIONS: dict[tuple[int, tuple[float, ...]], tuple[np.ndarray, ...]] = {}


def percentiles(arrays: Sequence[np.ndarray], q: Sequence[float]) -> np.ndarray:
    """``np.percentile`` of all elements of ``arrays`` taken together, as float64 ``(len(q),)``."""
    return percentiles_of_groups([arrays], q)[0]


def percentiles_of_groups(groups: Sequence[Sequence[np.ndarray]], q: Sequence[float]) -> np.ndarray:
    """``(len(groups), len(q))`` float64: row i holds the percentiles of group i's elements.

    An empty group raises IndexError, as np.percentile does.
    """
    q = tuple(float(v) for v in q)
    out = np.empty((len(groups), len(q)))
    batch: list[int] = []
    total = 0
    for i, arrays in enumerate(groups):
        n = sum(int(a.size) for a in arrays)
        if not _SMALL <= n <= _BATCH or any(a.dtype != np.float32 for a in arrays):
            out[i] = _partitioned(arrays, q)
            continue
        if total + n > _BATCH:
            _radix_into(out, groups, batch, q)
            batch, total = [], 0
        batch.append(i)
        total += n
    if batch:
        _radix_into(out, groups, batch, q)
    return out


def _key_bits(n: int) -> int:
    """How many top bits of the key make a group's bucket: about n/4 buckets over the whole key
    range, at most 16 bits. The occupied part of that range always spans every tiny magnitude
    between the group's negative and positive values, so more buckets would mostly be empty ones
    for the histogram to count and sum (measured best on real networks)."""
    return min(16, max(9, n.bit_length() - 2))


def _radix_into(
    out: np.ndarray, groups: Sequence[Sequence[np.ndarray]], which: list[int], q: tuple
) -> None:
    """Fill ``out[which]`` by radix selection (float32 groups of _SMALL.._BATCH elements)."""
    sizes = [sum(int(a.size) for a in groups[i]) for i in which]
    starts = np.cumsum(sizes) - sizes
    values, keys, buckets, mask = _buffers(sum(sizes))
    np.concatenate([a.reshape(-1) for i in which for a in groups[i]], out=values)
    _to_keys(values, keys)
    least = np.minimum.reduceat(keys, starts).astype(np.intp)
    most = np.maximum.reduceat(keys, starts).astype(np.intp)
    # Keys below key(-FLT_MAX) = 0x00800000 are -Inf/-NaN, above key(FLT_MAX) +Inf/+NaN.
    bad = (least < 0x00800000) | (most > 0xFF7FFFFF)
    cuts = np.array([32 - _key_bits(n) for n in sizes])  # low key bits below the bucket
    low, high = least >> cuts, most >> cuts
    ranges = high - low + 1
    if bad.any() or (len(which) > 1 and int(ranges.sum()) > _BINS):
        for i, odd in zip(which, bad, strict=True):  # rare: one at a time
            out[i] = _partitioned(groups[i], q) if odd else percentiles_of_groups([groups[i]], q)
        return
    # Lay each group's buckets after the previous group's: one histogram serves them all.
    shift = np.cumsum(ranges) - ranges - low
    parts = [slice(s, s + n) for s, n in zip(starts.tolist(), sizes, strict=True)]
    for part, cut, d in zip(parts, cuts.tolist(), shift.tolist(), strict=True):
        np.right_shift(keys[part], cut, out=buckets[part], casting="unsafe")
        buckets[part] += d
    counts = np.bincount(buckets)
    ends = np.cumsum(counts)  # ends[b]: elements in buckets 0..b

    where_q = [_positions(n, q) for n in sizes]
    lower = np.concatenate([s + p[0] for s, p in zip(starts, where_q, strict=True)])
    upper = np.concatenate([s + p[1] for s, p in zip(starts, where_q, strict=True)])
    gamma = np.concatenate([p[2] for p in where_q])
    ranks = np.concatenate([lower, upper])
    group = np.tile(np.repeat(np.arange(len(which)), len(q)), 2)  # the group of each rank
    where = np.searchsorted(ends, ranks, side="right")  # the bucket of each rank
    offset = ranks - (ends[where] - counts[where])  # the rank within its bucket
    found = np.empty(len(ranks), np.uint32)

    crowded = counts[where] > _CROWDED
    for bucket in np.unique(where[crowded]).tolist():
        mine = where == bucket
        g = int(group[mine][0])
        found[mine] = _crowded_bucket(
            keys[parts[g]],
            buckets[parts[g]],
            bucket,
            int(bucket - shift[g]),
            int(cuts[g]),
            int(counts[bucket]),
            offset[mine],
        )
    sparse = ~crowded
    if sparse.any():
        wanted = np.unique(where[sparse])
        flags = np.zeros(len(counts), bool)
        flags[wanted] = True
        np.take(flags, buckets, out=mask)
        # The wanted buckets' elements in order: by bucket, then by key. (Indices once, then two
        # gathers: two boolean indexings cost 5x as much.)
        at = np.flatnonzero(mask)
        chosen = buckets.take(at).astype(np.uint64) << np.uint64(32)
        chosen |= keys.take(at)
        chosen.sort()
        kept = counts[wanted]
        kept_before = np.cumsum(kept) - kept  # chosen elements in earlier wanted buckets
        slot = np.searchsorted(wanted, where[sparse])
        found[sparse] = chosen[offset[sparse] + kept_before[slot]].astype(np.uint32)

    floats = _from_keys(found)
    half = len(lower)
    rows = _lerp(floats[:half], floats[half:], gamma)
    out[which] = rows.reshape(len(which), len(q))


def _crowded_bucket(
    keys: np.ndarray,
    buckets: np.ndarray,
    bucket: int,
    top_bits: int,
    cut: int,
    count: int,
    offsets: np.ndarray,
) -> np.ndarray:
    """The keys at ``offsets`` (ranks within the bucket) of a bucket holding ``count`` elements.

    ``top_bits`` is the bucket's key >> ``cut``. Crowding almost always means ties: exact zeros
    of a gradient (+0.0 has the bucket's lowest key, -0.0 its highest). Those are confirmed with
    one comparison pass; otherwise the bucket's elements are selected with branch-free passes
    (gathering a scattered subset is slow): a histogram of their low 16 bits, or a sort.
    """
    first = np.uint32(top_bits << cut)
    for candidate in (first, first | np.uint32((1 << cut) - 1)):
        if np.count_nonzero(keys == candidate) == count:
            return np.full(len(offsets), candidate, np.uint32)
    if cut > 16:  # small groups only (see _key_bits): sorting the bucket is affordable
        return np.sort(keys[buckets == bucket])[offsets]
    low_bits = np.where(buckets == bucket, keys & _LOW_BITS, _LOW_BITS + 1).astype(np.intp)
    ends = np.cumsum(np.bincount(low_bits, minlength=1 << 16))
    return first | np.searchsorted(ends, offsets, side="right").astype(np.uint32)


def _buffers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-thread (values float32, keys uint32, buckets intp, mask bool) views of length ``n``."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None or bufs[0].size < n:
        bufs = _local.bufs = (
            np.empty(n, np.float32),
            np.empty(n, np.uint32),
            np.empty(n, np.intp),
            np.empty(n, bool),
        )
    return bufs[0][:n], bufs[1][:n], bufs[2][:n], bufs[3][:n]


def _to_keys(values: np.ndarray, keys: np.ndarray) -> None:
    """Order-preserving uint32 keys: negatives get every bit flipped, positives the sign bit set."""
    bits = values.view(np.uint32)
    np.right_shift(bits.view(np.int32), 31, out=keys.view(np.int32))  # -1 if negative, else 0
    np.bitwise_or(keys, _SIGN, out=keys)
    np.bitwise_xor(keys, bits, out=keys)


def _from_keys(keys: np.ndarray) -> np.ndarray:
    negative = keys < _SIGN
    bits = np.where(negative, ~keys, keys ^ _SIGN).astype(np.uint32)
    return bits.view(np.float32)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """NumPy's own interpolation (numpy.lib._function_base_impl._lerp), for identical results."""
    diff_b_a = np.subtract(b, a)
    result = np.add(a, diff_b_a * t)
    np.subtract(b, diff_b_a * (1 - t), out=result, where=t >= 0.5, casting="unsafe")
    return result.astype(np.float64, copy=False)


def _positions(n: int, q: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, gamma, kth): the order statistics linear interpolation reads, its weights,
    as np.percentile computes them, and what to partition for (those and the last element).

    Cached by size: the layers are the same from one snapshot to the next.
    """
    key = (n, tuple(q))
    found = _POSITIONS.get(key)
    if found is None:
        virtual = (n - 1) * np.true_divide(np.asarray(q, dtype=np.float64), 100)
        below = np.floor(virtual)
        lower = below.astype(np.intp)
        upper = np.minimum(lower + 1, n - 1)
        kth = np.unique(np.concatenate([lower, upper, [n - 1]]))
        if len(_POSITIONS) >= 256:
            _POSITIONS.clear()
        found = _POSITIONS[key] = (lower, upper, virtual - below, kth)
    return found


def _partitioned(arrays: Sequence[np.ndarray], q: Sequence[float]) -> np.ndarray:
    """np.percentile's own method (partition, then interpolate) without its ~40 µs of Python."""
    values = np.concatenate([a.reshape(-1) for a in arrays])
    if values.size == 0 or values.dtype.kind != "f":
        return np.percentile(values, q).astype(np.float64)
    last = values.size - 1
    lower, upper, gamma, kth = _positions(values.size, q)
    values.partition(kth)
    if np.isnan(values[last]):  # NaN sorts last; np.percentile then answers NaN throughout
        return np.full(len(gamma), np.nan)
    return _lerp(values[lower], values[upper], gamma)
