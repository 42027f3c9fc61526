"""Root test configuration: Qt runs offscreen so the suite needs no display."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import engine  # noqa: F401  as main.py does: one BLAS thread, before NumPy loads
