"""The three painted pieces of the prediction panel: probability bars, the 28×28 the network sees
(with a saliency overlay) and hidden-layer activation strips.

They are plain QPainter widgets rather than pyqtgraph plots: each update is one ``update()`` and a
paint of a few rectangles or one small image, cheap enough to follow the pen at 60 Hz.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.drawing.image_io import gray_to_qimage

BACKGROUND = QColor(24, 28, 36)
BAR = QColor(96, 125, 170)
TOP_BAR = QColor(255, 170, 40)
UNSURE_BAR = QColor(170, 150, 120)
TEXT = QColor(220, 225, 235)
FAINT = QColor(130, 140, 155)
#: Sequential map for non-negative activations (0 = black, the layer's maximum = yellow).
_INFERNO = pg.colormap.get("inferno").getLookupTable(nPts=256, alpha=False).astype(np.uint8)


def _rgba_image(rgba: np.ndarray) -> QImage:
    """(H, W, 4) uint8 -> an independent QImage."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    height, width = rgba.shape[:2]
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


def signed_colours(
    values: np.ndarray, scale: float, *, gamma: float = 1.0, max_alpha: float = 1.0
) -> np.ndarray:
    """(...,) floats -> (..., 4) RGBA: red for positive, blue for negative, opacity
    ``max_alpha * (|v| / scale) ** gamma`` (gamma > 1 lets weak values fade out)."""
    strength = np.clip(np.abs(values) / scale, 0.0, 1.0) if scale > 0 else np.zeros(values.shape)
    strength = max_alpha * strength**gamma
    out = np.zeros((*values.shape, 4), dtype=np.uint8)
    positive = values > 0
    out[..., 0] = np.where(positive, 255, 40)
    out[..., 1] = np.where(positive, 60, 120)
    out[..., 2] = np.where(positive, 40, 255)
    out[..., 3] = (strength * 255).astype(np.uint8)
    return out


class ProbabilityBars(QWidget):
    """Ten vertical bars, digit under each and percentage over it; the top one highlighted.

    Clicking a bar emits ``bar_clicked(digit)`` (the panel uses it to pick the saliency class).
    """

    bar_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._probs: np.ndarray | None = None
        self._top = -1
        self._unsure = False
        self._selected = -1
        self.setMinimumSize(200, 70)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip("Probability of each digit. Click a bar to see why (saliency) for it.")

    def sizeHint(self) -> QSize:
        return QSize(320, 140)

    def set_probabilities(
        self, probs: np.ndarray | None, *, unsure: bool = False, selected: int = -1
    ) -> None:
        """probs: (10,) in [0, 1], or None to show empty bars."""
        self._probs = None if probs is None else np.asarray(probs, dtype=np.float64)
        self._top = -1 if probs is None else int(np.argmax(probs))
        self._unsure = unsure
        self._selected = selected
        self.update()

    def _column(self, digit: int) -> QRectF:
        width = self.width() / 10
        return QRectF(digit * width, 0, width, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        metrics = painter.fontMetrics()
        line = metrics.height()
        top, bottom = line + 4, self.height() - line - 6
        for digit in range(10):
            column = self._column(digit)
            inner = column.adjusted(column.width() * 0.18, 0, -column.width() * 0.18, 0)
            painter.fillRect(QRectF(inner.x(), bottom, inner.width(), 1), FAINT)
            if digit == self._selected:
                painter.setPen(FAINT)
                painter.drawRect(column.adjusted(1, 1, -2, -2))
            painter.setPen(TEXT if digit == self._top else FAINT)
            label = QRectF(column.x(), bottom + 3, column.width(), line)
            painter.drawText(label, Qt.AlignmentFlag.AlignCenter, str(digit))
            if self._probs is None:
                continue
            p = float(self._probs[digit]) if np.isfinite(self._probs[digit]) else 0.0
            height = max(0.0, min(p, 1.0)) * (bottom - top)
            colour = BAR
            if digit == self._top:
                colour = UNSURE_BAR if self._unsure else TOP_BAR
            painter.fillRect(QRectF(inner.x(), bottom - height, inner.width(), height), colour)
            text = f"{100 * p:.0f}%" if p >= 0.005 else ""
            painter.drawText(
                QRectF(column.x(), bottom - height - line - 1, column.width(), line),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextDontClip,  # "100%" > narrow column
                text,
            )
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        digit = int(event.position().x() // (self.width() / 10))
        if 0 <= digit < 10:
            self.bar_clicked.emit(digit)


class SeenImage(QWidget):
    """The 28×28 input as the network gets it, pixel-exact, with an optional saliency overlay."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._overlay: QImage | None = None
        self.setMinimumSize(72, 72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(196, 196)

    def set_image(self, image28: np.ndarray | None) -> None:
        self._image = None if image28 is None else gray_to_qimage(image28)
        if image28 is None:
            self._overlay = None
        self.update()

    def set_saliency(self, saliency: np.ndarray | None) -> None:
        """(28, 28) d score / d pixel, or None for no overlay. Scaled by its own largest |value|
        (the 99th percentile, so one extreme pixel does not wash out the rest)."""
        if saliency is None or not np.isfinite(saliency).all():
            self._overlay = None
        else:
            scale = float(np.percentile(np.abs(saliency), 99))
            # Squared opacity: the few pixels that matter stand out and the digit stays visible.
            colours = signed_colours(saliency, scale, gamma=2.0, max_alpha=0.85)
            self._overlay = _rgba_image(colours)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        side = min(self.width(), self.height())
        square = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        painter.fillRect(self.rect(), self.palette().window())
        painter.fillRect(square, QColor(0, 0, 0))
        if self._image is not None:
            # No smoothing: each of the 784 inputs stays a visible square.
            painter.drawImage(square, self._image)
            if self._overlay is not None:
                painter.drawImage(square, self._overlay)
        else:
            painter.setPen(FAINT)
            painter.drawText(square, Qt.AlignmentFlag.AlignCenter, "28 × 28")
        painter.setPen(QColor(90, 110, 140))
        painter.drawRect(square.adjusted(0, 0, -1, -1))
        painter.end()


class ActivationStrips(QWidget):
    """One strip per hidden block: a cell per unit coloured by its activation for this drawing.

    Non-negative layers (ReLU, sigmoid) use a black-to-yellow map scaled to the layer's maximum;
    layers with negative outputs (tanh, linear) red for positive and blue for negative.
    """

    ROW = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str, QImage]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self._tip = (
            "Hidden-layer activations for this drawing: one cell per unit. Black = silent "
            "(a ReLU at zero), bright = strongly active; red/blue = positive/negative."
        )
        self.setToolTip(self._tip)

    def sizeHint(self) -> QSize:
        return QSize(320, max(1, len(self._rows)) * self.ROW + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, max(1, len(self._rows)) * self.ROW + 4)

    def set_activations(self, layers: list[tuple[str, np.ndarray]] | None) -> None:
        """(block name, (units,) activations) per hidden block, or None to clear."""
        rows = []
        for name, values in layers or []:
            values = np.asarray(values, dtype=np.float64)
            finite = np.isfinite(values).all()
            if finite and values.min() >= 0:
                peak = float(values.max())
                level = values / peak if peak > 0 else np.zeros_like(values)
                rgb = _INFERNO[(level * 255).astype(np.intp)]
                rgba = np.concatenate([rgb, np.full((len(values), 1), 255, np.uint8)], axis=1)
                info = f"{np.count_nonzero(values > 0)}/{len(values)} active · max {peak:.2g}"
            else:
                scale = float(np.abs(values).max()) if finite else 0.0
                rgba = signed_colours(values, scale)
                rgba[:, 3] = np.maximum(rgba[:, 3], 40)
                info = f"{len(values)} units · max |a| {scale:.2g}" if finite else "NaN/Inf"
            rows.append((name, info, _rgba_image(rgba[None])))
        changed = len(rows) != len(self._rows)
        self._rows = rows
        # The numbers stay reachable when a narrow panel has no room to print them.
        self.setToolTip(self._tip + "".join(f"\n{name}: {info}" for name, info, _ in rows))
        if changed:
            self.updateGeometry()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        small = QFont(painter.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        name_width = 70
        info_width = 135 if self.width() >= 380 else 0  # narrow: the strip matters more
        strip_width = max(20, self.width() - name_width - info_width - 8)
        if not self._rows:
            painter.setPen(FAINT)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, "Hidden layers light up here"
            )
        for i, (name, info, image) in enumerate(self._rows):
            y = 2 + i * self.ROW
            painter.setPen(TEXT)
            painter.drawText(
                QRectF(6, y, name_width - 10, self.ROW - 4), Qt.AlignmentFlag.AlignVCenter, name
            )
            strip = QRectF(name_width, y + 2, strip_width, self.ROW - 8)
            painter.fillRect(strip, QColor(0, 0, 0))
            # More units than pixels: average neighbours rather than silently dropping units.
            smooth = image.width() > strip.width()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            painter.drawImage(strip, image)
            if not info_width:
                continue
            painter.setPen(FAINT)
            painter.drawText(
                QRectF(strip.right() + 6, y, info_width, self.ROW - 4),
                Qt.AlignmentFlag.AlignVCenter,
                info,
            )
        painter.end()
