"""The network drawn as a chain of cards over live neuron columns: a zoomable QGraphicsView.

Input(784) → blocks → output(10) → loss. Under every card a column shows the block's output
units: neurons for small layers (with weight connections), a band for big ones, each coloured by
the live gradient norm. The scene is rebuilt only when the architecture changes; ``set_snapshot``
just re-colours existing items. Cards are dragged to reorder, palette entries dropped to insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QPainter,
    QPainterPath,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsView, QWidget

from engine.files.spec import INPUT_FEATURES, NUM_CLASSES
from engine.layers.cost import block_cost
from engine.snapshot import Diagnostics, StepSnapshot
from gui.builder.diagram_live import (
    MAX_NEURONS,
    ConnectionItem,
    LaneItem,
    diagnostic_lines,
    grad_norms_by_name,
    skip_arc,
)
from gui.builder.items import CARD_GAP, CARD_H, COL_W, LANE_H, LANE_TOP, BlockItem
from gui.builder.model import OUTPUT, Arch, describe

MIME_BLOCK = "application/x-backprop-block"
MIN_SCALE, MAX_SCALE = 0.03, 4.0
LOSS_NAMES = {"cross_entropy": "cross-entropy", "mse": "mean squared error"}


@dataclass
class Column:
    """One column of units under a card and where its live data comes from."""

    lane: LaneItem
    name: str  # weight key prefix: "dense2", "residual3.dense1", "output"
    diag: str  # diagnostics row ("residual3" for its inner columns), "" for no parameters
    kind: str


class NetworkDiagram(QGraphicsView):
    selection_changed = Signal(object)  # block index, OUTPUT, or None
    block_moved = Signal(int, int)  # from index, to index
    block_dropped = Signal(str, int)  # palette kind, insertion index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)  # drag empty space to pan
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setBackgroundBrush(QColor("#fbfbfc"))
        self.setAcceptDrops(True)
        self.scene().selectionChanged.connect(self._on_selection)
        self.arch: Arch | None = None
        self.cards: list[BlockItem] = []
        self.fixed_cards: dict[str, BlockItem] = {}
        self.columns: list[Column] = []
        self.connections: list[tuple[ConnectionItem, Column]] = []
        self._marker: QGraphicsPathItem | None = None
        self._rebuilding = False
        self.auto_fit = True  # follow the widget's size until the user zooms
        self._diagnostics: Diagnostics | None = None
        self._step = 0
        self._static_tips: dict[str, str] = {}
        self.live = False  # whether the drawing currently shows a snapshot's values

    # ------------------------------------------------------------------ building
    def set_arch(self, arch: Arch, errors: dict[int, list[str]], selection: int | None) -> None:
        """Rebuild the scene for ``arch`` (an edit, not a frame) and outline ``errors``."""
        self._rebuilding = True
        scene = self.scene()
        scene.clear()
        self._marker = None  # deleted with the scene's other items
        self.arch = arch
        self.cards, self.columns, self.connections, self.fixed_cards = [], [], [], {}
        self._static_tips = {}
        self.live = False
        x = 0.0
        x = self._add_fixed(
            "input", f"Input {INPUT_FEATURES}", ["28×28 pixels", "values in [0, 1]"], "", x
        )
        self.columns.append(
            Column(self._lane(x - COL_W / 2 - CARD_GAP / 2, INPUT_FEATURES), "input", "", "input")
        )
        width = INPUT_FEATURES
        names = [f"{layer.type}{i}" for i, layer in enumerate(arch.layers, 1)]
        for index, (layer, name) in enumerate(zip(arch.layers, names, strict=True)):
            params, macs, out = block_cost(layer, width)
            title, lines = describe(layer)
            n_cols = max(1, len(layer.layers)) if layer.type == "residual" else 1
            card = BlockItem(
                index,
                layer.type,
                name,
                title,
                lines,
                f"{params:,} params",
                n_cols * COL_W - CARD_GAP,
                self._tooltip,
            )
            card.place(x)
            card.set_errors(errors.get(index, []))
            card.drag_moved.connect(self._on_drag_moved)
            card.drag_finished.connect(self._on_drag_finished)
            scene.addItem(card)
            self.cards.append(card)
            self._static_tips[name] = f"{params:,} parameters · {macs:,} multiply-adds per sample"
            self._add_columns(layer, name, width, x)
            x += n_cols * COL_W
            width = out
        out_params = width * NUM_CLASSES + NUM_CLASSES
        self._static_tips["output"] = f"{out_params:,} parameters"
        output = arch.output
        x = self._add_fixed(
            "output",
            f"Output {NUM_CLASSES}",
            [output.activation, f"init {output.init} ×{output.init_scale:g}"],
            f"{out_params:,} params",
            x,
            errors.get(OUTPUT, []),
        )
        self.columns.append(
            Column(
                self._lane(x - COL_W / 2 - CARD_GAP / 2, NUM_CLASSES), "output", "output", "output"
            )
        )
        self._add_fixed("loss", "Loss", [LOSS_NAMES.get(arch.loss, arch.loss)], "", x)
        self._connect_columns()
        self._add_arrows()
        bounds = scene.itemsBoundingRect().adjusted(-40, -40, 40, 40)
        scene.setSceneRect(bounds.united(QRectF(-40, -40, 10, LANE_TOP + LANE_H + 80)))
        if self.auto_fit:
            self.fit_height(home=False)
        self.select(selection)
        self._rebuilding = False

    def _add_fixed(
        self,
        kind: str,
        title: str,
        lines: list[str],
        footer: str,
        x: float,
        errors: list[str] | None = None,
    ) -> float:
        card = BlockItem(-1, kind, kind, title, lines, footer, COL_W - CARD_GAP, self._tooltip)
        card.place(x)
        card.set_errors(errors or [])
        self.scene().addItem(card)
        self.fixed_cards[kind] = card
        return x + COL_W

    def _lane(self, x: float, units: int) -> LaneItem:
        lane = LaneItem(x, units)
        self.scene().addItem(lane)
        return lane

    def _add_columns(self, layer, name: str, width: int, x: float) -> None:
        centre = x + COL_W / 2 - CARD_GAP / 2
        if layer.type != "residual":
            out = block_cost(layer, width)[2]
            diag = name if layer.type in ("dense", "batchnorm") else ""
            self.columns.append(Column(self._lane(centre, out), name, diag, layer.type))
            return
        before = self.columns[-1].lane
        if not layer.layers:  # invalid, but keep the chain drawn
            self.columns.append(Column(self._lane(centre, width), name, name, "residual"))
        for j, sub in enumerate(layer.layers):
            width = block_cost(sub, width)[2]
            inner = f"{name}.{sub.type}{j + 1}"
            self.columns.append(
                Column(self._lane(centre + j * COL_W, width), inner, name, sub.type)
            )
        # The shortcut x jumps over F from the block's input column to where the sum is taken.
        arc = self.scene().addPath(
            skip_arc(before, self.columns[-1].lane),
            QPen(QColor("#7b52ab"), 2.0, Qt.PenStyle.DashLine),
        )
        arc.setToolTip(f"{name}: skip connection, y = x + F(x)")

    def _connect_columns(self) -> None:
        for left, right in zip(self.columns, self.columns[1:], strict=False):
            small = left.lane.neurons and right.lane.neurons
            if right.kind in ("dense", "output"):
                mode = "weights" if small else "fan"
            else:
                mode = "identity" if small and left.lane.units == right.lane.units else "fan"
            item = ConnectionItem(left.lane, right.lane, mode)
            self.scene().addItem(item)
            self.connections.append((item, right))

    def _add_arrows(self) -> None:
        cards = [
            self.fixed_cards["input"],
            *self.cards,
            self.fixed_cards["output"],
            self.fixed_cards["loss"],
        ]
        path = QPainterPath()
        for a, b in pairwise(cards):
            start, end = a.pos().x() + a.width, b.pos().x()
            y = CARD_H / 2
            path.moveTo(start + 2, y)
            path.lineTo(end - 2, y)
            path.moveTo(end - 8, y - 4)
            path.lineTo(end - 2, y)
            path.lineTo(end - 8, y + 4)
        arrows = self.scene().addPath(path, QPen(QColor("#6b717a"), 1.5))
        arrows.setZValue(-2.0)

    # ------------------------------------------------------------------ selection
    def select(self, selection: int | None) -> None:
        self.scene().clearSelection()
        card = self.card_for(selection)
        if card is not None:
            card.setSelected(True)
            self.ensureVisible(card, 20, 20)

    def card_for(self, selection: int | None) -> BlockItem | None:
        if selection == OUTPUT:
            return self.fixed_cards.get("output")
        if selection is not None and 0 <= selection < len(self.cards):
            return self.cards[selection]
        return None

    def _on_selection(self) -> None:
        if self._rebuilding:
            return
        chosen = [item for item in self.scene().selectedItems() if isinstance(item, BlockItem)]
        if not chosen:
            self.selection_changed.emit(None)
        else:
            self.selection_changed.emit(OUTPUT if chosen[0].index < 0 else chosen[0].index)

    # ------------------------------------------------------------------ reordering and dropping
    def insertion_index(self, scene_x: float, ignore: int = -1) -> int:
        """Where a block whose centre is at ``scene_x`` lands among the other cards."""
        return sum(1 for c in self.cards if c.index != ignore and c.centre_x() < scene_x)

    def _show_marker(self, index: int, ignore: int = -1) -> None:
        others = [c for c in self.cards if c.index != ignore]
        before = others[index - 1] if index > 0 else self.fixed_cards["input"]
        x = before.pos().x() + before.width + CARD_GAP / 2
        if self._marker is None:
            self._marker = self.scene().addPath(QPainterPath(), QPen(QColor("#1f5fbf"), 4.0))
            self._marker.setZValue(20.0)
        path = QPainterPath(QPointF(x, -12.0))
        path.lineTo(x, CARD_H + 12.0)
        self._marker.setPath(path)
        self._marker.setVisible(True)

    def _hide_marker(self) -> None:
        if self._marker is not None:
            self._marker.setVisible(False)

    def _on_drag_moved(self, index: int, centre: float) -> None:
        if not self._rebuilding:
            self._show_marker(self.insertion_index(centre, index), index)

    def _on_drag_finished(self, index: int, centre: float) -> None:
        self._hide_marker()
        target = self.insertion_index(centre, index)
        if target != index:
            # After the card's mouse-release handler returns: the move rebuilds the scene, and
            # deleting the item that is still handling the event would pull the rug from Qt.
            QTimer.singleShot(0, lambda: self.block_moved.emit(index, target))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(MIME_BLOCK):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(MIME_BLOCK):
            x = self.mapToScene(event.position().toPoint()).x()
            self._show_marker(self.insertion_index(x))
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event) -> None:
        self._hide_marker()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasFormat(MIME_BLOCK):
            super().dropEvent(event)
            return
        self._hide_marker()
        kind = bytes(event.mimeData().data(MIME_BLOCK).data()).decode()
        x = self.mapToScene(event.position().toPoint()).x()
        event.acceptProposedAction()
        self.block_dropped.emit(kind, self.insertion_index(x))

    # ------------------------------------------------------------------ zoom
    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)  # shift+wheel scrolls along the chain
            return
        self.zoom(1.0015 ** event.angleDelta().y())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.auto_fit and self.arch is not None:
            self.fit_height(home=False)

    def zoom(self, factor: float) -> None:
        self.auto_fit = False
        current = self.transform().m11()
        factor = min(max(current * factor, MIN_SCALE), MAX_SCALE) / current
        self.scale(factor, factor)

    def fit_all(self) -> None:
        self.auto_fit = False
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def fit_height(self, *, home: bool = True) -> None:
        """Show the chain's whole height at up to natural size (scroll along it); ``home``: from
        the input end."""
        rect = self.scene().sceneRect()
        # Fit to the height left *with* a horizontal scroll bar, shown or not: fitting to the
        # viewport's current height let the bar's appearing and vanishing resize the view, refit
        # it and toggle the bar again, forever (an event storm that froze the window).
        bar = self.horizontalScrollBar().sizeHint().height()
        height = self.height() - 2 * self.frameWidth() - bar
        scale = min(1.0, max(MIN_SCALE, (height - 4) / rect.height()))
        if abs(self.transform().m11() - scale) > 1e-6:
            self.resetTransform()
            self.scale(scale, scale)
        if home:
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())

    # ------------------------------------------------------------------ live values
    def set_snapshot(self, snapshot: StepSnapshot) -> bool:
        """Re-colour the drawing from a snapshot of the *same* architecture; False otherwise."""
        if self.arch is None or Arch.of(snapshot.spec) != self.arch:
            if self.live:
                self.clear_live()
            return False
        norms = grad_norms_by_name(snapshot)
        weights = snapshot.weights
        for column in self.columns:
            column.lane.set_grad(norms.get(column.diag) if column.diag else None)
            if column.lane.neurons and column.kind in ("dense", "output"):
                bias = weights.get(f"{column.name}.b")
                ok = bias is not None and bias.shape == (column.lane.units,)
                column.lane.set_bias(bias if ok else None)
        for item, column in self.connections:
            if item.mode == "weights":
                w = weights.get(f"{column.name}.W")
                item.set_weights(w if w is not None and w.shape == item.shape_in else None)
            item.set_grad(norms.get(column.diag) if column.diag else None)
        self._diagnostics = snapshot.diagnostics
        self._step = snapshot.step
        self.live = True
        for card in (*self.cards, *self.fixed_cards.values()):
            if card.isUnderMouse():
                card.refresh_tooltip()
        return True

    def clear_live(self) -> None:
        for column in self.columns:
            column.lane.set_grad(None)
            column.lane.set_bias(None)
        for item, _ in self.connections:
            item.set_weights(None)
            item.set_grad(None)
        self._diagnostics = None
        self.live = False

    def _tooltip(self, name: str) -> str:
        lines = [f"<b>{name}</b>"]
        if name in self._static_tips:
            lines.append(self._static_tips[name])
        if name == "input":
            lines.append(f"{INPUT_FEATURES} pixel values of a 28×28 digit")
        diag = self._diagnostics
        if not self.live or diag is None:
            lines.append("<i>train the network to see live diagnostics</i>")
        elif name not in diag.layer_names:
            lines.append("no parameters: no gradient of its own")
        else:
            lines.extend(diagnostic_lines(diag, diag.layer_names.index(name), self._step))
        return "<br>".join(lines)


__all__ = ["MAX_NEURONS", "MIME_BLOCK", "Column", "NetworkDiagram"]
