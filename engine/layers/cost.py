"""Size of a network before it is built: trainable parameters and multiply-adds per sample.

Pure arithmetic on a spec, so the builder can show totals for every edit (even an invalid network:
each block is costed at the width it is actually fed). Batch-norm counts its ``gamma`` and ``beta``
(running statistics are buffers, not parameters) and one multiply-add per feature for the affine
step; activations, dropout and the residual ``x +`` are element-wise and count no multiply-adds.
"""

from __future__ import annotations

from engine.files.spec import INPUT_FEATURES, LayerSpec, NetworkSpec


def block_cost(layer: LayerSpec, in_width: int) -> tuple[int, int, int]:
    """Per-sample ``(parameters, multiply_adds, out_width)`` of a block fed ``in_width`` wide."""
    if layer.type == "dense":
        units = int(layer.units)
        return in_width * units + units, in_width * units, units
    if layer.type == "batchnorm":
        return 2 * in_width, in_width, in_width
    if layer.type == "residual":
        params, macs, _ = _chain_cost(layer.layers, in_width)
        # y = x + F(x) keeps the input width whatever F ends at (a mismatch is a spec error).
        return params, macs, in_width
    return 0, 0, in_width  # activation, dropout


def _chain_cost(layers: tuple[LayerSpec, ...], in_width: int) -> tuple[int, int, int]:
    """``block_cost`` of blocks fed one into the next: summed parameters and multiply-adds, and
    the last block's output width."""
    params = macs = 0
    width = in_width
    for layer in layers:
        p, m, width = block_cost(layer, width)
        params += p
        macs += m
    return params, macs, width


def layer_widths(layers: tuple[LayerSpec, ...], in_width: int = INPUT_FEATURES) -> list[int]:
    """Output width of each block, in order (len == len(layers))."""
    widths = []
    width = in_width
    for layer in layers:
        width = block_cost(layer, width)[2]
        widths.append(width)
    return widths


def network_cost(spec: NetworkSpec) -> tuple[int, int]:
    """``(parameters, multiply_adds)`` per sample, including the output layer."""
    params, macs, width = _chain_cost(spec.layers, spec.input_features)
    units = spec.output.units
    params += width * units + units
    macs += width * units
    return params, macs
