"""GUI-thread side of training: owns the QThread and worker, posts commands, re-emits snapshots.

Views connect to this object's signals only; its slots run on the GUI thread, so whatever they
emit reaches widgets safely. ``shutdown()`` stops the worker and joins the thread (a QThread
destroyed while running aborts the process).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from engine.data.datasets import Dataset, Splits
from engine.files.checkpoint import ModelFile
from engine.files.spec import NetworkSpec, validate_hyperparams
from engine.snapshot import StepSnapshot
from engine.training import commands
from gui.training.loop import SaveModel
from gui.training.worker import TrainingWorker


class TrainingController(QObject):
    snapshot_ready = Signal(object)  # StepSnapshot, on the GUI thread
    status_changed = Signal(str)  # "running" | "paused" | "diverged" | "finished"
    diverged = Signal(str)  # the message naming the layer that turned NaN/Inf
    spec_changed = Signal(object)  # NetworkSpec after a rebuild: views reset
    failed = Signal(str)
    saved = Signal(str)

    def __init__(self, spec: NetworkSpec, splits: Splits, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status = "paused"
        self.latest: StepSnapshot | None = None
        self._spec = spec
        # Thread and worker without parents: the worker moves to the thread, the thread is joined
        # in shutdown(). The worker starts the training process that owns the Trainer.
        self._thread = QThread()
        self._thread.setObjectName("training")
        self._worker = TrainingWorker(spec, splits)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.snapshot_ready.connect(self._on_snapshot)
        self._worker.failed.connect(self._on_failed)
        self._worker.saved.connect(self._on_saved)
        # Direct: the QThread object lives on the GUI thread, which may be blocked in wait().
        self._worker.stopped.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._worker.stopped.connect(self._on_stopped)
        self._closing = False
        self._thread.start()

    # ----------------------------------------------------------------- commands
    @property
    def status(self) -> str:
        return self._status

    @property
    def spec(self) -> NetworkSpec:
        return self._spec

    def is_running(self) -> bool:
        """Whether the training thread or process is still alive."""
        return self._thread.isRunning() or self._worker.is_alive()

    def start(self) -> None:
        self._worker.post(commands.Start())

    def pause(self) -> None:
        self._worker.post(commands.Pause())

    def toggle(self) -> None:
        self.pause() if self._status == "running" else self.start()

    def step(self, n: int = 1) -> None:
        self._worker.post(commands.Step(n))

    def run_epoch(self) -> None:
        self._worker.post(commands.Step(epoch=True))

    def reset(self, seed: int | None = None) -> None:
        self._worker.post(commands.Reset(seed))
        self.spec_changed.emit(self._spec)

    def set_hyperparams(self, **changes: Any) -> None:
        """Raises SpecError (and sends nothing) when the new settings are invalid."""
        spec = self._spec.with_hyperparams(**changes)
        validate_hyperparams(spec.hyperparams)
        self._spec = spec
        self._worker.post(commands.SetHyperparams.of(**changes))

    def set_spec(self, spec: NetworkSpec, *, keep_weights: bool = False) -> None:
        self._spec = spec
        self._worker.post(commands.SetSpec(spec, keep_weights))
        self.spec_changed.emit(spec)

    def load_model(self, model: ModelFile) -> None:
        self._spec = model.spec
        self._worker.post(commands.LoadModel(model))
        self.spec_changed.emit(model.spec)

    def set_data(self, splits: Splits) -> None:
        self._worker.post(commands.SetData(splits))
        self.spec_changed.emit(self._spec)

    def set_extra_examples(self, dataset: Dataset | None) -> None:
        self._worker.post(commands.SetExtraExamples(dataset))

    def save(self, path: str, *, session: bool = False) -> None:
        self._worker.post(SaveModel(path, session))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the training process and join the thread; True when both ended in time."""
        self._closing = True
        if not self._thread.isRunning() and not self._worker.is_alive():
            return True
        self._worker.stop()
        self._thread.quit()  # thread-safe; takes effect once run() returns to the event loop
        return self._thread.wait(timeout_ms) and not self._worker.is_alive()

    # ----------------------------------------------------------------- worker signals
    @Slot(object)
    def _on_snapshot(self, snapshot: StepSnapshot) -> None:
        try:
            self.latest = snapshot
            self.snapshot_ready.emit(snapshot)
            if snapshot.status != self._status:
                self._status = snapshot.status
                self.status_changed.emit(snapshot.status)
                if snapshot.status == "diverged":
                    self.diverged.emit(snapshot.message)
        finally:
            # After the repaint this snapshot caused (posted events run before timers), so a slow
            # window lowers the snapshot rate instead of queueing frames.
            QTimer.singleShot(0, self._acknowledge)

    @Slot()
    def _acknowledge(self) -> None:
        self._worker.acknowledge()

    @Slot()
    def _on_stopped(self) -> None:
        if not self._closing:  # the training process died (killed, out of memory, ...)
            self._status = "stopped"
            self.status_changed.emit("stopped")
            self.failed.emit(
                "The training process stopped unexpectedly. Save what you need (File > Export) "
                "and restart the app to train again."
            )

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    @Slot(str)
    def _on_saved(self, path: str) -> None:
        self.saved.emit(path)
