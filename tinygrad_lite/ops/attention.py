"""Memory-efficient attention: softmax(q kᵀ · scale) v computed one block of queries against one
block of keys at a time, with FlashAttention's online softmax, so the (L, S) matrix of scores
never exists. Forward keeps the output and each row's log-sum-exp; backward recomputes each
block's probabilities from them. For long sequences that turns memory from O(L·S) per head into
O(L + S) and a block; scaled_dot_product_attention chooses it by itself above a size. On a GPU
the same scheme runs in kernels/attention.cu (forward and backward, tiles in shared memory).
Derivations: docs/derivations/attention.md
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..cuda import attention as gpu
from ..cuda.launch import supported
from ..tensor import Tensor
from .activation import softmax
from .linalg import matmul
from .shape import transpose

BLOCK = 128  # queries and keys per block: a block's scores are BLOCK² values per head


def _spans(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _key_spans(rows: tuple[int, int], keys: int, size: int, causal: bool):
    """The key blocks a block of query rows attends to: all, or with the causal mask those
    starting at or before its last row (later blocks lie wholly above the diagonal)."""
    return [span for span in _spans(keys, size) if not causal or span[0] <= rows[1] - 1]


def _scores(xp, q, k, scale: float, causal: bool, rows: tuple[int, int], columns: tuple[int, int]):
    """One block of q kᵀ · scale, with the causal mask (key j > query i) as −inf."""
    s = xp.matmul(q[..., rows[0] : rows[1], :], xp.swapaxes(k[..., columns[0] : columns[1], :],
                                                              -1, -2)) * scale  # fmt: skip
    if causal and columns[1] - 1 > rows[0]:  # the block reaches above the diagonal
        i = xp.arange(rows[0], rows[1])[:, None]
        j = xp.arange(columns[0], columns[1])[None, :]
        s = xp.where(j > i, -xp.inf, s)
    return s


class BlockedAttention(Function):
    """y = softmax(q kᵀ · scale) v over the last two axes (keys j > query i masked when causal),
    for q (..., L, E), k (..., S, E), v (..., S, Ev) of one leading shape, block by block.

    Backward: with P = exp(q kᵀ·scale − lse) recomputed per block and D = rowsum(gy ⊙ y):
    gv = Pᵀ gy; gS = P ⊙ (gy vᵀ − D); gq = gS k · scale; gk = gSᵀ q · scale.
    """

    def forward(self, q, k, v, scale: float, causal: bool, block: int = BLOCK):
        xp = self.xp
        self.scale, self.causal, self.block = scale, causal, block
        length, keys = q.shape[-2], k.shape[-2]
        self.on_kernel = bool(supported(q, k, v) and gpu.tile_for(q.dtype, q.shape[-1],
                                                                  v.shape[-1]))  # fmt: skip
        if self.on_kernel:  # heads = every leading axis; lse in acc_t (float32 for 16 bits)
            out, self.lse = gpu.forward(*_heads(q, k, v), scale, causal)
            return out.reshape(q.shape[:-1] + v.shape[-1:])
        out = xp.empty(q.shape[:-1] + v.shape[-1:], q.dtype)
        lse = xp.empty(q.shape[:-1], q.dtype)
        for rows in _spans(length, block):
            running_max = xp.full(q.shape[:-2] + (rows[1] - rows[0],), -np.inf, q.dtype)
            total = xp.zeros_like(running_max)
            weighted = xp.zeros(q.shape[:-2] + (rows[1] - rows[0], v.shape[-1]), q.dtype)
            for columns in _key_spans(rows, keys, block, causal):
                s = _scores(xp, q, k, scale, causal, rows, columns)
                new_max = xp.maximum(running_max, s.max(axis=-1))
                p = xp.exp(s - new_max[..., None])
                shrink = xp.exp(running_max - new_max)  # earlier blocks' terms, rescaled
                total = total * shrink + p.sum(axis=-1)
                weighted = weighted * shrink[..., None] + xp.matmul(
                    p, v[..., columns[0] : columns[1], :]
                )
                running_max = new_max
            out[..., rows[0] : rows[1], :] = weighted / total[..., None]
            lse[..., rows[0] : rows[1]] = running_max + xp.log(total)
        self.lse = lse
        return out

    def backward(self, gy):
        """The same rule on the whole (L, S) matrix, with our ops: create_graph only."""
        q, k, v = self.inputs
        s = matmul(q, transpose(k, -2, -1)) * self.scale
        if self.causal:
            keep = np.tril(np.ones((q.shape[-2], k.shape[-2]), bool))
            s = s + Tensor(np.where(keep, 0.0, -np.inf).astype(s.dtype))
        p = softmax(s, axis=-1)
        gp = matmul(gy, transpose(v, -2, -1))
        gs = p * (gp - (gp * p).sum(axis=-1, keepdims=True))
        return (matmul(gs, k) * self.scale, matmul(transpose(gs, -2, -1), q) * self.scale,
                matmul(transpose(p, -2, -1), gy))  # fmt: skip

    def backward_untracked(self, gy):
        xp = self.xp
        q, k, v = (t.data for t in self.inputs)
        y = self._output().data
        if self.on_kernel:
            q3, k3, v3, y3, gy3 = _heads(q, k, v, y, gy.astype(q.dtype, copy=False))
            gradients = gpu.backward(q3, k3, v3, y3, self.lse, gy3, self.scale, self.causal)
            return tuple(g.reshape(a.shape) for g, a in zip(gradients, (q, k, v)))
        row_dot = (gy * y).sum(axis=-1)  # D = rowsum(gy ⊙ y) = rowsum(P ⊙ gy vᵀ)
        gq, gk, gv = xp.zeros_like(q), xp.zeros_like(k), xp.zeros_like(v)
        for rows in _spans(q.shape[-2], self.block):
            g_rows = gy[..., rows[0] : rows[1], :]
            for columns in _key_spans(rows, k.shape[-2], self.block, self.causal):
                s = _scores(xp, q, k, self.scale, self.causal, rows, columns)
                p = xp.exp(s - self.lse[..., rows[0] : rows[1], None])
                keys, values = (
                    k[..., columns[0] : columns[1], :],
                    v[..., columns[0] : columns[1], :],
                )
                gv[..., columns[0] : columns[1], :] += xp.matmul(xp.swapaxes(p, -1, -2), g_rows)
                gs = p * (xp.matmul(g_rows, xp.swapaxes(values, -1, -2))
                          - row_dot[..., rows[0] : rows[1], None])  # fmt: skip
                gq[..., rows[0] : rows[1], :] += xp.matmul(gs, keys) * self.scale
                gk[..., columns[0] : columns[1], :] += (
                    xp.matmul(xp.swapaxes(gs, -1, -2), q[..., rows[0] : rows[1], :]) * self.scale
                )
        return gq, gk, gv


def _heads(*arrays):
    """Each (..., rows, width) array as (heads, rows, width): every leading axis is a head."""
    return [a.reshape((-1,) + a.shape[-2:]) for a in arrays]


def blocked_attention(q: Tensor, k: Tensor, v: Tensor, scale: float, causal: bool = False,
                      block: int = BLOCK) -> Tensor:  # fmt: skip
    """BlockedAttention; q, k, v of one float dtype and one leading shape (the caller checks)."""
    return BlockedAttention.apply(q, k, v, scale=float(scale), causal=causal, block=block)
