"""Checks and conversions of op arguments, shared by the ops modules: the broadcast of shapes,
axes in range, sizes given as f(2, 3) or f((2, 3)), and indices holding Tensors."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def broadcast_shape(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The NumPy broadcast of `shapes`, or a ValueError naming the op and the shapes."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        shown = " and ".join(str(s) for s in shapes)
        raise ValueError(f"{op}: shapes {shown} cannot be broadcast together") from None


def unpack_sizes(args: tuple) -> tuple:
    """Accept both f(2, 3) and f((2, 3)), as NumPy and PyTorch do."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def normalize_axis(axis: int, ndim: int, op: str) -> int:
    """`axis` as a non-negative index, or a ValueError naming the op."""
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for {ndim} dimensions")
    return axis % ndim


def as_index(index):
    """Turn Tensors and lists inside an index into arrays, so NumPy/CuPy indexing can use them."""
    if isinstance(index, tuple):
        return tuple(as_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index
