"""The training loop that runs in the training process: commands in, throttled snapshots out.

No Qt here: this module is imported by a spawned child process that owns the Trainer. Training runs
in its own process rather than a thread because pyqtgraph painting holds the GIL: with the trainer
on a thread, painting at 20-30 frames a second cut training to ~30% of its headless speed and made
the GUI timer late by 200 ms (measured on these 2 cores). In a process both run at full speed.

Protocol (multiprocessing connections, one per direction):
- parent -> child: the frozen commands of engine.training.commands, plus SaveModel and Ack;
- child -> parent: ("snapshot", StepSnapshot), ("failed", str), ("saved", str), ("stopped", None),
  sent in order by a gui.training.event_pipe.EventSender thread (arrays out of band).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from engine.data.datasets import Splits
from engine.files.checkpoint import save_model
from engine.files.spec import NetworkSpec
from engine.training import commands
from engine.training.trainer import Trainer
from gui.training.event_pipe import EventSender

SNAPSHOT_INTERVAL = 1 / 24  # seconds: at most 24 snapshots a second (film rate) reach the GUI
IDLE_POLL = 0.25  # seconds a paused loop waits for a command before checking again
# Seconds between looks for commands while training: a look is a system call (~3 µs), which made
# every step of 784-128-64-10 at batch 64 ~2% slower when taken each step.
COMMAND_INTERVAL = 0.005


@dataclass(frozen=True)
class SaveModel:
    """Write the current model (``session`` adds the history) to ``path``; answered by "saved"."""

    path: str
    session: bool = False


@dataclass(frozen=True)
class Ack:
    """The GUI has drawn the last snapshot: the next may be sent (back-pressure)."""


class TrainingLoop:
    """Runs the trainer between commands; ``send`` delivers (kind, payload) events to the GUI."""

    def __init__(
        self, trainer: Trainer, send: Any, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.trainer = trainer
        self.send = send
        self.clock = clock  # paces snapshots (benchmarks pass a CPU-time clock)
        self.running = False
        self.steps_left = 0
        self.to_epoch_end = False
        self.stopping = False
        self.status = "paused"
        self.consumed = True
        self.last_emit = 0.0
        self.last_look = -COMMAND_INTERVAL
        self.emitted_step = -1

    @property
    def busy(self) -> bool:
        return self.running or self.steps_left > 0 or self.to_epoch_end

    def handle(self, command: object) -> None:
        trainer = self.trainer
        try:
            if isinstance(command, Ack):
                self.consumed = True
            elif isinstance(command, commands.Start):
                self.running, self.status = True, "running"
            elif isinstance(command, commands.Pause):
                self.pause()
            elif isinstance(command, commands.Step):
                self.running = False
                if command.epoch:
                    self.to_epoch_end = True
                else:
                    self.steps_left = max(1, command.n)
                self.status = "running"
            elif isinstance(command, commands.Stop):
                self.stopping = True
            elif isinstance(command, SaveModel):
                save_model(command.path, trainer.model_file(session=command.session))
                self.send(("saved", command.path))
            else:
                trainer.apply(command)
                rebuilt = (commands.Reset, commands.SetSpec, commands.LoadModel, commands.SetData)
                if isinstance(command, rebuilt):
                    self.pause()
        except Exception as exc:  # a bad command must not end training
            self.send(("failed", f"{type(command).__name__}: {exc}"))
            traceback.print_exc()

    def pause(self) -> None:
        self.running = False
        self.steps_left = 0
        self.to_epoch_end = False
        self.status = "paused"
        self.emit(force=True)

    def advance(self) -> None:
        trainer = self.trainer
        result = trainer.step()
        if result.diverged:
            self.running, self.steps_left, self.to_epoch_end = False, 0, False
            self.status = "diverged"
            self.emit(force=True)
            return
        if self.steps_left > 0:
            self.steps_left -= 1
            if self.steps_left == 0:
                self.pause()
        if result.epoch_finished:
            if self.to_epoch_end:
                self.pause()
            elif self.running and trainer.epoch == trainer.hyperparams.epochs:
                self.running, self.status = False, "finished"
                self.emit(force=True)

    def turn(self, commands_in: Connection) -> None:
        """One turn of the process's loop: carry out waiting commands, step, maybe snapshot."""
        now = self.clock()
        if not self.busy or now - self.last_look >= COMMAND_INTERVAL:
            self.last_look = now
            if commands_in.poll(0 if self.busy else IDLE_POLL):
                while commands_in.poll():
                    self.handle(commands_in.recv())
        if self.stopping:
            return
        if self.busy:
            self.advance()
        self.emit(now=now)

    def emit(self, *, force: bool = False, now: float | None = None) -> None:
        """Send a snapshot if one is due (``force``: now); ``now`` saves reading the clock."""
        if now is None:
            now = self.clock()
        if not force:
            if now - self.last_emit < SNAPSHOT_INTERVAL or not self.consumed:
                return
            if self.trainer.step_count == self.emitted_step:
                return  # nothing new: a paused loop stays quiet
        self.consumed = False
        self.last_emit = now
        self.emitted_step = self.trainer.step_count
        status = self.status
        if status == "running" and not self.busy:
            status = "paused"
        # Percentiles are selected on the GUI side (training_worker), off this process's core.
        self.send(("snapshot", self.trainer.snapshot(status, percentiles=False)))


def run_training_process(
    spec: NetworkSpec, splits: Splits, commands_in: Connection, events_out: Connection
) -> None:
    """Entry point of the training process: build the trainer, then loop until Stop."""
    sender = EventSender(events_out)
    try:
        loop = TrainingLoop(Trainer(spec, splits), sender)
        loop.emit(force=True)
        while not loop.stopping:
            loop.turn(commands_in)
        sender(("stopped", None))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the GUI went away: nothing left to report to
    finally:
        sender.close()
