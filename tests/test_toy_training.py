"""The toy pieces fit together: engine layers + scaled features + binary cross-entropy learn XOR
(2-2-1 tanh) and the circle from x1², x2² alone, with the settings benchmarks/toy_presets.py
measured (there from 20 of 20 seeds)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.data.toy_data import make_toy, split_toy
from engine.data.toy_features import compute_features
from engine.files.spec import Hyperparams
from engine.layers.activations import Tanh
from engine.layers.base import Layer
from engine.layers.dense import Dense
from engine.layers.losses import BinaryCrossEntropy
from engine.training.optimizers import make_optimizer


def train_accuracy(
    name: str, features: tuple[str, ...], hidden: int, seed: int, steps: int
) -> tuple[float, float]:
    """(train accuracy, test accuracy) after full-batch SGD (lr 1) from N(0, 0.1²) weights."""
    train, test = split_toy(make_toy(name, 400, seed=0), 0.5, seed=0)
    x, y = compute_features(train.points, features), train.labels
    rng = np.random.default_rng(seed)
    sizes = [len(features), hidden, 1] if hidden else [len(features), 1]
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Dense(n_in, n_out, rng=rng, init="normal", init_scale=0.1, name=f"d{i}"))
        if i < len(sizes) - 2:
            layers.append(Tanh())
    loss = BinaryCrossEntropy()
    optimizer = make_optimizer(
        Hyperparams(optimizer="sgd", learning_rate=1.0),
        [p for layer in layers for p in layer.parameters()],
    )

    def forward(inputs: np.ndarray) -> np.ndarray:
        for layer in layers:
            inputs = layer.forward(inputs, training=True)
        return inputs

    for _ in range(steps):
        loss.forward(forward(x), y)
        grad = loss.backward()
        for layer in reversed(layers):
            grad = layer.backward(grad)
        optimizer.step(1.0)
    train_acc = float(np.mean((forward(x)[:, 0] > 0) == y))
    x_test = compute_features(test.points, features)
    return train_acc, float(np.mean((forward(x_test)[:, 0] > 0) == test.labels))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_2_2_1_tanh_learns_xor(seed: int) -> None:
    assert train_accuracy("xor", ("x1", "x2"), 2, seed, steps=600) == (1.0, 1.0)


def test_circle_needs_no_hidden_layer_with_squares_but_a_line_fails() -> None:
    assert train_accuracy("circles", ("x1_squared", "x2_squared"), 0, 0, steps=300) == (1.0, 1.0)
    line, _ = train_accuracy("circles", ("x1", "x2"), 0, 0, steps=300)
    assert line < 0.7
