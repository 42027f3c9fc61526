"""How late a 10 ms GUI-thread timer fires: the responsiveness measure of the GUI benchmarks."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QTimer


def lateness_probe(clock: QElapsedTimer) -> tuple[QTimer, list[float]]:
    lateness: list[float] = []
    expected = [clock.nsecsElapsed() / 1e6 + 10.0]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        lateness.append(max(0.0, now - expected[0]))
        expected[0] = now + 10.0

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    return timer, lateness
