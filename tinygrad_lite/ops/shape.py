"""Ops that move elements without changing them: reshape, permute, broadcast, index, concat, pad.

Each backward is the adjoint move: reshape back, permute back, sum what was broadcast, scatter what
was gathered, slice what was padded. Derivations: docs/derivations/shape.md
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..autograd import Function
from ..backend import scatter_add
from ..cuda import reduce as gpu
from ..cuda.launch import supported
from ..tensor import Tensor, as_tensor
from .arguments import as_index, broadcast_shape, normalize_axis, unpack_sizes


def sum_to_array(array, shape: tuple[int, ...]):
    """Undo broadcasting: sum the axes it added or stretched (the adjoint of broadcast_to).
    On the GPU one kernel does it (kernels/reduce.cu)."""
    if array.shape == tuple(shape):
        return array
    if supported(array):
        return gpu.sum_to(array, tuple(shape))
    lead = array.ndim - len(shape)
    stretched = tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and array.shape[lead + i] != 1
    )
    return array.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)


class Reshape(Function):
    """y = x with a new shape (the same elements in the same row-major order).

    Backward: gx = reshape(gy, x.shape).
    """

    def forward(self, x, shape):
        self.input_shape = x.shape
        return x.reshape(shape)

    def backward(self, gy):
        return reshape(gy, self.input_shape)

    def backward_untracked(self, gy):
        return gy.reshape(self.input_shape)


class Permute(Function):
    """y = x with its axes reordered: y.shape[i] = x.shape[axes[i]].

    Backward: gx = permute(gy, inverse of axes).
    """

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, gy):
        return permute(gy, *np.argsort(self.axes))


class BroadcastTo(Function):
    """y = x repeated along new leading axes and along its size-1 axes, to `shape`.

    Backward: gx = sum_to(gy, x.shape)  (each x element was copied to several y elements).
    """

    def forward(self, x, shape):
        self.input_shape = x.shape
        return self.xp.broadcast_to(x, shape)

    def backward(self, gy):
        return SumTo.apply(gy, shape=self.input_shape)

    def backward_untracked(self, gy):
        return sum_to_array(gy, self.input_shape)


class SumTo(Function):
    """y = sum of x over the axes that broadcasting from `shape` would have added or stretched.

    Backward: gx = broadcast_to(gy, x.shape)  (the adjoint of BroadcastTo, and vice versa).
    """

    def forward(self, x, shape):
        self.input_shape = x.shape
        return sum_to_array(x, shape)

    def backward(self, gy):
        return broadcast_to(gy, self.input_shape)

    def backward_untracked(self, gy):
        return self.xp.broadcast_to(gy, self.input_shape)


def sum_to(x, shape) -> Tensor:
    """Sum x down to `shape`, undoing NumPy broadcasting from `shape` to x.shape (DeZero's and
    Chainer's sum_to): the leading axes broadcasting added and the size-1 axes it stretched.

    >>> sum_to(Tensor(np.ones((2, 3))), (1, 3))
    Tensor([[2., 2., 2.]], dtype=float64)

    Raises:
        ValueError: x.shape is not a broadcast of `shape`, naming both.
    """
    x, shape = as_tensor(x), tuple(int(n) for n in shape)
    try:
        fits = np.broadcast_shapes(shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"sum_to: {x.shape} is not a broadcast of {shape}")
    return x if x.shape == shape else SumTo.apply(x, shape=shape)


class GetItem(Function):
    """y = x[index], for any NumPy index (ints, slices, None, Ellipsis, integer or boolean arrays).

    Backward: gx = zeros like x, with gy scatter-added at `index` (repeated indices accumulate).
    """

    def forward(self, x, index):
        self.input_shape, self.index = x.shape, index
        return x[index]

    def backward(self, gy):
        return ScatterAdd.apply(gy, shape=self.input_shape, index=self.index)


class TakeRows(Function):
    """y = weight[indices]: the rows picked by integer indices of any shape (an embedding).

    Backward: gweight = zeros like weight, with gy's rows scatter-added at `indices` (repeats
    accumulate); the indices get no gradient.
    """

    def forward(self, weight, indices):
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            raise IndexError(
                f"embedding: indices must be in [0, {weight.shape[0]}), got values from "
                f"{indices.min()} to {indices.max()}"
            )
        return weight[indices]

    def backward(self, gy):
        weight, indices = self.inputs
        return ScatterAdd.apply(gy, shape=weight.shape, index=indices.data), None

    def backward_untracked(self, gy):
        weight, indices = (t.data for t in self.inputs)
        gweight = self.xp.zeros(weight.shape, dtype=gy.dtype)
        scatter_add(self.xp, gweight, indices, gy)
        return gweight, None


class ScatterAdd(Function):
    """y = zeros(shape) with x added at `index`: y[index] += x, repeated indices accumulating.

    Backward: gx = gy[index]  (the adjoint of GetItem).
    """

    def forward(self, x, shape, index):
        self.index = index
        y = self.xp.zeros(shape, dtype=x.dtype)
        scatter_add(self.xp, y, index, x)
        return y

    def backward(self, gy):
        return GetItem.apply(gy, index=self.index)


class Concatenate(Function):
    """y = the inputs joined along `axis`.

    Backward: each input's gradient is its own slice of gy along `axis`.
    """

    def forward(self, *xs, axis):
        self.axis, self.sizes = axis, [x.shape[axis] for x in xs]
        return self.xp.concatenate(xs, axis=axis)

    def backward(self, gy):
        ends = np.cumsum(self.sizes)
        lead = (slice(None),) * self.axis
        return tuple(gy[lead + (slice(end - n, end),)] for n, end in zip(self.sizes, ends))


class Pad(Function):
    """y = x surrounded by `value`: widths[i] = (before, after) elements added on axis i.

    Backward: gx = the slice of gy where x was placed (padding does not depend on x).
    """

    def forward(self, x, widths, value):
        self.inner = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return self.xp.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, gy):
        return gy[self.inner]


def reshape(x: Tensor, *shape) -> Tensor:
    """x with a new shape, one entry may be -1: reshape(x, 2, 3) or reshape(x, (2, 3))."""
    x = as_tensor(x)
    shape = unpack_sizes(shape)
    try:  # NOTE: an uninitialised probe array resolves -1 and checks the size, never touched
        resolved = np.empty(x.shape, dtype=np.bool_).reshape(shape).shape
    except (ValueError, TypeError):
        raise ValueError(
            f"reshape: cannot reshape {x.shape} ({x.size} elements) to {shape}"
        ) from None
    return x if resolved == x.shape else Reshape.apply(x, shape=resolved)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes start_dim..end_dim (inclusive) into one, as torch.flatten."""
    if x.ndim == 0:
        return reshape(x, 1)
    start = normalize_axis(start_dim, x.ndim, "flatten")
    end = normalize_axis(end_dim, x.ndim, "flatten")
    merged = math.prod(x.shape[start : end + 1])
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1 :])


def permute(x: Tensor, *axes) -> Tensor:
    """Reorder all axes: permute(x, 2, 0, 1) gives shape (x.shape[2], x.shape[0], x.shape[1])."""
    axes = unpack_sizes(axes)
    axes = tuple(normalize_axis(int(a), x.ndim, "permute") for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the axes of {x.shape}")
    return x if axes == tuple(range(x.ndim)) else Permute.apply(x, axes=axes)


def transpose(x: Tensor, *axes) -> Tensor:
    """No axes: reverse them all (NumPy's x.T). Two axes: swap those two (torch.transpose).
    Otherwise a full permutation (NumPy's x.transpose(axes))."""
    if not axes:
        return permute(x, *reversed(range(x.ndim)))
    if len(axes) == 2:
        order = list(range(x.ndim))
        i, j = (normalize_axis(a, x.ndim, "transpose") for a in axes)
        order[i], order[j] = order[j], order[i]
        return permute(x, *order)
    return permute(x, *axes)


def squeeze(x: Tensor, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """Remove size-1 axes (all of them, or the given ones, which must have size 1)."""
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = {normalize_axis(a, x.ndim, "squeeze") for a in np.atleast_1d(axis).tolist()}
    if any(x.shape[a] != 1 for a in axes):
        raise ValueError(f"squeeze: axis {axis} of {x.shape} does not have size 1")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    """Insert a size-1 axis at position `axis` (negative counts from the end of the result)."""
    axis = normalize_axis(axis, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """x repeated (as a read-only view) to `shape` by NumPy's broadcasting rules."""
    x, shape = as_tensor(x), tuple(shape)
    if x.shape == shape:
        return x
    if broadcast_shape("broadcast_to", x.shape, shape) != shape:
        raise ValueError(f"broadcast_to: cannot broadcast {x.shape} to {shape}")
    return BroadcastTo.apply(x, shape=shape)


def expand(x: Tensor, *shape) -> Tensor:
    """torch-style broadcast: -1 keeps the size of that axis."""
    shape = unpack_sizes(shape)
    lead = len(shape) - x.ndim
    return broadcast_to(x, tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape)))


def getitem(x: Tensor, index) -> Tensor:
    """x[index] with NumPy's indexing rules; the gradient scatter-adds back (repeats accumulate)."""
    return GetItem.apply(x, index=as_index(index))


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (np.concatenate / torch.cat)."""
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    tensors = [as_tensor(t) for t in tensors]
    dtype = np.result_type(*(t.dtype for t in tensors))
    shapes = [t.shape for t in tensors]
    first = shapes[0]
    if any(t.ndim == 0 for t in tensors):
        raise ValueError(f"concatenate: zero-dimensional tensors cannot be joined, shapes {shapes}")
    axis = normalize_axis(axis, len(first), "concatenate")
    if any(
        len(s) != len(first) or s[:axis] + s[axis + 1 :] != first[:axis] + first[axis + 1 :]
        for s in shapes
    ):
        raise ValueError(f"concatenate: shapes {shapes} differ outside axis {axis}")
    return Concatenate.apply(*(t.astype(dtype) for t in tensors), axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new axis."""
    shapes = {as_tensor(t).shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    return concatenate([unsqueeze(as_tensor(t), axis) for t in tensors], axis)


def split(x: Tensor, sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """np.split: `sections` equal parts, or the parts between the given split indices."""
    axis = normalize_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(sections, int):
        if sections <= 0 or n % sections:
            raise ValueError(
                f"split: axis {axis} of {x.shape} does not divide into {sections} parts"
            )
        bounds = list(range(0, n + 1, n // sections)) if n else [0] * (sections + 1)
    else:
        bounds = [0, *(min(int(i), n) for i in sections), n]
    lead = (slice(None),) * axis
    return [x[lead + (slice(start, end),)] for start, end in zip(bounds, bounds[1:])]


def pad(x: Tensor, pad_width, value: float = 0.0) -> Tensor:
    """Constant padding with np.pad's pad_width: an int, (before, after), or one pair per axis."""
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: widths must be >= 0, got {np.asarray(pad_width).tolist()}")
    widths = tuple((int(before), int(after)) for before, after in widths)
    return Pad.apply(as_tensor(x), widths=widths, value=value)
