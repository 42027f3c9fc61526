"""Datasets of 28×28 digits: validation, loading, seeded stratified splits, float conversion.

Images stay ``uint8`` in memory (5,000 bundled digits take 3.9 MB, full MNIST 47 MB) and are turned
into ``float32`` in [0, 1] one mini-batch at a time by :func:`to_float`.
"""

from __future__ import annotations

import functools
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.files.paths import BUNDLED_MNIST

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10


class DataError(ValueError):
    """A dataset file or array is missing, malformed or not what it claims to be."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Labelled digits.

    ``images``: (N, 28, 28) uint8, 0 = background, 255 = ink. ``labels``: (N,) uint8 in 0..9.
    The arrays are stored as read-only views so a dataset can be shared between threads safely.
    Integer labels of another dtype are converted to uint8; anything else raises :class:`DataError`.
    """

    images: np.ndarray
    labels: np.ndarray
    name: str = "dataset"

    def __post_init__(self) -> None:
        images = np.asarray(self.images)
        labels = np.asarray(self.labels)
        if images.dtype != np.uint8:
            raise DataError(f"{self.name}: images must be uint8 (0..255), got dtype {images.dtype}")
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise DataError(f"{self.name}: images must have shape (N, 28, 28), got {images.shape}")
        if labels.ndim != 1:
            raise DataError(f"{self.name}: labels must have shape (N,), got {labels.shape}")
        if labels.dtype.kind not in "iu":
            raise DataError(f"{self.name}: labels must be whole numbers, got dtype {labels.dtype}")
        if len(labels) != len(images):
            raise DataError(
                f"{self.name}: {len(images)} images but {len(labels)} labels; they must match"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise DataError(
                f"{self.name}: labels must be digits 0..9, found values "
                f"{int(labels.min())}..{int(labels.max())}"
            )
        images = images.view()
        labels = labels.astype(np.uint8, copy=False).view()
        images.flags.writeable = False
        labels.flags.writeable = False
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} images)"

    def subset(self, indices: np.ndarray | Sequence[int], name: str | None = None) -> Dataset:
        """The samples at ``indices`` (integer array or boolean mask), copied."""
        idx = np.asarray(indices)
        return Dataset(self.images[idx], self.labels[idx], self.name if name is None else name)

    def class_counts(self) -> np.ndarray:
        """(10,) int64: how many samples of each digit."""
        return np.bincount(self.labels, minlength=NUM_CLASSES)


@dataclass(frozen=True, eq=False)
class Splits:
    """Disjoint training, validation and test sets."""

    train: Dataset
    val: Dataset
    test: Dataset


def load_npz(path: str | Path, name: str | None = None) -> Dataset:
    """Load an ``.npz`` holding ``images`` (N, 28, 28) or (N, 784) uint8 and ``labels`` (N,).

    Never unpickles (``allow_pickle=False``). Any missing, truncated or foreign file raises
    :class:`DataError` saying what is wrong.
    """
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise DataError(f"No such data file: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path} is a single array, not an .npz archive of images and labels")
        with loaded as archive:
            missing = {"images", "labels"} - set(archive.files)
            if missing:
                found = ", ".join(archive.files) or "nothing"
                raise DataError(
                    f"{path} has no {' or '.join(sorted(missing))} array (found: {found})"
                )
            images = archive["images"]
            labels = archive["labels"]
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"{path} claims arrays too large to load; the file is corrupt") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path} is not a readable .npz dataset ({exc})") from None
    if images.ndim == 2 and images.shape[1:] == (784,):
        images = images.reshape(-1, *IMAGE_SHAPE)
    dataset = Dataset(images, labels, name)
    if len(dataset) == 0:
        raise DataError(f"{path} holds no images")
    return dataset


@functools.cache
def load_bundled() -> Dataset:
    """The 5,000 MNIST digits shipped with the app (500 per class, sorted by label).

    Cached: a Dataset is immutable, so every caller can share one copy.
    """
    return load_npz(BUNDLED_MNIST, name="MNIST 5k (bundled)")


def _stratified_parts(
    labels: np.ndarray, fractions: Sequence[float], rng: np.random.Generator
) -> list[np.ndarray]:
    """Split indices of every class by ``fractions`` (rounded per class); the rest is part 0.

    Returns one shuffled index array per part: [rest, fractions[0], fractions[1], ...].
    """
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for digit in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        start = 0
        for k, frac in enumerate(fractions, start=1):
            count = round(len(members) * frac)
            parts[k].append(members[start : start + count])
            start += count
        parts[0].append(members[start:])
    # Shuffle each part so no prefix of it is all one digit (the source is often sorted by label).
    return [rng.permutation(np.concatenate(p)).astype(np.intp) for p in parts]


def _check_fraction(value: float, what: str) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{what} must be in [0, 1), got {value}")


def split(
    dataset: Dataset, *, seed: int, val_fraction: float = 0.1, test_fraction: float = 0.2
) -> Splits:
    """Seeded split into train/val/test with every digit split in the same proportions."""
    _check_fraction(val_fraction, "val_fraction")
    _check_fraction(test_fraction, "test_fraction")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError("val_fraction + test_fraction must leave some data for training")
    rng = np.random.default_rng(seed)
    train, val, test = _stratified_parts(dataset.labels, [val_fraction, test_fraction], rng)
    return Splits(
        train=dataset.subset(train, f"{dataset.name} · train"),
        val=dataset.subset(val, f"{dataset.name} · validation"),
        test=dataset.subset(test, f"{dataset.name} · test"),
    )


def with_test(
    train_pool: Dataset, test: Dataset, *, seed: int, val_fraction: float = 0.1
) -> Splits:
    """Splits for a dataset that ships its own test set (full MNIST): carve validation out of
    ``train_pool``, stratified and seeded; ``test`` is kept as it is."""
    _check_fraction(val_fraction, "val_fraction")
    rng = np.random.default_rng(seed)
    train, val = _stratified_parts(train_pool.labels, [val_fraction], rng)
    return Splits(
        train=train_pool.subset(train, f"{train_pool.name} · train"),
        val=train_pool.subset(val, f"{train_pool.name} · validation"),
        test=test,
    )


def stratified_subset(dataset: Dataset, n: int, *, seed: int) -> Dataset:
    """``n`` samples keeping the class proportions (largest-remainder rounding), shuffled.

    Asking for ``n >= len(dataset)`` returns ``dataset`` itself.
    """
    if n < 1:
        raise ValueError(f"subset size must be at least 1, got {n}")
    if n >= len(dataset):
        return dataset
    counts = dataset.class_counts()
    exact = counts * (n / len(dataset))
    take = np.floor(exact).astype(np.int64)
    # Leftover samples go to the classes with the largest fractional parts (ties: lower digit).
    leftover = n - int(take.sum())
    order = np.argsort(-(exact - take), kind="stable")
    take[order[:leftover]] += 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.permutation(np.flatnonzero(dataset.labels == d))[: take[d]] for d in range(NUM_CLASSES)
    ]
    indices = rng.permutation(np.concatenate(chosen))
    return dataset.subset(indices, f"{dataset.name} · {n}")


def to_float(images: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(B, 28, 28) uint8 -> (B, 784) float32 in [0, 1], written into ``out`` when given
    (float32, or float64 for a float64 network).

    Division (not multiplication by 1/255) so 255 maps to exactly 1.0.
    """
    flat = images.reshape(len(images), -1)
    if out is None:
        return np.divide(flat, np.float32(255.0), dtype=np.float32)
    if out.shape != flat.shape or out.dtype not in (np.float32, np.float64):
        raise ValueError(
            f"out must be float32 or float64 of shape {flat.shape}, got {out.dtype} {out.shape}"
        )
    return np.divide(flat, out.dtype.type(255.0), out=out)
