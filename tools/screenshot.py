"""Make docs/screenshot.png: the real window mid-training on the healthy preset, a digit drawn.

QT_QPA_PLATFORM=offscreen python tools/screenshot.py [--steps 600] [--out docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the app does, before NumPy loads

import numpy as np  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.data.datasets import load_bundled  # noqa: E402
from engine.files.presets import load_preset  # noqa: E402
from gui.app import build_app  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--preset", default="healthy")
    args = parser.parse_args()
    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        app = build_app(settings=settings, spec=load_preset(args.preset))
        app.window.resize(1600, 1000)
        app.window.show()
        digit = load_bundled().images[1503]  # a handwritten 3
        app.drawing.canvas.set_image(np.kron(digit, np.ones((10, 10), dtype=np.uint8)))
        app.controller.start()
        while app.controller.latest is None or app.controller.latest.step < args.steps:
            qt_app.processEvents()
        app.controller.pause()
        while app.controller.status != "paused":
            qt_app.processEvents()
        for _ in range(50):
            qt_app.processEvents()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        app.window.grab().save(str(args.out))
        app.window.close()
        app.shutdown()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
