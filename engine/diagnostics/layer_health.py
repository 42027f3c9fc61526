"""Per-layer health measurements: gradient norms every step, the full set on request.

The cheap part (one BLAS dot per parameter) runs every step because clipping and NaN detection need
the same sums. The full set (mean/max |g|, weight norms, update ratios, activation statistics) costs
a few passes over every array and is computed only on the steps a caller asks for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from engine.diagnostics.percentiles import percentiles_of_groups
from engine.layers.network import Block, Network
from engine.layers.parameter import Parameter
from engine.snapshot import PERCENTILES, Diagnostics, StepSnapshot, frozen

RELU_FAMILY = ("relu", "leaky_relu", "elu")
# A unit is saturated where its derivative is below 5% of its peak:
# sigmoid' = s(1-s) < 0.0125 <=> s < 0.0127 or s > 0.9873; tanh' = 1-t² < 0.05 <=> |t| > 0.9747.
SIGMOID_LOW, SIGMOID_HIGH = 0.0127, 0.9873
TANH_LIMIT = 0.9747


def diag_blocks(network: Network) -> list[Block]:
    """The blocks that own parameters: the rows of every diagnostic view."""
    return [block for block in network.blocks if block.params]


def _sumsq(array: np.ndarray) -> float:
    # vdot flattens by itself: one call, as fast as dot on a ravelled view (~1 µs less per array).
    return float(np.vdot(array, array))


def grad_sumsq(blocks: list[Block], out: np.ndarray) -> np.ndarray:
    """Sum of squared gradients per block into ``out`` (L,); NaN/Inf propagate.

    A float32 sum overflows to Inf past ~1e38 (a norm of ~1e19): that counts as exploded. Runs every
    step inside Trainer.step, whose np.errstate already silences that overflow.
    """
    vdot = np.vdot  # runs every step: no helper call per parameter
    for i, block in enumerate(blocks):
        total = 0.0
        for p in block.params:
            g = p.grad
            total += float(vdot(g, g))
        out[i] = total
    return out


def first_nonfinite_output(network: Network) -> str | None:
    """Name of the first block (input side) whose last output holds NaN or Inf."""
    for block in network.blocks:
        if block.output is not None and not np.isfinite(block.output).all():
            return block.name
    return None


def first_nonfinite_grad(blocks: list[Block], sumsq: np.ndarray) -> str | None:
    """Name of the block nearest the output whose gradient is NaN or Inf (where backprop broke)."""
    for i in range(len(blocks) - 1, -1, -1):
        if not np.isfinite(sumsq[i]):
            return blocks[i].name
    return None


def _activation_stats(block: Block) -> tuple[float, float, float, float]:
    out = block.output
    if out is None or out.size == 0:
        return (np.nan,) * 4  # type: ignore[return-value]
    # np.mean/np.std's own steps (float32 sums, then divide) without their Python wrappers,
    # which cost more than the arithmetic for small layers: the same numbers.
    size = out.size
    mean = np.add.reduce(out, axis=None) / size
    centred = np.subtract(out, mean)
    np.multiply(centred, centred, out=centred)
    std = np.sqrt(np.add.reduce(centred, axis=None) / size)
    dead = saturated = np.nan
    if block.activation in RELU_FAMILY:
        # Dead: never active for any sample of the batch (ELU and leaky pass negatives, but their
        # positive side is what learns). Active somewhere <=> the batch maximum is positive.
        active = np.maximum.reduce(out, axis=0) > 0
        dead = 1.0 - float(np.count_nonzero(active)) / active.size
    elif block.activation == "sigmoid":
        saturated = float(np.count_nonzero((out < SIGMOID_LOW) | (out > SIGMOID_HIGH))) / size
    elif block.activation == "tanh":
        saturated = float(np.count_nonzero(np.abs(out) > TANH_LIMIT)) / size
    return float(mean), float(std), dead, saturated


def full_diagnostics(
    network: Network,
    grad_norms: np.ndarray,
    update_norms: Mapping[Parameter, float] | None,
    *,
    percentiles: bool = False,
) -> Diagnostics:
    """Everything the gradient views draw, for the step just taken.

    grad_norms: (L,) per-block gradient L2 norms already computed this step (before clipping).
    update_norms: the optimizer's measured update norms for this step, or None.
    percentiles: also compute weight/gradient percentiles (a selection per block); else their
    fields are None.
    """
    blocks = diag_blocks(network)
    n = len(blocks)
    cols = {
        key: np.full(n, np.nan)
        for key in (
            "grad_mean_abs",
            "grad_max_abs",
            "weight_norm",
            "update_ratio_log10",
            "act_mean",
            "act_std",
            "dead_fraction",
            "saturated_fraction",
        )
    }
    add_reduce, max_reduce = np.add.reduce, np.maximum.reduce
    for i, block in enumerate(blocks):
        size = sum(p.size for p in block.params)
        abs_sum = 0.0
        abs_max = 0.0
        wsq = 0.0
        usq = 0.0
        for p in block.params:
            g = np.abs(p.grad)
            abs_sum += float(add_reduce(g, axis=None))  # = g.sum(), without the method wrapper
            abs_max = max(abs_max, float(max_reduce(g, axis=None)))
            wsq += _sumsq(p.value)
            if update_norms is not None:
                usq += update_norms.get(p, 0.0) ** 2
        wnorm = float(np.sqrt(wsq))
        cols["grad_mean_abs"][i] = abs_sum / max(size, 1)
        cols["grad_max_abs"][i] = abs_max
        cols["weight_norm"][i] = wnorm
        if update_norms is not None and wnorm > 0 and usq > 0:
            cols["update_ratio_log10"][i] = np.log10(np.sqrt(usq) / wnorm)
        stats = _activation_stats(block)
        for key, value in zip(
            ("act_mean", "act_std", "dead_fraction", "saturated_fraction"), stats, strict=True
        ):
            cols[key][i] = value
    wp = gp = None
    if percentiles:
        wp, gp = _percentile_rows(
            [[p.value for p in b.params] for b in blocks],
            [[p.grad for p in b.params] for b in blocks],
        )
    return Diagnostics(
        layer_names=tuple(block.name for block in blocks),
        activations=tuple(block.activation for block in blocks),
        grad_norm=frozen(np.asarray(grad_norms, dtype=np.float64)),
        weight_percentiles=wp,
        grad_percentiles=gp,
        **{key: frozen(value) for key, value in cols.items()},
    )


def _percentile_rows(
    weights: Sequence[Sequence[np.ndarray]], grads: Sequence[Sequence[np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Read-only (L, 9) percentiles of each layer's weights and of its gradients."""
    n = len(weights)
    if not n:
        empty = frozen(np.empty((0, len(PERCENTILES))))
        return empty, empty
    # All layers in one radix selection: np.percentile per array took ~20% of training time at
    # 30 snapshots a second (see engine.diagnostics.percentiles).
    both = percentiles_of_groups([*weights, *grads], PERCENTILES)
    return frozen(both[:n]), frozen(both[n:])


def with_percentiles(snapshot: StepSnapshot) -> StepSnapshot:
    """The snapshot with its percentiles computed from the weight and gradient copies it carries.

    ``Trainer.snapshot(percentiles=False)`` leaves them to the receiver: the GUI's training process
    then spends ~0.1 ms copying gradients instead of ~1.3 ms selecting percentiles (784-128-64-10),
    and the GUI process, on the other core, does the selection. The gradient copies are dropped
    from the result. A snapshot that has its percentiles, or no diagnostics, is returned as it is.
    """
    diag = snapshot.diagnostics
    if diag is None or diag.weight_percentiles is not None:
        return snapshot
    weights, grads = snapshot.weights, snapshot.gradients
    # Parameters are named "<layer>.<...>" (engine.layers.network); gradients exist only for
    # parameters, while ``weights`` also holds buffers such as batch-norm running statistics.
    names = [[key for key in grads if key.startswith(f"{layer}.")] for layer in diag.layer_names]
    wp, gp = _percentile_rows(
        [[weights[key] for key in keys] for keys in names],
        [[grads[key] for key in keys] for keys in names],
    )
    diag = replace(diag, weight_percentiles=wp, grad_percentiles=gp)
    return replace(snapshot, diagnostics=diag, gradients={})
