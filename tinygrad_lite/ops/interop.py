"""Working with other libraries: NumPy's protocols (so `np.exp(t)` records our op) and DLPack
(zero-copy exchange with PyTorch, CuPy, JAX).

NumPy protocols: `np.exp(t)`, `np.tanh(t)`, `t + ndarray`, `np.sum(t, axis=0)`,
`np.matmul(a, b)`, `np.concatenate([...])` ... on Tensors call our differentiable ops, so the
graph is kept. A NumPy function we have no op for raises a TypeError naming it when a Tensor in
it is part of a graph (converting would silently drop the gradient); on plain tensors it runs on
their arrays and returns NumPy's result.

DLPack: `Tensor.__dlpack__` hands the array's memory to another library without a copy, and
`tl.from_dlpack(obj)` wraps another library's memory as a Tensor. No graph crosses the boundary:
a tensor that requires grad is refused (detach it first), and the imported tensor is a leaf.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..backend import read_only
from ..tensor import Tensor

UFUNCS = {
    np.add: ops.add, np.subtract: ops.sub, np.multiply: ops.mul, np.true_divide: ops.div,
    np.power: ops.pow, np.negative: ops.neg, np.maximum: ops.maximum, np.minimum: ops.minimum,
    np.matmul: ops.matmul, np.exp: ops.exp, np.log: ops.log, np.sqrt: ops.sqrt,
    np.absolute: ops.abs, np.sin: ops.sin, np.cos: ops.cos, np.tanh: ops.tanh,
    np.positive: lambda x: x,
    np.less: lambda a, b: ops.compare(a, b, "less"),
    np.less_equal: lambda a, b: ops.compare(a, b, "less_equal"),
    np.greater: lambda a, b: ops.compare(a, b, "greater"),
    np.greater_equal: lambda a, b: ops.compare(a, b, "greater_equal"),
    np.equal: lambda a, b: ops.compare(a, b, "equal"),
    np.not_equal: lambda a, b: ops.compare(a, b, "not_equal"),
}  # fmt: skip


def _reduction(op):
    def call(a, axis=None, dtype=None, out=None, keepdims=False, **unused):
        _refuse_out("this reduction", out)
        y = op(a, axis, bool(keepdims))
        return y if dtype is None else y.astype(dtype)

    return call


def _refuse_out(name: str, out) -> None:
    if out is not None:
        raise TypeError(f"{name}: out= cannot hold a Tensor's result; assign the result instead")


FUNCTIONS = {
    np.sum: _reduction(ops.sum), np.mean: _reduction(ops.mean), np.max: _reduction(ops.max),
    np.amax: _reduction(ops.max), np.min: _reduction(ops.min), np.amin: _reduction(ops.min),
    np.var: lambda a, axis=None, ddof=0, keepdims=False, **k: ops.var(a, axis, keepdims, ddof),
    np.std: lambda a, axis=None, ddof=0, keepdims=False, **k: ops.std(a, axis, keepdims, ddof),
    np.concatenate: lambda arrays, axis=0, **k: ops.concatenate(list(arrays), axis),
    np.stack: lambda arrays, axis=0, **k: ops.stack(list(arrays), axis),
    np.reshape: lambda a, shape=None, *args, **k: ops.reshape(a, k.get("newshape", shape)),
    np.transpose: lambda a, axes=None: ops.transpose(a, *(axes or ())),
    np.squeeze: lambda a, axis=None: ops.squeeze(a, axis),
    np.expand_dims: lambda a, axis: ops.unsqueeze(a, axis),
    np.where: lambda condition, a, b: ops.where(condition, a, b),
    np.clip: lambda a, a_min=None, a_max=None, **k: ops.clip(a, a_min, a_max),
    np.matmul: lambda a, b, **k: ops.matmul(a, b),
    np.dot: lambda a, b: ops.matmul(a, b),
    np.exp: lambda x: ops.exp(x), np.log: lambda x: ops.log(x), np.tanh: lambda x: ops.tanh(x),
}  # fmt: skip


def _in_graph(values) -> bool:
    found = []

    def visit(v):
        if isinstance(v, Tensor):
            found.append(v.requires_grad)
        elif isinstance(v, (list, tuple)):
            for item in v:
                visit(item)
        elif isinstance(v, dict):
            for item in v.values():
                visit(item)

    visit(values)
    return any(found)


def _as_arrays(value):
    if isinstance(value, Tensor):
        return value.numpy()
    if isinstance(value, (list, tuple)):
        return type(value)(_as_arrays(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_arrays(v) for k, v in value.items()}
    return value


def _unsupported(name: str, args, kwargs):
    if _in_graph((args, kwargs)):
        raise TypeError(
            f"np.{name} is not supported on tinygrad_lite Tensors that require grad: converting "
            "them to arrays would drop the gradient; use a tinygrad_lite op, or .detach() first"
        )
    return None  # the caller runs NumPy on the plain arrays


def array_ufunc(ufunc, method: str, inputs, kwargs):
    """Tensor.__array_ufunc__: our op for a plain call of a ufunc we have, else see the module
    docstring."""
    op = UFUNCS.get(ufunc)
    if method == "__call__" and op is not None and not kwargs.get("out"):
        extra = {k: v for k, v in kwargs.items() if k not in ("out", "casting", "order", "subok")}
        if not extra or set(extra) == {"dtype"}:
            y = op(*inputs)
            return y if "dtype" not in extra else y.astype(extra["dtype"])
    name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    _unsupported(name, inputs, kwargs)
    return getattr(ufunc, method)(*_as_arrays(inputs), **_as_arrays(kwargs))


def array_function(func, args, kwargs):
    """Tensor.__array_function__: our op for the NumPy functions we have, else see the module
    docstring."""
    op = FUNCTIONS.get(func)
    if op is not None:
        return op(*args, **kwargs)
    _unsupported(func.__name__, args, kwargs)
    return func(*_as_arrays(args), **_as_arrays(kwargs))


def to_dlpack(tensor: Tensor, *args, **kwargs):
    """Tensor.__dlpack__: the array's own memory, without a copy (no graph crosses DLPack).
    Read-only (DLPack 1.0's flag, which NumPy honours) while writing into it could corrupt a
    gradient, as for `.numpy()`: when an op has recorded this memory for a backward."""
    if tensor.requires_grad:
        raise RuntimeError(
            "__dlpack__: cannot export a tensor that requires grad (no graph crosses DLPack); "
            "use tensor.detach()"
        )
    data = read_only(tensor.data) if tensor._counter.recorded else tensor.data
    return data.__dlpack__(*args, **kwargs)


def from_dlpack(obj: Any) -> Tensor:
    """A Tensor sharing the memory of `obj` (a PyTorch, CuPy or JAX array, or anything with
    __dlpack__): writes on either side are seen by the other. The Tensor is a leaf."""
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: {type(obj).__name__} does not support DLPack")
    device_type, _ = obj.__dlpack_device__()
    if device_type == 2:  # kDLCUDA
        from ..backend import require_cupy

        return Tensor(require_cupy().from_dlpack(obj))
    return Tensor(np.from_dlpack(obj))
