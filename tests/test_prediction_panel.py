"""Live prediction: drawings on the real canvas, classified with weights a real Trainer learned."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from engine.data.sources import load_dataset
from engine.files.paths import DATA_DIR_ENV
from engine.files.presets import load_preset
from engine.inference import Predictor
from engine.training.trainer import Trainer
from gui.drawing.view import DrawingView

TRAIN_STEPS = 400  # ~0.3 s on a quiet machine: 7 epochs of the bundled digits, ~94% test accuracy


@pytest.fixture(scope="module")
def trained():
    """(snapshot before training, snapshot after TRAIN_STEPS steps, test split)."""
    splits = load_dataset(seed=0)
    # No augmentation: it would double the step time and is not what these tests are about.
    trainer = Trainer(load_preset("healthy").with_hyperparams(augment=False), splits)
    untrained = trainer.snapshot()
    for _ in range(TRAIN_STEPS):
        trainer.step()
    return untrained, trainer.snapshot(), splits.test


@pytest.fixture
def view(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    widget = DrawingView()
    qtbot.addWidget(widget)
    widget.canvas.setFixedSize(280, 280)  # canvas pixels = widget pixels
    return widget


def draw_one(qtbot, canvas):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 50))
    for y in range(55, 235, 6):
        qtbot.mouseMove(canvas, QPoint(140, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 230))


def test_empty_canvas_shows_a_hint_not_a_prediction_or_error(qtbot, view, trained):
    updates = []
    view.prediction.prediction_updated.connect(updates.append)
    view.set_snapshot(trained[1])
    panel = view.prediction
    assert panel.probabilities() is None
    assert "Draw a digit" in panel.answer_text()
    draw_one(qtbot, view.canvas)
    assert panel.probabilities() is not None
    qtbot.keyClick(view.canvas, Qt.Key.Key_Escape)
    assert updates[-1] is None
    assert panel.probabilities() is None
    assert panel.prediction() is None
    assert panel.seen_image() is None
    assert panel.error_text() == ""
    assert "Draw a digit" in panel.answer_text()


def test_drawn_test_digits_get_the_engines_answers(qtbot, view, trained):
    """Bundled test digits upscaled onto the canvas (smooth, and binarised like a pen stroke)
    are classified like the engine classifies the originals."""
    _, snapshot, test = trained
    view.set_snapshot(snapshot)
    rng = np.random.default_rng(5)
    picks = np.concatenate([rng.choice(np.flatnonzero(test.labels == d), 4) for d in range(10)])
    engine_answers = (
        Predictor(snapshot.spec, snapshot.weights).predict_proba(test.images[picks]).argmax(axis=1)
    )
    assert np.mean(engine_answers == test.labels[picks]) > 0.8  # the model did learn
    for binarise in (False, True):
        answers = []
        for index in picks:
            view.canvas.set_image(test.images[index])
            if binarise:
                view.canvas.set_image(np.where(view.canvas.image() > 127, 255, 0).astype(np.uint8))
            probs = view.prediction.probabilities()
            answers.append(int(np.argmax(probs)))
        agreement = np.mean(np.array(answers) == engine_answers)
        assert agreement >= (0.9 if not binarise else 0.8), (binarise, agreement)


def test_vertical_stroke_is_shown_as_the_network_sees_it(qtbot, view, trained):
    view.set_snapshot(trained[1])
    draw_one(qtbot, view.canvas)
    seen = view.prediction.seen_image()
    assert seen.shape == (28, 28)
    rows = np.flatnonzero(seen.max(axis=1) > 30)
    assert rows[-1] - rows[0] + 1 >= 19
    # The same 28×28 is offered for teaching: the teach buttons come alive.
    assert view.teach._buttons[1].isEnabled()
    qtbot.mouseClick(view.teach._buttons[1], Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(view.taught_dataset().images[0], seen)


def test_a_new_snapshot_repredicts_with_the_new_weights(qtbot, view, trained):
    untrained, snapshot, test = trained
    image = test.images[int(np.flatnonzero(test.labels == 3)[0])]
    view.canvas.set_image(image)
    assert "No trained network" in view.prediction.answer_text()
    for snap in (untrained, snapshot):
        view.set_snapshot(snap)
        expected = Predictor(snap.spec, snap.weights).predict_proba(
            view.prediction.seen_image()[None]
        )[0]
        np.testing.assert_allclose(view.prediction.probabilities(), expected, rtol=1e-5)
    assert view.prediction.prediction() == 3
    view.reset(snapshot.spec)
    assert view.prediction.probabilities() is None
    assert "No trained network" in view.prediction.answer_text()


def test_unsure_below_the_threshold(qtbot, view, trained):
    panel = view.prediction
    view.set_snapshot(trained[1])
    view.canvas.set_image(trained[2].images[0])
    top = float(panel.probabilities().max())
    panel.set_unsure_threshold(min(1.0, top + 0.01))
    assert panel.prediction() is None
    assert "Unsure" in panel.answer_text()
    panel.set_unsure_threshold(top - 0.01)
    assert panel.prediction() == int(np.argmax(panel.probabilities()))
    assert f"{top:.0%} sure" in panel.answer_text()


def test_saliency_follows_the_clicked_bar_and_strips_show_hidden_layers(qtbot, view, trained):
    panel = view.prediction
    view.set_snapshot(trained[1])
    view.canvas.set_image(trained[2].images[0])
    top = panel.prediction()
    assert panel._seen._overlay is not None
    assert f"Why {top}?" in panel._legend.text()
    assert [name for name, _, _ in panel._strips._rows] == ["dense1", "dense2"]
    bars = panel._bars
    other = (top + 1) % 10
    qtbot.mouseClick(
        bars, Qt.MouseButton.LeftButton, pos=QPoint(int((other + 0.5) * bars.width() / 10), 50)
    )
    assert f"Why {other}?" in panel._legend.text()
    panel._overlay.setChecked(False)
    assert panel._seen._overlay is None


def test_unusable_weights_say_why_instead_of_crashing(qtbot, view, trained):
    snapshot = trained[1]
    view.canvas.set_image(trained[2].images[0])
    nan = {name: np.full_like(array, np.nan) for name, array in snapshot.weights.items()}
    view.set_snapshot(dataclasses.replace(snapshot, weights=nan, status="diverged"))
    assert view.prediction.probabilities() is None
    assert "diverged" in view.prediction.error_text()
    view.set_snapshot(dataclasses.replace(snapshot, weights={}))
    assert "Cannot use these weights" in view.prediction.error_text()
    view.set_snapshot(snapshot)
    assert view.prediction.error_text() == ""
    assert view.prediction.probabilities() is not None
