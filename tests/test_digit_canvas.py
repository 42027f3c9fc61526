"""The drawing canvas driven like a user would: real mouse, key, tablet and drop events."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QInputDevice,
    QPointingDevice,
    QTabletEvent,
)
from PySide6.QtWidgets import QApplication

from engine.data.datasets import load_bundled
from engine.data.preprocess import to_mnist
from gui.drawing.canvas import CANVAS_SIZE, THROTTLE_MS, DigitCanvas
from gui.drawing.image_io import gray_to_qimage


@pytest.fixture
def canvas(qtbot):
    widget = DigitCanvas()
    qtbot.addWidget(widget)
    widget.resize(CANVAS_SIZE, CANVAS_SIZE)  # 1:1, so widget and canvas pixels coincide
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def stroke(qtbot, widget, points, button=Qt.MouseButton.LeftButton):
    """Press at the first point, move through the rest, release at the last."""
    qtbot.mousePress(widget, button, pos=QPoint(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(widget, QPoint(*point))
    qtbot.mouseRelease(widget, button, pos=QPoint(*points[-1]))


def line(start, end, steps=30):
    return [
        (round(start[0] + (end[0] - start[0]) * t), round(start[1] + (end[1] - start[1]) * t))
        for t in np.linspace(0, 1, steps)
    ]


def ellipse(cx, cy, rx, ry, steps=60):
    angles = np.linspace(0, 2 * np.pi, steps)
    return [(round(cx + rx * np.sin(a)), round(cy - ry * np.cos(a))) for a in angles]


def recorder(widget):
    emitted: list[np.ndarray] = []
    widget.drawing_changed.connect(emitted.append)
    return emitted


def test_vertical_stroke_is_preprocessed_to_a_centred_one(qtbot, canvas):
    emitted = recorder(canvas)
    stroke(qtbot, canvas, line((140, 50), (140, 230)))
    image = emitted[-1]
    assert image.dtype == np.uint8
    assert image.shape == (CANVAS_SIZE, CANVAS_SIZE)
    np.testing.assert_array_equal(image, canvas.image())
    # Anti-aliased: the round caps have soft edges between paper and full ink.
    assert np.count_nonzero((image > 0) & (image < 255)) > 20
    digit = to_mnist(image)
    rows = np.flatnonzero(digit.max(axis=1) > 30)
    cols = np.flatnonzero(digit.max(axis=0) > 30)
    assert rows[-1] - rows[0] + 1 >= 19  # tall: the longer side scaled to 20 px
    assert cols[-1] - cols[0] + 1 <= 6  # narrow
    ys, xs = np.indices(digit.shape)
    mass = digit.astype(np.float64)
    centre = ((ys * mass).sum() / mass.sum(), (xs * mass).sum() / mass.sum())
    assert centre == pytest.approx((14.0, 14.0), abs=0.6)


def test_default_brush_gives_mnist_like_ink(qtbot, canvas):
    """A 0, a 1 and a 7 drawn over ~3/4 of the canvas height carry about the ink of MNIST digits
    of the same class (MNIST's stroke width relative to the digit's size)."""
    shapes = {
        0: ellipse(140, 140, 60, 90),
        1: line((150, 45), (130, 235)),
        7: line((80, 50), (200, 50), 15) + line((200, 50), (120, 235), 25)[1:],
    }
    mnist = load_bundled()
    for digit, points in shapes.items():
        canvas.clear()
        stroke(qtbot, canvas, points)
        ink = to_mnist(canvas.image()).sum() / 255.0
        mnist_ink = mnist.images[mnist.labels == digit].sum(axis=(1, 2)).mean() / 255.0
        assert ink == pytest.approx(mnist_ink, rel=0.2), digit


def test_emission_is_throttled_during_a_stroke_but_the_last_state_arrives(qtbot, canvas):
    emitted = recorder(canvas)
    points = line((40, 140), (240, 140), 60)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, QPoint(*point))
    during = len(emitted)
    assert 1 <= during < 30  # 60 moves in a few ms do not cause 60 predictions
    # The trailing emission fires on its own, before release, with the whole stroke so far.
    qtbot.waitUntil(lambda: len(emitted) > during, timeout=10 * THROTTLE_MS + 500)
    np.testing.assert_array_equal(emitted[-1], canvas.image())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[-1]))
    np.testing.assert_array_equal(emitted[-1], canvas.image())
    assert emitted[-1][140, 40:240].min() == 255


def test_undo_removes_the_last_stroke_and_clear_empties(qtbot, canvas):
    emitted = recorder(canvas)
    assert canvas.is_empty()
    stroke(qtbot, canvas, line((60, 60), (60, 220)))
    first = canvas.image()
    stroke(qtbot, canvas, line((200, 60), (200, 220)))
    assert canvas.image()[140, 200] == 255
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(canvas.image(), first)
    np.testing.assert_array_equal(emitted[-1], first)

    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.is_empty()
    assert not emitted[-1].any()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # clear is undoable
    np.testing.assert_array_equal(canvas.image(), first)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert canvas.is_empty()
    # Esc in the middle of a stroke drops it: the rest of the gesture draws nothing.
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(150, 100))
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    qtbot.mouseMove(canvas, QPoint(200, 200))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    assert canvas.is_empty()
    for _ in range(8):  # more undos than states: stops at the empty canvas
        canvas.undo()
    assert canvas.is_empty()
    assert not canvas.can_undo()


def test_right_button_and_eraser_toggle_erase(qtbot, canvas):
    stroke(qtbot, canvas, line((40, 140), (240, 140)))
    stroke(qtbot, canvas, line((90, 80), (90, 200)), button=Qt.MouseButton.RightButton)
    image = canvas.image()
    assert image[140, 90] == 0
    assert image[140, 200] == 255
    canvas.set_eraser(True)
    stroke(qtbot, canvas, line((200, 80), (200, 200)))
    assert canvas.image()[140, 200] == 0
    assert canvas.image()[140, 150] == 255
    canvas.set_eraser(False)
    stroke(qtbot, canvas, line((200, 80), (200, 200)))
    assert canvas.image()[140, 200] == 255


def test_canvas_scales_with_its_panel(qtbot, canvas):
    """The same gesture relative to the square gives the same ink at any panel size."""
    stroke(qtbot, canvas, ellipse(140, 140, 70, 90))
    small = canvas.image()
    canvas.clear()
    canvas.resize(700, 500)  # square of 500 px, centred: starts at x = 100
    qtbot.waitUntil(lambda: canvas.width() == 700)
    scale = 500 / CANVAS_SIZE
    stroke(qtbot, canvas, [(100 + x * scale, y * scale) for x, y in ellipse(140, 140, 70, 90)])
    large = canvas.image()
    both = np.count_nonzero((small > 127) & (large > 127))
    either = np.count_nonzero((small > 127) | (large > 127))
    assert both / either > 0.85


def tablet_stroke(widget, points, pressure):
    pen = QPointingDevice(
        "test pen",
        4242,
        QInputDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        3,
    )
    kinds = [QEvent.Type.TabletPress] + [QEvent.Type.TabletMove] * (len(points) - 2)
    kinds.append(QEvent.Type.TabletRelease)
    for kind, (x, y) in zip(kinds, points, strict=True):
        held = (
            Qt.MouseButton.NoButton
            if kind == QEvent.Type.TabletRelease
            else (Qt.MouseButton.LeftButton)
        )
        event = QTabletEvent(
            kind, pen, QPointF(x, y), QPointF(x, y), pressure, 0, 0, 0, 0, 0,
            Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, held,
        )  # fmt: skip
        QApplication.sendEvent(widget, event)
        assert event.isAccepted()


def test_pen_pressure_sets_the_stroke_width(canvas):
    tablet_stroke(canvas, line((40, 80), (240, 80)), pressure=0.1)
    tablet_stroke(canvas, line((40, 200), (240, 200)), pressure=1.0)
    image = canvas.image()
    light = np.count_nonzero(image[:140, 140] > 127)
    assert 0 < light < canvas.brush_width() * 0.6
    heavy = np.count_nonzero(image[140:, 140] > 127)
    assert heavy > canvas.brush_width() * 1.2


def write_dark_on_light_digit(path, transparent=False):
    """A bundled 7 upscaled 7× and padded to 261×197 like a scan: black ink on white paper (or
    on transparency). The odd width pads every QImage row, so a loader ignoring bytesPerLine()
    would shear the digit."""
    digit = load_bundled().images[3500]
    paper = np.full((197, 261), 255, np.uint8)
    paper[1:, 32:228] = 255 - np.kron(digit, np.ones((7, 7), np.uint8))
    big = gray_to_qimage(paper)
    if transparent:
        rgba = QImage(big.size(), QImage.Format.Format_ARGB32)
        rgba.fill(Qt.GlobalColor.transparent)
        for y in range(big.height()):
            for x in range(big.width()):
                alpha = 255 - big.pixelColor(x, y).red()
                rgba.setPixel(x, y, alpha << 24)  # black, only as opaque as the ink is dark
        big = rgba
    assert big.save(str(path))
    return digit


@pytest.mark.parametrize("transparent", [False, True])
def test_open_image_file_goes_through_the_same_pipeline(tmp_path, canvas, transparent):
    emitted = recorder(canvas)
    original = write_dark_on_light_digit(tmp_path / "seven.png", transparent)
    assert canvas.load_image(tmp_path / "seven.png")
    image = emitted[-1]
    assert image.shape == (CANVAS_SIZE, CANVAS_SIZE)
    assert image[0, 0] == 0  # paper became background: ink is light on dark like MNIST
    seen = to_mnist(image).astype(np.float64)
    assert np.corrcoef(seen.ravel(), original.ravel())[0, 1] > 0.9
    canvas.undo()  # loading is one undoable step
    assert canvas.is_empty()


def test_dropping_a_file_loads_it_and_a_bad_file_says_why(tmp_path, canvas):
    write_dark_on_light_digit(tmp_path / "seven.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    failures: list[str] = []
    canvas.load_failed.connect(failures.append)

    def drop(path):
        """A real drag: enter (which the canvas must accept), then drop."""
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.NoModifier)
        with warnings.catch_warnings():  # PySide6 flags the only constructor there is
            warnings.simplefilter("ignore", DeprecationWarning)
            enter = QDragEnterEvent(QPoint(140, 140), *args)
        QApplication.sendEvent(canvas, enter)
        if enter.isAccepted():
            QApplication.sendEvent(canvas, QDropEvent(QPointF(140, 140), *args))
        return enter.isAccepted()

    assert not drop(tmp_path / "notes.txt")  # not an image: the drag is refused
    assert canvas.is_empty()
    assert drop(tmp_path / "seven.png")
    loaded = canvas.image()
    assert loaded.sum() > 255 * 1000
    assert drop(tmp_path / "broken.png")
    assert failures
    assert "broken.png" in failures[0]
    np.testing.assert_array_equal(canvas.image(), loaded)  # a failed load keeps the drawing


def test_set_image_scales_any_size(canvas):
    digit = load_bundled().images[0]
    canvas.set_image(digit)
    image = canvas.image()
    assert image.shape == (CANVAS_SIZE, CANVAS_SIZE)
    assert np.corrcoef(to_mnist(image).ravel(), digit.ravel())[0, 1] > 0.9
    with pytest.raises(ValueError, match="uint8"):
        canvas.set_image(np.zeros((28, 28), np.float32))
