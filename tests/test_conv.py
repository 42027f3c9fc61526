"""Conv2D: values against a direct loop, finite-difference gradients, dtypes, shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest

import engine.layers.conv
from engine.diagnostics.gradcheck import check_layer
from engine.layers.conv import Conv2D
from engine.layers.spatial import conv_output_shape

TOLERANCE = 1e-6
F64 = np.float64

# (input (H, W, C), out channels, kernel, stride, padding, batch): odd, even, rectangular and 1×1
# kernels; strides 1-3; padding 0, 1, 2; non-square inputs; batch 1; both column layouts.
CONFIGS = {
    "3x3-pad1": ((5, 6, 2), 3, 3, 1, 1, 2),
    "2x2-even": ((6, 5, 3), 2, 2, 1, 0, 2),
    "3x3-stride2-batch1-c1": ((7, 7, 1), 2, 3, 2, 0, 1),
    "rect-kernel-pad2": ((6, 8, 2), 2, (3, 2), (2, 1), (2, 1), 2),
    "5x5-pad2-batch1": ((5, 5, 2), 2, 5, 1, 2, 1),
    "1x1": ((4, 4, 3), 4, 1, 1, 0, 3),
    "4x4-stride3-pad1": ((9, 7, 1), 3, 4, 3, 1, 2),
    "row-columns-c6": ((4, 5, 6), 2, 3, 1, 1, 2),
    "stride2-pad1-row-columns": ((6, 7, 6), 2, 3, 2, 1, 1),
}


def make_conv(config: tuple, *, dtype: type = F64, seed: int = 0) -> Conv2D:
    shape, oc, kernel, stride, padding, _ = config
    rng = np.random.default_rng(seed)
    conv = Conv2D(
        oc, kernel, input_shape=shape, stride=stride, padding=padding, rng=rng, dtype=dtype
    )
    conv.b.value[...] = rng.standard_normal(oc)  # a zero bias would hide mistakes
    return conv


def inputs(config: tuple, seed: int = 1) -> np.ndarray:
    shape, batch = config[0], config[5]
    return np.random.default_rng(seed).standard_normal((batch, int(np.prod(shape))))


def naive_conv(
    x: np.ndarray, kernels: np.ndarray, bias: np.ndarray, stride: tuple, padding: tuple
) -> np.ndarray:
    """Direct definition, one output position at a time: x (B, H, W, C), kernels
    (KH, KW, C, OC) -> (B, OH, OW, OC)."""
    (kh, kw, _, oc), (sh, sw), (ph, pw) = kernels.shape, stride, padding
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    oh = (xp.shape[1] - kh) // sh + 1
    ow = (xp.shape[2] - kw) // sw + 1
    out = np.empty((x.shape[0], oh, ow, oc))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            out[:, i, j, :] = np.einsum("bhwc,hwco->bo", window, kernels) + bias
    return out


def as_pair(v: int | tuple) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_forward_matches_direct_definition(config: tuple) -> None:
    conv = make_conv(config)
    x = inputs(config)
    y = conv.forward(x, training=False)
    kh, kw = conv.kernel_size
    kernels = conv.W.value.reshape(kh, kw, conv.in_channels, conv.out_channels)
    want = naive_conv(
        x.reshape(-1, *config[0]), kernels, conv.b.value, as_pair(config[3]), as_pair(config[4])
    )
    assert y.shape == (x.shape[0], int(np.prod(conv.output_shape(config[0]))))
    assert want.shape[1:] == conv.output_shape(config[0])
    np.testing.assert_allclose(y, want.reshape(x.shape[0], -1), rtol=1e-12, atol=1e-12)
    assert conv.output is y


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_gradients_match_finite_differences(config: tuple) -> None:
    conv = make_conv(config)
    errors = check_layer(conv, inputs(config))
    assert set(errors) == {"input", "conv.W", "conv.b"}
    bad = {k: e for k, e in errors.items() if not e < TOLERANCE}
    assert not bad, f"relative errors above {TOLERANCE}: {bad}"


def test_configs_cover_both_column_layouts() -> None:
    layouts = {make_conv(config)._transposed for config in CONFIGS.values()}
    assert layouts == {True, False}


@pytest.mark.parametrize("threshold", [0, 10**6], ids=["row-columns", "transposed-columns"])
def test_both_column_layouts_give_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    config = CONFIGS["3x3-pad1"]
    reference = make_conv(config)
    x, g = inputs(config), np.random.default_rng(4).standard_normal((2, 5 * 6 * 3))
    want_y = reference.forward(x, training=True).copy()
    want_dx = reference.backward(g).copy()
    monkeypatch.setattr(engine.layers.conv, "TRANSPOSED_COLUMNS_BELOW", threshold)
    conv = make_conv(config)
    assert conv._transposed == (threshold > 0)
    np.testing.assert_allclose(conv.forward(x, training=True), want_y, rtol=1e-13)
    np.testing.assert_allclose(conv.backward(g), want_dx, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(conv.W.grad, reference.W.grad, rtol=1e-13)


def test_batch_size_changes_reallocate_buffers() -> None:
    config = CONFIGS["3x3-pad1"]
    conv = make_conv(config)
    for batch in (3, 1, 4, 3):
        errors = check_layer(conv, inputs((*config[:5], batch), seed=batch))
        assert max(errors.values()) < TOLERANCE, (batch, errors)


def test_input_grad_false_returns_none_and_keeps_parameter_gradients() -> None:
    config = CONFIGS["rect-kernel-pad2"]
    x = inputs(config)
    g = np.random.default_rng(5).standard_normal(
        (2, int(np.prod(conv_output_shape(config[0], 2, (3, 2), (2, 1), (2, 1)))))
    )
    reference = make_conv(config)
    reference.forward(x, training=True)
    assert reference.backward(g) is not None
    conv = make_conv(config)
    conv.forward(x, training=True)
    assert conv.backward(g, input_grad=False) is None
    np.testing.assert_array_equal(conv.W.grad, reference.W.grad)
    np.testing.assert_array_equal(conv.b.grad, reference.b.grad)


def test_float32_in_float32_out_and_close_to_float64() -> None:
    config = CONFIGS["3x3-pad1"]
    wide, narrow = make_conv(config), make_conv(config, dtype=np.float32)
    narrow.b.value[...] = wide.b.value
    x = inputs(config)
    g = np.random.default_rng(2).standard_normal((2, 5 * 6 * 3))
    y = narrow.forward(x.astype(np.float32), training=True)
    dx = narrow.backward(g.astype(np.float32))
    assert y.dtype == dx.dtype == narrow.W.grad.dtype == narrow.b.grad.dtype == np.float32
    np.testing.assert_allclose(y, wide.forward(x, training=True), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx, wide.backward(g), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(narrow.W.grad, wide.W.grad, rtol=1e-4, atol=1e-5)


def test_parameters_names_shapes_and_torch_layout() -> None:
    conv = Conv2D(5, (3, 2), input_shape=(8, 7, 4), rng=np.random.default_rng(0), name="conv1")
    w, b = conv.parameters()
    assert (w.name, w.value.shape, w.decay) == ("conv1.W", (3 * 2 * 4, 5), True)
    assert (b.name, b.value.shape, b.decay) == ("conv1.b", (5,), False)
    assert (conv.kind, conv.in_channels, conv.out_channels) == ("conv", 4, 5)
    assert w.value.dtype == np.float32
    oihw = conv.weight_oihw()
    assert oihw.shape == (5, 4, 3, 2)
    kernels = w.value.reshape(3, 2, 4, 5)
    assert oihw[3, 1, 2, 0] == kernels[2, 0, 1, 3]
    assert conv.output_shape((8, 7, 4)) == (6, 6, 5)
    assert conv.output_features(8 * 7 * 4) == 6 * 6 * 5


@pytest.mark.parametrize(
    ("init", "std"),
    [("he", np.sqrt(2 / 72)), ("lecun", np.sqrt(1 / 72)), ("xavier", np.sqrt(2 / (72 + 576)))],
)
def test_initialisers_use_the_conv_fans(init: str, std: float) -> None:
    # 8 input channels, 3×3: fan-in 72; 64 filters: Glorot's fan-out 64·9 = 576.
    conv = Conv2D(64, 3, input_shape=(9, 9, 8), rng=np.random.default_rng(0), init=init)
    assert float(conv.W.value.std()) == pytest.approx(std, rel=0.05)
    again = Conv2D(64, 3, input_shape=(9, 9, 8), rng=np.random.default_rng(0), init=init)
    np.testing.assert_array_equal(conv.W.value, again.W.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kernel_size": 5, "input_shape": (3, 3, 1)}, "kernel height 5 is larger than the input"),
        (
            {"kernel_size": (2, 6), "input_shape": (3, 3, 1), "padding": 1},
            "kernel width 6 is larger than the input width 3 padded to 5",
        ),
        ({"stride": 0}, "stride must be >= 1, got 0"),
        ({"padding": -1}, "padding must be >= 0"),
        ({"kernel_size": 3, "padding": 3}, "some windows would see only padding"),
        ({"kernel_size": 0}, "kernel height must be >= 1"),
        ({"kernel_size": (3, 3, 3)}, "kernel size must be an int or a pair"),
        ({"kernel_size": 2.5}, "kernel size must be an int or a pair"),
        ({"out_channels": 0}, "out_channels must be >= 1"),
        ({"input_shape": (28, 28)}, r"\(height, width, channels\)"),
        ({"input_shape": (0, 28, 1)}, r"\(height, width, channels\)"),
    ],
)
def test_impossible_shapes_are_refused_with_a_plain_message(kwargs: dict, message: str) -> None:
    args = {"out_channels": 4, "kernel_size": 3, "input_shape": (8, 8, 2), **kwargs}
    with pytest.raises(ValueError, match=message):
        Conv2D(**args, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        conv_output_shape(
            args["input_shape"],
            args["out_channels"],
            args["kernel_size"],
            args.get("stride", 1),
            args.get("padding", 0),
        )


def test_wrong_input_is_refused() -> None:
    conv = Conv2D(4, 3, input_shape=(8, 8, 2), rng=np.random.default_rng(0), name="c1")
    with pytest.raises(ValueError, match=r"c1: built for 8x8x2 input, got 8x8x3"):
        conv.output_shape((8, 8, 3))
    with pytest.raises(ValueError, match=r"expects 128 input features \(8x8x2\), got 784"):
        conv.output_features(784)
    with pytest.raises(ValueError, match=r"rows of 128 features \(8x8x2\).*\(2, 784\)"):
        conv.forward(np.zeros((2, 784), np.float32), training=False)
    with pytest.raises(RuntimeError, match="before forward"):
        conv.backward(np.zeros((2, 6 * 6 * 4), np.float32))


def test_mnist_sized_output_shapes() -> None:
    assert conv_output_shape((28, 28, 1), 8, 3, padding=1) == (28, 28, 8)
    assert conv_output_shape((28, 28, 1), 8, 5) == (24, 24, 8)
    assert conv_output_shape((28, 28, 1), 8, 3, stride=2) == (13, 13, 8)
    assert conv_output_shape((28, 28, 1), 8, 4, stride=2, padding=1) == (14, 14, 8)
