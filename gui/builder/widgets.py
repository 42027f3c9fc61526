"""Small pieces of the layer builder: palette button, colour legend, Apply question, spec files.

Kept apart from gui/builder/panel.py so that module holds only the editor's state and wiring.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, QPoint, Qt
from PySide6.QtGui import QAction, QDrag, QKeySequence, QMouseEvent, QPainter, QPixmap, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QToolButton,
    QWidget,
)

from engine.files.atomic_file import write_text_atomic
from engine.files.spec import NetworkSpec, SpecError
from gui.builder.diagram import MIME_BLOCK
from gui.builder.diagram_live import GRAD_LOG_RANGE, grad_colour

JSON_FILTER = "Network JSON (*.json);;All files (*)"


class PaletteButton(QToolButton):
    """Click: insert after the selection. Drag: drop the block where it should go."""

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setText(kind.capitalize() if kind != "batchnorm" else "BatchNorm")
        self.setToolTip(f"Click to insert a {kind} block after the selected one; drag to place it")
        self._press: QPoint | None = None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        start = self._press
        if start is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return super().mouseMoveEvent(event)
        if (
            event.position().toPoint() - start
        ).manhattanLength() < QApplication.startDragDistance():
            return None
        self._press = None
        self.setDown(False)
        mime = QMimeData()
        mime.setData(MIME_BLOCK, self.kind.encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction)
        return None


def undo_redo_actions(stack: QUndoStack, parent: QObject) -> tuple[QAction, QAction]:
    """Undo (Ctrl+Z) and redo (Ctrl+Shift+Z, Ctrl+Y) of ``stack``.

    Own actions rather than createUndoAction: a fixed label keeps the toolbar from jumping, and
    the tooltip says what would be undone.
    """
    undo = QAction("Undo", parent)
    undo.setShortcuts([QKeySequence("Ctrl+Z")])
    undo.triggered.connect(stack.undo)
    stack.canUndoChanged.connect(undo.setEnabled)
    stack.undoTextChanged.connect(lambda text: undo.setToolTip(f"Undo {text} (Ctrl+Z)"))
    redo = QAction("Redo", parent)
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    redo.triggered.connect(stack.redo)
    stack.canRedoChanged.connect(redo.setEnabled)
    stack.redoTextChanged.connect(lambda text: redo.setToolTip(f"Redo {text} (Ctrl+Shift+Z)"))
    undo.setEnabled(stack.canUndo())
    redo.setEnabled(stack.canRedo())
    return undo, redo


def ask_keep_weights(parent: QWidget) -> bool | None:
    """Ask before rebuilding a trained network. True: keep the weights of layers whose shapes did
    not change; False: start afresh; None: cancelled."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Apply the new architecture?")
    box.setText("This network has trained. Applying the architecture rebuilds it.")
    box.setInformativeText(
        "Keep weights: layers whose shapes did not change keep what they learned; new or "
        "resized layers start from their initialiser. Discard: every layer starts afresh."
    )
    keep = box.addButton("Keep weights of unchanged layers", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard weights", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    clicked = box.clickedButton()
    if clicked is keep:
        return True
    if clicked is discard:
        return False
    return None


def save_spec_dialog(parent: QWidget, spec: NetworkSpec, folder: str) -> str | None:
    """Ask where, then write ``spec`` as JSON atomically; the path written, or None."""
    default = os.path.join(folder, f"{spec.name or 'network'}.json")
    path, _ = QFileDialog.getSaveFileName(parent, "Save architecture", default, JSON_FILTER)
    if not path:
        return None
    try:
        write_text_atomic(path, spec.to_json())
    except OSError as exc:
        QMessageBox.warning(parent, "Could not save", f"Could not save {path}:\n{exc}")
        return None
    return path


def open_spec_dialog(parent: QWidget, folder: str) -> tuple[str | None, NetworkSpec | None]:
    """Ask for a file and read it; a file that is not a valid network gets a message box."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open architecture", folder, JSON_FILTER)
    if not path:
        return None, None
    try:
        return path, NetworkSpec.from_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SpecError) as exc:
        QMessageBox.warning(
            parent,
            "Could not open",
            f"{Path(path).name} is not a network this app can read:\n{exc}\n\n"
            "The current network is unchanged.",
        )
        return path, None


def legend() -> QWidget:
    """Colour key: connection colours and the gradient-norm scale of lanes and bands."""
    low, high = GRAD_LOG_RANGE
    pixmap = QPixmap(90, 10)
    painter = QPainter(pixmap)
    for x in range(90):
        painter.setPen(grad_colour(10 ** (low + (high - low) * x / 89)))
        painter.drawLine(x, 0, x, 9)
    painter.end()
    bar = QLabel()
    bar.setPixmap(pixmap)
    legend = QWidget()
    legend.setToolTip(
        "Connections: weight sign and size. Lanes and bands: the block's gradient norm "
        "(log scale, dark = vanishing, yellow = large, red = NaN/Inf, grey = no data)."
    )
    row = QHBoxLayout(legend)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(
        QLabel(
            "<span style='color:#0877bd'>■</span> w&gt;0 <span style='color:#f59322'>■</span> "
            f"w&lt;0 · gradient norm 1e{low:.0f}"
        )
    )
    row.addWidget(bar)
    row.addWidget(QLabel(f"1e{high:.0f}"))
    return legend
