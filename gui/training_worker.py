"""The training loop on its own QThread: drains commands between steps, emits throttled snapshots.

The worker owns the Trainer; nothing else touches it. Commands arrive through a thread-safe queue
(no Qt call crosses threads on the way in), snapshots leave through Qt signals, which Qt queues to
the controller on the GUI thread. While paused the loop blocks on the queue, so it costs no CPU.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback

from PySide6.QtCore import QObject, Signal, Slot

from engine import commands
from engine.checkpoint import save_model
from engine.trainer import Trainer

SNAPSHOT_INTERVAL = 1 / 30  # seconds: at most ~30 snapshots a second reach the GUI


class SaveModel:
    """Write the current model (``session`` adds history) to ``path``; answered by ``saved``."""

    def __init__(self, path: str, session: bool = False) -> None:
        self.path = path
        self.session = session


class TrainingWorker(QObject):
    snapshot_ready = Signal(object)  # engine.snapshot.StepSnapshot
    failed = Signal(str)  # a command could not be carried out; the message is for the user
    saved = Signal(str)  # path written
    stopped = Signal()

    def __init__(self, trainer: Trainer) -> None:
        super().__init__()
        self._trainer = trainer
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._consumed = threading.Event()  # the GUI has drawn the last snapshot
        self._consumed.set()
        self._running = False
        self._steps_left = 0
        self._to_epoch_end = False
        self._stopping = False
        self._status = "paused"
        self._last_emit = 0.0
        self._emitted_step = -1

    # --------------------------------------------------------------- any thread
    def post(self, command: object) -> None:
        """Queue a command; safe from any thread."""
        self._queue.put(command)

    def acknowledge(self) -> None:
        """The GUI finished drawing a snapshot; the next may be sent (back-pressure)."""
        self._consumed.set()

    # --------------------------------------------------------------- worker thread
    @Slot()
    def run(self) -> None:
        self._emit(force=True)
        while not self._stopping:
            busy = self._running or self._steps_left > 0 or self._to_epoch_end
            self._drain(block=not busy)
            if self._stopping:
                break
            if self._running or self._steps_left > 0 or self._to_epoch_end:
                self._advance()
            self._emit()
        self.stopped.emit()

    def _drain(self, *, block: bool) -> None:
        try:
            command = self._queue.get(timeout=0.25) if block else self._queue.get_nowait()
        except queue.Empty:
            return
        while True:
            self._handle(command)
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                return

    def _handle(self, command: object) -> None:
        trainer = self._trainer
        try:
            if isinstance(command, commands.Start):
                self._running, self._status = True, "running"
            elif isinstance(command, commands.Pause):
                self._pause()
            elif isinstance(command, commands.Step):
                self._running = False
                if command.epoch:
                    self._to_epoch_end = True
                else:
                    self._steps_left = max(1, command.n)
                self._status = "running"
            elif isinstance(command, commands.Stop):
                self._stopping = True
            elif isinstance(command, SaveModel):
                save_model(command.path, trainer.model_file(session=command.session))
                self.saved.emit(command.path)
            else:
                trainer.apply(command)
                if isinstance(command, (commands.Reset, commands.SetSpec, commands.LoadModel)):
                    self._pause()
                    self._emit(force=True)
        except Exception as exc:  # a bad command must not kill the training thread
            self.failed.emit(f"{type(command).__name__}: {exc}")
            traceback.print_exc()

    def _pause(self) -> None:
        self._running = False
        self._steps_left = 0
        self._to_epoch_end = False
        self._status = "paused"
        self._emit(force=True)

    def _advance(self) -> None:
        trainer = self._trainer
        result = trainer.step()
        if result.diverged:
            self._running, self._steps_left, self._to_epoch_end = False, 0, False
            self._status = "diverged"
            self._emit(force=True)
            return
        if self._steps_left > 0:
            self._steps_left -= 1
            if self._steps_left == 0:
                self._pause()
        if result.epoch_finished:
            if self._to_epoch_end:
                self._pause()
            elif self._running and trainer.epoch == trainer.hyperparams.epochs:
                self._running, self._status = False, "finished"
                self._emit(force=True)

    def _emit(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and (now - self._last_emit < SNAPSHOT_INTERVAL or not self._consumed.is_set()):
            return
        if not force and self._trainer.step_count == self._emitted_step:
            return  # nothing new: a paused worker stays quiet
        self._consumed.clear()
        self._last_emit = now
        self._emitted_step = self._trainer.step_count
        status = self._status
        if status == "running" and not (self._running or self._steps_left or self._to_epoch_end):
            status = "paused"
        self.snapshot_ready.emit(self._trainer.snapshot(status))
