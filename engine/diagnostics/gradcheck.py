"""Finite-difference gradient checks: the test that a backward pass matches its forward pass.

Use float64 layers and inputs: with centred differences and h = 1e-5 a correct float64 gradient
agrees to about 1e-9 relative error, while float32 rounding alone would exceed 1e-3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.layers.base import Layer
from engine.layers.losses import Loss


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """``df/dx`` by centred differences ``(f(x + h·e_i) - f(x - h·e_i)) / 2h``, as float64.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place one element at a time and
    restored exactly afterwards (even if ``f`` raises). Costs ``2·x.size`` calls of ``f``.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        old = x[index]
        try:
            x[index] = old + h
            plus = f()
            x[index] = old - h
            minus = f()
        finally:
            x[index] = old
        grad[index] = (plus - minus) / (2.0 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``max|a - b| / max(|a| + |b|)``: one scale for the whole array, so entries that are
    (nearly) zero in both do not blow the ratio up. 0 for empty arrays."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = float(np.max(np.abs(a) + np.abs(b)))
    return float(np.max(np.abs(a - b))) / max(scale, np.finfo(np.float64).tiny)


def _generators(layer: Layer) -> list[np.random.Generator]:
    """Random generators a layer (or the layers inside it) draws from during forward."""
    found = [layer.rng] if isinstance(getattr(layer, "rng", None), np.random.Generator) else []
    for inner in getattr(layer, "layers", []):
        found.extend(_generators(inner))
    return found


def check_layer(layer: Layer, x: np.ndarray, *, seed: int = 0) -> dict[str, float]:
    """Relative errors between analytic and numerical gradients of a layer in training mode.

    The scalar checked is ``sum(forward(x) * G)`` for a fixed random upstream gradient ``G``
    (seeded by ``seed``), so ``backward(G)`` must equal its gradient. Keys: ``"input"`` and the
    name of every parameter. Before every forward the layer's random generators (dropout masks) and
    buffers (batch-norm running statistics) are put back as they were, so each call computes the
    same function and the check is deterministic.
    """
    generators = _generators(layer)
    rng_states: list[Any] = [g.bit_generator.state for g in generators]
    saved_buffers = {key: value.copy() for key, value in layer.buffers().items()}

    def restore() -> None:
        for generator, state in zip(generators, rng_states, strict=True):
            generator.bit_generator.state = state
        for key, value in layer.buffers().items():
            value[...] = saved_buffers[key]

    def run() -> np.ndarray:
        restore()
        return layer.forward(x, training=True)

    upstream = np.random.default_rng(seed).standard_normal(run().shape)
    run()
    analytic_input = np.array(layer.backward(upstream.astype(x.dtype), input_grad=True))
    analytic = {p.name: p.grad.copy() for p in layer.parameters()}

    def objective() -> float:
        return float(np.sum(run() * upstream))

    errors = {"input": relative_error(analytic_input, numerical_gradient(objective, x))}
    for p in layer.parameters():
        errors[p.name] = relative_error(analytic[p.name], numerical_gradient(objective, p.value))
    run()  # leave the caches consistent with the unperturbed input ...
    restore()  # ... and the generators and running statistics as they were
    return errors


def check_loss(loss: Loss, logits: np.ndarray, labels: np.ndarray) -> float:
    """Relative error between ``loss.backward()`` and the numerical gradient of the mean loss."""
    loss.forward(logits, labels)
    analytic = np.array(loss.backward())
    numeric = numerical_gradient(lambda: loss.forward(logits, labels), logits)
    return relative_error(analytic, numeric)
