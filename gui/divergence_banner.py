"""The red banner shown when training blew up: which layer turned NaN/Inf, and one-click fixes."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class DivergenceBanner(QFrame):
    reset_requested = Signal()
    lower_lr_requested = Signal()  # lower the learning rate ten times, then reset
    clip_requested = Signal()  # clip gradients at global norm 1, then reset

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("DivergenceBanner")
        self.setStyleSheet(
            "#DivergenceBanner { background: #fde2e1; border: 1px solid #d9534f;"
            " border-radius: 4px; }"
            " QLabel { color: #7a1f1c; }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        buttons = [
            (
                "Lower learning rate ×0.1 and reset",
                self.lower_lr_requested,
                "Divide the learning rate by ten and start again from fresh weights",
            ),
            (
                "Clip gradients (norm 1) and reset",
                self.clip_requested,
                "Rescale every step's "
                "gradient to global L2 norm at most 1 and start again from fresh weights",
            ),
            ("Reset weights", self.reset_requested, "Draw fresh weights and start again (Ctrl+R)"),
        ]
        self.buttons: list[QPushButton] = []
        for text, signal, tip in buttons:
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(signal)
            button.clicked.connect(self.hide)
            layout.addWidget(button)
            self.buttons.append(button)
        dismiss = QPushButton("✕")
        dismiss.setToolTip("Hide this message")
        dismiss.setFixedWidth(28)
        dismiss.clicked.connect(self.hide)
        layout.addWidget(dismiss)
        self.hide()

    def show_message(self, message: str) -> None:
        self.label.setText(f"<b>Training stopped: the numbers blew up.</b> {message}")
        self.show()
