"""The hyperparameter panel driven as a user would: drags, keys, clicks, typing."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QScrollBar,
    QWidget,
)
from qt_helpers import drag, handle_centre

from engine.files.presets import load_preset
from engine.files.spec import INITS, Hyperparams
from engine.training.trainer import Trainer
from gui.controls.hyperparams import THROTTLE_MS, HyperparamPanel
from gui.controls.sliders import one_two_five, round_sig

# The offscreen platform warns once per shown top-level window; nothing to fix on our side.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def panel(qtbot):
    widget = HyperparamPanel()
    widget.set_pool_size(3500)
    widget.set_hyperparams(load_preset("healthy").hyperparams)
    widget.resize(420, 900)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def record(panel) -> list[dict]:
    emitted: list[dict] = []
    panel.hyperparams_changed.connect(emitted.append)
    return emitted


# ---------------------------------------------------------------------- learning rate
def test_lr_drag_maps_log_scale_at_both_ends_and_middle(qtbot, panel):
    emitted = record(panel)
    slider = panel.learning_rate.slider
    drag(qtbot, slider, [slider.width() // 2, -40])
    assert emitted[-1] == {"learning_rate": 1e-5}
    assert panel.learning_rate.spin.value() == pytest.approx(1e-5)

    drag(qtbot, slider, [slider.width() + 40])
    assert emitted[-1] == {"learning_rate": 10.0}
    assert panel.hyperparams().learning_rate == 10.0

    # Half-way along the groove is half-way in log10 between 1e-5 and 10: 1e-2.
    drag(qtbot, slider, [slider.width() // 2])
    value = emitted[-1]["learning_rate"]
    assert value == round_sig(10.0 ** slider.value())
    assert 10**-2.3 < value < 10**-1.7


def test_lr_drag_is_throttled_but_ends_with_the_final_value(qtbot, panel):
    emitted = record(panel)
    slider = panel.learning_rate.slider
    xs = [slider.width() * i // 60 for i in range(60)]
    start = time.monotonic()
    drag(qtbot, slider, xs, pause_ms=5)
    elapsed = time.monotonic() - start
    values = [e["learning_rate"] for e in emitted]
    assert len(set(values)) > 3  # values flow while dragging, not only on release
    # One per THROTTLE_MS at most, plus the leading one, the flush on release and one for timer
    # jitter; without throttling every one of the 60 moves would emit.
    assert len(emitted) <= elapsed / (THROTTLE_MS / 1000) + 3
    assert values[-1] == round_sig(10.0 ** slider.value()) == panel.hyperparams().learning_rate


def test_throttled_drag_sends_its_last_value_without_release(qtbot, panel):
    emitted = record(panel)
    slider = panel.learning_rate.slider
    start = handle_centre(slider)
    qtbot.mousePress(slider, LEFT, pos=start)
    for x in (start.x() - 30, start.x() - 20, start.x() - 10):
        qtbot.mouseMove(slider, QPoint(x, start.y()))
    # The throttler's trailing emission delivers the latest value while the button is still down.
    qtbot.waitUntil(
        lambda: emitted and emitted[-1]["learning_rate"] == round_sig(10 ** slider.value())
    )
    qtbot.mouseRelease(slider, LEFT, pos=QPoint(start.x() - 10, start.y()))


def test_lr_keyboard_steps_a_tenth_of_a_decade(qtbot, panel):
    emitted = record(panel)
    panel.learning_rate.slider.setFocus()
    qtbot.keyClick(panel.learning_rate.slider, Qt.Key.Key_Right)
    assert emitted == [{"learning_rate": round_sig(0.05 * 10**0.1)}]
    qtbot.keyClick(panel.learning_rate.slider, Qt.Key.Key_End)
    assert emitted[-1] == {"learning_rate": 10.0}


def test_typing_a_learning_rate(qtbot, panel):
    emitted = record(panel)
    edit = panel.learning_rate.spin.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, "3e-4")
    qtbot.keyClick(panel.learning_rate.spin, Qt.Key.Key_Return)
    assert emitted == [{"learning_rate": pytest.approx(3e-4)}]
    assert panel.learning_rate.slider.value() == pytest.approx(math.log10(3e-4))


# ---------------------------------------------------------------------- other controls
def test_batch_slider_goes_from_stochastic_to_full_batch(qtbot, panel):
    emitted = record(panel)
    slider = panel.batch.slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_End)
    assert emitted[-1] == {"batch_size": 0}
    assert panel.batch.label.text() == "full batch"
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    assert emitted[-1] == {"batch_size": 1}
    assert "stochastic" in panel.batch.label.text()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert emitted[-1] == {"batch_size": 2}


def test_clipping_checkbox_switches_between_off_and_a_threshold(qtbot, panel):
    emitted = record(panel)
    check = panel.clip.check
    assert not check.isChecked()
    assert not panel.clip.slider.isEnabled()
    qtbot.mouseClick(check, LEFT)
    assert emitted == [{"clip_norm": 1.0}]
    assert emitted[0]["clip_norm"] > 0
    assert panel.clip.slider.isEnabled()
    panel.clip.slider.setFocus()
    qtbot.keyClick(panel.clip.slider, Qt.Key.Key_End)
    assert emitted[-1] == {"clip_norm": 100.0}
    qtbot.mouseClick(check, LEFT)
    assert emitted[-1] == {"clip_norm": None}
    assert panel.hyperparams().clip_norm is None


def test_l2_off_is_zero(qtbot, panel):
    emitted = record(panel)
    qtbot.mouseClick(panel.l2.check, LEFT)
    assert emitted[-1] == {"l2": 1e-4}  # a sensible start, not the far end of the slider
    qtbot.mouseClick(panel.l2.check, LEFT)
    assert emitted[-1] == {"l2": 0.0}


def test_optimiser_choice_enables_the_coefficients_it_uses(qtbot, panel):
    emitted = record(panel)
    combo = panel.optimizer
    combo.setFocus()
    combo.setCurrentIndex(combo.findData("adam"))
    assert emitted[-1] == {"optimizer": "adam"}
    assert panel.momentum.isEnabled()
    assert panel.beta2.isEnabled()
    combo.setCurrentIndex(combo.findData("sgd"))
    assert emitted[-1] == {"optimizer": "sgd"}
    assert not panel.momentum.isEnabled()
    assert not panel.beta2.isEnabled()


def test_labelled_sliders_take_keyboard_focus_and_keys(qtbot, panel):
    emitted = record(panel)
    panel.momentum.setFocus()  # what Tab does: the wrapper forwards focus to its slider
    inner = panel.momentum.findChild(QAbstractSlider)
    assert inner.focusPolicy() == Qt.FocusPolicy.StrongFocus
    qtbot.keyClick(inner, Qt.Key.Key_Left)
    assert emitted == [{"momentum": 0.899}]
    qtbot.keyClick(inner, Qt.Key.Key_Home)
    assert emitted[-1] == {"momentum": 0.0}
    qtbot.keyClick(inner, Qt.Key.Key_PageUp)
    assert emitted[-1]["momentum"] == pytest.approx(0.0999, abs=1e-4)


def test_step_schedule_shows_its_settings(qtbot, panel):
    emitted = record(panel)
    assert not panel.step_every.isEnabled()
    panel.schedule.setCurrentIndex(panel.schedule.findData("step"))
    assert emitted[-1] == {"schedule": "step"}
    assert panel.step_every.isEnabled()
    assert panel.step_gamma.isEnabled()
    panel.step_every.setFocus()
    qtbot.keyClick(panel.step_every, Qt.Key.Key_Up)
    assert emitted[-1] == {"step_every": 2}


def test_training_set_size_runs_from_ten_to_all(qtbot, panel):
    emitted = record(panel)
    assert panel.train_size.choices() == [*one_two_five(10, 3500), None]
    assert panel.train_size.label.text() == "all (3500)"
    panel.train_size.slider.setFocus()
    qtbot.keyClick(panel.train_size.slider, Qt.Key.Key_Home)
    assert emitted[-1] == {"train_size": 10}
    qtbot.keyClick(panel.train_size.slider, Qt.Key.Key_End)
    assert emitted[-1] == {"train_size": None}


def test_init_changes_go_out_as_init_changed_once_per_gesture(qtbot, panel):
    inits: list[tuple[str, float]] = []
    panel.init_changed.connect(lambda scheme, scale: inits.append((scheme, scale)))
    with qtbot.assertNotEmitted(panel.hyperparams_changed):
        panel.init_scheme.setCurrentIndex(INITS.index("xavier"))
        assert inits == [("xavier", 1.0)]
        slider = panel.init_scale.findChild(QAbstractSlider)
        drag(qtbot, slider, [slider.width() * i // 10 for i in range(6, 11)])
    assert inits[1:] == [("xavier", 5.0)]  # a drag rebuilds the network once, on release


def test_set_hyperparams_shows_values_without_emitting(qtbot, panel):
    hp = Hyperparams(
        optimizer="adam",
        learning_rate=0.003,
        momentum=0.8,
        beta2=0.99,
        batch_size=0,
        epochs=7,
        l2=1e-4,
        dropout_scale=0.5,
        clip_norm=2.0,
        schedule="cosine",
        train_size=100,
        augment=False,
        seed=42,
    )
    with (
        qtbot.assertNotEmitted(panel.hyperparams_changed, wait=2 * THROTTLE_MS),
        qtbot.assertNotEmitted(panel.init_changed),
    ):
        panel.set_hyperparams(hp)
        panel.set_init("lecun", 0.5)
    assert panel.hyperparams() == hp
    assert panel.learning_rate.spin.value() == pytest.approx(0.003)
    assert panel.batch.label.text() == "full batch"
    assert panel.clip.check.isChecked()
    assert panel.clip.value() == 2.0
    assert panel.l2.value() == pytest.approx(1e-4)
    assert panel.train_size.label.text() == "100 images"
    assert panel.optimizer.currentData() == "adam"
    assert panel.schedule.currentData() == "cosine"
    assert (panel.epochs.value(), panel.seed.value()) == (7, 42)
    assert panel.momentum.value() == pytest.approx(0.8)
    assert panel.init_scheme.currentText() == "lecun"


def test_a_value_between_choices_is_kept_until_the_user_moves(qtbot, panel):
    panel.set_hyperparams(replace(panel.hyperparams(), batch_size=100))
    assert panel.hyperparams().batch_size == 100
    assert panel.batch.label.text() == "100 images"
    assert panel.batch.choices()[panel.batch.slider.value()] == 128  # nearest on a log scale


def effective_tooltip(widget: QWidget, top: QWidget) -> str:
    """What hovering shows: Qt hands the tooltip request up to the first ancestor that has one."""
    while widget is not None and widget is not top:
        if widget.toolTip():
            return widget.toolTip()
        widget = widget.parentWidget()
    return ""


def test_every_control_has_a_tooltip(panel):
    kinds = (QAbstractSlider, QAbstractSpinBox, QComboBox, QCheckBox)
    controls = [
        w
        for w in panel.findChildren(QWidget)
        if isinstance(w, kinds) and not isinstance(w, QScrollBar)  # the scroll area's own
    ]
    assert len(controls) >= 20
    missing = [type(w).__name__ for w in controls if len(effective_tooltip(w, panel)) < 40]
    assert missing == []


# ---------------------------------------------------------------------- end to end
def test_every_user_change_reaches_a_real_trainer(qtbot, panel, splits):
    spec = load_preset("healthy").with_hyperparams(train_size=500, augment=False)
    trainer = Trainer(spec, splits)
    panel.set_hyperparams(trainer.hyperparams)
    panel.hyperparams_changed.connect(lambda changes: trainer.set_hyperparams(**changes))

    slider = panel.learning_rate.slider
    drag(qtbot, slider, [slider.width() * i // 20 for i in range(5, 15)], pause_ms=10)
    panel.batch.slider.setFocus()
    qtbot.keyClick(panel.batch.slider, Qt.Key.Key_End)
    qtbot.mouseClick(panel.clip.check, LEFT)
    qtbot.mouseClick(panel.augment, LEFT)
    panel.dropout.setFocus()
    qtbot.keyClick(panel.dropout.findChild(QAbstractSlider), Qt.Key.Key_Left)
    panel.train_size.slider.setFocus()
    qtbot.keyClick(panel.train_size.slider, Qt.Key.Key_Home)
    panel.optimizer.setCurrentIndex(panel.optimizer.findData("nesterov"))

    assert trainer.hyperparams == panel.hyperparams()
    assert trainer.hyperparams.batch_size == 0
    assert trainer.train_size == 10
    assert trainer.hyperparams.learning_rate == round_sig(10.0 ** slider.value())
    assert trainer.hyperparams.augment is True
    assert trainer.hyperparams.clip_norm is not None
    trainer.step()  # the settings are usable, not just stored
    assert trainer.step_count == 1
