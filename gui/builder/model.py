"""The builder's editable state and the pure edits on it (no Qt): what an undo step swaps.

``Arch`` is the part of a NetworkSpec the builder owns (layers, output layer, loss); the
hyperparameters, name and description pass through, so undoing a layer edit never moves a slider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from engine.files.spec import (
    INPUT_FEATURES,
    Hyperparams,
    LayerSpec,
    NetworkSpec,
    OutputSpec,
    SpecError,
    dense,
    layer_errors,
    validate,
)
from engine.layers.cost import block_cost

#: Selection value meaning "the output layer" (layers are selected by their 0-based index).
OUTPUT = -1
#: Palette entries in the order the palette shows them.
PALETTE = ("dense", "dropout", "batchnorm", "residual", "activation")


@dataclass(frozen=True)
class Arch:
    layers: tuple[LayerSpec, ...]
    output: OutputSpec = field(default_factory=OutputSpec)
    loss: str = "cross_entropy"

    @classmethod
    def of(cls, spec: NetworkSpec) -> Arch:
        return cls(spec.layers, spec.output, spec.loss)

    def into(self, spec: NetworkSpec) -> NetworkSpec:
        return replace(spec, layers=self.layers, output=self.output, loss=self.loss)


def block_names(layers: tuple[LayerSpec, ...]) -> list[str]:
    """Top-level names as the engine gives them: "dense1", "dropout2", ..."""
    return [f"{layer.type}{i}" for i, layer in enumerate(layers, 1)]


def param_block_names(layers: tuple[LayerSpec, ...]) -> list[str]:
    """Names of the blocks that have parameters, input side first: the diagnostics rows."""
    kinds = ("dense", "batchnorm", "residual")
    return [
        n for n, layer in zip(block_names(layers), layers, strict=True) if layer.type in kinds
    ] + ["output"]


def input_width(layers: tuple[LayerSpec, ...], index: int) -> int:
    """Width fed to block ``index`` (the width after all blocks before it)."""
    width = INPUT_FEATURES
    for layer in layers[:index]:
        width = block_cost(layer, width)[2]
    return width


def default_block(kind: str, width: int) -> LayerSpec:
    """A sensible new block of ``kind`` placed where ``width`` features arrive; valid there."""
    if kind == "dense":
        return dense(64)
    if kind == "dropout":
        return LayerSpec("dropout", rate=0.2)
    if kind == "batchnorm":
        return LayerSpec("batchnorm")
    if kind == "activation":
        return LayerSpec("activation", activation="relu")
    if kind == "residual":
        # Bottleneck-free pair at the incoming width so y = x + F(x) adds up at once.
        return LayerSpec("residual", layers=(dense(width), dense(width, "linear")))
    raise ValueError(f"unknown block type {kind!r}")


def inserted(layers: tuple[LayerSpec, ...], index: int, layer: LayerSpec) -> tuple[LayerSpec, ...]:
    return (*layers[:index], layer, *layers[index:])


def removed(layers: tuple[LayerSpec, ...], index: int) -> tuple[LayerSpec, ...]:
    return (*layers[:index], *layers[index + 1 :])


def moved(layers: tuple[LayerSpec, ...], src: int, dst: int) -> tuple[LayerSpec, ...]:
    """Block ``src`` taken out and put back so that it ends at index ``dst``."""
    rest = removed(layers, src)
    return inserted(rest, dst, layers[src])


def edited(arch: Arch, selection: int, key: str, value: Any, inner: int = -1) -> Arch:
    """``arch`` with one setting changed on the selected block (or its inner layer ``inner``)."""
    if selection == OUTPUT:
        if key == "loss":
            return replace(arch, loss=value)
        return replace(arch, output=replace(arch.output, **{key: value}))
    layer = arch.layers[selection]
    if inner >= 0:
        inner_layers = list(layer.layers)
        inner_layers[inner] = replace(inner_layers[inner], **{key: value})
        layer = replace(layer, layers=tuple(inner_layers))
    else:
        layer = replace(layer, **{key: value})
    layers = list(arch.layers)
    layers[selection] = layer
    return replace(arch, layers=tuple(layers))


_LOCATION = re.compile(r"^layer (\d+)")


def arch_errors(arch: Arch) -> tuple[dict[int, list[str]], list[str]]:
    """Problems by block (0-based index, or OUTPUT) and those that belong to no block (depth)."""
    by_block: dict[int, list[str]] = {}
    messages = layer_errors(arch.layers)
    for message in messages:
        match = _LOCATION.match(message)
        index = int(match.group(1)) - 1 if match else OUTPUT
        by_block.setdefault(index, []).append(message)
    general: list[str] = []
    try:
        # Hyperparameters are not the builder's business: validate the architecture alone.
        validate(NetworkSpec(arch.layers, arch.output, arch.loss, Hyperparams()))
    except SpecError as exc:
        message = str(exc)
        if message not in messages:
            if message.startswith(("output", "loss", "cross-entropy")):
                by_block.setdefault(OUTPUT, []).append(message)
            else:
                general.append(message)
    return by_block, general


def describe(layer: LayerSpec) -> tuple[str, list[str]]:
    """Card title and detail lines for a block, as the diagram and the inspector show them."""
    if layer.type == "dense":
        return f"Dense {layer.units}", [
            f"{layer.activation}",
            f"init {layer.init} ×{layer.init_scale:g}",
        ]
    if layer.type == "dropout":
        return "Dropout", [f"rate {layer.rate:g}"]
    if layer.type == "batchnorm":
        return "BatchNorm", ["normalise, γ·x̂+β"]
    if layer.type == "activation":
        return "Activation", [layer.activation]
    lines = [f"{j}. {short(sub)}" for j, sub in enumerate(layer.layers, 1)]
    return "Residual", ["y = x + F(x)", *(lines or ["(no inner layers)"])]


def short(layer: LayerSpec) -> str:
    """One-line summary, used for residual inner layers."""
    if layer.type == "dense":
        return f"dense {layer.units} {layer.activation}"
    if layer.type == "dropout":
        return f"dropout {layer.rate:g}"
    if layer.type == "activation":
        return layer.activation
    return layer.type


def with_inner_added(arch: Arch, selection: int, kind: str) -> Arch:
    """A ``kind`` layer appended inside residual block ``selection`` (a dense one keeps the
    block's width, so F(x) still ends where x is)."""
    block = arch.layers[selection]
    width = input_width(arch.layers, selection)
    new = dense(width) if kind == "dense" else default_block(kind, width)
    return _with_block(arch, selection, replace(block, layers=(*block.layers, new)))


def with_inner_removed(arch: Arch, selection: int, inner: int) -> Arch:
    block = arch.layers[selection]
    kept = tuple(sub for j, sub in enumerate(block.layers) if j != inner)
    return _with_block(arch, selection, replace(block, layers=kept))


def _with_block(arch: Arch, index: int, layer: LayerSpec) -> Arch:
    layers = list(arch.layers)
    layers[index] = layer
    return replace(arch, layers=tuple(layers))
