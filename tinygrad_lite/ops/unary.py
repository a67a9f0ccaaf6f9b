"""Elementwise functions of one tensor: cast, to_device, exp, log, sqrt, abs, sin, cos.

Derivations: docs/derivations/unary.md
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import device_of, is_floating, parse_device
from ..backend import to_device as move_array
from ..tensor import Tensor, as_tensor
from .precision import autocast_inputs


class Cast(Function):
    """y = x converted to `dtype`.

    Backward: gx = gy converted back to x's dtype (the conversion is the identity on values).
    """

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, gy):
        return cast(gy, self.input_dtype)

    def backward_untracked(self, gy):
        return gy.astype(self.input_dtype)


def cast(x: Tensor, dtype) -> Tensor:
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.requires_grad and not is_floating(dtype):
        raise TypeError(f"astype: a tensor that requires grad can only become a float, not {dtype}")
    return Cast.apply(x, dtype=dtype)


class ToDevice(Function):
    """y = x copied to `device` ('cpu' or 'cuda').

    Backward: gx = gy copied back to x's device (a copy is the identity on values).
    """

    def forward(self, x, device):
        self.input_device = device_of(x)
        return move_array(x, device)

    def backward(self, gy):
        return to_device(gy, self.input_device)


def to_device(x: Tensor, device) -> Tensor:
    """`x` on `device`, differentiably; `x` itself when it is already there."""
    device = parse_device(device)
    return x if x.device == device else ToDevice.apply(x, device=device)


class Exp(Function):
    """y = exp(x).

    Backward: gx = gy * y  (exp is its own derivative, so the output is reused).
    """

    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    """y = ln(x).

    Backward: gx = gy / x.
    """

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x).

    Backward: gx = gy / (2 * y)  (infinite at x = 0, as the true derivative is).
    """

    def forward(self, x):
        return self.xp.sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output())


class Abs(Function):
    """y = |x|.

    Backward: gx = gy * sign(x), with sign(0) = 0 (the subgradient PyTorch also picks).
    """

    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, gy):
        return gy * Tensor(self.xp.sign(self.inputs[0].data))

    def backward_untracked(self, gy):
        return gy * self.xp.sign(self.inputs[0].data)


class Sin(Function):
    """y = sin(x).

    Backward: gx = gy * cos(x).
    """

    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])


class Cos(Function):
    """y = cos(x).

    Backward: gx = -gy * sin(x).
    """

    def forward(self, x):
        return self.xp.cos(x)

    def backward(self, gy):
        return -gy * sin(self.inputs[0])


def exp(x) -> Tensor:
    return Exp.apply(*autocast_inputs("exp", as_tensor(x)))


def log(x) -> Tensor:
    return Log.apply(*autocast_inputs("log", as_tensor(x)))


def sqrt(x) -> Tensor:
    return Sqrt.apply(as_tensor(x))


def abs(x) -> Tensor:  # noqa: A001  (tl.abs, like np.abs)
    return Abs.apply(as_tensor(x))


def sin(x) -> Tensor:
    return Sin.apply(as_tensor(x))


def cos(x) -> Tensor:
    return Cos.apply(as_tensor(x))
