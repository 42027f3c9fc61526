"""Datasets: validation, .npz loading (hypothesis on malformed files), splits, float conversion."""

from __future__ import annotations

import contextlib
import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.datasets import (
    DataError,
    Dataset,
    load_bundled,
    load_npz,
    split,
    stratified_subset,
    to_float,
    with_test,
)
from engine.data.sources import load_dataset
from engine.files.paths import BUNDLED_MNIST


def toy(n: int = 50, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    return Dataset(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10, name="toy")


def test_bundled_is_500_per_class() -> None:
    data = load_bundled()
    assert len(data) == 5000
    assert data.images.dtype == np.uint8
    assert data.images.shape == (5000, 28, 28)
    np.testing.assert_array_equal(data.class_counts(), [500] * 10)
    assert not data.images.flags.writeable  # shared between threads: read-only


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((3, 28, 28), np.float32), np.zeros(3, np.uint8), "uint8"),
        (np.zeros((3, 28, 27), np.uint8), np.zeros(3, np.uint8), r"\(N, 28, 28\)"),
        (np.zeros((3, 784), np.uint8), np.zeros(3, np.uint8), r"\(N, 28, 28\)"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "3 images but 4 labels"),
        (np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 10]), r"0\.\.9"),
        (np.zeros((3, 28, 28), np.uint8), np.array([0, -1, 2]), r"0\.\.9"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.float64), "whole numbers"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), r"\(N,\)"),
    ],
)
def test_dataset_validation(images: np.ndarray, labels: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=message):
        Dataset(images, labels, "bad")


def test_int_labels_become_uint8_and_subset_copies() -> None:
    data = toy()
    assert data.labels.dtype == np.uint8
    sub = data.subset([3, 1, 4])
    np.testing.assert_array_equal(sub.labels, [3, 1, 4])
    np.testing.assert_array_equal(sub.images[0], data.images[3])


def save_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def test_load_npz_round_trip_and_flat_images(tmp_path: Path) -> None:
    data = toy()
    loaded = load_npz(save_npz(tmp_path / "d.npz", images=data.images, labels=data.labels))
    np.testing.assert_array_equal(loaded.images, data.images)
    flat = save_npz(tmp_path / "f.npz", images=data.images.reshape(50, 784), labels=data.labels)
    np.testing.assert_array_equal(load_npz(flat).images, data.images)


def test_load_npz_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="No such data file"):
        load_npz(tmp_path / "missing.npz")
    with pytest.raises(DataError, match=r"no labels array.*found: images"):
        load_npz(save_npz(tmp_path / "a.npz", images=np.zeros((1, 28, 28), np.uint8)))
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(DataError, match="single array"):
        load_npz(tmp_path / "single.npy")
    objects = save_npz(tmp_path / "o.npz", images=np.array([None, 1]), labels=np.zeros(1))
    with pytest.raises(DataError, match="not a readable"):
        load_npz(objects)
    with pytest.raises(DataError, match="holds no images"):
        load_npz(
            save_npz(
                tmp_path / "e.npz",
                images=np.zeros((0, 28, 28), np.uint8),
                labels=np.zeros(0, np.uint8),
            )
        )


def _valid_npz_bytes() -> bytes:
    buffer = io.BytesIO()
    data = toy(5)
    np.savez_compressed(buffer, images=data.images, labels=data.labels)
    return buffer.getvalue()


VALID_NPZ = _valid_npz_bytes()


def _load_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.npz"
        path.write_bytes(data)
        with contextlib.suppress(DataError):  # anything else fails the test
            load_npz(path)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.integers(0, len(VALID_NPZ) - 1).map(lambda n: VALID_NPZ[:n]),
        st.tuples(st.integers(0, len(VALID_NPZ) - 1), st.integers(0, 255)).map(
            lambda p: VALID_NPZ[: p[0]] + bytes([p[1]]) + VALID_NPZ[p[0] + 1 :]
        ),
    )
)
def test_malformed_npz_raises_only_data_error(data: bytes) -> None:
    _load_bytes(data)


def test_truncated_npz_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    path.write_bytes(VALID_NPZ[: len(VALID_NPZ) // 2])
    with pytest.raises(DataError):
        load_npz(path)
    # A zip that is not an npz at all.
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(DataError, match="found: readme"):
        load_npz(tmp_path / "z.npz")


def test_split_is_stratified_disjoint_and_deterministic() -> None:
    data = load_bundled()
    splits = split(data, seed=3)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (3500, 500, 1000)
    np.testing.assert_array_equal(splits.train.class_counts(), [350] * 10)
    np.testing.assert_array_equal(splits.val.class_counts(), [50] * 10)
    np.testing.assert_array_equal(splits.test.class_counts(), [100] * 10)
    # Disjoint and complete: every bundled image lands in exactly one split.
    keys = [
        {img.tobytes() + bytes([lab]) for img, lab in zip(s.images, s.labels, strict=True)}
        for s in (splits.train, splits.val, splits.test)
    ]
    everything = {
        img.tobytes() + bytes([lab]) for img, lab in zip(data.images, data.labels, strict=True)
    }
    assert not keys[0] & keys[1]
    assert not keys[0] & keys[2]
    assert not keys[1] & keys[2]
    assert keys[0] | keys[1] | keys[2] == everything
    again = split(data, seed=3)
    np.testing.assert_array_equal(again.train.images, splits.train.images)
    other = split(data, seed=4)
    assert not np.array_equal(other.test.images, splits.test.images)
    # Shuffled: the first 100 training images are not all one digit (the source is sorted).
    assert len(set(splits.train.labels[:100].tolist())) == 10


def test_split_rejects_bad_fractions() -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        split(toy(), seed=0, val_fraction=1.5)
    with pytest.raises(ValueError, match="leave some data"):
        split(toy(), seed=0, val_fraction=0.5, test_fraction=0.5)


def test_with_test_keeps_test_and_stratifies_val() -> None:
    pool, test = toy(200, seed=1), toy(30, seed=2)
    splits = with_test(pool, test, seed=0, val_fraction=0.1)
    assert splits.test is test
    np.testing.assert_array_equal(splits.val.class_counts(), [2] * 10)
    np.testing.assert_array_equal(splits.train.class_counts(), [18] * 10)


@pytest.mark.parametrize("n", [10, 300, 333, 3499])
def test_stratified_subset_keeps_balance(n: int) -> None:
    train = split(load_bundled(), seed=0).train
    sub = stratified_subset(train, n, seed=5)
    assert len(sub) == n
    counts = sub.class_counts()
    assert counts.max() - counts.min() <= 1
    np.testing.assert_array_equal(stratified_subset(train, n, seed=5).images, sub.images)
    assert stratified_subset(train, 10_000, seed=0) is train
    with pytest.raises(ValueError, match="at least 1"):
        stratified_subset(train, 0, seed=0)


def test_to_float_range_and_out_reuse() -> None:
    images = np.array([[[0, 255] + [128] * 26] * 28] * 3, dtype=np.uint8)
    out = np.full((3, 784), -1.0, dtype=np.float32)
    result = to_float(images, out=out)
    assert result is out
    assert result.dtype == np.float32
    assert result.min() == 0.0
    assert result.max() == 1.0
    assert result[0, 2] == np.float32(128 / 255)
    with pytest.raises(ValueError, match="float32 or float64 of shape"):
        to_float(images, out=np.empty((3, 784), np.float16))
    wide = to_float(images, out=np.empty((3, 784), np.float64))
    assert wide[0, 2] == 128 / 255
    assert to_float(images).shape == (3, 784)


def test_load_dataset_sources(tmp_path: Path) -> None:
    bundled = load_dataset(None)
    assert len(bundled.train) == 3500
    np.testing.assert_array_equal(load_dataset("bundled").test.images, bundled.test.images)
    data = toy(100)
    npz = save_npz(tmp_path / "mine.npz", images=data.images, labels=data.labels)
    assert len(load_dataset(npz).test) == 20
    with pytest.raises(DataError, match="No such file or folder"):
        load_dataset(tmp_path / "nothing")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="expected 'bundled'"):
        load_dataset(tmp_path / "notes.txt")
    with pytest.raises(DataError, match="lacks"):
        load_dataset(tmp_path)  # a folder without IDX files
    assert BUNDLED_MNIST.is_file()
