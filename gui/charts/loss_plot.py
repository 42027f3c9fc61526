"""Loss, accuracy and learning-rate plots of a training run (pyqtgraph), fed by snapshots.

Three x-linked plots: the loss of every step (faint) with its moving average over it and the
train/validation loss of every finished epoch (markers); train/validation accuracy per epoch; the
learning rate of every step (log y). Dashed vertical lines mark where a setting changed. The x axis
shows steps or epochs; the loss axis can be logarithmic. Items are created once and updated with
``setData``; curves are downsampled to the screen and clipped to the view so 10^5 points stay cheap.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.files.spec import NetworkSpec
from engine.snapshot import StepSnapshot
from gui.charts.loss_history import DEFAULT_SMOOTHING, LossHistory

RAW = (90, 140, 230, 70)  # faint: the per-step loss is noisy, the average carries the trend
SMOOTH = (40, 90, 200)
TRAIN = (230, 130, 20)
VAL = (30, 160, 70)
EVENT = (150, 60, 170)
COALESCE_SECONDS = 1.0  # one drag of a slider gives one marker, not twenty
REDRAW_MS = 100  # curves are redrawn at most 10 times a second; data is appended at every call
POINTS_PER_PIXEL = 1.5  # auto-downsampling target (pyqtgraph's default of 5 costs 3x the paint)


class LossPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = LossHistory()
        self.events: list[tuple[int, str]] = []  # (step after which it changed, text)
        self._event_lines: list[tuple[pg.InfiniteLine, pg.InfiniteLine]] = []
        self._last_event = ("", -1.0)  # (setting name, monotonic time) for coalescing
        self._x_epochs = False
        self._stale_steps = self._stale_epochs = False
        self._acc_fitted = False
        self._last_draw = -1.0
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self.redraw)
        self._build_controls()
        self._build_plots()

    # ------------------------------------------------------------------ building
    def _build_controls(self) -> None:
        self.log_check = QCheckBox("log loss")
        self.log_check.setToolTip("Logarithmic loss axis: shows progress once the loss is small.")
        self.log_check.toggled.connect(self.set_log_scale)
        self.x_combo = QComboBox()
        self.x_combo.addItems(["steps", "epochs"])
        self.x_combo.setToolTip("x axis: update steps (mini-batches) or epochs (passes over data).")
        self.x_combo.currentIndexChanged.connect(lambda i: self.set_x_epochs(i == 1))
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 0.999)
        self.smoothing.setDecimals(3)
        self.smoothing.setSingleStep(0.01)
        self.smoothing.setValue(DEFAULT_SMOOTHING)
        self.smoothing.setKeyboardTracking(False)
        self.smoothing.setToolTip(
            "Weight of the moving average drawn over the noisy per-step loss "
            "(0 = none, 0.99 = very smooth; bias-corrected like TensorBoard's)."
        )
        self.smoothing.valueChanged.connect(self.set_smoothing)
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 0)
        x_label = QLabel("x axis:")
        x_label.setBuddy(self.x_combo)
        smooth_label = QLabel("smoothing:")
        smooth_label.setBuddy(self.smoothing)
        for widget in (self.log_check, x_label, self.x_combo, smooth_label, self.smoothing):
            row.addWidget(widget)
        row.addStretch(1)
        self._controls = row

    def _build_plots(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout = self.graphics.ci
        self.loss_plot = layout.addPlot(row=0, col=0)
        self.acc_plot = layout.addPlot(row=1, col=0)
        self.lr_plot = layout.addPlot(row=2, col=0)
        for row, stretch in enumerate((5, 3, 2)):
            layout.layout.setRowStretchFactor(row, stretch)
        for plot in (self.acc_plot, self.lr_plot):
            plot.setXLink(self.loss_plot)
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
            # No grid: pyqtgraph's translucent grid lines tripled the paint time (11 -> 35 ms).
            plot.getAxis("left").setWidth(60)  # aligned x axes despite different tick labels
        self.loss_plot.setLabel("left", "loss")
        self.acc_plot.setLabel("left", "accuracy (%)")
        self.lr_plot.setLabel("left", "learning rate")
        self.acc_plot.getViewBox().setLimits(yMin=-1, yMax=101)
        self.lr_plot.setLogMode(y=True)
        lr_axis = self.lr_plot.getAxis("left")
        lr_axis.enableAutoSIPrefix(False)  # no "(x0.001)" on a log axis
        self._lr_span: tuple[float, float] | None = None
        self._set_x_labels()

        self.loss_plot.addLegend(offset=(-10, 10))
        self.raw_curve = self._curve(self.loss_plot, RAW, 1, "loss per step")
        self.smooth_curve = self._curve(self.loss_plot, SMOOTH, 2, "smoothed")
        self.train_loss = self._markers(self.loss_plot, TRAIN, "o", "train (epoch)")
        self.val_loss = self._markers(self.loss_plot, VAL, "s", "validation (epoch)")
        self.acc_plot.addLegend(offset=(-10, -10))
        self.train_acc = self._markers(self.acc_plot, TRAIN, "o", "train")
        self.val_acc = self._markers(self.acc_plot, VAL, "s", "validation")
        self.lr_curve = self._curve(self.lr_plot, SMOOTH, 1, None)
        # Draw only what is on screen, at most a few points per pixel (peak mode keeps spikes).
        for plot in (self.loss_plot, self.lr_plot):
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
        for curve in (self.raw_curve, self.smooth_curve, self.lr_curve):
            curve.opts["autoDownsampleFactor"] = POINTS_PER_PIXEL

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addLayout(self._controls)
        outer.addWidget(self.graphics, 1)
        self._redraw_epochs()

    @staticmethod
    def _curve(plot: pg.PlotItem, color: tuple, width: int, name: str | None) -> pg.PlotDataItem:
        # connect="finite": a NaN loss (divergence) leaves a gap instead of breaking the path.
        return plot.plot(pen=pg.mkPen(color, width=width), name=name, connect="finite")

    @staticmethod
    def _markers(plot: pg.PlotItem, color: tuple, symbol: str, name: str) -> pg.PlotDataItem:
        return plot.plot(
            pen=pg.mkPen(color, width=1.5),
            symbol=symbol,
            symbolSize=7,
            symbolBrush=color,
            symbolPen=None,
            name=name,
        )

    # ------------------------------------------------------------------ view contract
    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        """Append every step and epoch the snapshot carries; redraw at most every REDRAW_MS."""
        restarted = snapshot.step < self.history.last_step or (
            len(snapshot.steps) > 0 and snapshot.steps[0] <= self.history.last_step
        )
        if restarted:
            self._clear_events()
        if len(snapshot.steps) == 0 and not snapshot.epochs and not restarted:
            return
        self.history.append(snapshot)
        self._stale_steps = True
        self._stale_epochs = self._stale_epochs or bool(snapshot.epochs) or restarted
        wait_ms = REDRAW_MS - 1000.0 * (time.monotonic() - self._last_draw)
        if wait_ms <= 0:
            self.redraw()
        elif not self._redraw_timer.isActive():
            # The last snapshot of a burst is drawn too, at most REDRAW_MS later.
            self._redraw_timer.start(int(wait_ms) + 1)

    def redraw(self) -> None:
        """Bring the curves up to date with the history now."""
        self._redraw_timer.stop()
        self._last_draw = time.monotonic()
        if self._stale_steps:
            self._redraw_steps()
        if self._stale_epochs:
            self._redraw_epochs()

    def reset(self, spec: NetworkSpec | None = None) -> None:
        """New weights: forget the history and the markers."""
        self.history.clear()
        self._clear_events()
        self._stale_steps = self._stale_epochs = True
        self.redraw()

    # ------------------------------------------------------------------ user settings
    def set_log_scale(self, on: bool) -> None:
        self.log_check.setChecked(on)
        self.loss_plot.setLogMode(y=on)

    def set_x_epochs(self, on: bool) -> None:
        """x axis in epochs (True) or steps (False)."""
        self.x_combo.setCurrentIndex(int(on))
        if on == self._x_epochs:
            return
        self._x_epochs = on
        self._set_x_labels()
        self._redraw_steps()
        self._redraw_epochs()
        for (line, lr_line), (step, _text) in zip(self._event_lines, self.events, strict=True):
            line.setValue(self._event_x(step))
            lr_line.setValue(self._event_x(step))
        self.loss_plot.enableAutoRange(x=True)

    def set_smoothing(self, weight: float) -> None:
        self.smoothing.setValue(weight)
        if weight != self.history.smoothing:
            self.history.set_smoothing(weight)
            self._redraw_steps()

    def mark_event(self, step: int, text: str) -> None:
        """A setting changed after ``step``: a labelled dashed line there.

        Repeated changes of one setting within ``COALESCE_SECONDS`` (a slider drag) update the
        last line's label instead of stacking lines.
        """
        name = text.split()[0] if text.split() else ""
        now = time.monotonic()
        last_name, last_time = self._last_event
        self._last_event = (name, now)
        if self.events and name == last_name and now - last_time < COALESCE_SECONDS:
            first_step = self.events[-1][0]
            self.events[-1] = (first_step, text)
            self._event_lines[-1][0].label.setFormat(text)
            return
        x = self._event_x(step)
        dash = pg.mkPen(EVENT, width=1, style=Qt.PenStyle.DashLine)
        line = pg.InfiniteLine(
            pos=x,
            angle=90,
            pen=dash,
            movable=False,
            label=text,
            labelOpts={
                "position": 0.97,
                "color": EVENT,
                "rotateAxis": (1, 0),  # along the line: neighbouring markers overlap less
                "anchors": [(1, 0), (1, 1)],  # text hangs down from near the top, inside the view
            },
        )
        lr_line = pg.InfiniteLine(pos=x, angle=90, pen=dash, movable=False)
        # ignoreBounds: a marker must not stretch the auto-ranged x axis.
        self.loss_plot.addItem(line, ignoreBounds=True)
        self.lr_plot.addItem(lr_line, ignoreBounds=True)
        self.events.append((int(step), text))
        self._event_lines.append((line, lr_line))

    # ------------------------------------------------------------------ export
    def export_png(self, path: str | Path) -> None:
        """The three plots as a PNG image."""
        self.redraw()
        if not self.graphics.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

    def history_rows(self) -> list[dict]:
        """One dict per step for CSV export (see ``loss_history.ROW_KEYS``)."""
        return self.history.rows(self.events)

    # ------------------------------------------------------------------ drawing
    def _x(self) -> np.ndarray:
        return self.history.view("epochs" if self._x_epochs else "steps")

    def _event_x(self, step: int) -> float:
        return self.history.epoch_at(step) if self._x_epochs else float(step)

    def _redraw_steps(self) -> None:
        self._stale_steps = False
        h, x = self.history, self._x()
        self.raw_curve.setData(x, h.view("losses"))
        self.smooth_curve.setData(x, h.view("smoothed"))
        self.lr_curve.setData(x, h.view("learning_rates"))
        self._update_lr_ticks()

    def _redraw_epochs(self) -> None:
        self._stale_epochs = False
        records = self.history.records
        # Before the first epoch show the whole 0-100 % scale (pyqtgraph's default 0-1 would
        # read as "1 %"); from the first epoch on, fit the data.
        if not records:
            self.acc_plot.setYRange(0, 100, padding=0.02)
            self._acc_fitted = False
        elif not self._acc_fitted:
            self.acc_plot.enableAutoRange(y=True)
            self._acc_fitted = True
        x = np.array([r.epoch if self._x_epochs else r.step for r in records], dtype=float)
        columns = np.array(
            [(r.train_loss, r.val_loss, r.train_accuracy, r.val_accuracy) for r in records],
            dtype=float,
        ).reshape(-1, 4)
        self.train_loss.setData(x, columns[:, 0])
        self.val_loss.setData(x, columns[:, 1])
        self.train_acc.setData(x, 100.0 * columns[:, 2])
        self.val_acc.setData(x, 100.0 * columns[:, 3])

    def _update_lr_ticks(self) -> None:
        """1-2-5 ticks on the log learning-rate axis: pyqtgraph's own label every minor tick
        (0.09, 0.08, …) on top of each other on a plot this short."""
        rates = self.history.view("learning_rates")
        rates = rates[np.isfinite(rates) & (rates > 0)]
        span = (float(rates.min()), float(rates.max())) if len(rates) else None
        if span == self._lr_span:
            return
        self._lr_span = span
        ticks = lr_ticks(*span) if span else []
        major = [(float(np.log10(v)), f"{v:g}") for v in ticks]
        self.lr_plot.getAxis("left").setTicks([major] if major else None)

    def _set_x_labels(self) -> None:
        text = "epoch" if self._x_epochs else "step"
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
            plot.setLabel("bottom", text)

    def _clear_events(self) -> None:
        for line, lr_line in self._event_lines:
            self.loss_plot.removeItem(line)
            self.lr_plot.removeItem(lr_line)
        self._event_lines.clear()
        self.events.clear()
        self._last_event = ("", -1.0)


def lr_ticks(low: float, high: float, max_ticks: int = 5) -> list[float]:
    """Round values (1, 2, 5 × 10^k) spanning [low, high] with a little margin, at most
    ``max_ticks`` of them (then only 1 × 10^k, then every other decade)."""
    lo_exp = int(np.floor(np.log10(low / 2)))
    hi_exp = int(np.ceil(np.log10(high * 2)))
    for mantissas in ((1, 2, 5), (1,)):
        values = [
            m * 10.0**e
            for e in range(lo_exp, hi_exp + 1)
            for m in mantissas
            if low / 2 <= m * 10.0**e <= high * 2
        ]
        if len(values) <= max_ticks:
            return values
    return values[:: -(-len(values) // max_ticks)]
