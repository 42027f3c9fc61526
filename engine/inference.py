"""Eval-mode predictions from a snapshot's weights: safe on the GUI thread while training runs.

A Predictor owns its own network copy, so the trainer's arrays are never read half-updated.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine.data.datasets import to_float
from engine.files.spec import NetworkSpec
from engine.layers.network import build_network


class Predictor:
    """An eval-mode network built from ``spec`` and loaded with ``weights`` (by name)."""

    def __init__(self, spec: NetworkSpec, weights: Mapping[str, np.ndarray]) -> None:
        self.spec = spec
        self.network = build_network(spec, np.random.default_rng(0), np.float32)
        self.network.load_arrays(weights, strict=True)

    @staticmethod
    def _as_input(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype == np.uint8:
            return to_float(images.reshape(-1, 28, 28))
        return images.reshape(-1, 784).astype(np.float32, copy=False)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """images: (n, 28, 28) uint8 or (n, 784) floats in [0, 1] -> probabilities (n, 10)."""
        return self.network.predict_proba(self._as_input(images)).copy()

    def saliency(self, image: np.ndarray, cls: int) -> np.ndarray:
        """d(logit of ``cls``)/d(pixel) for one 28×28 image: backpropagation down to the input."""
        net = self.network
        logits = net.forward(self._as_input(image), training=False)
        seed = np.zeros_like(logits)
        seed[0, cls] = 1.0
        grad = net.backward(seed, input_grad=True)
        return np.asarray(grad, dtype=np.float64).reshape(28, 28)

    def hidden_activations(self, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """(block name, output vector) for every block but the output, for one image."""
        self.network.forward(self._as_input(image), training=False)
        return [
            (block.name, np.array(block.output[0], dtype=np.float64))
            for block in self.network.blocks[:-1]
        ]
