"""Frames per second of the live network diagram with 64 layers: set_snapshot + a full repaint.

Run: QT_QPA_PLATFORM=offscreen python benchmarks/builder_diagram.py [--frames 60]

Two 64-layer networks: "narrow" (64 × Dense 32: every layer drawn neuron by neuron, 63 × 1,024
weight lines, the worst case) and "wide" (64 × Dense 128 with BatchNorm/Dropout mixed in: bands).
Snapshots come from the real engine Trainer when it imports (a few steps between frames, so the
weights really change), else from synthetic He-scaled weights. Each frame is timed from
``set_snapshot`` to the end of a synchronous ``viewport().repaint()`` at three zoom levels; pan and
zoom steps (scroll / scale + repaint) are timed with live data shown. The target is >= 20 fps.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from engine.files.spec import LayerSpec, NetworkSpec, dense
from engine.snapshot import Diagnostics, StepSnapshot, frozen
from gui.builder.model import param_block_names
from gui.builder.panel import NetworkBuilder


def narrow() -> NetworkSpec:
    return NetworkSpec(layers=tuple(dense(32, "tanh", "xavier") for _ in range(64)), name="narrow")


def wide() -> NetworkSpec:
    cycle = (dense(128), LayerSpec("batchnorm"), dense(128), LayerSpec("dropout", rate=0.1))
    return NetworkSpec(layers=tuple(cycle[i % 4] for i in range(64)), name="wide")


def real_snapshots(spec: NetworkSpec, count: int) -> list[StepSnapshot] | None:
    """Snapshots of an actually training network, two steps apart; None if the engine can't."""
    try:
        from threadpoolctl import threadpool_limits

        from engine.data.sources import load_dataset
        from engine.training.trainer import Trainer
    except ImportError as exc:
        print(f"(engine trainer not importable: {exc}; using synthetic snapshots)")
        return None
    with threadpool_limits(1):
        trainer = Trainer(spec.with_hyperparams(batch_size=32), load_dataset())
        snaps = []
        for _ in range(count):
            trainer.step()
            trainer.step()
            snaps.append(trainer.snapshot())
    return snaps


def synthetic_snapshots(spec: NetworkSpec, count: int, *, jitter: float) -> list[StepSnapshot]:
    """He-scaled weights plus fresh noise of std ``jitter`` per frame (0.02: nearly every 32×32
    pair changes a connection's colour every frame, the worst case) and a slow random walk
    (0.003 per frame, about what SGD moves a weight in a 30th of a second)."""
    rng = np.random.default_rng(0)
    shapes: dict[str, tuple[int, ...]] = {}
    width = 784
    for i, layer in enumerate(spec.layers, 1):
        name = f"{layer.type}{i}"
        if layer.type == "dense":
            shapes[f"{name}.W"], shapes[f"{name}.b"] = (width, layer.units), (layer.units,)
            width = layer.units
        elif layer.type == "batchnorm":
            shapes[f"{name}.gamma"] = shapes[f"{name}.beta"] = (width,)
    shapes["output.W"], shapes["output.b"] = (width, 10), (10,)
    walk = {k: rng.normal(0, math.sqrt(2 / s[0]), s).astype(np.float32) for k, s in shapes.items()}
    names = tuple(param_block_names(spec.layers))
    n = len(names)
    snaps = []
    for step in range(count):
        for value in walk.values():
            value += rng.normal(0, 0.003, value.shape).astype(np.float32)
        weights = {k: frozen(v + rng.normal(0, jitter, v.shape).astype(np.float32))
                   for k, v in walk.items()}  # fmt: skip
        norms = np.logspace(-5, -1, n) * rng.uniform(0.5, 2.0, n)
        diag = Diagnostics(names, ("relu",) * n, norms, norms / 50, norms / 5, np.ones(n),
                           np.full(n, -3.0), np.zeros(n), np.ones(n), np.zeros(n), np.zeros(n),
                           np.zeros((n, 9)), np.zeros((n, 9)))  # fmt: skip
        snaps.append(
            StepSnapshot(step, 0, 0.0, 32 * step, 1.0, 1000.0, np.array([step]), np.array([2.0]),
                         np.array([0.1]), norms[None, :], diag, (), weights, spec, "running")
        )  # fmt: skip
    return snaps


class PaintCounter(QObject):
    """Counts paint events of the diagram's viewport: a frame ends when Qt has painted it."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def paint_once(app: QApplication, counter: PaintCounter) -> None:
    """Run the event loop until the update the last change scheduled has been painted."""
    before = counter.paints
    deadline = time.perf_counter() + 2.0
    while counter.paints == before and time.perf_counter() < deadline:
        app.processEvents()


def time_frames(
    app: QApplication, builder: NetworkBuilder, snaps: list, frames: int
) -> tuple[float, float]:
    """Frames per second of set_snapshot + the repaint Qt does for it (as in the app), by the
    wall clock and by this process's CPU time (what an unshared core would give)."""
    counter = PaintCounter()
    builder.diagram.viewport().installEventFilter(counter)
    builder.set_snapshot(snaps[-1])
    paint_once(app, counter)  # warm caches (card pixmaps) outside the timing
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(frames):
        builder.set_snapshot(snaps[i % len(snaps)])
        paint_once(app, counter)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    builder.diagram.viewport().removeEventFilter(counter)
    return frames / elapsed, frames / cpu


def time_pan_zoom(
    app: QApplication, builder: NetworkBuilder, steps: int = 20
) -> tuple[float, float]:
    """Milliseconds per pan step and per zoom step (each with a synchronous repaint)."""
    view = builder.diagram
    counter = PaintCounter()
    view.viewport().installEventFilter(counter)
    bar = view.horizontalScrollBar()
    start = time.perf_counter()
    for i in range(steps):
        bar.setValue(bar.minimum() + (bar.maximum() - bar.minimum()) * (i + 1) // steps)
        paint_once(app, counter)
    pan = (time.perf_counter() - start) / steps * 1e3
    start = time.perf_counter()
    for i in range(steps):
        view.zoom(1.12 if i % 2 == 0 else 1 / 1.12)
        paint_once(app, counter)
    zoom = (time.perf_counter() - start) / steps * 1e3
    view.viewport().removeEventFilter(counter)
    return pan, zoom


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'network':8} {'snapshots':20} {'view':20} {'fps':>6} {'ms/frame':>8} {'CPU fps':>8}")
    for make in (narrow, wide):
        spec = make()
        builder = NetworkBuilder(spec)
        builder.resize(1400, 850)
        builder.show()
        app.processEvents()
        sources = {
            "real training": lambda spec=spec: real_snapshots(spec, 24),
            "drift 0.003/frame": lambda spec=spec: synthetic_snapshots(spec, 24, jitter=0.0),
            "worst: jitter 0.02": lambda spec=spec: synthetic_snapshots(spec, 24, jitter=0.02),
        }
        for source, make_snaps in sources.items():
            snaps = make_snaps()
            if snaps is None:
                continue
            builder.reset(spec)
            views = {
                "default (fit height)": builder.diagram.fit_height,
                "zoomed in ×2": lambda b=builder: b.diagram.zoom(2.0),
                "fit all 64 layers": builder.diagram.fit_all,
            }
            for label, set_view in views.items():
                set_view()
                app.processEvents()
                fps, cpu_fps = time_frames(app, builder, snaps, args.frames)
                print(
                    f"{spec.name:8} {source:20} {label:20} {fps:6.1f} {1e3 / fps:8.1f} "
                    f"{cpu_fps:8.1f}"
                )
            builder.diagram.fit_height()
            pan, zoom = time_pan_zoom(app, builder)
            print(f"{spec.name:8} {source:20} pan step {pan:.1f} ms, zoom step {zoom:.1f} ms")
        builder.close()
        builder.deleteLater()
        app.processEvents()


if __name__ == "__main__":
    main()
