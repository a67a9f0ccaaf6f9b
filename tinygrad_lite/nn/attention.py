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
from ..tensor import Tensor, as_tensor
from .layers import dropout


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
