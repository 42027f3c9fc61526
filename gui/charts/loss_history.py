"""What the loss plot accumulates from snapshots: per-step loss, its moving average, learning rate
and fractional epoch in growing preallocated arrays, plus the epoch records. NumPy only.

The fractional epoch of a step is interpolated between anchors the snapshots give: (0, 0), every
finished epoch (``EpochRecord.step``, ``epoch``) and the snapshot itself (``step``,
``epoch + epoch_progress``). That stays right when the batch or training-set size changes mid-run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from engine.snapshot import EpochRecord, StepSnapshot

DEFAULT_SMOOTHING = 0.95
ROW_KEYS = (
    "step",
    "epoch",
    "loss",
    "smoothed_loss",
    "learning_rate",
    "epoch_done",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "event",
)


class LossHistory:
    """Every step's loss since the last reset; ``view(name)`` gives the filled part of an array."""

    ARRAYS = ("steps", "epochs", "losses", "smoothed", "learning_rates")

    def __init__(self, smoothing: float = DEFAULT_SMOOTHING, capacity: int = 4096) -> None:
        self.smoothing = smoothing
        self._capacity = capacity
        self.clear()

    def clear(self) -> None:
        self.size = 0
        self._arrays = {name: np.zeros(self._capacity) for name in self.ARRAYS}
        self.records: list[EpochRecord] = []
        self._anchor = (0.0, 0.0)  # (step, fractional epoch) of the latest snapshot
        self._ema = 0.0
        self._ema_count = 0

    @property
    def last_step(self) -> int:
        return int(self._arrays["steps"][self.size - 1]) if self.size else 0

    def view(self, name: str) -> np.ndarray:
        """The filled part of ``name`` (one of ``ARRAYS``); a view, valid until the next append."""
        return self._arrays[name][: self.size]

    # ------------------------------------------------------------------ appending
    def append(self, snapshot: StepSnapshot) -> None:
        """Add every step and finished epoch the snapshot carries (a restart clears first)."""
        steps = np.asarray(snapshot.steps, dtype=np.float64)
        if snapshot.step < self.last_step or (len(steps) and steps[0] <= self.last_step):
            self.clear()  # the trainer was reset: its step counter started again
        k = len(steps)
        if self.size + k > len(self._arrays["steps"]):
            self._grow(self.size + k)
        sl = slice(self.size, self.size + k)
        arrays = self._arrays
        arrays["steps"][sl] = steps
        arrays["losses"][sl] = snapshot.losses
        arrays["learning_rates"][sl] = snapshot.learning_rates
        arrays["epochs"][sl] = self._epochs_of(steps, snapshot)
        self._smooth_into(arrays["losses"][sl], arrays["smoothed"][sl])
        self.size += k
        self.records.extend(snapshot.epochs)

    def _grow(self, needed: int) -> None:
        capacity = max(needed, 2 * len(self._arrays["steps"]))
        for name, old in self._arrays.items():
            new = np.zeros(capacity)
            new[: self.size] = old[: self.size]
            self._arrays[name] = new

    def _epochs_of(self, steps: np.ndarray, snapshot: StepSnapshot) -> np.ndarray:
        anchor_steps = [self._anchor[0]]
        anchor_epochs = [self._anchor[1]]
        for record in snapshot.epochs:
            anchor_steps.append(float(record.step))
            anchor_epochs.append(float(record.epoch))
        anchor_steps.append(float(snapshot.step))
        anchor_epochs.append(snapshot.epoch + snapshot.epoch_progress)
        # Never backwards: a new training-set size restarts the epoch's progress at 0.
        anchor_epochs = np.maximum.accumulate(anchor_epochs)
        self._anchor = (anchor_steps[-1], float(anchor_epochs[-1]))
        return np.interp(steps, anchor_steps, anchor_epochs)

    # ------------------------------------------------------------------ smoothing
    def set_smoothing(self, weight: float) -> None:
        """Change the moving average's weight (0 = none, 0.999 = very smooth); recomputes it."""
        self.smoothing = float(weight)
        self._ema, self._ema_count = 0.0, 0
        self._smooth_into(self.view("losses"), self.view("smoothed"))

    def _smooth_into(self, losses: np.ndarray, out: np.ndarray) -> None:
        """Bias-corrected exponential moving average (as TensorBoard's smoothing slider).

        ``ema = w·ema + (1−w)·loss``, divided by ``1 − w^n`` so the first points are not pulled
        towards 0. Non-finite losses are shown as gaps and leave the average untouched.
        """
        w = self.smoothing
        ema, count = self._ema, self._ema_count
        for i, loss in enumerate(losses.tolist()):
            if math.isfinite(loss):
                ema = w * ema + (1.0 - w) * loss
                count += 1
                out[i] = ema / (1.0 - w**count) if w > 0 else ema
            else:
                out[i] = math.nan
        self._ema, self._ema_count = ema, count

    # ------------------------------------------------------------------ queries
    def epoch_at(self, step: float) -> float:
        """Fractional epoch of ``step`` (beyond the recorded steps: the latest anchor)."""
        if self.size == 0 or step >= self._anchor[0]:
            return self._anchor[1]
        return float(np.interp(step, self.view("steps"), self.view("epochs")))

    def rows(self, events: Sequence[tuple[int, str]] = ()) -> list[dict]:
        """One dict per step (keys ``ROW_KEYS``); accuracies in percent.

        Epoch metrics sit on the step that finished the epoch. An event marked at step ``s``
        (a setting changed after step ``s``) sits on the first step trained with it, ``s + 1``;
        events after the last step have no row yet.
        """
        by_step = {record.step: record for record in self.records}
        steps = self.view("steps")
        notes: dict[int, list[str]] = {}
        for step, text in events:
            index = int(np.searchsorted(steps, step, side="right"))
            if index < self.size:
                notes.setdefault(index, []).append(text)
        rows = []
        columns = zip(*(self.view(name).tolist() for name in self.ARRAYS), strict=True)
        for index, (step, epoch, loss, smoothed, lr) in enumerate(columns):
            row = dict.fromkeys(ROW_KEYS, "")
            row.update(
                step=int(step),
                epoch=round(epoch, 4),
                loss=loss,
                smoothed_loss=smoothed,
                learning_rate=lr,
            )
            record = by_step.get(int(step))
            if record is not None:
                row.update(
                    epoch_done=record.epoch,
                    train_loss=record.train_loss,
                    train_accuracy=100.0 * record.train_accuracy,
                    val_loss=record.val_loss,
                    val_accuracy=100.0 * record.val_accuracy,
                )
            if index in notes:
                row["event"] = "; ".join(notes[index])
            rows.append(row)
        return rows
