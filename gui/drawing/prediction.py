"""Live prediction for the current drawing: probability bars, the answer (or "unsure"), what the
network sees (the preprocessed 28×28) with a saliency overlay, and hidden-layer activations.

It renders what it is given: ``set_drawing`` (the canvas image) and ``set_snapshot`` (newest
weights). Weights are copied into the panel's own eval-mode network (:class:`engine.inference.
Predictor`) only when a snapshot arrives and a drawing needs predicting, so a prediction never sees
an array the trainer is halfway through updating, and an idle panel costs nothing while training.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.data.preprocess import EmptyDrawingError, to_mnist
from engine.files.spec import NetworkSpec, SpecError
from engine.inference import Predictor
from engine.snapshot import StepSnapshot
from gui.drawing.prediction_widgets import ActivationStrips, ProbabilityBars, SeenImage

#: Below this top-class probability the panel says it is unsure instead of naming a digit.
DEFAULT_UNSURE_THRESHOLD = 0.6


def _architecture(spec: NetworkSpec) -> tuple:
    """What decides the shape of the weights (hyperparameters do not)."""
    return (spec.layers, spec.output, spec.loss)


class PredictionPanel(QWidget):
    """See module docstring. Signals:

    - ``preprocessed(object)``: the (28, 28) uint8 the network sees now, or None for no drawing;
    - ``prediction_updated(object)``: the (10,) probabilities just shown, or None.
    """

    preprocessed = Signal(object)
    prediction_updated = Signal(object)

    def __init__(
        self, parent: QWidget | None = None, unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD
    ) -> None:
        super().__init__(parent)
        self._threshold = unsure_threshold
        self._image28: np.ndarray | None = None
        self._snapshot: StepSnapshot | None = None
        self._predictor: Predictor | None = None
        self._stale = False  # a snapshot arrived after the predictor's weights were loaded
        self._error = ""
        self._probs: np.ndarray | None = None
        self._selected = -1  # saliency class picked by clicking a bar; -1 follows the answer

        self._answer = QLabel()
        self._answer.setObjectName("answer")
        font = self._answer.font()
        font.setPointSizeF(font.pointSizeF() * 2.6)
        font.setBold(True)
        self._answer.setFont(font)
        self._answer.setMinimumWidth(48)
        self._answer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._detail = QLabel()
        self._detail.setWordWrap(True)
        self._bars = ProbabilityBars()
        self._bars.bar_clicked.connect(self._bar_clicked)
        self._seen = SeenImage()
        self._overlay = QCheckBox("Saliency")
        self._overlay.setChecked(True)
        self._overlay.setToolTip(
            "Backpropagation all the way to the input: how much each pixel would raise (red) or "
            "lower (blue) the score of the chosen digit if it got brighter. Click a bar to choose "
            "the digit."
        )
        self._overlay.toggled.connect(self._refresh)
        self._legend = QLabel()
        self._strips = ActivationStrips()

        answer_row = QHBoxLayout()
        answer_row.addWidget(self._answer)
        answer_row.addWidget(self._detail, 1)
        # Short, unwrapped labels beside the image: a squeezed dock must not make text overlap.
        seen_title = QLabel("<b>What the<br>network sees</b>")
        seen_note = QLabel("the 28 × 28 input\nafter preprocessing")
        seen_note.setToolTip(
            "Your drawing as the network gets it, made the way MNIST was: cropped to the ink, "
            "scaled so the longer side is 20 px, centred by its centre of mass in 28 × 28."
        )
        side = QVBoxLayout()
        for widget in (seen_title, seen_note, self._overlay, self._legend):
            side.addWidget(widget)
        side.addStretch(1)
        seen_row = QHBoxLayout()
        seen_row.addWidget(self._seen, 1)
        seen_row.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(answer_row)
        layout.addWidget(self._bars, 2)
        layout.addLayout(seen_row, 2)
        layout.addWidget(QLabel("<b>Hidden-layer activations</b>"))
        layout.addWidget(self._strips)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._refresh()

    # ------------------------------------------------------------------ inputs
    def set_drawing(self, image: np.ndarray | None) -> None:
        """The canvas image ((H, W) uint8, any polarity) or None; preprocessed and predicted."""
        image28 = None
        if image is not None and np.asarray(image).any():
            try:
                image28 = to_mnist(np.asarray(image))
            except EmptyDrawingError:
                image28 = None
        self._image28 = image28
        self._seen.set_image(image28)
        self.preprocessed.emit(image28)
        self._refresh()

    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        """Newest weights; the current drawing (if any) is predicted again with them."""
        self._snapshot = snapshot
        self._stale = True
        if self._image28 is not None:
            self._refresh()

    def reset(self, spec: NetworkSpec) -> None:
        """The network was rebuilt: forget the old weights until the next snapshot."""
        self._snapshot = None
        self._predictor = None
        self._stale = False
        self._selected = -1
        self._refresh()

    def set_unsure_threshold(self, threshold: float) -> None:
        """Top-class probability below which the answer is "unsure" (0..1)."""
        self._threshold = float(threshold)
        self._refresh()

    # ------------------------------------------------------------------ state (callers, tests)
    def probabilities(self) -> np.ndarray | None:
        """The (10,) probabilities on display, or None when nothing is predicted."""
        return None if self._probs is None else self._probs.copy()

    def prediction(self) -> int | None:
        """The digit named as the answer, or None (no drawing, no network, or unsure)."""
        if self._probs is None or self._probs.max() < self._threshold:
            return None
        return int(np.argmax(self._probs))

    def seen_image(self) -> np.ndarray | None:
        return None if self._image28 is None else self._image28.copy()

    def answer_text(self) -> str:
        return f"{self._answer.text()} {self._detail.text()}".strip()

    def error_text(self) -> str:
        """Why no prediction could be made although there is a drawing ("" when fine)."""
        return self._error

    # ------------------------------------------------------------------ work
    def _current_predictor(self) -> Predictor | None:
        snapshot = self._snapshot
        if snapshot is None:
            return None
        if self._predictor is not None and not self._stale:
            return self._predictor
        try:
            same_shape = self._predictor is not None and _architecture(
                self._predictor.spec
            ) == _architecture(snapshot.spec)
            if same_shape:
                # Same architecture: copy the new weights into our own network (no rebuild).
                self._predictor.network.load_arrays(snapshot.weights, strict=True)
            else:
                self._predictor = Predictor(snapshot.spec, snapshot.weights)
        except (ValueError, SpecError) as exc:
            self._predictor = None
            self._error = f"Cannot use these weights: {exc}"
            return None
        self._stale = False
        return self._predictor

    def _refresh(self) -> None:
        self._error = ""
        probs = None
        saliency = None
        hidden = None
        image28 = self._image28
        predictor = self._current_predictor() if image28 is not None else None
        if image28 is None:
            self._show("", "Draw a digit: the network's guess appears here.")
        elif predictor is None:
            self._show("?", self._error or "No trained network yet: start training.")
        else:
            probs = predictor.predict_proba(image28[None])[0].astype(np.float64)
            if not np.isfinite(probs).all():
                self._error = "Weights are NaN/Inf (training diverged): reset the network."
                self._show("!", self._error)
                probs = None
            else:
                top = int(np.argmax(probs))
                confidence = float(probs[top])
                if confidence >= self._threshold:
                    self._show(str(top), f"{confidence:.0%} sure")
                else:
                    self._show("?", f"Unsure: maybe a {top} ({confidence:.0%})")
                cls = self._selected if self._selected >= 0 else top
                if self._overlay.isChecked():
                    saliency = predictor.saliency(image28, cls)
                    self._legend.setText(
                        f"Why {cls}?<br><span style='color:#ff5a3c'>■</span> raises its score"
                        f"<br><span style='color:#4f86ff'>■</span> lowers it"
                    )
                # Dropout is the identity at prediction time: its strip would repeat the last one.
                hidden = [
                    (name, values)
                    for name, values in predictor.hidden_activations(image28)
                    if not name.startswith("dropout")
                ]
        if saliency is None:
            self._legend.setText("")
        self._probs = probs
        unsure = probs is not None and float(probs.max()) < self._threshold
        self._bars.set_probabilities(probs, unsure=unsure, selected=self._selected)
        self._seen.set_saliency(saliency)
        self._strips.set_activations(hidden)
        self.prediction_updated.emit(None if probs is None else probs.copy())

    def _show(self, answer: str, detail: str) -> None:
        self._answer.setText(answer)
        self._detail.setText(detail)
        self._detail.setToolTip(
            f"The panel names a digit only when its probability is at least {self._threshold:.0%}."
        )

    def _bar_clicked(self, digit: int) -> None:
        self._selected = -1 if digit == self._selected else digit
        self._refresh()
