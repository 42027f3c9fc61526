"""The conv layers compose: a tiny CNN of them, an engine Dense and the engine's softmax
cross-entropy learns the bundled digits far above chance within seconds, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.datasets import Dataset, Splits, to_float
from engine.layers.activations import ReLU
from engine.layers.base import Layer
from engine.layers.channel_norm import BatchNorm2D
from engine.layers.conv import Conv2D
from engine.layers.dense import Dense
from engine.layers.losses import SoftmaxCrossEntropy
from engine.layers.pooling import MaxPool2D
from engine.layers.spatial import Flatten
from engine.training.optimizers import Momentum

BATCH = 32


def tiny_cnn(seed: int) -> list[Layer]:
    """conv 8 3×3 - bn - relu - pool - conv 16 3×3 - relu - pool - flatten - dense 10."""
    rng = np.random.default_rng(seed)
    return [
        Conv2D(8, 3, input_shape=(28, 28, 1), padding=1, rng=rng, name="conv1"),
        BatchNorm2D(input_shape=(28, 28, 8), name="bn1"),
        ReLU(),
        MaxPool2D(2, input_shape=(28, 28, 8)),
        Conv2D(16, 3, input_shape=(14, 14, 8), padding=1, rng=rng, name="conv2"),
        ReLU(),
        MaxPool2D(2, input_shape=(14, 14, 16)),
        Flatten(input_shape=(7, 7, 16)),
        Dense(7 * 7 * 16, 10, rng=rng, init="xavier", name="output"),
    ]


def train(data: Dataset, *, epochs: int, seed: int) -> tuple[list[Layer], list[float]]:
    layers = tiny_cnn(seed)
    loss = SoftmaxCrossEntropy()
    optimizer = Momentum([p for layer in layers for p in layer.parameters()], momentum=0.9)
    rng = np.random.default_rng(seed)
    x = np.empty((BATCH, 784), np.float32)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(data))
        for start in range(0, len(order) - BATCH + 1, BATCH):
            batch = order[start : start + BATCH]
            h = to_float(data.images[batch], out=x)
            for layer in layers:
                h = layer.forward(h, training=True)
            losses.append(loss.forward(h, data.labels[batch].astype(np.intp)))
            g = loss.backward()
            for i in range(len(layers) - 1, -1, -1):
                g = layers[i].backward(g, input_grad=i > 0)
            optimizer.step(0.02)
    return layers, losses


def accuracy(layers: list[Layer], images: np.ndarray, labels: np.ndarray) -> float:
    h = to_float(images)
    for layer in layers:
        h = layer.forward(h, training=False)
    return float(np.mean(h.argmax(axis=1) == labels))


@pytest.mark.slow
def test_tiny_cnn_learns_the_digits(splits: Splits) -> None:
    layers, losses = train(splits.train, epochs=2, seed=0)
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    test_accuracy = accuracy(layers, splits.test.images, splits.test.labels)
    assert test_accuracy > 0.9, test_accuracy  # chance is 0.1
    few = splits.train.subset(np.arange(10 * BATCH))
    first, _ = train(few, epochs=1, seed=0)
    second, _ = train(few, epochs=1, seed=0)
    for a, b in zip(first, second, strict=True):
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            np.testing.assert_array_equal(p.value, q.value)  # bit for bit from the seed
