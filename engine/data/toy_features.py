"""Input features of toy points (TF Playground's x1, x2, x1², x2², x1·x2, sin x1, sin x2), and
the grid of the plane on which the decision boundary and unit thumbnails are drawn.

A network on toy data sees the chosen features, in the order given, as its input columns; the
features are computed once per data set (and once per grid), not per step.

Every feature is scaled into [-1, 1] over the plane ``[-PLANE, PLANE]²``: ``x1`` is fed as
``x1 / PLANE``, ``x1²`` as ``(x1 / PLANE)²``, ``x1·x2`` as ``x1·x2 / PLANE²``; ``sin x1`` is
already in range and keeps the plane's units, so it makes about two waves across the plane, as in
TF Playground. Why scale: a 2-2-1 tanh network fed raw coordinates (up to ±6) found XOR from 13
of 20 initialisations; fed the scaled ones with small initial weights, from 39 of 40
(benchmarks/toy_presets.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from engine.data.toy_data import PLANE

#: Spec name -> (label for people, the coordinate columns it reads).
FEATURES: dict[str, tuple[str, tuple[int, ...]]] = {
    "x1": ("X₁", (0,)),
    "x2": ("X₂", (1,)),
    "x1_squared": ("X₁²", (0,)),
    "x2_squared": ("X₂²", (1,)),
    "x1_times_x2": ("X₁X₂", (0, 1)),
    "sin_x1": ("sin(X₁)", (0,)),
    "sin_x2": ("sin(X₂)", (1,)),
}
DEFAULT_FEATURES = ("x1", "x2")


def feature_names(dims: int = 2) -> tuple[str, ...]:
    """The features available for points with ``dims`` coordinates (1-D data has only x1's)."""
    return tuple(name for name, (_, cols) in FEATURES.items() if max(cols) < dims)


def validate_features(names: Sequence[str], *, dims: int = 2) -> tuple[str, ...]:
    """``names`` as a tuple when every name is a known feature of ``dims``-D points, used once.

    Raises ValueError naming the first problem and the valid choices.
    """
    names = tuple(names)
    valid = feature_names(dims)
    if not names:
        raise ValueError(f"choose at least one input feature; valid: {', '.join(valid)}")
    for name in names:
        if name not in FEATURES:
            raise ValueError(f"unknown input feature {name!r}; valid: {', '.join(valid)}")
        if name not in valid:
            raise ValueError(
                f"input feature {name!r} needs 2-D points; this data is {dims}-D "
                f"(valid: {', '.join(valid)})"
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"input feature(s) chosen twice: {', '.join(repeated)}")
    return names


def compute_features(
    points: np.ndarray, names: Sequence[str], *, out: np.ndarray | None = None
) -> np.ndarray:
    """``(N, F)`` float32: feature ``names[j]`` of every point in column ``j``.

    ``points``: (N, D) with D = 2 (or 1, x1-only features). ``out``, when given, must be a
    float32 ``(N, F)`` array; it is filled and returned (no allocation).
    """
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] not in (1, 2):
        raise ValueError(f"points must have shape (N, 2) or (N, 1), got {points.shape}")
    names = validate_features(names, dims=points.shape[1])
    shape = (len(points), len(names))
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"out must be float32 of shape {shape}, got {out.dtype} {out.shape}")
    for j, name in enumerate(names):
        column = out[:, j]
        cols = FEATURES[name][1]
        x = points[:, cols[0]]
        if name.startswith("sin_"):
            np.sin(x, out=column)
            continue
        np.multiply(x, 1.0 / PLANE, out=column)
        if name.endswith("_squared"):
            column *= column
        elif name == "x1_times_x2":
            column *= points[:, cols[1]]
            column *= 1.0 / PLANE
    return out


@functools.lru_cache(maxsize=8)
def plane_grid(resolution: int = 100) -> np.ndarray:
    """``(resolution², 2)`` float32, read-only: the centres of a ``resolution × resolution``
    grid of square cells covering ``[-PLANE, PLANE]²``.

    Row-major with x1 varying fastest and x2 increasing from row to row, so a network's output
    over the grid, reshaped to ``(resolution, resolution)``, is an image whose row 0 is the
    bottom of the plane (x2 = -PLANE side): what ``pg.ImageItem(axisOrder="row-major")`` shows
    with the y axis pointing up.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"grid resolution must be a whole number >= 2, got {resolution!r}")
    half_cell = PLANE / resolution
    ticks = np.linspace(-PLANE + half_cell, PLANE - half_cell, resolution)
    x1, x2 = np.meshgrid(ticks, ticks)  # x2 constant along each row
    grid = np.stack([x1.ravel(), x2.ravel()], axis=1).astype(np.float32)
    grid.flags.writeable = False
    return grid


def grid_features(names: Sequence[str], resolution: int = 100) -> np.ndarray:
    """``(resolution², F)`` float32: the features of :func:`plane_grid` (a new array)."""
    return compute_features(plane_grid(resolution), names)
