"""The block cards of the network diagram: one QGraphicsObject per block, draggable to reorder.

A card shows type, units, activation, initialiser and parameter count; a red outline plus the
validation message under it when the block is invalid. Geometry constants shared with the live
layer (neurons and connections under the cards) live here too.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

COL_W = 170.0  # horizontal pitch of one column of neurons
CARD_GAP = 20.0  # space between two cards
CARD_H = 100.0
LANE_TOP = 190.0  # top of the neuron area under the cards
NEURON_PITCH = 14.0
MAX_NEURONS = 32  # layers up to this width are drawn neuron by neuron
LANE_H = NEURON_PITCH * MAX_NEURONS
LANE_MID = LANE_TOP + LANE_H / 2

FILL = {
    "input": "#eef1f5",
    "dense": "#dcecf9",
    "activation": "#fdf3d0",
    "dropout": "#ececec",
    "batchnorm": "#dff3e3",
    "residual": "#ebe2f7",
    "output": "#e4e9f2",
    "loss": "#f7e3e3",
}
ERROR_RED = QColor("#d62728")
SELECTED_BLUE = QColor("#1f5fbf")
DRAG_THRESHOLD = 8.0  # scene px a card must travel before a release counts as a move


class BlockItem(QGraphicsObject):
    """A card: title, detail lines, parameter count, engine name; ``index`` < 0 for fixed cards."""

    drag_moved = Signal(int, float)  # index, scene x of the card's centre
    drag_finished = Signal(int, float)

    def __init__(
        self,
        index: int,
        kind: str,
        name: str,
        title: str,
        lines: list[str],
        footer: str,
        width: float,
        tooltip: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__()
        self.index = index
        self.kind = kind
        self.name = name
        self.title = title
        self.lines = lines
        self.footer = footer
        self.width = width
        self.errors: list[str] = []
        self._tooltip = tooltip
        self._home = QPointF()
        self._error_text: QGraphicsTextItem | None = None
        self.setAcceptHoverEvents(True)
        # Text is the expensive part to draw and never changes per frame: cache it as a pixmap.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if index >= 0:
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable)
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        if index >= 0 or kind == "output":
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)

    # ------------------------------------------------------------------ state
    def place(self, x: float) -> None:
        self._home = QPointF(x, 0.0)
        self.setPos(self._home)

    def set_errors(self, errors: list[str]) -> None:
        self.errors = list(errors)
        if self._error_text is None and errors:
            self._error_text = QGraphicsTextItem(self)
            self._error_text.setDefaultTextColor(ERROR_RED)
            self._error_text.setTextWidth(self.width)
            self._error_text.setPos(0.0, CARD_H + 4.0)
            self._error_text.setZValue(10.0)
        if self._error_text is not None:
            self._error_text.setPlainText("\n".join(errors))
            self._error_text.setVisible(bool(errors))
        self.update()

    def error_text(self) -> str:
        """The message shown under the card ("" when the block is valid)."""
        if self._error_text is None or not self._error_text.isVisible():
            return ""
        return self._error_text.toPlainText()

    def centre_x(self) -> float:
        return self.pos().x() + self.width / 2

    # ------------------------------------------------------------------ painting
    def boundingRect(self) -> QRectF:
        return QRectF(-3.0, -3.0, self.width + 6.0, CARD_H + 6.0)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        rect = QRectF(0.0, 0.0, self.width, CARD_H)
        if self.errors:
            pen = QPen(ERROR_RED, 3.0)
        elif self.isSelected():
            pen = QPen(SELECTED_BLUE, 2.5)
        else:
            pen = QPen(QColor("#8a8f98"), 1.0)
        if self.errors and self.isSelected():
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        painter.setBrush(QBrush(QColor(FILL.get(self.kind, "#ffffff"))))
        painter.drawRoundedRect(rect, 8.0, 8.0)
        painter.setPen(QColor("#1b1f24"))
        font = QFont(painter.font())
        font.setPointSizeF(9.5)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(8, 5, self.width - 16, 18), Qt.AlignmentFlag.AlignLeft, self.title)
        font.setBold(False)
        font.setPointSizeF(8.0)
        painter.setFont(font)
        y = 24.0
        for line in self.lines[:4]:
            painter.drawText(QRectF(8, y, self.width - 16, 15), Qt.AlignmentFlag.AlignLeft, line)
            y += 14.0
        painter.setPen(QColor("#555b64"))
        painter.drawText(QRectF(8, CARD_H - 19, self.width - 16, 15), self.footer)
        font.setPointSizeF(7.0)
        painter.setFont(font)
        painter.drawText(QRectF(8, 7, self.width - 14, 14), Qt.AlignmentFlag.AlignRight, self.name)

    # ------------------------------------------------------------------ dragging
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and isinstance(
            value, QPointF
        ):
            # Reordering is along the chain only: keep the card on its row.
            return QPointF(value.x(), self._home.y())
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self.drag_moved.emit(self.index, self.centre_x())
        return super().itemChange(change, value)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if self.index < 0:
            return
        travelled = abs(self.pos().x() - self._home.x())
        centre = self.centre_x()
        self.setPos(self._home)  # the diagram re-lays out if the order changed
        if travelled >= DRAG_THRESHOLD:
            self.drag_finished.emit(self.index, centre)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.refresh_tooltip()
        super().hoverEnterEvent(event)

    def refresh_tooltip(self) -> None:
        if self._tooltip is not None:
            self.setToolTip(self._tooltip(self.name))
