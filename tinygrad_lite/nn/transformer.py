"""torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each added back to
its input (a residual) and normalized by a LayerNorm, after the block (post-norm, PyTorch's
default) or before it (norm_first=True, as GPT-2 and most models since). Submodule names are
PyTorch's (self_attn, linear1, linear2, norm1, norm2, dropout, dropout1, dropout2), so its
state_dict loads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import ops
from ..tensor import DEFAULT_FLOAT, Tensor
from .attention import MultiheadAttention
from .layer_norm import LayerNorm
from .layers import Dropout, Linear
from .module import Module

ACTIVATIONS = {"relu": ops.relu, "gelu": ops.gelu}


class TransformerEncoderLayer(Module):
    """Args as torch.nn.TransformerEncoderLayer: d_model, nhead, dim_feedforward (2048),
    dropout (0.1), activation ("relu", "gelu" or a function), layer_norm_eps (1e-5),
    batch_first (False: inputs (S, N, E)), norm_first (False), bias (True)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype=DEFAULT_FLOAT):  # fmt: skip
        if isinstance(activation, str) and activation not in ACTIVATIONS:
            raise ValueError(f"TransformerEncoderLayer: activation must be one of "
                             f"{sorted(ACTIVATIONS)} or a function, "
                             f"got {activation!r}")  # fmt: skip
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first, dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = ACTIVATIONS.get(activation, activation)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:  # fmt: skip
        x = src
        if self.norm_first:
            x = x + self._attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _attention(self, x, mask, key_padding_mask, is_causal) -> Tensor:
        y, _ = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False,
                              attn_mask=mask, is_causal=is_causal)  # fmt: skip
        return self.dropout1(y)

    def _feed_forward(self, x) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def generate_square_subsequent_mask(size: int) -> np.ndarray:
    """The causal mask of nn.Transformer: 0 where key j <= query i, -inf above (float, added)."""
    return np.triu(np.full((size, size), -np.inf), 1)
