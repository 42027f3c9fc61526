"""Work around PySide6 6.12 releasing references to ``None`` and ``True`` it never took.

Measured here (PySide6-Essentials 6.12.0, CPython 3.11.7):
- every call of a void Qt method (``QObject.setObjectName``, ``QWidget.update``,
  ``QPainter.fillRect``, ...) lowers ``sys.getrefcount(None)`` by one;
- every ``Signal.emit(...)`` lowers ``sys.getrefcount(True)`` by one.
From Python 3.12 these singletons are immortal and this is harmless. On 3.10/3.11 the count reaches
zero after some ten thousand calls (seconds of drawing or live plotting) and the interpreter aborts
with "Fatal Python error: none_dealloc: deallocating None" (or ``bool_dealloc``).

:func:`protect_singletons` adds a huge constant to the reference counts of ``None``, ``True``
and ``False`` once, which is what Python 3.12 does by design: they can never be deallocated, so
nothing else changes. Call it before creating the QApplication.
"""

from __future__ import annotations

import ctypes
import sys

#: 2**50 references: at a million leaked releases a second this lasts about 35 years.
_HEADROOM = 1 << 50
_applied = False


def protect_singletons() -> None:
    """Put None/True/False out of reach of leaked releases (no-op from Python 3.12)."""
    global _applied
    if _applied or sys.version_info >= (3, 12):
        return
    for singleton in (None, True, False):
        # ob_refcnt is the first field (Py_ssize_t) of every object in the (non-debug) CPython ABI.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _HEADROOM
    _applied = True
