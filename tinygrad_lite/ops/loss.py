"""Fused softmax + cross-entropy, the one loss that needs its own backward.

Derivations: docs/derivations/loss.md
"""

from __future__ import annotations

from ..autograd import Function, is_grad_enabled
from ..cuda import fused
from ..tensor import Tensor
from .activation import log_softmax
from .unary import exp


class SoftmaxCrossEntropy(Function):
    """Per-row loss ℓ = -Σ_c t_c log p_c with p = softmax(z), for logits z and targets t of
    shape (N, C); log p is computed as z - logsumexp(z), so no probability underflows to log 0.

    Backward: gz = gy · (p Σ_c t_c - t), which is p - t for targets summing to 1 (the σ' factor
    cancels); gt = -gy · log p.

    On the GPU one kernel per row block (kernels/softmax_xent.cu) keeps only logsumexp and Σ_c t_c
    per row, instead of log p, and the backward is one elementwise kernel.
    """

    log_p = None

    def forward(self, logits, target):
        if fused.supported(logits, target):
            loss, self.lse, self.target_sum = fused.softmax_xent_forward(logits, target)
            return loss
        xp = self.xp
        shifted = logits - logits.max(axis=1, keepdims=True)
        self.log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        return -(target * self.log_p).sum(axis=1)

    def backward(self, gy):
        logits, target = self.inputs
        if not is_grad_enabled():  # the usual case: the gradient is not itself differentiated
            return tuple(None if g is None else Tensor(g) for g in self._gradient_arrays(gy.data))
        # NOTE: with create_graph, log p is rebuilt from ops so the gradient is differentiable too
        log_p = log_softmax(logits, axis=1)
        gy = gy.reshape(-1, 1)
        g_logits = gy * (exp(log_p) * target.sum(axis=1, keepdims=True) - target)
        g_target = -gy * log_p if self.needs_input_grad[1] else None
        return g_logits, g_target

    def _gradient_arrays(self, gy):
        """The two backward lines on plain arrays, or in one GPU kernel, with nothing recorded."""
        logits, target = (x.data for x in self.inputs)
        wants_target_grad = self.needs_input_grad[1]
        if self.log_p is None:  # the fused forward kept logsumexp and Σ_c t_c instead of log p
            return fused.softmax_xent_backward(
                logits, target, self.lse, self.target_sum, gy, wants_target_grad
            )
        gy = gy.reshape(-1, 1)
        g_logits = gy * (self.xp.exp(self.log_p) * target.sum(axis=1, keepdims=True) - target)
        return g_logits, (-gy * self.log_p if wants_target_grad else None)


def softmax_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Per-row cross-entropy of softmax(logits) against target probabilities, both (N, C)."""
    if logits.ndim != 2 or logits.shape != target.shape:
        raise ValueError(
            f"softmax_cross_entropy: logits {logits.shape} and targets {target.shape} must both "
            "be (N, C)"
        )
    return SoftmaxCrossEntropy.apply(logits, target.astype(logits.dtype))
