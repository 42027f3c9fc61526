"""IDX reader: round trips, every malformed input gives IdxError, folder discovery."""

from __future__ import annotations

import contextlib
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.data.datasets import DataError
from engine.data.idx import IdxError, load_idx_folder, parse_idx, read_idx


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An independent IDX writer: magic, big-endian dims, raw bytes."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    data = idx_bytes(array)
    if compress if compress is not None else path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


shapes = st.lists(st.integers(0, 6), min_size=1, max_size=4).map(tuple)
uint8_arrays = shapes.flatmap(lambda shape: arrays(np.uint8, shape))


@given(array=uint8_arrays, compress=st.booleans())
def test_round_trip(array: np.ndarray, compress: bool) -> None:
    data = idx_bytes(array)
    result = parse_idx(gzip.compress(data) if compress else data)
    assert result.dtype == np.uint8
    assert result.shape == array.shape
    np.testing.assert_array_equal(result, array)


@settings(max_examples=300)
@given(data=st.binary(max_size=64))
def test_random_bytes_raise_only_idx_error(data: bytes) -> None:
    with contextlib.suppress(IdxError):  # anything else fails the test
        parse_idx(data)


@given(array=uint8_arrays, cut=st.integers(1, 1000), compress=st.booleans())
def test_truncation_is_an_idx_error(array: np.ndarray, cut: int, compress: bool) -> None:
    data = idx_bytes(array)
    if compress:
        data = gzip.compress(data)
    truncated = data[: max(0, len(data) - cut)]
    with pytest.raises(IdxError):
        parse_idx(truncated)


@given(array=uint8_arrays, extra=st.binary(min_size=1, max_size=8))
def test_trailing_garbage_is_an_idx_error(array: np.ndarray, extra: bytes) -> None:
    with pytest.raises(IdxError, match="extra bytes"):
        parse_idx(idx_bytes(array) + extra)


def test_wrong_magic_says_so() -> None:
    with pytest.raises(IdxError, match="two zero bytes"):
        parse_idx(b"\x01\x00\x08\x01\x00\x00\x00\x00")


@pytest.mark.parametrize(("code", "name"), [(0x0D, "float32"), (0x0C, "int32"), (0x42, "unknown")])
def test_unsupported_type_names_the_only_supported_one(code: int, name: str) -> None:
    data = idx_bytes(np.zeros(3, np.uint8), type_code=code)
    with pytest.raises(IdxError, match=rf"0x{code:02X} \({name}\).*only 0x08"):
        parse_idx(data)


def test_absurd_dimensions_are_rejected_without_allocating() -> None:
    header = bytes([0, 0, 8, 3]) + struct.pack(">3i", 2_000_000_000, 28, 28)
    with pytest.raises(IdxError, match="absurd"):
        parse_idx(header)
    with pytest.raises(IdxError, match="dimensions"):
        parse_idx(bytes([0, 0, 8, 0]))
    with pytest.raises(IdxError, match="negative"):
        parse_idx(bytes([0, 0, 8, 1]) + struct.pack(">i", -5))


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    misnamed = write_idx(tmp_path / "labels-idx2-ubyte", array, compress=True)
    np.testing.assert_array_equal(read_idx(misnamed), array)
    plain_gz = write_idx(tmp_path / "plain.gz", array, compress=False)
    np.testing.assert_array_equal(read_idx(plain_gz), array)


def test_damaged_gzip_and_missing_file(tmp_path: Path) -> None:
    good = gzip.compress(idx_bytes(np.zeros((2, 2), np.uint8)))
    bad = tmp_path / "bad.gz"
    bad.write_bytes(good[:10] + b"\xff" * 10 + good[20:])
    with pytest.raises(IdxError):
        read_idx(bad)
    with pytest.raises(IdxError, match="No such IDX file"):
        read_idx(tmp_path / "nope.gz")
    with pytest.raises(IdxError, match="folder"):
        read_idx(tmp_path)


def make_mnist_folder(folder: Path, rng: np.random.Generator, *, names: dict[str, str]) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "train images": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train labels": rng.integers(0, 10, 30, dtype=np.uint8),
        "test images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "test labels": rng.integers(0, 10, 12, dtype=np.uint8),
    }
    for role, name in names.items():
        write_idx(folder / name, data[role])
    return data


MNIST_NAMES = {
    "train images": "train-images-idx3-ubyte.gz",
    "train labels": "train-labels-idx1-ubyte.gz",
    "test images": "t10k-images-idx3-ubyte.gz",
    "test labels": "t10k-labels-idx1-ubyte",  # one uncompressed, as after a manual gunzip
}
EMNIST_NAMES = {
    "train images": "emnist-digits-train-images-idx3-ubyte.gz",
    "train labels": "emnist-digits-train-labels-idx1-ubyte.gz",
    "test images": "emnist-digits-test-images-idx3-ubyte.gz",
    "test labels": "emnist-digits-test-labels-idx1-ubyte.gz",
}


def test_load_mnist_folder(tmp_path: Path) -> None:
    data = make_mnist_folder(tmp_path / "mnist", np.random.default_rng(0), names=MNIST_NAMES)
    (tmp_path / "mnist" / ".train-images-idx3-ubyte.gz.abc.part").write_bytes(b"partial")
    train, test = load_idx_folder(tmp_path / "mnist")
    np.testing.assert_array_equal(train.images, data["train images"])
    np.testing.assert_array_equal(train.labels, data["train labels"])
    np.testing.assert_array_equal(test.images, data["test images"])
    np.testing.assert_array_equal(test.labels, data["test labels"])


def test_emnist_names_are_found_and_transposed(tmp_path: Path) -> None:
    data = make_mnist_folder(tmp_path / "emnist", np.random.default_rng(1), names=EMNIST_NAMES)
    train, test = load_idx_folder(tmp_path / "emnist")  # auto: EMNIST names -> transpose
    np.testing.assert_array_equal(train.images, data["train images"].transpose(0, 2, 1))
    np.testing.assert_array_equal(test.labels, data["test labels"])
    raw, _ = load_idx_folder(tmp_path / "emnist", transpose=False)
    np.testing.assert_array_equal(raw.images, data["train images"])


def test_missing_files_are_listed(tmp_path: Path) -> None:
    names = dict(MNIST_NAMES)
    del names["test labels"]
    make_mnist_folder(tmp_path / "m", np.random.default_rng(2), names=names)
    with pytest.raises(
        IdxError, match=r"lacks the test labels.*Found: .*t10k-images-idx3-ubyte\.gz"
    ):
        load_idx_folder(tmp_path / "m")
    with pytest.raises(IdxError, match="No such folder"):
        load_idx_folder(tmp_path / "absent")


def test_ambiguous_folder_is_an_error(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path / "m", np.random.default_rng(3), names=EMNIST_NAMES)
    write_idx(
        tmp_path / "m" / "emnist-letters-train-images-idx3-ubyte.gz",
        np.zeros((1, 28, 28), np.uint8),
    )
    with pytest.raises(IdxError, match="several train images"):
        load_idx_folder(tmp_path / "m")


def test_labels_out_of_range_or_mismatched_counts(tmp_path: Path) -> None:
    data = make_mnist_folder(tmp_path / "m", np.random.default_rng(4), names=MNIST_NAMES)
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte.gz", data["train labels"] + 10)
    with pytest.raises(IdxError, match=r"0\.\.9"):
        load_idx_folder(tmp_path / "m")
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte.gz", data["train labels"][:5])
    with pytest.raises(DataError, match="30 images but 5 labels"):
        load_idx_folder(tmp_path / "m")
