"""Data menu behaviour: the bundled digits, an IDX folder, or full MNIST downloaded on request.

The download runs on its own QThread and reports progress through signals; cancelling keeps the
files already verified (the cache), so a later download resumes with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from engine.data.datasets import DataError
from engine.data.download import DownloadCancelled, DownloadError, download_mnist
from engine.data.sources import load_dataset
from gui.status_bar import TrainingStatusBar
from gui.training.controller import TrainingController


class DownloadThread(QThread):
    progressed = Signal(int, int)  # bytes done, bytes total
    succeeded = Signal(str)  # folder holding the four verified files
    failed = Signal(str)

    def __init__(
        self,
        mirrors: list[str] | None = None,
        files: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        super().__init__()
        self._mirrors = mirrors
        self._files = files
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def run(self) -> None:
        kwargs = {"progress": self.progressed.emit, "cancel": lambda: self._cancelled}
        if self._mirrors is not None:
            kwargs["mirrors"] = self._mirrors
        if self._files is not None:
            kwargs["files"] = self._files
        try:
            folder = download_mnist(**kwargs)
        except DownloadCancelled:
            self.failed.emit("Download cancelled. Files already verified are kept for next time.")
        except (DownloadError, OSError) as exc:
            self.failed.emit(str(exc))
        else:
            self.succeeded.emit(str(folder))


class DataActions(QObject):
    """Switches the trainer's data source; at most one download at a time."""

    dataset_changed = Signal(str)  # a name for the status line: "bundled 5,000 digits", ...

    def __init__(
        self,
        parent: QWidget,
        controller: TrainingController,
        status: TrainingStatusBar,
        mirrors: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.controller = controller
        self.status = status
        self.mirrors = mirrors
        self.files: Mapping[str, tuple[int, str]] | None = None  # None: the real MNIST files
        self.download: DownloadThread | None = None
        status.download_cancel_requested.connect(self.cancel_download)

    def use_source(self, source: str | Path | None, name: str) -> bool:
        try:
            splits = load_dataset(source)
        except DataError as exc:
            QMessageBox.warning(self.parent_widget, "Cannot use this data", str(exc))
            return False
        self.controller.set_data(splits)
        sizes = f"{len(splits.train):,} train / {len(splits.val):,} val / {len(splits.test):,} test"
        self.dataset_changed.emit(f"{name}: {sizes}")
        return True

    def use_bundled(self) -> None:
        self.use_source(None, "Bundled MNIST digits")

    def open_idx_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.parent_widget, "Folder with IDX files")
        if folder:
            self.use_source(Path(folder), Path(folder).name)

    def start_download(self) -> None:
        if self.download is not None:
            return
        self.download = DownloadThread(self.mirrors, self.files)
        self.download.progressed.connect(self.status.show_download)
        self.download.succeeded.connect(self._download_succeeded)
        self.download.failed.connect(self._download_failed)
        self.download.finished.connect(self._download_finished)
        self.status.show_download(0, 1)
        self.download.start()

    def cancel_download(self) -> None:
        if self.download is not None:
            self.download.cancel()

    def shutdown(self) -> None:
        if self.download is not None:
            self.download.cancel()
            self.download.wait(5000)

    def _download_succeeded(self, folder: str) -> None:
        self.use_source(Path(folder), "Full MNIST")

    def _download_failed(self, message: str) -> None:
        QMessageBox.warning(self.parent_widget, "Download failed", message)

    def _download_finished(self) -> None:
        self.status.hide_download()
        if self.download is not None:
            self.download.deleteLater()
        self.download = None
