"""A minimal training loop for toy networks, made of the engine's own pieces (Dense, activation
layers, make_optimizer on Hyperparams, the fused losses), for the toy benchmarks until the
Trainer takes input width and output count from the data.

    net = ToyNet((2, 2, 1), "tanh", seed=0, hp=Hyperparams(optimizer="sgd", learning_rate=0.3))
    for _ in range(2000):
        net.step(x, y)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from engine.files.spec import Hyperparams
from engine.layers.activations import make_activation
from engine.layers.base import Layer
from engine.layers.dense import Dense
from engine.layers.losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy
from engine.layers.param_pack import pack
from engine.training.optimizers import make_optimizer


class ToyNet:
    """``sizes = (inputs, hidden..., outputs)``; one output means sigmoid + binary cross-entropy,
    two or more mean softmax cross-entropy. Hidden layers use ``activation`` and ``init``, the
    output layer ``output_init`` and ``output_scale`` (as the spec's LayerSpec and OutputSpec)."""

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str,
        *,
        seed: int,
        hp: Hyperparams,
        init: str = "xavier",
        init_scale: float = 1.0,
        output_init: str = "xavier",
        output_scale: float = 1.0,
        dtype: type = np.float32,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.layers: list[Layer] = []
        self.dense: list[Dense] = []
        last = len(sizes) - 2
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            dense = Dense(
                n_in,
                n_out,
                rng=rng,
                init=output_init if i == last else init,
                init_scale=output_scale if i == last else init_scale,
                dtype=dtype,
                name=f"dense{i + 1}",
            )
            self.layers.append(dense)
            self.dense.append(dense)
            if i != last:
                self.layers.append(make_activation(activation, name_prefix=f"dense{i + 1}."))
        self.loss: Loss = BinaryCrossEntropy() if sizes[-1] == 1 else SoftmaxCrossEntropy()
        params = [p for layer in self.layers for p in layer.parameters()]
        pack(params)
        self.hp = hp
        self.optimizer = make_optimizer(hp, params)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def step(self, x: np.ndarray, labels: np.ndarray) -> float:
        """One forward, loss, backward and update on the batch; returns the batch loss."""
        value = self.loss.forward(self.forward(x, training=True), labels)
        grad = self.loss.backward()
        layers = self.layers
        for i in range(len(layers) - 1, 0, -1):
            grad = layers[i].backward(grad)
        layers[0].backward(grad, input_grad=False)
        self.optimizer.step(self.hp.learning_rate)
        return value

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N,) predicted class (0/1, or argmax of the outputs)."""
        out = self.forward(x)
        if out.shape[1] == 1:
            return (out[:, 0] > 0).astype(np.uint8)
        return out.argmax(axis=1).astype(np.uint8)

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.predict(x) == labels))


def train(
    net: ToyNet,
    x: np.ndarray,
    labels: np.ndarray,
    *,
    steps: int,
    batch_size: int = 0,
    seed: int = 0,
    target: float = 1.0,
    check_every: int = 50,
) -> int | None:
    """Train for at most ``steps`` steps (full batch when ``batch_size`` is 0, else shuffled
    mini-batches, reshuffled every epoch); return the first step count, checked every
    ``check_every`` steps, at which train accuracy reached ``target``, or None."""
    n = len(x)
    batch = n if batch_size <= 0 else min(batch_size, n)
    rng = np.random.default_rng(seed)
    order = np.arange(n)
    start = n  # forces a shuffle on the first step
    for step in range(1, steps + 1):
        if batch == n:
            xb, yb = x, labels
        else:
            if start + batch > n:
                order = rng.permutation(n)
                start = 0
            idx = order[start : start + batch]
            start += batch
            xb, yb = x[idx], labels[idx]
        net.step(xb, yb)
        if step % check_every == 0 and net.accuracy(x, labels) >= target:
            return step
    return None
