"""Images as rows: the H×W×C layout shared by the convolution-side layers, their shape arithmetic,
and Flatten, the layer that hands a conv stack's features to Dense layers in PyTorch's order.

Layout decision (measured with benchmarks/conv.py and the prototypes it grew from):

- Every spatial layer takes and returns **2-D rows** ``(B, H·W·C)`` and knows its ``(H, W, C)``
  from construction. The network input already arrives as ``(B, 784)`` rows of 28×28×1 images, and
  activations, Dropout, diagnostics and snapshots all work on ``(B, features)``: with rows they run
  unchanged between conv layers. Viewing a row as ``(B, H, W, C)`` is a free reshape.
- Inside a row the order is **H, W, C** (channels last, NHWC). im2col then gives a
  ``(B·OH·OW, KH·KW·C)`` column matrix whose GEMM with ``W (KH·KW·C, OC)`` *is* the NHWC output:
  no transposed copy per layer (NCHW needs one each way, and its column scatter was slower: 5.8 vs
  3.3 ms for the backward of conv 8→16 3×3 on 14×14 at batch 64). Batch norm over channels is the
  ordinary BatchNorm on a ``(B·H·W, C)`` view. For a 1-channel input both layouts are the same.
- PyTorch is NCHW and ``nn.Flatten`` emits C, H, W order. Our Flatten reorders H, W, C rows into
  C, H, W (one small transposed copy: about 50k numbers at batch 64 after two pools), so every
  layer after it (Dense weights ``(C·H·W, out)``) maps to torch as a dense net does (``W.T``), and
  only conv kernels need a permutation at export (``Conv2D.weight_oihw``). Put a Flatten between
  the last spatial layer and the first Dense; without it the Dense would see H, W, C order.
"""

from __future__ import annotations

import math

import numpy as np

from engine.layers.base import Layer, fit_buffer

Shape3 = tuple[int, int, int]  # (H, W, C): height, width, channels; the batch is not included


def pair(value: int | tuple[int, int], what: str) -> tuple[int, int]:
    """``(h, w)`` from one int or a pair of ints; ValueError for anything else."""
    if isinstance(value, int | np.integer):
        items: tuple = (value, value)
    else:
        items = tuple(value) if isinstance(value, tuple | list) else ()
    if len(items) != 2 or not all(isinstance(v, int | np.integer) for v in items):
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    return int(items[0]), int(items[1])


def check_shape(shape: tuple[int, ...], what: str) -> Shape3:
    """A validated ``(H, W, C)`` tuple of positive ints."""
    if len(shape) != 3 or not all(isinstance(v, int | np.integer) and v >= 1 for v in shape):
        raise ValueError(f"{what}: input shape must be (height, width, channels) >= 1, got {shape}")
    return int(shape[0]), int(shape[1]), int(shape[2])


def window_output_size(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    what: str,
) -> tuple[int, int]:
    """``(OH, OW)`` of a sliding window, ``floor((n + 2·pad - k) / stride) + 1`` per axis (PyTorch's
    rule: windows that would run off the end are dropped).

    Raises ValueError with a plain sentence for a kernel < 1, stride < 1, negative padding, padding
    as large as the kernel (windows that see only padding), or a kernel larger than the padded
    input.
    """
    for axis, n, k, s, p in zip(("height", "width"), size, kernel, stride, padding, strict=True):
        if k < 1:
            raise ValueError(f"{what}: kernel {axis} must be >= 1, got {k}")
        if s < 1:
            raise ValueError(f"{what}: stride must be >= 1, got {s}")
        if p < 0:
            raise ValueError(f"{what}: padding must be >= 0, got {p}")
        if p >= k:
            raise ValueError(
                f"{what}: padding {p} is not smaller than the kernel {axis} {k}, so some windows "
                "would see only padding; use a smaller padding"
            )
        if k > n + 2 * p:
            raise ValueError(
                f"{what}: kernel {axis} {k} is larger than the input {axis} {n}"
                + (f" padded to {n + 2 * p}" if p else "")
            )
    return tuple(  # type: ignore[return-value]
        (n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding, strict=True)
    )


def conv_output_shape(
    input_shape: Shape3,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    *,
    what: str = "conv",
) -> Shape3:
    """``(OH, OW, out_channels)`` of a convolution, or ValueError saying why it is impossible."""
    h, w, _ = check_shape(input_shape, what)
    if out_channels < 1:
        raise ValueError(f"{what}: out_channels must be >= 1, got {out_channels}")
    oh, ow = window_output_size(
        (h, w),
        pair(kernel_size, f"{what}: kernel size"),
        pair(stride, f"{what}: stride"),
        pair(padding, f"{what}: padding"),
        what,
    )
    return oh, ow, int(out_channels)


def pool_output_shape(
    input_shape: Shape3,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    *,
    what: str = "pool",
) -> Shape3:
    """``(OH, OW, C)`` of a pooling window (stride defaults to the kernel), or ValueError."""
    h, w, c = check_shape(input_shape, what)
    kernel = pair(kernel_size, f"{what}: kernel size")
    strides = kernel if stride is None else pair(stride, f"{what}: stride")
    oh, ow = window_output_size((h, w), kernel, strides, (0, 0), what)
    return oh, ow, c


def format_shape(shape: tuple[int, ...]) -> str:
    """``"28x28x1"``: how shapes read in messages (H×W×C, the builder's convention)."""
    return "x".join(str(v) for v in shape)


class SpatialLayer(Layer):
    """A layer on rows ``(B, H·W·C)`` of images of a fixed ``input_shape`` (H, W, C).

    Subclasses set ``input_shape`` and ``_out_shape`` in ``__init__``; this class answers the shape
    questions and checks incoming rows.
    """

    input_shape: Shape3
    _out_shape: tuple[int, ...]

    def output_shape(self, input_shape: Shape3) -> tuple[int, ...]:
        """Output shape without the batch (``(OH, OW, C)``, or ``(features,)`` for Flatten).

        The layer runs only on the shape it was built for; ValueError for any other."""
        if tuple(input_shape) != self.input_shape:
            raise ValueError(
                f"{self.name}: built for {format_shape(self.input_shape)} input, "
                f"got {format_shape(tuple(input_shape))}"
            )
        return self._out_shape

    def output_features(self, input_features: int) -> int:
        if input_features != math.prod(self.input_shape):
            raise ValueError(
                f"{self.name}: expects {math.prod(self.input_shape)} input features "
                f"({format_shape(self.input_shape)}), got {input_features}"
            )
        return math.prod(self._out_shape)

    def _images(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(B, H·W·C)`` viewed as ``(B, H, W, C)``; ValueError for rows of another width."""
        if x.ndim != 2 or x.shape[1] != math.prod(self.input_shape):
            raise ValueError(
                f"{self.name}: expects rows of {math.prod(self.input_shape)} features "
                f"({format_shape(self.input_shape)}), got an array of shape {x.shape}"
            )
        return x.reshape(x.shape[0], *self.input_shape)


class Flatten(SpatialLayer):
    """Rows of H, W, C images -> rows of the same numbers in C, H, W order (PyTorch's flatten).

    Shapes: x ``(B, H·W·C)`` -> y ``(B, C·H·W)``; ``output_shape`` is ``(C·H·W,)``. With one
    channel the orders coincide and the layer returns its input (and gradient) itself.
    """

    kind = "flatten"

    def __init__(self, *, input_shape: Shape3, name: str = "flatten") -> None:
        self.name = name
        self.input_shape = check_shape(input_shape, name)
        self._out_shape = (math.prod(self.input_shape),)
        self.output: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        images = self._images(x)
        if self.input_shape[2] == 1:
            self.output = x
            return x
        self._y = y = fit_buffer(self._y, x)
        h, w, c = self.input_shape
        np.copyto(y.reshape(-1, c, h, w), images.transpose(0, 3, 1, 2))
        self.output = y
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        if not input_grad:
            return None
        if self.input_shape[2] == 1:
            return grad_out
        self._dx = dx = fit_buffer(self._dx, grad_out)
        h, w, c = self.input_shape
        np.copyto(dx.reshape(-1, h, w, c), grad_out.reshape(-1, c, h, w).transpose(0, 2, 3, 1))
        return dx
