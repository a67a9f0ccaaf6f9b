"""Binary arithmetic (+ - * / **), neg, maximum, minimum, where, clip and comparisons.

Broadcasting is never handled here: `broadcast_pair` gives both operands one dtype and broadcasts
every operand that requires grad to the result's shape by inserting Cast and BroadcastTo nodes,
whose backward undoes them (constants are broadcast by NumPy in the forward; their gradient is
never asked for). So every gradient a backward below returns has its input's shape.
Derivations: docs/derivations/arithmetic.md
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import is_floating
from ..tensor import Tensor, as_tensor, result_dtype
from .arguments import broadcast_shape
from .precision import autocast_inputs
from .shape import broadcast_to
from .unary import cast, log


def broadcast_pair(a, b, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of one dtype (NumPy's promotion, weak numbers as in PyTorch),
    each operand that requires grad broadcast to the result's shape by a BroadcastTo node.

    A constant (a number, a mask, anything not requiring grad) stays as it is and NumPy
    broadcasts it inside the forward: its gradient is never asked for, so every gradient a
    backward returns still has its input's shape, and `2.0 * x` records one node, not three.
    """
    if type(a) is type(b) is Tensor and a.dtype == b.dtype and a.shape == b.shape:
        return a, b  # the common case, at no cost
    # a float tensor and a Python number (x / n, 2 * x): the number takes the tensor's dtype
    if type(a) is Tensor and type(b) in (int, float) and a.dtype.kind == "f":
        return a, as_tensor(b, a, a.dtype)
    if type(b) is Tensor and type(a) in (int, float) and b.dtype.kind == "f":
        return as_tensor(a, b, b.dtype), b
    dtype = result_dtype(a, b)
    like = a if isinstance(a, Tensor) else b
    a, b = as_tensor(a, like, dtype), as_tensor(b, like, dtype)
    shape = broadcast_shape(op, a.shape, b.shape)
    a, b = cast(a, dtype), cast(b, dtype)
    return tuple(broadcast_to(t, shape) if t.requires_grad else t for t in (a, b))


class Add(Function):
    """y = a + b.

    Backward: ga = gy, gb = gy.
    """

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy

    def backward_untracked(self, gy):
        needs = self.needs_input_grad
        return gy if needs[0] else None, gy if needs[1] else None


class Sub(Function):
    """y = a - b.

    Backward: ga = gy, gb = -gy.
    """

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy

    def backward_untracked(self, gy):
        needs = self.needs_input_grad
        return gy if needs[0] else None, -gy if needs[1] else None


class Mul(Function):
    """y = a * b.

    Backward: ga = gy * b, gb = gy * a.
    """

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return gy * b, gy * a

    def backward_untracked(self, gy):
        (a, b), needs = (x.data for x in self.inputs), self.needs_input_grad
        return gy * b if needs[0] else None, gy * a if needs[1] else None


class Div(Function):
    """y = a / b.

    Backward: ga = gy / b, gb = -gy * a / b**2.
    """

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b
        return ga, -ga * a / b if self.needs_input_grad[1] else None

    def backward_untracked(self, gy):
        a, b = (x.data for x in self.inputs)
        ga = gy / b
        return ga, -ga * a / b if self.needs_input_grad[1] else None


class Pow(Function):
    """y = a ** b.

    Backward: ga = gy * b * a**(b - 1), gb = gy * y * ln(a)  (gb only when b requires grad, so that
    x ** 2 with x < 0 never evaluates ln of a negative number).
    """

    def forward(self, a, b):
        return a**b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy * b * a ** (b - 1) if self.needs_input_grad[0] else None
        gb = gy * self.output() * log(a) if self.needs_input_grad[1] else None
        return ga, gb


class PowConstant(Function):
    """y = x ** c for a constant number c (x ** 2, x ** 0.5, 1 / x ** 3 ...).

    Backward: gx = gy * c * x ** (c - 1). Kept apart from Pow so the exponent stays a scalar:
    NumPy then takes its fast paths (x ** 2 is x * x) and no exponent array is broadcast.
    """

    def forward(self, x, exponent):
        self.exponent = exponent
        return (x**exponent).astype(
            x.dtype, copy=False
        )  # NOTE: bfloat16 (ml_dtypes) turns float constants into float32

    def backward(self, gy):
        return self._rule(gy, self.inputs[0])

    def backward_untracked(self, gy):
        gx = self._rule(gy, self.inputs[0].data)
        return gx.astype(gy.dtype, copy=False)  # NOTE: as forward: bfloat16 ** c is float32

    def _rule(self, gy, x):
        """gy · c · x^(c-1), on a Tensor (recorded) or an array alike."""
        c = self.exponent
        if c == 1:
            return gy
        return gy * c * (x if c == 2 else x ** (c - 1))  # x ** 1 would copy x for nothing


class Neg(Function):
    """y = -x.

    Backward: gx = -gy.
    """

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy

    def backward_untracked(self, gy):
        return -gy


class Maximum(Function):
    """y = max(a, b) elementwise.

    Backward: gy goes to the larger input; at a tie each input gets gy / 2 (as in PyTorch).
    """

    def forward(self, a, b):
        self.share_a = (a > b) + 0.5 * (a == b)  # a's share of gy: 1, 1/2 at a tie, or 0
        return self.xp.maximum(a, b)

    def backward(self, gy):
        return _split(gy, Tensor(self.share_a.astype(gy.dtype)))

    def backward_untracked(self, gy):
        return _split(gy, self.share_a.astype(gy.dtype))


def _split(gy, share_a):
    """(gy · share_a, gy · (1 - share_a)): the rule of Maximum, Minimum and Where, on arrays
    or on Tensors alike."""
    return gy * share_a, gy * (1 - share_a)


class Minimum(Maximum):
    """y = min(a, b) elementwise.

    Backward: gy goes to the smaller input; at a tie each input gets gy / 2 (as in PyTorch).
    (Maximum's backward: only which input is chosen differs.)
    """

    def forward(self, a, b):
        self.share_a = (a < b) + 0.5 * (a == b)
        return self.xp.minimum(a, b)


class Where(Maximum):
    """y = a where `condition` else b (condition is a boolean array, not differentiated).

    Backward: ga = gy where condition else 0, gb = gy where not condition else 0 (Maximum's
    rule, with a's share 1 where the condition holds).
    """

    def forward(self, a, b, condition):
        self.share_a = condition
        return self.xp.where(condition, a, b)

    def backward(self, gy):
        return (*super().backward(gy), None)

    def backward_untracked(self, gy):
        return (*super().backward_untracked(gy), None)


class Clip(Function):
    """y = min(max(x, low), high); a bound of None is not applied.

    Backward: gx = gy where low <= x <= high, else 0 (the bounds themselves pass gy, as in PyTorch).
    """

    def forward(self, x, low, high):
        xp = self.xp
        inside = xp.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        self.inside = inside
        return xp.clip(x, low, high).astype(
            x.dtype, copy=False
        )  # NOTE: bfloat16 (ml_dtypes) turns float constants into float32

    def backward(self, gy):
        return gy * Tensor(self.inside.astype(gy.dtype))

    def backward_untracked(self, gy):
        return gy * self.inside.astype(gy.dtype)


class Compare(Function):
    """y = a < b (or <=, >, >=, ==, != by NumPy ufunc `name`): a bool tensor.

    Backward: none (a step function; booleans cannot require grad). Never on the tape
    (`differentiable = False`), but an op all the same, so that tl.jit recomputes a mask such
    as `x * (x > 0.5)` at every replay instead of freezing it.
    """

    differentiable = False

    def forward(self, a, b, name: str):
        return getattr(self.xp, name)(a, b)

    def backward(self, gy):
        return None, None


def add(a, b) -> Tensor:
    return Add.apply(*broadcast_pair(a, b, "add"))


def sub(a, b) -> Tensor:
    return Sub.apply(*broadcast_pair(a, b, "sub"))


def mul(a, b) -> Tensor:
    return Mul.apply(*broadcast_pair(a, b, "mul"))


def div(a, b) -> Tensor:
    return Div.apply(*broadcast_pair(a, b, "div"))


def pow(a, b) -> Tensor:  # noqa: A001  (tl.pow, like torch.pow)
    a, b = autocast_inputs("pow", a, b)  # float32 inside tl.amp.autocast
    if isinstance(a, Tensor) and isinstance(b, (int, float, np.number)) and not isinstance(b, bool):
        exponent = b.item() if isinstance(b, np.number) else b  # a weak number: keeps a's dtype
        if is_floating(a.dtype) or isinstance(exponent, int):
            return PowConstant.apply(a, exponent=exponent)
    return Pow.apply(*broadcast_pair(a, b, "pow"))


def neg(x) -> Tensor:
    return Neg.apply(as_tensor(x))


def maximum(a, b) -> Tensor:
    return Maximum.apply(*broadcast_pair(a, b, "maximum"))


def minimum(a, b) -> Tensor:
    return Minimum.apply(*broadcast_pair(a, b, "minimum"))


def where(condition, a, b) -> Tensor:
    """Elementwise `a if condition else b`, broadcasting all three (like np.where)."""
    condition = as_tensor(condition)
    if condition.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {condition.dtype}")
    a, b = broadcast_pair(a, b, "where")
    shape = broadcast_shape("where", condition.shape, a.shape, b.shape)
    a, b = (broadcast_to(t, shape) if t.requires_grad else t for t in (a, b))
    if condition.shape != shape:
        condition = broadcast_to(condition, shape)
    return Where.apply(a, b, condition)  # NOTE: an input, so tl.jit follows a computed mask


def clip(x, low=None, high=None) -> Tensor:
    """Limit values to [low, high] (numbers; None means unbounded on that side)."""
    if low is None and high is None:
        raise ValueError("clip: give at least one of low and high")
    x = as_tensor(x)
    if is_floating(x.dtype):  # NOTE: a np.float64 bound would make NumPy promote the result
        low, high = (None if v is None else x.xp.asarray(v, dtype=x.dtype) for v in (low, high))
    return Clip.apply(x, low=low, high=high)


def compare(a, b, name: str) -> Tensor:
    """Elementwise comparison by NumPy ufunc name (e.g. 'less'): a bool tensor, no graph."""
    dtype = result_dtype(a, b)
    like = a if isinstance(a, Tensor) else b
    a, b = as_tensor(a, like, dtype), as_tensor(b, like, dtype)
    broadcast_shape(name, a.shape, b.shape)
    return Compare.apply(a, b, name=name)
