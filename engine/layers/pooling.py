"""Max and average pooling over KH×KW windows of H, W, C image rows (no parameters).

Both loop over the KH·KW kernel offsets (never over samples): offset (i, j) sees the strided view
``x[:, i::stride, j::stride, :]`` cut to ``(B, OH, OW, C)``, so a 2×2 pool is four whole-array
operations each way. Windows that would run off the end are dropped (PyTorch's default, no
padding). Measured at 28×28×8, batch 64: these operations are memory-bound (about 0.1-0.2 ms
each), so what counts is how many there are; a two-stage variant (rows, then columns, whose row
stage runs long contiguous loops) was no faster for 2×2 (1.24 vs 1.33 ms backward) and routes
ties differently from PyTorch, so the one-stage form stays.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from engine.layers.base import fit_buffer
from engine.layers.spatial import Shape3, SpatialLayer, check_shape, pair, pool_output_shape


class _Pool(SpatialLayer):
    """Shared shape handling, buffers and the offset views of a pooling layer."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int] = 2,
        *,
        input_shape: Shape3,
        stride: int | tuple[int, int] | None = None,
        name: str | None = None,
    ) -> None:
        """``stride`` defaults to the kernel size (windows side by side); ``name`` to the kind."""
        self.name = name = self.kind if name is None else name
        self.input_shape = check_shape(input_shape, name)
        self._out_shape = pool_output_shape(self.input_shape, kernel_size, stride, what=name)
        self.kernel_size = pair(kernel_size, f"{name}: kernel size")
        self.stride = self.kernel_size if stride is None else pair(stride, f"{name}: stride")
        (kh, kw), (sh, sw), (oh, ow, _) = self.kernel_size, self.stride, self._out_shape
        h, w, _ = self.input_shape
        # Disjoint windows let backward write each offset's share with ``=``; disjoint windows
        # that also cover every pixel need no zeroing of dx first.
        self._disjoint = sh >= kh and sw >= kw
        self._covering = (sh, sw) == (kh, kw) and (oh * kh, ow * kw) == (h, w)
        self.output: np.ndarray | None = None
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._scratch: np.ndarray | None = None  # (B, OH·OW·C): a share to add

    def _offsets(self, images: np.ndarray) -> Iterator[np.ndarray]:
        """The ``(B, OH, OW, C)`` view of ``images`` under each kernel offset, row-major."""
        (kh, kw), (sh, sw), (oh, ow, _) = self.kernel_size, self.stride, self._out_shape
        for i in range(kh):
            for j in range(kw):
                yield images[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]

    def _forward(self, x: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
        """``y = ufunc(view_0, view_1, ...)`` over the offset views (no first copy); returns y
        as ``(B, OH, OW, C)``."""
        views = list(self._offsets(self._images(x)))
        y = self._y
        width = int(np.prod(self._out_shape))
        if y is None or y.shape != (x.shape[0], width) or y.dtype != x.dtype:
            y = self._y = np.empty((x.shape[0], width), dtype=x.dtype)
        y4 = self._as_images_out(y)
        if len(views) == 1:
            np.copyto(y4, views[0])
        else:
            ufunc(views[0], views[1], out=y4)
            for view in views[2:]:
                ufunc(y4, view, out=y4)
        self._x = x
        self.output = y
        return y4

    def _as_images_out(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[0], *self._out_shape)

    def _dx_offsets(self) -> list[np.ndarray]:
        """The offset views of the input-gradient buffer, zeroed unless every pixel gets exactly
        one share."""
        if self._x is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        self._dx = dx = fit_buffer(self._dx, self._x)
        if not self._covering:
            dx.fill(0)
        return list(self._offsets(dx.reshape(dx.shape[0], *self.input_shape)))

    def _scratch_like(self, grad_out: np.ndarray) -> np.ndarray:
        self._scratch = scratch = fit_buffer(self._scratch, grad_out)
        return self._as_images_out(scratch)


class MaxPool2D(_Pool):
    """The maximum of each window. Shapes: x ``(B, H·W·C)`` -> y ``(B, OH·OW·C)``.

    Backward routes each window's gradient to its maximum; when several numbers tie for it, to the
    first in row-major (kh, kw) order, as PyTorch does, so a gradient is never duplicated.
    """

    kind = "maxpool"
    _hit: np.ndarray | None = None  # where an offset holds the window's maximum
    _taken: np.ndarray | None = None  # windows whose maximum an earlier offset held

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        self._forward(x, np.maximum)
        return self.output

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        if not input_grad:
            return None
        dx_views = self._dx_offsets()
        g4, y4 = self._as_images_out(grad_out), self._as_images_out(self.output)
        if self._hit is None or self._hit.shape != g4.shape:
            self._hit = np.empty(g4.shape, dtype=bool)
            self._taken = np.empty(g4.shape, dtype=bool)
        hit, taken = self._hit, self._taken
        share = None if self._disjoint else self._scratch_like(grad_out)
        last = len(dx_views) - 1
        x_views = self._offsets(self._images(self._x))
        for k, (x_view, dx_view) in enumerate(zip(x_views, dx_views, strict=True)):
            if k == 0:
                np.equal(x_view, y4, out=hit)
                np.copyto(taken, hit)
            elif k < last:
                np.equal(x_view, y4, out=hit)
                np.greater(hit, taken, out=hit)  # hit and not taken: the first maximum wins
                np.logical_or(taken, hit, out=taken)
            else:  # the last offset holds the maximum of every window no earlier one did
                np.logical_not(taken, out=hit)
            if share is None:
                np.multiply(g4, hit, out=dx_view)
            else:
                np.multiply(g4, hit, out=share)
                dx_view += share
        return self._dx


class AvgPool2D(_Pool):
    """The mean of each window. Shapes: x ``(B, H·W·C)`` -> y ``(B, OH·OW·C)``; backward spreads
    each window's gradient evenly over its KH·KW numbers."""

    kind = "avgpool"

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        y4 = self._forward(x, np.add)
        y4 *= 1.0 / (self.kernel_size[0] * self.kernel_size[1])
        return self.output

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        if not input_grad:
            return None
        dx_views = self._dx_offsets()
        share = self._scratch_like(grad_out)
        scale = 1.0 / (self.kernel_size[0] * self.kernel_size[1])
        np.multiply(self._as_images_out(grad_out), scale, out=share)
        for dx_view in dx_views:
            if self._disjoint:
                np.copyto(dx_view, share)
            else:
                dx_view += share
        return self._dx
