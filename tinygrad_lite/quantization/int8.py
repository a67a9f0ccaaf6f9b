"""Int8 execution: the exact integer matrix product and the quantized Linear and Conv2d layers that
use it (inference only).

A quantized layer keeps its weight as int8 w_q with one float32 scale s_w[j] per output channel
(symmetric: w ≈ s_w·w_q) and quantizes its input to uint8 x_q with one scale s_x and zero point
z_x (affine: x ≈ s_x·(x_q - z_x)), from a calibration (static) or from each batch's own range
(dynamic). Then

    y[n, j] = s_x·s_w[j] · Σ_k (x_q[n, k] - z_x)·w_q[j, k]  +  b[j]

and the sum is integer arithmetic, exact. With a = x_q - 128 (int8) and z = z_x - 128 it is
Σ_k a[n, k]·w_q[j, k] - z·Σ_k w_q[j, k]: an int8 × int8 product (`int8_matmul`) and a
per-channel correction computed once.
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..backend import get_array_module
from ..nn.attention import MultiheadAttention
from ..nn.module import Module
from ..tensor import Tensor, as_tensor
from .observers import MinMaxObserver, quant_range

# Products of int8 values are at most 128² = 2¹⁴ in magnitude, so any partial sum of K of them is
# at most K·2¹⁴, and float32 holds every integer up to 2²⁴ exactly: for K ≤ 2¹⁰ a float32 BLAS
# product of int8 values is exact, whatever order BLAS adds in.
EXACT_DEPTH = 2**24 // 128**2  # 1024


def int8_matmul(a, b):
    """a @ b for int8 arrays a (..., n, k) and b (k, m), exact, as int32.

    NumPy's integer matmul does not use BLAS (40-80x slower than float32 here), so the product
    runs through float32 BLAS in blocks of at most 1024 along k, each exact (see EXACT_DEPTH),
    and the blocks are added in int32.

    Raises:
        TypeError: an operand that is not int8.
        ValueError: inner dimensions that differ.
    """
    a = a.numpy() if isinstance(a, Tensor) else a
    b = b.numpy() if isinstance(b, Tensor) else b
    xp = get_array_module(a, b)
    a, b = xp.asarray(a), xp.asarray(b)
    if a.dtype != np.int8 or b.dtype != np.int8:
        raise TypeError(f"int8_matmul: operands must be int8, got {a.dtype} and {b.dtype}")
    if a.shape[-1] != b.shape[0]:
        raise ValueError(f"int8_matmul: {a.shape} @ {b.shape}: inner dims differ")
    depth = a.shape[-1]
    total = None
    for start in range(0, max(depth, 1), EXACT_DEPTH):
        part = slice(start, start + EXACT_DEPTH)
        block = xp.matmul(a[..., part].astype(np.float32), b[part].astype(np.float32))
        block = block.astype(np.int32)
        total = block if total is None else total + block
    return total


def quantize(x, scale, zero_point, dtype: str):
    """round(x / scale) + zero_point, clamped to the dtype's range ('qint8' or 'quint8'), as
    int8 or uint8; scale and zero_point broadcast against x."""
    xp = get_array_module(x)
    low, high = quant_range(dtype)
    q = xp.rint(x * (np.float32(1) / np.asarray(scale, np.float32))) + zero_point
    return xp.clip(q, low, high).astype(np.int8 if dtype == "qint8" else np.uint8)


def quantize_weight(weight: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """int8 weights, symmetric, one scale per output channel (axis 0)."""
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return quantize(weight.astype(np.float32), scale.reshape(shape), 0, "qint8")


class _QuantizedLayer(Module):
    """What Linear and Conv2d share: int8 weight (buffer `weight`), its per-channel scales
    (`weight_scale`), a float32 bias, and the input's qparams (`input_scale`,
    `input_zero_point`; absent for dynamic quantization, which measures each batch)."""

    def __init__(self, layer, weight_scale, input_qparams=None):
        scale = np.asarray(weight_scale, np.float32).reshape(-1)
        self.register_buffer("weight", Tensor(quantize_weight(layer.weight.numpy(), scale)))
        self.register_buffer("weight_scale", Tensor(scale))
        if layer.bias is not None:
            self.register_buffer("bias", Tensor(layer.bias.numpy().astype(np.float32)))
        else:
            self.bias = None
        self.dynamic = input_qparams is None
        if not self.dynamic:
            input_scale, input_zero = input_qparams
            self.register_buffer("input_scale", Tensor(np.asarray(input_scale, np.float32)))
            self.register_buffer("input_zero_point", Tensor(np.asarray(input_zero, np.int64)))

    def _input_qparams(self, x: np.ndarray):
        if self.dynamic:
            observer = MinMaxObserver(dtype="quint8", qscheme="per_tensor_affine")
            observer(x)
            scale, zero = observer.calculate_qparams()
        else:
            scale, zero = self.input_scale.numpy(), self.input_zero_point.numpy()
        return np.float32(scale.reshape(-1)[0]), int(zero.reshape(-1)[0])

    def _shifted_input(self, x: np.ndarray):
        """(x_q - 128 as int8, z_x - 128, s_x): the input on the int8 grid."""
        scale, zero = self._input_qparams(x)
        x_q = quantize(x.astype(np.float32, copy=False), scale, zero, "quint8")
        return (x_q.astype(np.int16) - 128).astype(np.int8), zero - 128, scale

    def _finish(self, accumulated, weight_rows, zero, scale):
        """Σ a·w_q - z·Σ w_q, rescaled by s_x·s_w, plus the bias: float32 (n, out)."""
        xp = get_array_module(accumulated)
        correction = zero * weight_rows.astype(np.int64).sum(axis=1)
        y = (accumulated - correction).astype(np.float32)
        y *= scale * xp.asarray(self.weight_scale.data)
        if self.bias is not None:
            y += self.bias.data
        return y


class QuantizedLinear(_QuantizedLayer):
    """Linear with int8 weights and uint8-quantized inputs, integer accumulation (inference)."""

    def __init__(self, layer, weight_scale, input_qparams=None):
        super().__init__(layer, weight_scale, input_qparams)
        self.in_features, self.out_features = layer.in_features, layer.out_features

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"QuantizedLinear: input of shape {x.shape} does not end in "
                             f"in_features={self.in_features}")  # fmt: skip
        with no_grad():
            a, zero, scale = self._shifted_input(x.data)
            flat = a.reshape(-1, self.in_features)
            w = self.weight.data
            y = self._finish(int8_matmul(flat, w.T), w, zero, scale)
        return Tensor(y.reshape(x.shape[:-1] + (self.out_features,)))

    def extra_repr(self) -> str:
        mode = "dynamic" if self.dynamic else "static"
        return f"in_features={self.in_features}, out_features={self.out_features}, {mode}"


class QuantizedConv2d(_QuantizedLayer):
    """Conv2d with int8 weights and uint8-quantized inputs (groups=1), as im2col + int8_matmul.
    The padding is the quantized value of 0.0 (the zero point), so it stays exactly zero."""

    def __init__(self, layer, weight_scale, input_qparams=None):
        if layer.groups != 1:
            raise ValueError("QuantizedConv2d: only groups=1 is supported")
        super().__init__(layer, weight_scale, input_qparams)
        self.in_channels, self.out_channels = layer.in_channels, layer.out_channels
        self.kernel_size, self.stride = layer.kernel_size, layer.stride
        self.padding, self.dilation = layer.padding, layer.dilation

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"QuantizedConv2d: expected an input of shape "
                             f"(N, {self.in_channels}, H, W), got {x.shape}")  # fmt: skip
        with no_grad():
            a, zero, scale = self._shifted_input(x.data)
            cols, (oh, ow) = self._windows(a, zero)
            w = self.weight.data.reshape(self.out_channels, -1)
            y = self._finish(int8_matmul(cols, w.T), w, zero, scale)
        y = y.reshape(x.shape[0], oh, ow, self.out_channels).transpose(0, 3, 1, 2)
        return Tensor(get_array_module(y).ascontiguousarray(y))

    def _windows(self, a, zero: int):
        """im2col of the int8 image: (N·OH·OW, C·KH·KW), padded with the zero point."""
        xp = get_array_module(a)
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        (kh, kw) = self.kernel_size
        if ph or pw:
            a = xp.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=zero)
        span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        windows = xp.lib.stride_tricks.sliding_window_view(a, span, axis=(2, 3))
        windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, OH, OW, KH, KW)
        oh, ow = windows.shape[2:4]
        cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, a.shape[1] * kh * kw)
        return cols, (oh, ow)

    def extra_repr(self) -> str:
        mode = "dynamic" if self.dynamic else "static"
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, {mode}")  # fmt: skip


class QuantizedMultiheadAttention(MultiheadAttention):
    """MultiheadAttention with its projections in int8, dynamically quantized (inference only):
    the packed (3E, E) in-projection as one QuantizedLinear `in_proj` and `out_proj` as another;
    the scores, softmax and weighted sum stay float, as in PyTorch's dynamic quantization of
    BERT. Masks, layouts and the KV cache's `project_heads` work as in the float layer."""

    def __init__(self, layer: MultiheadAttention, in_proj_scale, out_proj_scale):
        # NOTE: not MultiheadAttention.__init__, which would make float parameters
        self.embed_dim, self.num_heads, self.dropout = layer.embed_dim, layer.num_heads, 0.0
        self.batch_first, self.head_dim = layer.batch_first, layer.head_dim
        packed = _Weights(layer.in_proj_weight, layer.in_proj_bias)
        self.in_proj = QuantizedLinear(packed, in_proj_scale)
        self.out_proj = QuantizedLinear(layer.out_proj, out_proj_scale)

    def _in_projection(self, x: Tensor, rows: slice) -> Tensor:
        """The rows of the packed product: all three for self-attention, else one block (the
        whole product is computed: cross-attention pays 3× for its projections)."""
        packed = self.in_proj(x)
        return packed if rows == slice(None) else packed[..., rows]


class _Weights:
    """A weight and bias with the shape attributes QuantizedLinear reads off a Linear."""

    def __init__(self, weight: Tensor, bias: Tensor | None):
        self.weight, self.bias = weight, bias
        self.out_features, self.in_features = weight.shape
