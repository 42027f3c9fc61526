"""The status bar: where training is (epoch, step, samples, speed, time) and download progress."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from engine.snapshot import StepSnapshot


def _format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingStatusBar(QStatusBar):
    download_cancel_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._fields: dict[str, QLabel] = {}
        tips = {
            "epoch": "Completed passes over the training set",
            "step": "Mini-batches processed (one step = one forward + backward pass + update)",
            "samples": "Training images seen so far (steps × batch size)",
            "speed": "Training throughput over the last second (images per second)",
            "elapsed": "Time spent training (pauses excluded)",
        }
        for key, tip in tips.items():
            label = QLabel()
            label.setToolTip(tip)
            label.setObjectName(f"status_{key}")
            self.addPermanentWidget(label)
            self._fields[key] = label
        self.epoch_bar = QProgressBar()
        self.epoch_bar.setRange(0, 1000)
        self.epoch_bar.setMaximumWidth(140)
        self.epoch_bar.setFormat("epoch %p%")
        self.epoch_bar.setToolTip("Progress through the current epoch")
        self.addPermanentWidget(self.epoch_bar)
        self.download_bar = QProgressBar()
        self.download_bar.setMaximumWidth(200)
        self.download_bar.setFormat("download %p%")
        self.download_bar.setToolTip("Downloading the full MNIST dataset")
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setToolTip("Stop the download; files already verified are kept")
        self.cancel_button.clicked.connect(self.download_cancel_requested)
        self.addPermanentWidget(self.download_bar)
        self.addPermanentWidget(self.cancel_button)
        self.download_bar.hide()
        self.cancel_button.hide()
        self._last: tuple[float, int] | None = None
        self._speed = 0.0
        self.clear_training()

    def field_text(self, key: str) -> str:
        return self._fields[key].text()

    def clear_training(self) -> None:
        self._last = None
        self._speed = 0.0
        self._set(0, 0, 0, 0.0, 0.0)
        self.epoch_bar.setValue(0)

    def _set(self, epoch: int, step: int, samples: int, speed: float, elapsed: float) -> None:
        self._fields["epoch"].setText(f"Epoch {epoch}")
        self._fields["step"].setText(f"Step {step:,}")
        self._fields["samples"].setText(f"{samples:,} samples")
        self._fields["speed"].setText(f"{speed:,.0f} samples/s")
        self._fields["elapsed"].setText(_format_seconds(elapsed))

    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        # Speed over the last second of training time, so a change of batch size shows at once.
        if self._last is None or snapshot.elapsed < self._last[0]:
            self._last = (snapshot.elapsed, snapshot.samples_seen)
        if snapshot.elapsed - self._last[0] < 1.0 and self._last[0] < 1.0:
            self._speed = snapshot.samples_per_second  # the first second: the average so far
        elif snapshot.elapsed - self._last[0] >= 1.0:
            dt = snapshot.elapsed - self._last[0]
            self._speed = (snapshot.samples_seen - self._last[1]) / dt
            self._last = (snapshot.elapsed, snapshot.samples_seen)
        self._set(
            snapshot.epoch, snapshot.step, snapshot.samples_seen, self._speed, snapshot.elapsed
        )
        self.epoch_bar.setValue(int(1000 * snapshot.epoch_progress))

    def show_download(self, done: int, total: int) -> None:
        self.download_bar.show()
        self.cancel_button.show()
        self.download_bar.setRange(0, max(total, 1))
        self.download_bar.setValue(done)

    def hide_download(self) -> None:
        self.download_bar.hide()
        self.cancel_button.hide()
