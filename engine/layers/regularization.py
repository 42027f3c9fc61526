"""Layers that behave differently in training and evaluation: inverted dropout and batch norm."""

from __future__ import annotations

import numpy as np

from engine.layers.base import Layer, fit_buffer
from engine.layers.parameter import Parameter


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale the
    survivors by ``1 / (1 - rate)`` so the expected activation is unchanged; in evaluation (or at
    rate 0) the identity, returning its input itself.

    ``rate`` may be changed between steps (the trainer scales it with a slider). The mask comes from
    the injected ``rng``; restoring ``rng.bit_generator.state`` reproduces it exactly.
    """

    kind = "dropout"

    def __init__(self, rate: float, *, rng: np.random.Generator, name: str = "dropout") -> None:
        self.name = name
        self.rng = rng
        self.rate = rate
        self.output: np.ndarray | None = None
        self._mask: np.ndarray | None = None  # 0 or 1/(1-rate), the layer's dtype
        self._y: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._active = False  # whether the last forward applied a mask

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{self.name}: dropout rate must be in [0, 1), got {value!r}")
        self._rate = float(value)

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        self._active = training and self._rate > 0.0
        if not self._active:
            self.output = x
            return x
        self._mask = mask = fit_buffer(self._mask, x)
        self.rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, self._rate, out=mask)  # keep with probability 1 - rate
        mask *= 1.0 / (1.0 - self._rate)
        self._y = y = fit_buffer(self._y, x)
        np.multiply(x, mask, out=y)
        self.output = y
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        if not input_grad:
            return None
        if not self._active:
            return grad_out
        self._dx = dx = fit_buffer(self._dx, grad_out)
        np.multiply(grad_out, self._mask, out=dx)
        return dx


class BatchNorm(Layer):
    """Batch normalisation over the batch axis: ``y = gamma · (x - mean) / sqrt(var + eps) + beta``.

    Shapes: x and y ``(B, F)``; gamma, beta, running_mean, running_var ``(F,)``.

    - Training with B >= 2: normalise with the batch mean and (biased) variance, back-propagate
      through them, and update the running statistics as exponential moving averages,
      ``running = momentum · running + (1 - momentum) · batch`` (the running variance takes the
      unbiased batch variance, as PyTorch does).
    - Evaluation: normalise with the running statistics (a fixed affine map).
    - Training with B == 1 (stochastic gradient descent): a single sample has no variance, and
      batch statistics would map every input to ``beta`` and stop all learning. The layer then
      normalises with the running statistics, as in evaluation (so the gradient is that of a fixed
      affine map), and afterwards updates them from the sample: the running mean towards x and the
      running variance towards ``(x - previous running mean)²``, so they still track the data.
    """

    kind = "batchnorm"

    def __init__(
        self,
        features: int,
        *,
        momentum: float = 0.9,
        eps: float = 1e-5,
        dtype: np.dtype | type = np.float32,
        name: str = "batchnorm",
    ) -> None:
        if features < 1:
            raise ValueError(f"{name}: features must be >= 1, got {features}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1), got {momentum!r}")
        if not eps > 0.0:
            raise ValueError(f"{name}: eps must be > 0, got {eps!r}")
        self.name = name
        self.features = features
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.gamma = Parameter(f"{name}.gamma", np.ones(features, dtype=dtype), decay=False)
        self.beta = Parameter(f"{name}.beta", np.zeros(features, dtype=dtype), decay=False)
        # Updated in place only, never rebound: buffers() hands out these very arrays.
        self.running_mean = np.zeros(features, dtype=dtype)
        self.running_var = np.ones(features, dtype=dtype)
        self.output: np.ndarray | None = None
        self._xhat: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._inv_std = np.empty(features, dtype=dtype)
        self._batch_stats = False  # whether the last forward used batch statistics

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        self._xhat = xhat = fit_buffer(self._xhat, x)
        self._y = y = fit_buffer(self._y, x)
        batch = x.shape[0]
        self._batch_stats = training and batch > 1
        if self._batch_stats:
            mean = np.add.reduce(x, axis=0)
            mean *= 1.0 / batch
            np.subtract(x, mean, out=xhat)
            np.multiply(xhat, xhat, out=y)  # y as scratch for the squares
            var = np.add.reduce(y, axis=0)
            var *= 1.0 / batch
            np.add(var, self.eps, out=self._inv_std)
            np.sqrt(self._inv_std, out=self._inv_std)
            np.reciprocal(self._inv_std, out=self._inv_std)
            xhat *= self._inv_std
            self._update_running(mean, var * (batch / (batch - 1)))
        else:
            np.add(self.running_var, self.eps, out=self._inv_std)
            np.sqrt(self._inv_std, out=self._inv_std)
            np.reciprocal(self._inv_std, out=self._inv_std)
            np.subtract(x, self.running_mean, out=xhat)
            if training:  # batch of one: see the class docstring
                sample = x[0]
                self._update_running(sample, np.square(xhat[0]))
            xhat *= self._inv_std
        np.multiply(xhat, self.gamma.value, out=y)
        y += self.beta.value
        self.output = y
        return y

    def _update_running(self, mean: np.ndarray, var: np.ndarray) -> None:
        keep = self.momentum
        self.running_mean *= keep
        self.running_mean += (1.0 - keep) * mean
        self.running_var *= keep
        self.running_var += (1.0 - keep) * var

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        xhat = self._xhat
        if xhat is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        self._dx = dx = fit_buffer(self._dx, grad_out)
        dbeta = np.add.reduce(grad_out, axis=0, out=self.beta.grad)
        np.multiply(grad_out, xhat, out=dx)  # dx as scratch for g·x̂
        dgamma = np.add.reduce(dx, axis=0, out=self.gamma.grad)
        if not input_grad:
            return None
        scale = self.gamma.value * self._inv_std
        if not self._batch_stats:  # fixed statistics: a per-feature scale
            np.multiply(grad_out, scale, out=dx)
            return dx
        # dx = γ/σ · (g - (Σg + x̂·Σ(g·x̂)) / B), the mean and variance paths folded in.
        np.multiply(xhat, dgamma, out=dx)
        dx += dbeta
        dx *= -1.0 / grad_out.shape[0]
        dx += grad_out
        dx *= scale
        return dx

    def parameters(self) -> list[Parameter]:
        return [self.gamma, self.beta]

    def buffers(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def output_features(self, input_features: int) -> int:
        if input_features != self.features:
            raise ValueError(
                f"{self.name}: normalises {self.features} features, got {input_features}"
            )
        return input_features
