"""The training thread seen from the GUI thread: commands in, snapshots out, clean stop."""

import threading

import pytest

from engine.files.presets import load_preset
from engine.files.spec import LayerSpec, NetworkSpec, dense
from gui.training.controller import TrainingController

SMALL = NetworkSpec(layers=(dense(32), LayerSpec("dropout", rate=0.1))).with_hyperparams(
    learning_rate=0.05, batch_size=32
)


@pytest.fixture
def controller(qtbot, splits):
    ctl = TrainingController(SMALL, splits)
    yield ctl
    assert ctl.shutdown()


def wait_for(qtbot, controller, predicate, timeout=10000):
    qtbot.waitUntil(
        lambda: controller.latest is not None and predicate(controller.latest), timeout=timeout
    )


def test_start_streams_every_step_and_pause_stops(qtbot, controller):
    steps = []
    controller.snapshot_ready.connect(lambda s: steps.extend(s.steps.tolist()))
    controller.start()
    wait_for(qtbot, controller, lambda s: s.step >= 300)
    controller.pause()
    wait_for(qtbot, controller, lambda s: s.status == "paused")
    final = controller.latest.step
    qtbot.wait(200)
    assert controller.latest.step == final
    assert steps == list(range(1, final + 1)), "a snapshot dropped or repeated a step"


def test_snapshots_are_throttled(qtbot, controller):
    count = []
    controller.snapshot_ready.connect(lambda s: count.append(s))
    controller.start()
    qtbot.wait(1000)
    controller.pause()
    assert len(count) <= 40, f"{len(count)} snapshots in one second"
    assert controller.latest.step > len(count), "several steps per snapshot expected"


def test_single_step_advances_exactly_one(qtbot, controller):
    wait_for(qtbot, controller, lambda s: s.step == 0)
    controller.step(1)
    wait_for(qtbot, controller, lambda s: s.step == 1 and s.status == "paused")
    qtbot.wait(100)
    assert controller.latest.step == 1
    controller.step(5)
    wait_for(qtbot, controller, lambda s: s.step == 6)


def test_epoch_command_runs_to_the_epoch_end(qtbot, controller):
    controller.run_epoch()
    wait_for(qtbot, controller, lambda s: s.epoch == 1 and s.status == "paused")
    assert controller.latest.epoch_progress == 0.0


def test_hyperparameters_reach_the_trainer_while_running(qtbot, controller):
    controller.start()
    wait_for(qtbot, controller, lambda s: s.step > 20)
    controller.set_hyperparams(learning_rate=0.0123)
    wait_for(qtbot, controller, lambda s: s.learning_rates.size and s.learning_rates[-1] == 0.0123)
    assert controller.latest.spec.hyperparams.learning_rate == 0.0123


def test_divergence_pauses_and_names_the_layer(qtbot, splits):
    ctl = TrainingController(load_preset("exploding").with_hyperparams(learning_rate=5.0), splits)
    try:
        with qtbot.waitSignal(ctl.diverged, timeout=10000) as blocker:
            ctl.start()
        assert "layer '" in blocker.args[0]
        assert ctl.status == "diverged"
    finally:
        assert ctl.shutdown()


def test_shutdown_mid_training_leaves_no_thread(qtbot, splits):
    ctl = TrainingController(load_preset("healthy"), splits)
    ctl.start()
    wait_for(qtbot, ctl, lambda s: s.step > 5)
    assert ctl.shutdown(timeout_ms=1000)
    assert not ctl.is_running()
    assert [t.name for t in threading.enumerate() if t.name == "training"] == []


def test_a_dead_training_process_is_reported(qtbot, controller):
    wait_for(qtbot, controller, lambda s: s.step == 0)
    with qtbot.waitSignal(controller.failed, timeout=10000) as blocker:
        controller._worker._process.kill()
    assert "stopped unexpectedly" in blocker.args[0]
    assert controller.status == "stopped"
