"""Element-wise activation layers (ReLU family, sigmoid, tanh, identity) and the softmax layer.

Every layer keeps its last output in ``output`` and computes its backward pass from that output
alone (no input mask is cached), so a forward pass in evaluation mode does no extra work. Output and
gradient buffers are reused while the input shape and dtype stay the same.
"""

from __future__ import annotations

import numpy as np

from engine.layers.base import Layer, fit_buffer


class _Activation(Layer):
    """Shared state: name, cached output, and the output / input-gradient buffers."""

    kind = "activation"

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name if name is not None else self.kind
        self.output: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        y = self._forward(x, self._out_buffer(x))
        self.output = y
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        if not input_grad:
            return None
        return self._backward(grad_out, self._grad_buffer(grad_out))

    def _forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Write f(x) into the preallocated ``y`` (same shape as x) and return it."""
        raise NotImplementedError

    def _backward(self, grad_out: np.ndarray, dx: np.ndarray) -> np.ndarray:
        """Write f'·grad_out into the preallocated ``dx``, using ``self.output``; return it."""
        raise NotImplementedError

    def _out_buffer(self, x: np.ndarray) -> np.ndarray:
        self._y = fit_buffer(self._y, x)
        return self._y

    def _grad_buffer(self, g: np.ndarray) -> np.ndarray:
        if self.output is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        self._dx = fit_buffer(self._dx, g)
        return self._dx

    def _mask_buffer(self, g: np.ndarray) -> np.ndarray:
        # A preallocated boolean mask: a fresh (B, F) temporary per step would be returned to the
        # OS and faulted in again each step once it is large.
        mask = self._mask
        if mask is None or mask.shape != g.shape:
            mask = self._mask = np.empty(g.shape, dtype=bool)
        return mask


class ReLU(_Activation):
    """``max(x, 0)``; gradient 1 where the output is positive, else 0 (0 at the kink)."""

    kind = "relu"

    def _forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        np.maximum(x, 0, out=y)
        return y

    def _backward(self, grad_out: np.ndarray, dx: np.ndarray) -> np.ndarray:
        # Multiplying by a boolean mask is as fast as by a float one and far faster than
        # np.copyto(..., where=mask).
        mask = np.greater(self.output, 0, out=self._mask_buffer(grad_out))
        np.multiply(grad_out, mask, out=dx)
        return dx


class LeakyReLU(_Activation):
    """``x`` for x > 0, ``alpha·x`` otherwise (0 <= alpha <= 1), so no unit is ever fully dead."""

    kind = "leaky_relu"

    def __init__(self, alpha: float = 0.01, *, name: str | None = None) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"LeakyReLU alpha must be in [0, 1], got {alpha!r}")
        super().__init__(name=name)
        self.alpha = float(alpha)

    def _forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        np.multiply(x, self.alpha, out=y)
        np.maximum(x, y, out=y)  # max(x, αx) is the leaky ReLU for 0 <= α <= 1
        return y

    def _backward(self, grad_out: np.ndarray, dx: np.ndarray) -> np.ndarray:
        np.greater(self.output, 0, out=dx)  # slope = α + (1 - α)·[x > 0]
        dx *= 1.0 - self.alpha
        dx += self.alpha
        dx *= grad_out
        return dx


class ELU(_Activation):
    """``x`` for x > 0, ``alpha·(exp(x) - 1)`` otherwise; slope there is ``y + alpha``."""

    kind = "elu"

    def __init__(self, alpha: float = 1.0, *, name: str | None = None) -> None:
        if not alpha > 0.0:
            raise ValueError(f"ELU alpha must be > 0, got {alpha!r}")
        super().__init__(name=name)
        self.alpha = float(alpha)
        self._pos: np.ndarray | None = None

    def _forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._pos = pos = fit_buffer(self._pos, x)
        # exp only ever sees min(x, 0), so it cannot overflow.
        np.minimum(x, 0, out=y)
        np.expm1(y, out=y)
        y *= self.alpha
        np.maximum(x, 0, out=pos)
        y += pos
        return y

    def _backward(self, grad_out: np.ndarray, dx: np.ndarray) -> np.ndarray:
        y = self.output
        # slope = 1 + [y <= 0]·(y + α - 1): y + α on the negative side, 1 on the positive side.
        np.add(y, self.alpha - 1.0, out=dx)
        dx *= np.less_equal(y, 0, out=self._mask_buffer(grad_out))
        dx += 1.0
        dx *= grad_out
        return dx


class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))`` computed as ``0.5 + 0.5·tanh(x / 2)``.

    The tanh form never overflows for any input and any dtype (so no warnings, no clipping), and is
    faster than the exp form in NumPy. It is exact in absolute terms; far in the tails (|x| > 17 in
    float32) it returns exactly 0 or 1 instead of a tiny number, which also keeps denormals out of
    the next matrix product. Gradient: ``y·(1 - y)``.
    """

    kind = "sigmoid"

    def _forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        np.multiply(x, 0.5, out=y)
        np.tanh(y, out=y)
        y *= 0.5
        y += 0.5
        return y

    def _backward(self, grad_out: np.ndarray, dx: np.ndarray) -> np.ndarray:
        np.subtract(1.0, self.output, out=dx)
        dx *= self.output
        dx *= grad_out
        return dx


class Tanh(_Activation):
    """``tanh(x)``; gradient ``1 - y²``."""

    kind = "tanh"

    def _forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        np.tanh(x, out=y)
        return y

    def _backward(self, grad_out: np.ndarray, dx: np.ndarray) -> np.ndarray:
        np.multiply(self.output, self.output, out=dx)
        np.subtract(1.0, dx, out=dx)
        dx *= grad_out
        return dx


class Linear(_Activation):
    """The identity. Returns its input and the incoming gradient themselves (no copies)."""

    kind = "linear"

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        self.output = x
        return x

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        return grad_out if input_grad else None


class Softmax(_Activation):
    """Row-wise softmax ``(B, C) -> (B, C)``, shifted by the row maximum so exp cannot overflow.

    Backward is the full Jacobian-vector product ``dx = s · (g - Σ_c g·s)``. (Cross-entropy fuses
    softmax into the loss instead; this layer serves MSE on softmax outputs.)
    """

    kind = "softmax"

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._col: np.ndarray | None = None

    def _col_buffer(self, x: np.ndarray) -> np.ndarray:
        col = self._col
        if col is None or col.shape[0] != x.shape[0] or col.dtype != x.dtype:
            col = self._col = np.empty((x.shape[0], 1), dtype=x.dtype)
        return col

    def _forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        col = self._col_buffer(x)
        np.maximum.reduce(x, axis=1, keepdims=True, out=col)
        np.subtract(x, col, out=y)
        np.exp(y, out=y)
        np.add.reduce(y, axis=1, keepdims=True, out=col)
        y /= col
        return y

    def _backward(self, grad_out: np.ndarray, dx: np.ndarray) -> np.ndarray:
        s = self.output
        col = self._col_buffer(grad_out)
        np.multiply(grad_out, s, out=dx)
        np.add.reduce(dx, axis=1, keepdims=True, out=col)
        np.subtract(grad_out, col, out=dx)
        dx *= s
        return dx


#: Spec name -> layer class, for every activation a layer may use (softmax only as an output).
ACTIVATION_LAYERS: dict[str, type[_Activation]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "linear": Linear,
    "softmax": Softmax,
}


def make_activation(name: str, *, name_prefix: str = "") -> Layer:
    """A new activation layer for a spec name, named ``name_prefix + name`` (default settings).

    Raises ValueError for an unknown name, listing the valid ones.
    """
    cls = ACTIVATION_LAYERS.get(name)
    if cls is None:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATION_LAYERS)}")
    return cls(name=f"{name_prefix}{name}")
