"""The Layer protocol every engine layer follows (batch-first arrays)."""

from __future__ import annotations

import numpy as np

from engine.layers.parameter import Parameter


def fit_buffer(buf: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """``buf`` when it matches ``like``'s shape and dtype, else a new empty array like it.

    Layers keep their outputs and gradients in buffers reused from step to step: fresh per-step
    temporaries are returned to the OS and faulted in again, which made throughput swing by 60%.
    """
    if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
        return np.empty(like.shape, dtype=like.dtype)
    return buf


class Layer:
    """One differentiable step ``y = f(x)`` on batch-first arrays ``(B, features)``.

    ``forward`` caches what ``backward`` needs. ``backward(grad_out)`` writes the gradient of every
    parameter into ``Parameter.grad`` (overwriting) and returns the gradient with respect to the
    input; when ``input_grad`` is False the layer may skip that product and return None (the first
    layer of a network never needs it, and it is the most expensive GEMM of the backward pass).

    Arrays a layer returns may be its own preallocated buffers, valid until its next call: copy
    them if you keep them.
    """

    name: str = "layer"
    kind: str = "layer"

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        return []

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state saved with a model (batch-norm running statistics)."""
        return {}

    def output_features(self, input_features: int) -> int:
        """Width of the output for a given input width (layers that keep the width return it)."""
        return input_features
