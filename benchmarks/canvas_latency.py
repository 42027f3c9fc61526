"""Latency from a mouse move on the canvas to updated probability bars, with training running.

The real "Draw" view (gui.drawing_view.DrawingView) is shown offscreen and fed snapshots by the real
TrainingController, whose worker thread trains the ``healthy`` preset at full speed. An input thread
plays the part of the window system: at ``--rate`` Hz it timestamps a mouse move and queues it to
the GUI thread (a queued signal, so the move waits behind whatever the GUI thread is doing, like a
real input event). The latency of a move is the time from that timestamp until the first
``prediction_updated`` that started after the canvas handled the move (and, separately, until the
bars' next paint). Strokes trace a 0 and a 1 alternately and the canvas is cleared between them.

    python benchmarks/canvas_latency.py [--seconds 10] [--rate 120] [--no-training]

Target: p95 <= 30 ms with training running.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PySide6.QtCore import QEvent, QEventLoop, QObject, QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine.data import load_dataset
from engine.presets import load_preset
from gui.drawing_view import DrawingView
from gui.pyside_refcounts import protect_singletons
from gui.training_controller import TrainingController

MOVES_PER_STROKE = 40


def stroke_points(index: int, side: float) -> list[tuple[float, float]]:
    """A 0 (ellipse) or a 1 (slanted line) across ~2/3 of a canvas of ``side`` pixels."""
    t = np.linspace(0.0, 1.0, MOVES_PER_STROKE)
    if index % 2 == 0:
        x = side * (0.5 + 0.22 * np.sin(2 * np.pi * t))
        y = side * (0.5 - 0.32 * np.cos(2 * np.pi * t))
    else:
        x = side * (0.53 - 0.06 * t)
        y = side * (0.17 + 0.66 * t)
    return list(zip(x.tolist(), y.tolist(), strict=True))


class InputFeeder(QObject):
    """On the GUI thread: the input thread emits ``queued``; the slot delivers the event."""

    queued = Signal(str, float, float)

    def __init__(self, view: DrawingView) -> None:
        super().__init__()
        self.canvas = view.canvas
        self.handled: list[float] = []  # perf_counter when each move reached the canvas
        self.queued.connect(self.deliver)

    @Slot(str, float, float)
    def deliver(self, kind: str, x: float, y: float) -> None:
        square = self.canvas._square()
        pos = QPointF(square.x() + x * square.width() / 280, square.y() + y * square.width() / 280)
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        types = {
            "press": (QEvent.Type.MouseButtonPress, left, left),
            "move": (QEvent.Type.MouseMove, none, left),
            "release": (QEvent.Type.MouseButtonRelease, left, none),
        }
        if kind == "clear":
            self.canvas.clear()
            return
        event_type, button, buttons = types[kind]
        if kind == "move":
            self.handled.append(time.perf_counter())
        event = QMouseEvent(event_type, pos, pos, button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(self.canvas, event)


def play(feeder: InputFeeder, posted: list[float], rate: float, stop: threading.Event) -> None:
    """The input thread: strokes at ``rate`` moves per second until ``stop``."""
    period = 1.0 / rate
    next_time = time.perf_counter()
    stroke = 0
    while not stop.is_set():
        points = stroke_points(stroke, 280)
        feeder.queued.emit("press", *points[0])
        for x, y in points[1:]:
            next_time += period
            time.sleep(max(0.0, next_time - time.perf_counter()))
            if stop.is_set():
                break
            posted.append(time.perf_counter())
            feeder.queued.emit("move", x, y)
        feeder.queued.emit("release", *points[-1])
        feeder.queued.emit("clear", 0.0, 0.0)
        stroke += 1
        next_time = time.perf_counter() + 0.05


def first_after(events: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each time, the first event strictly after it (NaN when none)."""
    idx = np.searchsorted(events, times, side="right")
    out = np.full(len(times), np.nan)
    ok = idx < len(events)
    out[ok] = events[idx[ok]]
    return out


def pump(app: QApplication, seconds: float, snapshots: list[tuple[float, int]]) -> float:
    """Run the GUI event loop for ``seconds``; return training steps per second meanwhile."""
    first = snapshots[-1][1] if snapshots else 0
    # A real event loop, as in the app: it blocks in Qt (without the GIL) until an event comes.
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()
    return ((snapshots[-1][1] if snapshots else 0) - first) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=120.0, help="mouse moves per second")
    parser.add_argument("--no-training", action="store_true", help="baseline with training paused")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="sys.setswitchinterval in ms (how long a thread waiting for the GIL waits at most; "
        "Python's default is 5 ms)",
    )
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval / 1000)

    protect_singletons()  # PySide6 6.12 on Python 3.11: see gui/pyside_refcounts.py
    app = QApplication.instance() or QApplication([])
    os.environ.setdefault("BACKPROP_PLAYGROUND_DATA", tempfile.mkdtemp(prefix="canvas-bench-"))
    spec = load_preset("healthy").with_hyperparams(epochs=100_000)
    controller = TrainingController(spec, load_dataset(seed=0))
    view = DrawingView()
    view.resize(1000, 700)
    view.show()
    snapshots: list[tuple[float, int]] = []
    controller.snapshot_ready.connect(view.set_snapshot)
    controller.snapshot_ready.connect(lambda s: snapshots.append((time.perf_counter(), s.step)))
    updates: list[float] = []
    view.prediction.prediction_updated.connect(lambda _p: updates.append(time.perf_counter()))
    paints: list[float] = []

    class PaintSpy(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                paints.append(time.perf_counter())
            return False

    spy = PaintSpy()
    view.prediction._bars.installEventFilter(spy)
    if not args.no_training:
        controller.start()
    while not snapshots:  # the first weights
        pump(app, 0.05, snapshots)
    idle_steps = pump(app, 2.0, snapshots)  # training speed while nobody draws, for comparison

    feeder = InputFeeder(view)
    posted: list[float] = []
    stop = threading.Event()
    player = threading.Thread(target=play, args=(feeder, posted, args.rate, stop), daemon=True)
    start = time.perf_counter()
    player.start()
    pump(app, args.seconds, snapshots)
    stop.set()
    player.join()
    pump(app, 0.1, snapshots)  # let the last moves reach the bars
    run_snapshots = [s for s in snapshots if s[0] >= start]
    controller.shutdown()

    n = min(len(posted), len(feeder.handled))
    posted_a, handled_a = np.array(posted[:n]), np.array(feeder.handled[:n])
    to_bars = (first_after(np.array(updates), handled_a) - posted_a) * 1000
    done = first_after(np.array(updates), handled_a)
    to_paint = (first_after(np.array(paints), done) - posted_a) * 1000
    queueing = (handled_a - posted_a) * 1000
    steps = run_snapshots[-1][1] - run_snapshots[0][1] if len(run_snapshots) > 1 else 0
    print(
        f"training: {'off' if args.no_training else 'on'}; {n} moves at {args.rate:g} Hz over "
        f"{args.seconds:g} s; {len(updates)} bar updates; {len(run_snapshots)} snapshots"
    )
    print(f"training steps/s: {idle_steps:.0f} while nobody draws, {steps / args.seconds:.0f} "
          "while drawing")  # fmt: skip
    for name, values in (("move -> bars updated", to_bars), ("move -> bars painted", to_paint),
                         ("  of which queueing", queueing)):  # fmt: skip
        values = values[np.isfinite(values)]
        p50, p95 = np.percentile(values, [50, 95])
        print(f"{name:22s} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max {values.max():6.1f} ms")
    p95 = float(np.percentile(to_bars[np.isfinite(to_bars)], 95))
    print(f"target p95 <= 30 ms: {'met' if p95 <= 30 else 'MISSED'} ({p95:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
