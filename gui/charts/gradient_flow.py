"""Live gradient-flow chart: per layer, input side to output side, how much gradient arrives.

Three stacked panels share the layer axis (``Diagnostics.layer_names``): mean and max |gradient|
as bars on a log scale, the weight norm (log scale), and log10 of the update-to-weight ratio with
the healthy reference at -3. Bars are drawn from a floor up to log10(value) because pyqtgraph's
BarGraphItem has no log mode; the axes label the decades. Only the latest diagnostics are drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.diagnostics.alerts import diagnostic_rows
from engine.files.spec import NetworkSpec
from engine.snapshot import Diagnostics, StepSnapshot

UPDATE_RATIO_REFERENCE = -3.0  # log10(‖Δw‖/‖w‖) ≈ -3: Karpathy's rule of thumb for a healthy step
MEAN_BRUSH = pg.mkBrush("#4393c3")
MAX_BRUSH = pg.mkBrush(146, 197, 222, 170)
WEIGHT_BRUSH = pg.mkBrush("#a6a6a6")
BAD_BRUSH = pg.mkBrush("#ff3b30")  # a NaN/inf value: drawn to the top in red


class _LogBars:
    """A BarGraphItem showing positive values on a log10 axis, from a floor that only moves down."""

    def __init__(self, plot: pg.PlotItem, brush, offset: float, width: float, name: str) -> None:
        self.item = pg.BarGraphItem(x=[], height=[], width=width, brush=brush, name=name)
        self.brush, self.offset = brush, offset
        plot.addItem(self.item)
        self.floor = 0.0

    def set_values(self, values: np.ndarray, floor: float, top: float) -> None:
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(np.asarray(values, float))
        bad = np.isnan(logs) | np.isposinf(logs)
        tops = np.where(bad, top, np.clip(logs, floor, None))
        brushes = [BAD_BRUSH if b else self.brush for b in bad]
        x = np.arange(len(values)) + self.offset
        self.item.setOpts(x=x, y0=floor, height=tops - floor, brushes=brushes)


class GradientFlow(QWidget):
    """Per-layer mean/max |gradient|, weight norm and update ratio for the latest step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")  # the same light look as the loss plots
        self.grad_plot = self.graphics.addPlot(
            row=0,
            col=0,
            title="|gradient| per layer: <span style='color:#4393c3'>■ mean</span> "
            "<span style='color:#92c5de'>■ max</span>",
        )
        self.weight_plot = self.graphics.addPlot(row=1, col=0, title="weight norm ‖W‖")
        self.ratio_plot = self.graphics.addPlot(
            row=2, col=0, title="update size: log10(‖Δw‖ / ‖w‖) of the last step"
        )
        self.readout = QLabel("Hover a layer to read its numbers.")
        self.readout.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)

        self.max_bars = _LogBars(self.grad_plot, MAX_BRUSH, 0.18, 0.36, "max |g|")
        self.mean_bars = _LogBars(self.grad_plot, MEAN_BRUSH, -0.18, 0.36, "mean |g|")
        self.weight_bars = _LogBars(self.weight_plot, WEIGHT_BRUSH, 0.0, 0.6, "‖W‖")
        for plot, label in ((self.grad_plot, "|g|"), (self.weight_plot, "‖W‖")):
            plot.getAxis("left").setLogMode(False, True)  # data are log10 already: label decades
            plot.setLabel("left", label + " (log scale)")
        self.healthy_band = pg.LinearRegionItem(
            (-4.0, -2.0), orientation="horizontal", movable=False, brush=pg.mkBrush(60, 160, 60, 45)
        )
        self.ratio_plot.addItem(self.healthy_band)
        self.reference = pg.InfiniteLine(
            UPDATE_RATIO_REFERENCE,
            angle=0,
            pen=pg.mkPen("#5fd35f", width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine),
            label="healthy ≈ 1e-3",
            labelOpts={"position": 0.02, "color": "#5fd35f", "anchors": [(0, 1), (0, 1)]},
        )
        self.ratio_plot.addItem(self.reference)
        self.ratio_curve = self.ratio_plot.plot(
            [], [], pen=pg.mkPen("#f4a582", width=2), symbol="o", symbolSize=7,
            symbolBrush="#f4a582", name="update ratio",
        )  # fmt: skip
        self.ratio_plot.setLabel("left", "log10 ratio")
        self.ratio_plot.setLabel("bottom", "layer (input side → output side)")
        for plot in (self.grad_plot, self.weight_plot, self.ratio_plot):
            plot.disableAutoRange()  # ranges are set per frame; auto-range would paint twice
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.showGrid(y=True, alpha=0.25)
            plot.getAxis("left").setWidth(62)  # aligned panels, room for "10^-12"
            plot.getAxis("left").enableAutoSIPrefix(False)  # "(x1e+27)" would hide the decades
            if plot is not self.ratio_plot:
                plot.setXLink(self.ratio_plot)
                plot.getAxis("bottom").setStyle(showValues=False)

        self._names: tuple[str, ...] = ()
        self._diag: Diagnostics | None = None
        self._floors = {"grad": -6.0, "weight": -1.0}
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # ------------------------------------------------------------------ public API
    def reset(self, spec: NetworkSpec) -> None:
        self._diag = None
        self._floors = {"grad": -6.0, "weight": -1.0}
        self._set_names(diagnostic_rows(spec))
        for bars in (self.mean_bars, self.max_bars, self.weight_bars):
            bars.item.setOpts(x=[], height=[], brushes=None)
        self.ratio_curve.setData([], [])
        self.readout.setText("Hover a layer to read its numbers.")

    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        diag = snapshot.diagnostics
        if diag is None:
            return
        self._diag = diag
        if diag.layer_names != self._names:
            self._set_names(diag.layer_names)
        grad_floor, grad_top = self._range("grad", diag.grad_mean_abs, diag.grad_max_abs)
        self.mean_bars.set_values(diag.grad_mean_abs, grad_floor, grad_top)
        self.max_bars.set_values(diag.grad_max_abs, grad_floor, grad_top)
        self.grad_plot.setYRange(grad_floor, grad_top, padding=0.02)
        weight_floor, weight_top = self._range("weight", diag.weight_norm)
        self.weight_bars.set_values(diag.weight_norm, weight_floor, weight_top)
        self.weight_plot.setYRange(weight_floor, weight_top, padding=0.02)
        ratio = np.asarray(diag.update_ratio_log10, float)
        finite = np.isfinite(ratio)
        # NaN (no update measured, e.g. a dead layer) breaks the line instead of faking a value.
        self.ratio_curve.setData(np.arange(len(ratio)), ratio, connect="finite")
        low = min(-5.0, math.floor(ratio[finite].min()) if finite.any() else -5.0)
        high = max(-1.0, math.ceil(ratio[finite].max()) if finite.any() else -1.0)
        self.ratio_plot.setYRange(low, high, padding=0.05)
        # Apply the ranges now: ViewBox would do it while painting, then paint a second time.
        for plot in (self.grad_plot, self.weight_plot, self.ratio_plot):
            plot.vb.updateMatrix()

    def layer_summary(self, index: int) -> str:
        """The numbers of layer ``index`` in words (what hovering it shows)."""
        diag = self._diag
        if diag is None or not 0 <= index < len(diag.layer_names):
            return ""
        ratio = float(diag.update_ratio_log10[index])
        ratio_text = f"10^{ratio:.1f}" if math.isfinite(ratio) else "not measured"
        return (
            f"{diag.layer_names[index]} ({diag.activations[index] or 'no activation'}): "
            f"mean |g| {diag.grad_mean_abs[index]:.2e}, max |g| {diag.grad_max_abs[index]:.2e}, "
            f"‖g‖ {diag.grad_norm[index]:.2e}, ‖W‖ {diag.weight_norm[index]:.3g}, "
            f"update/weight {ratio_text}"
        )

    # ------------------------------------------------------------------ internals
    def _range(self, key: str, *arrays: np.ndarray) -> tuple[float, float]:
        """(floor, top) in log10 units: the floor follows the smallest value down, never up,
        so bars do not jump from frame to frame; the top fits the largest finite value."""
        values = np.concatenate([np.asarray(a, float) for a in arrays])
        positive = values[np.isfinite(values) & (values > 0)]
        if len(positive) == 0:
            return self._floors[key], self._floors[key] + 6.0
        logs = np.log10(positive)
        self._floors[key] = min(self._floors[key], math.floor(logs.min()) - 1.0)
        return self._floors[key], max(self._floors[key] + 2.0, math.ceil(logs.max()) + 0.5)

    def _set_names(self, names: tuple[str, ...]) -> None:
        self._names = tuple(names)
        stride = max(1, math.ceil(len(names) / 12))  # labels must not overlap
        major = [(i, name) for i, name in enumerate(names) if i % stride == 0]
        minor = [(i, "") for i in range(len(names)) if i % stride]
        for plot in (self.grad_plot, self.weight_plot, self.ratio_plot):
            plot.getAxis("bottom").setTicks([major, minor])
        self.ratio_plot.setXRange(-0.6, max(len(names), 1) - 0.4, padding=0.0)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        for plot in (self.grad_plot, self.weight_plot, self.ratio_plot):
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                index = round(plot.vb.mapSceneToView(scene_pos).x())
                text = self.layer_summary(index)
                if text:
                    self.readout.setText(text)
                return
