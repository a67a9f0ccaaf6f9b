"""Normalization over each sample's last axes, as Transformers use it (PyTorch's names):

    layer_norm: y = (x − μ) / √(σ² + ε) · γ + β,   μ, σ² over the normalized axes (σ² biased)
    rms_norm:   y = x / √(mean(x²) + ε) · γ

Unlike BatchNorm, nothing is shared across the batch, so there are no running statistics and
training and eval modes agree. Both are one op (ops/normalization.py, a CUDA kernel on a GPU)
whose backward docs/derivations/normalization.md works out step by step (the gradient through μ
and σ² is what makes LayerNorm's backward more than a scale).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import ops
from ..tensor import DEFAULT_FLOAT, Tensor, as_tensor
from .module import Module, Parameter


def _normalized_axes(x: Tensor, shape: tuple[int, ...], name: str) -> tuple[int, ...]:
    if not shape or x.shape[x.ndim - len(shape) :] != shape or x.ndim < len(shape):
        raise ValueError(
            f"{name}: normalized_shape {shape} must be the last axes of the input, got input "
            f"of shape {x.shape}"
        )
    return tuple(range(x.ndim - len(shape), x.ndim))


def _as_shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(n) for n in normalized_shape)


def _normalized(name: str, x: Tensor, normalized_shape, weight, bias, eps, center: bool):
    shape = _as_shape(normalized_shape)
    _normalized_axes(x, shape, name)
    for role, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != shape:
            raise ValueError(
                f"{name}: {role} of shape {t.shape}, expected normalized_shape {shape}"
            )
    width = math.prod(shape)
    return ops.normalization.fused_layer_norm(x, weight, bias, width, eps, center)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:  # fmt: skip
    """(x − mean) / sqrt(var + eps) over the last len(normalized_shape) axes (biased variance,
    as torch.nn.functional.layer_norm), times weight, plus bias. float32 inside autocast."""
    (x,) = ops.precision.autocast_inputs("layer_norm", as_tensor(input))
    weight, bias = (None if t is None else as_tensor(t) for t in (weight, bias))
    return _normalized("layer_norm", x, normalized_shape, weight, bias, eps, center=True)


def rms_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:  # fmt: skip
    """x / sqrt(mean(x²) + eps) over the last len(normalized_shape) axes, times weight; eps
    None means the input dtype's machine epsilon (torch.nn.functional.rms_norm)."""
    x = as_tensor(input)
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    weight = None if weight is None else as_tensor(weight)
    return _normalized("rms_norm", x, normalized_shape, weight, None, eps, center=False)


class LayerNorm(Module):
    """torch.nn.LayerNorm: weight (ones) and bias (zeros) of shape normalized_shape, unless
    elementwise_affine=False (neither) or bias=False (no bias)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 dtype=DEFAULT_FLOAT):  # fmt: skip
        self.normalized_shape, self.eps = _as_shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = (
            Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None
        )
        has_bias = elementwise_affine and bias
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if has_bias else None

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")  # fmt: skip


class RMSNorm(Module):
    """torch.nn.RMSNorm: weight (ones) of shape normalized_shape unless elementwise_affine=False;
    eps None is the input dtype's machine epsilon."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, dtype=DEFAULT_FLOAT):  # fmt: skip
        self.normalized_shape, self.eps = _as_shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = (
            Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None
        )

    def forward(self, x: Tensor) -> Tensor:
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")  # fmt: skip
