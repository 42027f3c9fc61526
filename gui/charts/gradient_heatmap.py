"""Layers × steps heatmaps: log10 gradient norm (blue vanishing, red exploding), activation health.

Rows are ``Diagnostics.layer_names`` (input side at the top, as the forward pass reads); columns
are the last N training steps, scrolling. Gradient norms come from ``snapshot.grad_norms`` (every
step, none dropped); the activation map (dead-ReLU or saturated fraction per layer) repeats the
latest diagnostics over the steps of each snapshot. Both live in preallocated ring buffers and a
frame is one ``setImage`` per ImageItem: no item is created while training runs.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from engine.diagnostics.alerts import diagnostic_rows
from engine.files.spec import NetworkSpec
from engine.files.spec_edits import RELU_FAMILY
from engine.snapshot import StepSnapshot

#: Colour-bar range of log10 ‖gradient‖: healthy MNIST nets sit around 1e-2..1e0 (pale), a layer
#: below 1e-4 is clearly blue, the exploding alert's 1e3 is deep red. Non-finite norms show as the
#: top colour, exact zeros as the bottom one.
GRAD_LEVELS = (-6.0, 4.0)
ACT_LEVELS = (0.0, 1.0)
DEFAULT_WINDOW = 500
# ColorBrewer RdBu, reversed: blue (vanishing) → near-white (healthy) → red (exploding).
_RDBU = ("#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
         "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")  # fmt: skip


def gradient_colormap() -> pg.ColorMap:
    return pg.ColorMap(np.linspace(0.0, 1.0, len(_RDBU)), list(_RDBU), name="gradient RdBu")


def fraction_colormap() -> pg.ColorMap:
    """0 (healthy) is the gradient map's neutral, 1 (all dead / saturated) its deepest red."""
    return pg.ColorMap(np.linspace(0.0, 1.0, 6), list(_RDBU[5:]), name="fraction")


class _RingHeatmap:
    """One plot: an ImageItem fed from an (L, N) ring buffer, with a colour bar and row labels."""

    def __init__(self, plot: pg.PlotItem, cmap: pg.ColorMap, levels, label: str, ticks) -> None:
        self.plot = plot
        self.levels = levels
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        self.bar = pg.ColorBarItem(
            values=levels, colorMap=cmap, label=label, interactive=False, colorMapMenu=False
        )
        self.bar.setImageItem(self.image, insert_in=plot)
        if ticks:
            self.bar.axis.setTicks([ticks])
        plot.invertY(True)  # input side on top
        plot.disableAutoRange()  # ranges are set explicitly; auto-range would cost a 2nd paint
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        self.raw = np.zeros((0, 0), np.float32)  # what hovering reports (NaN/inf kept)
        self.shown = np.zeros((0, 0), np.float32)  # what is drawn, already mapped into levels
        self.ordered = np.zeros((0, 0), np.float32)

    def allocate(self, rows: int, window: int, keep: np.ndarray | None = None) -> None:
        old_raw, old_shown = self.raw, self.shown
        self.raw = np.full((rows, window), np.nan, np.float32)
        self.shown = np.full((rows, window), np.nan, np.float32)
        self.ordered = np.full((rows, window), np.nan, np.float32)
        if keep is not None and old_raw.shape[0] == rows:  # keep's columns, oldest first
            self.raw[:, : len(keep)] = old_raw[:, keep]
            self.shown[:, : len(keep)] = old_shown[:, keep]

    def write(self, start: int, values: np.ndarray, shown: np.ndarray) -> None:
        """Store (k, L) rows at ring columns start.. (wrapping); k <= N."""
        window = self.raw.shape[1]
        cols = (start + np.arange(len(values))) % window
        self.raw[:, cols] = values.T
        self.shown[:, cols] = shown.T

    def draw(self, pos: int, count: int, x0: float) -> None:
        """Show the ``count`` filled columns oldest first; column j covers step x0 + j."""
        window = self.raw.shape[1]
        if count < window:
            view = self.shown[:, :count]
        else:  # two slice copies put the ring in time order, no allocation
            self.ordered[:, : window - pos] = self.shown[:, pos:]
            self.ordered[:, window - pos :] = self.shown[:, :pos]
            view = self.ordered
        self.image.setImage(view, autoLevels=False, levels=self.levels)
        self.image.setRect(QRectF(x0, 0.0, float(count), float(self.raw.shape[0])))


class GradientHeatmap(QWidget):
    """Scrolling layers × steps heatmaps of gradient norm and of dead/saturated activations."""

    def __init__(self, parent: QWidget | None = None, *, window: int = DEFAULT_WINDOW) -> None:
        super().__init__(parent)
        self.window_spin = QSpinBox(minimum=50, maximum=20_000, singleStep=100, value=window)
        self.window_spin.setSuffix(" steps")
        self.window_spin.setToolTip("How many of the most recent training steps the maps show")
        self.hover_label = QLabel("Hover a cell to read its layer, step and value.")
        self.hover_label.setMinimumWidth(260)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Show the last"))
        controls.addWidget(self.window_spin)
        controls.addStretch(1)
        controls.addWidget(self.hover_label)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")  # the same light look as the loss plots
        self.grad_plot = self.graphics.addPlot(
            row=0, col=0, title="Gradient norm per layer (input side on top)"
        )
        self.act_plot = self.graphics.addPlot(
            row=1,
            col=0,
            # Short: a title is the layout's minimum width, and a long one pushed the colour bars'
            # labels out of a narrow dock. Black cells (not measured) are explained on hover.
            title="Dead ReLUs · saturated sigmoid/tanh (black: n/a)",
        )
        self.act_plot.setXLink(self.grad_plot)
        # One step axis, under the lower map: the two share it, and every frame re-lays its ticks.
        self.grad_plot.hideAxis("bottom")
        self.act_plot.setLabel("bottom", "training step")
        grad_ticks = [(v, f"1e{v:+.0f}") for v in range(int(GRAD_LEVELS[0]), 5, 2)]
        self.grad_map = _RingHeatmap(
            self.grad_plot, gradient_colormap(), GRAD_LEVELS, "‖gradient‖ (log scale)", grad_ticks
        )
        act_ticks = [(v, f"{v:.0%}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
        self.act_map = _RingHeatmap(
            self.act_plot, fraction_colormap(), ACT_LEVELS, "fraction of units", act_ticks
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)

        self._names: tuple[str, ...] = ()
        self._activations: tuple[str, ...] = ()
        self._steps = np.zeros(window, np.int64)
        self._pos = 0  # next ring column to write
        self._count = 0  # filled columns (<= window)
        self._x0 = 0.0  # left edge of the oldest shown column
        self._allocate((), window)
        self.window_spin.valueChanged.connect(self.set_window)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # ------------------------------------------------------------------ public API
    def window(self) -> int:
        return self._steps.shape[0]

    def set_window(self, steps: int) -> None:
        """Show the last ``steps`` steps; keeps as much history as fits."""
        steps = int(steps)
        if steps == self.window():
            return
        keep = self._time_order()[-steps:]
        self._allocate(self._names, steps, keep)
        if self.window_spin.value() != steps:
            self.window_spin.setValue(steps)
        self._redraw()

    def reset(self, spec: NetworkSpec) -> None:
        self._activations = ()
        self._allocate(diagnostic_rows(spec), self.window())
        self._redraw()

    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        norms = np.asarray(snapshot.grad_norms, np.float64)
        diag = snapshot.diagnostics
        names = diag.layer_names if diag is not None else self._names
        if diag is not None:
            self._activations = diag.activations
        if norms.ndim != 2 or norms.shape[1] != len(names):
            norms = np.zeros((0, len(names)))
        if names != self._names:  # a new network without reset(): start over
            self._allocate(names, self.window())
        if len(norms):
            self._append(
                np.asarray(snapshot.steps)[-self.window() :], norms[-self.window() :], diag
            )
        self._redraw()

    def grad_values(self) -> np.ndarray:
        """(L, shown steps) log10 gradient norms in time order, as hovering reports them."""
        return self.grad_map.raw[:, self._time_order()]

    def activation_values(self) -> np.ndarray:
        return self.act_map.raw[:, self._time_order()]

    def shown_steps(self) -> np.ndarray:
        return self._steps[self._time_order()]

    def cell_text(self, row: int, col: int) -> str:
        """What hovering the cell (row = layer, col = shown step, oldest first) says, per map."""
        order = self._time_order()
        if not (0 <= row < len(self._names) and 0 <= col < len(order)):
            return ""
        ring = order[col]
        name, step = self._names[row], int(self._steps[ring])
        grad = float(self.grad_map.raw[row, ring])
        if math.isfinite(grad):
            grad_text = f"{10.0**grad:.2e}"
        else:  # log10 of an exact zero is -inf; NaN/+inf come from a diverged step
            grad_text = "0" if grad == -math.inf else "NaN/inf"
        act = self._activations[row] if row < len(self._activations) else ""
        frac = float(self.act_map.raw[row, ring])
        if math.isnan(frac):
            act_text = "no dead/saturated measure"
        else:
            act_text = f"{frac:.0%} {'dead' if act in RELU_FAMILY else 'saturated'}"
        return f"{name} ({act or 'no activation'}) · step {step} · ‖∇‖ = {grad_text} · {act_text}"

    # ------------------------------------------------------------------ internals
    def _allocate(
        self, names: tuple[str, ...], window: int, keep: np.ndarray | None = None
    ) -> None:
        rows = len(names)
        if keep is None or rows != len(self._names):
            keep = np.zeros(0, np.intp)
        steps = np.zeros(window, np.int64)
        steps[: len(keep)] = self._steps[keep]
        self._steps = steps
        for heatmap in (self.grad_map, self.act_map):
            heatmap.allocate(rows, window, keep)
        self._count = len(keep)
        self._pos = len(keep) % window
        if names != self._names:
            self._names = tuple(names)
            self._set_row_labels()

    def _append(self, steps: np.ndarray, norms: np.ndarray, diag) -> None:
        k = len(norms)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_norms = np.log10(norms)
        # NaN (diverged step) and +inf draw as the top colour, -inf (exact zero) as the bottom one.
        lo, hi = GRAD_LEVELS
        shown = np.nan_to_num(log_norms, nan=hi, posinf=hi, neginf=lo)
        self.grad_map.write(self._pos, log_norms, shown)
        fractions = np.full((k, len(self._names)), np.nan)
        if diag is not None:
            dead = np.asarray(diag.dead_fraction, float)
            fractions[:] = np.where(np.isnan(dead), diag.saturated_fraction, dead)
        self.act_map.write(self._pos, fractions, fractions)
        window = self.window()
        self._steps[(self._pos + np.arange(k)) % window] = steps
        self._pos = (self._pos + k) % window
        self._count = min(window, self._count + k)

    def _time_order(self) -> np.ndarray:
        """Ring columns of the shown steps, oldest first."""
        window = self.window()
        if self._count < window:
            return np.arange(self._count)
        return (self._pos + np.arange(window)) % window

    def _redraw(self) -> None:
        if self._count == 0:
            for heatmap in (self.grad_map, self.act_map):
                heatmap.image.clear()
            return
        first = int(self._steps[0 if self._count < self.window() else self._pos])
        x0 = self._x0 = first - 0.5  # step s is drawn centred on x = s
        for heatmap in (self.grad_map, self.act_map):
            heatmap.draw(self._pos, self._count, x0)
        self.grad_plot.setXRange(x0, x0 + self.window(), padding=0.0)
        # Apply the new range now: ViewBox would do it while painting, then paint a second time.
        for plot in (self.grad_plot, self.act_plot):
            plot.vb.updateMatrix()

    def _set_row_labels(self) -> None:
        rows = len(self._names)
        stride = max(1, math.ceil(rows / 16))  # at most ~16 labels: they must not overlap
        major = [(i + 0.5, name) for i, name in enumerate(self._names) if i % stride == 0]
        minor = [(i + 0.5, "") for i in range(rows) if i % stride]
        longest = max((name for _, name in major), key=len, default="output")
        for plot in (self.grad_plot, self.act_plot):
            axis = plot.getAxis("left")
            axis.setTicks([major, minor])
            # Sized to the longest name: pyqtgraph drops tick labels that do not fit.
            axis.setWidth(QFontMetrics(axis.font()).horizontalAdvance(longest) + 16)
            plot.setYRange(0, max(rows, 1), padding=0.0)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        for plot in (self.grad_plot, self.act_plot):
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                point = plot.vb.mapSceneToView(scene_pos)
                col = math.floor(point.x() - self._x0) if self._count else -1
                text = self.cell_text(math.floor(point.y()), col)
                if text:
                    self.hover_label.setText(text)
                    self.graphics.setToolTip(text)
                return
