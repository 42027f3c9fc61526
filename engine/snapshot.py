"""Immutable records the trainer hands out: what views draw. Arrays inside are read-only copies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from engine.files.spec import NetworkSpec

# Percentiles of TensorBoard's "distributions" view (a band per pair, the median in the middle).
PERCENTILES = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy: receivers of a Qt ``Signal(object)`` get the very same object."""
    out = np.array(array, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Diagnostics:
    """Per-layer health, one entry per parametrised block from input side to output side.

    Every array has shape ``(L,)`` (percentiles ``(L, 9)``) and dtype float64. Values that do not
    apply (dead fraction of a sigmoid layer) are NaN.
    """

    layer_names: tuple[str, ...]
    activations: tuple[str, ...]  # the block's activation function ("" when none)
    grad_norm: np.ndarray  # L2 norm of all the block's parameter gradients
    grad_mean_abs: np.ndarray  # mean |g| over the block's parameters
    grad_max_abs: np.ndarray
    weight_norm: np.ndarray  # L2 norm of the block's weights (all parameters)
    update_ratio_log10: np.ndarray  # log10(||Δw|| / ||w||) of the last update; healthy ≈ -3
    act_mean: np.ndarray  # mean of the block's output activations
    act_std: np.ndarray
    dead_fraction: np.ndarray  # ReLU-family: fraction of units inactive for the whole batch
    saturated_fraction: np.ndarray  # sigmoid/tanh: fraction of outputs in the flat tails
    # (L, 9) at PERCENTILES; None until computed (see diagnostics.with_percentiles)
    weight_percentiles: np.ndarray | None
    grad_percentiles: np.ndarray | None


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based number of the epoch just finished
    step: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float


@dataclass(frozen=True)
class StepSnapshot:
    """State after ``step`` steps, plus every per-step value since the previous snapshot.

    ``losses``, ``steps``, ``learning_rates`` have shape ``(k,)`` and ``grad_norms`` ``(k, L)``:
    one row per step taken since the previous snapshot, so a curve drops no point.
    """

    step: int
    epoch: int  # completed epochs
    epoch_progress: float  # 0..1 through the current epoch
    samples_seen: int
    elapsed: float  # seconds spent training
    samples_per_second: float
    steps: np.ndarray
    losses: np.ndarray
    learning_rates: np.ndarray
    grad_norms: np.ndarray
    diagnostics: Diagnostics | None
    epochs: tuple[EpochRecord, ...]  # epochs finished since the previous snapshot
    weights: Mapping[str, np.ndarray]  # parameter name -> read-only copy ("hidden1.W", ...)
    spec: NetworkSpec
    status: str  # "running" | "paused" | "diverged" | "finished"
    message: str = ""  # for "diverged": which layer turned NaN/Inf first, and what to try
    # Parameter name -> read-only copy of its last gradient, only in snapshots whose percentiles
    # are left to the receiver (diagnostics.with_percentiles); empty otherwise.
    gradients: Mapping[str, np.ndarray] = field(default_factory=dict)
