"""Python launchers for our CUDA kernels: allocate outputs, pack scalars, pick a grid, launch.

The ops call `supported(...)` first: a kernel runs only for C-contiguous-able float32/float64
CuPy arrays. Kernels are launched only from an op's `forward` and from its `backward_untracked`,
which the engine runs only when no graph is being recorded; the launchers know nothing of grad
mode.
"""

from __future__ import annotations

import numpy as np

from ..backend import is_cuda
from .kernels import ACTIVATIONS, C_TYPES, function

THREADS = 256
NULL = np.uint64(0)  # a null pointer argument, for optional arrays a kernel does not read


def supported(*arrays) -> bool:
    return all(is_cuda(a) and a.dtype in C_TYPES for a in arrays)


def _launch(file: str, template: str, dtype, work: int, args, shared_per_thread: int = 0):
    import cupy

    if work == 0:
        return
    blocks = min((work + THREADS - 1) // THREADS, 32 * _multiprocessors(cupy))
    kernel = function(file, template, dtype)
    kernel((blocks,), (THREADS,), args, shared_mem=shared_per_thread * THREADS)


def _multiprocessors(cupy) -> int:
    return cupy.cuda.Device().attributes["MultiProcessorCount"]


def _contiguous(*arrays):
    import cupy

    return [cupy.ascontiguousarray(a) for a in arrays]


# ---- activations --------------------------------------------------------------------------------
def activation_forward(name: str, x, slope: float = 0.0):
    import cupy

    (x,) = _contiguous(x)
    y = cupy.empty_like(x)
    template = f"activation_forward<{ACTIVATIONS[name]}, {{T}}>"
    _launch(
        "activation.cu", template, x.dtype, x.size, (x, y, x.dtype.type(slope), np.int64(x.size))
    )
    return y


def activation_backward(name: str, gy, x=None, y=None, slope: float = 0.0):
    """gx = gy * f'(x) (relu, leaky_relu, gelu: pass x) or f'(y) (sigmoid, tanh: pass y)."""
    import cupy

    (gy,) = _contiguous(gy)
    x, y = (NULL if a is None else _contiguous(a)[0] for a in (x, y))
    gx = cupy.empty_like(gy)
    template = f"activation_backward<{ACTIVATIONS[name]}, {{T}}>"
    _launch(
        "activation.cu",
        template,
        gy.dtype,
        gy.size,
        (x, y, gy, gx, gy.dtype.type(slope), np.int64(gy.size)),
    )
    return gx


# ---- softmax cross-entropy ----------------------------------------------------------------------
def softmax_xent_forward(logits, target):
    """(loss per row, logsumexp per row, target sum per row) for (N, C) logits and targets."""
    import cupy

    logits, target = _contiguous(logits, target)
    rows, classes = logits.shape
    loss, lse, target_sum = (cupy.empty(rows, logits.dtype) for _ in range(3))
    if rows:
        kernel = function("softmax_xent.cu", "softmax_xent_forward<{T}>", logits.dtype)
        blocks = min(rows, 32 * _multiprocessors(cupy))
        kernel(
            (blocks,),
            (THREADS,),
            (logits, target, loss, lse, target_sum, np.int64(rows), np.int64(classes)),
            shared_mem=THREADS * logits.dtype.itemsize,
        )
    return loss, lse, target_sum


def softmax_xent_backward(logits, target, lse, target_sum, gy, target_grad: bool):
    import cupy

    logits, target, gy = _contiguous(logits, target, gy)
    rows, classes = logits.shape
    g_logits = cupy.empty_like(logits)
    g_target = cupy.empty_like(target) if target_grad else None
    _launch(
        "softmax_xent.cu",
        "softmax_xent_backward<{T}>",
        logits.dtype,
        logits.size,
        (
            logits,
            target,
            lse,
            target_sum,
            gy,
            g_logits,
            NULL if g_target is None else g_target,
            np.int64(rows),
            np.int64(classes),
        ),
    )
    return g_logits, g_target


# ---- optimizers (in place on contiguous parameter and state arrays) -----------------------------
def sgd_update(p, g, buffer, lr, momentum, dampening, weight_decay, nesterov, first_step):
    (g,) = _contiguous(g)
    t = p.dtype.type
    _launch(
        "optim.cu",
        "sgd_update<{T}>",
        p.dtype,
        p.size,
        (
            p,
            g,
            NULL if buffer is None else buffer,
            t(lr),
            t(momentum),
            t(dampening),
            t(weight_decay),
            np.int32(nesterov),
            np.int32(first_step),
            np.int64(p.size),
        ),
    )


def adam_update(p, g, m, v, max_v, lr, beta1, beta2, eps, weight_decay, decoupled, step):
    (g,) = _contiguous(g)
    t = p.dtype.type
    step_size, bias2_sqrt = lr / (1 - beta1**step), (1 - beta2**step) ** 0.5
    _launch(
        "optim.cu",
        "adam_update<{T}>",
        p.dtype,
        p.size,
        (
            p,
            g,
            m,
            v,
            NULL if max_v is None else max_v,
            t(lr),
            t(beta1),
            t(beta2),
            t(eps),
            t(weight_decay),
            np.int32(decoupled),
            t(step_size),
            t(bias2_sqrt),
            np.int64(p.size),
        ),
    )


def rmsprop_update(p, g, square_avg, grad_avg, buffer, lr, alpha, eps, weight_decay, momentum):
    (g,) = _contiguous(g)
    t = p.dtype.type
    optional = [NULL if a is None else a for a in (grad_avg, buffer)]
    _launch(
        "optim.cu",
        "rmsprop_update<{T}>",
        p.dtype,
        p.size,
        (
            p,
            g,
            square_avg,
            *optional,
            t(lr),
            t(alpha),
            t(eps),
            t(weight_decay),
            t(momentum),
            np.int64(p.size),
        ),
    )


# ---- convolution and pooling --------------------------------------------------------------------
def _geometry(window, channels, height, width):
    import cupy

    oh, ow = window.output_size(height, width, "kernel")
    values = (
        channels,
        height,
        width,
        oh,
        ow,
        *window.kernel,
        *window.stride,
        *window.padding,
        *window.dilation,
    )
    return cupy.asarray(np.array(values, dtype=np.int32)), oh, ow


def im2col(x, window):
    """(N, C, H, W) → (N, OH, OW, C, KH, KW), zeros where a window leaves the image."""
    import cupy

    (x,) = _contiguous(x)
    n, c, h, w = x.shape
    geometry, oh, ow = _geometry(window, c, h, w)
    cols = cupy.empty((n, oh, ow, c, *window.kernel), x.dtype)
    _launch(
        "im2col.cu", "im2col<{T}>", x.dtype, cols.size, (x, cols, geometry, np.int64(cols.size))
    )
    return cols


def col2im(cols, input_shape, window):
    """The adjoint of im2col: each pixel sums the window elements copied from it."""
    import cupy

    (cols,) = _contiguous(cols)
    geometry, _, _ = _geometry(window, *input_shape[1:])
    image = cupy.empty(input_shape, cols.dtype)
    _launch(
        "im2col.cu",
        "col2im<{T}>",
        cols.dtype,
        image.size,
        (cols, image, geometry, np.int64(image.size)),
    )
    return image


def max_pool_forward(x, window):
    """(maximum of each window, its position h·W + w in the unpadded plane), both (N, C, OH, OW)."""
    import cupy

    (x,) = _contiguous(x)
    n, c, h, w = x.shape
    geometry, oh, ow = _geometry(window, c, h, w)
    y = cupy.empty((n, c, oh, ow), x.dtype)
    argmax = cupy.empty((n, c, oh, ow), np.int64)
    _launch(
        "im2col.cu",
        "max_pool_forward<{T}>",
        x.dtype,
        y.size,
        (x, y, argmax, geometry, np.int64(y.size)),
    )
    return y, argmax


def max_pool_backward(gy, argmax, input_shape, window):
    import cupy

    gy, argmax = _contiguous(gy, argmax)
    geometry, _, _ = _geometry(window, *input_shape[1:])
    gx = cupy.empty(input_shape, gy.dtype)
    _launch(
        "im2col.cu",
        "max_pool_backward<{T}>",
        gy.dtype,
        gx.size,
        (gy, argmax, gx, geometry, np.int64(gx.size)),
    )
    return gx


# ---- broadcast reduction ------------------------------------------------------------------------
def sum_to(x, shape):
    """x summed over the axes broadcasting from `shape` added or stretched, as ops.shape.sum_to."""
    import cupy

    (x,) = _contiguous(x)
    lead = x.ndim - len(shape)
    padded = (1,) * lead + tuple(shape)
    strides = [s // x.itemsize for s in x.strides]
    kept = [(n, s) for n, s, m in zip(x.shape, strides, padded) if m == n]
    summed = [(n, s) for n, s, m in zip(x.shape, strides, padded) if m != n]
    out_size = int(np.prod([n for n, _ in kept], dtype=np.int64))
    summed_size = int(np.prod([n for n, _ in summed], dtype=np.int64))
    y = cupy.empty(shape, x.dtype)

    def pairs(axes):
        return cupy.asarray(np.array(axes or [(1, 0)], dtype=np.int64).reshape(-1))

    _launch(
        "reduce.cu",
        "sum_to<{T}>",
        x.dtype,
        out_size,
        (
            x,
            y,
            pairs(kept),
            np.int32(len(kept)),
            pairs(summed),
            np.int32(len(summed)),
            np.int64(out_size),
            np.int64(summed_size),
        ),
    )
    return y
