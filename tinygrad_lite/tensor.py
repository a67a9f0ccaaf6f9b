"""The Tensor: an array (NumPy or CuPy), its gradient, and the op that created it.

Every method below is one line that calls an op in `tinygrad_lite.ops`; the op's forward,
backward and derivation live there, side by side.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from . import inplace, state
from .backend import bfloat16, device_of, get_array_module, is_floating, to_device
from .dtypes import (  # noqa: F401  (tl.tensor.result_dtype, DEFAULT_FLOAT: their old home)
    DEFAULT_FLOAT,
    as_array,
    plain_array,
    promotion_tier,
    result_dtype,
)
from .versions import Structure, VersionCounter, share_memory_state  # noqa: F401  (re-exported)


def as_tensor(x: Any, like: Tensor | None = None, dtype=None) -> Tensor:
    """`x` as a Tensor, on `like`'s device when given (NumPy labels next to GPU logits just work;
    two Tensors are never moved silently). A number next to `like` takes `like`'s dtype; see
    `result_dtype` for the rule, and `dtype` to give the dtype yourself."""
    if isinstance(x, Tensor):
        return x
    if like is not None and dtype is None and promotion_tier(x) == 0:
        dtype = result_dtype(like, x)
    if like is None:
        return Tensor(x, dtype=dtype)
    return Tensor(like.xp.asarray(as_array(x, dtype)), device=like.device)


class Tensor:
    """An n-dimensional array that records the ops applied to it, so it can be differentiated.

    Args:
        data: array-like (nested lists, scalars, a NumPy or CuPy array, another Tensor). NumPy and
            CuPy arrays are wrapped without a copy and keep their dtype; Python floats become
            float32. Use `tl.tensor` for an independent copy.
        requires_grad: record ops on this tensor so that `backward` fills `.grad`.
        dtype: NumPy dtype to convert to.
        device: 'cpu' (NumPy) or 'cuda' (CuPy); by default where `data` already is.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    Tensor([2., 4., 6.])
    """

    name: str | None = None  # an optional label for traces and graph drawings (x.name = "w1")
    __hash__ = object.__hash__  # == is elementwise, so hash by identity

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None, device=None):
        self.data = as_array(data.data if isinstance(data, Tensor) else data, dtype)
        if device is not None:
            self.data = to_device(self.data, device)
        self._grad: Tensor | None = None
        self.creator = None  # the Function that produced this tensor; None for a leaf
        self._counter = VersionCounter()  # bumped by every in-place change, checked by backward
        if isinstance(data, Tensor):
            share_memory_state(self, [data])
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_()

    @classmethod
    def wrap(cls, array) -> Tensor:
        """A new leaf on a NumPy array the engine just made (an op's result, a gradient):
        `Tensor(array)` without the conversions, which every op would otherwise pay for."""
        t = object.__new__(cls)
        t.data, t._grad, t.creator, t._requires_grad = array, None, None, False
        t._counter = VersionCounter()
        return t

    # ---- attributes -------------------------------------------------------------------------
    def _set_grad(self, value: Tensor | None) -> None:
        if state.modes.observer is not None:  # the step's own code sets it: tl.jit replays it
            state.modes.observer.on_grad_assigned(self, value)
        self._grad = value

    grad = property(
        lambda self: self._grad, _set_grad, doc="The gradient backward accumulated, or None."
    )
    shape = property(lambda self: self.data.shape, doc="Tuple of dimensions.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="NumPy dtype of the elements.")
    xp = property(lambda self: get_array_module(self.data), doc="numpy or cupy.")
    device = property(lambda self: device_of(self.data), doc="'cpu' or 'cuda'.")
    is_leaf = property(lambda self: self.creator is None, doc="True unless an op recorded it.")
    requires_grad = property(
        lambda self: self._requires_grad,
        lambda self, value: self.requires_grad_(value),
        doc="Whether backward computes a gradient for this tensor (float tensors only).",
    )
    _version = property(
        lambda self: self._counter.value,
        lambda self, value: setattr(self._counter, "value", value),
        doc="In-place changes so far of this tensor's memory (shared with its views).",
    )
    T = property(
        lambda self: self.transpose(), doc="Axes reversed (a view for 2-D: the transpose)."
    )

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self._shared_array(), separator=", ", prefix="Tensor(")
        extras = (
            [] if self.dtype in (DEFAULT_FLOAT, np.int64, np.bool_) else [f"dtype={self.dtype}"]
        )
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.creator is not None:
            extras.append(f"creator={type(self.creator).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"Tensor({', '.join([body, *extras])})"

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU if needed; shared on the CPU).

        The shared array is read-only while writing into it could corrupt a gradient: when this
        tensor requires grad, or an op has recorded it (or a view of its memory) for backward.
        Change such a tensor in place under `tl.no_grad()` (`w.copy_(...)`, `w -= ...`), where
        the version check sees it, or take a copy: `t.numpy().copy()`.
        """
        self._read("numpy()")
        return self._shared_array()

    def _read(self, what: str) -> None:
        """Tell a capture (tl.jit) that Python reads this tensor's values."""
        if state.modes.observer is not None:
            state.modes.observer.on_read(self, what)

    def _shared_array(self) -> np.ndarray:
        if not isinstance(self.data, np.ndarray):
            return self.data.get()
        if not (self._requires_grad or self._counter.recorded):
            return self.data
        view = self.data.view()
        view.flags.writeable = False
        return view

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """np.exp(t), ndarray + t, ...: our differentiable op (see tinygrad_lite/ops/interop.py)."""
        return ops.interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """np.sum(t), np.concatenate([...]), ...: our differentiable op (ops/interop.py)."""
        return ops.interop.array_function(func, args, kwargs)

    def __dlpack__(self, *args, **kwargs):
        """This tensor's memory for another library, without a copy (ops/interop.py)."""
        self._read("__dlpack__()")
        return ops.interop.to_dlpack(self, *args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def __array__(self, dtype=None, copy=None):
        self._read("np.asarray()")
        array = self._shared_array()
        if copy:
            return np.array(array, dtype=dtype, copy=True)
        return array if dtype is None else array.astype(dtype)

    def item(self) -> float | int | bool:
        """The single element as a Python number."""
        self._read("item()")
        return self._number("item")

    def _number(self, what: str):
        if self.size != 1:
            raise ValueError(
                f"{what}: only one-element tensors convert to a number, got {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        self._read("tolist()")
        return self._shared_array().tolist()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.shape} with {self.size} "
                "elements is ambiguous; use (t != 0).any() or .all(), or compare t.item()"
            )
        self._read("bool()")
        return bool(self._number("bool"))

    def __float__(self) -> float:
        self._read("float()")
        return float(self._number("float"))

    def __int__(self) -> int:
        self._read("int()")
        return int(self._number("int"))

    def to(self, device=None, dtype=None) -> Tensor:
        """This tensor on `device` and/or as `dtype`, differentiably; self if nothing changes.

        >>> Tensor([1.0]).to(dtype="float64").dtype
        dtype('float64')
        """
        moved = self if device is None else ops.to_device(self, device)
        return moved if dtype is None else moved.astype(dtype)

    def cuda(self) -> Tensor:
        """A copy on the GPU (needs CuPy; see `tl.cuda.is_available()`)."""
        return self.to("cuda")

    def cpu(self) -> Tensor:
        """This tensor on the CPU (a NumPy array inside)."""
        return self.to("cpu")

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and version counter), cut off from the graph."""
        return Tensor(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad in place (only leaves can change it) and return self."""
        if requires_grad and not is_floating(self.dtype):
            raise TypeError(f"requires_grad: only float tensors can require grad, got {self.dtype}")
        if self.creator is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad_: only leaf tensors can stop requiring grad; use detach()"
            )
        self._requires_grad = bool(requires_grad)
        Structure.version += 1
        return self

    def astype(self, dtype) -> Tensor:
        """Differentiable dtype conversion (the gradient is cast back)."""
        return ops.cast(self, dtype)

    def half(self) -> Tensor:
        """As float16, differentiably (the gradient is cast back to this dtype)."""
        return ops.cast(self, np.float16)

    def bfloat16(self) -> Tensor:
        """As bfloat16 (needs the ml_dtypes package), differentiably."""
        return ops.cast(self, bfloat16())

    def float(self) -> Tensor:
        """As float32, differentiably."""
        return ops.cast(self, np.float32)

    def double(self) -> Tensor:
        """As float64, differentiably."""
        return ops.cast(self, np.float64)

    # ---- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False,
                 trace: bool = False) -> None:  # fmt: skip
        """Accumulate the gradient of this tensor into `.grad` of every leaf it depends on.

        Args:
            gradient: d(something)/d(self), same shape as self; may be omitted for a scalar.
            retain_graph: keep the graph so that backward can run through it again.
            create_graph: record the backward pass itself, so `.grad` can be differentiated.
            trace: print every backward step (see `tl.trace`).

        Raises:
            RuntimeError: self is not a scalar and no gradient was given; the graph was already
                freed by an earlier backward; a tensor it needs was modified in place.
        """
        if not trace:
            return autograd.backward(self, gradient, retain_graph, create_graph)
        from .tracing import trace as tracing  # NOTE: here, so the core imports no tracing

        with tracing():
            autograd.backward(self, gradient, retain_graph, create_graph)

    @state.replayed_whole  # tl.jit replays it by calling it again
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradient, or with set_to_none=False replace an existing one by zeros."""
        if set_to_none or self._grad is None:  # NOTE: ._grad: replayed whole by tl.jit
            self._grad = None
        else:
            self._grad = Tensor(self.xp.zeros_like(self.data))

    # ---- in-place updates (refused when they would corrupt a gradient) ----------------------
    def _update_in_place(self, other, statement: str, update) -> Tensor:
        return inplace.update_in_place(self, other, statement, update)

    def _augmented(self, other, statement: str, update, op) -> Tensor:
        return inplace.augmented(self, other, statement, update, op)

    def __iadd__(self, other):
        return self._augmented(other, "x += y", operator.iadd, operator.add)

    def __isub__(self, other):
        return self._augmented(other, "x -= y", operator.isub, operator.sub)

    def __imul__(self, other):
        return self._augmented(other, "x *= y", operator.imul, operator.mul)

    def __itruediv__(self, other):
        return self._augmented(other, "x /= y", operator.itruediv, operator.truediv)

    def __setitem__(self, index, value) -> None:
        index = ops.as_index(index)
        self._update_in_place(value, "x[index] = y", lambda data, v: data.__setitem__(index, v))

    def add_(self, other) -> Tensor:
        return self._update_in_place(other, "x.add_(y)", operator.iadd)

    def sub_(self, other) -> Tensor:
        return self._update_in_place(other, "x.sub_(y)", operator.isub)

    def mul_(self, other) -> Tensor:
        return self._update_in_place(other, "x.mul_(y)", operator.imul)

    def div_(self, other) -> Tensor:
        return self._update_in_place(other, "x.div_(y)", operator.itruediv)

    def copy_(self, source) -> Tensor:
        """Overwrite the values with `source` (broadcast to this shape, cast to this dtype)."""
        return self._update_in_place(source, "x.copy_(y)", lambda data, v: data.__setitem__(..., v))

    def fill_(self, value) -> Tensor:
        return self.copy_(value)

    def zero_(self) -> Tensor:
        return self.copy_(0)

    # ---- the ops, one line each (their forward, backward and derivation: tinygrad_lite/ops) ----
    # fmt: off
    # ---- arithmetic (NumPy broadcasting; Python numbers take the tensor's dtype) --------------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __abs__(self): return ops.abs(self)

    # ---- comparisons: boolean tensors, never differentiable ----------------------------------
    def __lt__(self, other): return ops.compare(self, other, "less")
    def __le__(self, other): return ops.compare(self, other, "less_equal")
    def __gt__(self, other): return ops.compare(self, other, "greater")
    def __ge__(self, other): return ops.compare(self, other, "greater_equal")
    def __eq__(self, other): return ops.compare(self, other, "equal")
    def __ne__(self, other): return ops.compare(self, other, "not_equal")

    # ---- elementwise -------------------------------------------------------------------------
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return ops.minimum(self, other)
    def clip(self, low=None, high=None): return ops.clip(self, low, high)
    def relu(self): return ops.relu(self)
    def leaky_relu(self, slope=0.01): return ops.leaky_relu(self, slope)
    def sigmoid(self): return ops.sigmoid(self)
    def tanh(self): return ops.tanh(self)
    def gelu(self, approximate="none"): return ops.gelu(self, approximate)
    def softplus(self, beta=1.0): return ops.softplus(self, beta)
    def softmax(self, axis=-1): return ops.softmax(self, axis)
    def log_softmax(self, axis=-1): return ops.log_softmax(self, axis)

    # ---- reductions --------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return ops.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return ops.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return ops.min(self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return ops.var(self, axis, keepdims, ddof)
    def std(self, axis=None, keepdims=False, ddof=0): return ops.std(self, axis, keepdims, ddof)
    def logsumexp(self, axis=None, keepdims=False): return ops.logsumexp(self, axis, keepdims)

    # ---- shape -------------------------------------------------------------------------------
    def reshape(self, *shape): return ops.reshape(self, *shape)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def transpose(self, *axes): return ops.transpose(self, *axes)
    def permute(self, *axes): return ops.permute(self, *axes)
    def squeeze(self, axis=None): return ops.squeeze(self, axis)
    def unsqueeze(self, axis): return ops.unsqueeze(self, axis)
    def broadcast_to(self, shape): return ops.broadcast_to(self, shape)
    def expand(self, *shape): return ops.expand(self, *shape)
    def split(self, sections, axis=0): return ops.split(self, sections, axis)
    def __getitem__(self, index): return ops.getitem(self, index)
    def matmul(self, other): return ops.matmul(self, other)
    # fmt: on


from . import autograd, ops  # noqa: E402  (they import Tensor from this module)
