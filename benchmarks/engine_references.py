"""The references benchmarks/engine.py measures the engine against: a lean NumPy loop and PyTorch.

Both train the same MLP (Dense layers with ReLU or sigmoid, softmax cross-entropy, SGD with
momentum) on full batches in a fresh shuffled order each epoch, from the engine's initial weights,
gathering each batch from uint8 images and converting it to floats as the engine does.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np

from engine.layers.network import Network

LEARNING_RATE = 0.01
MOMENTUM = 0.9
StepFn = Callable[[], int]  # trains one batch, returns its size, or 0 when it is not to be timed


def initial_weights(network: Network) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W (in, out), b (out,)) of every Dense layer, input side first."""
    params = [p.value.copy() for p in network.parameters()]  # W, b of each Dense layer in order
    return list(zip(params[::2], params[1::2], strict=True))


class Batches:
    """Full batches of (flat uint8 images, labels) in a fresh shuffled order every epoch."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch: int) -> None:
        self.images = np.array(images.reshape(len(images), -1), copy=True)  # writable for torch
        self.labels = labels.astype(np.intp)
        self.batch = batch
        self.rng = np.random.default_rng(0)
        self.order = self.rng.permutation(len(labels))
        self.position = 0

    def next_indices(self) -> np.ndarray | None:
        """Indices of the next batch, or None (after reshuffling) at the end of an epoch."""
        start = self.position
        if start + self.batch > len(self.order):
            self.order = self.rng.permutation(len(self.order))
            self.position = 0
            return None
        self.position = start + self.batch
        return self.order[start : self.position]


# ---------------------------------------------------------------------- lean NumPy reference
class LeanNumpy:
    """The same MLP and momentum SGD written directly in NumPy with preallocated buffers."""

    def __init__(self, weights: list, activation: str, data: Batches) -> None:
        self.data, self.sigmoid, batch = data, activation == "sigmoid", data.batch
        self.params = [a.copy() for pair in weights for a in pair]  # W1, b1, W2, b2, ...
        self.grads = [np.empty_like(p) for p in self.params]
        self.velocity = [np.zeros_like(p) for p in self.params]
        self.tmp = [np.empty_like(p) for p in self.params]
        self.z = [np.empty((batch, w.shape[1]), np.float32) for w, _ in weights]
        self.d = [np.empty((batch, w.shape[0]), np.float32) for w, _ in weights]
        self.scratch = [np.empty((batch, w.shape[0]), np.float32) for w, _ in weights]
        self.mask = [np.empty((batch, w.shape[0]), bool) for w, _ in weights]
        self.u8, self.x = np.empty((batch, 784), np.uint8), np.empty((batch, 784), np.float32)
        self.col, self.rows = np.empty((batch, 1), np.float32), np.arange(batch)

    def step(self) -> int:
        idx = self.data.next_indices()
        if idx is None:
            return 0
        batch = len(idx)
        W, b, gW, gb = self.params[::2], self.params[1::2], self.grads[::2], self.grads[1::2]
        np.take(self.data.images, idx, axis=0, out=self.u8)
        np.divide(self.u8, np.float32(255.0), out=self.x)
        last, h = len(W) - 1, self.x
        for i, z in enumerate(self.z):
            np.matmul(h, W[i], out=z)
            z += b[i]
            if i < last and self.sigmoid:  # as the engine computes it: 0.5 + 0.5 tanh(z / 2)
                z *= 0.5
                np.tanh(z, out=z)
                z *= 0.5
                z += 0.5
            elif i < last:
                np.maximum(z, 0, out=z)
            h = z
        p = self.z[last]  # softmax in place: (p - onehot) / B is the logit gradient
        np.maximum.reduce(p, axis=1, keepdims=True, out=self.col)
        p -= self.col
        np.exp(p, out=p)
        np.add.reduce(p, axis=1, keepdims=True, out=self.col)
        p /= self.col
        p[self.rows, self.data.labels[idx]] -= 1.0
        p *= 1.0 / batch
        g = p
        for i in range(last, -1, -1):
            a = self.z[i - 1] if i else self.x
            # At batch 1, np.dot reaches BLAS for the outer product and matmul does not.
            (np.dot if batch == 1 else np.matmul)(a.T, g, out=gW[i])
            np.add.reduce(g, axis=0, out=gb[i])
            if i:
                np.matmul(g, W[i].T, out=self.d[i])
                if self.sigmoid:  # sigmoid' = a (1 - a)
                    np.subtract(1.0, a, out=self.scratch[i])
                    self.scratch[i] *= a
                    self.d[i] *= self.scratch[i]
                else:
                    self.d[i] *= np.greater(a, 0, out=self.mask[i])
                g = self.d[i]
        for p, grad, v, t in zip(self.params, self.grads, self.velocity, self.tmp, strict=True):
            v *= MOMENTUM
            v -= np.multiply(grad, LEARNING_RATE, out=t)
            p += v
        return batch


# ---------------------------------------------------------------------- PyTorch
def torch_step(torch: ModuleType, weights: list, activation: str, data: Batches) -> StepFn:
    """The same network, batches and update in PyTorch; starts from the same weights."""
    nn = torch.nn
    layers = []
    for i, (w, b) in enumerate(weights):
        linear = nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(nn.Sigmoid() if activation == "sigmoid" else nn.ReLU())
    model = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    images = torch.from_numpy(data.images)  # uint8, converted per batch like the engine's
    labels = torch.from_numpy(data.labels.astype(np.int64))

    def step() -> int:
        idx = data.next_indices()
        if idx is None:
            return 0
        rows = torch.from_numpy(idx)
        x = images.index_select(0, rows).float().div_(255.0)
        loss = loss_fn(model(x), labels.index_select(0, rows))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return len(idx)

    return step


def import_torch() -> ModuleType | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch
