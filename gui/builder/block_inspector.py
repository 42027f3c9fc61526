"""Inspector for the selected block: its settings as form fields, emitted as edits.

It renders an ``Arch`` + selection and says what the user changed; the builder turns each change
into an undoable command. A residual block's inner layers are edited here too: pick one in the
"inner layer" list, then its units/activation/init fields apply to it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.files.spec import ACTIVATIONS, INITS, LOSSES, MAX_UNITS, NUM_CLASSES, OUTPUT_ACTIVATIONS
from engine.layers.cost import block_cost
from gui.builder.model import OUTPUT, Arch, describe, input_width, short

INNER_KINDS = ("dense", "activation", "batchnorm", "dropout")


class BlockInspector(QWidget):
    field_edited = Signal(str, object, int)  # field, new value, inner index (-1: the block)
    inner_added = Signal(str)  # kind of layer appended inside the selected residual block
    inner_removed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._selection: int | None = None
        self._arch: Arch | None = None
        self.inner = 0  # which residual inner layer the fields edit
        self.title = QLabel("No block selected")
        self.title.setStyleSheet("font-weight: bold; font-size: 11pt")
        self.summary = QLabel("Click a block in the diagram to edit it.")
        self.summary.setWordWrap(True)

        self.inner_box = QGroupBox("Inner layers of F(x)")
        self.inner_combo = QComboBox()
        self.inner_combo.setObjectName("inner_combo")
        self.inner_combo.currentIndexChanged.connect(self._on_inner_chosen)
        add_grid = QGridLayout()
        self.add_inner_buttons: dict[str, QPushButton] = {}
        for i, kind in enumerate(INNER_KINDS):
            button = QPushButton(f"+ {kind}")
            button.setToolTip(f"Append a {kind} layer inside the residual block")
            button.clicked.connect(lambda _=False, k=kind: self.inner_added.emit(k))
            add_grid.addWidget(button, i // 2, i % 2)
            self.add_inner_buttons[kind] = button
        self.remove_inner = QPushButton("Remove inner layer")
        self.remove_inner.clicked.connect(lambda: self.inner_removed.emit(self.inner))
        box = QVBoxLayout(self.inner_box)
        box.addWidget(self.inner_combo)
        box.addLayout(add_grid)
        box.addWidget(self.remove_inner)

        self.units = QSpinBox()
        self.units.setRange(1, MAX_UNITS)
        self.units.setKeyboardTracking(False)  # one edit when Enter is pressed, not per digit
        self.activation = QComboBox()
        self.init = QComboBox()
        self.init.addItems(INITS)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.0, 100.0)
        self.scale.setDecimals(3)
        self.scale.setSingleStep(0.1)
        self.scale.setKeyboardTracking(False)
        self.scale.setToolTip("Multiplies the initialiser's standard deviation")
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.0, 0.95)
        self.rate.setSingleStep(0.05)
        self.rate.setKeyboardTracking(False)
        self.rate.setToolTip("Fraction of units zeroed at random in each training step")
        self.loss = QComboBox()
        self.loss.addItems(LOSSES)
        self.form = QFormLayout()
        self.form.addRow("Units", self.units)
        self.form.addRow("Activation", self.activation)
        self.form.addRow("Initialiser", self.init)
        self.form.addRow("Init scale", self.scale)
        self.form.addRow("Dropout rate", self.rate)
        self.form.addRow("Loss", self.loss)
        self.units.valueChanged.connect(lambda v: self._emit("units", int(v)))
        self.activation.currentTextChanged.connect(lambda t: self._emit("activation", t))
        self.init.currentTextChanged.connect(lambda t: self._emit("init", t))
        self.scale.valueChanged.connect(lambda v: self._emit("init_scale", float(v)))
        self.rate.valueChanged.connect(lambda v: self._emit("rate", round(float(v), 4)))
        self.loss.currentTextChanged.connect(lambda t: self._emit("loss", t))

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.inner_box)
        layout.addLayout(self.form)
        layout.addStretch(1)
        self._loading = False
        self.show_block(None, None)

    # ------------------------------------------------------------------ rendering
    def show_block(self, arch: Arch | None, selection: int | None) -> None:
        """Show the settings of ``selection`` in ``arch`` (fields keep focus; no edit emitted)."""
        if selection != self._selection:
            self.inner = 0
        self._selection = selection
        self._arch = arch
        self._loading = True
        try:
            self._render(arch, selection)
        finally:
            self._loading = False

    def _render(self, arch: Arch | None, selection: int | None) -> None:
        visible: set[str] = set()
        self.inner_box.setVisible(False)
        if (
            arch is None
            or selection is None
            or (selection != OUTPUT and selection >= len(arch.layers))
        ):
            self.title.setText("No block selected")
            self.summary.setText("Click a block in the diagram to edit it.")
        elif selection == OUTPUT:
            width = input_width(arch.layers, len(arch.layers))
            self.title.setText(f"Output layer ({NUM_CLASSES} classes)")
            self.summary.setText(
                f"{width} → {NUM_CLASSES}; {width * NUM_CLASSES + NUM_CLASSES:,} parameters. "
                "Cross-entropy needs softmax; MSE pairs with sigmoid or linear."
            )
            self._set_choices(self.activation, OUTPUT_ACTIVATIONS, arch.output.activation)
            self._set_choices(self.init, INITS, arch.output.init)
            self.scale.setValue(arch.output.init_scale)
            self._set_choices(self.loss, LOSSES, arch.loss)
            visible = {"activation", "init", "scale", "loss"}
        else:
            layer = arch.layers[selection]
            width = input_width(arch.layers, selection)
            params, macs, out = block_cost(layer, width)
            title, _ = describe(layer)
            self.title.setText(f"Layer {selection + 1}: {title}")
            self.summary.setText(
                f"{width} → {out} features; {params:,} parameters, {macs:,} multiply-adds "
                "per sample."
            )
            target = layer
            if layer.type == "residual":
                self.inner_box.setVisible(True)
                self.inner = min(self.inner, max(len(layer.layers) - 1, 0))
                self.inner_combo.clear()
                self.inner_combo.addItems(
                    [f"{j}. {short(sub)}" for j, sub in enumerate(layer.layers, 1)]
                )
                self.inner_combo.setCurrentIndex(self.inner if layer.layers else -1)
                self.remove_inner.setEnabled(bool(layer.layers))
                target = layer.layers[self.inner] if layer.layers else None
            if target is not None:
                visible = self._show_layer_fields(target)
        for name, widget in (
            ("units", self.units),
            ("activation", self.activation),
            ("init", self.init),
            ("scale", self.scale),
            ("rate", self.rate),
            ("loss", self.loss),
        ):
            self.form.setRowVisible(widget, name in visible)

    def _show_layer_fields(self, layer) -> set[str]:
        if layer.type == "dense":
            self.units.setValue(layer.units)
            self._set_choices(self.activation, ACTIVATIONS, layer.activation)
            self._set_choices(self.init, INITS, layer.init)
            self.scale.setValue(layer.init_scale)
            return {"units", "activation", "init", "scale"}
        if layer.type == "activation":
            self._set_choices(self.activation, ACTIVATIONS, layer.activation)
            return {"activation"}
        if layer.type == "dropout":
            self.rate.setValue(layer.rate)
            return {"rate"}
        return set()  # batchnorm: learns γ and β, nothing to set

    @staticmethod
    def _set_choices(combo: QComboBox, options: tuple[str, ...], current: str) -> None:
        if tuple(combo.itemText(i) for i in range(combo.count())) != options:
            combo.clear()
            combo.addItems(options)
        combo.setCurrentText(current)

    # ------------------------------------------------------------------ edits
    def _emit(self, field: str, value: object) -> None:
        if self._loading or self._selection is None:
            return
        inner = self.inner if self.inner_box.isVisible() else -1
        self.field_edited.emit(field, value, inner)

    def _on_inner_chosen(self, index: int) -> None:
        if self._loading or index < 0:
            return
        self.inner = index
        # Re-show the fields of the newly chosen inner layer without emitting an edit.
        self._loading = True
        try:
            self._render(self._arch, self._selection)
        finally:
            self._loading = False
