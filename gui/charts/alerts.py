"""Gradient-health alerts in plain words, each with one-click fixes.

The logic lives in :mod:`engine.diagnostics.alerts`; this panel shows one card per kind of alert
(exploding, vanishing, dead ReLU, saturation) and turns a click on a fix into a request:
``spec_fix_requested(NetworkSpec)`` for a change of the network, or
``hyperparams_fix_requested(dict)`` with the Hyperparams fields to change. A card stays up for a
few snapshots after its problem was last seen, so a borderline layer does not make it flicker.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.diagnostics.alerts import Alert, Fix, Thresholds, detect
from engine.files.spec import NetworkSpec
from engine.snapshot import StepSnapshot

LINGER = 15  # snapshots (about half a second at 30 Hz) a card outlives its last detection
_COLOURS = {"error": "#d9534f", "warning": "#e0a030"}
IDLE_TEXT = "Alerts about vanishing or exploding gradients appear here while training runs."
HEALTHY_TEXT = "No gradient problems in the latest steps."


class AlertCard(QFrame):
    """One alert: a coloured title, the explanation and a button per fix."""

    fix_clicked = Signal(object)  # the Fix

    def __init__(self, alert: Alert, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # One fix per line: labels stay whole however narrow the dock is.
        self.buttons_row = QVBoxLayout()
        self.buttons_row.setContentsMargins(0, 0, 0, 0)
        self.buttons_row.setSpacing(3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addLayout(self.buttons_row)
        self.buttons: list[QPushButton] = []
        self.missed = 0  # consecutive snapshots without this alert
        self.alert = alert
        self.update_alert(alert)

    def update_alert(self, alert: Alert) -> None:
        """New numbers in place; the buttons are rebuilt only when the offered fixes change."""
        old_labels = [fix.label for fix in self.alert.fixes]
        self.alert = alert
        self.missed = 0
        colour = _COLOURS.get(alert.severity, "#e0a030")
        self.setStyleSheet(f"#alertCard {{ border: 2px solid {colour}; border-radius: 4px; }}")
        self.title.setText(f"<b style='color:{colour}'>⚠ {alert.title}</b>")
        if self.message.text() != alert.message:
            self.message.setText(alert.message)
        if old_labels != [fix.label for fix in alert.fixes] or not self.buttons:
            self._build_buttons(alert.fixes)
        else:
            for button, fix in zip(self.buttons, alert.fixes, strict=True):
                button.setProperty("fix", fix)

    def _build_buttons(self, fixes: tuple[Fix, ...]) -> None:
        for button in self.buttons:
            self.buttons_row.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        for fix in fixes:
            button = QPushButton(fix.label)
            button.setToolTip(fix.why)
            button.setStyleSheet("text-align: left; padding: 3px 8px;")
            button.setProperty("fix", fix)
            button.clicked.connect(self._on_clicked)
            self.buttons_row.addWidget(button)
            self.buttons.append(button)

    def button(self, label: str) -> QPushButton:
        return next(b for b in self.buttons if b.text() == label)

    def _on_clicked(self) -> None:
        button = self.sender()
        button.setEnabled(False)  # one click is enough; a rebuilt card offers it again
        self.fix_clicked.emit(button.property("fix"))


class GradientAlertsPanel(QWidget):
    """Cards for the current gradient problems, with the fixes the course teaches."""

    spec_fix_requested = Signal(object)  # NetworkSpec with the fix applied
    hyperparams_fix_requested = Signal(object)  # dict of Hyperparams field -> new value

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        thresholds: Thresholds | None = None,
        linger: int = LINGER,
    ) -> None:
        super().__init__(parent)
        self.thresholds = thresholds or Thresholds()
        self.linger = linger
        self.status = QLabel(IDLE_TEXT, wordWrap=True)
        self._cards_box = QVBoxLayout()
        self._cards_box.setSpacing(6)
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.addWidget(self.status)
        inner_layout.addLayout(self._cards_box)
        inner_layout.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap instead
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self._cards: dict[str, AlertCard] = {}
        self._spec: NetworkSpec | None = None

    # ------------------------------------------------------------------ public API
    def reset(self, spec: NetworkSpec) -> None:
        self._spec = spec
        for kind in list(self._cards):
            self._remove(kind)
        self.status.setText(IDLE_TEXT)
        self.status.setVisible(True)

    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        self._spec = snapshot.spec
        if snapshot.diagnostics is None:
            return
        alerts = detect(snapshot, self.thresholds)
        seen = {alert.key for alert in alerts}
        for alert in alerts:
            card = self._cards.get(alert.key)
            if card is None:
                card = self._cards[alert.key] = AlertCard(alert)
                card.fix_clicked.connect(self._apply)
                self._cards_box.addWidget(card)
            else:
                card.update_alert(alert)
        for kind in [k for k in self._cards if k not in seen]:
            self._cards[kind].missed += 1
            if self._cards[kind].missed > self.linger:
                self._remove(kind)
        self.status.setText("" if self._cards else HEALTHY_TEXT)
        self.status.setVisible(not self._cards)

    def cards(self) -> dict[str, AlertCard]:
        """The cards shown, by alert kind ("exploding", "vanishing", "dead_relu", "saturated")."""
        return dict(self._cards)

    # ------------------------------------------------------------------ internals
    def _remove(self, kind: str) -> None:
        card = self._cards.pop(kind)
        self._cards_box.removeWidget(card)
        card.deleteLater()
        self.status.setVisible(not self._cards)

    def _apply(self, fix: Fix) -> None:
        if fix.kind == "hyperparams":
            self.hyperparams_fix_requested.emit(dict(fix.changes))
        elif self._spec is not None:
            self.spec_fix_requested.emit(fix.apply(self._spec))
