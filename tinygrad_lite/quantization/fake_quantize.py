"""Fake quantization: round x to the grid of a quantized dtype and straight back to float, so that
training sees the rounding error that int8 inference will make (quantization-aware training).

    q   = clamp(round(x / scale) + zero_point, q_min, q_max)      (round half to even)
    out = (q - zero_point) · scale

Backward, the straight-through estimator (clipped): rounding has derivative 0 almost everywhere,
which would stop all learning, so the backward treats round() as the identity and keeps only the
clamp: gx = gy · [q_min ≤ round(x / scale) + zero_point ≤ q_max]. Values and masks equal
PyTorch's fake_quantize_per_tensor_affine / fake_quantize_per_channel_affine: like its kernels
this multiplies by 1/scale computed in float32 and uses the float32 scale.
Derivation: docs/derivations/compression.md
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, as_tensor
from .observers import _Observer


class FakeQuantize(Function):
    """The fake quantization of x with scale and zero point broadcast along `axis` (per channel)
    or scalars (per tensor). Backward: gy times the in-range mask (straight-through)."""

    def forward(self, x, scale, zero_point, quant_min: int, quant_max: int, axis=None):
        xp = self.xp
        scale32 = np.asarray(scale, dtype=np.float32)
        inverse = (np.float32(1) / scale32).astype(x.dtype)
        zero = np.asarray(zero_point, dtype=np.int64).astype(x.dtype)
        scale_x = scale32.astype(x.dtype)
        if axis is not None:  # one scale per slice along axis
            shape = [1] * x.ndim
            shape[axis] = -1
            inverse, zero, scale_x = (v.reshape(shape) for v in (inverse, zero, scale_x))
        inverse, zero, scale_x = (xp.asarray(v) for v in (inverse, zero, scale_x))
        q = xp.rint(x * inverse) + zero
        self.mask = (q >= quant_min) & (q <= quant_max)
        return (xp.clip(q, quant_min, quant_max) - zero) * scale_x

    def backward(self, gy):
        return (gy * Tensor(self.mask.astype(gy.dtype)),)

    def backward_untracked(self, gy):
        return (gy * self.mask,)


def _check_range(quant_min: int, quant_max: int, name: str) -> None:
    if not quant_min < quant_max:
        raise ValueError(f"{name}: need quant_min < quant_max, got {quant_min}, {quant_max}")


def fake_quantize_per_tensor_affine(input, scale: float, zero_point: int, quant_min: int,
                                    quant_max: int) -> Tensor:  # fmt: skip
    """torch.fake_quantize_per_tensor_affine: one scale and zero point for the whole tensor."""
    _check_range(quant_min, quant_max, "fake_quantize_per_tensor_affine")
    if not np.all(np.asarray(scale) > 0):
        raise ValueError(f"fake_quantize_per_tensor_affine: scale must be > 0, got {scale}")
    scale, zero_point = np.asarray(scale).reshape(()), np.asarray(zero_point).reshape(())
    return FakeQuantize.apply(as_tensor(input), scale=scale, zero_point=zero_point,
                              quant_min=int(quant_min), quant_max=int(quant_max))  # fmt: skip


def fake_quantize_per_channel_affine(input, scale, zero_point, axis: int, quant_min: int,
                                     quant_max: int) -> Tensor:  # fmt: skip
    """torch.fake_quantize_per_channel_affine: scale[c] and zero_point[c] for slice c of axis."""
    input = as_tensor(input)
    _check_range(quant_min, quant_max, "fake_quantize_per_channel_affine")
    scale = np.asarray(scale.numpy() if isinstance(scale, Tensor) else scale).ravel()
    zero_point = np.asarray(zero_point.numpy() if isinstance(zero_point, Tensor) else zero_point)
    axis = axis + input.ndim if axis < 0 else axis
    if not 0 <= axis < input.ndim or scale.shape != (input.shape[axis],):
        raise ValueError(f"fake_quantize_per_channel_affine: {scale.size} scales for axis {axis} "
                         f"of an input of shape {input.shape}")  # fmt: skip
    if not np.all(scale > 0):
        raise ValueError("fake_quantize_per_channel_affine: every scale must be > 0")
    return FakeQuantize.apply(input, scale=scale, zero_point=zero_point.ravel(), axis=axis,
                              quant_min=int(quant_min), quant_max=int(quant_max))  # fmt: skip


def fake_quantize(x: Tensor, observer: _Observer, observe: bool = True) -> Tensor:
    """x through `observer` (when `observe`) and then fake-quantized with its current qparams,
    per channel or per tensor as the observer is."""
    if observe:
        observer(x.detach())
    scale, zero_point = observer.calculate_qparams()
    if observer.per_channel:
        return fake_quantize_per_channel_affine(x, scale, zero_point, observer.ch_axis,
                                                observer.quant_min, observer.quant_max)  # fmt: skip
    return fake_quantize_per_tensor_affine(x, scale[0], zero_point[0], observer.quant_min,
                                           observer.quant_max)  # fmt: skip
