"""Gradient heatmap at its largest: 64 layers × 2,000 steps, updated with real-shaped snapshots.

Snapshots come from real training of a 64-row network (63 ReLU layers of 16 units + output):
a few hundred real steps are recorded once, then replayed with fresh step numbers so the ring
buffer holds 2,000 steps of real norms and diagnostics. Three measurements on the GUI thread:

1. throughput: ``set_snapshot`` + a synchronous repaint, back to back (frames per second;
   target >= 20), with the CPU time per frame, which other load on the machine does not inflate;
2. live cadence: a snapshot every 33 ms (30 Hz, 33 steps each, about 1,000 steps/s) painted by
   the event loop, while a 10 ms QTimer measures how late it fires (p50/p95/p99; target p99
   <= 50 ms, the main-window benchmark's target);
3. flood: snapshots as fast as the event loop takes them, same lateness probe (the worst case);
   an idle run of the same probe first shows what the machine's load alone costs.

    QT_QPA_PLATFORM=offscreen python benchmarks/gradient_heatmap.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from gui_timing import lateness_probe  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.data.sources import load_dataset  # noqa: E402
from engine.files.spec import NetworkSpec, dense  # noqa: E402
from engine.snapshot import StepSnapshot  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402
from gui.charts.gradient_heatmap import GradientHeatmap  # noqa: E402

LAYERS = 64
WINDOW = 2000
STEPS_PER_SNAPSHOT = 33  # 30 snapshots/s at ~1,000 steps/s


def recorded_snapshots(steps: int = 330) -> list[StepSnapshot]:
    """Real snapshots of a 64-row network, STEPS_PER_SNAPSHOT steps each."""
    spec = NetworkSpec(layers=(dense(16),) * (LAYERS - 1)).with_hyperparams(
        learning_rate=0.01, batch_size=32, train_size=1000
    )
    trainer = Trainer(spec, load_dataset(None))
    out = []
    for step in range(1, steps + 1):
        trainer.step()
        if step % STEPS_PER_SNAPSHOT == 0:
            out.append(trainer.snapshot())
    assert out[0].grad_norms.shape == (STEPS_PER_SNAPSHOT, LAYERS)
    return out


class Replay:
    """Cycles recorded snapshots, renumbering their steps so time moves forward."""

    def __init__(self, snapshots: list[StepSnapshot]) -> None:
        self.snapshots, self.i, self.step = snapshots, 0, 0

    def next(self) -> StepSnapshot:
        snap = self.snapshots[self.i % len(self.snapshots)]
        self.i += 1
        steps = np.arange(self.step + 1, self.step + len(snap.steps) + 1)
        self.step += len(steps)
        return replace(snap, step=self.step, steps=steps)


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def run_loop(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    replay = Replay(recorded_snapshots())
    heatmap = GradientHeatmap(window=WINDOW)
    heatmap.resize(1200, 900)
    heatmap.show()
    counter = PaintCounter()
    heatmap.graphics.viewport().installEventFilter(counter)
    while heatmap.shown_steps().size < WINDOW:  # a full 64 × 2000 image from here on
        heatmap.set_snapshot(replay.next())
    app.processEvents()
    assert heatmap.grad_values().shape == (LAYERS, WINDOW)

    # 1. throughput: update + synchronous paint, back to back
    times, cpu = [], []  # wall and CPU seconds per frame (CPU time ignores other load)
    end = time.perf_counter() + args.seconds
    while time.perf_counter() < end:
        start, start_cpu = time.perf_counter(), time.process_time()
        heatmap.set_snapshot(replay.next())
        heatmap.graphics.viewport().repaint()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    times_ms, cpu_ms = 1e3 * np.array(times), 1e3 * np.array(cpu)
    fps = len(times) / times_ms.sum() * 1e3

    # 2. live cadence (30 Hz) and 3. flood, each with the 10 ms lateness probe
    results = {}
    for name, interval in (("idle (control)", None), ("30 Hz snapshots", 33), ("flood", 0)):
        clock = QElapsedTimer()
        clock.start()
        probe, lateness = lateness_probe(clock)
        feeder = QTimer()
        feeder.setInterval(interval or 0)
        feeder.timeout.connect(lambda: heatmap.set_snapshot(replay.next()))
        paints, fed = counter.count, replay.i
        probe.start()
        if interval is not None:
            feeder.start()
        run_loop(app, args.seconds)
        feeder.stop()
        probe.stop()
        results[name] = (
            np.percentile(lateness, [50, 95, 99]),
            (counter.count - paints) / args.seconds,
            (replay.i - fed) / args.seconds,
            len(lateness),
        )

    print(f"heatmap {LAYERS} layers × {WINDOW} steps (two maps: gradient norm and activations)")
    p50, p95, p99 = np.percentile(times_ms, [50, 95, 99])
    print(f"update + paint back to back: {fps:6.1f} fps  (per frame p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms, p99 {p99:.1f} ms; target >= 20 fps)")  # fmt: skip
    cpu50, cpu95 = np.percentile(cpu_ms, [50, 95])
    print(f"  CPU time per frame: p50 {cpu50:.1f} ms, p95 {cpu95:.1f} ms "
          f"({1e3 / cpu_ms.mean():.0f} fps if the GUI thread had a core to itself)")  # fmt: skip
    for name, ((l50, l95, l99), paints, fed, ticks) in results.items():
        print(f"{name:>15}: {fed:5.1f} snapshots/s, {paints:5.1f} paints/s; 10 ms timer late by "
              f"p50 {l50:.1f} ms, p95 {l95:.1f} ms, p99 {l99:.1f} ms ({ticks} ticks; "
              "target p99 <= 50 ms)")  # fmt: skip
    heatmap.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
