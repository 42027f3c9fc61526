"""engine.diagnostics.percentiles equals np.percentile bit for bit, whatever the values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.diagnostics.percentiles as module
from engine.diagnostics.percentiles import percentiles, percentiles_of_groups
from engine.files.spec import NetworkSpec, dense
from engine.snapshot import PERCENTILES
from engine.training.trainer import Trainer

N = 12_000  # well above the size where radix selection takes over from partitioning


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


@pytest.mark.parametrize("size", [20_000, 140_000])
def test_crowded_bucket_of_distinct_values(size: int) -> None:
    # Floats in [1, 1.0078): one bucket even at 16 key bits (the most a large group gets),
    # settled by sorting it (small group) or by a histogram of the low 16 bits (large group).
    values = np.linspace(1.0, 1.0077, size, dtype=np.float32)
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


def _network_like_groups(rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Weights and gradients of a small net, plus every awkward case, as percentile groups."""
    w1 = rng.standard_normal((300, 40)).astype(np.float32)
    g1 = w1 * (rng.random(w1.shape) < 0.2).astype(np.float32)  # mostly ±0.0
    w2 = (rng.standard_normal((40, 64)) * 1e-20).astype(np.float32)
    w3 = rng.standard_normal((64, 10)).astype(np.float32)  # small: partitioned
    with_nan = rng.standard_normal(5000).astype(np.float32)
    with_nan[3] = np.nan
    with_inf = rng.standard_normal(5000).astype(np.float32)
    with_inf[4] = -np.inf
    distinct = np.linspace(1.0, 1.0077, 20_000, dtype=np.float32)  # one crowded bucket
    zeros = np.zeros(40, np.float32)
    return [
        [w1, zeros],
        [g1, zeros],
        [w2, np.ones(64, np.float32)],
        [w3, zeros[:10]],
        [with_nan],
        [distinct[::-1]],
        [with_inf],
        [rng.standard_normal(3000)],  # float64
        [np.full(2000, -0.0, np.float32)],
        [np.array([7.0], np.float32)],
    ]


def test_groups_each_equal_numpy() -> None:
    groups = _network_like_groups(np.random.default_rng(5))
    with np.errstate(invalid="ignore"):  # Inf - Inf, as np.percentile meets it too
        got = percentiles_of_groups(groups, PERCENTILES)
    assert got.shape == (len(groups), len(PERCENTILES))
    for row, arrays in zip(got, groups, strict=True):
        np.testing.assert_array_equal(row, reference(arrays))


@pytest.mark.parametrize(("batch", "bins"), [(6_000, 1 << 21), (1 << 21, 100)])
def test_groups_split_into_batches(monkeypatch, batch: int, bins: int) -> None:
    # Tiny limits force several radix batches, and the one-group-at-a-time route.
    monkeypatch.setattr(module, "_BATCH", batch)
    monkeypatch.setattr(module, "_BINS", bins)
    groups = [g for g in _network_like_groups(np.random.default_rng(6)) if g[0].size <= batch]
    with np.errstate(invalid="ignore"):
        got = percentiles_of_groups(groups, PERCENTILES)
    for row, arrays in zip(got, groups, strict=True):
        np.testing.assert_array_equal(row, reference(arrays))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 6000), min_size=1, max_size=6),
    exponent=st.integers(-30, 30),
)
def test_random_groups(seed: int, sizes: list[int], exponent: int) -> None:
    rng = np.random.default_rng(seed)
    groups = []
    for size in sizes:
        values = (rng.standard_normal(size) * 10.0**exponent).astype(np.float32)
        values[rng.random(size) < rng.random()] = 0.0
        groups.append([values[: size // 2], values[size // 2 :]])
    got = percentiles_of_groups(groups, PERCENTILES)
    for row, arrays in zip(got, groups, strict=True):
        np.testing.assert_array_equal(row, reference(arrays))


def test_trainer_snapshot_percentiles_are_numpys(splits) -> None:
    spec = NetworkSpec(layers=(dense(64), dense(32, "sigmoid"))).with_hyperparams(batch_size=8)
    trainer = Trainer(spec, splits)
    for _ in range(5):
        trainer.step()
    diag = trainer.snapshot().diagnostics
    for i, block in enumerate(diag.layer_names):
        params = [p for p in trainer.network.parameters() if p.name.startswith(f"{block}.")]
        weights, grads = reference([p.value for p in params]), reference([p.grad for p in params])
        np.testing.assert_array_equal(diag.weight_percentiles[i], weights)
        np.testing.assert_array_equal(diag.grad_percentiles[i], grads)
