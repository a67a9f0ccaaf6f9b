"""Launchers of kernels/attention.cu: memory-efficient attention of q (heads, length, width),
k (heads, keys, width) and v (heads, keys, value_width), forward (output and each row's
log-sum-exp, in acc_t: float32 for 16-bit inputs) and backward (gq, gk, gv). A block holds a
tile of queries or keys, one per thread; the tile is the largest power of two from 64 down to 8
whose shared memory fits in 48 KiB (what every CUDA GPU gives a block without opting in)."""

from __future__ import annotations

from ..backend import get_array_module
from .kernels import Kernel, accumulate_dtype
from .launch import contiguous, launch

FORWARD = Kernel("attention.cu", "attention_forward")
BACKWARD_KEYS = Kernel("attention.cu", "attention_backward_keys")
BACKWARD_QUERIES = Kernel("attention.cu", "attention_backward_queries")
KERNELS = [FORWARD, BACKWARD_KEYS, BACKWARD_QUERIES]
SHARED_BYTES = 48 * 1024
TILES = (64, 32, 16, 8)


def _shared_values(kernel: Kernel, tile: int, width: int, value_width: int) -> int:
    """acc_t values of shared memory one block of `kernel` uses (the layouts in attention.cu)."""
    if kernel is FORWARD:  # q, k, v tiles, the accumulators, the probabilities
        return tile * (2 * width + 2 * value_width + tile)
    if kernel is BACKWARD_KEYS:  # q and gy tiles, gk and gv rows, lse and D
        return tile * (2 * width + 2 * value_width + 2)
    return tile * (3 * width + 2 * value_width)  # q, gy, gq rows, k, v


def tile_for(dtype, width: int, value_width: int) -> int | None:
    """The tile every kernel can use for these widths, or None when even 8 rows do not fit."""
    size = accumulate_dtype(dtype).itemsize
    for tile in TILES:
        if all(_shared_values(kernel, tile, width, value_width) * size <= SHARED_BYTES
               for kernel in KERNELS):  # fmt: skip
            return tile
    return None


def _launch(kernel: Kernel, dtype, heads: int, rows: int, tile: int, width: int,
            value_width: int, *args) -> None:  # fmt: skip
    tasks = heads * -(-rows // tile)
    per_thread = _shared_values(kernel, tile, width, value_width) // tile
    launch(kernel, dtype, tasks * tile, *args, threads=tile,
           shared_per_thread=per_thread * accumulate_dtype(dtype).itemsize,
           blocks_for=lambda most: min(tasks, most))  # fmt: skip


def forward(q, k, v, scale: float, causal: bool):
    """(y, lse) for q (heads, length, width), k (heads, keys, width), v (heads, keys, vw)."""
    q, k, v = contiguous(q, k, v)
    xp = get_array_module(q)
    (heads, length, width), keys, value_width = q.shape, k.shape[1], v.shape[2]
    tile = tile_for(q.dtype, width, value_width)
    out = xp.empty((heads, length, value_width), q.dtype)
    lse = xp.empty((heads, length), accumulate_dtype(q.dtype))
    _launch(FORWARD, q.dtype, heads, length, tile, width, value_width, q, k, v, out, lse, heads,
            length, keys, width, value_width, scale, int(causal))  # fmt: skip
    return out, lse


def backward(q, k, v, out, lse, gy, scale: float, causal: bool):
    """(gq, gk, gv) from forward's output and lse and the output's gradient gy."""
    q, k, v, gy = contiguous(q, k, v, gy)
    xp = get_array_module(q)
    (heads, length, width), keys, value_width = q.shape, k.shape[1], v.shape[2]
    tile = tile_for(q.dtype, width, value_width)
    accumulate = accumulate_dtype(q.dtype)
    # D_i = Σ_e gy_ie · y_ie, one number per query row, left to CuPy (a reduction)
    row_dot = xp.ascontiguousarray((gy.astype(accumulate) * out.astype(accumulate)).sum(axis=-1))
    gq, gk, gv = xp.empty_like(q), xp.empty_like(k), xp.empty_like(v)
    shape = (heads, length, keys, width, value_width, scale, int(causal))
    _launch(BACKWARD_KEYS, q.dtype, heads, keys, tile, width, value_width, q, k, v, gy, lse,
            row_dot, gk, gv, *shape)  # fmt: skip
    _launch(BACKWARD_QUERIES, q.dtype, heads, length, tile, width, value_width, q, k, v, gy, lse,
            row_dot, gq, *shape)  # fmt: skip
    return gq, gk, gv
