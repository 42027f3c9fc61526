"""Latency from a mouse move on the canvas to updated probability bars, with training running.

The real "Draw" view (gui.drawing.view.DrawingView) is shown offscreen and fed snapshots by the
app's TrainingController training the ``healthy`` preset at full speed. An input thread
plays the part of the window system: at ``--rate`` Hz it timestamps a mouse move and queues it to
the GUI thread (a queued signal, so the move waits behind whatever the GUI thread is doing, like a
real input event). The latency of a move is the time from that timestamp until the first
``prediction_updated`` that started after the canvas handled the move (and, separately, until the
bars' next paint). Strokes trace a 0 and a 1 alternately and the canvas is cleared between them.

    python benchmarks/canvas_latency.py [--seconds 10] [--rate 120] [--no-training]
        [--trainer controller|thread] [--switch-interval MS]

``--trainer thread`` runs ``Trainer.step`` in a plain Python thread of the GUI process instead of
the app's controller: the worst case, where training competes with the GUI for the GIL.

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
# One BLAS thread, as the app uses (engine/__init__.py); it only counts before NumPy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QPointF, Qt, QTimer, Signal, Slot  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.data.datasets import Splits  # noqa: E402
from engine.data.sources import load_dataset  # noqa: E402
from engine.files.presets import load_preset  # noqa: E402
from engine.files.spec import NetworkSpec  # noqa: E402
from engine.snapshot import StepSnapshot  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402
from gui.drawing.view import DrawingView  # noqa: E402
from gui.training.controller import TrainingController  # noqa: E402

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


class ThreadedTrainer(QObject):
    """The worst case for the GUI: ``Trainer.step`` in a plain Python thread of the GUI process,
    sharing its GIL, with a snapshot ~30 times a second (the next one only once the GUI took the
    last). Same interface as the TrainingController parts used here."""

    snapshot_ready = Signal(object)
    _produced = Signal(object)  # emitted in the training thread, queued to _relay on this thread

    def __init__(self, spec: NetworkSpec, splits: Splits) -> None:
        super().__init__()
        self._trainer = Trainer(spec, splits)
        self._stop = threading.Event()
        self._go = threading.Event()
        self._consumed = threading.Event()
        self._produced.connect(self._relay)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def start(self) -> None:
        self._go.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._go.set()
        self._thread.join()

    @Slot(object)
    def _relay(self, snapshot: object) -> None:
        self.snapshot_ready.emit(snapshot)
        self._consumed.set()

    def _run(self) -> None:
        self._produced.emit(self._trainer.snapshot("paused"))
        self._go.wait()
        last = time.perf_counter()
        while not self._stop.is_set():
            self._trainer.step()
            now = time.perf_counter()
            if now - last >= 1 / 30 and self._consumed.is_set():
                self._consumed.clear()
                last = now
                self._produced.emit(self._trainer.snapshot())


def first_after(events: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each time, the first event strictly after it (NaN when none)."""
    idx = np.searchsorted(events, times, side="right")
    out = np.full(len(times), np.nan)
    ok = idx < len(events)
    out[ok] = events[idx[ok]]
    return out


class SnapshotRecorder(QObject):
    """Notes (time, step) of each snapshot, on the GUI thread (a @Slot of a GUI-thread QObject)."""

    def __init__(self, into: list[tuple[float, int]]) -> None:
        super().__init__()
        self.into = into

    @Slot(object)
    def record(self, snapshot: StepSnapshot) -> None:
        self.into.append((time.perf_counter(), snapshot.step))


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
        "--trainer",
        choices=("controller", "thread"),
        default="controller",
        help="the app's TrainingController, or Trainer.step in a thread of this process",
    )
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

    app = QApplication.instance() or QApplication([])
    os.environ.setdefault("BACKPROP_PLAYGROUND_DATA", tempfile.mkdtemp(prefix="canvas-bench-"))
    spec = load_preset("healthy").with_hyperparams(epochs=100_000)
    splits = load_dataset(seed=0)
    if args.trainer == "thread":
        controller = ThreadedTrainer(spec, splits)
    else:
        controller = TrainingController(spec, splits)
    view = DrawingView()
    view.resize(1000, 700)
    view.show()
    snapshots: list[tuple[float, int]] = []
    controller.snapshot_ready.connect(view.set_snapshot)
    recorder = SnapshotRecorder(snapshots)
    controller.snapshot_ready.connect(recorder.record)
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
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine load average {load} on {os.cpu_count()} cores (other users count too); "
          f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms")  # fmt: skip
    where = "off" if args.no_training else f"on ({args.trainer})"
    print(
        f"training: {where}; {n} moves at {args.rate:g} Hz over "
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
