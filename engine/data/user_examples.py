"""Digits the user taught the network ("Teach it"): a small labelled set kept on disk between runs.

Stored as one ``.npz`` (``images`` (N, 28, 28) uint8, ``labels`` (N,) uint8) in
``user_data_dir()/"taught"``, rewritten atomically after every change (temp file, then rename) and
read with ``allow_pickle=False``. With no examples left the file is removed, so "nothing taught"
and "no file" are the same state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.data.datasets import IMAGE_SHAPE, NUM_CLASSES, DataError, Dataset, load_npz
from engine.files.checkpoint import write_npz_atomic
from engine.files.paths import user_data_dir

FILE_NAME = "examples.npz"
DATASET_NAME = "taught by you"


def default_directory() -> Path:
    return user_data_dir() / "taught"


class UserExamples:
    """The taught digits, loaded from ``directory`` (default ``user_data_dir()/"taught"``).

    Raises :class:`~engine.data.datasets.DataError` when an existing file cannot be read; the file
    is then left untouched so nothing the user taught is overwritten by mistake.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / FILE_NAME
        self._images = np.zeros((0, *IMAGE_SHAPE), dtype=np.uint8)
        self._labels = np.zeros(0, dtype=np.uint8)
        if self.path.exists():
            loaded = load_npz(self.path, name=DATASET_NAME)
            self._images = np.array(loaded.images)
            self._labels = np.array(loaded.labels)

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def images(self) -> np.ndarray:
        """(N, 28, 28) uint8, read-only view."""
        view = self._images.view()
        view.flags.writeable = False
        return view

    @property
    def labels(self) -> np.ndarray:
        """(N,) uint8, read-only view."""
        view = self._labels.view()
        view.flags.writeable = False
        return view

    def add(self, image28: np.ndarray, label: int) -> None:
        """Append one MNIST-style (28, 28) uint8 digit (255 = ink) with its label, and save."""
        image = np.asarray(image28)
        if image.shape != IMAGE_SHAPE or image.dtype != np.uint8:
            raise DataError(
                f"a taught digit must be (28, 28) uint8, got {image.dtype} {image.shape}"
            )
        is_int = isinstance(label, (int, np.integer)) and not isinstance(label, bool)
        if not is_int or not 0 <= label < NUM_CLASSES:
            raise DataError(f"a taught digit's label must be 0..9, got {label!r}")
        images = np.concatenate([self._images, image[None]])
        labels = np.append(self._labels, np.uint8(label))
        self._save(images, labels)

    def remove(self, index: int) -> None:
        """Forget the example at ``index`` (0-based, in the order they were added), and save."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"no taught example {index}; there are {len(self)}")
        keep = np.ones(len(self), dtype=bool)
        keep[index] = False
        self._save(self._images[keep], self._labels[keep])

    def dataset(self) -> Dataset:
        """A copy of the taught digits as a Dataset (possibly empty) for the trainer."""
        return Dataset(self._images.copy(), self._labels.copy(), DATASET_NAME)

    def _save(self, images: np.ndarray, labels: np.ndarray) -> None:
        # Write first, then adopt: if writing fails, memory still matches the file on disk.
        if len(labels):
            write_npz_atomic(self.path, {"images": images, "labels": labels})
        else:
            self.path.unlink(missing_ok=True)
        self._images = np.ascontiguousarray(images)
        self._labels = np.ascontiguousarray(labels)
