"""Regularization penalties and gradient clipping.

L2 in the loss and weight decay: adding (λ/2)·Σ‖w‖² to the loss adds λ·w to every gradient. For
plain SGD that is the same update as `weight_decay=λ`. For Adam it is not: the added λ·w is divided
by Adam's per-parameter scale √v̂ like the rest of the gradient, so heavily-updated weights are
decayed less. AdamW decays the weights directly (w -= lr·λ·w) to restore the plain meaning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .. import ops
from ..autograd import no_grad, replayed_whole
from ..tensor import Tensor


def l2_penalty(params: Iterable[Tensor], weight_decay: float) -> Tensor:
    """(weight_decay / 2)·Σ‖p‖². Its gradient, weight_decay·p, is exactly SGD's weight decay."""
    return sum((p * p).sum() for p in params) * (weight_decay / 2)


def l1_penalty(params: Iterable[Tensor], strength: float) -> Tensor:
    """strength·Σ|p|. Its (sub)gradient strength·sign(p) pushes weights to exactly zero."""
    return sum(ops.abs(p).sum() for p in params) * strength


def clip_grad_norm_(params: Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so their joint norm is at most max_norm (torch's rule:
    factor max_norm / (norm + 1e-6), when below 1). Returns the norm before clipping."""
    return _clip_grad_norm(list(params), max_norm, norm_type)


@replayed_whole  # NOTE: tl.jit calls it again (it reads the gradients' values to decide)
def _clip_grad_norm(params: list, max_norm: float, norm_type: float) -> float:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        total = max(float(abs(g.data).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float((abs(g.data) ** norm_type).sum()) for g in grads) ** (1 / norm_type)
    factor = max_norm / (total + 1e-6)
    if factor < 1:
        with no_grad():
            for g in grads:
                g.mul_(factor)
    return total


# tl.nn.utils.prune (as torch.nn.utils.prune) and tl.nn.utils.sparse (CSR inference)
from . import prune, sparse  # noqa: E402, F401
