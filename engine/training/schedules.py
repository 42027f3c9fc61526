"""Learning-rate schedules: the learning rate at a (fractional) epoch, and the whole curve to plot.

``constant`` keeps ``hp.learning_rate``; ``step`` multiplies it by ``step_gamma`` every
``step_every`` epochs; ``cosine`` anneals it from ``learning_rate`` down to
``learning_rate * min_lr_fraction`` over ``total_epochs`` (Loshchilov & Hutter's SGDR without
restarts), then stays at that floor.
"""

from __future__ import annotations

import math

import numpy as np

from engine.files.spec import SCHEDULES, Hyperparams

# A fractional epoch computed as steps / steps_per_epoch can land a hair below a whole number
# (2.9999999999999996); without this slack the step schedule would drop one step late.
_EPOCH_SLACK = 1e-9


def learning_rate_at(hp: Hyperparams, *, epoch_float: float, total_epochs: int) -> float:
    """The learning rate after ``epoch_float`` epochs of a run planned for ``total_epochs``.

    Epochs before 0 count as 0. Returns a Python float (NumPy scalars would slow float32 updates).
    """
    lr = float(hp.learning_rate)
    epoch = max(float(epoch_float), 0.0)
    if hp.schedule == "constant":
        return lr
    if hp.schedule == "step":
        drops = math.floor(epoch / hp.step_every + _EPOCH_SLACK)
        return lr * float(hp.step_gamma) ** drops
    if hp.schedule == "cosine":
        if total_epochs < 1:
            raise ValueError(
                f"total_epochs must be >= 1 for the cosine schedule, got {total_epochs}"
            )
        low = lr * float(hp.min_lr_fraction)
        progress = min(epoch / total_epochs, 1.0)
        return low + (lr - low) * (1.0 + math.cos(math.pi * progress)) / 2.0
    raise ValueError(f"unknown schedule {hp.schedule!r}; valid: {', '.join(SCHEDULES)}")


def schedule_curve(
    hp: Hyperparams, total_epochs: int, points: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, lrs)``: the schedule sampled from epoch 0 to ``total_epochs``, for plotting.

    ``points`` evenly spaced samples; the step schedule also gets the last epoch before every drop
    and the drop itself, so a plain line plot shows vertical steps instead of slanted ones.
    """
    if points < 2:
        raise ValueError(f"points must be >= 2, got {points}")
    epochs = np.linspace(0.0, float(total_epochs), points)
    if hp.schedule == "step":
        drops = np.arange(hp.step_every, total_epochs, hp.step_every, dtype=np.float64)
        before = drops - 1e-6 * hp.step_every  # well outside _EPOCH_SLACK, invisible on a plot
        epochs = np.union1d(epochs, np.concatenate([before, drops]))
    lrs = np.array([learning_rate_at(hp, epoch_float=e, total_epochs=total_epochs) for e in epochs])
    return epochs, lrs
