"""A network built from a NetworkSpec: named blocks, the fixed 10-unit output, a loss.

A *block* is what the builder draws as one box: a Dense layer with its activation, a Dropout, a
BatchNorm, a Residual block, a lone activation, or the output layer. Blocks keep their last output
so views can inspect activations, and name their parameters ``"<block>.<param>"`` ("dense1.W").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from engine.files.spec import LayerSpec, NetworkSpec, validate
from engine.layers.activations import make_activation
from engine.layers.base import Layer
from engine.layers.dense import Dense
from engine.layers.losses import Loss, make_loss
from engine.layers.param_pack import pack
from engine.layers.parameter import Parameter
from engine.layers.regularization import BatchNorm, Dropout
from engine.layers.residual import Residual


@dataclass
class Block:
    """One box of the builder: a short run of layers with a name and the spec it came from."""

    name: str
    kind: str  # the LayerSpec type, or "output"
    activation: str  # activation applied at the block's end ("" when none)
    layers: list[Layer]
    params: list[Parameter] = field(default_factory=list)

    @property
    def output(self) -> np.ndarray | None:
        """The block's last forward output, (B, width)."""
        return self.layers[-1].output


def _leaf_layers(layers: list[Layer]) -> Iterator[Layer]:
    for layer in layers:
        if isinstance(layer, Residual):
            yield from _leaf_layers(layer.layers)
        else:
            yield layer


def _build_layers(
    spec: LayerSpec, name: str, width: int, rng: np.random.Generator, dtype: type
) -> tuple[list[Layer], int]:
    """Layers for one LayerSpec fed ``width`` features; returns them and the output width."""
    if spec.type == "dense":
        dense = Dense(
            width,
            spec.units,
            rng=rng,
            init=spec.init,
            init_scale=spec.init_scale,
            dtype=dtype,
            name=name,
        )
        layers: list[Layer] = [dense]
        if spec.activation != "linear":
            layers.append(make_activation(spec.activation, name_prefix=f"{name}."))
        return layers, spec.units
    if spec.type == "activation":
        return [make_activation(spec.activation, name_prefix=f"{name}.")], width
    if spec.type == "dropout":
        return [Dropout(spec.rate, rng=rng, name=name)], width
    if spec.type == "batchnorm":
        return [BatchNorm(width, dtype=dtype, name=name)], width
    inner: list[Layer] = []
    inner_width = width
    for j, sub in enumerate(spec.layers, 1):
        sub_layers, inner_width = _build_layers(
            sub, f"{name}.{sub.type}{j}", inner_width, rng, dtype
        )
        inner.extend(sub_layers)
    return [Residual(inner, name=name)], width


def block_activation(spec: LayerSpec) -> str:
    if spec.type in ("dense", "activation"):
        return spec.activation
    if spec.type == "residual":
        acts = [sub.activation for sub in spec.layers if sub.type in ("dense", "activation")]
        return acts[-1] if acts else ""
    return ""


class Network:
    """Sequential blocks ending in the 10-logit output, plus the loss that reads the logits."""

    def __init__(self, spec: NetworkSpec, blocks: list[Block], loss: Loss) -> None:
        self.spec = spec
        self.blocks = blocks
        self.loss = loss
        # Training runs over the layers directly: going through the blocks cost a Python call per
        # block each way, ~3% of a 784-128-64-10 step at batch 64.
        self._layers = [layer for block in blocks for layer in block.layers]
        self._dropouts = [
            (layer, layer.rate)
            for layer in _leaf_layers(self._layers)
            if isinstance(layer, Dropout)
        ]

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        """x: (B, 784) floats in [0, 1] -> logits (B, 10)."""
        for layer in self._layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dlogits: np.ndarray, *, input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate (B, 10) logit gradients; returns d/dx (B, 784) when input_grad."""
        layers = self._layers
        grad: np.ndarray | None = dlogits
        for i in range(len(layers) - 1, 0, -1):
            grad = layers[i].backward(grad)
        return layers[0].backward(grad, input_grad=input_grad)

    def parameters(self) -> list[Parameter]:
        return [p for block in self.blocks for p in block.params]

    def set_dropout_scale(self, scale: float) -> None:
        """Scale every dropout rate by ``scale`` (0 switches dropout off) without rebuilding."""
        for layer, rate in self._dropouts:
            layer.rate = rate * scale

    def named_arrays(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer by name: the live arrays (not copies)."""
        arrays = {p.name: p.value for p in self.parameters()}
        for layer in _leaf_layers(self._layers):
            for key, value in layer.buffers().items():
                arrays[f"{layer.name}.{key}"] = value
        return arrays

    def load_arrays(self, arrays: Mapping[str, np.ndarray], *, strict: bool = True) -> list[str]:
        """Copy arrays into the network by name; returns the names loaded.

        strict: every array of the network must be present with the same shape (ValueError saying
        which is missing or mismatched). Otherwise arrays whose name and shape match are loaded and
        the rest keep their current values.
        """
        loaded = []
        for name, target in self.named_arrays().items():
            source = arrays.get(name)
            if source is None or np.shape(source) != target.shape:
                if strict:
                    what = "missing" if source is None else f"shape {np.shape(source)}"
                    raise ValueError(f"weights for {name}: {what}, expected shape {target.shape}")
                continue
            target[...] = source
            loaded.append(name)
        return loaded

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.loss.predict_proba(self.forward(x, training=False))


def build_network(spec: NetworkSpec, rng: np.random.Generator, dtype: type = np.float32) -> Network:
    """Validate ``spec`` and build its network with weights drawn from ``rng``."""
    validate(spec)
    blocks = []
    width = spec.input_features
    for i, layer_spec in enumerate(spec.layers, 1):
        name = f"{layer_spec.type}{i}"
        layers, width = _build_layers(layer_spec, name, width, rng, dtype)
        blocks.append(Block(name, layer_spec.type, block_activation(layer_spec), layers))
    out = spec.output
    output = Dense(
        width,
        out.units,
        rng=rng,
        init=out.init,
        init_scale=out.init_scale,
        dtype=dtype,
        name="output",
    )
    blocks.append(Block("output", "output", out.activation, [output]))
    for block in blocks:
        block.params = [p for layer in block.layers for p in layer.parameters()]
    pack([p for block in blocks for p in block.params])
    network = Network(spec, blocks, make_loss(spec.loss, out.activation))
    network.set_dropout_scale(spec.hyperparams.dropout_scale)
    return network
