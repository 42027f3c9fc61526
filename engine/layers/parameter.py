"""The value/gradient pair that layers own and optimisers update."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(eq=False)
class Parameter:
    """A trainable array and its gradient (same shape and dtype).

    Layers *overwrite* ``grad`` in ``backward`` (no accumulation, so no ``zero_grad`` pass is
    needed per step); optimisers read ``grad`` and update ``value`` in place. ``decay`` says
    whether L2 weight decay applies (weights yes; biases and batch-norm scales no).
    Identity-hashed, so optimisers can key their state by the Parameter itself.
    """

    name: str
    value: np.ndarray
    grad: np.ndarray = field(default=None)  # type: ignore[assignment]
    decay: bool = True

    def __post_init__(self) -> None:
        if self.grad is None:
            self.grad = np.zeros_like(self.value)

    @property
    def size(self) -> int:
        return int(self.value.size)
