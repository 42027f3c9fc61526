"""Turn a drawing (any grayscale image) into an MNIST-style 28×28 digit, the way MNIST was made.

MNIST's recipe, checked on the bundled digits (see DESIGN.md): the ink's bounding box is scaled so
its longer side is 20 px, keeping the aspect ratio, with anti-aliasing; then the digit is placed in
28×28 by whole-pixel shifts so its centre of mass lands at (14.0, 14.0) in 0-based pixel
coordinates. Pure NumPy: area averaging is two small matrix products.
"""

from __future__ import annotations

import numpy as np

SIDE = 28
BOX = 20
#: Centre of mass of MNIST digits in 0-based pixel coordinates (not 13.5: measured, see DESIGN.md).
CENTRE = 14.0
#: Ink below this fraction of the strongest ink is treated as background (smudges, JPEG noise).
INK_THRESHOLD = 0.05
#: An image whose ink is weaker than this fraction of full scale counts as empty.
MIN_CONTRAST = 0.05


class EmptyDrawingError(ValueError):
    """The image holds no ink."""

    def __init__(self, message: str = "Nothing was drawn") -> None:
        super().__init__(message)


def _full_scale(image: np.ndarray, peak: float) -> float:
    """The value that means "full ink" for this dtype (floats: 1.0 unless values exceed it)."""
    if image.dtype == np.bool_:
        return 1.0
    if image.dtype.kind in "iu":
        return float(np.iinfo(image.dtype).max)
    return 1.0 if peak <= 1.0 else 255.0 if peak <= 255.0 else peak


def _background(values: np.ndarray, scale: float) -> float:
    """The paper's level: the border's median when the border is clean (90% within 2% of it),
    else the median of the whole image (ink rarely covers half of a drawing, but a stroke can
    run along the edge)."""
    border = np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])
    level = float(np.median(border))
    if np.mean(np.abs(border - level) <= 0.02 * scale) >= 0.9:
        return level
    return float(np.median(values))


def ink_map(image: np.ndarray, *, invert: bool | None = None) -> np.ndarray:
    """(H, W) ink intensity in [0, 1], background 0, strongest ink 1.

    The background level comes from the border (see :func:`_background`). ``invert=None``
    detects polarity: when the background is nearer the bright end than the dark end, the ink is
    dark on light.
    Raises :class:`EmptyDrawingError` when there is no ink.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"expected a 2-D grayscale image, got shape {image.shape}")
    if image.dtype.kind not in "biuf":
        raise ValueError(f"expected a numeric image, got dtype {image.dtype}")
    values = image.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("the image contains NaN or infinite values")
    lo, hi = float(values.min()), float(values.max())
    scale = _full_scale(image, max(abs(lo), abs(hi)))
    background = _background(values, scale)
    if invert is None:
        invert = background - lo > hi - background
    ink = background - values if invert else values - background
    np.maximum(ink, 0.0, out=ink)
    peak = float(ink.max())
    if peak < MIN_CONTRAST * scale:
        raise EmptyDrawingError()
    ink /= peak
    ink[ink < INK_THRESHOLD] = 0.0
    return ink


def _area_weights(n_in: int, n_out: int, step: float) -> np.ndarray:
    """(n_out, n_in) box-filter weights: output pixel i averages source span [i, i+1) * step."""
    start = np.arange(n_out)[:, None] * step
    src = np.arange(n_in)[None, :]
    overlap = np.minimum(src + 1, start + step) - np.maximum(src, start)
    return np.clip(overlap, 0.0, None) / step


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink's bounding box and area-resample so the longer side is exactly 20 px."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    step = max(h, w) / BOX  # one source length per output pixel, the same on both axes
    out_h = min(BOX, int(np.ceil(h / step - 1e-9)))
    out_w = min(BOX, int(np.ceil(w / step - 1e-9)))
    return _area_weights(h, out_h, step) @ crop @ _area_weights(w, out_w, step).T


def _place(patch: np.ndarray) -> np.ndarray:
    """Put ``patch`` (h, w <= 20) into 28×28 with its centre of mass at (14, 14), shifting by whole
    pixels as MNIST did, clamped so the digit stays inside."""
    h, w = patch.shape
    cy, cx = centre_of_mass(patch)
    top = int(np.clip(np.floor(CENTRE - cy + 0.5), 0, SIDE - h))
    left = int(np.clip(np.floor(CENTRE - cx + 0.5), 0, SIDE - w))
    canvas = np.zeros((SIDE, SIDE), dtype=patch.dtype)
    canvas[top : top + h, left : left + w] = patch
    return canvas


def to_mnist(image: np.ndarray, *, invert: bool | None = None) -> np.ndarray:
    """Any (H, W) grayscale image -> (28, 28) uint8, 0 background, 255 strongest ink.

    ``invert``: ``True`` for dark ink on a light background, ``False`` for light on dark, ``None``
    to detect it from the border. Raises :class:`EmptyDrawingError` ("Nothing was drawn") when
    the image has no ink.
    """
    patch = _fit_box(ink_map(image, invert=invert))
    # MNIST digits peak at 254-255 (every bundled digit); thin strokes averaged down would not.
    patch *= 255.0 / patch.max()
    # Round before placing, so the centre of mass used for the shift is the one of the result.
    return _place(np.rint(patch).astype(np.uint8))


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of a 2-D image, in 0-based pixel coordinates."""
    weights = np.asarray(digit, dtype=np.float64)
    total = weights.sum()
    if total <= 0:
        raise EmptyDrawingError()
    rows = np.arange(weights.shape[0])
    cols = np.arange(weights.shape[1])
    return (
        float(weights.sum(axis=1) @ rows / total),
        float(weights.sum(axis=0) @ cols / total),
    )
