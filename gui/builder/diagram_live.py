"""Live layer of the network diagram: neurons, weight connections and gradient-norm bands.

Items are created once per architecture and only re-coloured per snapshot. Connections are drawn
as one QPainterPath per (sign, magnitude) bucket built from NumPy with ``pg.arrayToQPath``, lazily
in ``paint`` so off-screen pairs cost nothing; pens are opaque because translucent strokes made Qt
render 9 pairs of 32×32 lines ten times slower (measured: 15 ms vs 150 ms). Zoomed out (below
``LINE_LOD``) a pair is a few dozen pixels wide and its 1,024 lines an unreadable, costly smear
(~1.5 ms a pair): it is drawn as its weight matrix instead, one pixel block per weight.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.snapshot import Diagnostics, StepSnapshot
from gui.builder.items import LANE_H, LANE_MID, LANE_TOP, MAX_NEURONS, NEURON_PITCH
from gui.builder.model import param_block_names

POSITIVE = QColor("#0877bd")  # TensorFlow Playground's colours: blue > 0, orange < 0
NEGATIVE = QColor("#f59322")
#: |w| bucket edges: below 0.05 barely drawn, above 0.4 drawn thick and saturated.
WEIGHT_EDGES = np.array([0.05, 0.15, 0.4])
_STRENGTH = (0.2, 0.45, 0.75, 1.0)  # share of the full colour (rest is white) per bucket
_PEN_WIDTH = (0.0, 1.0, 2.0, 3.0)  # cosmetic pixels (0 = hairline)
GRAD_LOG_RANGE = (-6.0, 1.0)  # colour scale of gradient norms, log10
NO_DATA = QColor("#d9dce1")
NOT_FINITE = QColor("#e3001b")
NEURON_R = 4.5
LANE_HALF = 9.0
LINE_LOD = 0.45  # below this zoom, weight pairs are drawn as a matrix image instead of lines
FAINT_LOD = 1.5  # below this zoom, big meshes leave out their faintest lines


def _blend(colour: QColor, strength: float) -> QColor:
    white = 1.0 - strength
    return QColor.fromRgbF(
        colour.redF() * strength + white,
        colour.greenF() * strength + white,
        colour.blueF() * strength + white,
    )


# Bucket b = 2 * level + (1 if positive): weakest first so strong weights paint on top.
_BUCKET_PENS = []
_BUCKET_BRUSHES = []
for _level in range(4):
    for _colour in (NEGATIVE, POSITIVE):
        _pen = QPen(_blend(_colour, _STRENGTH[_level]), _PEN_WIDTH[_level])
        _pen.setCosmetic(True)
        _BUCKET_PENS.append(_pen)
        _BUCKET_BRUSHES.append(QBrush(_blend(_colour, _STRENGTH[_level])))
_BUCKET_RGB = np.array(
    [[c.red(), c.green(), c.blue()] for c in (b.color() for b in _BUCKET_BRUSHES)], dtype=np.uint8
)
_GRAD_LUT = pg.colormap.get("viridis").getLookupTable(nPts=256, alpha=False)


def weight_buckets(values: np.ndarray) -> np.ndarray:
    """Bucket index per value: 2 * magnitude level + (value > 0); same shape as ``values``."""
    level = np.searchsorted(WEIGHT_EDGES, np.abs(values))
    return 2 * level + (values > 0)


def grad_colour(norm: float | None) -> QColor:
    """Viridis on log10 of the norm over GRAD_LOG_RANGE: dark = vanishing, yellow = large."""
    if norm is None:
        return NO_DATA
    if not math.isfinite(norm):
        return NOT_FINITE
    low, high = GRAD_LOG_RANGE
    t = (math.log10(max(norm, 1e-30)) - low) / (high - low)
    r, g, b = _GRAD_LUT[round(min(max(t, 0.0), 1.0) * 255)]
    return QColor(int(r), int(g), int(b))


def neuron_ys(n: int) -> np.ndarray:
    """Vertical centres of ``n`` neurons, centred on the lane."""
    return LANE_MID + (np.arange(n) - (n - 1) / 2) * NEURON_PITCH


def lane_half_height(units: int) -> float:
    """Half height of a column: neurons for small layers, a log-scaled band for big ones."""
    if units <= MAX_NEURONS:
        return max(units, 1) * NEURON_PITCH / 2
    share = math.log(units / MAX_NEURONS) / math.log(4096 / MAX_NEURONS)
    return (LANE_H / 2) * min(1.0, 0.45 + 0.55 * share)


class LaneItem(QGraphicsItem):
    """A column's lane: behind its neurons, or the whole band of a big layer; coloured by the live
    gradient norm of its block, with neurons coloured by bias sign and size when small."""

    def __init__(self, x: float, units: int) -> None:
        super().__init__()
        self.x = x
        self.units = units
        self.half = lane_half_height(units)
        self.grad: float | None = None
        self._brush = QBrush(NO_DATA)
        self.neurons = units <= MAX_NEURONS
        ys = neuron_ys(units) if self.neurons else np.empty(0)
        self._rects = [
            QRectF(x - NEURON_R, y - NEURON_R, 2 * NEURON_R, 2 * NEURON_R) for y in ys.tolist()
        ]
        self._buckets: list[int] | None = None  # per neuron, from the bias; None = no data

    def boundingRect(self) -> QRectF:
        return QRectF(
            self.x - LANE_HALF - 1, LANE_MID - self.half - 1, 2 * LANE_HALF + 2, 2 * self.half + 18
        )

    def set_grad(self, norm: float | None) -> None:
        if norm != self.grad:
            self.grad = norm
            self._brush = QBrush(grad_colour(norm))
            self.update()

    def set_bias(self, bias: np.ndarray | None) -> None:
        buckets = None if bias is None else weight_buckets(bias).tolist()
        if buckets != self._buckets:
            self._buckets = buckets
            self.update()

    def colour(self) -> QColor:
        return self._brush.color()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        lane = QRectF(self.x - LANE_HALF, LANE_MID - self.half, 2 * LANE_HALF, 2 * self.half)
        painter.setPen(QPen(QColor("#7a808a"), 0))
        painter.setBrush(self._brush)
        painter.drawRoundedRect(lane, 6.0, 6.0)
        if self.neurons:
            if self._buckets is None:
                painter.setBrush(QBrush(QColor("#ffffff")))
                for rect in self._rects:
                    painter.drawEllipse(rect)
            else:
                for rect, bucket in zip(self._rects, self._buckets, strict=True):
                    painter.setBrush(_BUCKET_BRUSHES[bucket])
                    painter.drawEllipse(rect)
        painter.setPen(QColor("#3d434b"))
        label = QRectF(self.x - 40, LANE_MID + self.half + 2, 80, 14)
        painter.drawText(label, Qt.AlignmentFlag.AlignHCenter, f"{self.units}")


class ConnectionItem(QGraphicsItem):
    """What lies between two columns.

    ``weights``: every input-output pair of a small dense layer, coloured by the sign of W and
    thicker with |W| (lines in grey until weights arrive); ``identity``: one line per unit for
    element-wise blocks; ``fan``: a band between big columns, coloured by the gradient norm.
    """

    def __init__(self, left: LaneItem, right: LaneItem, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.x0 = left.x + LANE_HALF
        self.x1 = right.x - LANE_HALF
        self.shape_in = (left.units, right.units)
        self._ya = neuron_ys(left.units) if left.neurons else None
        self._yb = neuron_ys(right.units) if right.neurons else None
        self._half = (left.half, right.half)
        self.weights: np.ndarray | None = None
        self.buckets: np.ndarray | None = None  # weight_buckets(weights), what is drawn
        self.finite = True  # False: some weight is NaN/Inf, the whole pair is drawn red
        self.grad: float | None = None
        self._paths: list[tuple[int, QPen, QPainterPath]] | None = None
        self._image: tuple[np.ndarray, QImage] | None = None  # keeps the pixels alive
        self._static = self._static_path()
        self.setZValue(-1.0)

    def boundingRect(self) -> QRectF:
        return QRectF(self.x0 - 2, LANE_TOP - 2, self.x1 - self.x0 + 4, LANE_H + 4)

    def _static_path(self) -> QPainterPath | None:
        if self.mode == "fan":
            return None
        if self.mode == "identity":
            x = np.tile([self.x0, self.x1], len(self._ya))
            y = np.repeat(self._ya, 2)
        else:
            x, y = self._pair_xy(np.ones(self.shape_in, dtype=bool))
        return pg.arrayToQPath(x, y, connect="pairs")

    def _pair_xy(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interleaved endpoints of the (i, j) pairs selected by ``mask`` (n_in, n_out)."""
        i, j = np.nonzero(mask)
        x = np.empty(2 * len(i))
        y = np.empty(2 * len(i))
        x[0::2] = self.x0
        x[1::2] = self.x1
        y[0::2] = self._ya[i]
        y[1::2] = self._yb[j]
        return x, y

    def set_weights(self, weights: np.ndarray | None) -> None:
        """Bucket the weights; repaint only if a connection changed colour or width.

        Between two snapshots most weights stay in their bucket, so most pairs cost nothing.
        """
        if self.mode != "weights":
            return
        buckets = None if weights is None else weight_buckets(weights)
        same = (buckets is None and self.buckets is None) or (
            buckets is not None and self.buckets is not None
            and np.array_equal(buckets, self.buckets)
        )  # fmt: skip
        self.weights = weights
        if same and buckets is not None:
            # Equal buckets can hide a NaN (it buckets as a large negative weight): check it.
            same = self.finite == bool(np.isfinite(weights).all())
        if same:
            return
        self.finite = weights is None or bool(np.isfinite(weights).all())
        self.buckets = buckets
        self._paths = None
        self._image = None
        self.update()

    def set_grad(self, norm: float | None) -> None:
        if self.mode == "fan" and norm != self.grad:
            self.grad = norm
            self.update()

    def bucket_counts(self) -> np.ndarray:
        """How many connections fall in each of the 8 colour buckets (for tests and legends)."""
        if self.buckets is None:
            return np.zeros(8, dtype=int)
        return np.bincount(self.buckets.ravel(), minlength=8)

    def _bucket_paths(self) -> list[tuple[int, QPen, QPainterPath]]:
        buckets = self.buckets
        paths = []
        for b in np.unique(buckets).tolist():
            x, y = self._pair_xy(buckets == b)
            paths.append((b, _BUCKET_PENS[b], pg.arrayToQPath(x, y, connect="pairs")))
        return paths

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.mode == "fan":
            ha, hb = self._half
            polygon = QPolygonF(
                [
                    QPointF(self.x0, LANE_MID - ha),
                    QPointF(self.x1, LANE_MID - hb),
                    QPointF(self.x1, LANE_MID + hb),
                    QPointF(self.x0, LANE_MID + ha),
                ]
            )
            colour = QColor(grad_colour(self.grad))
            colour.setAlpha(90)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawPolygon(polygon)
            return
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if not self.finite:
            painter.setPen(QPen(NOT_FINITE, 0))
            painter.drawPath(self._static)
            return
        if self.mode == "weights" and self.buckets is not None:
            lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
            if lod < LINE_LOD:
                self._paint_matrix(painter)
                return
            if self._paths is None:
                self._paths = self._bucket_paths()
            # In a dense mesh the faintest lines (|w| < 0.05, 20% colour) are hidden under the
            # others anyway; unless zoomed in, skip them: ~20% less to rasterise per frame.
            faint = 2 if lod < FAINT_LOD and self.buckets.size > 256 else 0
            for bucket, pen, path in self._paths:
                if bucket >= faint:
                    painter.setPen(pen)
                    painter.drawPath(path)
            return
        pen = QPen(QColor("#c4c8ce"), 0)
        painter.setPen(pen)
        painter.drawPath(self._static)

    def _paint_matrix(self, painter: QPainter) -> None:
        """W as an image: row i = input unit i (top to bottom), column j = output unit j."""
        if self._image is None:
            rgb = np.ascontiguousarray(_BUCKET_RGB[self.buckets])
            n_in, n_out = self.shape_in
            image = QImage(rgb.data, n_out, n_in, 3 * n_out, QImage.Format.Format_RGB888)
            self._image = (rgb, image)
        top = LANE_MID - max(self._half)
        target = QRectF(self.x0 + 4, top, self.x1 - self.x0 - 8, 2 * max(self._half))
        painter.drawImage(target, self._image[1])


def skip_arc(start: LaneItem, end: LaneItem) -> QPainterPath:
    """A residual shortcut: from the top of the block's input column over F to its last column."""
    y0 = LANE_MID - start.half - 8
    y1 = LANE_MID - end.half - 8
    lift = min(y0, y1) - 36
    path = QPainterPath(QPointF(start.x, y0))
    path.cubicTo(QPointF(start.x + 30, lift), QPointF(end.x - 30, lift), QPointF(end.x, y1))
    # Arrow head into the sum.
    path.moveTo(end.x - 6, y1 - 9)
    path.lineTo(end.x, y1)
    path.lineTo(end.x + 5, y1 - 10)
    return path


def grad_norms_by_name(snapshot: StepSnapshot) -> dict[str, float]:
    """Latest gradient norm per parametrised block, from diagnostics or the last history row."""
    diag = snapshot.diagnostics
    if diag is not None:
        return dict(zip(diag.layer_names, diag.grad_norm.tolist(), strict=False))
    names = param_block_names(snapshot.spec.layers)
    norms = np.asarray(snapshot.grad_norms)
    if norms.ndim == 2 and norms.shape[0] and norms.shape[1] == len(names):
        return dict(zip(names, norms[-1].tolist(), strict=True))
    return {}


def diagnostic_lines(diag: Diagnostics, row: int, step: int) -> list[str]:
    """Human-readable live diagnostics of one block, for its tooltip."""

    def pct(value: float) -> str:
        return "n/a" if not np.isfinite(value) else f"{100 * value:.0f}%"

    act = diag.activations[row] or "none"
    return [
        f"live at step {step:,} · activation {act}",
        f"gradient norm {diag.grad_norm[row]:.3g} (mean |g| {diag.grad_mean_abs[row]:.3g}, "
        f"max {diag.grad_max_abs[row]:.3g})",
        f"weight norm {diag.weight_norm[row]:.3g} · log10 update/weight "
        f"{diag.update_ratio_log10[row]:.2f} (healthy ≈ −3)",
        f"activations mean {diag.act_mean[row]:.3g} ± {diag.act_std[row]:.3g}",
        f"dead units {pct(diag.dead_fraction[row])} · "
        f"saturated {pct(diag.saturated_fraction[row])}",
    ]
