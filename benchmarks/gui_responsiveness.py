"""How the real window copes while training runs at full speed (issue 3's targets).

Builds the real main window offscreen with every panel live, trains the ``healthy`` preset for a
few seconds, and measures (1) how late a 10 ms GUI-thread QTimer fires (p50/p95/p99; target p99 <=
50 ms)
and (2) training throughput against the same trainer without any GUI, measured in the same run
(target >= 85% of headless). A digit is kept on the canvas so the prediction panel works too.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_responsiveness.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the app does, before NumPy loads

import numpy as np  # noqa: E402
from gui_timing import lateness_probe  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.data.sources import load_dataset  # noqa: E402
from engine.files.presets import load_preset  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402
from gui.app import build_app  # noqa: E402


def headless_rate(spec, splits, seconds: float) -> float:
    trainer = Trainer(spec, splits)
    for _ in range(20):
        trainer.step()
    start, seen = time.perf_counter(), trainer.samples_seen
    while time.perf_counter() - start < seconds:
        trainer.step()
    return (trainer.samples_seen - seen) / (time.perf_counter() - start)


def gui_run(spec, splits, seconds: float) -> tuple[np.ndarray, float, int]:
    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = tempfile.mkdtemp()
    settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
    app = build_app(settings=settings, spec=spec, splits=splits)
    app.window.resize(1600, 1000)
    app.window.show()
    from engine.data.datasets import load_bundled

    digit = load_bundled().images[1503]
    app.drawing.canvas.set_image(np.kron(digit, np.ones((10, 10), dtype=np.uint8)))
    frames = []
    app.controller.snapshot_ready.connect(lambda s: frames.append(s.step))
    clock = QElapsedTimer()
    app.controller.start()
    while app.controller.latest is None or app.controller.latest.step < 20:
        qt_app.processEvents()
    first = app.controller.latest
    clock.start()
    timer, lateness = lateness_probe(clock)
    timer.start()
    # The real event loop (it sleeps when idle, as in the app), stopped after ``seconds``.
    QTimer.singleShot(int(seconds * 1000), qt_app.quit)
    qt_app.exec()
    timer.stop()
    last = app.controller.latest
    rate = (last.samples_seen - first.samples_seen) / max(last.elapsed - first.elapsed, 1e-9)
    # Wall-clock rate is what a user sees: elapsed counts only time inside steps.
    wall = (last.samples_seen - first.samples_seen) / seconds
    app.window.close()
    app.shutdown()
    return np.array(lateness), min(rate, wall), len(frames)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    spec = load_preset("healthy").with_hyperparams(epochs=1000)
    splits = load_dataset(None)
    base = headless_rate(spec, splits, args.seconds)
    lateness, rate, frames = gui_run(spec, splits, args.seconds)
    p50, p95, p99 = np.percentile(lateness, [50, 95, 99])
    print(f"headless trainer:        {base:10,.0f} samples/s")
    print(
        f"with the full window:    {rate:10,.0f} samples/s  ({100 * rate / base:.0f}% of headless;"
        " target >= 85%)"
    )
    print(f"snapshots drawn:         {frames / args.seconds:10.1f} per second")
    print(
        f"10 ms timer lateness:    p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"
        f" (target p99 <= 50 ms; {len(lateness)} ticks)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
