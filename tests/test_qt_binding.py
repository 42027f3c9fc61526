"""The installed Qt binding must not leak releases of None/True (PySide6 6.12.0 on Python < 3.12
does, and the app aborts after a few thousand calls); pyproject.toml pins around it."""

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget


class _Emitter(QObject):
    fired = Signal(object)


def test_signal_emit_keeps_the_refcount_of_true(qapp):
    emitter = _Emitter()
    emitter.fired.connect(lambda _value: None)
    before = sys.getrefcount(True)
    for _ in range(2000):
        emitter.fired.emit(1)
    assert sys.getrefcount(True) >= before - 10


def test_void_calls_keep_the_refcount_of_none(qapp):
    widget = QWidget()
    before = sys.getrefcount(None)
    for _ in range(2000):
        widget.update()
    assert sys.getrefcount(None) >= before - 10
