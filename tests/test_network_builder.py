"""The layer builder driven as a user would: palette clicks, card drags, inspector edits, undo."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QPushButton

from engine.data.sources import load_dataset
from engine.files.presets import load_presets
from engine.files.spec import LayerSpec, NetworkSpec, dense
from engine.snapshot import StepSnapshot
from engine.training.trainer import Trainer
from gui.builder.diagram import MIME_BLOCK
from gui.builder.diagram_live import grad_colour, weight_buckets
from gui.builder.model import OUTPUT
from gui.builder.panel import NetworkBuilder

# The offscreen platform warns when a top-level window is shown; that says nothing about us.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

START = NetworkSpec(layers=(dense(128), dense(64)), name="start")


# ---------------------------------------------------------------------- helpers
def trained_snapshot(spec: NetworkSpec, steps: int = 3) -> StepSnapshot:
    """A real snapshot: the engine's trainer on the bundled digits after a few steps."""
    trainer = Trainer(spec.with_hyperparams(batch_size=16), load_dataset())
    for _ in range(steps):
        trainer.step()
    return trainer.snapshot()


def card_pos(builder: NetworkBuilder, index: int) -> QPoint:
    card = builder.diagram.card_for(index)
    builder.diagram.ensureVisible(card)
    return builder.diagram.mapFromScene(card.sceneBoundingRect().center())


def click_card(qtbot, builder: NetworkBuilder, index: int) -> None:
    qtbot.mouseClick(
        builder.diagram.viewport(), Qt.MouseButton.LeftButton, pos=card_pos(builder, index)
    )
    assert builder.selection() == index


def drag_card(qtbot, builder: NetworkBuilder, index: int, to: QPoint) -> None:
    viewport = builder.diagram.viewport()
    start = card_pos(builder, index)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0.1, 1.0, 8):
        step = QPoint(round(start.x() + (to.x() - start.x()) * t), start.y())
        qtbot.mouseMove(viewport, pos=step)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(to.x(), start.y()))


def units(builder: NetworkBuilder) -> list[object]:
    """Compact view of the layers: units for dense, type for the rest."""
    return units_of(builder.spec())


@pytest.fixture
def builder(qtbot) -> NetworkBuilder:
    widget = NetworkBuilder(START, presets=load_presets)
    qtbot.addWidget(widget)
    widget.resize(1300, 760)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


# ---------------------------------------------------------------------- editing by mouse
def test_build_by_mouse_then_undo_and_redo_every_state(qtbot, builder: NetworkBuilder) -> None:
    states = [units(builder)]
    click_card(qtbot, builder, 0)
    qtbot.mouseClick(builder.palette_buttons["dropout"], Qt.MouseButton.LeftButton)
    states.append(units(builder))
    assert states[-1] == [128, "dropout", 64]
    assert builder.spec().layers[1].rate == pytest.approx(0.2)

    qtbot.mouseClick(builder.palette_buttons["dense"], Qt.MouseButton.LeftButton)  # after dropout
    states.append(units(builder))
    assert states[-1] == [128, "dropout", 64, 64]
    assert builder.selection() == 2

    spin = builder.inspector.units
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, "32")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    states.append(units(builder))
    assert states[-1] == [128, "dropout", 32, 64]

    # Drag the dropout card past the last card: it becomes the last block.
    last = builder.diagram.cards[-1].sceneBoundingRect()
    drag_card(qtbot, builder, 1, builder.diagram.mapFromScene(last.right() + 10, last.center().y()))
    qtbot.waitUntil(lambda: units(builder) == [128, 32, 64, "dropout"])
    states.append(units(builder))
    assert builder.selection() == 3

    click_card(qtbot, builder, 0)
    builder.diagram.setFocus()
    qtbot.keyClick(builder.diagram, Qt.Key.Key_Delete)
    states.append(units(builder))
    assert states[-1] == [32, 64, "dropout"]

    builder.activateWindow()
    for expected in reversed(states[:-1]):
        qtbot.keyClick(builder.diagram, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert units(builder) == expected
    assert not builder.undo_stack.canUndo()
    for expected in states[1:]:
        qtbot.keyClick(
            builder.diagram, Qt.Key.Key_Z,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )  # fmt: skip
        assert units(builder) == expected


def test_every_edit_emits_spec_changed(qtbot, builder: NetworkBuilder) -> None:
    seen: list[NetworkSpec] = []
    builder.spec_changed.connect(seen.append)
    qtbot.mouseClick(builder.palette_buttons["batchnorm"], Qt.MouseButton.LeftButton)
    builder.undo_action.trigger()
    assert [len(s.layers) for s in seen] == [3, 2]
    assert seen[-1] == builder.spec()


def test_nudging_a_field_is_one_undo_step(qtbot, builder: NetworkBuilder) -> None:
    click_card(qtbot, builder, 1)
    for _ in range(3):
        qtbot.keyClick(builder.inspector.units, Qt.Key.Key_Up)
    assert units(builder) == [128, 67]
    assert builder.undo_stack.count() == 1
    builder.undo_action.trigger()
    assert units(builder) == [128, 64]


def test_duplicate_and_output_settings(qtbot, builder: NetworkBuilder) -> None:
    click_card(qtbot, builder, 0)
    builder.duplicate_action.trigger()
    assert units(builder) == [128, 128, 64]
    click_card(qtbot, builder, OUTPUT)
    builder.inspector.activation.setCurrentText("sigmoid")
    assert builder.spec().output.activation == "sigmoid"
    # Cross-entropy is defined on the softmax output only: flagged on the output card.
    assert (
        "cross-entropy loss needs the softmax" in builder.diagram.fixed_cards["output"].error_text()
    )
    assert not builder.apply_button.isEnabled()
    builder.inspector.loss.setCurrentText("mse")
    assert builder.spec().loss == "mse"
    assert builder.errors() == []
    assert builder.apply_button.isEnabled()


# QDragEnterEvent/QDragMoveEvent only have QPoint constructors, which PySide flags as deprecated;
# a real QDrag cannot run offscreen (it blocks in its own loop), so synthesise the events.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_palette_drop_inserts_where_dropped(qtbot, builder: NetworkBuilder) -> None:
    first = builder.diagram.cards[0].sceneBoundingRect()
    pos = builder.diagram.mapFromScene(first.right() + 8, first.center().y())
    mime = QMimeData()
    mime.setData(MIME_BLOCK, b"batchnorm")
    viewport = builder.diagram.viewport()
    action, left = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton
    for event in (
        QDragEnterEvent(pos, action, mime, left, Qt.KeyboardModifier.NoModifier),
        QDragMoveEvent(pos, action, mime, left, Qt.KeyboardModifier.NoModifier),
        QDropEvent(pos.toPointF(), action, mime, left, Qt.KeyboardModifier.NoModifier),
    ):
        QApplication.sendEvent(viewport, event)
    assert units(builder) == [128, "batchnorm", 64]


# ---------------------------------------------------------------------- validity
def test_residual_width_mismatch_is_flagged_and_cannot_be_applied(
    qtbot, builder: NetworkBuilder
) -> None:
    applied: list[object] = []
    builder.apply_requested.connect(lambda spec, keep: applied.append(spec))
    click_card(qtbot, builder, 1)
    qtbot.mouseClick(builder.palette_buttons["residual"], Qt.MouseButton.LeftButton)
    assert builder.errors() == []  # a new residual block fits where it is put
    builder.inspector.inner_combo.setCurrentIndex(1)
    builder.inspector.units.setValue(32)  # F(x) now ends at 32, x is 64 wide

    card = builder.diagram.cards[2]
    assert builder.spec().layers[2].layers[1].units == 32
    assert "layer 3 (residual)" in card.error_text()
    assert "width 32" in card.error_text()
    assert "layer 3 (residual)" in builder.status_label.text()
    assert not builder.apply_button.isEnabled()
    qtbot.mouseClick(builder.apply_button, Qt.MouseButton.LeftButton)
    assert applied == []

    # The outline is really drawn red: sample the card's top edge on screen.
    image = builder.diagram.viewport().grab().toImage()
    edge = builder.diagram.mapFromScene(card.sceneBoundingRect().center().x(), card.pos().y())
    reds = [image.pixelColor(edge.x(), edge.y() + dy) for dy in range(-3, 4)]
    assert any(c.red() > 180 and c.green() < 90 and c.blue() < 90 for c in reds)

    builder.undo_action.trigger()
    assert builder.errors() == []
    assert builder.diagram.cards[2].error_text() == ""
    assert builder.apply_button.isEnabled()


# ---------------------------------------------------------------------- apply
def test_apply_asks_before_discarding_trained_weights(qtbot, builder: NetworkBuilder) -> None:
    applied: list[tuple[NetworkSpec, bool]] = []
    builder.apply_requested.connect(lambda spec, keep: applied.append((spec, keep)))
    qtbot.mouseClick(builder.apply_button, Qt.MouseButton.LeftButton)
    assert applied == [(builder.spec(), False)]  # nothing trained yet: nothing to ask

    builder.set_trained(True)
    for label, expected in (("Keep weights of unchanged layers", True), ("Discard weights", False)):
        answer_box(builder, label)
        qtbot.mouseClick(builder.apply_button, Qt.MouseButton.LeftButton)
        assert applied[-1] == (builder.spec(), expected)
    answer_box(builder, None)  # Cancel
    count = len(applied)
    qtbot.mouseClick(builder.apply_button, Qt.MouseButton.LeftButton)
    assert len(applied) == count


def answer_box(parent: NetworkBuilder, label: str | None) -> None:
    """Click ``label`` (None: Cancel) in the message box ``parent`` is about to open."""
    timer = QTimer(parent)

    def poll() -> None:
        boxes = [b for b in parent.findChildren(QMessageBox) if b.isVisible()]
        if not boxes:
            return
        timer.stop()
        box = boxes[0]
        if label is None:
            box.button(QMessageBox.StandardButton.Cancel).click()
        else:
            next(b for b in box.findChildren(QPushButton) if b.text() == label).click()

    timer.timeout.connect(poll)
    timer.start(10)


# ---------------------------------------------------------------------- presets and files
def test_preset_loads_and_undo_returns(qtbot, builder: NetworkBuilder) -> None:
    presets = load_presets()
    assert {"healthy", "vanishing"} <= set(presets)
    action = next(a for a in builder.presets_menu.actions() if a.text() == "vanishing")
    action.trigger()
    assert builder.spec().layers == presets["vanishing"].layers
    assert builder.spec().hyperparams == presets["vanishing"].hyperparams
    builder.undo_action.trigger()
    assert builder.spec().layers == START.layers


def test_save_open_round_trip_and_bad_file(qtbot, builder, tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "net.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    qtbot.mouseClick(builder.palette_buttons["dropout"], Qt.MouseButton.LeftButton)
    saved = builder.spec()
    qtbot.mouseClick(builder.save_button, Qt.MouseButton.LeftButton)
    assert json.loads(target.read_text())["layers"][2] == {"type": "dropout", "rate": 0.2}
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind

    builder.undo_action.trigger()
    qtbot.mouseClick(builder.open_button, Qt.MouseButton.LeftButton)
    assert builder.spec() == saved

    for bad in ("{not json", '{"layers": [{"type": "dense", "units": 0}]}'):
        target.write_text(bad)
        qtbot.mouseClick(builder.open_button, Qt.MouseButton.LeftButton)
        assert builder.spec() == saved  # nothing lost
    assert len(warnings) == 2
    assert "not valid JSON" in warnings[0]
    assert "units must be 1..4096" in warnings[1]


def test_set_spec_history(qtbot, builder: NetworkBuilder) -> None:
    seen: list[NetworkSpec] = []
    builder.spec_changed.connect(seen.append)
    builder.set_spec(START.with_hyperparams(learning_rate=0.5))  # hyperparameters: no history
    assert builder.spec().hyperparams.learning_rate == 0.5
    other = NetworkSpec(layers=(dense(10),), name="other")
    builder.set_spec(other)  # the app's first network: nothing to go back to
    assert builder.undo_stack.count() == 0
    qtbot.mouseClick(builder.palette_buttons["dropout"], Qt.MouseButton.LeftButton)
    builder.set_spec(START)  # after an edit, replacing the network is one undoable step
    assert units(builder) == [128, 64]
    builder.undo_action.trigger()
    assert units(builder) == [10, "dropout"]
    assert [units_of(s) for s in seen] == [
        [128, 64],
        [10],
        [10, "dropout"],
        [128, 64],
        [10, "dropout"],
    ]


def units_of(spec: NetworkSpec) -> list[object]:
    return [layer.units if layer.type == "dense" else layer.type for layer in spec.layers]


# ---------------------------------------------------------------------- live view
def test_live_neurons_follow_weights_and_gradients(qtbot, builder: NetworkBuilder) -> None:
    spec = NetworkSpec(
        layers=(dense(8), dense(6, "tanh"), LayerSpec("residual", layers=(dense(6), dense(6))),
                dense(200)),
    )  # fmt: skip
    builder.reset(spec)
    snap = trained_snapshot(spec)
    builder.set_snapshot(snap)
    modes = {column.name: item.mode for item, column in builder.diagram.connections}
    assert modes == {
        "dense1": "fan",  # 784 inputs: too many to draw one by one
        "dense2": "weights",  # 8 → 6
        "residual3.dense1": "weights",
        "residual3.dense2": "weights",
        "dense4": "fan",  # 6 → 200
        "output": "fan",  # 200 → 10
    }
    for item, column in builder.diagram.connections:
        if item.mode == "weights":
            w = snap.weights[f"{column.name}.W"]
            expected = np.bincount(weight_buckets(w).ravel(), minlength=8)
            np.testing.assert_array_equal(item.bucket_counts(), expected)
            assert item.bucket_counts().sum() == w.size
    diag = snap.diagnostics
    for column in builder.diagram.columns:
        if column.diag:
            norm = diag.grad_norm[diag.layer_names.index(column.diag)]
            assert column.lane.colour() == grad_colour(norm), column.name
    assert f"live · step {snap.step}" in builder.live_label.text()

    card = builder.diagram.cards[1]
    qtbot.mouseMove(builder.diagram.viewport(), pos=card_pos(builder, 1))
    qtbot.waitUntil(lambda: "gradient norm" in card.toolTip())
    assert f"{diag.grad_norm[diag.layer_names.index('dense2')]:.3g}" in card.toolTip()

    lines = builder.diagram.connections[1][0]
    later = trained_snapshot(spec, steps=30)
    builder.set_snapshot(later)  # items are updated, not recreated
    assert builder.diagram.connections[1][0] is lines
    assert lines.weights is later.weights["dense2.W"]

    click_card(qtbot, builder, 0)
    qtbot.mouseClick(builder.palette_buttons["dropout"], Qt.MouseButton.LeftButton)
    builder.set_snapshot(later)  # the edited drawing is no longer the trained network
    assert not builder.diagram.live
    assert all(c.lane.grad is None for c in builder.diagram.columns)
    assert "Apply" in builder.live_label.text()
    builder.undo_action.trigger()  # back to the trained architecture: live again
    assert builder.diagram.live


def test_non_finite_weights_are_drawn_red(qtbot, builder: NetworkBuilder) -> None:
    spec = NetworkSpec(layers=(dense(8), dense(6)))
    builder.reset(spec)
    snap = trained_snapshot(spec, steps=1)
    broken = dict(snap.weights)
    w = np.array(snap.weights["dense2.W"])
    w[0, 0] = np.nan
    broken["dense2.W"] = w
    lines = builder.diagram.connections[1][0]
    builder.set_snapshot(replace(snap, weights=broken, status="diverged"))
    assert not lines.finite
    image = builder.diagram.viewport().grab().toImage()
    rect = builder.diagram.mapFromScene(lines.sceneBoundingRect()).boundingRect()
    colours = {
        image.pixelColor(rect.center().x(), y).name() for y in range(rect.top(), rect.bottom())
    }
    assert "#e3001b" in colours  # NOT_FINITE red
    builder.set_snapshot(snap)
    assert lines.finite
