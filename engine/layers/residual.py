"""The residual block ``y = x + F(x)``: an identity shortcut around a short stack of layers."""

from __future__ import annotations

import numpy as np

from engine.layers.base import Layer
from engine.layers.parameter import Parameter


class Residual(Layer):
    """``y = x + F(x)`` where F applies ``layers`` in sequence; F must keep the width.

    Backward: ``dx = g + dF/dx(g)``: the shortcut passes the gradient through unchanged, which is
    why deep residual networks keep training where plain ones stall.
    Shapes: x, y ``(B, F)``.
    """

    kind = "residual"

    def __init__(self, layers: list[Layer], *, name: str = "residual") -> None:
        if not layers:
            raise ValueError(f"{name}: a residual block needs at least one inner layer")
        stateful = [layer.name for layer in layers if layer.buffers()]
        if len(set(stateful)) != len(stateful):
            raise ValueError(
                f"{name}: inner layers with buffers need distinct names, got {stateful}"
            )
        self.name = name
        self.layers = list(layers)
        self.output: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        h = x
        for layer in self.layers:
            h = layer.forward(h, training=training)
        y = self._y
        if y is None or y.shape != x.shape or y.dtype != h.dtype:
            y = self._y = np.empty(x.shape, dtype=h.dtype)
        np.add(x, h, out=y)
        self.output = y
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        g = grad_out
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            # The first inner layer's input gradient is only needed when ours is.
            g = self.layers[i].backward(g, input_grad=input_grad or i > 0)
        if not input_grad:
            return None
        dx = self._dx
        if dx is None or dx.shape != grad_out.shape or dx.dtype != grad_out.dtype:
            dx = self._dx = np.empty_like(grad_out)
        np.add(grad_out, g, out=dx)
        return dx

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def buffers(self) -> dict[str, np.ndarray]:
        """Inner buffers keyed ``"<inner layer name>.<buffer>"``."""
        return {
            f"{layer.name}.{key}": value
            for layer in self.layers
            for key, value in layer.buffers().items()
        }

    def output_features(self, input_features: int) -> int:
        width = input_features
        for layer in self.layers:
            width = layer.output_features(width)
        if width != input_features:
            raise ValueError(
                f"{self.name}: inner layers end at width {width} but the input has width "
                f"{input_features}; y = x + F(x) needs both the same"
            )
        return input_features
