"""Matrix product, and the affine map x Wᵀ + b of a linear layer.

`matmul` reduces every case (1-D vectors, broadcast batch axes, mixed dtypes) to MatMul on two
stacks of matrices with equal batch shapes, using Reshape, BroadcastTo and Cast; their backward
passes undo those steps, so MatMul.backward is the two textbook lines. `linear` is one op
(Affine) rather than Permute, MatMul, BroadcastTo and Add, because a network records it in every
layer on every step, and each recorded node costs Python time comparable to a small matmul.
Derivations: docs/derivations/linalg.md
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, as_tensor
from .arguments import broadcast_shape
from .precision import autocast_inputs, matmul_in_float32
from .shape import broadcast_to, squeeze, transpose, unsqueeze


class MatMul(Function):
    """y = a @ b for a (..., n, k) and b (..., k, m) with equal batch axes.

    y[..., i, j] = Σ_k a[..., i, k] b[..., k, j].

    Backward: ga = gy @ bᵀ, gb = aᵀ @ gy  (ᵀ swaps the last two axes).
    """

    def forward(self, a, b):
        return matmul_in_float32(self.xp, a, b)  # float16/bfloat16: accumulated in float32

    def backward(self, gy):
        return self._rule(gy, *self.inputs, MatMul.apply, lambda t: transpose(t, -1, -2))

    def backward_untracked(self, gy):
        a, b = (t.data for t in self.inputs)
        product = functools.partial(matmul_in_float32, self.xp)
        return self._rule(gy, a, b, product, lambda array: array.swapaxes(-1, -2))

    def _rule(self, gy, a, b, product, swapped):
        """The two lines, on Tensors (recorded) or arrays alike."""
        ga = product(gy, swapped(b)) if self.needs_input_grad[0] else None
        gb = product(swapped(a), gy) if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product with np.matmul's rules: 1-D operands are vectors, leading axes broadcast.

    Raises:
        ValueError: a 0-d operand, or inner dimensions that differ, naming both shapes.
    """
    a, b = autocast_inputs("matmul", as_tensor(a), as_tensor(b))  # low dtype in autocast
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


class Affine(Function):
    """y = x @ wᵀ + b for x (..., in), w (out, in) and b (out,) (b optional).

    y[n, j] = Σ_i x[n, i] w[j, i] + b[j], n running over all leading axes of x as one (the rows).

    Backward: gx = gy @ w, gw = gyᵀ @ x, gb = Σ_n gy[n], with gy and x as (rows, features).
    """

    def forward(self, x, weight, bias=None):
        # NOTE: the leading axes are flattened here, not by Reshape nodes around the op: a
        # Transformer's linears take (batch, time, features), two nodes each way saved per layer
        y = matmul_in_float32(self.xp, x.reshape(-1, x.shape[-1]), weight.T)
        if bias is not None:
            y += bias  # y is a fresh array, so the bias is added without another temporary
        return y.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, gy):
        x, weight = self.inputs[:2]
        needs = self.needs_input_grad
        rows = gy.reshape(-1, gy.shape[-1])
        gx = MatMul.apply(rows, weight).reshape(*x.shape) if needs[0] else None
        gw = MatMul.apply(transpose(rows), x.reshape(-1, x.shape[-1])) if needs[1] else None
        gb = rows.sum(axis=0) if len(needs) == 3 and needs[2] else None
        return (gx, gw, gb)[: len(needs)]

    def backward_untracked(self, gy):
        """The same three lines on plain arrays: a layer's backward records nothing."""
        x, weight = (t.data for t in self.inputs[:2])
        needs = self.needs_input_grad
        rows = gy.reshape(-1, gy.shape[-1])
        gx = matmul_in_float32(self.xp, rows, weight).reshape(x.shape) if needs[0] else None
        gw = matmul_in_float32(self.xp, rows.T, x.reshape(-1, x.shape[-1])) if needs[1] else None
        gb = rows.sum(axis=0) if len(needs) == 3 and needs[2] else None
        return (gx, gw, gb)[: len(needs)]


def linear(x, weight, bias=None) -> Tensor:
    """x @ weightᵀ + bias, with weight (out, in), bias (out,) or None, and x of shape (..., in).

    Raises:
        ValueError: shapes that do not fit, naming each shape.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias, like=weight)
    x, weight, bias = autocast_inputs("linear", x, weight, bias)  # low dtype in autocast
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input {x.shape} does not fit weight {weight.shape}: need x (..., in) and "
            "weight (out, in)"
        )
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"linear: bias {bias.shape} for weight {weight.shape}: need (out,)")
    operands = (weight,) if bias is None else (weight, bias)
    if any(t.dtype != x.dtype for t in operands):  # mixed dtypes promote as matmul and + do
        y = matmul(x, transpose(weight))
        return y if bias is None else y + bias
    return Affine.apply(x, *operands)
