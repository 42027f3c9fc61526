"""Composite controls the hyperparameter panel is built from: a log-scale slider and a slider over a
fixed list of choices, each showing its live value.

superqt (0.9) has labelled linear sliders but no log slider, so ``LogSlider`` pairs superqt's
``QDoubleSlider`` (positioned at log10 of the value) with pyqtgraph's ``SpinBox`` (decimal stepping
1, 2, … 9, 10, 20 …, typed values like ``3e-4``) rather than re-implementing a slider.

Both emit ``value_changed(value, final)``: ``final`` is False while the mouse drags the handle (the
panel throttles those) and True for a release, a key press, a typed value or a checkbox toggle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QWidget
from superqt import QDoubleSlider

LOG_STEPS_PER_DECADE = 10  # keyboard arrows move a tenth of a decade (×1.26)


def round_sig(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits: 0.012302… -> 0.0123 (readable labels)."""
    return float(f"{value:.{digits}g}")


def powers_of_two(up_to: int) -> list[int]:
    return [2**i for i in range(int(math.log2(up_to)) + 1)]


def one_two_five(low: int, high: int) -> list[int]:
    """10, 20, 50, 100, 200, 500, … from ``low`` up to (excluding) ``high``."""
    values, decade = [], 1
    while decade < high:
        values.extend(m * decade for m in (1, 2, 5) if low <= m * decade < high)
        decade *= 10
    return values


class _SliderKeys(QObject):
    """Arrow, Page Up/Down, Home and End keys for superqt's float sliders.

    superqt 0.9 leaves ``keyPressEvent`` of its float sliders as a TODO and Qt's own handler moves
    a hidden integer position instead, so without this the sliders ignore the keyboard.
    """

    def eventFilter(self, slider: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress:
            return False
        key, step, page = event.key(), slider.singleStep(), slider.pageStep()
        Key = Qt.Key
        moves = {Key.Key_Right: step, Key.Key_Up: step, Key.Key_Left: -step, Key.Key_Down: -step}
        moves.update({Key.Key_PageUp: page, Key.Key_PageDown: -page})
        if key in moves:
            slider.setValue(
                min(max(slider.value() + moves[key], slider.minimum()), slider.maximum())
            )
        elif key in (Key.Key_Home, Key.Key_End):
            slider.setValue(slider.minimum() if key == Key.Key_Home else slider.maximum())
        else:
            return False
        return True


def add_keyboard(widget: QWidget) -> None:
    """Make a superqt float slider (or a labelled one, through its inner slider) keyboard-driven."""
    slider = widget if isinstance(widget, QSlider) else widget.findChild(QSlider)
    slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    slider.installEventFilter(_SliderKeys(slider))
    if slider is not widget:
        # Tab lands on the slider itself; the labelled wrapper only forwards focus.
        widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        widget.setFocusProxy(slider)


class LogSlider(QWidget):
    """A value in ``[low, high]`` on a log10 slider plus an editable spin box; optionally "off".

    With ``optional`` a checkbox comes first and ``value()`` is None while it is unchecked; ticking
    it brings back the last value used, or ``default`` the first time.
    """

    value_changed = Signal(object, bool)  # float | None, final

    def __init__(
        self,
        low: float,
        high: float,
        *,
        optional: str = "",
        default: float | None = None,
        digits: int = 3,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._low, self._high, self._digits = low, high, digits
        self._value = low if default is None else default  # shown while an optional one is off
        self._quiet = False  # set while mirroring one sub-widget into the other
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.check: QCheckBox | None = None
        if optional:
            self.check = QCheckBox(optional)
            self.check.toggled.connect(self._on_toggled)
            layout.addWidget(self.check)
        self.slider = QDoubleSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(math.log10(low), math.log10(high))
        self.slider.setSingleStep(1.0 / LOG_STEPS_PER_DECADE)
        self.slider.setPageStep(1.0)
        add_keyboard(self.slider)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self._on_released)
        # delay=0: arrow keys and typed values are sent at once (the panel does the throttling).
        self.spin = pg.SpinBox(
            value=low,
            bounds=(low, high),
            dec=True,
            step=1,
            minStep=low,
            format=f"{{value:.{digits}g}}",
            delay=0,
            compactHeight=False,
        )
        self.spin.setFixedWidth(78)
        self.spin.sigValueChanging.connect(self._on_spin)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.set_value(self._value)
        if optional:
            self.set_value(None)  # starts off, showing the value it would take

    # ------------------------------------------------------------------ public
    def value(self) -> float | None:
        if self.check is not None and not self.check.isChecked():
            return None
        return self._value

    def set_value(self, value: float | None) -> None:
        """Show ``value`` (None = off for an optional slider) without emitting anything."""
        self._quiet = True
        try:
            if self.check is not None:
                self.check.setChecked(value is not None)
            if value is not None:
                self._value = float(value)
                clamped = min(max(self._value, self._low), self._high)
                self.slider.setValue(math.log10(clamped))
                self.spin.setValue(clamped)
            self._enable()
        finally:
            self._quiet = False

    def setToolTip(self, text: str) -> None:
        super().setToolTip(text)
        for child in (self.slider, self.spin, self.check):
            if child is not None:
                child.setToolTip(text)

    # ------------------------------------------------------------------ private
    def _enable(self) -> None:
        on = self.check is None or self.check.isChecked()
        self.slider.setEnabled(on)
        self.spin.setEnabled(on)

    def _on_slider(self, position: float) -> None:
        if self._quiet:
            return
        value = min(max(round_sig(10.0**position, self._digits), self._low), self._high)
        self._quiet = True
        self.spin.setValue(value)
        self._quiet = False
        if value != self._value:
            self._value = value
            self.value_changed.emit(self.value(), not self.slider.isSliderDown())

    def _on_released(self) -> None:
        self.value_changed.emit(self.value(), True)

    def _on_spin(self, _spin: object, value: Any) -> None:
        if self._quiet:
            return
        self._value = float(value)
        self._quiet = True
        self.slider.setValue(math.log10(self._value))
        self._quiet = False
        self.value_changed.emit(self.value(), True)

    def _on_toggled(self, _checked: bool) -> None:
        self._enable()
        if not self._quiet:
            self.value_changed.emit(self.value(), True)


class ChoiceSlider(QWidget):
    """A slider whose positions are the items of ``choices``, with the chosen one's text beside it.

    A value set from outside that is not among the choices is kept and shown as it is (the handle
    goes to the nearest choice) until the user moves the slider.
    """

    value_changed = Signal(object, bool)  # the chosen item, final

    def __init__(
        self,
        choices: Sequence[Any],
        text: Callable[[Any], str],
        *,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._text = text
        self._choices: list[Any] = []
        self._value: Any = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self._on_released)
        self.label = QLabel()
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("full batch (0000)"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.set_choices(choices)

    def choices(self) -> list[Any]:
        return list(self._choices)

    def set_choices(self, choices: Sequence[Any]) -> None:
        """Replace the positions, keeping the current value (no signal)."""
        self._choices = list(choices)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self._choices) - 1)
        self.slider.blockSignals(False)
        self.set_value(self._value if self._value is not None else self._choices[0])

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting; the handle goes to the equal or nearest choice."""
        self._value = value
        self.slider.blockSignals(True)
        self.slider.setValue(self._nearest(value))
        self.slider.blockSignals(False)
        self.label.setText(self._text(value))

    def setToolTip(self, text: str) -> None:
        super().setToolTip(text)
        self.slider.setToolTip(text)
        self.label.setToolTip(text)

    def _nearest(self, value: Any) -> int:
        if value in self._choices:
            return self._choices.index(value)
        numbers = [(i, c) for i, c in enumerate(self._choices) if isinstance(c, (int, float))]
        if not isinstance(value, (int, float)) or not numbers:
            return len(self._choices) - 1
        # Nearest on a log scale: batch sizes and set sizes grow geometrically.
        target = math.log(max(value, 1))
        return min(numbers, key=lambda ic: abs(math.log(max(ic[1], 1)) - target))[0]

    def _on_slider(self, index: int) -> None:
        value = self._choices[index]
        self.label.setText(self._text(value))
        if value != self._value:
            self._value = value
            self.value_changed.emit(value, not self.slider.isSliderDown())

    def _on_released(self) -> None:
        self.value_changed.emit(self._value, True)
