"""The drawing canvas: a square grayscale image the user paints a digit on with mouse, pen or file.

The ink lives in a fixed-size ``Format_Grayscale8`` QImage (0 = background, 255 = ink, like MNIST),
so the brush width means the same thing however large the panel is; the widget only scales it for
display. Every change is emitted as ``drawing_changed(np.ndarray)``: an (H, W) uint8 copy, throttled
while a stroke is in progress (the first move emits at once, later ones at most every
``THROTTLE_MS``, and the last state always arrives).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPointingDevice,
    QPolygonF,
    QTabletEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.drawing.image_io import ImageLoadError, gray_to_qimage, load_gray, qimage_to_gray

#: Side of the ink image in pixels: 10× MNIST, so the 28×28 downscale averages 10×10 blocks.
CANVAS_SIZE = 280
#: Default brush diameter in canvas pixels. Calibrated so a digit drawn over about three quarters of
#: the canvas height carries the ink of an MNIST digit of its class after preprocessing (a 0 ~130,
#: a 7 ~90, a 1 ~60 full-pixel equivalents; MNIST averages 138, 90, 60; all digits ~100).
DEFAULT_BRUSH = 30
MIN_BRUSH, MAX_BRUSH = 4, 60
#: Minimum time between two drawing_changed emissions during a stroke (~60 Hz).
THROTTLE_MS = 16
#: How many earlier states Ctrl+Z can return to (each is one 78 KB image).
UNDO_DEPTH = 64
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def image_file_to_ink(path: str | Path, size: int = CANVAS_SIZE) -> np.ndarray:
    """Read a PNG/JPEG/... as canvas ink: (size, size) uint8, light ink on black, aspect kept.

    Transparent pixels count as paper (see :func:`image_io.qimage_to_gray`). Dark-on-light
    pictures (the usual scan or photo) are inverted, judged by the border, which is nearly always
    background. Raises :class:`image_io.ImageLoadError` for a missing or unreadable file.
    """
    return gray_to_ink(load_gray(path), size)


def gray_to_ink(gray: np.ndarray, size: int = CANVAS_SIZE) -> np.ndarray:
    """Any (h, w) uint8 grayscale picture -> canvas ink (see :func:`image_file_to_ink`)."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:
        gray = 255 - gray
    return fit_to_square(gray, size)


def fit_to_square(gray: np.ndarray, size: int = CANVAS_SIZE) -> np.ndarray:
    """Scale an (h, w) uint8 image to fit (size, size), aspect kept, centred on black."""
    if gray.shape == (size, size):
        return np.array(gray, dtype=np.uint8, copy=True)
    scaled = gray_to_qimage(gray).scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    canvas = QImage(size, size, QImage.Format.Format_Grayscale8)
    canvas.fill(0)
    painter = QPainter(canvas)
    painter.drawImage((size - scaled.width()) // 2, (size - scaled.height()) // 2, scaled)
    painter.end()
    return qimage_to_gray(canvas)


@dataclass
class _Stroke:
    """One press-drag-release: points in canvas pixels and a brush width per point."""

    erase: bool
    points: list[QPointF] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)


class DigitCanvas(QWidget):
    """A square, scalable ink canvas (see module docstring).

    Left button (or pen) paints, right button (or the eraser toggle, or a pen's eraser end) erases.
    Esc/Delete clears, Ctrl+Z undoes the last stroke, clear or load. Image files dropped on it or
    passed to :meth:`load_image` replace the drawing.
    """

    drawing_changed = Signal(object)  # np.ndarray (H, W) uint8, 0 = background, 255 = ink
    load_failed = Signal(str)  # a message for the user: the dropped/opened file could not be read

    def __init__(self, parent: QWidget | None = None, size: int = CANVAS_SIZE) -> None:
        super().__init__(parent)
        self._size = size
        self._image = QImage(size, size, QImage.Format.Format_Grayscale8)
        self._image.fill(0)
        self._base = self._image  # the image before the current stroke
        self._undo: list[QImage] = []
        self._stroke: _Stroke | None = None
        self._brush = float(DEFAULT_BRUSH)
        self._eraser = False
        self._last_emit = -1.0
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.timeout.connect(self._emit_now)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip(
            "Draw a digit. Right button or the eraser toggle erases; Esc/Delete clears; "
            "Ctrl+Z undoes the last stroke. Drop an image file here to classify it."
        )

    # ------------------------------------------------------------------ public API
    def sizeHint(self) -> QSize:
        return self._image.size()

    def image(self) -> np.ndarray:
        """The current drawing: (H, W) uint8 copy, 0 = background, 255 = ink."""
        return qimage_to_gray(self._image)

    def is_empty(self) -> bool:
        return not self.image().any()

    def brush_width(self) -> float:
        return self._brush

    def set_brush_width(self, width: float) -> None:
        """Brush diameter in canvas pixels (independent of how large the widget is on screen)."""
        self._brush = float(min(max(width, MIN_BRUSH), MAX_BRUSH))

    def eraser(self) -> bool:
        return self._eraser

    def set_eraser(self, on: bool) -> None:
        """When on, the left button and the pen erase instead of painting."""
        self._eraser = bool(on)

    def can_undo(self) -> bool:
        return bool(self._undo)

    def clear(self) -> None:
        """Erase everything (undoable); a stroke in progress is dropped."""
        self._cancel_stroke()
        if self.is_empty():
            return
        self._push_undo()
        self._image = QImage(self._size, self._size, QImage.Format.Format_Grayscale8)
        self._image.fill(0)
        self._changed()

    def undo(self) -> None:
        """Return to the state before the last stroke, clear or load."""
        if self._stroke is not None or not self._undo:
            return
        self._image = self._undo.pop()
        self._changed()

    def set_image(self, ink: np.ndarray) -> None:
        """Replace the drawing with (h, w) uint8 ink (255 = ink), scaled to fit; undoable."""
        ink = np.asarray(ink)
        if ink.ndim != 2 or ink.dtype != np.uint8:
            raise ValueError(f"ink must be a 2-D uint8 array, got {ink.dtype} {ink.shape}")
        ink = fit_to_square(ink, self._size)
        self._cancel_stroke()
        self._push_undo()
        self._image = gray_to_qimage(ink)
        self._changed()

    def load_image(self, path: str | Path) -> bool:
        """Replace the drawing with an image file; on failure emit ``load_failed`` and keep it."""
        try:
            ink = image_file_to_ink(path, self._size)
        except ImageLoadError as exc:
            self.load_failed.emit(str(exc))
            return False
        self.set_image(ink)
        return True

    # ------------------------------------------------------------------ strokes
    def _to_canvas(self, pos: QPointF) -> QPointF:
        square = self._square()
        scale = self._size / square.width()
        return QPointF((pos.x() - square.x()) * scale, (pos.y() - square.y()) * scale)

    def _begin(self, pos: QPointF, width: float, erase: bool) -> None:
        self._base = self._image.copy()
        self._stroke = _Stroke(erase=erase or self._eraser)
        self._extend(pos, width)

    def _extend(self, pos: QPointF, width: float) -> None:
        stroke = self._stroke
        if stroke is None:
            return
        stroke.points.append(self._to_canvas(pos))
        stroke.widths.append(width)
        self._render_stroke()
        self.update()
        self._emit_throttled()

    def _end(self) -> None:
        if self._stroke is not None:
            self._cancel_stroke()
            self._emit_now()  # the final state, whatever the throttle says

    def _cancel_stroke(self) -> None:
        """Finish the stroke in progress (its ink stays); moves until release are ignored."""
        if self._stroke is not None:
            self._stroke = None
            # The stroke is one undo step: remember the image from before it.
            self._undo.append(self._base)
            del self._undo[:-UNDO_DEPTH]

    def _render_stroke(self) -> None:
        """Redraw the whole stroke over the pre-stroke image (a few hundred µs at 280×280)."""
        stroke = self._stroke
        assert stroke is not None
        image = self._base.copy()
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(0, 0, 0) if stroke.erase else QColor(255, 255, 255)
        points, widths = stroke.points, stroke.widths
        if len(points) == 1:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            radius = widths[0] / 2
            painter.drawEllipse(points[0], radius, radius)
        elif min(widths) == max(widths):
            # One polyline is stroked as one outline: joins get no doubled soft edges.
            painter.setPen(_pen(colour, widths[0]))
            painter.drawPolyline(QPolygonF(points))
        else:
            # Pen pressure: each segment gets the mean width of its two ends.
            for i in range(1, len(points)):
                painter.setPen(_pen(colour, (widths[i - 1] + widths[i]) / 2))
                painter.drawLine(points[i - 1], points[i])
        painter.end()
        self._image = image

    def _push_undo(self) -> None:
        self._undo.append(self._image.copy())
        del self._undo[:-UNDO_DEPTH]

    def _changed(self) -> None:
        self.update()
        self._emit_now()

    def _emit_throttled(self) -> None:
        elapsed_ms = (time.perf_counter() - self._last_emit) * 1000
        if elapsed_ms >= THROTTLE_MS:
            self._emit_now()
        elif not self._pending.isActive():
            self._pending.start(max(1, int(THROTTLE_MS - elapsed_ms)))

    def _emit_now(self) -> None:
        self._pending.stop()
        self._last_emit = time.perf_counter()
        self.drawing_changed.emit(self.image())

    # ------------------------------------------------------------------ Qt events
    def _square(self) -> QRectF:
        side = max(1, min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        square = self._square()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(square, self._image)
        painter.setPen(QPen(QColor(90, 110, 140), 1))
        painter.drawRect(square.adjusted(0, 0, -1, -1))
        if self.is_empty():
            painter.setPen(QColor(150, 160, 175))
            painter.drawText(square, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return super().mousePressEvent(event)
        if self._stroke is None:
            self._begin(event.position(), self._brush, erase=button == Qt.MouseButton.RightButton)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._stroke is not None:
            self._extend(event.position(), self._brush)
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._stroke is not None:
            self._end()
            event.accept()

    def tabletEvent(self, event: QTabletEvent) -> None:
        # Accepting stops Qt from synthesising mouse events for the same pen motion.
        event.accept()
        # Light touches give a thin line, full pressure 1.5× the brush; never vanish entirely.
        width = self._brush * (0.25 + 1.25 * min(max(event.pressure(), 0.0), 1.0))
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress and self._stroke is None:
            pen_eraser = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._begin(event.position(), width, erase=pen_eraser)
        elif kind == QTabletEvent.Type.TabletMove and self._stroke is not None:
            self._extend(event.position(), width)
        elif kind == QTabletEvent.Type.TabletRelease:
            self._end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        elif event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_file(event) is not None or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = _dropped_file(event)
        if path is not None:
            self.load_image(path)
        elif event.mimeData().hasImage():
            image = QImage(event.mimeData().imageData())
            self.set_image(gray_to_ink(qimage_to_gray(image), self._size))
        event.acceptProposedAction()


def _pen(colour: QColor, width: float) -> QPen:
    return QPen(
        colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    )


def _dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
    """The first local image file among the dragged URLs, if any."""
    for url in event.mimeData().urls():
        if url.isLocalFile() and url.toLocalFile().lower().endswith(IMAGE_SUFFIXES):
            return url.toLocalFile()
    return None
