"""Launcher of kernels/reduce.cu: sum_to, the broadcast reduction of gradients."""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from .kernels import Kernel
from .launch import contiguous, launch

SUM_TO = Kernel("reduce.cu", "sum_to")
KERNELS = [SUM_TO]


def sum_to(x, shape):
    """x summed over the axes broadcasting from `shape` added or stretched (as
    ops.shape.sum_to_array)."""
    (x,) = contiguous(x)
    xp = get_array_module(x)
    lead = x.ndim - len(shape)
    padded = (1,) * lead + tuple(shape)
    strides = [s // x.itemsize for s in x.strides]
    kept = [(n, s) for n, s, m in zip(x.shape, strides, padded) if m == n]
    summed = [(n, s) for n, s, m in zip(x.shape, strides, padded) if m != n]
    out_size = int(np.prod([n for n, _ in kept], dtype=np.int64))
    summed_size = int(np.prod([n for n, _ in summed], dtype=np.int64))
    y = xp.empty(shape, x.dtype)

    def pairs(axes):
        return xp.asarray(np.array(axes or [(1, 0)], dtype=np.int64).reshape(-1))

    launch(SUM_TO, x.dtype, out_size, x, y, pairs(kept), len(kept), pairs(summed), len(summed),
           out_size, summed_size)  # fmt: skip
    return y
