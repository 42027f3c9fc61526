"""The "Draw" dock: canvas with its tools, live prediction beside it and "Teach it" below both.

Only composition and wiring live here: the canvas emits each drawing, the prediction panel turns it
into the 28×28 and an answer, and the teach panel labels that 28×28. The main window talks to this
widget alone: ``set_snapshot``/``reset`` in, ``examples_changed(Dataset)`` out.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.data.datasets import Dataset
from engine.files.spec import NetworkSpec
from engine.snapshot import StepSnapshot
from gui.drawing.canvas import MAX_BRUSH, MIN_BRUSH, DigitCanvas
from gui.drawing.prediction import PredictionPanel
from gui.drawing.teach import TeachPanel

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


class DrawingView(QWidget):
    """Canvas + tools | prediction (stacked when the dock is tall), "Teach it" across the bottom."""

    examples_changed = Signal(object)  # engine.data.datasets.Dataset of the taught digits

    def __init__(self, parent: QWidget | None = None, examples_dir: str | Path | None = None):
        super().__init__(parent)
        self.canvas = DigitCanvas()
        self.prediction = PredictionPanel()
        self.teach = TeachPanel(directory=examples_dir)

        self._brush = QSlider(Qt.Orientation.Horizontal)
        self._brush.setRange(MIN_BRUSH, MAX_BRUSH)
        self._brush.setValue(round(self.canvas.brush_width()))
        self._brush.setToolTip(
            "Brush width in canvas pixels. The default gives about as much ink as an average "
            "MNIST digit; much thicker or thinner strokes look unlike the training data."
        )
        self._brush_label = QLabel()
        self._brush.valueChanged.connect(self._set_brush)
        self._eraser = _tool(
            "Eraser", "Erase with the left button (the right button always erases)"
        )
        self._eraser.setCheckable(True)
        self._eraser.toggled.connect(self.canvas.set_eraser)
        self._undo = _tool("Undo", "Undo the last stroke (Ctrl+Z)", self.canvas.undo)
        clear = _tool("Clear", "Clear the canvas (Esc or Delete)", self.canvas.clear)
        open_button = _tool("Open…", "Classify a PNG/JPEG image (or drop one on the canvas)")
        open_button.clicked.connect(self.open_image)
        self._message = QLabel()
        self._message.setWordWrap(True)

        # Two short rows, so the slider keeps a usable length in a narrow dock.
        brush_row = QHBoxLayout()
        brush_row.addWidget(QLabel("Brush"))
        brush_row.addWidget(self._brush, 1)
        brush_row.addWidget(self._brush_label)
        button_row = QHBoxLayout()
        for button in (self._eraser, self._undo, clear, open_button):
            button_row.addWidget(button)
        button_row.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(brush_row)
        left_layout.addLayout(button_row)
        left_layout.addWidget(self.canvas, 1)
        left_layout.addWidget(self._message)
        self._splitter = QSplitter(Qt.Orientation.Horizontal)
        self._splitter.addWidget(left)
        self._splitter.addWidget(self.prediction)
        self._splitter.setStretchFactor(0, 1)
        self._splitter.setStretchFactor(1, 1)
        self._splitter.setChildrenCollapsible(False)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(4, 4, 4, 4)
        content_layout.addWidget(self._splitter, 1)
        content_layout.addWidget(self.teach)
        # In a dock smaller than the content's minimum, scroll instead of squeezing the other docks.
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

        self.canvas.drawing_changed.connect(self.prediction.set_drawing)
        self.canvas.drawing_changed.connect(self._drawing_changed)
        self.canvas.load_failed.connect(self._show_message)
        self.prediction.preprocessed.connect(self.teach.set_drawing28)
        self.teach.examples_changed.connect(self.examples_changed)
        self._set_brush(self._brush.value())
        self._undo.setEnabled(False)
        self._show_message("")

    def sizeHint(self) -> QSize:
        return QSize(560, 600)

    def minimumSizeHint(self) -> QSize:
        # Enough to draw and read the answer; the rest scrolls rather than crowding other docks.
        return QSize(300, 360)

    # ------------------------------------------------------------------ main-window API
    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        self.prediction.set_snapshot(snapshot)

    def reset(self, spec: NetworkSpec) -> None:
        self.prediction.reset(spec)

    def taught_dataset(self) -> Dataset:
        """The taught digits now (for the trainer at start-up, before any change is emitted)."""
        return self.teach.dataset()

    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Classify an image", "", IMAGE_FILTER)
        if path:
            self.canvas.load_image(path)

    # ------------------------------------------------------------------ internals
    def resizeEvent(self, event: QResizeEvent) -> None:
        # Side by side in a wide dock, canvas above prediction in a tall one (a narrow canvas
        # next to a narrow prediction would leave both too small to use).
        size = event.size()
        wide = size.width() >= max(520, 1.1 * size.height())
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self._splitter.orientation() != orientation:
            self._splitter.setOrientation(orientation)
            self._splitter.setSizes([1, 1])  # equal halves
        super().resizeEvent(event)

    def _set_brush(self, width: int) -> None:
        self.canvas.set_brush_width(width)
        self._brush_label.setText(f"{width} px")

    def _show_message(self, text: str) -> None:
        self._message.setText(text)
        self._message.setVisible(bool(text))

    def _drawing_changed(self, _image: object) -> None:
        self._show_message("")
        self._undo.setEnabled(self.canvas.can_undo())


def _tool(text: str, tip: str, slot=None) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    if slot is not None:
        button.clicked.connect(slot)
    return button
