"""Frozen commands the GUI posts to the training worker (and the worker passes to the trainer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.data.datasets import Dataset, Splits
from engine.files.checkpoint import ModelFile
from engine.files.spec import NetworkSpec


@dataclass(frozen=True)
class Start:
    """Run steps continuously until paused, finished or diverged."""


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Step:
    """Take ``n`` steps (mini-batches) then pause; ``epoch=True`` runs to the end of the epoch."""

    n: int = 1
    epoch: bool = False


@dataclass(frozen=True)
class Stop:
    """Shut the worker down."""


@dataclass(frozen=True)
class Reset:
    """Fresh weights (same spec), step 0, empty history; ``seed`` None keeps the spec's seed."""

    seed: int | None = None


@dataclass(frozen=True)
class SetHyperparams:
    """Change training settings (``Hyperparams`` field names) from the next step on."""

    changes: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, **changes: Any) -> SetHyperparams:
        return cls(tuple(sorted(changes.items())))


@dataclass(frozen=True)
class SetSpec:
    """Rebuild the network; ``keep_weights`` keeps arrays whose name and shape did not change."""

    spec: NetworkSpec
    keep_weights: bool = False


@dataclass(frozen=True)
class SetData:
    splits: Splits


@dataclass(frozen=True)
class SetExtraExamples:
    """User-taught drawings joining the training data."""

    dataset: Dataset | None


@dataclass(frozen=True)
class LoadModel:
    """Replace the network with a saved model (spec, weights, optimiser state, maybe history)."""

    model: ModelFile
