"""Launchers of kernels/im2col.cu: im2col and its adjoint col2im, max-pooling forward and
backward, all driven by one int32 geometry array (channels, sizes, kernel, stride, padding,
dilation)."""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from .kernels import Kernel
from .launch import contiguous, launch

IM2COL = Kernel("im2col.cu", "im2col")
COL2IM = Kernel("im2col.cu", "col2im")
MAX_POOL_FORWARD = Kernel("im2col.cu", "max_pool_forward")
MAX_POOL_BACKWARD = Kernel("im2col.cu", "max_pool_backward")
KERNELS = [IM2COL, COL2IM, MAX_POOL_FORWARD, MAX_POOL_BACKWARD]


def _geometry(xp, window, channels, height, width):
    oh, ow = window.output_size(height, width, "kernel")
    values = (channels, height, width, oh, ow, *window.kernel, *window.stride, *window.padding,
              *window.dilation)  # fmt: skip
    return xp.asarray(np.array(values, dtype=np.int32)), oh, ow


def im2col(x, window):
    """(N, C, H, W) → (N, OH, OW, C, KH, KW), zeros where a window leaves the image."""
    (x,) = contiguous(x)
    xp = get_array_module(x)
    n, c, h, w = x.shape
    geometry, oh, ow = _geometry(xp, window, c, h, w)
    cols = xp.empty((n, oh, ow, c, *window.kernel), x.dtype)
    launch(IM2COL, x.dtype, cols.size, x, cols, geometry, cols.size)
    return cols


def col2im(cols, input_shape, window):
    """The adjoint of im2col: each pixel sums the window elements copied from it."""
    (cols,) = contiguous(cols)
    xp = get_array_module(cols)
    geometry, _, _ = _geometry(xp, window, *input_shape[1:])
    image = xp.empty(input_shape, cols.dtype)
    launch(COL2IM, cols.dtype, image.size, cols, image, geometry, image.size)
    return image


def max_pool_forward(x, window):
    """(maximum of each window, its position h·W + w in the unpadded plane), both (N, C, OH, OW)."""
    (x,) = contiguous(x)
    xp = get_array_module(x)
    n, c, h, w = x.shape
    geometry, oh, ow = _geometry(xp, window, c, h, w)
    y = xp.empty((n, c, oh, ow), x.dtype)
    argmax = xp.empty((n, c, oh, ow), np.int64)
    launch(MAX_POOL_FORWARD, x.dtype, y.size, x, y, argmax, geometry, y.size)
    return y, argmax


def max_pool_backward(gy, argmax, input_shape, window):
    gy, argmax = contiguous(gy, argmax)
    xp = get_array_module(gy)
    geometry, _, _ = _geometry(xp, window, *input_shape[1:])
    gx = xp.empty(input_shape, gy.dtype)
    launch(MAX_POOL_BACKWARD, gy.dtype, gx.size, gy, argmax, gx, geometry, gx.size)
    return gx
