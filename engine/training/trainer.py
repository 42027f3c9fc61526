"""One mini-batch at a time: forward, loss, backward, clip, update; history and NaN detection.

No Qt, no threads, no printing: the GUI worker and the command line both drive this class. Training
is reproducible from ``Hyperparams.seed``: the same seed gives bit-for-bit the same weights after
the same steps (separate random streams for initialisation/dropout, shuffling and augmentation).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from engine.data.augment import augment_batch_float
from engine.data.datasets import IMAGE_SHAPE, Dataset, Splits, stratified_subset, to_float
from engine.diagnostics.layer_health import (
    diag_blocks,
    first_nonfinite_grad,
    first_nonfinite_output,
    full_diagnostics,
    grad_sumsq,
)
from engine.files.checkpoint import ModelFile, check_weights
from engine.files.spec import Hyperparams, NetworkSpec, validate, validate_hyperparams
from engine.layers.network import Network, build_network
from engine.snapshot import Diagnostics, EpochRecord, StepSnapshot, frozen
from engine.training import commands
from engine.training.clipping import clip_by_global_norm, clip_by_value
from engine.training.history import History
from engine.training.optimizers import (
    Optimizer,
    make_optimizer,
    update_optimizer,
)
from engine.training.schedules import learning_rate_at

# Samples per forward pass when evaluating. 256 rather than 1000: a 1000-row chunk allocates (and
# faults in) megabytes of fresh buffers in every layer each time; epoch-end evaluation of the
# bundled train+validation sets took 15.7 ms with 1000 and 12.0 ms with 256 (batch 64 training).
TRAIN_EVAL_MAX = 1000  # training images evaluated at each epoch's end for the train curve
EVAL_CHUNK = 256


@dataclass(frozen=True)
class StepResult:
    step: int
    loss: float
    epoch_finished: bool
    diverged: str  # "" when the step was finite, else the message naming the layer


class Trainer:
    """Owns a network, its optimiser and the data order; advances one mini-batch per ``step()``."""

    def __init__(self, spec: NetworkSpec, splits: Splits, *, dtype: type = np.float32) -> None:
        validate(spec)
        self.dtype = dtype
        self.splits = splits
        self.spec = spec
        self.extra: Dataset | None = None
        self._reset_state(spec.hyperparams.seed)

    # ------------------------------------------------------------------ state
    @property
    def hyperparams(self) -> Hyperparams:
        return self.spec.hyperparams

    def _reset_state(self, seed: int) -> None:
        init_seq, shuffle_seq, augment_seq = np.random.SeedSequence(seed).spawn(3)
        self.network: Network = build_network(
            self.spec, np.random.default_rng(init_seq), self.dtype
        )
        self._shuffle_rng = np.random.default_rng(shuffle_seq)
        self._augment_rng = np.random.default_rng(augment_seq)
        self._blocks = diag_blocks(self.network)
        self.optimizer: Optimizer = make_optimizer(self.hyperparams, self.network.parameters())
        self.history = History(len(self._blocks))
        self.step_count = 0
        self.epoch = 0
        self.samples_seen = 0
        self.elapsed = 0.0
        self.diverged = ""
        self._sumsq = np.zeros(len(self._blocks))
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # batch size -> (u8, x)
        self._snapshot_row = 0
        self._snapshot_epochs = 0
        self._rebuild_training_set()

    def _rebuild_training_set(self) -> None:
        """Apply train_size and taught examples; start a fresh pass over the new set."""
        pool = self.splits.train
        size = self.hyperparams.train_size
        if size is not None and size < len(pool):
            pool = stratified_subset(pool, size, seed=self.hyperparams.seed)
        images, labels = pool.images, pool.labels
        if self.extra is not None and len(self.extra):
            images = np.concatenate([images, self.extra.images])
            labels = np.concatenate([labels, self.extra.labels])
        self._images = images
        self._labels = labels.astype(np.intp)
        self._order = self._shuffle_rng.permutation(len(images))
        count = min(len(images), TRAIN_EVAL_MAX)
        self._train_eval = np.random.default_rng(0).choice(len(images), count, replace=False)
        self._position = 0

    @property
    def train_size(self) -> int:
        return len(self._images)

    @property
    def batch_size(self) -> int:
        size = self.hyperparams.batch_size
        return self.train_size if size == 0 else min(size, self.train_size)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_size / self.batch_size)

    @property
    def epoch_progress(self) -> float:
        return self._position / self.train_size

    @property
    def learning_rate(self) -> float:
        hp = self.hyperparams
        return learning_rate_at(
            hp, epoch_float=self.epoch + self.epoch_progress, total_epochs=hp.epochs
        )

    @property
    def finished(self) -> bool:
        return self.epoch >= self.hyperparams.epochs

    # ------------------------------------------------------------------ commands
    def apply(self, command: object) -> None:
        """Carry out a trainer-level command (run-state commands belong to the worker)."""
        if isinstance(command, commands.SetHyperparams):
            self.set_hyperparams(**dict(command.changes))
        elif isinstance(command, commands.Reset):
            self.reset(command.seed)
        elif isinstance(command, commands.SetSpec):
            self.set_spec(command.spec, keep_weights=command.keep_weights)
        elif isinstance(command, commands.SetData):
            self.splits = command.splits
            self.reset()
        elif isinstance(command, commands.SetExtraExamples):
            self.extra = command.dataset
            self._rebuild_training_set()
        elif isinstance(command, commands.LoadModel):
            self.load_model_file(command.model)
        else:
            raise TypeError(f"the trainer does not handle {type(command).__name__}")

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.spec = self.spec.with_hyperparams(seed=seed)
        self._reset_state(self.hyperparams.seed)

    def set_spec(self, spec: NetworkSpec, *, keep_weights: bool = False) -> list[str]:
        """Rebuild for a new architecture; returns the names of arrays kept from the old network."""
        validate(spec)
        old = {name: array.copy() for name, array in self.network.named_arrays().items()}
        self.spec = spec
        self._reset_state(spec.hyperparams.seed)
        if not keep_weights:
            return []
        return self.network.load_arrays(old, strict=False)

    def model_file(self, *, session: bool = False) -> ModelFile:
        """Everything a model file holds; ``session`` adds the history and counters."""
        weights = {name: array.copy() for name, array in self.network.named_arrays().items()}
        model = ModelFile(self.spec, weights, self.optimizer.state_dict())
        if session:
            model.history = self.history.to_arrays()
            model.meta = {
                "step": self.step_count,
                "epoch": self.epoch,
                "samples": self.samples_seen,
            }
        return model

    def load_model_file(self, model: ModelFile) -> None:
        """Take a saved model's spec, weights, optimiser state and (session files) history.

        Raises checkpoint.ModelFileError, leaving the trainer as it was, if the weights do not fit.
        """
        probe = build_network(model.spec, np.random.default_rng(0), self.dtype)
        check_weights(model, {name: a.shape for name, a in probe.named_arrays().items()})
        self.spec = model.spec
        self._reset_state(model.spec.hyperparams.seed)
        self.network.load_arrays(model.weights, strict=True)
        if model.optimizer:
            try:
                self.optimizer.load_state_dict(model.optimizer)
            except ValueError:
                self.optimizer = make_optimizer(self.hyperparams, self.network.parameters())
        if model.history:
            self.history = History.from_arrays(model.history, len(self._blocks))
            self._snapshot_row = 0
        self.step_count = model.meta.get("step", self.history.size)
        self.epoch = model.meta.get("epoch", len(self.history.epochs))
        self.samples_seen = model.meta.get("samples", 0)

    def set_hyperparams(self, **changes: Any) -> None:
        """Change settings between steps; the network, its weights and the history are kept."""
        old = self.hyperparams
        new = replace(old, **changes)
        validate_hyperparams(new)
        self.spec = self.spec.with_hyperparams(**changes)
        for name, value in changes.items():
            before = getattr(old, name)
            if before != value:
                self.history.events.append((self.step_count, f"{name}: {before} → {value}"))
        self.optimizer = update_optimizer(self.optimizer, new)
        if new.dropout_scale != old.dropout_scale:
            self.network.set_dropout_scale(new.dropout_scale)
        if new.train_size != old.train_size:
            self._rebuild_training_set()

    # ------------------------------------------------------------------ training
    def _next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        idx = self._order[self._position : self._position + self.batch_size]
        n = len(idx)
        buffers = self._buffers.get(n)
        if buffers is None:
            buffers = self._buffers[n] = (
                np.empty((n, *IMAGE_SHAPE), dtype=np.uint8),
                np.empty((n, 784), dtype=self.dtype),
            )
        images, out = buffers
        # Gathered into a buffer kept between steps: a fresh fancy-indexed copy cost ~15 µs more
        # per batch of 64 (allocation and page faults), ~3% of a 784-128-64-10 step.
        np.take(self._images, idx, axis=0, out=images)
        if self.hyperparams.augment:
            augment_batch_float(images, self._augment_rng, out=out)
        else:
            to_float(images, out=out)
        self._position += n
        return out, self._labels[idx]

    def step(self) -> StepResult:
        """One mini-batch: forward, loss, backward, clip, update. Skips the update on NaN/Inf.

        Overflow is expected when a network diverges and is reported by name, so NumPy's floating
        point warnings are silenced here.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._step()

    def _step(self) -> StepResult:
        start = time.perf_counter()
        hp = self.hyperparams
        # A constant schedule needs no epoch arithmetic (~1 µs of property calls per step).
        lr = float(hp.learning_rate) if hp.schedule == "constant" else self.learning_rate
        x, y = self._next_batch()
        net = self.network
        loss = net.loss.forward(net.forward(x, training=True), y)
        message = ""
        if not math.isfinite(loss):
            where = first_nonfinite_output(net) or "the loss"
            message = self._divergence_message(where, "forward pass", lr)
        else:
            net.backward(net.loss.backward(), input_grad=False)
            sumsq = grad_sumsq(self._blocks, self._sumsq)
            total = float(np.add.reduce(sumsq))  # sumsq.sum() without the method wrapper
            if not math.isfinite(total):
                where = first_nonfinite_grad(self._blocks, sumsq) or "?"
                message = self._divergence_message(where, "backward pass", lr)
            else:
                if hp.clip_value is not None:
                    clip_by_value(net.parameters(), hp.clip_value)
                    total = float(grad_sumsq(self._blocks, np.empty_like(sumsq)).sum())
                if hp.clip_norm is not None:
                    clip_by_global_norm(net.parameters(), hp.clip_norm, norm=math.sqrt(total))
                # Update norms (for the update/weight ratio) are computed by diagnostics() when
                # asked, from the update arrays the optimiser keeps: not a pass per step.
                self.optimizer.step(lr)
        self.diverged = message
        self.step_count += 1
        self.samples_seen += len(y)
        self.history.append(self.step_count, loss, lr, self._sumsq if not message else None)
        finished_epoch = self._position >= self.train_size
        if finished_epoch:
            self._end_epoch()
        self.elapsed += time.perf_counter() - start
        return StepResult(self.step_count, loss, finished_epoch, message)

    def _divergence_message(self, where: str, phase: str, lr: float) -> str:
        return (
            f"NaN/Inf appeared in layer '{where}' during the {phase} "
            f"at step {self.step_count + 1}. "
            f"Try a lower learning rate (now {lr:.3g}), gradient clipping, or a smaller "
            "initialisation (He or Xavier at scale 1), then reset the weights."
        )

    def _end_epoch(self) -> None:
        self.epoch += 1
        self._order = self._shuffle_rng.permutation(self.train_size)
        self._position = 0
        # Train metrics on a fixed sample of at most TRAIN_EVAL_MAX images: evaluating all of a
        # large training set took 40-50% of an epoch's time; a fixed sample keeps epochs comparable.
        sample = self._train_eval
        train_loss, train_acc = self.evaluate(
            Dataset(self._images[sample], self._labels[sample].astype(np.uint8), "train")
        )
        val_loss, val_acc = self.evaluate(self.splits.val)
        self.history.epochs.append(
            EpochRecord(self.epoch, self.step_count, train_loss, train_acc, val_loss, val_acc)
        )

    def run_epoch(self) -> None:
        """Steps until the current epoch ends (or the network diverges)."""
        while not self.step().epoch_finished and not self.diverged:
            pass

    def evaluate(self, dataset: Dataset) -> tuple[float, float]:
        """(mean loss, accuracy) in eval mode (dropout off, batch-norm running statistics)."""
        if len(dataset) == 0:
            return math.nan, math.nan
        net = self.network
        total_loss = 0.0
        correct = 0
        for start in range(0, len(dataset), EVAL_CHUNK):
            images = dataset.images[start : start + EVAL_CHUNK]
            labels = dataset.labels[start : start + EVAL_CHUNK].astype(np.intp)
            logits = net.forward(to_float(images).astype(self.dtype, copy=False), training=False)
            total_loss += net.loss.forward(logits, labels) * len(labels)
            correct += int(np.count_nonzero(logits.argmax(axis=1) == labels))
        return total_loss / len(dataset), correct / len(dataset)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (n, 10) for float images (n, 784) in [0, 1]."""
        return self.network.predict_proba(x.astype(self.dtype, copy=False))

    # ------------------------------------------------------------------ inspection
    def diagnostics(self, *, percentiles: bool = False) -> Diagnostics:
        """Full per-layer diagnostics for the last step taken."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return full_diagnostics(
                self.network,
                np.sqrt(self._sumsq),
                self.optimizer.update_norms() or None,
                percentiles=percentiles,
            )

    def snapshot(self, status: str = "running", *, percentiles: bool = True) -> StepSnapshot:
        """Read-only state for views, with every step recorded since the previous snapshot.

        ``percentiles=False`` leaves the weight/gradient percentiles to the receiver: the snapshot
        then carries gradient copies for ``diagnostics.with_percentiles``.
        """
        steps, losses, lrs, norms = self.history.since(self._snapshot_row)
        self._snapshot_row = self.history.size
        epochs = tuple(self.history.epochs[self._snapshot_epochs :])
        self._snapshot_epochs = len(self.history.epochs)
        for array in (steps, losses, lrs, norms):
            array.flags.writeable = False
        return StepSnapshot(
            step=self.step_count,
            epoch=self.epoch,
            epoch_progress=self.epoch_progress,
            samples_seen=self.samples_seen,
            elapsed=self.elapsed,
            samples_per_second=self.samples_seen / self.elapsed if self.elapsed > 0 else 0.0,
            steps=steps,
            losses=losses,
            learning_rates=lrs,
            grad_norms=norms,
            diagnostics=self.diagnostics(percentiles=percentiles) if self.step_count else None,
            epochs=epochs,
            weights={name: frozen(a) for name, a in self.network.named_arrays().items()},
            spec=self.spec,
            status="diverged" if self.diverged else status,
            message=self.diverged,
            gradients={}
            if percentiles
            else {p.name: frozen(p.grad) for p in self.network.parameters()},
        )
