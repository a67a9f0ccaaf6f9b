"""Activations: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, gelu, softplus.

Each forward is written to stay finite for |x| = 1000, and each backward reuses the output where
the derivative is a function of it (sigmoid, tanh, softmax). relu, leaky_relu, sigmoid, tanh and
gelu also have `backward_untracked`: the same rule on plain arrays, which the engine runs when no
graph is recorded; on the GPU it, and the forward, run our fused kernels (kernels/activation.cu),
one pass each way. `backward` is always the differentiable rule, for create_graph.
Derivations: docs/derivations/activation.md
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..backend import erf, low_precision
from ..cuda import activation as gpu
from ..cuda.launch import supported
from ..tensor import Tensor, as_tensor
from .arguments import normalize_axis
from .precision import autocast_inputs
from .unary import exp


class ReLU(Function):
    """y = max(x, 0).

    Backward: gx = gy where x > 0, else 0 (at x = 0 the subgradient 0 is chosen, as in PyTorch).
    """

    def forward(self, x):
        if supported(x):
            return gpu.forward("relu", x)
        return self.xp.maximum(x, 0)

    def backward(self, gy):
        return gy * Tensor((self.inputs[0].data > 0).astype(gy.dtype))

    def backward_untracked(self, gy):
        x = self.inputs[0].data
        if supported(gy):
            return gpu.backward("relu", x, gy)
        # NOTE: a float mask (float * bool takes NumPy's slow mixed loop), held in a name: NumPy
        # would write gy * <temporary> into the temporary, in x's memory order, not gy's
        mask = (x > 0).astype(gy.dtype)
        return gy * mask


class LeakyReLU(Function):
    """y = x if x > 0 else slope * x.

    Backward: gx = gy where x > 0, else slope * gy.
    """

    def forward(self, x, slope):
        self.slope = slope
        if supported(x):
            return gpu.forward("leaky_relu", x, slope)
        return x * self.xp.where(x > 0, 1, slope).astype(x.dtype)

    def backward(self, gy):
        return gy * Tensor(self._slopes(gy.dtype))

    def backward_untracked(self, gy):
        if supported(gy):
            return gpu.backward("leaky_relu", self.inputs[0].data, gy, self.slope)
        slopes = self._slopes(gy.dtype)  # NOTE: named, so the result takes gy's order (ReLU)
        return gy * slopes

    def _slopes(self, dtype):
        return self.xp.where(self.inputs[0].data > 0, 1, self.slope).astype(dtype)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)).

    Where exp(-x) overflows (x < -88 in float32), 1 / (1 + inf) = 0, the limit; that loses only
    the subnormal results below 1e-38, as PyTorch's CPU kernel (the same formula) does. 16-bit
    inputs are computed in float32 and rounded: exp(-x) overflows float16 already at x < -11,
    where the sigmoid is still 1.7e-5.

    Backward: gx = gy * y * (1 - y).
    """

    def forward(self, x):
        if supported(x):
            return gpu.forward("sigmoid", x)
        return sigmoid_array(self.xp, x)

    def backward(self, gy):
        y = self.output()
        return gy * y * (1 - y)

    def backward_untracked(self, gy):
        y = self.output().data
        if supported(gy):
            return gpu.backward("sigmoid", y, gy)
        slope = y * (1 - y)  # NOTE: named, so the result takes gy's order (see ReLU)
        return gy * slope


class Tanh(Function):
    """y = tanh(x).

    Backward: gx = gy * (1 - y**2)  (reuses y; no second tanh).
    """

    def forward(self, x):
        if supported(x):
            return gpu.forward("tanh", x)
        return self.xp.tanh(x)

    def backward(self, gy):
        y = self.output()
        return gy * (1 - y * y)

    def backward_untracked(self, gy):
        y = self.output().data
        if supported(gy):
            return gpu.backward("tanh", y, gy)
        slope = 1 - y * y  # NOTE: named, so the result takes gy's order (see ReLU)
        return gy * slope


class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along `axis` (the shift cancels and prevents overflow).

    Backward: gx = y * (gy - sum(gy * y, axis))  (the Jacobian diag(y) - y yᵀ applied to gy).
    """

    def forward(self, x, axis):
        self.axis = axis
        e = self.xp.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    def backward(self, gy):
        y = self.output()
        return y * (gy - (gy * y).sum(self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x) along `axis`.

    Backward: gx = gy - exp(y) * sum(gy, axis)  (exp(y) is the softmax).
    """

    def forward(self, x, axis):
        xp = self.xp
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(self, gy):
        return gy - exp(self.output()) * gy.sum(self.axis, keepdims=True)


def _normal_cdf(xp, x):
    """Φ(x) = (1 + erf(x / √2)) / 2 on arrays, in x's dtype. NOTE: bfloat16 (ml_dtypes) turns
    float constants into float32, hence the cast back."""
    return ((1 + erf(xp, x / math.sqrt(2))) / 2).astype(x.dtype, copy=False)


class NormalCdf(Function):
    """y = Φ(x) = (1 + erf(x / √2)) / 2, the standard normal CDF.

    Backward: gx = gy * φ(x), with φ(x) = exp(-x²/2) / √(2π) the normal density.
    """

    def forward(self, x):
        return _normal_cdf(self.xp, x)

    def backward(self, gy):
        return gy * normal_pdf(self.inputs[0])


class GELU(Function):
    """y = x Φ(x) (exact GELU, PyTorch's default).

    Backward: gx = gy * (Φ(x) + x φ(x))  (product rule; Φ' = φ).
    """

    def forward(self, x):
        if supported(x):
            return gpu.forward("gelu", x)
        self.cdf = _normal_cdf(self.xp, x)  # NOTE: kept for backward: erf costs ten exps
        return x * self.cdf

    def backward(self, gy):
        x = self.inputs[0]
        return gy * (normal_cdf(x) + x * normal_pdf(x))

    def backward_untracked(self, gy):
        x = self.inputs[0].data
        if supported(gy):
            return gpu.backward("gelu", x, gy)
        pdf = self.xp.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        slope = (self.cdf + x * pdf).astype(gy.dtype)  # NOTE: named: gy's order
        return gy * slope


class Softplus(Function):
    """y = log(1 + exp(βx)) / β, computed as (max(βx, 0) + log1p(exp(-|βx|))) / β.

    Backward: gx = gy * sigmoid(βx).
    """

    def forward(self, x, beta):
        self.beta = beta
        return softplus_array(self.xp, x, beta)

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0] * self.beta)


def sigmoid_array(xp, x):
    """Sigmoid's forward on an array (see Sigmoid for the formula and its range)."""
    if low_precision(x.dtype):
        return sigmoid_array(xp, x.astype(np.float32)).astype(x.dtype)
    return 1 / (1 + xp.exp(-x))


def softplus_array(xp, x, beta: float):
    """Softplus's forward on an array: (max(βx, 0) + log1p(exp(-|βx|))) / β."""
    z = beta * x
    y = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
    return y.astype(x.dtype)  # NOTE: bfloat16 (ml_dtypes) turns float constants into float32


def relu(x) -> Tensor:
    return ReLU.apply(as_tensor(x))


def leaky_relu(x, slope: float = 0.01) -> Tensor:
    return LeakyReLU.apply(as_tensor(x), slope=slope)


def sigmoid(x) -> Tensor:
    return Sigmoid.apply(as_tensor(x))


def tanh(x) -> Tensor:
    return Tanh.apply(as_tensor(x))


def softmax(x, axis: int = -1) -> Tensor:
    (x,) = autocast_inputs("softmax", as_tensor(x))
    return Softmax.apply(x, axis=normalize_axis(axis, x.ndim, "softmax"))


def log_softmax(x, axis: int = -1) -> Tensor:
    (x,) = autocast_inputs("log_softmax", as_tensor(x))
    return LogSoftmax.apply(x, axis=normalize_axis(axis, x.ndim, "log_softmax"))


def normal_pdf(x) -> Tensor:
    """φ(x) = exp(-x²/2) / √(2π), composed from differentiable ops."""
    return exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))


def normal_cdf(x) -> Tensor:
    return NormalCdf.apply(as_tensor(x))


def gelu(x, approximate: str = "none") -> Tensor:
    """GELU; approximate='tanh' gives 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))) from other ops."""
    x = as_tensor(x)
    if approximate == "none":
        return GELU.apply(x)
    if approximate == "tanh":
        return 0.5 * x * (1 + tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta: float = 1.0) -> Tensor:
    return Softplus.apply(*autocast_inputs("softplus", as_tensor(x)), beta=beta)
