"""The 2-D convolution layer: im2col + one GEMM forward, one GEMM per backward product.

Rows ``(B, H·W·C)`` in H, W, C order (see engine/spatial.py for why). With ``M = B·OH·OW`` output
positions and ``K = KH·KW·C`` numbers per window:

- forward: copy every window into a column matrix (one strided copy from an ``as_strided`` view
  of the zero-padded input), then ``Y (M, OC) = cols (M, K) @ W (K, OC) + b``: Y is already the
  output rows, no transpose;
- backward: ``dW = cols.T @ dY`` and ``db = Σ dY``; the input gradient first takes every kernel
  offset's share ``dcols[k] (M, C) = dY @ W[k].T`` (one batched matmul), then col2im adds each of
  the KH·KW shares into its shifted, strided window of the padded input gradient.

Two layouts were measured where the obvious one was slow (benchmarks/conv.py, batch 64, one
thread). The column matrix of a 1-channel input has windows of only KW contiguous numbers; NumPy's
copy then runs a 3-element inner loop, and writing the columns transposed, ``(K, M)`` with runs of
OW numbers, made the im2col 8x faster (0.22 vs 1.7 ms at 28×28, 3×3); GEMMs take either orientation
at the same speed. And ``dcols`` as one ``(M, K)`` GEMM leaves col2im adding runs of only C numbers
(4.2 ms for C = 8 at 14×14), while the per-offset ``(KH·KW, M, C)`` layout makes each add a run of
OW·C numbers (0.9 ms) for a slower but cheaper-overall batched GEMM (1.6 vs 0.7 ms).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from engine.layers.initializers import initialize
from engine.layers.parameter import Parameter
from engine.layers.spatial import Shape3, SpatialLayer, check_shape, conv_output_shape, pair

#: Column layout switch: windows with fewer contiguous numbers (KW·C) than this are written
#: transposed, where NumPy's copy loops over runs of OW numbers instead. Measured for 3×3 at
#: 28×28 and 14×14, batch 64: transposed is faster up to C = 4 (KW·C = 12), slower from C = 6.
TRANSPOSED_COLUMNS_BELOW = 16


class Conv2D(SpatialLayer):
    """``out_channels`` filters of ``kernel_size`` over ``input_shape`` (H, W, C) images.

    Shapes: x ``(B, H·W·C)``, y ``(B, OH·OW·OC)``, both H, W, C order; W ``(KH·KW·C, OC)`` with
    rows in (kh, kw, c) order (``W.value.reshape(KH, KW, C, OC)`` is the kernel stack), b
    ``(OC,)``. ``OH = (H + 2·pad - KH) // stride + 1`` (likewise OW), as in PyTorch. Weights come
    from ``engine.layers.initializers`` with fan-in ``C·KH·KW`` (Xavier also uses fan-out
    ``OC·KH·KW``, as
    PyTorch does). The layer keeps references to its buffers, not to ``W.value`` (``pack`` rebinds
    parameter arrays).
    """

    kind = "conv"

    def __init__(
        self,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        *,
        input_shape: Shape3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        rng: np.random.Generator,
        init: str = "he",
        init_scale: float = 1.0,
        dtype: np.dtype | type = np.float32,
        name: str = "conv",
    ) -> None:
        self.name = name
        self.input_shape = check_shape(input_shape, name)
        self._out_shape = conv_output_shape(
            self.input_shape, out_channels, kernel_size, stride, padding, what=name
        )
        self.in_channels = self.input_shape[2]
        self.out_channels = int(out_channels)
        self.kernel_size = pair(kernel_size, f"{name}: kernel size")
        self.stride = pair(stride, f"{name}: stride")
        self.padding = pair(padding, f"{name}: padding")
        kh, kw = self.kernel_size
        fan_in = kh * kw * self.in_channels
        if init == "xavier":  # Glorot's fan-out for a conv is OC·KH·KW, not OC
            init_scale *= math.sqrt((fan_in + out_channels) / (fan_in + out_channels * kh * kw))
        weights = initialize(init, fan_in, out_channels, rng=rng, scale=init_scale, dtype=dtype)
        self.W = Parameter(f"{name}.W", weights, decay=True)
        self.b = Parameter(f"{name}.b", np.zeros(out_channels, dtype=dtype), decay=False)
        self._transposed = kw * self.in_channels < TRANSPOSED_COLUMNS_BELOW
        self.output: np.ndarray | None = None
        self._batch = -1  # batch size the buffers below are allocated for
        self._padded: np.ndarray | None = None  # (B, H+2ph, W+2pw, C), zero border
        self._cols: np.ndarray | None = None  # (M, K), or (K, M) when transposed
        self._y: np.ndarray | None = None  # (M, OC)
        self._ones: np.ndarray | None = None  # (M,), for the bias gradient
        self._dcols: np.ndarray | None = None  # (KH·KW, M, C)
        self._dpadded: np.ndarray | None = None  # (B, H+2ph, W+2pw, C)
        self._dx: np.ndarray | None = None  # (B, H·W·C)

    def _allocate(self, batch: int) -> None:
        """Buffers for a new batch size (or a first call): a step allocates nothing else."""
        h, w, c = self.input_shape
        oh, ow, oc = self._out_shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        m, k = batch * oh * ow, kh * kw * c
        dtype = self.W.value.dtype
        padded = ph or pw
        # Zeros, not empty: only the interior is ever written, the border must stay 0.
        self._padded = np.zeros((batch, h + 2 * ph, w + 2 * pw, c), dtype) if padded else None
        self._dpadded = np.zeros_like(self._padded) if padded else None
        self._cols = np.empty((k, m) if self._transposed else (m, k), dtype)
        self._y = np.empty((m, oc), dtype)
        self._ones = np.ones(m, dtype)
        self._dcols = None  # allocated by the first backward that needs it
        self._dx = None
        self._batch = batch

    def _windows(self, src: np.ndarray) -> np.ndarray:
        """Read-only view of every window of ``src`` (B, Hp, Wp, C), shaped like the columns:
        ``(B, OH, OW, KH, KW, C)``, or ``(KH, KW, C, B, OH, OW)`` when transposed."""
        sb, sh, sw, sc = src.strides
        (oh, ow, _), (kh, kw), (th, tw) = self._out_shape, self.kernel_size, self.stride
        outer = ((src.shape[0], oh, ow), (sb, sh * th, sw * tw))
        inner = ((kh, kw, src.shape[3]), (sh, sw, sc))
        first, second = (inner, outer) if self._transposed else (outer, inner)
        return as_strided(
            src, first[0] + second[0], first[1] + second[1], writeable=False, subok=False
        )

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        """``(B, H·W·C) -> (B, OH·OW·OC)``; ``training`` makes no difference to this layer."""
        images = self._images(x)
        if images.shape[0] != self._batch:
            self._allocate(images.shape[0])
        src = images
        if self._padded is not None:
            (h, w, _), (ph, pw) = self.input_shape, self.padding
            np.copyto(self._padded[:, ph : ph + h, pw : pw + w], images)
            src = self._padded
        windows = self._windows(src)
        cols = self._cols
        np.copyto(cols.reshape(windows.shape), windows)
        y = self._y
        np.matmul(cols.T if self._transposed else cols, self.W.value, out=y)
        # The bias repeated along an output row: adding an OC-vector to (M, OC) runs an
        # OC-number inner loop per row, 3x slower for OC = 8 at 28×28.
        _, ow, oc = self._out_shape
        wide = y.reshape(-1, ow * oc)
        wide += np.tile(self.b.value, ow)
        self.output = out = y.reshape(images.shape[0], -1)
        return out

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Write dW and db; return dx ``(B, H·W·C)``, or None when ``input_grad`` is False."""
        if self.output is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        g = grad_out.reshape(-1, self.out_channels)  # (M, OC)
        cols = self._cols
        np.matmul(cols if self._transposed else cols.T, g, out=self.W.grad)
        # Not add.reduce(axis=0): over M rows of OC numbers it runs an OC-number inner loop per
        # row (1.4 ms for 50176 × 8); the matrix-vector product takes 0.09 ms.
        np.matmul(self._ones, g, out=self.b.grad)
        if not input_grad:
            return None
        return self._input_gradient(g)

    def _input_gradient(self, g: np.ndarray) -> np.ndarray:
        batch = self._batch
        h, w, c = self.input_shape
        oh, ow, oc = self._out_shape
        (kh, kw), (th, tw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if self._dcols is None:
            self._dcols = np.empty((kh * kw, g.shape[0], c), self._y.dtype)
            self._dx = np.empty((batch, h * w * c), self._y.dtype)
        dcols = self._dcols
        weights = self.W.value
        if c == 1:  # a single GEMM gives the same layout
            np.matmul(weights, g.T, out=dcols.reshape(kh * kw, -1))
        else:
            np.matmul(g, weights.reshape(kh * kw, c, oc).transpose(0, 2, 1), out=dcols)
        dx4 = self._dx.reshape(batch, h, w, c)
        target = dx4 if self._dpadded is None else self._dpadded
        target.fill(0)
        shares = dcols.reshape(kh, kw, batch, oh, ow, c)
        for i in range(kh):
            rows = slice(i, i + th * (oh - 1) + 1, th)
            for j in range(kw):
                window = target[:, rows, j : j + tw * (ow - 1) + 1 : tw]
                window += shares[i, j]
        if self._dpadded is not None:
            np.copyto(dx4, self._dpadded[:, ph : ph + h, pw : pw + w])
        return self._dx

    def parameters(self) -> list[Parameter]:
        return [self.W, self.b]

    def weight_oihw(self, matrix: np.ndarray | None = None) -> np.ndarray:
        """The kernels (or ``matrix``, e.g. ``W.grad``, laid out like W) in PyTorch's
        ``Conv2d.weight`` layout ``(OC, C, KH, KW)``, as a new array."""
        kh, kw = self.kernel_size
        matrix = self.W.value if matrix is None else matrix
        kernels = matrix.reshape(kh, kw, self.in_channels, self.out_channels)
        return np.ascontiguousarray(kernels.transpose(3, 2, 0, 1))
