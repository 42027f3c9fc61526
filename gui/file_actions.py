"""File menu behaviour: open/save models and sessions, export plots and history, with dialogs.

Writing a model happens on the training thread (the worker owns the weights); this module asks for
the path and reports the outcome. Every failure is a message box that says what went wrong; nothing
the user has is lost.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from engine.files.atomic_file import write_text_atomic
from engine.files.checkpoint import ModelFileError, load_model
from gui.training.controller import TrainingController

MODEL_FILTER = "Backprop Playground model (*.npz)"


def rows_to_csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys: list[str] = []
    for row in rows:
        keys.extend(key for key in row if key not in keys)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


class FileActions:
    """Dialog-driven file operations for the main window."""

    def __init__(self, parent: QWidget, controller: TrainingController) -> None:
        self.parent = parent
        self.controller = controller
        self.last_dir = str(Path.home())
        controller.saved.connect(self._on_saved)
        controller.failed.connect(self._on_failed)

    def _ask_save(self, title: str, suffix: str, file_filter: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, title, self.last_dir, file_filter)
        if not path:
            return None
        path = Path(path)
        if path.suffix.lower() != suffix:
            path = path.with_name(path.name + suffix)
        self.last_dir = str(path.parent)
        return path

    def save_model(self, *, session: bool = False) -> None:
        title = "Save session" if session else "Save model"
        path = self._ask_save(title, ".npz", MODEL_FILTER)
        if path is not None:
            self.controller.save(str(path), session=session)

    def open_model(self) -> None:
        parent, folder = self.parent, self.last_dir
        path, _ = QFileDialog.getOpenFileName(parent, "Open model", folder, MODEL_FILTER)
        if path:
            self.open_model_path(Path(path))

    def open_model_path(self, path: Path) -> bool:
        self.last_dir = str(path.parent)
        try:
            model = load_model(path)
        except ModelFileError as exc:
            QMessageBox.warning(self.parent, "Cannot open model", str(exc))
            return False
        self.controller.load_model(model)
        return True

    def export_png(self, export: Callable[[Path], None]) -> None:
        path = self._ask_save("Export plots", ".png", "PNG image (*.png)")
        if path is not None:
            try:
                export(path)
            except OSError as exc:
                QMessageBox.warning(self.parent, "Export failed", f"{path}: {exc}")

    def export_csv(self, rows: Callable[[], list[dict]]) -> None:
        path = self._ask_save("Export training history", ".csv", "CSV table (*.csv)")
        if path is not None:
            try:
                write_text_atomic(path, rows_to_csv(rows()))
            except OSError as exc:
                QMessageBox.warning(self.parent, "Export failed", f"{path}: {exc}")

    def _on_saved(self, path: str) -> None:
        window = self.parent.window()
        if hasattr(window, "statusBar"):
            window.statusBar().showMessage(f"Saved {path}", 5000)

    def _on_failed(self, message: str) -> None:
        QMessageBox.warning(self.parent, "Training", message)
