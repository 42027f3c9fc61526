"""The hyperparameter panel: one control per training setting, with its live value and a tooltip.

It emits ``hyperparams_changed({field: value})`` with only the fields the user just changed. Drags
are throttled to at most one emission per ``THROTTLE_MS`` (superqt's ``QSignalThrottler``), and the
latest value of every field is always sent in the end: pending changes are flushed on release, and
the throttler's trailing emission sends whatever a drag left behind. The weight-initialisation
scheme and scale belong to the architecture, not to ``Hyperparams``: they go out through
``init_changed(scheme, scale)`` and the window rebuilds the network.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider
from superqt.utils import QSignalThrottler

from engine.files.spec import INITS, OPTIMIZERS, SCHEDULES, Hyperparams
from gui.controls.sliders import (
    ChoiceSlider,
    LogSlider,
    add_keyboard,
    one_two_five,
    powers_of_two,
)
from gui.controls.tips import TIPS

THROTTLE_MS = 50  # at most 20 emissions a second while a handle is dragged
MAX_BATCH = 1024
OPTIMIZER_NAMES = {
    "sgd": "SGD",
    "momentum": "Momentum",
    "nesterov": "Nesterov",
    "rmsprop": "RMSProp",
    "adam": "Adam",
}
USES_MOMENTUM = ("momentum", "nesterov", "adam")
USES_BETA2 = ("rmsprop", "adam")


def batch_text(size: int) -> str:
    if size == 0:
        return "full batch"
    return "1 (stochastic)" if size == 1 else f"{size} images"


class HyperparamPanel(QWidget):
    hyperparams_changed = Signal(object)  # dict {field: new value}, only the fields just changed
    init_changed = Signal(str, float)  # weight-init scheme, scale: the network must be rebuilt

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hp = Hyperparams()
        self._init = ("he", 1.0)
        self._pool_size = 4000
        self._pending: dict[str, Any] = {}
        self._throttler = QSignalThrottler(parent=self)
        self._throttler.setTimeout(THROTTLE_MS)
        self._throttler.triggered.connect(self._send_pending)
        self._build()
        self.set_hyperparams(self._hp)
        self.set_init(*self._init)

    # ------------------------------------------------------------------ public API
    def hyperparams(self) -> Hyperparams:
        return self._hp

    def set_hyperparams(self, hp: Hyperparams) -> None:
        """Show ``hp`` in every control without emitting; unsent user changes are dropped."""
        self._pending.clear()
        self._throttler.cancel()
        self._hp = hp
        with _Quiet(self._plain_widgets()):
            self.optimizer.setCurrentIndex(OPTIMIZERS.index(hp.optimizer))
            self.schedule.setCurrentIndex(SCHEDULES.index(hp.schedule))
            self.step_every.setValue(hp.step_every)
            self.step_gamma.setValue(hp.step_gamma)
            self.momentum.setValue(hp.momentum)
            self.beta2.setValue(hp.beta2)
            self.dropout.setValue(hp.dropout_scale)
            self.augment.setChecked(hp.augment)
            self.epochs.setValue(hp.epochs)
            self.seed.setValue(hp.seed)
        self.learning_rate.set_value(hp.learning_rate)
        self.l2.set_value(hp.l2 if hp.l2 > 0 else None)
        self.clip.set_value(hp.clip_norm)
        self.batch.set_value(hp.batch_size)
        self.train_size.set_value(hp.train_size)
        self._update_enabled()

    def set_init(self, scheme: str, scale: float) -> None:
        """Show the network's weight-init scheme and scale without emitting."""
        self._init = (scheme, float(scale))
        with _Quiet([self.init_scheme, self.init_scale]):
            self.init_scheme.setCurrentIndex(INITS.index(scheme))
            self.init_scale.setValue(scale)

    def set_pool_size(self, n: int) -> None:
        """The number of training images available: the top of the training-set-size slider."""
        self._pool_size = n
        self.train_size.set_choices([*one_two_five(10, n), None])

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        body = QWidget()
        column = QVBoxLayout(body)
        opt = self._group(column, "Optimisation")
        self.optimizer = self._combo([OPTIMIZER_NAMES[o] for o in OPTIMIZERS], OPTIMIZERS)
        self._row(opt, "Optimiser", self.optimizer, "optimizer")
        self.optimizer.currentIndexChanged.connect(
            lambda i: self._user("optimizer", OPTIMIZERS[i], final=True)
        )
        self.learning_rate = LogSlider(1e-5, 10.0)
        self._row(opt, "Learning rate", self.learning_rate, "learning_rate")
        self._connect(self.learning_rate, "learning_rate")
        self.schedule = self._combo(list(SCHEDULES), SCHEDULES)
        self._row(opt, "LR schedule", self.schedule, "schedule")
        self.schedule.currentIndexChanged.connect(
            lambda i: self._user("schedule", SCHEDULES[i], final=True)
        )
        self.step_every = self._spin(1, 1000, " epochs")
        self._row(opt, "  drop every", self.step_every, "step_every")
        self.step_every.valueChanged.connect(lambda v: self._user("step_every", v, final=True))
        self.step_gamma = self._double(0.01, 1.0, 2)
        self._row(opt, "  drop factor γ", self.step_gamma, "step_gamma")
        self._connect_double(self.step_gamma, "step_gamma")
        self.batch = ChoiceSlider([*powers_of_two(MAX_BATCH), 0], batch_text)
        self._row(opt, "Batch size", self.batch, "batch_size")
        self._connect(self.batch, "batch_size")
        self.momentum = self._double(0.0, 0.999, 3)
        self._row(opt, "Momentum / β1", self.momentum, "momentum")
        self._connect_double(self.momentum, "momentum")
        self.beta2 = self._double(0.9, 0.9999, 4)
        self._row(opt, "β2 / ρ", self.beta2, "beta2")
        self._connect_double(self.beta2, "beta2")

        reg = self._group(column, "Regularisation")
        self.l2 = LogSlider(1e-6, 1e-1, optional="on", default=1e-4)
        self._row(reg, "L2 weight decay λ", self.l2, "l2")
        self.l2.value_changed.connect(lambda v, final: self._user("l2", v or 0.0, final=final))
        self.dropout = self._double(0.0, 1.0, 2)
        self._row(reg, "Dropout scale (×rate)", self.dropout, "dropout_scale")
        self._connect_double(self.dropout, "dropout_scale")
        self.clip = LogSlider(0.01, 100.0, optional="on", default=1.0)
        self._row(reg, "Clip gradient norm", self.clip, "clip_norm")
        self._connect(self.clip, "clip_norm")
        self.train_size = ChoiceSlider([None], self._train_size_text)
        self._row(reg, "Training images", self.train_size, "train_size")
        self._connect(self.train_size, "train_size")
        self.augment = QCheckBox("random shifts, turns, zoom, noise")
        self._row(reg, "Augmentation", self.augment, "augment")
        self.augment.toggled.connect(lambda on: self._user("augment", on, final=True))

        init = self._group(column, "Initial weights (rebuilds the network)")
        self.init_scheme = self._combo(list(INITS), INITS)
        self._row(init, "Init scheme", self.init_scheme, "init")
        self.init_scheme.currentIndexChanged.connect(lambda _i: self._init_user(final=True))
        self.init_scale = self._double(0.0, 5.0, 2)
        self._row(init, "Init scale (×)", self.init_scale, "init_scale")
        self.init_scale.valueChanged.connect(
            lambda _v: self._init_user(final=not self.init_scale.isSliderDown())
        )
        self.init_scale.sliderReleased.connect(lambda: self._init_user(final=True))

        run = self._group(column, "Run")
        self.epochs = self._spin(1, 100_000, " epochs")
        self._row(run, "Planned length", self.epochs, "epochs")
        self.epochs.valueChanged.connect(lambda v: self._user("epochs", v, final=True))
        self.seed = self._spin(0, 2**31 - 1, "")
        self._row(run, "Random seed", self.seed, "seed")
        self.seed.valueChanged.connect(lambda v: self._user("seed", v, final=True))
        column.addStretch(1)
        self.set_pool_size(self._pool_size)

        # A scroll area so the panel still works in a short dock.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _group(self, column: QVBoxLayout, title: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        column.addWidget(box)
        return form

    def _row(self, form: QFormLayout, label: str, widget: QWidget, tip_key: str) -> None:
        widget.setToolTip(TIPS[tip_key])
        form.addRow(f"{label}:", widget)
        form.labelForField(widget).setToolTip(TIPS[tip_key])

    @staticmethod
    def _combo(texts: list[str], keys: tuple[str, ...]) -> QComboBox:
        combo = QComboBox()
        for text, key in zip(texts, keys, strict=True):
            combo.addItem(text, key)
        return combo

    @staticmethod
    def _spin(low: int, high: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setSuffix(suffix)
        spin.setKeyboardTracking(False)  # typing "120" sends 120 once, not 1, 12 and 120
        return spin

    @staticmethod
    def _double(low: float, high: float, decimals: int) -> QLabeledDoubleSlider:
        slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setDecimals(decimals)
        slider.setSingleStep(10.0**-decimals if decimals <= 2 else 0.001)
        slider.setPageStep((high - low) / 10)
        add_keyboard(slider)
        return slider

    def _connect(self, control: LogSlider | ChoiceSlider, field: str) -> None:
        control.value_changed.connect(lambda v, final: self._user(field, v, final=final))

    def _connect_double(self, slider: QLabeledDoubleSlider, field: str) -> None:
        slider.valueChanged.connect(
            lambda v: self._user(field, round(float(v), 4), final=not slider.isSliderDown())
        )
        slider.sliderReleased.connect(self._send_pending)

    def _plain_widgets(self) -> list[QWidget]:
        return [
            self.optimizer,
            self.schedule,
            self.step_every,
            self.step_gamma,
            self.momentum,
            self.beta2,
            self.dropout,
            self.augment,
            self.epochs,
            self.seed,
        ]

    def _train_size_text(self, size: int | None) -> str:
        return f"all ({self._pool_size})" if size is None else f"{size} images"

    # ------------------------------------------------------------------ user changes
    def _user(self, field: str, value: Any, *, final: bool) -> None:
        if value != getattr(self._hp, field):
            self._hp = replace(self._hp, **{field: value})
            self._pending[field] = value
            self._update_enabled()
        if final:
            self._send_pending()
        elif self._pending:
            self._throttler.throttle()

    def _send_pending(self) -> None:
        self._throttler.cancel()  # what the throttler would send is going out now
        if self._pending:
            changes, self._pending = self._pending, {}
            self.hyperparams_changed.emit(changes)

    def _init_user(self, *, final: bool) -> None:
        scheme = INITS[self.init_scheme.currentIndex()]
        scale = round(float(self.init_scale.value()), 2)
        # Rebuilding the network restarts training, so a drag sends only its final value.
        if final and (scheme, scale) != self._init:
            self._init = (scheme, scale)
            self.init_changed.emit(scheme, scale)

    def _update_enabled(self) -> None:
        self.momentum.setEnabled(self._hp.optimizer in USES_MOMENTUM)
        self.beta2.setEnabled(self._hp.optimizer in USES_BETA2)
        stepped = self._hp.schedule == "step"
        self.step_every.setEnabled(stepped)
        self.step_gamma.setEnabled(stepped)


class _Quiet:
    """Block the signals of some widgets for the duration of a ``with`` block."""

    def __init__(self, widgets: list[QWidget]) -> None:
        self._widgets = widgets

    def __enter__(self) -> None:
        for widget in self._widgets:
            widget.blockSignals(True)

    def __exit__(self, *_exc: object) -> None:
        for widget in self._widgets:
            widget.blockSignals(False)
