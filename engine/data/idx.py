"""Reader for the IDX files of MNIST, Fashion-MNIST and EMNIST (plain or gzip-compressed).

IDX layout (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code (0x08 = unsigned byte),
the number of dimensions, then one big-endian int32 per dimension, then the data in C order.
"""

from __future__ import annotations

import gzip
import io
import re
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.data.datasets import DataError, Dataset

GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08
_TYPE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
#: Digit datasets need at most 3 dimensions (N, rows, cols); allow one spare.
MAX_NDIM = 4
#: 2 GiB: larger than every MNIST-family file (EMNIST byclass is 0.64 GB) and a guard against a
#: corrupt header making us allocate or decompress without bound.
MAX_BYTES = 2**31


class IdxError(DataError):
    """An IDX file is malformed, truncated, of an unsupported type or missing."""


def _read_exact(stream: BinaryIO, count: int, what: str, name: str) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise IdxError(f"{name} is truncated: {what} needs {count} bytes, only {len(data)} present")
    return data


def _parse_stream(stream: BinaryIO, name: str) -> np.ndarray:
    magic = _read_exact(stream, 4, "the header", name)
    if magic[:2] != b"\x00\x00":
        raise IdxError(
            f"{name} is not an IDX file: it must start with two zero bytes, got {magic[:2].hex()}"
        )
    type_code, ndim = magic[2], magic[3]
    if type_code != UBYTE:
        kind = _TYPE_NAMES.get(type_code, "unknown")
        raise IdxError(
            f"{name} holds IDX type 0x{type_code:02X} ({kind}); only 0x08 (unsigned byte, "
            "as in MNIST, Fashion-MNIST and EMNIST) is supported"
        )
    if not 1 <= ndim <= MAX_NDIM:
        raise IdxError(f"{name} declares {ndim} dimensions; expected 1 to {MAX_NDIM}")
    dims = struct.unpack(f">{ndim}i", _read_exact(stream, 4 * ndim, "the dimensions", name))
    if any(d < 0 for d in dims):
        raise IdxError(f"{name} declares a negative size {dims}")
    total = 1
    for d in dims:
        total *= d
    if total > MAX_BYTES:
        raise IdxError(f"{name} declares an absurd size {dims} ({total:,} bytes); it is corrupt")
    body = stream.read(total)
    if len(body) != total:
        raise IdxError(
            f"{name} is truncated: its header promises shape {dims} ({total:,} bytes of data) "
            f"but only {len(body):,} bytes follow"
        )
    if stream.read(1):
        raise IdxError(
            f"{name} has extra bytes after the {total:,} bytes its header {dims} declares"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Parse IDX bytes (gzip-compressed or not) into a read-only uint8 array."""
    return _parse(io.BytesIO(data), name)


def _parse(raw: BinaryIO, name: str) -> np.ndarray:
    head = raw.read(2)
    raw.seek(0)
    # Detect gzip by its magic bytes: files are often renamed or decompressed without renaming.
    if head == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _parse_stream(stream, name)
        except (OSError, EOFError, zlib.error) as exc:
            # gzip.BadGzipFile is an OSError; a cut-off download gives EOFError.
            raise IdxError(f"{name} is a damaged gzip file ({exc or type(exc).__name__})") from None
    return _parse_stream(raw, name)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or .gz) into a uint8 array of the shape its header declares.

    Raises :class:`IdxError` for a missing file, wrong magic, unsupported type, absurd or truncated
    dimensions and trailing bytes.
    """
    path = Path(path)
    try:
        with path.open("rb") as raw:
            return _parse(raw, path.name)
    except FileNotFoundError:
        raise IdxError(f"No such IDX file: {path}") from None
    except IsADirectoryError:
        raise IdxError(f"{path} is a folder, not an IDX file") from None


# Role -> pattern on the lower-cased file name. MNIST and Fashion-MNIST: "train-images-idx3-ubyte",
# "t10k-labels-idx1-ubyte"; Kaggle copies use dots ("train-images.idx3-ubyte"); EMNIST:
# "emnist-digits-test-images-idx3-ubyte".
_ROLES = {
    "train images": re.compile(r"train[-_.]images"),
    "train labels": re.compile(r"train[-_.]labels"),
    "test images": re.compile(r"(t10k|test)[-_.]images"),
    "test labels": re.compile(r"(t10k|test)[-_.]labels"),
}


def _find_role_files(folder: Path) -> dict[str, Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    found: dict[str, Path] = {}
    missing: list[str] = []
    for role, pattern in _ROLES.items():
        matches = [p for p in files if pattern.search(p.name.lower())]
        # "x" and "x.gz" hold the same data: keep the uncompressed one (faster to read).
        stems = {p.name.removesuffix(".gz") for p in matches}
        if not matches:
            missing.append(role)
        elif len(stems) > 1:
            names = ", ".join(p.name for p in matches)
            raise IdxError(
                f"{folder} holds several {role} files ({names}); keep one dataset per folder"
            )
        else:
            found[role] = min(matches, key=lambda p: p.name.endswith(".gz"))
    if missing:
        present = ", ".join(p.name for p in files) or "no files"
        raise IdxError(
            f"{folder} lacks the {' and '.join(missing)} file(s) (e.g. train-images-idx3-ubyte.gz, "
            f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). "
            f"Found: {present}"
        )
    return found


def _dataset(images: np.ndarray, labels: np.ndarray, name: str, transpose: bool) -> Dataset:
    if images.ndim != 3:
        raise IdxError(f"{name}: image file must be 3-D (N, 28, 28), got shape {images.shape}")
    if transpose:
        images = np.ascontiguousarray(images.transpose(0, 2, 1))
    try:
        return Dataset(images, labels, name)
    except DataError as exc:
        raise IdxError(str(exc)) from None


def load_idx_folder(
    folder: str | Path, *, transpose: bool | None = None
) -> tuple[Dataset, Dataset]:
    """(train, test) Datasets from a folder of MNIST-family IDX files.

    EMNIST stores every image transposed (column-major), so its digits look mirrored and rotated;
    ``transpose=True`` swaps rows and columns back. ``None`` (default) does so when the file names
    start with "emnist", as the official EMNIST files do.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise IdxError(f"No such folder: {folder}")
    files = _find_role_files(folder)
    if transpose is None:
        transpose = files["train images"].name.lower().startswith("emnist")
    arrays = {role: read_idx(path) for role, path in files.items()}
    train = _dataset(
        arrays["train images"], arrays["train labels"], f"{folder.name} train", transpose
    )
    test = _dataset(arrays["test images"], arrays["test labels"], f"{folder.name} test", transpose)
    return train, test
