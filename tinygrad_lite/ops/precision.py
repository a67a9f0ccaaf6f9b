"""What tl.amp.autocast runs each op in: ONE table (`AUTOCAST`), read by the ops (through
`autocast_inputs`), by tests/amp and by docs/derivations/amp.md (a test holds the page to it);
and the 16-bit matrix product with float32 accumulation that the product ops share.

The table is PyTorch's CUDA autocast lists for the ops we have, on both devices: the products
("low": float inputs cast to the autocast dtype) and the ops that sum many terms or take
exponentials ("float32": 16-bit inputs cast up). Every op not listed runs in its inputs' dtype.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import state
from ..backend import is_floating, low_precision
from ..tensor import Tensor

AUTOCAST = {
    "matmul": "low", "linear": "low", "conv2d": "low",
    "exp": "float32", "log": "float32", "pow": "float32", "softplus": "float32",
    "softmax": "float32", "log_softmax": "float32", "logsumexp": "float32",
    "sum": "float32", "mean": "float32", "var": "float32", "std": "float32",
    "batch_norm": "float32", "layer_norm": "float32",
    "cross_entropy": "float32", "nll_loss": "float32",
    "mse_loss": "float32", "l1_loss": "float32", "binary_cross_entropy": "float32",
    "binary_cross_entropy_with_logits": "float32", "kl_div": "float32",
}  # fmt: skip


def autocast_inputs(op: str, *tensors):
    """`tensors` as `op` takes them inside tl.amp.autocast (unchanged outside it): the float ones
    cast to the autocast dtype for a "low" op, the 16-bit ones cast to float32 for a "float32"
    op (Cast nodes: each gradient goes back in its tensor's dtype)."""
    dtype = state.modes.autocast_dtype
    if dtype is None:
        return tensors
    if AUTOCAST[op] == "low":
        return tuple(_cast(t, dtype) if _is_float(t) else t for t in tensors)
    return tuple(_cast(t, np.float32) if _is_low(t) else t for t in tensors)


def is_autocast_enabled() -> bool:
    return state.modes.autocast_dtype is not None


def _is_float(t) -> bool:
    return isinstance(t, Tensor) and is_floating(t.dtype)


def _is_low(t) -> bool:
    return isinstance(t, Tensor) and low_precision(t.dtype)


def _cast(t: Tensor, dtype) -> Tensor:
    return t if t.dtype == dtype else t.astype(dtype)


def matmul_in_float32(xp, a, b):
    """a @ b; for float16/bfloat16 operands, multiplied and accumulated in float32 and rounded to
    their dtype at the end, as tensor cores do. On the GPU a float16 product is one cuBLAS call
    with float16 operands and a float32 compute type (tensor cores); elsewhere (NumPy, and
    bfloat16 on CuPy) the operands are widened to float32 for the product."""
    if not low_precision(a.dtype):
        return xp.matmul(a, b)
    if xp is not np and a.dtype == b.dtype == np.float16:
        cublas_float32_accumulation()
        return xp.matmul(a, b)
    if a.ndim == b.ndim >= 2 and a.shape[:-2] == b.shape[:-2] and a.size + b.size > 2 * BLOCK:
        out = xp.empty(a.shape[:-1] + b.shape[-1:], a.dtype)
        for index in np.ndindex(a.shape[:-2]):  # the batch axes (conv2d's groups), often none
            _widened_in_blocks(xp, a[index], b[index], out[index])
        return out
    return xp.matmul(a.astype(np.float32), b.astype(np.float32)).astype(a.dtype)


BLOCK = 1 << 16  # float32 elements widened at a time by the emulated product


def _widened_in_blocks(xp, a, b, out) -> None:
    """out[...] = a @ b for 16-bit 2-D a (n, k) and b (k, m), widening at most about BLOCK
    elements of the larger operand at a time, so that its float32 copy never adds to a training
    step's peak memory (a whole widened copy of im2col's windows is twice their 16-bit size).

    The larger operand is a: blocks of its rows (each block of rows of the result is final).
    The larger is b: blocks of the contraction axis k, summed in float32 (as a tensor core
    accumulates its tiles), rounded to the 16-bit dtype once at the end."""
    (n, k), m = a.shape, b.shape[1]
    if a.size >= b.size:
        b32 = b.astype(np.float32)
        rows = max(1, BLOCK // max(k, 1))
        for start in range(0, n, rows):
            out[start : start + rows] = a[start : start + rows].astype(np.float32) @ b32
        return
    total = xp.zeros((n, m), np.float32)
    depth = max(1, BLOCK // max(m, 1))
    for start in range(0, k, depth):
        part = slice(start, start + depth)
        total += a[:, part].astype(np.float32) @ b[part].astype(np.float32)
    out[...] = total


@functools.cache
def cublas_float32_accumulation() -> None:
    """Pin CuPy's compute type for float16 products to float32 (CUBLAS_COMPUTE_32F: float16 in
    and out, float32 accumulation). It is CuPy's default for CUDA 11+, but settable per process
    (and by CUPY_* settings): set explicitly, a float16 product never accumulates in float16,
    where a sum stops growing at 2048 + 1 = 2048."""
    from cupy._core import _routines_linalg as linalg

    linalg.set_compute_type(np.float16, getattr(linalg, "COMPUTE_TYPE_FP32", 4))
