""" "Teach it": the user labels the current drawing and it joins the training data.

The panel shows the taught digits as thumbnails (removable) and emits ``examples_changed(Dataset)``
after every change so the main window can hand the set to the trainer. Storage is
:class:`engine.data.user_examples.UserExamples` (an .npz in the user data directory).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.data.datasets import DataError, Dataset
from engine.data.user_examples import UserExamples
from gui.drawing.image_io import gray_to_qimage

THUMBNAIL = 36  # px: 28×28 shown ~1.3× so strokes stay visible in a short list


def thumbnail(image28: np.ndarray) -> QIcon:
    image = gray_to_qimage(image28).scaled(THUMBNAIL, THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio)
    return QIcon(QPixmap.fromImage(image))


class _ExampleList(QListWidget):
    """Thumbnails in a wrapping grid; Delete removes the selected ones."""

    delete_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_pressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class TeachPanel(QWidget):
    """Ten "it's a N" buttons for the current drawing, and the list of taught digits."""

    examples_changed = Signal(object)  # engine.data.datasets.Dataset of every taught digit

    def __init__(self, parent: QWidget | None = None, directory: str | Path | None = None) -> None:
        super().__init__(parent)
        self._image28: np.ndarray | None = None
        self._store: UserExamples | None = None
        load_error = ""
        try:
            self._store = UserExamples(directory)
        except (DataError, OSError) as exc:
            # Keep the unreadable file untouched and teach nothing rather than overwrite it.
            load_error = f"Taught digits could not be loaded: {exc}"

        title = QLabel("<b>Teach it</b>: this drawing is a")
        title.setToolTip(
            "Give the right answer and the drawing (as the 28 × 28 the network sees) joins the "
            "training data: the next training steps learn from it. Kept between sessions."
        )
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        self._buttons: list[QPushButton] = []
        for digit in range(10):
            button = QPushButton(str(digit))
            button.setObjectName(f"teach{digit}")
            button.setToolTip(f"Add this drawing to the training data as a {digit}")
            button.setMinimumWidth(22)
            button.clicked.connect(lambda _=False, d=digit: self.teach(d))
            buttons.addWidget(button)
            self._buttons.append(button)
        self._list = _ExampleList()
        # One scrolling row of thumbnails: the list stays short however many digits are taught.
        self._list.setViewMode(QListView.ViewMode.IconMode)
        self._list.setFlow(QListView.Flow.LeftToRight)
        self._list.setWrapping(False)
        self._list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self._list.setMovement(QListView.Movement.Static)
        self._list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self._list.setFixedHeight(THUMBNAIL + 34)
        self._list.delete_pressed.connect(self.remove_selected)
        self._list.itemSelectionChanged.connect(self._update_enabled)
        self._remove = QPushButton("Remove")
        self._remove.setToolTip("Forget the selected taught digits (or press Delete in the list)")
        self._remove.clicked.connect(self.remove_selected)
        self._status = QLabel(load_error)

        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self._status)
        examples = QHBoxLayout()
        examples.addWidget(self._list, 1)
        examples.addWidget(self._remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addLayout(buttons)
        layout.addLayout(examples)
        self._fill_list()
        self._update_enabled()

    # ------------------------------------------------------------------ API
    def set_drawing28(self, image28: np.ndarray | None) -> None:
        """The preprocessed 28×28 of the current drawing, or None when there is none."""
        self._image28 = None if image28 is None else np.array(image28, dtype=np.uint8)
        self._update_enabled()

    def dataset(self) -> Dataset:
        """Every taught digit (possibly none), for the trainer."""
        if self._store is None:
            return Dataset(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), "taught by you")
        return self._store.dataset()

    def count(self) -> int:
        return 0 if self._store is None else len(self._store)

    def teach(self, label: int) -> None:
        """Add the current drawing as ``label`` (does nothing without a drawing)."""
        if self._store is None or self._image28 is None:
            return
        try:
            self._store.add(self._image28, label)
        except OSError as exc:
            self._status.setText(f"Could not save: {exc}")
            return
        self._fill_list()
        self._list.scrollToBottom()
        self._changed()

    def remove_selected(self) -> None:
        if self._store is None:
            return
        rows = sorted((self._list.row(item) for item in self._list.selectedItems()), reverse=True)
        if not rows:
            return
        try:
            for row in rows:  # highest first, so the remaining indices stay valid
                self._store.remove(row)
        except OSError as exc:
            self._status.setText(f"Could not save: {exc}")
        self._fill_list()
        self._changed()

    # ------------------------------------------------------------------ internals
    def _fill_list(self) -> None:
        self._list.clear()
        if self._store is None:
            return
        for image, label in zip(self._store.images, self._store.labels, strict=True):
            item = QListWidgetItem(thumbnail(image), str(int(label)))
            item.setToolTip(f"Taught as {int(label)}")
            self._list.addItem(item)
        count = len(self._store)
        self._status.setText(f"{count} taught" if count else "Nothing taught yet")
        self._status.setToolTip(
            f"{count} digit{'s' if count != 1 else ''} you taught; the trainer includes them from "
            "its next steps."
        )

    def _changed(self) -> None:
        self._update_enabled()
        self.examples_changed.emit(self.dataset())

    def _update_enabled(self) -> None:
        can_teach = self._store is not None and self._image28 is not None
        for button in self._buttons:
            button.setEnabled(can_teach)
        self._remove.setEnabled(bool(self._list.selectedItems()))
