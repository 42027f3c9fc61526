"""Pooling, Flatten and per-channel batch norm on H, W, C image rows: values against direct
definitions, finite-difference gradients, tie routing, dtypes, shapes and errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from engine.diagnostics.gradcheck import check_layer
from engine.layers.base import Layer
from engine.layers.channel_norm import BatchNorm2D
from engine.layers.pooling import AvgPool2D, MaxPool2D
from engine.layers.spatial import Flatten, SpatialLayer, pool_output_shape

TOLERANCE = 1e-6
F64 = np.float64

# (input (H, W, C), kernel, stride, batch): exact tiling, leftover rows/columns, overlapping
# windows, gaps between windows, rectangular kernels, batch 1.
POOLS = {
    "2x2-tiling": ((4, 6, 3), 2, None, 2),
    "2x2-leftover-batch1": ((5, 7, 2), 2, None, 1),
    "3x3-stride2-overlap": ((7, 6, 2), 3, 2, 2),
    "rect-stride-1x2": ((5, 6, 1), (2, 3), (1, 2), 2),
    "3x3-tiling": ((6, 6, 2), 3, None, 1),
    "2x2-stride3-gaps": ((7, 8, 1), 2, 3, 2),
}


def distinct(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    """Values 0.01 apart in random order: no ties, and h = 1e-5 cannot change which is largest."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n) * 0.01 - n * 0.005).reshape(shape)


def rows(config: tuple) -> np.ndarray:
    shape, batch = config[0], config[3]
    return distinct((batch, int(np.prod(shape))))


def windows(x: np.ndarray, kernel: int | tuple, stride: int | tuple | None) -> np.ndarray:
    """Every window of x (B, H, W, C) as (B, OH, OW, KH, KW, C), by direct indexing."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    stride = (kh, kw) if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    oh, ow = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    out = np.empty((x.shape[0], oh, ow, kh, kw, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            out[:, i, j] = x[:, i * sh : i * sh + kh, j * sw : j * sw + kw]
    return out


@pytest.mark.parametrize("config", POOLS.values(), ids=POOLS.keys())
@pytest.mark.parametrize(("cls", "reduce"), [(MaxPool2D, np.max), (AvgPool2D, np.mean)])
def test_pool_forward_matches_direct_definition(config: tuple, cls: type, reduce: Callable) -> None:
    shape, kernel, stride, _ = config
    pool = cls(kernel, input_shape=shape, stride=stride)
    x = rows(config)
    y = pool.forward(x, training=False)
    want = reduce(windows(x.reshape(-1, *shape), kernel, stride), axis=(3, 4))
    assert want.shape[1:] == pool.output_shape(shape)
    np.testing.assert_allclose(y, want.reshape(len(x), -1), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("config", POOLS.values(), ids=POOLS.keys())
@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_pool_gradients_match_finite_differences(config: tuple, cls: type) -> None:
    shape, kernel, stride, _ = config
    errors = check_layer(cls(kernel, input_shape=shape, stride=stride), rows(config))
    assert errors["input"] < TOLERANCE, errors


def test_max_pool_gives_a_tied_maximum_gradient_once_to_the_first() -> None:
    # One 2×2 window per channel; channel 0 ties everywhere, channel 1 ties at (0,1) and (1,0).
    # The gradient goes to the first maximum in row-major order, as in PyTorch.
    x = np.zeros((1, 2, 2, 2))
    x[0, :, :, 1] = [[1.0, 3.0], [3.0, 2.0]]
    pool = MaxPool2D(2, input_shape=(2, 2, 2))
    pool.forward(x.reshape(1, -1), training=True)
    dx = pool.backward(np.array([[5.0, 7.0]])).reshape(2, 2, 2)
    np.testing.assert_array_equal(dx[:, :, 0], [[5, 0], [0, 0]])
    np.testing.assert_array_equal(dx[:, :, 1], [[0, 7], [0, 0]])


def test_overlapping_max_pool_ties_route_once_per_window() -> None:
    x = np.full((1, 3, 4, 1), 2.0)  # every 2×3 window (stride 1) ties everywhere
    pool = MaxPool2D((2, 3), input_shape=(3, 4, 1), stride=1)
    pool.forward(x.reshape(1, -1), training=True)
    dx = pool.backward(np.array([[1.0, 2.0, 3.0, 4.0]]))  # the 2×2 windows' gradients
    # Each window's first number: windows (0,0)=1, (0,1)=2, (1,0)=3, (1,1)=4.
    np.testing.assert_array_equal(dx.reshape(3, 4), [[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 0, 0]])


def test_overlapping_max_pool_adds_gradients_of_windows_sharing_a_maximum() -> None:
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 9.0  # the maximum of all four 2×2 windows (stride 1)
    pool = MaxPool2D(2, input_shape=(3, 3, 1), stride=1)
    pool.forward(x.reshape(1, -1), training=True)
    dx = pool.backward(np.array([[1.0, 2.0, 3.0, 4.0]]))
    np.testing.assert_array_equal(dx.reshape(3, 3), [[0, 0, 0], [0, 10, 0], [0, 0, 0]])


# ---------------------------------------------------------------------- flatten
def test_flatten_emits_channel_height_width_order_and_round_trips() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # (B, H, W, C)
    flatten = Flatten(input_shape=(3, 4, 5))
    y = flatten.forward(x.reshape(2, -1), training=False)
    np.testing.assert_array_equal(y, x.transpose(0, 3, 1, 2).reshape(2, -1))
    assert y.dtype == np.float32
    assert flatten.output_shape((3, 4, 5)) == (60,)
    assert flatten.output_features(60) == 60
    np.testing.assert_array_equal(flatten.backward(y.copy()), x.reshape(2, -1))
    assert flatten.backward(y, input_grad=False) is None


def test_flatten_of_one_channel_is_the_identity() -> None:
    flatten = Flatten(input_shape=(4, 4, 1))
    x = np.ones((3, 16))
    assert flatten.forward(x, training=True) is x
    assert flatten.backward(x) is x


# ---------------------------------------------------------------------- channel batch norm
def test_batchnorm2d_normalises_each_channel_over_batch_and_positions() -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((16, 5, 4, 3)) * [1, 2, 3] + [5, -5, 0]).astype(np.float32)
    bn = BatchNorm2D(input_shape=(5, 4, 3), momentum=0.5, name="bn1")
    assert [p.name for p in bn.parameters()] == ["bn1.gamma", "bn1.beta"]
    assert bn.gamma.value.shape == (3,)
    y = bn.forward(x.reshape(16, -1), training=True).reshape(16, 5, 4, 3)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, rtol=1e-3)
    n = 16 * 5 * 4
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(axis=(0, 1, 2)), rtol=1e-4)
    np.testing.assert_allclose(
        bn.buffers()["running_var"], 0.5 + 0.5 * x.var(axis=(0, 1, 2)) * n / (n - 1), rtol=1e-4
    )
    bn.gamma.value[...] = [1, 2, 3]
    bn.beta.value[...] = [0, 1, 0]
    z = bn.forward(x[:1].reshape(1, -1), training=False).reshape(5, 4, 3)
    mean, var = bn.buffers()["running_mean"], bn.buffers()["running_var"]
    want = (x[0] - mean) / np.sqrt(var + 1e-5) * [1, 2, 3] + [0, 1, 0]
    np.testing.assert_allclose(z, want, rtol=1e-5, atol=1e-5)


def test_batchnorm2d_batch_of_one_uses_its_positions() -> None:
    bn = BatchNorm2D(input_shape=(3, 3, 2), dtype=F64)
    x = np.random.default_rng(0).standard_normal((1, 18))
    y = bn.forward(x, training=True).reshape(9, 2)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1, rtol=1e-4)


# ---------------------------------------------------------------------- all spatial layers
SPATIAL: dict[str, tuple[Callable[[type], SpatialLayer], tuple[int, ...]]] = {
    "maxpool": (lambda dtype: MaxPool2D(2, input_shape=(4, 6, 3)), (4, 6, 3)),
    "avgpool": (lambda dtype: AvgPool2D((2, 3), input_shape=(4, 6, 3), stride=1), (4, 6, 3)),
    "flatten": (lambda dtype: Flatten(input_shape=(4, 6, 3)), (4, 6, 3)),
    "flatten-1ch": (lambda dtype: Flatten(input_shape=(4, 6, 1)), (4, 6, 1)),
    "batchnorm2d": (lambda dtype: BatchNorm2D(input_shape=(4, 6, 3), dtype=dtype), (4, 6, 3)),
    "batchnorm2d-1x1": (lambda dtype: BatchNorm2D(input_shape=(1, 1, 3), dtype=dtype), (1, 1, 3)),
}


def randomise(layer: Layer) -> None:
    rng = np.random.default_rng(3)
    for p in layer.parameters():
        p.value[...] = rng.standard_normal(p.value.shape)


@pytest.mark.parametrize(("make", "shape"), SPATIAL.values(), ids=SPATIAL.keys())
@pytest.mark.parametrize("batch", [1, 3])
def test_gradients_match_finite_differences(make: Callable, shape: tuple, batch: int) -> None:
    layer = make(F64)
    randomise(layer)
    errors = check_layer(layer, distinct((batch, int(np.prod(shape)))))
    assert set(errors) == {"input", *(p.name for p in layer.parameters())}
    bad = {k: e for k, e in errors.items() if not e < TOLERANCE}
    assert not bad, f"relative errors above {TOLERANCE}: {bad}"


@pytest.mark.parametrize(("make", "shape"), SPATIAL.values(), ids=SPATIAL.keys())
def test_float32_stays_float32(make: Callable, shape: tuple) -> None:
    layer = make(np.float32)
    x = distinct((2, int(np.prod(shape)))).astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())
    assert layer.output is y
    assert layer.output_features(x.shape[1]) == y.shape[1]


@pytest.mark.parametrize(("make", "shape"), SPATIAL.values(), ids=SPATIAL.keys())
def test_rows_of_the_wrong_width_are_refused(make: Callable, shape: tuple) -> None:
    layer = make(np.float32)
    with pytest.raises(ValueError, match="expects rows of"):
        layer.forward(np.zeros((2, 7), np.float32), training=False)
    with pytest.raises(ValueError, match="built for"):
        layer.output_shape((9, 9, 9))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (((2, 2, 1), 3), "kernel height 3 is larger than the input height 2"),
        (((8, 2, 1), 3), "kernel width 3 is larger than the input width 2"),
        (((8, 8, 1), 2, 0), "stride must be >= 1, got 0"),
        (((8, 8, 1), 0), "kernel height must be >= 1"),
        (((8, 8, 0), 2), r"\(height, width, channels\)"),
    ],
)
def test_impossible_pools_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pool_output_shape(*args)
    with pytest.raises(ValueError, match=message):
        MaxPool2D(args[1], input_shape=args[0], stride=args[2] if len(args) > 2 else None)


def test_pool_output_shapes() -> None:
    assert pool_output_shape((28, 28, 8), 2) == (14, 14, 8)
    assert pool_output_shape((7, 7, 16), 2) == (3, 3, 16)
    assert pool_output_shape((28, 28, 8), 3, 2) == (13, 13, 8)
    avg = AvgPool2D((2, 4), input_shape=(6, 9, 2))
    assert avg.output_shape((6, 9, 2)) == (3, 2, 2)
    assert (avg.kind, avg.name, avg.stride) == ("avgpool", "avgpool", (2, 4))
    pool = MaxPool2D(input_shape=(6, 9, 2), stride=1, name="pool1")
    assert (pool.kind, pool.name, pool.kernel_size) == ("maxpool", "pool1", (2, 2))
