"""Reductions: sum, max, min, logsumexp (primitives) and mean, var, std (composed from them).

`axis` is an int, a tuple of ints or None (all axes), as in NumPy. Every backward first restores
the reduced axes as size 1 (`_keepdims`), then broadcasts back to the input's shape.
Derivations: docs/derivations/reduce.md
"""

from __future__ import annotations

import builtins
import math

from ..autograd import Function
from ..backend import is_floating
from ..tensor import Tensor, as_tensor
from .arguments import normalize_axis
from .precision import autocast_inputs
from .shape import broadcast_to, reshape
from .unary import exp, sqrt


def _axes(axis, ndim: int, op: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(sorted(normalize_axis(a, ndim, op) for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return axes


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """`shape` with the reduced `axes` as size 1: the reduced result's shape with keepdims."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _spread(xp, g, shape: tuple[int, ...], axes: tuple[int, ...]):
    """g (the reduced result, an array) repeated over the reduced axes back to `shape`: the
    array backward of a sum. A filled array rather than broadcast_to's view: for a loss's few
    elements it is 3× cheaper (broadcast_to's setup is Python code in NumPy), and the next
    backward makes an array of this size anyway."""
    gx = xp.empty(shape, g.dtype)
    gx[...] = g.reshape(_kept_shape(shape, axes))
    return gx


def _keepdims(g: Tensor, shape: tuple[int, ...], axes: tuple[int, ...]) -> Tensor:
    """g (the reduced result) reshaped so the reduced axes are back, with size 1."""
    return reshape(g, _kept_shape(shape, axes))


class Sum(Function):
    """y = sum of x over `axes`.

    Backward: gx = broadcast_to(gy, x.shape)  (every summed element has derivative 1).
    """

    def forward(self, x, axes, keepdims):
        self.input_shape, self.axes = x.shape, axes
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, gy):
        return broadcast_to(_keepdims(gy, self.input_shape, self.axes), self.input_shape)

    def backward_untracked(self, gy):
        return _spread(self.xp, gy, self.input_shape, self.axes)


class Extremum(Function):
    """y = max (or min) of x over `axes`.

    Backward: gy goes to the elements equal to the extremum; k tied elements get gy / k each
    (like torch.amax; a subgradient that keeps the result symmetric in the ties).
    """

    def forward(self, x, axes, keepdims, largest):
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(
                f"{'max' if largest else 'min'}: cannot reduce an empty axis of {x.shape}"
            )
        self.input_shape, self.axes = x.shape, axes
        extreme = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        is_extreme = x == extreme
        self.share = is_extreme / is_extreme.sum(axis=axes, keepdims=True)
        return (
            extreme
            if keepdims
            else extreme.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        )

    def backward(self, gy):
        gx = broadcast_to(_keepdims(gy, self.input_shape, self.axes), self.input_shape)
        return gx * Tensor(self.share.astype(gy.dtype))

    def backward_untracked(self, gy):
        gx = _spread(self.xp, gy, self.input_shape, self.axes)
        return gx * self.share.astype(gy.dtype)


class LogSumExp(Function):
    """y = log(sum(exp(x))) over `axes`, computed as m + log(sum(exp(x - m))) with m = max(x).

    Backward: gx = gy * exp(x - y) = gy * softmax(x)  (m cancels, so it never overflows).
    """

    def forward(self, x, axes, keepdims):
        xp = self.xp
        self.input_shape, self.axes = x.shape, axes
        m = x.max(axis=axes, keepdims=True) if x.size else xp.zeros([1] * x.ndim, x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)  # NOTE: all -inf rows give -inf, not nan
        y = m + xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True))
        return y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(self, gy):
        x = self.inputs[0]
        y = _keepdims(self.output(), self.input_shape, self.axes)
        return _keepdims(gy, self.input_shape, self.axes) * exp(x - y)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001  (tl.sum, like np.sum)
    (x,) = autocast_inputs("sum", as_tensor(x))
    return Sum.apply(x, axes=_axes(axis, x.ndim, "sum"), keepdims=keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    x = as_tensor(x)
    return Extremum.apply(x, axes=_axes(axis, x.ndim, "max"), keepdims=keepdims, largest=True)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    x = as_tensor(x)
    return Extremum.apply(x, axes=_axes(axis, x.ndim, "min"), keepdims=keepdims, largest=False)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    (x,) = autocast_inputs("logsumexp", as_tensor(x))
    return LogSumExp.apply(x, axes=_axes(axis, x.ndim, "logsumexp"), keepdims=keepdims)


class Mean(Function):
    """y = (sum of x over `axes`) / n, for float x; n is the number of elements averaged.

    Backward: gx = broadcast_to(gy / n, x.shape)  (each averaged element has derivative 1/n).
    One node where sum-then-divide records two: the mean ends every loss.
    """

    def forward(self, x, axes, keepdims):
        self.input_shape, self.axes = x.shape, axes
        self.count = math.prod(x.shape[a] for a in axes)
        return x.sum(axis=axes, keepdims=keepdims) / self.xp.asarray(self.count, x.dtype)

    def backward(self, gy):
        share = gy / Tensor(gy.xp.asarray(self.count, gy.dtype))
        return broadcast_to(_keepdims(share, self.input_shape, self.axes), self.input_shape)

    def backward_untracked(self, gy):
        return _spread(self.xp, gy / self.xp.asarray(self.count, gy.dtype), self.input_shape,
                       self.axes)  # fmt: skip


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """sum / n (a Mean node for float x; sum and a division otherwise, which promote integers
    to the default float as PyTorch does)."""
    (x,) = autocast_inputs("mean", as_tensor(x))
    axes = _axes(axis, x.ndim, "mean")
    if is_floating(x.dtype):
        return Mean.apply(x, axes=axes, keepdims=keepdims)
    return sum(x, axes, keepdims) / math.prod(x.shape[a] for a in axes)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """sum((x - mean)**2) / (n - ddof); ddof=0 as in NumPy (torch's default is 1)."""
    (x,) = autocast_inputs("var", as_tensor(x))
    axes = _axes(axis, x.ndim, "var")
    deviation = x - mean(x, axes, keepdims=True)
    count = math.prod(x.shape[a] for a in axes)
    return sum(deviation * deviation, axes, keepdims) / builtins.max(count - ddof, 0)


def std(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """sqrt(var(x)); its gradient is infinite where all values along the axis are equal."""
    return sqrt(var(x, axis, keepdims, ddof))
