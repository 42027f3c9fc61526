"""Where training data comes from: the bundled digits, a folder of IDX files or an .npz file.

Kept apart from :mod:`engine.data.datasets` because it chooses between loaders that build Datasets
(``engine.data.idx`` among them); datasets.py imports no loader, so there is no import circle.
"""

from __future__ import annotations

from pathlib import Path

from engine.data.datasets import DataError, Splits, load_bundled, load_npz, split, with_test
from engine.data.idx import load_idx_folder


def load_dataset(source: str | Path | None = None, *, seed: int = 0) -> Splits:
    """Splits from ``None``/``"bundled"`` (the 5,000 bundled digits), a folder of IDX files
    (MNIST, Fashion-MNIST, EMNIST digits; its own test set is kept) or an ``.npz`` file."""
    if source is None or (isinstance(source, str) and source.lower() == "bundled"):
        return split(load_bundled(), seed=seed)
    path = Path(source).expanduser()
    if path.is_dir():
        train_pool, test = load_idx_folder(path)
        return with_test(train_pool, test, seed=seed)
    if not path.exists():
        raise DataError(f"No such file or folder: {path}")
    if path.suffix.lower() == ".npz":
        return split(load_npz(path), seed=seed)
    raise DataError(
        f"{path}: expected 'bundled', a folder of IDX files (e.g. MNIST .gz files) or an .npz file"
    )
