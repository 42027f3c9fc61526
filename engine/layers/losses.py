"""Loss functions on the output logits: fused softmax cross-entropy, MSE against one-hot, and
fused sigmoid binary cross-entropy for a single output unit.

A loss owns the network's output function (softmax, sigmoid or identity), so the last Dense layer
produces raw logits ``(B, C)`` and ``backward`` returns the gradient with respect to those logits,
already divided by the batch size ``B``.
"""

from __future__ import annotations

import numpy as np

from engine.files.spec import LOSSES, OUTPUT_ACTIVATIONS
from engine.layers.activations import make_activation
from engine.layers.base import Layer


class Loss:
    """Mean loss over a batch. ``forward`` caches what ``backward`` needs.

    ``output`` holds the last forward's output-function values ``(B, C)`` (probabilities for
    softmax); like layer outputs it is a reused buffer.
    """

    output_activation: str = "linear"

    def __init__(self) -> None:
        self.output: np.ndarray | None = None
        self._grad: np.ndarray | None = None
        self._rows = np.arange(0)

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Mean loss for ``logits`` ``(B, C)`` and integer ``labels`` ``(B,)`` in ``[0, C)``."""
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """``dL/dlogits`` ``(B, C)`` for the last forward, already divided by ``B``."""
        raise NotImplementedError

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """A new ``(B, C)`` array of class probabilities (rows sum to 1)."""
        raise NotImplementedError

    def _prepare(self, logits: np.ndarray) -> np.ndarray:
        """Size the gradient buffer and row index for this batch; return the gradient buffer."""
        grad = self._grad
        if grad is None or grad.shape != logits.shape or grad.dtype != logits.dtype:
            grad = self._grad = np.empty_like(logits)
        if self._rows.shape[0] != logits.shape[0]:
            self._rows = np.arange(logits.shape[0])
        return grad


class SoftmaxCrossEntropy(Loss):
    """``L = mean_b(logsumexp(z_b) - z_b[label_b])``, i.e. -log softmax of the true class.

    Fused with the softmax: shifting each row by its maximum keeps exp finite for any logits, and
    the gradient is simply ``(softmax(z) - onehot) / B`` (no division by a probability that may
    underflow to 0).
    """

    output_activation = "softmax"

    def __init__(self) -> None:
        super().__init__()
        self._col: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        self._prepare(logits)
        probs = self.output
        if probs is None or probs.shape != logits.shape or probs.dtype != logits.dtype:
            probs = self.output = np.empty_like(logits)
            self._col = np.empty((logits.shape[0], 1), dtype=logits.dtype)
        col = self._col
        np.maximum.reduce(logits, axis=1, keepdims=True, out=col)
        np.subtract(logits, col, out=probs)  # shifted logits, max 0
        picked = probs[self._rows, labels]
        np.exp(probs, out=probs)
        np.add.reduce(probs, axis=1, keepdims=True, out=col)  # in [1, C]: log is safe
        probs /= col
        self._labels = labels
        np.log(col, out=col)  # log-sum-exp of the shifted logits
        # ufunc reductions rather than np.mean/np.sum: their Python wrappers cost more than the
        # arithmetic at small batch sizes.
        total = float(np.add.reduce(col, axis=None)) - float(np.add.reduce(picked))
        return total / logits.shape[0]

    def backward(self) -> np.ndarray:
        if self._labels is None:
            raise RuntimeError("loss backward called before forward")
        grad = self._grad
        inv_batch = 1.0 / grad.shape[0]
        np.multiply(self.output, inv_batch, out=grad)
        grad[self._rows, self._labels] -= inv_batch
        return grad

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        shifted = logits - logits.max(axis=1, keepdims=True)
        np.exp(shifted, out=shifted)
        shifted /= shifted.sum(axis=1, keepdims=True)
        return shifted


class MeanSquaredError(Loss):
    """``L = mean_b Σ_c (y_bc - onehot_bc)² / 2`` with ``y = output(z)``.

    The 1/2 follows Nielsen's *Neural Networks and Deep Learning* (the quadratic cost
    ``C = 1/2n Σ ||y(x) - a||²``): it cancels the 2 of the derivative, so
    ``dL/dy = (y - onehot) / B``.
    The gradient then goes through the output function; with ``sigmoid`` it is multiplied by
    ``σ'(z) = y(1 - y)``, the learning slowdown of saturated outputs that motivates cross-entropy.
    """

    def __init__(self, output: str = "sigmoid") -> None:
        if output not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"unknown output activation {output!r}; valid: {', '.join(OUTPUT_ACTIVATIONS)}"
            )
        super().__init__()
        self.output_activation = output
        self._act: Layer = make_activation(output, name_prefix="output.")
        self._diff: np.ndarray | None = None

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        self._prepare(logits)
        y = self._act.forward(logits, training=True)
        diff = self._diff
        if diff is None or diff.shape != y.shape or diff.dtype != y.dtype:
            diff = self._diff = np.empty_like(y)
        np.copyto(diff, y)
        diff[self._rows, labels] -= 1.0  # y - onehot
        self.output = y
        return 0.5 * float(np.vdot(diff, diff)) / diff.shape[0]

    def backward(self) -> np.ndarray:
        if self._diff is None:
            raise RuntimeError("loss backward called before forward")
        grad = self._grad
        np.multiply(self._diff, 1.0 / grad.shape[0], out=grad)
        return self._act.backward(grad)

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """Softmax output as is; sigmoid or linear outputs (each an estimate of P(class), since
        squared error against one-hot targets is minimised by the class probabilities) clipped at 0
        and normalised to sum to 1 (uniform when every output is <= 0)."""
        if self.output_activation == "softmax":
            return SoftmaxCrossEntropy().predict_proba(logits)
        scores = np.array(logits, copy=True)
        if self.output_activation == "sigmoid":
            scores = make_activation("sigmoid").forward(scores, training=False).copy()
        np.maximum(scores, 0, out=scores)
        totals = scores.sum(axis=1, keepdims=True)
        empty = totals[:, 0] <= 0
        scores[empty] = 1.0
        totals[empty] = scores.shape[1]
        scores /= totals
        return scores


class BinaryCrossEntropy(Loss):
    """Sigmoid and binary cross-entropy fused, for one output unit: logits ``(B, 1)``, labels
    ``(B,)`` in {0, 1} (or probabilities in [0, 1]).

    ``L = mean_b(log(1 + exp(z_b)) - y_b z_b)``, which is ``-y log σ(z) - (1-y) log(1-σ(z))``
    written with ``np.logaddexp(0, z)`` (softplus): no log of a probability that may round to 0
    and no exp that overflows, so logits of ±1000 give a finite loss and gradient. The gradient is
    ``(σ(z) - y) / B``. ``output`` holds σ(z) ``(B, 1)``, computed like the Sigmoid layer
    (``0.5 + 0.5·tanh(z/2)``, overflow-free).
    """

    output_activation = "sigmoid"

    def __init__(self) -> None:
        super().__init__()
        self._target: np.ndarray | None = None

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        if logits.ndim != 2 or logits.shape[1] != 1:
            raise ValueError(
                f"binary cross-entropy needs one output unit, logits (B, 1); got {logits.shape}"
            )
        scratch = self._prepare(logits)  # the gradient buffer, free until backward
        prob = self.output
        if prob is None or prob.shape != logits.shape or prob.dtype != logits.dtype:
            prob = self.output = np.empty_like(logits)
            self._target = np.empty_like(logits)
        target = self._target
        np.copyto(target[:, 0], labels, casting="unsafe")
        # Per sample before summing: two large batch sums would cancel in float32.
        np.logaddexp(0.0, logits, out=prob)  # softplus(z) = -log(1 - σ(z))
        np.multiply(target, logits, out=scratch)
        prob -= scratch
        total = float(np.add.reduce(prob, axis=None))
        np.multiply(logits, 0.5, out=prob)
        np.tanh(prob, out=prob)
        prob *= 0.5
        prob += 0.5
        return total / logits.shape[0]

    def backward(self) -> np.ndarray:
        if self._target is None:
            raise RuntimeError("loss backward called before forward")
        grad = self._grad
        np.subtract(self.output, self._target, out=grad)
        grad *= 1.0 / grad.shape[0]
        return grad

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """``(B, 2)``: column 1 is σ(z) = P(class 1), column 0 its complement."""
        p1 = np.multiply(logits[:, 0], 0.5)
        np.tanh(p1, out=p1)
        p1 *= 0.5
        p1 += 0.5
        return np.stack([1.0 - p1, p1], axis=1)


def make_loss(loss: str, output_activation: str) -> Loss:
    """The loss for spec names: ``cross_entropy`` (needs ``softmax``), ``mse`` (any output) or
    ``binary_cross_entropy`` (needs ``sigmoid`` and one output unit).

    Raises ValueError for unknown names or cross-entropy on a non-softmax output.
    """
    if loss == "cross_entropy":
        if output_activation != "softmax":
            raise ValueError(
                f"cross-entropy loss needs the softmax output, got {output_activation!r}; "
                "use MSE with sigmoid or linear outputs"
            )
        return SoftmaxCrossEntropy()
    if loss == "mse":
        return MeanSquaredError(output_activation)
    if loss == "binary_cross_entropy":
        if output_activation != "sigmoid":
            raise ValueError(
                f"binary cross-entropy needs the sigmoid output, got {output_activation!r}"
            )
        return BinaryCrossEntropy()
    raise ValueError(f"unknown loss {loss!r}; valid: {', '.join(LOSSES)}")
