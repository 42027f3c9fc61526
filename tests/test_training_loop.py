"""The training process's loop, driven directly: commands between steps, pacing of snapshots."""

from engine.files.spec import NetworkSpec, dense
from engine.training import commands
from engine.training.trainer import Trainer
from gui.training.loop import COMMAND_INTERVAL, SNAPSHOT_INTERVAL, Ack, TrainingLoop


def small_spec():
    return NetworkSpec(layers=(dense(16),)).with_hyperparams(batch_size=16)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Inbox:
    """A command pipe end: counts the looks (each a system call in the real pipe)."""

    def __init__(self) -> None:
        self.waiting: list[object] = []
        self.looks = 0

    def poll(self, timeout: float = 0.0) -> bool:
        self.looks += 1
        return bool(self.waiting)

    def recv(self) -> object:
        return self.waiting.pop(0)


def make_loop(splits):
    sent, clock = [], Clock()
    loop = TrainingLoop(Trainer(small_spec(), splits), sent.append, clock=clock)
    return loop, sent, clock, Inbox()


def test_while_training_commands_are_looked_for_every_few_milliseconds(splits):
    loop, _sent, clock, inbox = make_loop(splits)
    inbox.waiting.append(commands.Start())
    for _ in range(100):  # 100 steps of 1 ms each
        loop.turn(inbox)
        clock.now += 0.001
    assert loop.trainer.step_count == 100
    expected = 100 * 0.001 / COMMAND_INTERVAL
    assert expected <= inbox.looks <= expected + 3
    inbox.waiting.append(commands.Pause())
    for _ in range(int(COMMAND_INTERVAL / 0.001) + 1):
        loop.turn(inbox)
        clock.now += 0.001
    assert loop.status == "paused"
    steps, looks = loop.trainer.step_count, inbox.looks
    for _ in range(3):  # paused: every turn waits for a command, none steps
        loop.turn(inbox)
    assert inbox.looks == looks + 3
    assert loop.trainer.step_count == steps


def test_snapshots_wait_for_the_interval_and_the_gui(splits):
    loop, sent, clock, inbox = make_loop(splits)
    inbox.waiting.append(commands.Start())
    for _ in range(30):
        loop.turn(inbox)
        clock.now += SNAPSHOT_INTERVAL / 10
    assert len(sent) == 1  # the GUI has not acknowledged the first one
    inbox.waiting.append(Ack())
    for _ in range(30):
        loop.turn(inbox)
        clock.now += SNAPSHOT_INTERVAL / 10
    assert len(sent) == 2
    kind, snapshot = sent[-1]
    assert kind == "snapshot"
    assert snapshot.gradients  # percentiles are left to the GUI process
    assert snapshot.diagnostics.weight_percentiles is None
