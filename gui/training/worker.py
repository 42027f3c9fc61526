"""The GUI process's end of training: a QThread worker that starts the training process, relays
commands to it and turns its events into Qt signals.

The worker blocks on the event pipe (the GIL is released while it waits) and re-emits what arrives,
after selecting the snapshot's weight/gradient percentiles (the training process leaves them to
this process, which has a core of its own: ~1.3 ms per snapshot of 784-128-64-10); Qt queues those
signals to the controller on the GUI thread. Commands are written straight to the command pipe
from the GUI thread (a pipe end used by one thread only).
"""

from __future__ import annotations

import multiprocessing as mp

from PySide6.QtCore import QObject, Signal, Slot

from engine.data.datasets import Splits
from engine.diagnostics.layer_health import with_percentiles
from engine.files.spec import NetworkSpec
from engine.training import commands
from gui.training.event_pipe import recv_event
from gui.training.loop import Ack, run_training_process

STOP_TIMEOUT = 1.0  # seconds the training process gets to stop before it is terminated


class TrainingWorker(QObject):
    snapshot_ready = Signal(object)  # engine.snapshot.StepSnapshot
    failed = Signal(str)  # a command could not be carried out; the message is for the user
    saved = Signal(str)  # path written
    stopped = Signal()

    def __init__(self, spec: NetworkSpec, splits: Splits) -> None:
        super().__init__()
        context = mp.get_context("spawn")  # no fork: the GUI process has threads and Qt state
        commands_in, self._commands = context.Pipe(duplex=False)
        self._events, events_out = context.Pipe(duplex=False)
        self._process = context.Process(
            target=run_training_process,
            args=(spec, splits, commands_in, events_out),
            name="training",
            daemon=True,
        )
        self._process.start()
        commands_in.close()
        events_out.close()
        self._closed = False

    # --------------------------------------------------------------- GUI thread
    def post(self, command: object) -> None:
        """Send a command to the training process (from the GUI thread)."""
        if self._closed:
            return
        try:
            self._commands.send(command)
        except (BrokenPipeError, OSError):
            self._closed = True
            self.failed.emit("The training process has stopped; restart the app to train again.")

    def acknowledge(self) -> None:
        """The GUI finished drawing a snapshot; the next may be sent."""
        self.post(Ack())

    def stop(self) -> bool:
        """Ask the process to stop and wait for it (terminate after STOP_TIMEOUT); True if clean."""
        self.post(commands.Stop())
        self._process.join(STOP_TIMEOUT)
        clean = not self._process.is_alive()
        if not clean:
            self._process.terminate()
            self._process.join(STOP_TIMEOUT)
        self._closed = True
        self._commands.close()
        return clean

    def is_alive(self) -> bool:
        return self._process.is_alive()

    # --------------------------------------------------------------- worker thread
    @Slot()
    def run(self) -> None:
        while True:
            try:
                kind, payload = recv_event(self._events)
            except (EOFError, OSError):
                break  # the process ended (or was terminated)
            if kind == "snapshot":
                self.snapshot_ready.emit(with_percentiles(payload))
            elif kind == "failed":
                self.failed.emit(payload)
            elif kind == "saved":
                self.saved.emit(payload)
            elif kind == "stopped":
                break
        self._events.close()
        self.stopped.emit()
