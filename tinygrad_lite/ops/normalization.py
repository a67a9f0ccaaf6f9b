"""LayerNorm and RMSNorm as one op each way: normalize each row of the last axes, scale, shift.

Composed of mean, subtraction, sqrt and division, a LayerNorm records nine nodes forward and as
many backward; here it is one, whose backward is the closed form that chain rule gives (derived
step by step on the page below). The formulas are written once, on anything with operators and
`mean`: forward and `backward_untracked` run them on arrays (or in kernels/layer_norm.cu on a
GPU), `backward` on Tensors recomputed from the inputs, so create_graph differentiates the same
formulas. RMSNorm is the same op without the centring (`center=False`).
Derivations: docs/derivations/normalization.md
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..cuda import layer_norm as gpu
from ..cuda.launch import supported
from ..tensor import Tensor


def _normalize(x, eps: float, center: bool):
    """(x̂, rstd) for rows x (M, D): x̂ = (x − center·mean) · rstd, rstd = (mean(x_c²) + eps)^−½."""
    centered = x - x.mean(axis=-1, keepdims=True) if center else x
    rstd = ((centered * centered).mean(axis=-1, keepdims=True) + eps) ** -0.5
    return centered * rstd, rstd


def _input_gradient(h, x_hat, rstd, center: bool):
    """gx = rstd · (h − center·mean(h) − x̂ · mean(h x̂)), h = gy · w: the incoming gradient less
    what moving the mean (LayerNorm only) and the scale would absorb."""
    if center:
        h = h - h.mean(axis=-1, keepdims=True)
    return (h - x_hat * (h * x_hat).mean(axis=-1, keepdims=True)) * rstd


class FusedLayerNorm(Function):
    """y = x̂ · w + b over the last `width` values of x, x̂ = (x − μ)/√(σ² + ε) (σ² biased), or
    x̂ = x/√(mean(x²) + ε) with center=False (RMSNorm); w and b optional (`affine` names them).

    Backward: h = gy · w; gx = rstd · (h − mean(h) − x̂ · mean(h · x̂)) (no mean(h) term for RMSNorm);
    gw = Σ_rows gy · x̂; gb = Σ_rows gy.
    """

    def forward(self, x, *affine_arrays, width: int, eps: float, center: bool, affine: str):
        self.width, self.eps, self.center, self.affine = width, eps, center, affine
        self.shapes = [x.shape, *(a.shape for a in affine_arrays)]  # of the gradients
        rows = x.reshape(-1, width)
        weight, bias = self._affine(affine_arrays, affine, width)
        if supported(rows):
            y, self.mean, self.rstd = gpu.forward(rows, weight, bias, eps, center)
            return y.reshape(x.shape)
        self.x_hat, self.rstd = _normalize(rows, eps, center)
        y = self.x_hat if weight is None else self.x_hat * weight
        return (y if bias is None else y + bias).reshape(x.shape)

    @staticmethod
    def _affine(arrays, affine: str, width: int):
        """(weight, bias), each flattened to (width,) or None, from the inputs after x."""
        found = dict(zip(affine, (a.reshape(width) for a in arrays)))
        return found.get("w"), found.get("b")

    def backward(self, gy):
        x, *affine_inputs = self.inputs
        weight, _ = self._affine(affine_inputs, self.affine, self.width)
        x_hat, rstd = _normalize(x.reshape(-1, self.width), self.eps, self.center)
        return self._gradients(gy.reshape(-1, self.width), x_hat, rstd, weight)

    def backward_untracked(self, gy):
        x, *affine_inputs = (t.data for t in self.inputs)
        weight, _ = self._affine(affine_inputs, self.affine, self.width)
        rows_gy = gy.reshape(-1, self.width)
        if supported(rows_gy):
            rows_x = x.reshape(-1, self.width)
            gx = gpu.backward(rows_x, weight, self.mean, self.rstd, rows_gy, self.center)
            x_hat = (rows_x - self.mean[:, None]) * self.rstd[:, None]
            return self._shaped(gx, *self._affine_gradients(rows_gy, x_hat.astype(gy.dtype)))
        return self._gradients(rows_gy, self.x_hat, self.rstd, weight)

    def _gradients(self, gy, x_hat, rstd, weight):
        h = gy if weight is None else gy * weight
        gx = _input_gradient(h, x_hat, rstd, self.center)
        return self._shaped(gx, *self._affine_gradients(gy, x_hat))

    def _affine_gradients(self, gy, x_hat):
        grads = {"w": lambda: (gy * x_hat).sum(axis=0), "b": lambda: gy.sum(axis=0)}
        return [grads[part]() for part in self.affine]

    def _shaped(self, gx, *affine_grads):
        return tuple(g.reshape(shape) for g, shape in zip((gx, *affine_grads), self.shapes))


def fused_layer_norm(x: Tensor, weight: Tensor | None, bias: Tensor | None, width: int,
                     eps: float, center: bool = True) -> Tensor:  # fmt: skip
    """The op above; x, weight and bias of one dtype (the promoted one), weight and bias of
    `width` values (any shape), x's last axes holding `width` values per row."""
    parts = [(name, t) for name, t in (("w", weight), ("b", bias)) if t is not None]
    tensors = [x, *(t for _, t in parts)]
    dtype = np.result_type(*(t.dtype for t in tensors))
    tensors = [t if t.dtype == dtype else t.astype(dtype) for t in tensors]
    affine = "".join(name for name, _ in parts)
    return FusedLayerNorm.apply(*tensors, width=width, eps=float(eps), center=center, affine=affine)
