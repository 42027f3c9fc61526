"""Whole-network edits of a spec: the fixes the course teaches and the init knobs.

Each function maps a NetworkSpec to a new one and leaves validation to the caller: the gradient
alerts offer them as one-click fixes, the hyperparameter panel's init knobs use ``with_init``.
"""

from __future__ import annotations

from dataclasses import replace

from engine.files.spec import MAX_DEPTH, LayerSpec, NetworkSpec, depth

SATURATING = ("sigmoid", "tanh")
RELU_FAMILY = ("relu", "leaky_relu", "elu")


def dense_layers(layers: tuple[LayerSpec, ...]):
    """Every dense layer, residual blocks' inner ones included, in order."""
    for layer in layers:
        if layer.type == "dense":
            yield layer
        elif layer.type == "residual":
            yield from dense_layers(layer.layers)


def scaled_or_plain_init(layer: LayerSpec) -> bool:
    """An init the course calls risky: scaled away from 1 or not designed for depth."""
    return layer.init_scale != 1.0 or layer.init in ("normal", "uniform", "zeros")


def _map_layers(layers: tuple[LayerSpec, ...], fn) -> tuple[LayerSpec, ...]:
    """Apply ``fn`` to every layer, recursing into residual blocks."""
    out = []
    for layer in layers:
        if layer.type == "residual":
            layer = replace(layer, layers=_map_layers(layer.layers, fn))
        out.append(fn(layer))
    return tuple(out)


def with_relu_he(spec: NetworkSpec) -> NetworkSpec:
    """sigmoid/tanh → ReLU everywhere; every hidden dense layer He-initialised at scale 1."""

    def fix(layer: LayerSpec) -> LayerSpec:
        act = "relu" if layer.activation in SATURATING else layer.activation
        if layer.type == "dense":
            return replace(layer, activation=act, init="he", init_scale=1.0)
        if layer.type == "activation":
            return replace(layer, activation=act)
        return layer

    return replace(spec, layers=_map_layers(spec.layers, fix))


def with_leaky_relu(spec: NetworkSpec) -> NetworkSpec:
    def fix(layer: LayerSpec) -> LayerSpec:
        if layer.type in ("dense", "activation") and layer.activation == "relu":
            return replace(layer, activation="leaky_relu")
        return layer

    return replace(spec, layers=_map_layers(spec.layers, fix))


def with_standard_init(spec: NetworkSpec) -> NetworkSpec:
    """The init each activation was designed for: He for the ReLU family, else Xavier; scale 1."""

    def fix(layer: LayerSpec) -> LayerSpec:
        if layer.type != "dense":
            return layer
        init = "he" if layer.activation in RELU_FAMILY else "xavier"
        return replace(layer, init=init, init_scale=1.0)

    return replace(spec, layers=_map_layers(spec.layers, fix))


def with_softmax_cross_entropy(spec: NetworkSpec) -> NetworkSpec:
    """Softmax output with cross-entropy: its gradient p − y has no saturating slope in it."""
    return replace(spec, output=replace(spec.output, activation="softmax"), loss="cross_entropy")


def with_batchnorm(spec: NetworkSpec) -> NetworkSpec:
    """Batch norm between every top-level dense layer and its activation, as in Ioffe & Szegedy.

    dense(act) becomes dense(linear) → batchnorm → activation(act). When that would exceed
    MAX_DEPTH, batch norm goes after the dense layer instead (one block per layer, not two).
    """
    layers = spec.layers
    for before_activation in (True, False):
        out: list[LayerSpec] = []
        for i, layer in enumerate(layers):
            followed = i + 1 < len(layers) and layers[i + 1].type == "batchnorm"
            if layer.type != "dense" or followed:
                out.append(layer)
            elif before_activation and layer.activation != "linear":
                out += [
                    replace(layer, activation="linear"),
                    LayerSpec("batchnorm"),
                    LayerSpec("activation", activation=layer.activation),
                ]
            else:
                out += [layer, LayerSpec("batchnorm")]
        if depth(tuple(out)) <= MAX_DEPTH:
            return replace(spec, layers=tuple(out))
    return replace(spec, layers=tuple(out))  # too deep either way: validation rejects it


def with_residual(spec: NetworkSpec) -> NetworkSpec:
    """Wrap every top-level dense layer that keeps its width in ``residual(dense)``.

    y = x + F(x) needs F to end at its input width, so the first layer (784 → n) and layers that
    change width stay as they are; a batch norm right after a wrapped layer moves inside with it.
    """
    width, out, i = spec.input_features, [], 0
    layers = spec.layers
    while i < len(layers):
        layer = layers[i]
        if layer.type == "dense" and layer.units == width:
            inner = [layer]
            if i + 1 < len(layers) and layers[i + 1].type == "batchnorm":
                inner.append(layers[i + 1])
                i += 1
            out.append(LayerSpec("residual", layers=tuple(inner)))
        else:
            out.append(layer)
            if layer.type == "dense":
                width = layer.units
        i += 1
    return replace(spec, layers=tuple(out))


def with_init(spec: NetworkSpec, scheme: str, scale: float) -> NetworkSpec:
    """Every dense layer (residual ones too) and the output drawn with ``scheme`` at ``scale``."""

    def change(layer: LayerSpec) -> LayerSpec:
        if layer.type == "dense":
            return replace(layer, init=scheme, init_scale=scale)
        if layer.type == "residual":
            return replace(layer, layers=tuple(change(sub) for sub in layer.layers))
        return layer

    output = replace(spec.output, init=scheme, init_scale=scale)
    return replace(spec, layers=tuple(change(layer) for layer in spec.layers), output=output)


def init_of(spec: NetworkSpec) -> tuple[str, float]:
    """The (scheme, scale) the panel shows: the first dense layer's, else the output's."""
    for layer in spec.layers:
        if layer.type == "dense":
            return layer.init, layer.init_scale
    return spec.output.init, spec.output.init_scale
