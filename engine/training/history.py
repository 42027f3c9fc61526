"""Training history in growable preallocated arrays: one row per step, one record per epoch."""

from __future__ import annotations

import numpy as np

from engine.snapshot import EpochRecord


class History:
    """Per-step loss, learning rate and per-layer gradient norms, plus epoch records.

    Arrays double in capacity when full, so appending a step is O(1) amortised and never allocates
    per step; readers get copies of slices.
    """

    def __init__(self, n_layers: int, capacity: int = 1024) -> None:
        self.n_layers = n_layers
        self.size = 0
        self.steps = np.zeros(capacity, dtype=np.int64)
        self.losses = np.zeros(capacity, dtype=np.float64)
        self.learning_rates = np.zeros(capacity, dtype=np.float64)
        self.grad_norms = np.zeros((capacity, n_layers), dtype=np.float32)
        self.epochs: list[EpochRecord] = []
        self.events: list[tuple[int, str]] = []  # (step, "learning_rate 0.1 -> 0.01")

    def append(self, step: int, loss: float, lr: float, grad_sumsq: np.ndarray | None) -> None:
        """One step, with its per-layer sums of squared gradients (None: it diverged, NaN norms)."""
        if self.size == len(self.steps):
            self._grow()
        i = self.size
        self.steps[i] = step
        self.losses[i] = loss
        self.learning_rates[i] = lr
        if grad_sumsq is None:
            self.grad_norms[i] = np.nan
        else:
            np.sqrt(grad_sumsq, out=self.grad_norms[i])  # straight into the row: no temporary
        self.size = i + 1

    def _grow(self) -> None:
        capacity = 2 * len(self.steps)
        for name in ("steps", "losses", "learning_rates", "grad_norms"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def since(self, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Copies of (steps, losses, learning_rates, grad_norms) for rows start..size."""
        sl = slice(start, self.size)
        return (
            self.steps[sl].copy(),
            self.losses[sl].copy(),
            self.learning_rates[sl].copy(),
            self.grad_norms[sl].astype(np.float64),
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything as plain arrays (for session files and CSV export)."""
        records = np.array(
            [
                (e.epoch, e.step, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy)
                for e in self.epochs
            ],
            dtype=np.float64,
        ).reshape(-1, 6)
        steps, losses, lrs, norms = self.since(0)
        return {
            "history.steps": steps,
            "history.losses": losses,
            "history.learning_rates": lrs,
            "history.grad_norms": norms,
            "history.epochs": records,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_layers: int) -> History:
        steps = np.asarray(arrays["history.steps"], dtype=np.int64)
        history = cls(n_layers, capacity=max(1024, len(steps)))
        norms = np.asarray(arrays["history.grad_norms"], dtype=np.float32).reshape(len(steps), -1)
        if norms.shape[1] != n_layers:
            norms = np.full((len(steps), n_layers), np.nan, dtype=np.float32)
        n = len(steps)
        history.steps[:n] = steps
        history.losses[:n] = arrays["history.losses"]
        history.learning_rates[:n] = arrays["history.learning_rates"]
        history.grad_norms[:n] = norms
        history.size = n
        for row in np.asarray(arrays["history.epochs"], dtype=np.float64).reshape(-1, 6):
            history.epochs.append(EpochRecord(int(row[0]), int(row[1]), *map(float, row[2:])))
        return history
