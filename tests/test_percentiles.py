"""engine.percentiles must equal np.percentile bit for bit, whatever the values look like."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.percentiles import percentiles
from engine.snapshot import PERCENTILES

N = 12_000  # above the size where radix selection takes over from partitioning


def reference(arrays: list[np.ndarray]) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.percentile(np.concatenate([a.reshape(-1) for a in arrays]), PERCENTILES)


def check(*arrays: np.ndarray) -> None:
    with np.errstate(invalid="ignore"):
        got = percentiles(list(arrays), PERCENTILES)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, reference(list(arrays)))


@pytest.mark.parametrize("scale", [1e-30, 1e-3, 1.0, 1e30])
def test_normal_weights_and_bias(scale: float) -> None:
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((100, 128)) * scale).astype(np.float32)
    check(w, rng.standard_normal(128).astype(np.float32))


def test_sparse_gradient_with_signed_zeros() -> None:
    # A ReLU layer's gradient: most entries +0.0 or -0.0 (crowded buckets of ties).
    rng = np.random.default_rng(1)
    w = rng.standard_normal((120, 100)).astype(np.float32)
    g = w * (rng.random(w.shape) < 0.2).astype(np.float32)
    check(g, np.zeros(100, np.float32))


def test_crowded_bucket_of_distinct_values() -> None:
    # 20,000 distinct floats in [1, 1.0078): one top-16-bit bucket, resolved by its low bits.
    values = np.linspace(1.0, 1.0077, 20_000, dtype=np.float32)
    np.random.default_rng(2).shuffle(values)
    check(values, -values[:50])


def test_all_equal_and_denormals() -> None:
    check(np.zeros(N, np.float32))
    check(np.full(N, -0.0, np.float32))
    tiny = np.full(N, 1e-40, np.float32)
    tiny[::3] = -1e-42
    check(tiny)


@pytest.mark.parametrize("size", [50, N])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_behave_as_numpy(bad: float, size: int) -> None:
    values = np.random.default_rng(3).standard_normal(size).astype(np.float32)
    values[17] = bad
    check(values)
    values[:3] = [-np.inf, np.inf, bad]
    check(values)


def test_other_dtypes_and_sizes() -> None:
    rng = np.random.default_rng(4)
    check(rng.standard_normal(N))  # float64
    check(rng.standard_normal(10).astype(np.float32))  # small
    check(np.array([3.0], np.float32))
    check(np.arange(N, dtype=np.int32))
    original = rng.standard_normal(100).astype(np.float32)
    values = original.copy()
    percentiles([values], PERCENTILES)
    np.testing.assert_array_equal(values, original)  # never reordered in place
    with pytest.raises(IndexError):
        percentiles([np.zeros(0, np.float32)], PERCENTILES)  # as np.percentile does


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 3 * N),
    zeros=st.floats(0.0, 1.0),
    exponent=st.integers(-40, 38),
    rounded=st.booleans(),
)
def test_random_arrays(seed: int, size: int, zeros: float, exponent: int, rounded: bool) -> None:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(size) * 10.0**exponent
    if rounded:
        values = np.round(values)
    values[rng.random(size) < zeros] = 0.0
    values = values.astype(np.float32)
    cut = int(rng.integers(0, size))
    check(values[:cut].reshape(-1, 1), values[cut:])
