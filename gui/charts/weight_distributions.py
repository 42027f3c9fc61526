"""Per-layer weight and gradient distributions over training time, as TensorBoard draws them.

For the chosen layer, each plot shows bands between the percentiles of ``PERCENTILES`` (min–max,
±1.5σ, ±1σ, ±0.5σ of a normal distribution), darker towards the median, against the training step.
The history is one point per snapshot carrying diagnostics, kept in preallocated arrays; when they
fill up every other point is dropped and from then on only every 2nd (4th, ...) snapshot is kept,
so the whole run stays visible with even spacing. The latest snapshot is always drawn, at most
REDRAW_MS apart and only while the view is visible: eight filled bands cost a few milliseconds
and nothing in them needs 30 frames a second.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.diagnostics.alerts import diagnostic_rows
from engine.files.spec import NetworkSpec
from engine.snapshot import PERCENTILES, StepSnapshot

CAPACITY = 1024  # history points per run before halving the resolution
REDRAW_MS = 100
_PAIRS = ((0, 8), (1, 7), (2, 6), (3, 5))  # outer band first, so inner ones draw on top
_ALPHAS = (45, 80, 120, 170)
MEDIAN = PERCENTILES.index(50.0)


class _Bands:
    """Percentile bands and a median line in one plot; curves are updated, never recreated."""

    def __init__(self, plot: pg.PlotItem, rgb: tuple[int, int, int]) -> None:
        self.bands = []
        for (low, high), alpha in zip(_PAIRS, _ALPHAS, strict=True):
            lower = pg.PlotCurveItem(pen=None)
            upper = pg.PlotCurveItem(pen=None)
            fill = pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(*rgb, alpha))
            # The invisible edges go into the plot too: an item outside any view looks for its
            # ViewBox on every setData, a walk up parentItem() that never caches a miss.
            plot.addItem(lower)
            plot.addItem(upper)
            plot.addItem(fill)
            self.bands.append((low, lower, high, upper, fill))
        self.median = pg.PlotCurveItem(pen=pg.mkPen(*rgb, width=2))
        plot.addItem(self.median)

    def set_data(self, steps: np.ndarray, percentiles: np.ndarray) -> None:
        """percentiles: (n, 9) for n steps."""
        for low, lower, high, upper, fill in self.bands:
            # Silence the edges so the fill rebuilds its path once, not once per edge.
            for curve, column in ((lower, low), (upper, high)):
                curve.blockSignals(True)
                curve.setData(steps, percentiles[:, column], connect="finite")
                curve.blockSignals(False)
            fill.updatePath()
        self.median.setData(steps, percentiles[:, MEDIAN], connect="finite")


class WeightDistributions(QWidget):
    """Weights and gradients of one chosen layer: percentile bands over training steps."""

    def __init__(self, parent: QWidget | None = None, *, capacity: int = CAPACITY) -> None:
        super().__init__(parent)
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Which layer's distributions to show")
        self.layer_combo.setMinimumContentsLength(12)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer:"))
        controls.addWidget(self.layer_combo)
        controls.addWidget(QLabel("bands: min–max, 7–93%, 16–84%, 31–69% · line: median"), 1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")  # the same light look as the loss plots
        self.weight_plot = self.graphics.addPlot(row=0, col=0, title="weights")
        self.grad_plot = self.graphics.addPlot(row=1, col=0, title="gradients")
        self.grad_plot.setXLink(self.weight_plot)
        for plot, label in ((self.weight_plot, "weight value"), (self.grad_plot, "gradient value")):
            plot.setLabel("left", label)
            plot.setLabel("bottom", "training step")
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.getAxis("left").setWidth(62)
            plot.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" is easy to misread
            plot.setMenuEnabled(False)
        self.weight_bands = _Bands(self.weight_plot, (255, 153, 51))
        self.grad_bands = _Bands(self.grad_plot, (67, 147, 195))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)

        self._capacity = capacity
        self._names: tuple[str, ...] = ()
        self._allocate(())
        self._redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        self._dirty = False  # new data arrived while hidden
        self.layer_combo.currentIndexChanged.connect(self._redraw)

    # ------------------------------------------------------------------ public API
    def reset(self, spec: NetworkSpec) -> None:
        self._allocate(diagnostic_rows(spec))
        self._redraw()

    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        diag = snapshot.diagnostics
        if diag is None or diag.weight_percentiles is None:
            return  # percentiles not computed (see layer_health.with_percentiles)
        if diag.layer_names != self._names:
            self._allocate(diag.layer_names)
        if self._shown() and self._steps[self._shown() - 1] >= snapshot.step:
            return  # nothing new (a repeated or paused snapshot)
        self._seen += 1
        keep = (self._seen - 1) % self._stride == 0
        if keep and self._n == self._capacity:
            self._decimate()
            keep = (self._seen - 1) % self._stride == 0
        # Slot n holds either a kept point (n grows) or the live latest one (overwritten).
        self._steps[self._n] = snapshot.step
        self._weights[self._n] = diag.weight_percentiles
        self._grads[self._n] = diag.grad_percentiles
        self._n += keep
        self._live = not keep
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def set_layer(self, name: str) -> None:
        self.layer_combo.setCurrentIndex(self._names.index(name))

    def layer(self) -> str:
        return self.layer_combo.currentText()

    def history(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps (n,), weight percentiles (n, 9), gradient percentiles (n, 9)) of a layer."""
        i = self._names.index(name)
        n = self._shown()
        return self._steps[:n].copy(), self._weights[:n, i].copy(), self._grads[:n, i].copy()

    # ------------------------------------------------------------------ internals
    def _allocate(self, names: tuple[str, ...]) -> None:
        rows = len(names)
        slots = self._capacity + 1  # + the live latest point
        self._steps = np.zeros(slots, np.int64)
        self._weights = np.full((slots, rows, len(PERCENTILES)), np.nan)
        self._grads = np.full((slots, rows, len(PERCENTILES)), np.nan)
        self._n = 0  # kept points
        self._live = False  # slot n holds the latest snapshot, not kept
        self._seen = 0  # snapshots with new steps since the reset
        self._stride = 1  # keep every stride-th of them
        if names != self._names:
            previous = self.layer_combo.currentText()
            self._names = tuple(names)
            self.layer_combo.blockSignals(True)
            self.layer_combo.clear()
            self.layer_combo.addItems(list(names))
            if previous in names:  # keep watching the same layer across a rebuild
                self.layer_combo.setCurrentIndex(names.index(previous))
            self.layer_combo.blockSignals(False)

    def _decimate(self) -> None:
        """Keep every other point, the first of the run included; keep half as many from now on."""
        half = (self._capacity + 1) // 2
        for array in (self._steps, self._weights, self._grads):
            array[:half] = array[0 : self._capacity : 2]
        self._n = half
        self._stride *= 2

    def _shown(self) -> int:
        return self._n + self._live

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._redraw()

    def _redraw(self) -> None:
        self._dirty = not self.isVisible()
        if self._dirty:
            return
        i = self.layer_combo.currentIndex()
        n = self._shown()
        if i < 0 or n == 0:
            for bands in (self.weight_bands, self.grad_bands):
                bands.set_data(np.zeros(0), np.zeros((0, len(PERCENTILES))))
            return
        name = self._names[i]
        if self.grad_plot.titleLabel.text != f"gradients of {name}":  # setHtml is not free
            self.weight_plot.setTitle(f"weights of {name}")
            self.grad_plot.setTitle(f"gradients of {name}")
        steps = self._steps[:n].astype(float)
        self.weight_bands.set_data(steps, _finite(self._weights[:n, i]))
        self.grad_bands.set_data(steps, _finite(self._grads[:n, i]))
        for plot in (self.weight_plot, self.grad_plot):
            plot.vb.prepareForPaint()  # auto-range now, or the first paint schedules a second


def _finite(values: np.ndarray) -> np.ndarray:
    """inf percentiles of a diverged step become NaN: the curves leave a gap there."""
    return np.where(np.isfinite(values), values, np.nan)
