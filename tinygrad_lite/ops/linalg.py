"""Matrix product.

`matmul` reduces every case (1-D vectors, broadcast batch axes, mixed dtypes) to MatMul on two
stacks of matrices with equal batch shapes, using Reshape, BroadcastTo and Cast; their backward
passes undo those steps, so MatMul.backward is the two textbook lines.
Derivations: docs/derivations/linalg.md
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, as_tensor
from .shape import broadcast_shape, broadcast_to, squeeze, transpose, unsqueeze


class MatMul(Function):
    """y = a @ b for a (..., n, k) and b (..., k, m) with equal batch axes.

    y[..., i, j] = Σ_k a[..., i, k] b[..., k, j].

    Backward: ga = gy @ bᵀ, gb = aᵀ @ gy  (ᵀ swaps the last two axes).
    """

    def forward(self, a, b):
        return self.xp.matmul(a, b)

    def backward(self, gy):
        a, b = self.inputs
        ga = MatMul.apply(gy, transpose(b, -1, -2)) if self.needs_input_grad[0] else None
        gb = MatMul.apply(transpose(a, -1, -2), gy) if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product with np.matmul's rules: 1-D operands are vectors, leading axes broadcast.

    Raises:
        ValueError: a 0-d operand, or inner dimensions that differ, naming both shapes.
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: scalar operands are not allowed, use *")
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a  # (k,) -> (1, k)
    b2 = unsqueeze(b, -1) if b.ndim == 1 else b  # (k,) -> (k, 1)
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(
            f"matmul: {a.shape} @ {b.shape}: inner dims {a2.shape[-1]} != {b2.shape[-2]}"
        )
    batch = broadcast_shape("matmul", a2.shape[:-2], b2.shape[:-2])
    dtype = np.result_type(a.dtype, b.dtype)
    a2 = broadcast_to(a2.astype(dtype), batch + a2.shape[-2:])
    b2 = broadcast_to(b2.astype(dtype), batch + b2.shape[-2:])
    y = MatMul.apply(a2, b2)
    if a.ndim == 1:
        y = squeeze(y, -2)
    if b.ndim == 1:
        y = squeeze(y, -1)
    return y
