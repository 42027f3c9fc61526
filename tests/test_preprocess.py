"""Drawing -> MNIST 28×28: MNIST's own recipe, round trips, invariance, polarity, empty drawings.

Whole-pixel centring (as MNIST did) means a digit whose centre of mass sits near x.5 can land one
pixel either way after redrawing; a thin "1" shifted by a pixel correlates only ~0.6 with itself.
So per-digit checks allow a ±1 px alignment, and the plain correlation is checked on the median.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.datasets import load_bundled
from engine.data.preprocess import EmptyDrawingError, centre_of_mass, ink_map, to_mnist


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    data = load_bundled()
    idx = np.random.default_rng(0).choice(len(data), 50, replace=False)
    return data.images[idx], data.labels[idx]


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def aligned_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation over shifts of at most one pixel per axis."""
    return max(corr(np.roll(a, (dy, dx), axis=(0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def upsample(n: int, factor: float) -> np.ndarray:
    """(round(n * factor), n) linear interpolation matrix between pixel centres."""
    m = round(n * factor)
    x = np.clip((np.arange(m) + 0.5) / factor - 0.5, 0, n - 1)
    lo = np.floor(x).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = x - lo
    matrix = np.zeros((m, n))
    matrix[np.arange(m), lo] += 1 - w
    matrix[np.arange(m), hi] += w
    return matrix


def pen(digit: np.ndarray, factor: float) -> np.ndarray:
    """The digit redrawn as a binary pen stroke at ``factor`` times the size (uint8 0/255)."""
    m = upsample(28, factor)
    return np.where(m @ digit.astype(float) @ m.T > 127, 255, 0).astype(np.uint8)


def longer_side(digit: np.ndarray) -> int:
    rows, cols = np.nonzero(digit)
    return int(max(np.ptp(rows), np.ptp(cols)) + 1)


def test_bundled_digits_pass_through_unchanged() -> None:
    """to_mnist on real MNIST digits is (nearly) the identity: the recipe is MNIST's own,
    centred on 14.0 (centring on 13.5 would move about half of them by a pixel)."""
    images = load_bundled().images[::10]
    same = [corr(to_mnist(d), d) > 0.99 for d in images]
    assert np.mean(same) > 0.97


def test_round_trip_of_upscaled_pen_strokes(sample: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = sample
    plain, aligned = [], []
    for digit in images:
        drawn = to_mnist(pen(digit, 10.0))  # 280×280 canvas
        assert drawn.shape == (28, 28)
        assert drawn.dtype == np.uint8
        assert longer_side(drawn) == 20
        cy, cx = centre_of_mass(drawn)
        assert abs(cy - 14.0) <= 0.5
        assert abs(cx - 14.0) <= 0.5
        assert drawn.max() == 255
        plain.append(corr(drawn, digit))
        aligned.append(aligned_corr(drawn, digit))
    assert np.median(plain) > 0.95
    assert min(aligned) > 0.85


def test_same_drawing_elsewhere_and_bigger_is_identical(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    for digit in sample[0][:20]:
        stroke = pen(digit, 5.0)
        canvas = np.zeros((300, 300), np.uint8)
        canvas[10 : 10 + 140, 150 : 150 + 140] = stroke
        bigger = np.zeros((400, 350), np.uint8)
        big = np.kron(stroke, np.ones((2, 2), np.uint8))  # same stroke at twice the size
        bigger[100 : 100 + 280, 30 : 30 + 280] = big
        reference = to_mnist(stroke)
        np.testing.assert_array_equal(to_mnist(canvas), reference)
        assert corr(to_mnist(bigger), reference) > 0.99


def test_redrawn_at_another_place_and_size_is_nearly_the_same(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    plain, aligned = [], []
    for digit in sample[0]:
        first = np.zeros((280, 280), np.uint8)
        first[:] = pen(digit, 10.0)
        small = pen(digit, 6.3)  # rasterised afresh at another size, elsewhere on the canvas
        second = np.zeros((400, 500), np.uint8)
        second[150 : 150 + small.shape[0], 40 : 40 + small.shape[1]] = small
        a, b = to_mnist(first), to_mnist(second)
        plain.append(corr(a, b))
        aligned.append(aligned_corr(a, b))
    assert np.median(plain) > 0.99
    assert np.mean(np.array(plain) > 0.95) >= 0.85
    assert min(aligned) > 0.95


def test_dark_on_light_equals_light_on_dark(sample: tuple[np.ndarray, np.ndarray]) -> None:
    for digit in sample[0][:10]:
        light_on_dark = pen(digit, 4.0)
        dark_on_light = 255 - light_on_dark
        expected = to_mnist(light_on_dark)
        np.testing.assert_array_equal(to_mnist(dark_on_light), expected)
        np.testing.assert_array_equal(to_mnist(dark_on_light, invert=True), expected)
        np.testing.assert_array_equal(to_mnist(light_on_dark, invert=False), expected)
        # Other dtypes and scales: float in [0, 1], uint16, a grey pen on grey paper.
        np.testing.assert_array_equal(to_mnist(dark_on_light / 255.0), expected)
        np.testing.assert_array_equal(to_mnist(dark_on_light.astype(np.uint16) * 257), expected)
        grey = 200 - (light_on_dark // 255) * 120  # ink 80 on paper 200
        np.testing.assert_array_equal(to_mnist(grey.astype(np.uint8)), expected)


def test_aspect_ratio_is_kept() -> None:
    bar = np.zeros((200, 300), np.uint8)
    bar[90:110, 50:250] = 255  # 200 × 20: a 10:1 bar
    digit = to_mnist(bar)
    rows, cols = np.nonzero(digit)
    assert np.ptp(cols) + 1 == 20
    assert np.ptp(rows) + 1 == 2
    tall = to_mnist(bar.T)
    np.testing.assert_array_equal(tall, digit.T)


def test_tiny_drawing_is_scaled_up() -> None:
    blob = np.zeros((50, 50), np.uint8)
    blob[20:25, 30:33] = 255
    digit = to_mnist(blob)
    assert longer_side(digit) == 20
    assert np.ptp(np.nonzero(digit)[1]) + 1 == 12


def test_digit_stays_inside_when_mass_is_lopsided() -> None:
    # An "L" with almost all ink in its foot: centring the mass would push it out; it is clamped.
    shape = np.zeros((100, 100), np.uint8)
    shape[0:100, 0:2] = 255
    shape[95:100, 0:100] = 255
    digit = to_mnist(shape)
    rows, _ = np.nonzero(digit)
    assert longer_side(digit) == 20  # nothing cut off
    assert rows.min() == 0  # pushed up as far as it goes ...
    assert centre_of_mass(digit)[0] > 15.0  # ... which still leaves the mass low


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((100, 100), np.uint8),
        np.full((100, 100), 255, np.uint8),
        np.full((10, 10), 0.5),
        np.random.default_rng(0).integers(120, 126, (64, 64)).astype(np.uint8),  # faint noise
    ],
)
def test_empty_drawing_raises(image: np.ndarray) -> None:
    with pytest.raises(EmptyDrawingError, match="Nothing was drawn"):
        to_mnist(image)
    assert issubclass(EmptyDrawingError, ValueError)


def test_bad_input_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="2-D grayscale"):
        to_mnist(np.zeros((10, 10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        to_mnist(np.full((10, 10), np.nan))
    with pytest.raises(ValueError, match="numeric"):
        to_mnist(np.array([["a"]]))


def test_ink_map_ignores_faint_smudges() -> None:
    image = np.zeros((60, 60), np.uint8)
    image[10:50, 28:32] = 255
    image[2, 2] = 8  # a speck at 3% of the ink: not part of the bounding box
    ink = ink_map(image)
    assert ink[2, 2] == 0.0
    assert ink.max() == 1.0
    assert longer_side(to_mnist(image)) == 20


def test_thin_strokes_still_peak_at_full_ink() -> None:
    """A 1 px line on a 280 px canvas averages down to ~7% grey; MNIST digits peak at 254-255."""
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 140] = 255
    canvas[40, 100:141] = 255
    digit = to_mnist(canvas)
    assert digit.max() == 255
