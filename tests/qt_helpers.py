"""Helpers for driving widgets the way a user does (shared by the GUI tests)."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

LEFT = Qt.MouseButton.LeftButton


def handle_centre(slider) -> QPoint:
    """Where a QSlider's handle is drawn, in the slider's coordinates."""
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    rect = slider.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider
    )
    return rect.center()


def drag(qtbot, slider, xs: list[int], pause_ms: int = 0) -> None:
    """Press on the handle, move through the x positions, release at the last one."""
    start = handle_centre(slider)
    qtbot.mousePress(slider, LEFT, pos=start)
    for x in xs:
        qtbot.mouseMove(slider, QPoint(x, start.y()))
        if pause_ms:
            qtbot.wait(pause_ms)
    qtbot.mouseRelease(slider, LEFT, pos=QPoint(xs[-1], start.y()))
