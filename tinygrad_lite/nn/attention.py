"""Attention, with PyTorch's names and mask conventions.

    scaled_dot_product_attention(q, k, v) = softmax(q kᵀ · scale + mask) v,   scale = 1/√E

Composed of our ops (matmul, where, softmax), so its backward is the chain rule through them:
docs/derivations/layers.md works out softmax attention's backward and why the 1/√E scale keeps
the softmax out of saturation.

Masks (as PyTorch, where its conventions differ between functions): in
`scaled_dot_product_attention` a bool mask *keeps* the positions where it is True, and a float
mask is *added* to the scores; `is_causal=True` keeps key j ≤ query i.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..autograd import is_grad_enabled
from ..tensor import DEFAULT_FLOAT, Tensor, as_tensor
from . import init
from .layers import Linear, dropout, linear
from .module import Module, Parameter


def causal_mask(queries: int, keys: int) -> np.ndarray:
    """True where query i may attend to key j: j <= i (PyTorch's ones(L, S).tril())."""
    return np.tril(np.ones((queries, keys), dtype=bool))


def _masked_softmax(scores: Tensor, attn_mask) -> Tensor:
    """softmax over the last axis of scores with the mask applied (bool: keep where True;
    float: added). A row with no key left gets weights 0, as PyTorch's, not 0/0: its scores are
    set finite before the softmax and its weights zeroed after, so no NaN reaches a gradient."""
    mask = attn_mask if isinstance(attn_mask, Tensor) else as_tensor(np.asarray(attn_mask))
    if mask.dtype == np.bool_:
        allowed = mask
        scores = ops.where(mask, scores, -np.inf)
    else:
        allowed = mask > -np.inf
        scores = scores + mask.astype(scores.dtype)
    any_key = allowed.astype(scores.dtype).sum(axis=-1, keepdims=True) > 0
    weights = ops.softmax(ops.where(any_key, scores, 0.0), axis=-1)
    return ops.where(any_key, weights, 0.0)


# Above this many scores per head (L·S), scaled_dot_product_attention runs block by block
# (ops/attention.py): the (L, S) matrices then cost more memory than the Python loop over
# blocks costs time
BLOCKED_ABOVE = 512 * 512


def _blockable(q: Tensor, k: Tensor, v: Tensor) -> bool:
    """The blocked path's conditions: one leading shape, one float32/64 dtype, and either long
    enough or nothing being recorded (inference, e.g. a KV-cache step: one op instead of five,
    no backward to pay for)."""
    same = q.shape[:-2] == k.shape[:-2] == v.shape[:-2] and q.dtype == k.dtype == v.dtype
    recording = is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)
    return (same and q.dtype in (np.float32, np.float64)
            and (q.shape[-2] * k.shape[-2] > BLOCKED_ABOVE or not recording))  # fmt: skip


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:  # fmt: skip
    """softmax(query @ keyᵀ · scale (+ mask)) @ value, for query (..., L, E), key (..., S, E) and
    value (..., S, Ev), the leading axes broadcasting (torch.nn.functional's function).

    Args:
        attn_mask: bool (..., L, S), True = may attend; or float, added to the scores.
        dropout_p: dropout on the attention weights (always applied, as in PyTorch's function).
        is_causal: mask key j > query i; not together with attn_mask.
        scale: the factor on the scores; None is 1/√E.

    Without a mask or dropout, above BLOCKED_ABOVE scores per head or when no graph is being
    recorded, it runs block by block (FlashAttention's online softmax, ops/attention.py, one
    op): the (L, S) scores are never held, and the result equals the plain path's up to float
    rounding.

    Raises:
        ValueError: both is_causal and attn_mask, or shapes that do not fit, naming them.
    """
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if (
        q.ndim < 2
        or k.ndim < 2
        or v.ndim < 2
        or q.shape[-1] != k.shape[-1]
        or (k.shape[-2] != v.shape[-2])
    ):
        raise ValueError(
            f"scaled_dot_product_attention: query {q.shape}, key {key.shape} and value "
            f"{value.shape} do not fit: need (..., L, E), (..., S, E) and (..., S, Ev)"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give is_causal or attn_mask, not both")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    if attn_mask is None and dropout_p == 0 and _blockable(q, k, v):
        length, keys = q.shape[-2], k.shape[-2]
        # small enough to hold (inference): one block, the fewest array calls
        block = ops.attention.BLOCK if length * keys > BLOCKED_ABOVE else max(length, keys, 1)
        return ops.attention.blocked_attention(q, k, v, scale, causal=is_causal, block=block)
    scores = ops.matmul(q, ops.transpose(k, -2, -1)) * scale
    if is_causal:
        attn_mask = causal_mask(q.shape[-2], k.shape[-2])
    if attn_mask is None:
        weights = ops.softmax(scores, axis=-1)
    else:
        weights = _masked_softmax(scores, attn_mask)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    return ops.matmul(weights, v)


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention (embed_dim split over num_heads, same-size key and value):
    parameters `in_proj_weight` (3E, E), `in_proj_bias` (3E,) and `out_proj` (a Linear), so a
    PyTorch state_dict converted to arrays loads and gives the same outputs.

    Masks as PyTorch's here, which differ from scaled_dot_product_attention's: a bool `attn_mask`
    (L, S) or (N·H, L, S) and a bool `key_padding_mask` (N, S) are True where attention is NOT
    allowed; float masks are added. `is_causal` is only a hint that `attn_mask` is the causal
    mask (it must come with one). Inputs are (L, N, E), or (N, L, E) with batch_first, or
    unbatched (L, E). Returns (output, attention weights averaged over heads, or per head with
    average_attn_weights=False, or None with need_weights=False).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, dtype=DEFAULT_FLOAT):  # fmt: skip
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")  # fmt: skip
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype))
        init.xavier_uniform_(self.in_proj_weight)  # as PyTorch initializes it
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):  # fmt: skip
        if is_causal and attn_mask is None:
            raise ValueError("MultiheadAttention: is_causal is a hint that comes with attn_mask "
                             "(the causal mask itself); pass both")  # fmt: skip
        query, key, value = (as_tensor(t) for t in (query, key, value))
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(key_padding_mask)[None]
        batch_first = self.batch_first and not unbatched
        batch, length = query.shape[:2] if batch_first else query.shape[1::-1]
        keys = key.shape[1 if batch_first else 0]
        q, k, v = self.project_heads(query, key, value, batch_first)
        size = self.head_dim
        scores = ops.matmul(q, ops.transpose(k, -2, -1)) * (1 / math.sqrt(size))
        scores = self._masked(scores, attn_mask, key_padding_mask, batch, length, keys)
        weights = ops.softmax(scores, axis=-1)
        if self.training and self.dropout > 0:
            weights = dropout(weights, self.dropout)
        out = ops.matmul(weights, v).permute(*((0, 2, 1, 3) if batch_first else (2, 0, 1, 3)))
        out = self.out_proj(out.reshape(*query.shape[:2], self.embed_dim))
        if unbatched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        if not need_weights:
            return out, None
        return out, (weights.mean(axis=-3) if average_attn_weights else weights)

    def project_heads(self, query: Tensor, key: Tensor, value: Tensor,
                      batch_first: bool | None = None) -> tuple[Tensor, ...]:  # fmt: skip
        """q, k, v, each (N, H, L or S, head_dim), from query (N, L, E) and key and value
        (N, S, E) ((L, N, E) and (S, N, E) unless batch_first; self.batch_first by default):
        times the three (E, E) blocks of in_proj_weight, plus in_proj_bias. The input's layout
        is kept until the last permute, so batch_first costs no transposes; for self-attention
        (one tensor passed thrice) it is one product with the packed (3E, E) weight."""
        batch_first = self.batch_first if batch_first is None else batch_first
        heads, size, embed = self.num_heads, self.head_dim, self.embed_dim
        if query is key is value:  # (N, L, 3E) -> (N, L, 3, H, Dh) -> (3, N, H, L, Dh)
            packed = self._in_projection(query, slice(None))
            if batch_first and query.shape[0] == query.shape[1] == 1:  # one token (KV cache):
                q, k, v = packed.reshape(3, 1, heads, 1, size)  # the same order, no permute
                return q, k, v
            packed = packed.reshape(*query.shape[:2], 3, heads, size)
            q, k, v = packed.permute(*((2, 0, 3, 1, 4) if batch_first else (2, 1, 3, 0, 4)))
            return q, k, v
        rows = (slice(0, embed), slice(embed, 2 * embed), slice(2 * embed, None))
        to_heads = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
        return tuple(self._in_projection(x, part).reshape(*x.shape[:2], heads, size)
                     .permute(*to_heads) for x, part in zip((query, key, value), rows))  # fmt: skip

    def _in_projection(self, x: Tensor, rows: slice) -> Tensor:
        """x times the rows `rows` of in_proj_weight (transposed), plus those of in_proj_bias."""
        if rows == slice(None):  # the whole packed weight: no slicing op recorded
            return linear(x, self.in_proj_weight, self.in_proj_bias)
        bias = None if self.in_proj_bias is None else self.in_proj_bias[rows]
        return linear(x, self.in_proj_weight[rows], bias)

    def _masked(self, scores, attn_mask, key_padding_mask, batch, length, keys):
        """scores (N, H, L, S) with PyTorch's MultiheadAttention masks applied (True = masked)."""
        for mask, shape in ((attn_mask, (batch, self.num_heads, length, keys)),
                            (key_padding_mask, (batch, 1, 1, keys))):  # fmt: skip
            if mask is None:
                continue
            mask = mask if isinstance(mask, Tensor) else as_tensor(np.asarray(mask))
            if mask.ndim == 3 or mask.shape == (batch, keys):  # (N·H, L, S) or (N, S)
                mask = mask.reshape(*shape)
            if mask.dtype == np.bool_:
                scores = ops.where(mask, -np.inf, scores)
            else:
                scores = scores + mask.astype(scores.dtype)
        return scores

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
