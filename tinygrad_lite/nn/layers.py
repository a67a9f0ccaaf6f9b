"""Layers without spatial structure: Linear, Flatten, Dropout, Identity, and activation modules.

Each layer's math is an op or a composition of ops, so its backward comes from those ops'
hand-derived rules; the layers only hold parameters and settings.
"""

from __future__ import annotations

import numpy as np

from .. import creation, ops
from ..tensor import DEFAULT_FLOAT, Tensor, as_tensor
from . import init
from .module import Module, Parameter, check_sizes


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weightᵀ + bias, with weight of shape (out_features, in_features), as one op."""
    return ops.linear(x, weight, bias)


class Linear(Module):
    """y = x @ Wᵀ + b, with W of shape (out_features, in_features) as in PyTorch.

    Backward (the Affine op): gW = gyᵀ @ x, gb = sum of gy over the batch, gx = gy @ W.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        dtype = dtype or DEFAULT_FLOAT
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(
                f"Linear: input of shape {x.shape} does not end in in_features={self.in_features}"
            )
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


def embedding(indices, weight: Tensor) -> Tensor:
    """The rows of `weight` picked by integer `indices` (any shape): weight[indices]."""
    if not isinstance(indices, Tensor):  # NOTE: as_tensor: tl.jit's argument arrays unwrap
        indices = np.asarray(indices) if isinstance(indices, (int, np.integer, list)) else indices
        indices = as_tensor(indices, like=weight)
    return ops.shape.TakeRows.apply(weight, indices)  # NOTE: indices an input: tl.jit follows them


class Embedding(Module):
    """Row lookup: y = weight[indices], weight of shape (num_embeddings, embedding_dim) ~ N(0, 1).

    Backward: each looked-up row receives its gradient by scatter-add (repeats accumulate).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=None):
        check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(
            np.empty((num_embeddings, embedding_dim), dtype=dtype or DEFAULT_FLOAT)
        )
        init.normal_(self.weight)

    def forward(self, indices) -> Tensor:
        return embedding(indices, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout), so
    evaluation needs no rescaling. Backward: gx = gy · mask / (1 - p)."""
    _check_probability("dropout", p)
    if not training or p == 0:
        return x
    if p == 1:  # everything dropped, as in PyTorch (1 / (1 - p) would divide by zero)
        return x * 0
    keep = creation.rand(*x.shape, dtype=np.float64).data >= p
    return x * Tensor(x.xp.asarray(keep / (1 - p), dtype=x.dtype))


def _check_probability(name: str, p) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or not 0 <= p <= 1:
        raise ValueError(f"{name}: p must be a probability in [0, 1], got {p!r}")


class Dropout(Module):
    def __init__(self, p: float = 0.5):
        _check_probability("Dropout", p)
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """Merge axes start_dim..end_dim; by default all but the batch axis."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return ops.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return ops.sigmoid(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return ops.tanh(x)


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return ops.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    def __init__(self, dim: int = -1):
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return ops.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        return ops.log_softmax(x, self.dim)
