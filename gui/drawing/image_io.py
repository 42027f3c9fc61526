"""QImage <-> NumPy for grayscale pictures: loading PNG/JPEG files and reading canvas pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage, QPainter


class ImageLoadError(ValueError):
    """An image file that could not be read; the message names it."""


def qimage_to_gray(image: QImage) -> np.ndarray:
    """A copy of ``image`` as uint8 (H, W) grayscale (alpha composited onto white).

    Rows of a QImage are padded to 4 bytes, so the buffer is read with ``bytesPerLine()`` as stride.
    """
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_ARGB32)
        flat.fill(0xFFFFFFFF)
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    height, width, stride = gray.height(), gray.width(), gray.bytesPerLine()
    buffer = np.frombuffer(gray.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, :width].copy()


def gray_to_qimage(array: np.ndarray) -> QImage:
    """uint8 (H, W) -> an independent Format_Grayscale8 QImage."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    height, width = array.shape
    image = QImage(array.data, width, height, width, QImage.Format.Format_Grayscale8)
    return image.copy()  # detach from the NumPy buffer


def load_gray(path: str | Path) -> np.ndarray:
    """Read a PNG/JPEG/BMP file as uint8 (H, W) grayscale; ImageLoadError when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ImageLoadError(f"{path}: no such file")
    image = QImage(str(path))
    if image.isNull():
        raise ImageLoadError(f"{path.name}: not an image this app can read (PNG, JPEG or BMP)")
    return qimage_to_gray(image)
