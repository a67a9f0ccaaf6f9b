"""im2col and col2im: the adjoint pair that convolution and pooling are built from.

Unfold copies every kernel-sized window of an NCHW image into its own row ("im2col"), so a
convolution becomes one matrix product. Fold adds the windows back into an image ("col2im").
Each is the other's backward, so gradients of any order work. MaxPool2d keeps where each window's
maximum is, and MaxUnpool sends gradients there. On the GPU all four run our kernels
(kernels/im2col.cu); elsewhere they are NumPy/CuPy array code.
Derivations: docs/derivations/conv.md
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..autograd import Function
from ..backend import over_batch
from ..cuda import im2col as gpu
from ..cuda.launch import supported
from ..tensor import Tensor
from .precision import matmul_in_float32


def _pair(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {value!r}")
    return int(pair[0]), int(pair[1])


@dataclass(frozen=True)
class Window:
    """Kernel size, stride, padding and dilation, each as (height, width)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]

    @classmethod
    def of(cls, kernel_size, stride=1, padding=0, dilation=1) -> Window:
        window = cls(_pair(kernel_size, "kernel_size"), _pair(stride, "stride"),
                     _pair(padding, "padding"), _pair(dilation, "dilation"))  # fmt: skip
        if min(window.kernel + window.stride + window.dilation) < 1 or min(window.padding) < 0:
            raise ValueError(f"invalid window {window}: sizes must be >= 1 and padding >= 0")
        return window

    def output_size(self, height: int, width: int, op: str) -> tuple[int, int]:
        """Positions of the window along each axis: (H + 2p - d(k - 1) - 1) // s + 1."""
        sizes = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip(
                (height, width), self.kernel, self.stride, self.padding, self.dilation
            )
        )
        if min(sizes) < 1:
            raise ValueError(
                f"{op}: input of size {(height, width)} is smaller than the kernel {self.kernel} "
                f"(dilation {self.dilation}, padding {self.padding})"
            )
        return sizes


def window_offsets(window: Window, out_height: int, out_width: int):
    """For each kernel offset (a, b): the slices of the padded image that offset reads across all
    window positions. Looping over the KH·KW offsets, with whole-array work inside, is how the
    NumPy paths avoid both per-pixel loops and copies of 6-D strided views."""
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (out_height - 1) + 1, sh)
            columns = slice(b * dw, b * dw + sw * (out_width - 1) + 1, sw)
            yield a, b, rows, columns


def channels_last_zeros(xp, n: int, height: int, width: int, channels: int, window: Window, dtype):
    """A zero (N, H + 2p, W + 2p, C) image. The offset loops work channels last because the
    columns keep C next to the kernel axes: each offset's slice then moves C values at a time
    instead of one (measured 2.3x faster for Fold, 1.4x for Unfold, 8 channels at 28×28)."""
    (ph, pw) = window.padding
    return xp.zeros((n, height + 2 * ph, width + 2 * pw, channels), dtype=dtype)


def im2col(xp, x, window: Window):
    """Unfold's forward on an array: (N, C, H, W) -> windows (N, OH, OW, C, KH, KW)."""
    if supported(x):
        return gpu.im2col(x, window)
    n, channels, height, width = x.shape
    oh, ow = window.output_size(height, width, "unfold")
    cols = xp.empty((n, oh, ow, channels, *window.kernel), dtype=x.dtype)
    over_batch(functools.partial(_im2col_into, xp, window), cols.size, x, cols)
    return cols


def _im2col_into(xp, window: Window, x, cols) -> None:
    n, channels, height, width = x.shape
    (ph, pw), (oh, ow) = window.padding, cols.shape[1:3]
    image = channels_last_zeros(xp, n, height, width, channels, window, x.dtype)
    image[:, ph : ph + height, pw : pw + width] = x.transpose(0, 2, 3, 1)
    for a, b, rows, columns in window_offsets(window, oh, ow):
        cols[:, :, :, :, a, b] = image[:, rows, columns]


def col2im(xp, cols, input_shape, window: Window):
    """Fold's forward on an array: windows (N, OH, OW, C, KH, KW) summed into (N, C, H, W)."""
    if supported(cols):
        return gpu.col2im(cols, input_shape, window)
    n, channels, height, width = input_shape
    (ph, pw) = window.padding
    image = channels_last_zeros(xp, n, height, width, channels, window, cols.dtype)
    over_batch(functools.partial(_col2im_into, window), cols.size, cols, image)
    return image[:, ph : ph + height, pw : pw + width].transpose(0, 3, 1, 2)


def _col2im_into(window: Window, cols, image) -> None:
    for a, b, rows, columns in window_offsets(window, *cols.shape[1:3]):
        image[:, rows, columns] += cols[:, :, :, :, a, b]


class Unfold(Function):
    """im2col: cols[n, i, j, c, a, b] = x_padded[n, c, i·s + a·d, j·s + b·d] (for each axis).

    Backward: gx = fold(gcols): every window element's gradient is added back to the pixel it was
    copied from (pixels shared by overlapping windows collect several).
    """

    def forward(self, x, window: Window):
        self.window, self.input_shape = window, x.shape
        return im2col(self.xp, x, window)

    def backward(self, gy):
        return Fold.apply(gy, input_shape=self.input_shape, window=self.window)


class Fold(Function):
    """col2im: x[n, c, i·s + a·d, j·s + b·d] += cols[n, i, j, c, a, b], then the padding is cut.

    Backward: gcols = unfold(gx) (the adjoint of Fold is Unfold).
    """

    def forward(self, cols, input_shape, window: Window):
        self.window = window
        return col2im(self.xp, cols, input_shape, window)

    def backward(self, gy):
        return Unfold.apply(gy, window=self.window)


class Conv2d(Function):
    """y[n, o, i, j] = Σ_{c, a, b} w[o, c, a, b] · x_padded[n, c, i·s + a·d, j·s + b·d] + bias[o],
    each output channel seeing the C / G input channels of its group (G = groups).

    One matrix product per group: rows of windows (N·OH·OW, Cg·KH·KW) = im2col(x) times the
    weights as (Og, Cg·KH·KW)ᵀ; the bias is added to the product in place, and y is the product
    (N, OH, OW, O) seen as NCHW, without a copy.

    Backward: with gy as rows g (N·OH·OW, O), per group: gw = gᵀ · windows, gbias = Σ_rows g,
    gx = col2im(g · w) (the transposed convolution).
    """

    def forward(self, x, weight, bias=None, *, window: Window, groups: int):
        xp, n = self.xp, x.shape[0]
        self.window, self.groups = window, groups
        self.cols = im2col(xp, x, window)  # (N, OH, OW, C, KH, KW): kept for gw
        oh, ow = self.cols.shape[1:3]
        y = matmul_in_float32(
            xp, self._rows(self.cols), _grouped(weight, groups).transpose(0, 2, 1)
        )
        # (N·OH·OW, O) rows, contiguous: the product itself for one group, a copy for several
        y = xp.ascontiguousarray(y.transpose(1, 0, 2)).reshape(n * oh * ow, weight.shape[0])
        if bias is not None:  # NOTE: added to a whole image's rows at a time, as one long row:
            # NumPy's loop over rows only O wide was 8× slower (O = 8)
            image_rows = y.reshape(n, -1)  # a view, since y is contiguous
            image_rows += xp.tile(bias, oh * ow)
        return y.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def _rows(self, cols):
        """(N, OH, OW, C, KH, KW) windows as (G, N·OH·OW, Cg·KH·KW) rows per group (arrays or
        Tensors)."""
        n, oh, ow = cols.shape[:3]
        return cols.reshape(n * oh * ow, self.groups, -1).transpose(1, 0, 2)

    def _gradient_rows(self, gy):
        """(N, O, OH, OW) gy as (G, N·OH·OW, Og) rows per group (arrays or Tensors; a copy
        unless gy's memory is channels last)."""
        n, o = gy.shape[:2]
        return (
            gy.transpose(0, 2, 3, 1).reshape(-1, self.groups, o // self.groups).transpose(1, 0, 2)
        )

    def backward(self, gy):
        x, weight = self.inputs[:2]
        needs, groups = self.needs_input_grad, self.groups
        cols = Unfold.apply(x, window=self.window)  # recorded, so that gw is differentiable in x
        g = self._gradient_rows(gy)  # NOTE: the helpers use methods Tensors share with arrays
        gx = gw = gb = None
        if needs[0]:
            gcols = (g @ _grouped(weight, groups)).transpose(1, 0, 2).reshape(*cols.shape)
            gx = Fold.apply(gcols, input_shape=x.shape, window=self.window)
        if needs[1]:
            gw = (g.transpose(0, 2, 1) @ self._rows(cols)).reshape(*weight.shape)
        if len(needs) == 3 and needs[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return (gx, gw, gb)[: len(needs)]

    def backward_untracked(self, gy):
        """The same lines on plain arrays, with the windows kept from the forward."""
        x, weight = (t.data for t in self.inputs[:2])
        xp, needs, cols = self.xp, self.needs_input_grad, self.cols
        g = self._gradient_rows(gy)
        gx = gw = gb = None
        if needs[0]:
            gcols = matmul_in_float32(xp, g, _grouped(weight, self.groups))  # (G, rows, Cg·KH·KW)
            gcols = gcols.transpose(1, 0, 2).reshape(cols.shape)
            gx = col2im(xp, gcols, x.shape, self.window)
        if needs[1]:
            gw = matmul_in_float32(xp, g.transpose(0, 2, 1), self._rows(cols)).reshape(weight.shape)
        if len(needs) == 3 and needs[2]:
            # NOTE: as a product with ones, BLAS sums the rows 20x faster than sum(axis=...),
            # whose rows are only Og wide, and closer to the float64 sum
            ones = xp.ones(g.shape[1], g.dtype)
            gb = matmul_in_float32(xp, ones, g).reshape(-1)
        return (gx, gw, gb)[: len(needs)]


def _grouped(weight, groups: int):
    """(O, Cg, KH, KW) weights as (G, Og, Cg·KH·KW)."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


class MaxPool2d(Function):
    """y[n, c, i, j] = the maximum of window (i, j) of x[n, c] (padding counts as -inf); the first
    maximum wins ties, and its position h·W + w in the plane is kept in `index`.

    Backward: gx = max_unpool(gy, index): each window's gradient goes to its maximum only.
    """

    def forward(self, x, window: Window):
        self.window, self.input_shape = window, x.shape
        # NOTE: the output copies x's memory layout (K order): channels last after a
        # convolution, and so does the gradient of the backward (see max_unpool)
        self.channels_last = x.strides[1] < x.strides[3]
        if supported(x):
            y, self.index = gpu.max_pool_forward(x, window)
            return y
        xp = self.xp
        (ph, pw), (sh, sw), (dh, dw) = window.padding, window.stride, window.dilation
        oh, ow = window.output_size(*x.shape[2:], "max_pool2d")
        pads = ((0, 0), (0, 0), (ph, ph), (pw, pw))
        image = xp.pad(x, pads, constant_values=-xp.inf) if ph or pw else x
        slices = [
            image[:, :, rows, columns] for _, _, rows, columns in window_offsets(window, oh, ow)
        ]
        y = slices[0].copy(order="K")
        for candidate in slices[1:]:
            xp.maximum(y, candidate, out=y)  # NaN wins, as in PyTorch
        offset = _first_maximum(xp, slices, y)
        if xp.isnan(y).any():  # NaN equals nothing: such a window's maximum is its first NaN
            for k in range(len(slices) - 1, -1, -1):
                xp.copyto(offset, k, where=xp.isnan(slices[k]))
        # the plane position h·W + w of each offset k = a·KW + b, and of each window's corner:
        # int32 where the plane allows it (the index is kept until backward: half the bytes)
        (kh, kw), width = window.kernel, x.shape[3]
        kind = xp.int32 if x.shape[2] * width < 2**31 else xp.intp
        k = xp.arange(kh * kw)
        position_of_offset = ((k // kw) * dh * width + (k % kw) * dw).astype(kind)
        rows = (xp.arange(oh, dtype=kind) * sh - ph) * width
        corner = rows.reshape(-1, 1) + (xp.arange(ow, dtype=kind) * sw - pw)
        self.index = xp.take(position_of_offset, offset)
        self.index += corner
        return y

    def backward(self, gy):
        return MaxUnpool.apply(gy, index=self.index, input_shape=self.input_shape,
                               window=self.window)  # fmt: skip

    def backward_untracked(self, gy):
        return max_unpool(self.xp, gy, self.index, self.input_shape, self.window,
                          self.channels_last)  # fmt: skip


def _first_maximum(xp, slices, y):
    """For each window, the first offset k whose value equals the maximum y: the number of
    offsets before it, i.e. K - 1 minus how many of the running masks "found among the first
    k + 1" are set. int8 where the kernel allows; three whole-array steps per offset (a masked
    copy per offset was 4× slower)."""
    kind = xp.int8 if len(slices) <= 127 else xp.int32
    found, seen = xp.zeros(y.shape, bool), xp.zeros(y.shape, kind)
    for candidate in slices[:-1]:
        found |= candidate == y
        seen += found
    return kind(len(slices) - 1) - seen


def max_unpool(xp, x, index, input_shape, window: Window, channels_last: bool = False):
    """zeros(input_shape) with each x[n, c, i, j] added at plane position index[n, c, i, j].

    channels_last: the result's memory is (N, H, W, C), seen as NCHW; the layout of a pooled
    input that a convolution made, so that the next steps of the backward (the activation's
    product, the convolution's rows) meet arrays of one layout (mixed: measured 5× slower)."""
    if supported(x):
        return gpu.max_pool_backward(x, index, input_shape, window)
    n, c, h, w = input_shape
    planes = index.reshape(n, c, -1)
    if channels_last:  # flat positions in an (N, H·W, C) output
        flat = (xp.arange(n).reshape(-1, 1, 1) * (h * w) + planes) * c + xp.arange(c).reshape(-1, 1)
        layout = (n, h, w, c)
    else:  # in an (N, C, H·W) output
        flat = xp.arange(n * c).reshape(n, c, 1) * (h * w) + planes
        layout = input_shape
    flat = flat.ravel()
    if all(s >= d * (k - 1) + 1 for k, s, d in zip(window.kernel, window.stride,
                                                   window.dilation)):  # fmt: skip
        # windows that do not overlap never share a maximum: a plain scatter, in x's dtype
        # (no float64 sums of the whole input: a float16 step's largest temporary otherwise)
        out = xp.zeros(n * c * h * w, x.dtype)
        out[flat] = x.ravel()
    else:  # overlapping windows: bincount adds repeats ~4x faster than add.at
        out = xp.bincount(flat, weights=x.ravel(), minlength=n * c * h * w)
        out = out.astype(x.dtype, copy=False)
    out = out.reshape(layout)
    return out.transpose(0, 3, 1, 2) if channels_last else out


class MaxUnpool(Function):
    """y = zeros(input_shape) with x[n, c, i, j] added at plane position index[n, c, i, j]
    (windows that share a maximum both add to it).

    Backward: gx[n, c, i, j] = gy[n, c] at position index[n, c, i, j] (a gather: the adjoint).
    """

    def forward(self, x, index, input_shape, window: Window):
        self.index, self.input_shape = index, input_shape
        return max_unpool(self.xp, x, index, input_shape, window)

    def backward(self, gy):
        n, c, h, w = self.input_shape
        rows = self.xp.arange(n * c).reshape(-1, 1)
        picked = gy.reshape(n * c, h * w)[rows, self.index.reshape(n * c, -1)]
        return picked.reshape(self.index.shape)


def unfold(x: Tensor, kernel_size, stride=1, padding=0, dilation=1) -> Tensor:
    """All windows of an (N, C, H, W) tensor as an (N, OH, OW, C, KH, KW) tensor (im2col)."""
    if x.ndim != 4:
        raise ValueError(f"unfold: expected an (N, C, H, W) input, got shape {x.shape}")
    window = Window.of(kernel_size, stride, padding, dilation)
    window.output_size(*x.shape[2:], "unfold")
    return Unfold.apply(x, window=window)


def fold(cols: Tensor, output_size, kernel_size, stride=1, padding=0, dilation=1) -> Tensor:
    """Sum (N, OH, OW, C, KH, KW) windows back into an (N, C, H, W) image (col2im); output_size
    is (H, W)."""
    window = Window.of(kernel_size, stride, padding, dilation)
    height, width = _pair(output_size, "output_size")
    expected = (*window.output_size(height, width, "fold"), window.kernel)
    if cols.ndim != 6 or (cols.shape[1], cols.shape[2], cols.shape[4:]) != expected:
        raise ValueError(
            f"fold: windows of shape {cols.shape} do not match {expected} for {window}"
        )
    shape = (cols.shape[0], cols.shape[3], height, width)
    return Fold.apply(cols, input_shape=shape, window=window)
