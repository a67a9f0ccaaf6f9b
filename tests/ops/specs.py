"""One entry per public differentiable op: how to draw its inputs and parameters, its torch twin.

tests/ops/test_gradients.py (finite differences) and tests/ops/test_vs_torch.py (PyTorch CPU)
both parametrize over SPECS, so a new op needs one line here to be checked both ways.
Shapes and parameters come from hypothesis (so failures shrink); values come from a NumPy
generator seeded by hypothesis, which keeps them continuous (no accidental ties) and fast to draw.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import ops

from .layer_specs import LAYER_SPECS
from .loss_specs import LOSS_SPECS
from .opspec import OpSpec, broadcast_pair, shapes


def sum_to_case(data):
    """x of a broadcast shape, and the shape it was broadcast from (size-1 and added axes)."""
    drawn = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=3, max_side=4))
    return [drawn.result_shape], {"shape": drawn.input_shapes[0]}


def _torch_sum_to(x, shape):
    """PyTorch has no sum_to: the same sums, written out."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and x.shape[lead + i] != 1)  # fmt: skip
    return x.sum(dim=axes, keepdim=True).reshape(shape) if axes else x.reshape(shape)


def matmul_shapes(data):
    """Vector, matrix and broadcast-batched operands, by np.matmul's own signature."""
    strategy = hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=3, max_side=3
    )
    return data.draw(strategy).input_shapes


def reduce_params(data, input_shapes):
    """axis (None, an int or a tuple) and keepdims, as NumPy's reductions take them."""
    ndim = len(input_shapes[0])
    axes = st.integers(-ndim, ndim - 1) | hnp.valid_tuple_axes(ndim, min_size=1)
    axis = data.draw(st.none() | axes) if ndim else None
    return {"axis": axis, "keepdims": data.draw(st.booleans())}


def axis_param(data, input_shapes):
    ndim = len(input_shapes[0])
    return {"axis": data.draw(st.integers(-ndim, ndim - 1))}


def _torch_dims(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


# ---- parameter strategies of the shape ops ---------------------------------------------------
def reshape_params(data, input_shapes):
    shape = input_shapes[0]
    n = math.prod(shape)
    targets = [(-1,), shape[::-1], (1, *shape, 1), (n, 1)]
    if n and n % 2 == 0:
        targets.append((2, -1))
    return {"shape": data.draw(st.sampled_from(targets))}


def flatten_params(data, input_shapes):
    ndim = max(len(input_shapes[0]), 1)
    start = data.draw(st.integers(0, ndim - 1))
    return {"start_dim": start, "end_dim": data.draw(st.integers(start, ndim - 1))}


def swap_params(data, input_shapes):
    ndim = len(input_shapes[0])
    return {
        "axes": (data.draw(st.integers(-ndim, ndim - 1)), data.draw(st.integers(-ndim, ndim - 1)))
    }


def permute_params(data, input_shapes):
    return {"axes": tuple(data.draw(st.permutations(range(len(input_shapes[0])))))}


def squeeze_shapes(data):
    shape = list(data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
    for _ in range(data.draw(st.integers(1, 2))):
        shape.insert(data.draw(st.integers(0, len(shape))), 1)
    return (tuple(shape),)


def squeeze_params(data, input_shapes):
    ones = [i for i, n in enumerate(input_shapes[0]) if n == 1]
    return {"axis": data.draw(st.none() | st.sampled_from(ones))}


def unsqueeze_params(data, input_shapes):
    ndim = len(input_shapes[0])
    return {"axis": data.draw(st.integers(-ndim - 1, ndim))}


def broadcast_params(data, input_shapes):
    shape = input_shapes[0]
    lead = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    stretched = tuple(data.draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    return {"shape": lead + stretched}


def expand_params(data, input_shapes):
    target = broadcast_params(data, input_shapes)["shape"]
    lead = len(target) - len(input_shapes[0])
    keep = data.draw(st.lists(st.booleans(), min_size=len(target), max_size=len(target)))
    return {
        "shape": tuple(-1 if i >= lead and k else n for i, (n, k) in enumerate(zip(target, keep)))
    }


def getitem_params(data, input_shapes):
    """Basic slices and ints, None and Ellipsis, integer arrays with repeats, and boolean masks."""
    shape = input_shapes[0]
    kind = data.draw(st.sampled_from(["basic", "ellipsis", "integer array", "boolean mask"]))
    if kind == "basic":
        index = tuple(
            data.draw(st.integers(-n, n - 1) | st.slices(n).filter(lambda s: (s.step or 1) > 0))
            if n else slice(None) for n in shape
        )  # fmt: skip
    elif kind == "ellipsis":
        index = (None, Ellipsis, data.draw(st.integers(0, shape[-1] - 1)))
    elif kind == "integer array":
        picks = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6))
        index = np.array(picks)
    else:
        mask = data.draw(hnp.arrays(np.bool_, shape))
        index = mask
    return {"index": index}


def getitem_shapes(data):
    return (data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)),)


def concat_case(data):
    """Shapes that agree outside one axis, and that axis (drawn together, so they agree)."""
    base = list(data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3)))
    axis = data.draw(st.integers(0, len(base) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    return [tuple(base[:axis] + [n] + base[axis + 1 :]) for n in sizes], {"axis": axis}


def stack_shapes(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    return (shape,) * data.draw(st.integers(1, 3))


def split_params(data, input_shapes):
    shape = input_shapes[0]
    axis = data.draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    divisors = [d for d in range(1, n + 1) if n % d == 0] or [1]
    cuts = st.lists(st.integers(0, n), max_size=3).map(sorted)
    return {"sections": data.draw(st.sampled_from(divisors) | cuts), "axis": axis}


def pad_params(data, input_shapes):
    ndim = len(input_shapes[0])
    widths = data.draw(
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=ndim, max_size=ndim)
    )
    return {"pad_width": tuple(widths), "value": data.draw(st.sampled_from([0.0, -1.5]))}


def where_params(data, input_shapes):
    shape = np.broadcast_shapes(*input_shapes)
    return {"condition": data.draw(hnp.arrays(np.bool_, shape))}


def ddof_params(data, input_shapes):
    params = reduce_params(data, input_shapes)
    shape = input_shapes[0]
    count = math.prod(
        shape[a]
        for a in np.atleast_1d(params["axis"] if params["axis"] is not None else range(len(shape)))
    )
    params["ddof"] = data.draw(st.sampled_from([0, 1] if count > 1 else [0]))
    return params


# ---- the torch twins -------------------------------------------------------------------------
def _torch():
    import torch

    return torch


def _torch_reduce(name):
    def reduce(x, axis, keepdims, **extra):
        torch = _torch()
        dims = _torch_dims(axis, x.ndim)
        if x.ndim == 0:
            return (
                getattr(torch, name)(x, **extra) if name not in ("amax", "amin", "logsumexp") else x
            )
        return getattr(torch, name)(x, dim=dims, keepdim=keepdims, **extra)

    return reduce


def _torch_index(index):
    torch = _torch()
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    if isinstance(index, tuple):
        return tuple(_torch_index(i) for i in index)
    return index


def _torch_pad(x, pad_width, value):
    flat = [w for pair in reversed(pad_width) for w in pair]
    return _torch().nn.functional.pad(x, flat, value=value)


def _F():
    return _torch().nn.functional


SPECS: list[OpSpec] = [
    # arithmetic (broadcasting pairs, including size-0 and size-1 sides)
    OpSpec("add", operator.add, operator.add, broadcast_pair()),
    OpSpec("sub", operator.sub, operator.sub, broadcast_pair()),
    OpSpec("mul", operator.mul, operator.mul, broadcast_pair()),
    OpSpec("div", operator.truediv, operator.truediv, broadcast_pair(), low=(-2, 0.5), high=(2, 2)),
    OpSpec("pow", operator.pow, operator.pow, broadcast_pair(), low=(0.5, -2), high=(2, 2)),
    OpSpec("pow_scalar", lambda x: x**3, lambda x: x**3),
    OpSpec("pow_half", lambda x: x**0.5, lambda x: x**0.5, low=0.1, high=3.0),
    OpSpec("pow_tensor_exponent", lambda x: x ** tl.tensor(2.0, dtype=np.float64),
           lambda x: x ** __import__("torch").tensor(2.0, dtype=__import__("torch").float64)),
    OpSpec("rsub_scalar", lambda x: 1.5 - x, lambda x: 1.5 - x),
    OpSpec("neg", operator.neg, operator.neg),
    OpSpec("maximum", tl.maximum, lambda a, b: _torch().maximum(a, b), broadcast_pair(),
           distinct=True),
    OpSpec("minimum", tl.minimum, lambda a, b: _torch().minimum(a, b), broadcast_pair(),
           distinct=True),
    OpSpec("where", lambda a, b, condition: tl.where(condition, a, b),
           lambda a, b, condition: _torch().where(_torch().from_numpy(condition), a, b),
           broadcast_pair(), where_params),
    OpSpec("clip", lambda x: x.clip(-1.0, 0.5), lambda x: x.clamp(-1.0, 0.5), kinks=(-1.0, 0.5)),
    OpSpec("astype", lambda x: x.astype(np.float32).astype(np.float64),
           lambda x: x.float().double(), tolerances={"eps": 1e-2, "atol": 1e-4}),
    OpSpec("to_device", lambda x: ops.unary.ToDevice.apply(x, device="cpu"), lambda x: x.to("cpu")),
    # unary
    OpSpec("exp", tl.exp, lambda x: x.exp()),
    OpSpec("log", tl.log, lambda x: x.log(), low=0.1, high=3.0),
    OpSpec("sqrt", tl.sqrt, lambda x: x.sqrt(), low=0.1, high=3.0),
    OpSpec("abs", tl.abs, lambda x: x.abs(), kinks=(0.0,)),
    OpSpec("sin", tl.sin, lambda x: x.sin()),
    OpSpec("cos", tl.cos, lambda x: x.cos()),
    # matmul: vectors, matrices, broadcast batches
    OpSpec("matmul", operator.matmul, operator.matmul, matmul_shapes),
    # reductions
    OpSpec("sum", tl.sum, _torch_reduce("sum"), shapes(), reduce_params),
    OpSpec("mean", tl.mean, _torch_reduce("mean"), shapes(min_side=1), reduce_params),
    OpSpec("max", tl.max, _torch_reduce("amax"), shapes(min_side=1), reduce_params, distinct=True),
    OpSpec("min", tl.min, _torch_reduce("amin"), shapes(min_side=1), reduce_params, distinct=True),
    OpSpec("var", tl.var, lambda x, ddof, **p: _torch_reduce("var")(x, correction=ddof, **p),
           shapes(min_side=1), ddof_params),
    OpSpec("std", tl.std, lambda x, ddof, **p: _torch_reduce("std")(x, correction=ddof, **p),
           shapes(min_dims=1, min_side=2), ddof_params),
    OpSpec("logsumexp", tl.logsumexp, _torch_reduce("logsumexp"), shapes(min_side=1),
           reduce_params),
    # shape
    OpSpec("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape),
           shapes(), reshape_params),
    OpSpec("flatten", tl.flatten, lambda x, start_dim, end_dim: x.flatten(start_dim, end_dim),
           shapes(), flatten_params),
    OpSpec("transpose", lambda x, axes: x.transpose(*axes), lambda x, axes: x.transpose(*axes),
           shapes(min_dims=1), swap_params),
    OpSpec("T", lambda x: x.T, lambda x: x.permute(tuple(reversed(range(x.ndim))))),
    OpSpec("permute", lambda x, axes: x.permute(*axes), lambda x, axes: x.permute(axes),
           shapes(), permute_params),
    OpSpec("squeeze", tl.squeeze,
           lambda x, axis: x.squeeze() if axis is None else x.squeeze(axis), squeeze_shapes,
           squeeze_params),
    OpSpec("unsqueeze", tl.unsqueeze, lambda x, axis: x.unsqueeze(axis), shapes(),
           unsqueeze_params),
    OpSpec("broadcast_to", tl.broadcast_to, lambda x, shape: x.broadcast_to(shape), shapes(),
           broadcast_params),
    OpSpec("expand", lambda x, shape: x.expand(*shape), lambda x, shape: x.expand(shape), shapes(),
           expand_params),
    OpSpec("sum_to", tl.sum_to, lambda x, shape: _torch_sum_to(x, shape), case=sum_to_case),
    OpSpec("getitem", lambda x, index: x[index], lambda x, index: x[_torch_index(index)],
           getitem_shapes, getitem_params),
    OpSpec("concatenate", lambda *xs, axis: tl.concatenate(xs, axis),
           lambda *xs, axis: _torch().cat(xs, axis), case=concat_case),
    OpSpec("stack", lambda *xs: tl.stack(xs, axis=-1), lambda *xs: _torch().stack(xs, dim=-1),
           stack_shapes),
    OpSpec("split", lambda x, sections, axis: tuple(tl.split(x, sections, axis)),
           lambda x, sections, axis: _torch().tensor_split(x, sections, axis),
           shapes(min_dims=1), split_params),
    OpSpec("pad", tl.pad, _torch_pad, shapes(min_dims=1, max_dims=3), pad_params),
    # activations
    OpSpec("relu", tl.relu, lambda x: x.relu(), kinks=(0.0,)),
    OpSpec("leaky_relu", lambda x: tl.leaky_relu(x, 0.1),
           lambda x: _F().leaky_relu(x, 0.1), kinks=(0.0,)),
    OpSpec("sigmoid", tl.sigmoid, lambda x: x.sigmoid(), low=-6.0, high=6.0),
    OpSpec("tanh", tl.tanh, lambda x: x.tanh()),
    OpSpec("softmax", tl.softmax, lambda x, axis: x.softmax(axis),
           shapes(min_dims=1, min_side=1), axis_param),
    OpSpec("log_softmax", tl.log_softmax, lambda x, axis: x.log_softmax(axis),
           shapes(min_dims=1, min_side=1), axis_param),
    OpSpec("gelu", tl.gelu, lambda x: _F().gelu(x), low=-4.0, high=4.0),
    OpSpec("gelu_tanh", lambda x: tl.gelu(x, "tanh"), lambda x: _F().gelu(x, approximate="tanh")),
    OpSpec("normal_cdf", ops.normal_cdf, lambda x: _torch().special.ndtr(x)),
    OpSpec("softplus", lambda x: tl.softplus(x, 2.0), lambda x: _F().softplus(x, beta=2.0),
           low=-5.0, high=5.0),
]  # fmt: skip

SPECS += LOSS_SPECS + LAYER_SPECS
