"""Finite-difference checks (float64, centred, h = 1e-5) of every layer and loss backward pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from engine.diagnostics.gradcheck import check_layer, check_loss, numerical_gradient, relative_error
from engine.files.spec import ACTIVATIONS, INITS, OUTPUT_ACTIVATIONS
from engine.layers.activations import ELU, LeakyReLU, Softmax, make_activation
from engine.layers.base import Layer
from engine.layers.dense import Dense
from engine.layers.losses import (
    BinaryCrossEntropy,
    MeanSquaredError,
    SoftmaxCrossEntropy,
    make_loss,
)
from engine.layers.regularization import BatchNorm, Dropout
from engine.layers.residual import Residual

TOLERANCE = 1e-6
F64 = np.float64


def off_kink(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    """Standard normal inputs with every |x| >= 0.05: ReLU-family kinks stay out of reach of h."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 0.05, np.copysign(0.05, x) + x, x)


def assert_all_close(errors: dict[str, float]) -> None:
    assert errors, "nothing was checked"
    bad = {key: err for key, err in errors.items() if not err < TOLERANCE}
    assert not bad, f"relative errors above {TOLERANCE}: {bad}"


def dense(n_in: int = 5, n_out: int = 4, *, seed: int = 0, name: str = "dense") -> Dense:
    return Dense(n_in, n_out, rng=np.random.default_rng(seed), init="xavier", dtype=F64, name=name)


def randomise_params(layer: Layer, seed: int = 3) -> None:
    """Move parameters off their initial values (zero biases, unit gammas would hide mistakes)."""
    rng = np.random.default_rng(seed)
    for p in layer.parameters():
        p.value[...] = rng.standard_normal(p.value.shape)


LAYERS: dict[str, Callable[[], Layer]] = {
    "dense": dense,
    **{
        f"act-{name}": (lambda name=name: make_activation(name))
        for name in (*ACTIVATIONS, "softmax")
    },
    "leaky_relu-alpha0.3": lambda: LeakyReLU(0.3),
    "elu-alpha0.5": lambda: ELU(0.5),
    "dropout": lambda: Dropout(0.4, rng=np.random.default_rng(7)),
    "batchnorm": lambda: BatchNorm(5, dtype=F64),
    "residual": lambda: Residual(
        [
            dense(5, 7, seed=1, name="r.d1"),
            make_activation("tanh"),
            dense(7, 5, seed=2, name="r.d2"),
        ]
    ),
    "residual-bn-dropout": lambda: Residual(
        [
            dense(5, 5, seed=1, name="r.d1"),
            make_activation("tanh"),
            BatchNorm(5, dtype=F64, name="r.bn"),
            Dropout(0.3, rng=np.random.default_rng(2)),
        ]
    ),
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
@pytest.mark.parametrize("batch", [1, 6])
def test_layer_gradients_match_finite_differences(make: Callable[[], Layer], batch: int) -> None:
    layer = make()
    randomise_params(layer)
    x = off_kink((batch, 5)) * 2.0
    errors = check_layer(layer, x)
    assert set(errors) == {"input", *(p.name for p in layer.parameters())}
    assert_all_close(errors)


def test_check_layer_catches_a_wrong_backward() -> None:
    """The check must be able to fail: a tanh whose backward forgets the 1 - y² factor."""

    class BrokenTanh(Layer):
        def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
            return np.tanh(x)

        def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray:
            return grad_out.copy()

    assert check_layer(BrokenTanh(), off_kink((3, 4)))["input"] > 1e-2


def test_batchnorm_running_stats_untouched_by_check_and_batch_one_updates_them() -> None:
    bn = BatchNorm(5, dtype=F64)
    before = {k: v.copy() for k, v in bn.buffers().items()}
    check_layer(bn, off_kink((1, 5)))
    for key, value in bn.buffers().items():
        np.testing.assert_array_equal(value, before[key])
    x = off_kink((1, 5))
    y = bn.forward(x, training=True)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(bn.running_mean, 0.1 * x[0])
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x[0] ** 2)


@pytest.mark.parametrize("output", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("batch", [1, 7])
def test_mse_gradient(output: str, batch: int) -> None:
    rng = np.random.default_rng(batch)
    logits = rng.standard_normal((batch, 10)) * 2.0
    labels = rng.integers(0, 10, batch)
    assert check_loss(MeanSquaredError(output), logits, labels) < TOLERANCE


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_cross_entropy_gradient(batch: int, scale: float) -> None:
    rng = np.random.default_rng(batch)
    logits = rng.standard_normal((batch, 10)) * scale
    labels = rng.integers(0, 10, batch)
    assert check_loss(SoftmaxCrossEntropy(), logits, labels) < TOLERANCE


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_binary_cross_entropy_gradient(batch: int, scale: float) -> None:
    rng = np.random.default_rng(batch)
    logits = rng.standard_normal((batch, 1)) * scale
    labels = rng.integers(0, 2, batch)
    assert check_loss(BinaryCrossEntropy(), logits, labels) < TOLERANCE


@pytest.mark.parametrize("batch", [1, 7])
def test_two_class_softmax_cross_entropy_gradient(batch: int) -> None:
    rng = np.random.default_rng(batch)
    logits = rng.standard_normal((batch, 2)) * 3.0
    assert check_loss(SoftmaxCrossEntropy(), logits, rng.integers(0, 2, batch)) < TOLERANCE


def test_binary_cross_entropy_is_two_class_softmax_with_a_zero_logit() -> None:
    """softmax([0, z]) picks class 1 with probability σ(z): the same loss and the same dL/dz."""
    z = np.array([[-3.0], [0.5], [8.0], [-0.2]])
    labels = np.array([1, 0, 1, 0])
    bce, softmax = BinaryCrossEntropy(), SoftmaxCrossEntropy()
    two = np.hstack([np.zeros_like(z), z])
    assert bce.forward(z, labels) == pytest.approx(softmax.forward(two, labels), rel=1e-12)
    np.testing.assert_allclose(bce.backward()[:, 0], softmax.backward()[:, 1], rtol=1e-12)
    np.testing.assert_allclose(bce.predict_proba(z), softmax.predict_proba(two), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_is_finite_for_huge_logits(dtype: type) -> None:
    logits = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0], [0.0]], dtype=dtype)
    labels = np.array([1, 0, 0, 1, 1])
    loss = BinaryCrossEntropy()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value = loss.forward(logits, labels)
        grad = loss.backward()
        proba = loss.predict_proba(logits)
    # Two confident right answers cost 0, two confident wrong ones 1000 each, σ(0) costs log 2.
    assert value == pytest.approx((2000 + np.log(2)) / 5, rel=1e-6)
    np.testing.assert_allclose(grad[:, 0], [0, 0, 0.2, -0.2, -0.1])
    assert grad.dtype == dtype
    np.testing.assert_allclose(proba, [[0, 1], [1, 0], [0, 1], [1, 0], [0.5, 0.5]])


def test_binary_cross_entropy_needs_one_output_and_a_forward_first() -> None:
    loss = BinaryCrossEntropy()
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()
    with pytest.raises(ValueError, match=r"one output unit, logits \(B, 1\); got \(3, 2\)"):
        loss.forward(np.zeros((3, 2)), np.zeros(3, dtype=int))
    assert loss.output_activation == "sigmoid"


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_batch() -> None:
    logits = np.array([[0.0, np.log(3.0)], [5.0, 5.0]])
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, np.array([1, 0]))
    assert value == pytest.approx((-np.log(0.75) - np.log(0.5)) / 2)
    np.testing.assert_allclose(loss.backward(), [[0.125, -0.125], [-0.25, 0.25]])


def test_mse_value_uses_the_half_convention() -> None:
    loss = make_loss("mse", "linear")
    logits = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    # batch 1: (1-1)² + 2² + 0 = 4; batch 2: 1 -> (4 + 1) / 2 / 2
    assert loss.forward(logits, np.array([0, 2])) == pytest.approx(1.25)
    np.testing.assert_allclose(loss.backward(), [[0.0, 1.0, 0.0], [0.0, 0.0, -0.5]])


INPUT_GRAD_CASES = {
    "dense": (dense, 4),
    "residual": (lambda: Residual([dense(5, 5), make_activation("tanh")]), 5),
    "batchnorm": (lambda: BatchNorm(5, dtype=F64), 5),
}


@pytest.mark.parametrize(("make", "width"), INPUT_GRAD_CASES.values(), ids=INPUT_GRAD_CASES.keys())
def test_input_grad_false_returns_none_and_keeps_parameter_grads(
    make: Callable[[], Layer], width: int
) -> None:
    x = off_kink((4, 5))
    g = np.random.default_rng(5).standard_normal((4, width))
    reference = make()
    reference.forward(x, training=True)
    assert reference.backward(g, input_grad=True) is not None
    expected = [p.grad.copy() for p in reference.parameters()]
    layer = make()
    layer.forward(x, training=True)
    assert layer.backward(g, input_grad=False) is None
    for p, want in zip(layer.parameters(), expected, strict=True):
        np.testing.assert_array_equal(p.grad, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_batch_one_matches_general_path(dtype: type) -> None:
    rng = np.random.default_rng(0)
    layer = Dense(30, 20, rng=rng, dtype=dtype)
    x = rng.standard_normal((1, 30)).astype(dtype)
    g = rng.standard_normal((1, 20)).astype(dtype)
    layer.forward(x, training=True)
    dx = layer.backward(g).copy()
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(layer.W.grad, x.T.astype(F64) @ g.astype(F64), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.b.grad, g[0], rtol=tol)
    np.testing.assert_allclose(dx, g.astype(F64) @ layer.W.value.T.astype(F64), rtol=tol, atol=tol)
    # The same row inside a bigger batch gives the same per-sample contribution.
    layer.forward(np.repeat(x, 3, axis=0), training=True)
    layer.backward(np.repeat(g, 3, axis=0), input_grad=False)
    np.testing.assert_allclose(
        layer.W.grad / 3, x.T.astype(F64) @ g.astype(F64), rtol=1e-5, atol=tol
    )


def test_bias_before_batchnorm_gets_no_gradient() -> None:
    """Batch norm subtracts the batch mean, so a Dense bias feeding it cannot change the loss."""
    block = Residual([dense(5, 5), BatchNorm(5, dtype=F64)])
    randomise_params(block)
    block.forward(off_kink((6, 5)), training=True)
    block.backward(np.random.default_rng(0).standard_normal((6, 5)))
    assert np.max(np.abs(block.layers[0].b.grad)) < 1e-12
    assert np.max(np.abs(block.layers[0].W.grad)) > 1e-3


def test_batch_size_change_reallocates_buffers() -> None:
    layer = Residual([dense(5, 5), make_activation("relu")])
    for batch in (3, 1, 8, 3):
        errors = check_layer(layer, off_kink((batch, 5), seed=batch))
        assert_all_close(errors)


def test_numerical_gradient_restores_input_and_is_exact_for_quadratic() -> None:
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    original = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(x**2)), x)
    np.testing.assert_array_equal(x, original)
    np.testing.assert_allclose(grad, 2 * original, rtol=1e-9)


def test_relative_error_scale_and_edge_cases() -> None:
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    # One scale for the whole array: max(|a| + |b|) = 2, from the first entry.
    assert relative_error(np.array([1.0, 0.0]), np.array([1.0, 1e-3])) == pytest.approx(5e-4)
    assert relative_error(np.array([1.0]), np.array([-1.0])) == 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.zeros(2), np.zeros(3))


def test_softmax_layer_output_is_a_distribution() -> None:
    y = Softmax().forward(np.array([[1000.0, 0.0, -1000.0], [1.0, 1.0, 1.0]]), training=False)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    np.testing.assert_allclose(y[1], 1 / 3)


@pytest.mark.parametrize("init", INITS)
def test_every_initialiser_gives_a_checkable_dense_layer(init: str) -> None:
    layer = Dense(4, 3, rng=np.random.default_rng(0), init=init, dtype=F64)
    assert_all_close(check_layer(layer, off_kink((2, 4))))
