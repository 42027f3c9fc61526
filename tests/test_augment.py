"""Augmentation: exact warps against a per-sample reference, identity, determinism, ranges."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.data.augment import CHUNK, augment, augment_batch_float, random_affine, warp
from engine.data.datasets import load_bundled, to_float
from engine.data.preprocess import centre_of_mass


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    data = load_bundled()
    return np.ascontiguousarray(data.images[::50])  # 100 digits, 10 of each class


def reference_warp(image: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Textbook bilinear sampling, one pixel at a time, zero outside the image (float64)."""
    src = image.astype(np.float64) / 255.0

    def pixel(y: int, x: int) -> float:
        return src[y, x] if 0 <= y < 28 and 0 <= x < 28 else 0.0

    out = np.zeros((28, 28))
    for y in range(28):
        for x in range(28):
            sy, sx = theta @ np.array([y, x, 1.0])
            y0, x0 = int(np.floor(sy)), int(np.floor(sx))
            fy, fx = sy - y0, sx - x0
            out[y, x] = (
                (1 - fy) * (1 - fx) * pixel(y0, x0)
                + (1 - fy) * fx * pixel(y0, x0 + 1)
                + fy * (1 - fx) * pixel(y0 + 1, x0)
                + fy * fx * pixel(y0 + 1, x0 + 1)
            )
    return out.reshape(784)


def test_warp_matches_reference(digits: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    images = digits[:6]
    theta = random_affine(rng, 6, shift=6.0, rotate_deg=40.0, scale=0.3)  # points fall outside too
    result = warp(images, theta)
    for k in range(6):
        np.testing.assert_allclose(result[k], reference_warp(images[k], theta[k]), atol=2e-5)


def test_integer_shift_and_quarter_turn_are_exact(digits: np.ndarray) -> None:
    image = digits[7:8]
    shift = np.array([[[1, 0, -3], [0, 1, 2]]], dtype=np.float32)  # out(y, x) = in(y - 3, x + 2)
    expected = np.zeros((28, 28), np.uint8)
    expected[3:, :26] = image[0, :25, 2:]
    np.testing.assert_array_equal(warp(image, shift), to_float(expected[None]))
    # About the pixel-grid centre 13.5, a quarter turn permutes pixels: np.rot90.
    turn = np.array([[[0, 1, 0], [-1, 0, 27]]], dtype=np.float32)  # out(y, x) = in(x, 27 - y)
    np.testing.assert_array_equal(warp(image, turn), to_float(np.rot90(image, axes=(1, 2))))


def test_half_pixel_shift_averages_neighbours() -> None:
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 10, 10] = 200
    theta = np.array([[[1, 0, 0], [0, 1, 0.5]]], dtype=np.float32)
    out = warp(image, theta).reshape(28, 28)
    np.testing.assert_allclose(out[10, 9:11], [100 / 255, 100 / 255], rtol=1e-6)
    assert out.sum() == pytest.approx(200 / 255)


def test_identity_when_all_magnitudes_are_zero(digits: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    off = {"shift": 0.0, "rotate_deg": 0.0, "scale": 0.0, "noise": 0.0}
    np.testing.assert_array_equal(augment_batch_float(digits, rng, **off), to_float(digits))
    np.testing.assert_array_equal(augment(digits, rng, **off), digits)


def test_shapes_dtypes_range_and_out_reuse(digits: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    out = np.empty((100, 784), np.float32)
    result = augment_batch_float(digits, rng, out, noise=0.2)
    assert result is out
    assert result.min() >= 0.0
    assert result.max() <= 1.0
    small = augment(digits, rng)
    assert small.shape == (100, 28, 28)
    assert small.dtype == np.uint8
    with pytest.raises(ValueError, match="float32 or float64 of shape"):
        augment_batch_float(digits, rng, np.empty((100, 783), np.float32))
    wide = augment_batch_float(digits, np.random.default_rng(9), np.empty((100, 784)))
    narrow = augment_batch_float(digits, np.random.default_rng(9))
    np.testing.assert_array_equal(wide, narrow)  # float64 out for a float64 network
    with pytest.raises(ValueError, match="uint8"):
        augment_batch_float(digits.astype(np.float32), rng)
    with pytest.raises(ValueError, match="scale"):
        augment_batch_float(digits, rng, scale=1.5)


def test_deterministic_per_seed(digits: np.ndarray) -> None:
    first = augment_batch_float(digits, np.random.default_rng(42), noise=0.1)
    again = augment_batch_float(digits, np.random.default_rng(42), noise=0.1)
    other = augment_batch_float(digits, np.random.default_rng(43), noise=0.1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # Every sample gets its own transform: no two augmented copies of one digit are equal.
    same = np.repeat(digits[:1], 8, axis=0)
    copies = augment_batch_float(same, np.random.default_rng(0))
    assert len({row.tobytes() for row in copies}) == 8


def test_batches_larger_than_a_chunk(digits: np.ndarray) -> None:
    images = np.concatenate([digits] * ((CHUNK * 2) // len(digits) + 1))[: CHUNK * 2 + 3]
    theta = random_affine(np.random.default_rng(3), len(images))
    whole = warp(images, theta)
    for start in (0, CHUNK, 2 * CHUNK):
        part = warp(images[start : start + 3], theta[start : start + 3])
        np.testing.assert_array_equal(whole[start : start + 3], part)


def test_shift_moves_centre_of_mass_within_bounds(digits: np.ndarray) -> None:
    shifted = augment(digits, np.random.default_rng(4), shift=2.0, rotate_deg=0.0, scale=0.0)
    moves = np.array(
        [
            np.subtract(centre_of_mass(a), centre_of_mass(b))
            for a, b in zip(shifted, digits, strict=True)
        ]
    )
    assert np.abs(moves).max() <= 2.05
    assert np.abs(moves).max() > 1.0  # it does move
    # Rotation and zoom are about (14, 14), where MNIST puts the mass: the centre barely moves.
    turned = augment(digits, np.random.default_rng(5), shift=0.0, rotate_deg=12.0, scale=0.1)
    centres = np.array([centre_of_mass(d) for d in turned])
    assert np.abs(centres - 14.0).max() < 1.0


def test_noise_changes_pixels_with_the_requested_spread(digits: np.ndarray) -> None:
    off = {"shift": 0.0, "rotate_deg": 0.0, "scale": 0.0}
    noisy = augment_batch_float(digits, np.random.default_rng(6), noise=0.1, **off)
    diff = noisy - to_float(digits)
    # Only background pixels away from the clip at 0 show the full noise; half of it is clipped.
    background = to_float(digits) == 0
    positive = diff[background & (diff > 0)]
    assert np.sqrt(np.mean(positive**2)) == pytest.approx(0.1, rel=0.1)


def test_threads_get_their_own_buffers(digits: np.ndarray) -> None:
    theta = random_affine(np.random.default_rng(7), len(digits))
    expected = warp(digits, theta)
    results: list[np.ndarray] = []

    def work() -> None:
        for _ in range(20):
            results.append(warp(digits, theta))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 60
    for r in results:
        np.testing.assert_array_equal(r, expected)
