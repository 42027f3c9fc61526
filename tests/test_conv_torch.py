"""The conv layers against PyTorch, through the weight mapping an export will use.

Skipped (saying so) when torch is not installed: the app never needs it. The mapping: conv kernels
via ``Conv2D.weight_oihw()``; images go to torch as ``rows.reshape(B, H, W, C).permute(0, 3, 1,
2)``; after our Flatten the order is torch's, so a Dense maps as ``Linear.weight = W.T``; a
BatchNorm2D's ``momentum`` m is torch's ``1 - m``.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.layers.activations import ReLU
from engine.layers.base import Layer
from engine.layers.channel_norm import BatchNorm2D
from engine.layers.conv import Conv2D
from engine.layers.dense import Dense
from engine.layers.pooling import AvgPool2D, MaxPool2D
from engine.layers.spatial import Flatten

torch = pytest.importorskip("torch", reason="PyTorch not installed: torch parity tests skipped")


def engine_stack() -> list[Layer]:
    rng = np.random.default_rng(0)
    return [
        Conv2D(6, 3, input_shape=(28, 28, 1), padding=1, rng=rng, name="conv1"),
        BatchNorm2D(input_shape=(28, 28, 6), momentum=0.8, name="bn1"),
        ReLU(),
        MaxPool2D(2, input_shape=(28, 28, 6)),
        Conv2D(5, (4, 3), input_shape=(14, 14, 6), stride=2, padding=(2, 1), rng=rng, name="c2"),
        ReLU(),
        AvgPool2D(2, input_shape=(8, 7, 5), stride=1),
        Flatten(input_shape=(7, 6, 5)),
        Dense(7 * 6 * 5, 10, rng=rng, name="output"),
    ]


def torch_stack(layers: list[Layer]):
    nn = torch.nn
    conv1, bn1, _, _, conv2, _, _, _, dense = layers
    model = nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1),
        nn.BatchNorm2d(6, momentum=1 - bn1.momentum, eps=bn1.eps),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 5, (4, 3), stride=2, padding=(2, 1)),
        nn.ReLU(),
        nn.AvgPool2d(2, stride=1),
        nn.Flatten(),
        nn.Linear(7 * 6 * 5, 10),
    )
    t = torch.from_numpy
    with torch.no_grad():
        for module, layer in ((model[0], conv1), (model[4], conv2)):
            module.weight.copy_(t(layer.weight_oihw()))
            module.bias.copy_(t(layer.b.value))
        model[1].weight.copy_(t(bn1.gamma.value))
        model[1].bias.copy_(t(bn1.beta.value))
        model[1].running_mean.copy_(t(bn1.running_mean))
        model[1].running_var.copy_(t(bn1.running_var))
        model[8].weight.copy_(t(dense.W.value.T))
        model[8].bias.copy_(t(dense.b.value))
    return model


def digits(batch: int) -> np.ndarray:
    from engine.data.datasets import load_bundled, to_float

    return to_float(load_bundled().images[:batch])


def run_engine(layers: list[Layer], x: np.ndarray, *, training: bool) -> np.ndarray:
    for layer in layers:
        x = layer.forward(x, training=training)
    return x


def test_logits_equal_torch_in_eval_and_training_mode() -> None:
    layers = engine_stack()
    rng = np.random.default_rng(1)
    for layer in layers:  # move every parameter and statistic off its initial value
        for p in layer.parameters():
            p.value[...] += 0.1 * rng.standard_normal(p.value.shape).astype(np.float32)
    layers[1].running_mean[...] = rng.standard_normal(6)
    layers[1].running_var[...] = rng.uniform(0.5, 2.0, 6)
    model = torch_stack(layers)
    x = digits(16)
    tx = torch.from_numpy(x.reshape(-1, 28, 28, 1)).permute(0, 3, 1, 2)
    model.eval()
    ours = run_engine(layers, x, training=False)
    np.testing.assert_allclose(ours, model(tx).detach().numpy(), rtol=0, atol=1e-5)

    model.train()
    ours = run_engine(layers, x, training=True)
    theirs = model(tx)
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-4)
    np.testing.assert_allclose(layers[1].running_mean, model[1].running_mean, atol=1e-5)
    np.testing.assert_allclose(layers[1].running_var, model[1].running_var, rtol=1e-4)

    # Gradients against torch in float64: float32 sums over 12,544 positions through batch norm
    # leave both sides about 5e-5 (relative) off the exact values, in different places.
    g = rng.standard_normal(ours.shape).astype(np.float32)
    grad: np.ndarray | None = g
    for layer in reversed(layers):
        grad = layer.backward(grad)
    model64 = torch_stack(layers).double()  # a new module: in training mode
    model64(tx.double()).backward(torch.from_numpy(g).double())
    model = model64
    conv1, bn1, conv2, dense = layers[0], layers[1], layers[4], layers[8]
    pairs = [
        (conv1.weight_oihw(conv1.W.grad), model[0].weight.grad),
        (conv2.weight_oihw(conv2.W.grad), model[4].weight.grad),
        (conv2.b.grad, model[4].bias.grad),
        (bn1.gamma.grad, model[1].weight.grad),
        (dense.W.grad.T, model[8].weight.grad),
    ]
    for ours_grad, theirs_grad in pairs:
        scale = float(np.abs(ours_grad).max())
        np.testing.assert_allclose(ours_grad / scale, theirs_grad.numpy() / scale, atol=2e-4)


def test_max_pool_ties_route_like_torch() -> None:
    x = np.zeros((1, 4, 4, 2), np.float32)  # all-zero windows (as after a ReLU): all tie
    x[0, :2, :2, 1] = [[1.0, 3.0], [3.0, 2.0]]  # a partial tie
    x[0, 2:, 2:, 1] = 1.0
    pool = MaxPool2D(2, input_shape=(4, 4, 2))
    pool.forward(x.reshape(1, -1), training=True)
    g = np.arange(1, 9, dtype=np.float32).reshape(1, -1)
    ours = pool.backward(g).reshape(4, 4, 2)
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)
    torch.nn.functional.max_pool2d(tx, 2).backward(
        torch.from_numpy(g.reshape(1, 2, 2, 2)).permute(0, 3, 1, 2)
    )
    np.testing.assert_array_equal(ours, tx.grad[0].permute(1, 2, 0).numpy())
