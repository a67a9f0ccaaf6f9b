"""Launchers of kernels/layer_norm.cu: LayerNorm (center=True) and RMSNorm (center=False) of
(rows, width) arrays, one block per row. For float16/bfloat16 the per-row mean and rstd are
float32."""

from __future__ import annotations

from ..backend import get_array_module
from .kernels import Kernel, accumulate_dtype
from .launch import contiguous, launch

FORWARD = Kernel("layer_norm.cu", "layer_norm_forward", optional=("weight", "bias"))
BACKWARD = Kernel("layer_norm.cu", "layer_norm_backward", optional=("weight",))
KERNELS = [FORWARD, BACKWARD]


def forward(x, weight, bias, eps: float, center: bool):
    """(y, mean per row, rstd per row) for x (rows, width), weight and bias (width,) or None."""
    x, *affine = contiguous(x, *(a for a in (weight, bias) if a is not None))
    weight, bias = (affine.pop(0) if a is not None else None for a in (weight, bias))
    xp = get_array_module(x)
    rows, width = x.shape
    per_row = accumulate_dtype(x.dtype)
    y, mean, rstd = xp.empty_like(x), xp.empty(rows, per_row), xp.empty(rows, per_row)
    launch(FORWARD, x.dtype, rows, x, weight, bias, y, mean, rstd, rows, width, eps, int(center),
           shared_per_thread=per_row.itemsize,
           blocks_for=lambda most: min(rows, most))  # fmt: skip
    return y, mean, rstd


def backward(x, weight, mean, rstd, gy, center: bool):
    """The input's gradient, given forward's mean and rstd and the output's gradient gy."""
    x, gy, *maybe_weight = contiguous(x, gy, *([] if weight is None else [weight]))
    weight = maybe_weight[0] if maybe_weight else None
    xp = get_array_module(x)
    rows, width = x.shape
    gx = xp.empty_like(x)
    launch(BACKWARD, x.dtype, rows, x, weight, mean, rstd, gy, gx, rows, width, int(center),
           shared_per_thread=mean.dtype.itemsize,
           blocks_for=lambda most: min(rows, most))  # fmt: skip
    return gx
