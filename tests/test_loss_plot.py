"""The loss plot and its history: every point kept, the moving average, epochs, markers, export."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from engine.files.presets import load_preset
from engine.snapshot import EpochRecord, StepSnapshot
from engine.training.trainer import Trainer
from gui.charts.loss_history import ROW_KEYS, LossHistory
from gui.charts.loss_plot import LossPlot, lr_ticks
from gui.file_actions import rows_to_csv

# The offscreen platform warns once per shown top-level window; nothing to fix on our side.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

SPEC = load_preset("healthy")


def snapshot(first: int, losses, *, steps_per_epoch: int = 100, lr: float = 0.1) -> StepSnapshot:
    """Steps first..first+k-1 with the given losses; epochs end every ``steps_per_epoch`` steps."""
    losses = np.asarray(losses, dtype=float)
    steps = np.arange(first, first + len(losses))
    last = first + len(losses) - 1 if len(losses) else first - 1
    records = tuple(
        EpochRecord(s // steps_per_epoch, int(s), 1.0 / s, 0.5 + s / 4e4, 1.2 / s, 0.45 + s / 4e4)
        for s in steps
        if s % steps_per_epoch == 0
    )
    return StepSnapshot(
        step=last,
        epoch=last // steps_per_epoch,
        epoch_progress=(last % steps_per_epoch) / steps_per_epoch,
        samples_seen=64 * last,
        elapsed=1.0,
        samples_per_second=64.0,
        steps=steps,
        losses=losses,
        learning_rates=np.full(len(losses), lr),
        grad_norms=np.zeros((len(losses), 3)),
        diagnostics=None,
        epochs=records,
        weights={},
        spec=SPEC,
        status="running",
    )


def run(sizes, seed: int = 0, **kw) -> list[StepSnapshot]:
    """Consecutive snapshots of the given sizes with noisy falling losses."""
    rng = np.random.default_rng(seed)
    snaps, step = [], 1
    for k in sizes:
        s = np.arange(step, step + k)
        snaps.append(snapshot(step, 2.3 * np.exp(-s / 300) + 0.1 + rng.random(k) * 0.2, **kw))
        step += k
    return snaps


def ema_reference(losses, w):
    out, ema = [], 0.0
    for n, x in enumerate(losses, 1):
        ema = w * ema + (1 - w) * x
        out.append(ema / (1 - w**n))
    return np.array(out)


@pytest.fixture
def plot(qtbot):
    widget = LossPlot()
    widget.resize(900, 700)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


# ---------------------------------------------------------------------- history
def test_every_point_is_kept_across_many_snapshots(plot):
    rng = np.random.default_rng(1)
    sizes = rng.integers(0, 40, size=400)  # including empty snapshots
    snaps = run(sizes)
    for snap in snaps:
        plot.set_snapshot(snap)
    plot.redraw()
    steps = np.concatenate([s.steps for s in snaps])
    losses = np.concatenate([s.losses for s in snaps])
    assert plot.history.size == len(steps) == sizes.sum()
    np.testing.assert_array_equal(plot.history.view("steps"), steps)
    x, y = plot.raw_curve.getOriginalDataset()
    np.testing.assert_array_equal(x, steps)
    np.testing.assert_array_equal(y, losses)
    np.testing.assert_array_equal(plot.lr_curve.getOriginalDataset()[1], np.full(len(steps), 0.1))


def test_redraws_are_coalesced_but_the_last_snapshot_is_drawn(qtbot, plot):
    for snap in run([10] * 20):
        plot.set_snapshot(snap)

    # Twenty calls in a burst: the curve catches up within REDRAW_MS without another call.
    def drawn() -> int:
        x = plot.raw_curve.getOriginalDataset()[0]
        return 0 if x is None else len(x)

    assert drawn() < 200
    qtbot.waitUntil(lambda: drawn() == 200)


def test_moving_average_is_the_bias_corrected_ema(plot):
    snaps = run([37, 1, 250, 12])
    for snap in snaps:
        plot.set_snapshot(snap)
    losses = np.concatenate([s.losses for s in snaps])
    np.testing.assert_allclose(plot.history.view("smoothed"), ema_reference(losses, 0.95))
    plot.smoothing.setValue(0.6)  # the user changes the smoothing: recomputed over everything
    np.testing.assert_allclose(plot.history.view("smoothed"), ema_reference(losses, 0.6))
    plot.redraw()
    np.testing.assert_allclose(
        plot.smooth_curve.getOriginalDataset()[1], ema_reference(losses, 0.6)
    )


def test_a_nan_loss_leaves_a_gap_and_does_not_poison_the_average():
    history = LossHistory(smoothing=0.5)
    history.append(snapshot(1, [1.0, math.nan, 3.0]))
    smoothed = history.view("smoothed")
    assert smoothed[0] == 1.0
    assert math.isnan(smoothed[1])
    assert smoothed[2] == pytest.approx((0.5 * 0.5 * 1.0 + 0.5 * 3.0) / (1 - 0.25))


def test_epochs_follow_the_snapshots_even_when_the_epoch_restarts():
    history = LossHistory()
    history.append(snapshot(1, np.ones(150), steps_per_epoch=100))
    np.testing.assert_allclose(history.view("epochs"), np.arange(1, 151) / 100)
    # A new training-set size restarts the epoch's progress; the x axis must not run backwards.
    restarted = snapshot(151, np.ones(10), steps_per_epoch=100)
    restarted = StepSnapshot(**{**restarted.__dict__, "epoch": 1, "epoch_progress": 0.05})
    history.append(restarted)
    assert np.all(np.diff(history.view("epochs")) >= 0)
    assert history.epoch_at(160) == pytest.approx(1.5)


def test_a_restarted_trainer_starts_a_new_curve(plot):
    for snap in run([50, 50]):
        plot.set_snapshot(snap)
    plot.mark_event(60, "learning_rate 0.01")
    plot.set_snapshot(run([5])[0])  # step 1 again: the weights were reset
    assert plot.history.size == 5
    assert plot.events == []


# ---------------------------------------------------------------------- view settings
def test_log_toggle_switches_the_loss_axis(qtbot, plot):
    for snap in run([100]):
        plot.set_snapshot(snap)
    plot.redraw()
    qtbot.mouseClick(plot.log_check, Qt.MouseButton.LeftButton)
    assert plot.loss_plot.getAxis("left").logMode
    np.testing.assert_allclose(plot.raw_curve.getData()[1], np.log10(plot.history.view("losses")))
    qtbot.mouseClick(plot.log_check, Qt.MouseButton.LeftButton)
    assert not plot.loss_plot.getAxis("left").logMode
    assert plot.lr_plot.getAxis("left").logMode  # the learning rate stays logarithmic


def test_epoch_markers_and_the_epoch_axis(plot):
    snaps = run([120, 130, 50], steps_per_epoch=100)
    for snap in snaps:
        plot.set_snapshot(snap)
    plot.redraw()
    x, y = plot.train_loss.getOriginalDataset()
    np.testing.assert_array_equal(x, [100, 200, 300])
    np.testing.assert_allclose(y, [1 / 100, 1 / 200, 1 / 300])
    x, y = plot.val_acc.getOriginalDataset()
    np.testing.assert_allclose(y, [100 * (0.45 + s / 4e4) for s in (100, 200, 300)])
    assert plot.acc_plot.getAxis("left").labelText == "accuracy (%)"

    plot.x_combo.setCurrentIndex(1)  # "epochs"
    assert plot.loss_plot.getAxis("bottom").labelText == "epoch"
    np.testing.assert_array_equal(plot.train_loss.getOriginalDataset()[0], [1, 2, 3])
    np.testing.assert_allclose(plot.raw_curve.getOriginalDataset()[0], np.arange(1, 301) / 100)


def test_mark_event_adds_a_labelled_line_and_coalesces_a_drag(plot):
    for snap in run([300]):
        plot.set_snapshot(snap)
    plot.mark_event(100, "learning_rate 0.1")
    plot.mark_event(104, "learning_rate 0.2")  # the same slider a moment later: one line
    plot.mark_event(150, "batch_size 0")
    lines = [item for item in plot.loss_plot.items if isinstance(item, pg.InfiniteLine)]
    labels = [line.label.format for line in lines]
    assert labels == ["learning_rate 0.2", "batch_size 0"]
    assert plot.events == [(100, "learning_rate 0.2"), (150, "batch_size 0")]
    plot.x_combo.setCurrentIndex(1)
    assert plot._event_lines[1][0].value() == pytest.approx(1.5)  # step 150 = epoch 1.5
    plot.reset(SPEC)
    assert plot.events == []
    assert plot.history.size == 0


def test_long_runs_are_downsampled_to_the_screen(qtbot, plot):
    for snap in run([1000] * 50):
        plot.set_snapshot(snap)
    plot.redraw()
    assert plot.history.size == 50_000
    # Once the view has taken the new range (at the next paint), about 2 points per pixel remain.
    pixels = plot.loss_plot.getViewBox().width()
    qtbot.waitUntil(lambda: len(plot.raw_curve.getData()[0]) < 5 * pixels)
    assert len(plot.raw_curve.getOriginalDataset()[0]) == 50_000


def test_lr_ticks_are_round_and_few():
    assert lr_ticks(0.1, 0.1) == [0.05, 0.1, 0.2]
    assert lr_ticks(1e-5, 10.0) == pytest.approx([1e-5, 1e-3, 0.1, 10.0])
    assert all(len(lr_ticks(lo, lo * f)) <= 5 for lo in (1e-5, 3e-3, 0.7) for f in (1, 7, 1e4))


# ---------------------------------------------------------------------- export
def test_export_png_and_csv_rows(tmp_path, plot):
    for snap in run([150, 60], steps_per_epoch=100):
        plot.set_snapshot(snap)
    plot.mark_event(120, "learning_rate 0.01")
    path = tmp_path / "plots.png"
    plot.export_png(path)
    image = QImage(str(path))
    assert not image.isNull()
    assert image.width() > 400
    assert image.height() > 300

    rows = plot.history_rows()
    assert len(rows) == 210
    assert list(rows[0]) == list(ROW_KEYS)
    assert rows[99]["step"] == 100
    assert rows[99]["epoch_done"] == 1
    assert rows[99]["val_accuracy"] == pytest.approx(100 * (0.45 + 100 / 4e4))
    assert rows[0]["train_loss"] == ""
    assert rows[120]["step"] == 121
    assert rows[120]["event"] == "learning_rate 0.01"
    table = list(csv.DictReader(io.StringIO(rows_to_csv(rows))))
    assert len(table) == 210
    assert float(table[5]["loss"]) == rows[5]["loss"]


# ---------------------------------------------------------------------- real training
def test_a_real_run_is_plotted_point_for_point(plot, splits):
    spec = SPEC.with_hyperparams(train_size=500, augment=False)
    trainer = Trainer(spec, splits)
    for step in range(1, 201):
        trainer.step()
        if step % 23 == 0 or step == 200:
            plot.set_snapshot(trainer.snapshot())
    plot.redraw()
    n = trainer.step_count
    assert plot.history.size == n == 200
    np.testing.assert_array_equal(plot.history.view("losses"), trainer.history.losses[:n])
    assert plot.history.view("epochs")[-1] == pytest.approx(trainer.epoch + trainer.epoch_progress)
    assert len(plot.history.records) == trainer.epoch == len(trainer.history.epochs)
    assert plot.history.view("smoothed")[-1] < plot.history.view("smoothed")[0]  # it learns
