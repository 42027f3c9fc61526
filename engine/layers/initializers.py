"""Weight initialisers: every scheme a course compares, all drawn from an injected Generator.

Each returns a ``(fan_in, fan_out)`` matrix for ``Y = X @ W``. Numbers are always drawn in float64
and then cast, so a float32 network and a float64 network built from the same seed start from the
same weights (up to rounding), and the stream does not depend on the dtype.
"""

from __future__ import annotations

import math

import numpy as np

from engine.files.spec import INITS


def initialize(
    scheme: str,
    fan_in: int,
    fan_out: int,
    *,
    rng: np.random.Generator,
    scale: float = 1.0,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """A new ``(fan_in, fan_out)`` weight matrix.

    ``scale`` multiplies the standard deviation (or the half-width for ``uniform``):

    - ``zeros``: all zero, the classic demonstration that identical units never break symmetry;
    - ``normal``: N(0, scale²);
    - ``uniform``: U(-scale, scale);
    - ``xavier`` (Glorot): N(0, scale² · 2 / (fan_in + fan_out)), suited to tanh/sigmoid;
    - ``he`` (Kaiming): N(0, scale² · 2 / fan_in), suited to ReLU;
    - ``lecun``: N(0, scale² / fan_in), suited to SELU/linear and a common tanh choice.

    Raises ValueError for an unknown scheme (listing the valid ones), non-positive fans or a
    negative or non-finite scale.
    """
    if scheme not in INITS:
        raise ValueError(f"unknown initialiser {scheme!r}; valid: {', '.join(INITS)}")
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"fan_in and fan_out must be >= 1, got {fan_in} and {fan_out}")
    if not (math.isfinite(scale) and scale >= 0):
        raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    shape = (fan_in, fan_out)
    if scheme == "zeros":
        return np.zeros(shape, dtype=dtype)
    if scheme == "uniform":
        return rng.uniform(-scale, scale, size=shape).astype(dtype, copy=False)
    std = (
        scale
        * {
            "normal": 1.0,
            "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
            "he": math.sqrt(2.0 / fan_in),
            "lecun": math.sqrt(1.0 / fan_in),
        }[scheme]
    )
    weights = rng.standard_normal(shape)
    weights *= std
    return weights.astype(dtype, copy=False)
