"""Forward behaviour of initialisers, layers and losses: statistics, modes, numerical safety."""

from __future__ import annotations

import numpy as np
import pytest

from engine.files.spec import ACTIVATIONS, INITS, OUTPUT_ACTIVATIONS
from engine.layers.activations import Sigmoid, Tanh, make_activation
from engine.layers.dense import Dense
from engine.layers.initializers import initialize
from engine.layers.losses import MeanSquaredError, SoftmaxCrossEntropy, make_loss
from engine.layers.regularization import BatchNorm, Dropout
from engine.layers.residual import Residual

RNG_SEED = 1234


def rng(seed: int = RNG_SEED) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------- initialisers
@pytest.mark.parametrize(
    ("scheme", "expected_std"),
    [
        ("he", np.sqrt(2 / 800)),
        ("xavier", np.sqrt(2 / (800 + 400))),
        ("lecun", np.sqrt(1 / 800)),
        ("normal", 0.5),
        ("uniform", 0.5 / np.sqrt(3)),  # U(-a, a) has std a / sqrt(3)
    ],
)
def test_initialiser_std(scheme: str, expected_std: float) -> None:
    scale = 0.5 if scheme in ("normal", "uniform") else 1.0
    w = initialize(scheme, 800, 400, rng=rng(), scale=scale)
    assert w.shape == (800, 400)
    assert w.dtype == np.float32
    assert abs(float(w.mean())) < 0.01 * expected_std * 10
    assert float(w.std()) == pytest.approx(expected_std, rel=0.05)


def test_scale_multiplies_std_and_uniform_bounds() -> None:
    he = initialize("he", 500, 300, rng=rng())
    he3 = initialize("he", 500, 300, rng=rng(), scale=3.0)
    np.testing.assert_allclose(he3, 3 * he, rtol=1e-6)
    w = initialize("uniform", 200, 100, rng=rng(), scale=0.2)
    assert w.min() >= -0.2
    assert w.max() <= 0.2
    assert w.min() < -0.19
    assert w.max() > 0.19


def test_zeros_are_zeros() -> None:
    w = initialize("zeros", 30, 20, rng=rng(), scale=5.0, dtype=np.float64)
    assert w.dtype == np.float64
    assert not w.any()


@pytest.mark.parametrize("scheme", INITS)
def test_same_seed_same_weights_and_dtype_independent(scheme: str) -> None:
    a = initialize(scheme, 40, 30, rng=rng(7))
    b = initialize(scheme, 40, 30, rng=rng(7))
    np.testing.assert_array_equal(a, b)
    wide = initialize(scheme, 40, 30, rng=rng(7), dtype=np.float64)
    np.testing.assert_array_equal(a, wide.astype(np.float32))
    if scheme != "zeros":
        assert not np.array_equal(a, initialize(scheme, 40, 30, rng=rng(8)))


def test_unknown_initialiser_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown initialiser 'glorot'") as info:
        initialize("glorot", 3, 3, rng=rng())
    for scheme in INITS:
        assert scheme in str(info.value)


@pytest.mark.parametrize(("fan_in", "scale"), [(0, 1.0), (3, -1.0), (3, float("nan"))])
def test_initialiser_rejects_bad_sizes_and_scales(fan_in: int, scale: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        initialize("he", fan_in, 3, rng=rng(), scale=scale)


# ---------------------------------------------------------------------- dense
def test_dense_parameters_names_and_shapes() -> None:
    layer = Dense(6, 4, rng=rng(), init="xavier", name="hidden1")
    w, b = layer.parameters()
    assert (w.name, w.value.shape, w.decay) == ("hidden1.W", (6, 4), True)
    assert (b.name, b.value.shape, b.decay) == ("hidden1.b", (4,), False)
    assert layer.kind == "dense"
    assert layer.output_features(6) == 4
    with pytest.raises(ValueError, match="expects 6 input features"):
        layer.output_features(5)
    x = rng().standard_normal((3, 6)).astype(np.float32)
    b.value[:] = [1, 2, 3, 4]
    y = layer.forward(x, training=False)
    np.testing.assert_allclose(y, x @ w.value + b.value, rtol=1e-6)
    assert layer.output is y


def test_dense_reuses_buffers_for_the_same_batch_size() -> None:
    layer = Dense(6, 4, rng=rng())
    x = np.ones((3, 6), dtype=np.float32)
    first = layer.forward(x, training=True)
    assert layer.forward(x, training=True) is first
    assert layer.forward(np.ones((5, 6), dtype=np.float32), training=True).shape == (5, 4)


# ---------------------------------------------------------------------- activations
@pytest.mark.parametrize("name", [*ACTIVATIONS, "softmax"])
def test_make_activation_kinds_and_names(name: str) -> None:
    layer = make_activation(name, name_prefix="h1.")
    assert layer.kind == name
    assert layer.name == f"h1.{name}"
    x = np.linspace(-3, 3, 20, dtype=np.float32).reshape(2, 10)
    y = layer.forward(x, training=False)
    assert y.shape == x.shape
    assert y.dtype == np.float32
    assert layer.output is y


def test_unknown_activation_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown activation 'gelu'") as info:
        make_activation("gelu")
    for name in ACTIVATIONS:
        assert name in str(info.value)


def test_activation_values() -> None:
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    expected = {
        "relu": [0, 0, 0, 0.5, 2],
        "leaky_relu": [-0.02, -0.005, 0, 0.5, 2],
        "elu": [np.expm1(-2), np.expm1(-0.5), 0, 0.5, 2],
        "sigmoid": 1 / (1 + np.exp(-x[0])),
        "tanh": np.tanh(x[0]),
        "linear": x[0],
    }
    for name, want in expected.items():
        got = make_activation(name).forward(x.copy(), training=False)
        np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_extreme_inputs_give_no_warning(dtype: type) -> None:
    x = np.array([[-1e4, -100.0, 0.0, 100.0, 1e4]], dtype=dtype)
    layer = Sigmoid()
    with np.errstate(all="raise"):
        y = layer.forward(x, training=True)
        dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(y, np.array([[0, 0, 0.5, 1, 1]], dtype=dtype))
    assert np.all(np.isfinite(dx))
    assert y.dtype == dtype


def test_elu_and_tanh_extreme_inputs_give_no_warning() -> None:
    x = np.array([[-1e4, 1e4]], dtype=np.float32)
    with np.errstate(all="raise"):
        for layer in (make_activation("elu"), Tanh()):
            y = layer.forward(x, training=True)
            assert np.all(np.isfinite(layer.backward(np.ones_like(x))))
            assert np.all(np.isfinite(y))


# ---------------------------------------------------------------------- dropout
def test_dropout_eval_is_identity() -> None:
    layer = Dropout(0.5, rng=rng())
    x = rng().standard_normal((4, 8)).astype(np.float32)
    assert layer.forward(x, training=False) is x
    g = np.ones_like(x)
    assert layer.backward(g) is g


def test_dropout_train_keeps_expected_mean_and_rate_can_change() -> None:
    layer = Dropout(0.3, rng=rng())
    x = np.ones((200, 500), dtype=np.float32)
    y = layer.forward(x, training=True)
    assert float(y.mean()) == pytest.approx(1.0, abs=0.01)
    assert float((y == 0).mean()) == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.7], rtol=1e-6)
    dx = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(dx, 2 * y)  # the gradient goes through the same mask
    layer.rate = 0.8
    y = layer.forward(x, training=True)
    assert float((y == 0).mean()) == pytest.approx(0.8, abs=0.01)
    assert float(y.mean()) == pytest.approx(1.0, abs=0.03)
    layer.rate = 0.0
    assert layer.forward(x, training=True) is x
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        layer.rate = 1.0


def test_dropout_masks_reproducible_from_seed() -> None:
    x = np.ones((10, 10))
    a = Dropout(0.5, rng=rng(3)).forward(x, training=True).copy()
    b = Dropout(0.5, rng=rng(3)).forward(x, training=True)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- batch norm
def test_batchnorm_train_normalises_and_eval_uses_running_stats() -> None:
    bn = BatchNorm(3, momentum=0.5)
    assert [p.name for p in bn.parameters()] == ["batchnorm.gamma", "batchnorm.beta"]
    assert not any(p.decay for p in bn.parameters())
    x = (rng().standard_normal((64, 3)) * [1, 2, 3] + [5, -5, 0]).astype(np.float32)
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1, rtol=1e-3)
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.5 + 0.5 * x.var(axis=0, ddof=1), rtol=1e-5)
    # A loader writes into the very arrays buffers() returns; eval must then use them.
    buffers = bn.buffers()
    buffers["running_mean"][...] = [1, 2, 3]
    buffers["running_var"][...] = [4, 1, 0.25]
    bn.gamma.value[...] = 2
    bn.beta.value[...] = 1
    z = bn.forward(np.array([[3, 2, 3.5]], dtype=np.float32), training=False)
    np.testing.assert_allclose(
        z, [[1 + 2 * 2 / np.sqrt(4 + 1e-5), 1, 1 + 2 * 0.5 / np.sqrt(0.25 + 1e-5)]], rtol=1e-5
    )
    np.testing.assert_array_equal(bn.running_mean, [1, 2, 3])  # eval leaves them alone


def test_batchnorm_batch_of_one_in_training_is_finite() -> None:
    bn = BatchNorm(4)
    with np.errstate(all="raise"):
        y = bn.forward(np.array([[1.0, -2.0, 3.0, 0.0]], dtype=np.float32), training=True)
        dx = bn.backward(np.ones((1, 4), dtype=np.float32))
    assert np.all(np.isfinite(y))
    assert np.all(np.isfinite(dx))
    assert np.all(np.isfinite(bn.running_var))
    assert np.any(bn.gamma.grad != 0)  # it still learns


# ---------------------------------------------------------------------- residual
def test_residual_collects_parameters_and_prefixed_buffers() -> None:
    inner = [Dense(4, 4, rng=rng(), name="r.d"), BatchNorm(4, name="r.bn"), make_activation("relu")]
    block = Residual(inner, name="r")
    assert [p.name for p in block.parameters()] == ["r.d.W", "r.d.b", "r.bn.gamma", "r.bn.beta"]
    assert set(block.buffers()) == {"r.bn.running_mean", "r.bn.running_var"}
    assert block.buffers()["r.bn.running_mean"] is inner[1].running_mean
    assert block.output_features(4) == 4
    x = rng().standard_normal((5, 4)).astype(np.float32)
    y = block.forward(x, training=False)
    np.testing.assert_allclose(y, x + inner[2].output, rtol=1e-6)
    with pytest.raises(ValueError, match="same"):
        Residual([Dense(4, 3, rng=rng())]).output_features(4)
    with pytest.raises(ValueError, match="distinct names"):
        Residual([BatchNorm(4), BatchNorm(4)])


# ---------------------------------------------------------------------- losses
def test_cross_entropy_huge_logits_are_finite() -> None:
    loss = SoftmaxCrossEntropy()
    logits = np.zeros((2, 10), dtype=np.float32)
    logits[0, 3] = 1e4
    logits[1, 7] = 1e4
    # exp(-1e4) underflowing to exactly 0 is the right answer (NumPy ignores underflow by default).
    with np.errstate(all="raise", under="ignore"):
        value = loss.forward(logits, np.array([3, 0]))
        grad = loss.backward()
    assert value == pytest.approx(1e4 / 2)  # sample 0 is certain and right, sample 1 off by 1e4
    assert np.all(np.isfinite(grad))
    assert np.all(np.isfinite(loss.predict_proba(logits)))


def test_cross_entropy_of_uniform_logits_is_log10() -> None:
    loss = make_loss("cross_entropy", "softmax")
    assert loss.forward(np.zeros((4, 10)), np.arange(4)) == pytest.approx(np.log(10))


@pytest.mark.parametrize("output", OUTPUT_ACTIVATIONS)
def test_predict_proba_rows_sum_to_one_and_keep_argmax(output: str) -> None:
    loss = make_loss("mse", output)
    logits = rng().standard_normal((6, 10)).astype(np.float32)
    logits[:, 4] += 3.0
    probs = loss.predict_proba(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert np.all(probs >= 0)
    np.testing.assert_array_equal(probs.argmax(axis=1), logits.argmax(axis=1))
    assert probs is not loss.predict_proba(logits)


def test_linear_mse_all_negative_outputs_give_uniform_proba() -> None:
    probs = MeanSquaredError("linear").predict_proba(-np.ones((1, 10)))
    np.testing.assert_allclose(probs, 0.1)


def test_make_loss_rejects_bad_combinations() -> None:
    with pytest.raises(ValueError, match="softmax"):
        make_loss("cross_entropy", "sigmoid")
    with pytest.raises(ValueError, match="valid: cross_entropy, mse"):
        make_loss("hinge", "softmax")
    with pytest.raises(ValueError, match="valid: softmax, sigmoid, linear"):
        make_loss("mse", "relu")
